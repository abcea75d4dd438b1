// SPDX-License-Identifier: BSD-2-Clause
/*
 * The tag's byte lanes under contention, meant to run under TSan too: hart 2
 * frees and reallocates the lower neighbours of hart 1's blocks under the
 * heap lock (the heap rewrites P in the flags lane of hart 1's tags), while
 * hart 1, without the lock, does what a magazine does to its own blocks:
 * reads the size lane and the state lane, marks them cached and live. No
 * update may be lost either way, and there must be no data race: the two
 * never write the same byte.
 */
#include <heap/heap_core.h>
#include <heap/kheap.h>
#include <platform/port.h>

#include <pthread.h>

#include "test_util.h"

#define BLOCKS 64
#define ROUNDS 3000

static void *mine[BLOCKS], *theirs[BLOCKS];
static size_t mine_size[BLOCKS];
static int stop; /* relaxed atomics: only a flag */
static unsigned long marks; /* relaxed atomics: the main thread waits on it */

static void *marker(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (int i = 0; i < BLOCKS; i++) {
			void *p = mine[i];
			CHECK(heap_block_size(p) == mine_size[i]);
			CHECK(heap_tag_state(p) == HEAP_STATE_LIVE);
			heap_tag_mark_cached(p);
			CHECK(heap_tag_is_cached(p));
			heap_tag_set_state(p, HEAP_STATE_LIVE);
			CHECK(heap_tag_plausible_live(p));
		}
		__atomic_store_n(&marks, marks + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

int main(void)
{
	size_t bytes = 1u << 20;
	void *mem = test_map(bytes);
	kheap_init(mem, (char *)mem + bytes);
	/* Interleave: theirs[i] sits just below mine[i]. */
	for (int i = 0; i < BLOCKS; i++) {
		theirs[i] = kheap_alloc(32, 0);
		mine[i] = kheap_alloc(48, 0);
		mine_size[i] = heap_block_size(mine[i]);
		CHECK((char *)mine[i] > (char *)theirs[i]);
	}
	pthread_t t;
	CHECK(pthread_create(&t, NULL, marker, NULL) == 0);
	port_host_become_hart(2);
	/*
	 * ROUNDS at least, and on until the marker has done some passes too:
	 * on a loaded host it may not have been scheduled yet.
	 */
	for (int round = 0; round < ROUNDS ||
			    __atomic_load_n(&marks, __ATOMIC_RELAXED) < 100; round++)
		for (int i = 0; i < BLOCKS; i++) {
			kheap_free(theirs[i]);               /* sets P in mine[i] */
			theirs[i] = kheap_alloc(32, 0);      /* clears it */
		}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	port_host_become_hart(0);
	CHECK(marks > 0);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	/* Cached blocks go back through the batch free, live ones through free. */
	for (int i = 0; i < BLOCKS; i++) {
		if (i & 1) {
			heap_tag_mark_cached(mine[i]);
			kheap_free_batch(&mine[i], 1);
		} else {
			kheap_free(mine[i]);
		}
		kheap_free(theirs[i]);
	}
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	struct kheap_stats st;
	kheap_get_stats(&st);
	CHECK_EQ(st.heap.live_allocs, 0);
	printf("tag_lane_test: PASS (%lu marking rounds)\n", marks);
	return 0;
}
