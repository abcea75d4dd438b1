/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host test helpers: CHECK, a heap region, the usual start as hart 0, a
 * hart's filled cache, threads as harts, hart 0's statistics, the
 * live-count check.
 */
#ifndef PERCPU_TEST_UTIL_H
#define PERCPU_TEST_UTIL_H

#include <heap/kheap.h>
#include <percpu/kmalloc.h>
#include <platform/port.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <testing/check.h>

#include "misuse_recorder.h"

static inline void test_heap_init(size_t bytes)
{
	void *mem = aligned_alloc(64, bytes);
	CHECK(mem);
	kheap_init(mem, (char *)mem + bytes);
}

/*
 * How the tests start: a heap of heap_bytes, percpu's magazines over it,
 * and the calling thread as hart 0 (which a thread that never names its
 * hart already is; the tests' other threads then take harts 1, 2, ...).
 */
static inline void test_percpu_init_as_hart0(size_t heap_bytes)
{
	test_heap_init(heap_bytes);
	percpu_init(PERCPU_MAGAZINES);
	port_host_become_hart(0);
}

/*
 * The calling thread becomes hart `hart` and fills its caches: n blocks of
 * `size` allocated, then all freed in the same order. Returns the bytes the
 * hart then caches (its magazines'; what does not fit goes on).
 */
enum { TEST_FILL_MAX = 128 };
static inline size_t test_hart_fills_cache(unsigned hart, size_t size, unsigned n)
{
	void *b[TEST_FILL_MAX];
	CHECK(n <= TEST_FILL_MAX);
	port_host_become_hart(hart);
	for (unsigned i = 0; i < n; i++)
		b[i] = kmalloc(size);
	for (unsigned i = 0; i < n; i++)
		kfree(b[i]);
	return percpu_cached_bytes(hart);
}

/*
 * Runs fn on n threads at once, each given its index (the hart it is to
 * become) as its argument, and waits for them all.
 */
enum { TEST_THREADS_MAX = 16 };
static inline void test_run_harts(unsigned n, void *(*fn)(void *))
{
	pthread_t t[TEST_THREADS_MAX];
	CHECK(n <= TEST_THREADS_MAX);
	for (unsigned h = 0; h < n; h++)
		CHECK(pthread_create(&t[h], NULL, fn, (void *)(uintptr_t)h) == 0);
	for (unsigned h = 0; h < n; h++)
		pthread_join(t[h], NULL);
}

/*
 * For tests of the magazine mechanics at the class table's full capacities
 * (counts of rounds, swaps, exchanges): a budget that never binds and no
 * depot reaping, so the counts do not depend on the heap's size or on time.
 * budget_test covers the budget and the reaping.
 */
static inline void test_unbounded_caches(void)
{
	percpu_set_cache_budget((size_t)1 << 40);
	percpu_set_depot_reap_us(0);
}

/* Hart 0's percpu statistics, now. */
static inline struct percpu_stats test_hart0_stats(void)
{
	struct percpu_stats s;
	percpu_get_stats(0, &s);
	return s;
}

/*
 * allocs - frees (percpu_sum_stats) must be `held`, the blocks the caller
 * holds; a test that fails it names the step it failed after.
 */
static inline void test_check_books(const char *test, const char *after, uint64_t held)
{
	struct percpu_stats s;
	percpu_sum_stats(&s);
	if (s.allocs - s.frees != held)
		printf("%s: after %s: allocs %llu - frees %llu != %llu held (large allocs %llu, "
		       "large frees %llu)\n", test, after, (unsigned long long)s.allocs,
		       (unsigned long long)s.frees, (unsigned long long)held,
		       (unsigned long long)s.large_allocs, (unsigned long long)s.large_frees);
	CHECK_EQ(s.allocs - s.frees, held);
}

static inline size_t test_heap_live(void)
{
	struct kheap_stats st;
	kheap_get_stats(&st);
	return st.heap.live_allocs;
}

static void test_validate_report(void *ctx, const char *msg, void *addr)
{
	(void)ctx;
	fprintf(stderr, "validate: %s at %p\n", msg, addr);
}

static inline size_t test_heap_validate(void)
{
	return kheap_validate(test_validate_report, NULL);
}

/*
 * The calling hart drains its caches, holding no block: then nothing may be
 * charged to the budget, no block live and the heap valid.
 */
static inline void test_drain_leaves_nothing(void)
{
	CHECK(percpu_check_drained(0));
	struct percpu_cache_stats cs;
	percpu_get_cache_stats(&cs);
	CHECK_EQ(cs.charged, 0);
	CHECK_EQ(test_heap_live(), 0);
	CHECK(test_heap_validate() == 0);
}

#endif
