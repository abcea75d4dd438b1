// SPDX-License-Identifier: BSD-2-Clause
/*
 * percpu_trim asks the other active harts to flush, without waiting: their
 * caches go back to the heap "at their next call" (<percpu/kmalloc.h>, the
 * shim's malloc_trim). Hart 1 caches a magazine of 2 KiB blocks, hart 0
 * trims, hart 1 then calls in (percpu_poll, and a kfree on its slow path):
 * its blocks must be back in the heap, not parked on the orphan list where
 * only the next reclaim would return them (still charged to the budget,
 * their pages out of the trim's reach). Virtual harts on one thread.
 */
#include "test_util.h"

#define SZ 2048

static void check_returned(const char *when)
{
	struct percpu_cache_stats cs;
	percpu_get_cache_stats(&cs);
	printf("trim_answer: %s: hart 1 caches %zu bytes, orphans %zu, heap live %zu\n",
	       when, percpu_cached_bytes(1), cs.orphan_bytes, test_heap_live());
	CHECK_EQ(percpu_cached_bytes(1), 0);
	CHECK_EQ(cs.orphan_bytes, 0);
	CHECK_EQ(test_heap_live(), 0);
}

int main(void)
{
	test_percpu_init_as_hart0(1u << 20);
	test_unbounded_caches();
	static void *b[16];

	/* Answered in percpu_poll. */
	CHECK(test_hart_fills_cache(1, SZ, 16) > 0);
	port_host_become_hart(0);
	percpu_trim();
	port_host_become_hart(1);
	percpu_poll();
	check_returned("after percpu_poll");

	/* Answered on a free's slow path (the host's fast free sees the request). */
	for (int i = 0; i < 16; i++)
		b[i] = kmalloc(SZ);
	for (int i = 1; i < 16; i++)
		kfree(b[i]);
	CHECK(percpu_cached_bytes(1) > 0);
	port_host_become_hart(0);
	percpu_trim();
	port_host_become_hart(1);
	kfree(b[0]);
	check_returned("after kfree");

	percpu_hart_exit();
	port_host_become_hart(0);
	test_drain_leaves_nothing();
	printf("trim_answer_test: PASS\n");
	return 0;
}
