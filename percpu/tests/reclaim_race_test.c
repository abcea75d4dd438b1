// SPDX-License-Identifier: BSD-2-Clause
/*
 * No false OOM when another hart returns the flushed caches. Hart A's
 * allocation fits only once hart C's magazines are back in the heap. A's
 * quick reclaim asks C to flush; while A runs its OOM hook (between the
 * quick and the waiting reclaim), C answers (its magazines go on the orphan
 * list) and hart B's percpu_trim returns those orphans to the heap, as a
 * concurrent reclaim of B's or a malloc_trim would. The memory A needs is
 * then free in the heap: A's allocation must succeed, not end in OOM.
 * Virtual harts on one thread, so the interleaving is exact.
 */
#include "test_util.h"

#define HEAP (256u << 10)
#define SZ 2048

static int hook_calls;

static kheap_oom_action_t oom_hook(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	(void)size;
	(void)align;
	if (hook_calls++ == 0) {
		port_host_become_hart(2); /* C answers A's request */
		percpu_poll();
		port_host_become_hart(1); /* B takes C's orphans back to the heap */
		percpu_trim();
		port_host_become_hart(0);
	}
	return KHEAP_OOM_FAIL; /* the heap cannot grow */
}

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	test_unbounded_caches();
	percpu_set_flush_wait_us(1000); /* C cannot answer A's second request */

	/* C caches two magazines of 2 KiB blocks (loaded and previous). */
	CHECK(test_hart_fills_cache(2, SZ, 16) >= 8 * SZ);

	/* A: everything but C's cache is free; ask for more than that. */
	port_host_become_hart(0);
	kheap_set_oom_hook(oom_hook, NULL);
	struct kheap_stats st;
	kheap_get_stats(&st);
	size_t want = st.heap.largest_free + SZ;
	void *p = kmalloc_try(want);
	CHECK_EQ(hook_calls, 1);
	CHECK_EQ(percpu_cached_bytes(2), 0); /* C's cache did come back */
	printf("reclaim_race: asked %zu bytes, got %p\n", want, p);
	CHECK(p != NULL); /* the memory is in the heap: no OOM */
	kfree(p);
	kheap_set_oom_hook(NULL, NULL);
	port_host_become_hart(1);
	percpu_hart_exit();
	port_host_become_hart(2);
	percpu_hart_exit();
	port_host_become_hart(0);
	test_drain_leaves_nothing();
	printf("reclaim_race_test: PASS\n");
	return 0;
}
