// SPDX-License-Identifier: BSD-2-Clause
/*
 * A class above PERCPU_LOOSE_MAX_SIZE is served from the depot only with
 * rounds that harts left there, never with a run from the heap (depot.c,
 * percpu_depot_alloc). Before, a magazine a hart left became the loose one,
 * and once it ran dry the next allocation refilled it from the heap with a
 * whole magazine of big blocks, which then sat in the depot; and the dry
 * loose magazine kept the class's allocations taking the depot's lock.
 */
#include "test_util.h"

#include <percpu/config.h>

#define HEAP (16u << 20)
#define BIG_SIZE 2000 /* a class above PERCPU_LOOSE_MAX_SIZE */

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	test_unbounded_caches();
	unsigned big = percpu_size_class(BIG_SIZE);
	CHECK(percpu_class_size[big] > PERCPU_LOOSE_MAX_SIZE);

	/* Hart 0 caches some blocks of the class, then exits: they are parked. */
	enum { K = 8 };
	void *b[K];
	kfree(kmalloc(BIG_SIZE)); /* the first free of the class: the heap */
	for (int i = 0; i < K; i++)
		b[i] = kmalloc(BIG_SIZE);
	for (int i = 0; i < K; i++)
		kfree(b[i]);
	percpu_hart_exit();
	size_t parked = percpu_depot_bytes() / percpu_class_size[big];
	printf("parked in the depot: %zu rounds\n", parked);
	CHECK(parked > 0);

	/* Now the class is cached by no hart (the loose_test budget). */
	percpu_set_cache_budget(64u << 10);

	port_host_become_hart(1);
	void *got[64];
	CHECK(parked + 1 <= 64);
	for (size_t i = 0; i < parked; i++)
		CHECK((got[i] = kmalloc(BIG_SIZE)) != NULL); /* the parked rounds */
	struct kheap_stats h0, h1;
	kheap_get_stats(&h0);
	CHECK((got[parked] = kmalloc(BIG_SIZE)) != NULL); /* none left: the heap */
	kheap_get_stats(&h1);
	struct percpu_stats s;
	percpu_get_stats(1, &s);
	size_t taken = h1.heap.total_allocs - h0.heap.total_allocs;
	printf("allocation past the parked rounds: %zu heap blocks taken, hart 1 refills %llu "
	       "(%llu blocks), depot now holds %zu bytes\n", taken,
	       (unsigned long long)s.refills, (unsigned long long)s.refill_blocks,
	       percpu_depot_bytes());
	CHECK_EQ(s.refills, 0);
	CHECK_EQ(taken, 1); /* that block alone, not a run for the depot */
	CHECK_EQ(percpu_depot_bytes(), 0); /* the spent loose magazine went too */
	for (size_t i = 0; i <= parked; i++)
		kfree(got[i]);
	test_drain_leaves_nothing();
	printf("loose_big_refill_test: PASS\n");
	return 0;
}
