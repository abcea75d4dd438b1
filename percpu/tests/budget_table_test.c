// SPDX-License-Identifier: BSD-2-Clause
/*
 * percpu_class_uncached answers from a table budget.c makes at init (the
 * least share at which each class is cached); percpu_mag_cap, which sizes
 * every new magazine, still asks fair_rounds. For a hart with nothing
 * cached the two must agree for every class at every budget from 64 KiB
 * to 2 MiB, in steps of 100 bytes (the share moves by under 19 bytes a
 * step, so each class's threshold is crossed within one), and a class must
 * go from uncached to cached once, at its threshold, as the budget grows.
 *
 * A magazine made for a hart with part of its share charged is charged at
 * most half of what the share has left.
 *
 * percpu_class_heap_only, the classes kmalloc and kfree send straight to
 * the heap: exactly those uncached at any budget and without a loose
 * magazine, and their calls count as large ones.
 */
#include <heap/kheap.h>
#include <percpu/kmalloc.h>
#include <stdio.h>
#include <stdlib.h>

#include <testing/check.h>

#include "percpu/percpu_internal.h" /* percpu_class_uncached, percpu_mag_cap */

#define HEAP (16u << 20) /* the kernel's: its round floor, its classes' charges */

int main(void)
{
	void *mem = aligned_alloc(64, HEAP);
	CHECK(mem);
	kheap_init(mem, (char *)mem + HEAP);
	percpu_init(PERCPU_MAGAZINES);
	port_host_become_hart(0);
	kfree(kmalloc(64)); /* hart 0 is active: the share divides by its count */

	static struct percpu_cpu nothing_cached;
	bool crowded; /* percpu_mag_cap's second answer: not asked here */
	unsigned flips = 0, cached_at_most = 0;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++) {
		bool was_uncached = true;
		for (size_t b = 64 << 10; b <= 2 << 20; b += 100) {
			percpu_set_cache_budget(b);
			bool uncached = percpu_class_uncached(cls);
			CHECK_EQ(uncached, percpu_mag_cap(&nothing_cached, cls, &crowded) == 0);
			flips += uncached != was_uncached;
			was_uncached = uncached;
		}
		cached_at_most += !was_uncached;
	}
	printf("%u of %u classes cached at a 2 MiB budget, %u flips\n", cached_at_most,
	       (unsigned)PERCPU_NCLASSES, flips);
	CHECK(cached_at_most > 0);
	CHECK_EQ(flips, cached_at_most);

	/*
	 * A hart with part of its share charged already: a new magazine is
	 * charged at most half of what is left (<percpu/config.h>), so the
	 * hart's later classes still find room. The share as budget.c's
	 * hart_share makes it.
	 */
	static struct percpu_cpu partly;
	unsigned capped = 0;
	for (size_t b = 256 << 10; b <= 2 << 20; b *= 2) {
		percpu_set_cache_budget(b);
		struct percpu_cache_stats cs;
		percpu_get_cache_stats(&cs);
		unsigned harts = cs.active_harts > PERCPU_SHARE_MIN_HARTS ? cs.active_harts
									  : PERCPU_SHARE_MIN_HARTS;
		size_t share = b / 100 * (100 - PERCPU_DEPOT_BUDGET_PCT) / harts;
		for (size_t used = 0; used < share; used += share / 64) {
			partly.slots_charge = used;
			for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++) {
				unsigned cap = percpu_mag_cap(&partly, cls, &crowded);
				if (!cap)
					continue;
				CHECK(percpu_mag_charge(cls, cap) <= (share - used) / 2);
				capped++;
			}
		}
	}
	CHECK(capped > 0);

	unsigned heap_only = 0;
	percpu_set_cache_budget((size_t)1 << 40); /* a share no heap gives */
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++) {
		bool never = percpu_mag_cap(&nothing_cached, cls, &crowded) == 0;
		CHECK_EQ(percpu_class_heap_only[cls] != 0, never && !percpu_loose_class(cls));
		heap_only += percpu_class_heap_only[cls] != 0;
	}
	percpu_set_cache_budget(0);
	printf("%u classes heap-only\n", heap_only);
	CHECK(heap_only > 0 && heap_only < PERCPU_NCLASSES);

	/*
	 * Each heap-only class's calls, a fast class's (5 KiB with these
	 * knobs: its size table entries) and the big ones', count as large.
	 */
	CHECK(percpu_class_heap_only[PERCPU_NFAST - 1]);
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++) {
		if (!percpu_class_heap_only[cls])
			continue;
		struct percpu_stats before, after;
		percpu_get_stats(0, &before);
		kfree(kmalloc(percpu_class_size[cls]));
		percpu_get_stats(0, &after);
		CHECK_EQ(after.large_allocs, before.large_allocs + 1);
		CHECK_EQ(after.large_frees, before.large_frees + 1);
		CHECK_EQ(after.allocs, before.allocs + 1);
		CHECK_EQ(after.frees, before.frees + 1);
	}
	printf("budget_table_test: PASS\n");
	return 0;
}
