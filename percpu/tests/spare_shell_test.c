// SPDX-License-Identifier: BSD-2-Clause
/*
 * Spare magazine shells (percpu_cpu.spares, PERCPU_SPARE_SHELLS): a hart
 * that uses more classes than its share of the budget holds evicts its
 * least recently used class for each new one. The evicted magazines'
 * arrays must serve the new magazines (no heap call for a new array), and
 * a drain must give the spares and their charge back.
 */
#include "test_util.h"

#include <percpu/config.h>
#include <percpu/size_class.h>

#define HEAP (16u << 20)
#define CLASSES 24 /* 16 .. 2048 bytes: more than a share of 4 harts caches */
#define ROUNDS 200
#define BLOCKS 6

int main(void)
{
	test_percpu_init_as_hart0(HEAP);

	struct kheap_stats h0, h1;
	kheap_get_stats(&h0);
	void *b[BLOCKS];
	for (int r = 0; r < ROUNDS; r++) {
		for (int cls = 0; cls < CLASSES; cls++) {
			for (int i = 0; i < BLOCKS; i++)
				CHECK((b[i] = kmalloc(percpu_class_size[cls])) != NULL);
			for (int i = 0; i < BLOCKS; i++)
				kfree(b[i]);
		}
	}
	kheap_get_stats(&h1);
	struct percpu_stats s;
	percpu_get_stats(0, &s);
	unsigned long trips = h1.lock_acquisitions - h0.lock_acquisitions;
	printf("evictions %llu, arrays made %llu, spares taken %llu, heap-lock trips %lu "
	       "(%.2f per eviction)\n", (unsigned long long)s.evictions,
	       (unsigned long long)s.shells_made, (unsigned long long)s.shells_reused,
	       trips, s.evictions ? (double)trips / (double)s.evictions : 0.0);

	/* The workload evicts: about one class every five class switches. */
	CHECK(s.evictions > ROUNDS * CLASSES / 8);
	/*
	 * Every eviction leaves one or two arrays, and the new magazines take
	 * them: arrays from the heap only where no spare had the room.
	 */
	CHECK(s.shells_reused >= s.evictions);
	CHECK(s.shells_made * 4 < s.evictions);

	/* A drain frees the spares and gives back every byte of charge. */
	test_drain_leaves_nothing();
	printf("spare_shell_test: PASS\n");
	return 0;
}
