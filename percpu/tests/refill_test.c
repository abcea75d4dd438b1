// SPDX-License-Identifier: BSD-2-Clause
/*
 * A hart's refills of a class grow: the first takes
 * PERCPU_REFILL_FIRST_ROUNDS rounds from the heap, each after it twice the
 * last, up to the magazine's capacity; emptying the class's slot (here a
 * drain) starts the class small again. So a class a hart uses a little
 * carves a few blocks, not a whole magazine of memory nobody touches.
 */
#include "test_util.h"

#include <percpu/config.h>

#define SIZE 64
#define REFILLS 6 /* enough to reach the capacity and stay there */

int main(void)
{
	test_heap_init(4u << 20);
	percpu_init(PERCPU_MAGAZINES);
	test_unbounded_caches();
	const size_t cap = percpu_class_rounds[percpu_size_class(SIZE)];
	CHECK(cap >= 4 * PERCPU_REFILL_FIRST_ROUNDS); /* room for two doublings */
	static void *b[REFILLS * 256];

	for (int pass = 0; pass < 2; pass++) {
		size_t want = PERCPU_REFILL_FIRST_ROUNDS, held = 0;
		for (int r = 0; r < REFILLS; r++) {
			/* The cache is empty: this allocation refills it. */
			struct percpu_stats s = test_hart0_stats();
			b[held++] = kmalloc(SIZE);
			struct percpu_stats t = test_hart0_stats();
			CHECK_EQ(t.refills, s.refills + 1);
			CHECK_EQ(t.refill_blocks - s.refill_blocks, want);
			/* The rest of the refill: hits, and the cache is empty again. */
			for (size_t i = 1; i < want; i++)
				b[held++] = kmalloc(SIZE);
			CHECK_EQ(test_hart0_stats().refills, t.refills);
			CHECK_EQ(percpu_cached_bytes(0), 0);
			want = 2 * want < cap ? 2 * want : cap;
		}
		CHECK_EQ(want, cap);
		for (size_t i = 0; i < held; i++)
			kfree(b[i]);
		/* The drain empties the slot: the next pass starts small again. */
		CHECK(percpu_check_drained(0));
		CHECK_EQ(percpu_depot_bytes(), 0);
	}
	test_drain_leaves_nothing();
	printf("refill_test: PASS\n");
	return 0;
}
