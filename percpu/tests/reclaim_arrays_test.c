// SPDX-License-Identifier: BSD-2-Clause
/*
 * A reclaim that gives back only magazine arrays (empty magazines, spare
 * shells) gave something back: the heap must retry the allocation, not
 * report OOM with the memory free. Hart 0 takes 16-byte blocks until
 * kmalloc_try fails: its empty magazine went to the depot when the refill
 * found the heap full, and the failing call's reclaim drains the depot,
 * freeing the magazine's array (about 2 KiB). One hart, nothing else
 * running: a NULL must leave no room for 16 bytes. It left the array's
 * 2 KiB free, and every later kmalloc_try(16) failed the same way (its new
 * magazine took the room, the refill found none, the reclaim freed the
 * array and reported nothing back); kmalloc would panic out of memory.
 */
#include "test_util.h"

#define HEAP (256u << 10)
#define MAX_BLOCKS (HEAP / 16)

static void *b[MAX_BLOCKS];

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	test_unbounded_caches();

	size_t n = 0;
	while (n < MAX_BLOCKS && (b[n] = kmalloc_try(16)) != NULL)
		n++;
	CHECK(n > 0 && n < MAX_BLOCKS);
	/*
	 * One hart, nothing else running: a NULL means no room for 16 bytes,
	 * even after its reclaim (the next call must fail too).
	 */
	struct kheap_stats st;
	kheap_get_stats(&st);
	void *again = kmalloc_try(16);
	printf("reclaim_arrays: %zu blocks, then NULL with %zu bytes free "
	       "(largest free block %zu); the next kmalloc_try(16): %p\n",
	       n, st.heap.bytes_free, st.heap.largest_free, again);
	CHECK(st.heap.largest_free < 32);
	CHECK(again == NULL);

	kfree(again);
	for (size_t i = 0; i < n; i++)
		kfree(b[i]);
	test_drain_leaves_nothing();
	printf("reclaim_arrays_test: PASS\n");
	return 0;
}
