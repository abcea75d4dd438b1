// SPDX-License-Identifier: BSD-2-Clause
/*
 * The depot's loose magazine serves allocations only: a hart that caches
 * no magazine of a class (here: a budget too small for any) allocates its
 * blocks a round at a time from the loose magazine, refilled from the heap
 * in runs, and frees them straight to the heap, where they merge with
 * their free neighbours. Rounds freed back into the loose magazine were
 * handed out again wherever they lay and fragmented the 16-hart stress
 * (see PERCPU_LOOSE_DIV in <percpu/config.h>). A class above
 * PERCPU_LOOSE_MAX_SIZE has none, and its allocations go to the heap
 * without its depot's lock while the depot holds nothing.
 */
#include "test_util.h"

#include <percpu/config.h>

#define HEAP (16u << 20)
/* Share 12 KiB a hart: no class cached; the loose magazines hold 3 rounds. */
#define BUDGET (64u << 10)
#define SIZE 48
#define BLOCKS 3 /* the loose magazine's rounds */
#define ROUNDS 100
#define BIG_SIZE 2000 /* a class above PERCPU_LOOSE_MAX_SIZE */

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	percpu_set_cache_budget(BUDGET);

	/* The hart's first free of a class goes to the heap in any case. */
	kfree(kmalloc(SIZE));

	void *b[BLOCKS];
	for (int i = 0; i < BLOCKS; i++)
		CHECK((b[i] = kmalloc(SIZE)) != NULL);
	for (int i = 0; i < BLOCKS; i++) {
		size_t live = test_heap_live();
		kfree(b[i]);
		/* Back in the heap at once, not parked in a cache. */
		CHECK_EQ(test_heap_live(), live - 1);
	}

	struct kheap_stats h0, h1;
	struct percpu_stats s0, s1;
	kheap_get_stats(&h0);
	percpu_get_stats(0, &s0);
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < BLOCKS; i++)
			CHECK((b[i] = kmalloc(SIZE)) != NULL);
		for (int i = 0; i < BLOCKS; i++)
			kfree(b[i]);
	}
	kheap_get_stats(&h1);
	percpu_get_stats(0, &s1);
	/* Less the trip of the second kheap_get_stats itself. */
	unsigned long trips = h1.lock_acquisitions - h0.lock_acquisitions - 1;
	uint64_t loose = s1.depot_exchanges - s0.depot_exchanges;
	uint64_t refills = s1.refills - s0.refills;
	printf("%d allocations and frees: %llu from the loose magazine, %llu refills, "
	       "%lu heap-lock trips\n", ROUNDS * BLOCKS, (unsigned long long)loose,
	       (unsigned long long)refills, trips);

	/* Every allocation came from the loose magazine, a run per refill. */
	CHECK_EQ(loose, (uint64_t)ROUNDS * BLOCKS);
	CHECK(refills <= (uint64_t)ROUNDS);
	/* One heap-lock trip per free and per run, none per allocation. */
	CHECK(trips <= (unsigned long)(ROUNDS * BLOCKS + refills));

	/*
	 * A class above PERCPU_LOOSE_MAX_SIZE gets no loose magazine: with
	 * nothing in its depot, its allocations go to the heap without its
	 * depot's lock (they took it for each one, for nothing, before).
	 */
	unsigned big = percpu_size_class(BIG_SIZE);
	CHECK(percpu_class_size[big] > PERCPU_LOOSE_MAX_SIZE);
	struct percpu_depot_stats d0, d1;
	CHECK(percpu_get_depot_stats(big, &d0));
	kfree(kmalloc(BIG_SIZE)); /* the hart's first free of the class */
	for (int r = 0; r < ROUNDS; r++) {
		size_t live = test_heap_live();
		void *p = kmalloc(BIG_SIZE);
		CHECK(p != NULL);
		CHECK_EQ(test_heap_live(), live + 1); /* from the heap */
		kfree(p);
		CHECK_EQ(test_heap_live(), live);
	}
	CHECK(percpu_get_depot_stats(big, &d1));
	printf("%d allocations of %d bytes: %llu depot lock trips\n", ROUNDS + 1, BIG_SIZE,
	       (unsigned long long)(d1.acquisitions - d0.acquisitions));
	CHECK_EQ(d1.acquisitions - d0.acquisitions, (uint64_t)0);

	/* The drain gives back the loose magazines and their charge. */
	test_drain_leaves_nothing();
	printf("loose_test: PASS\n");
	return 0;
}
