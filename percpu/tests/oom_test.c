// SPDX-License-Identifier: BSD-2-Clause
/*
 * No false OOM. Hart A fills the heap with 2 KiB blocks and frees them on
 * itself: 16 stay in A's magazines, the rest in the depot or the heap. Hart
 * B (A alive, polling) then asks for one block that fits only when A's
 * cache is back in the heap. With remote flushes disabled (a test switch)
 * it must fail; with them, it must succeed.
 */
#include "report_capture.h"
#include "test_util.h"

#include <pthread.h>
#include <string.h>

#define HEAP (256u << 10)
static int stage;    /* 1: A filled its cache; 2: A may exit */
static int deaf;     /* 1: hart 2 is active and deaf; 2: it may go on */

/* Hart 2: active, then busy without ever polling, so it cannot answer. */
static void *hart_deaf(void *arg)
{
	(void)arg;
	port_host_become_hart(2);
	void *p = kmalloc(64);
	__atomic_store_n(&deaf, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&deaf, __ATOMIC_ACQUIRE) != 2)
		;
	kfree(p);
	percpu_hart_exit();
	return NULL;
}

static void *hart_a(void *arg)
{
	(void)arg;
	/* 160 KiB: 16 blocks stay in A's magazines, the rest go on */
	CHECK(test_hart_fills_cache(1, 2048, 80) == 16 * 2048);
	__atomic_store_n(&stage, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 2)
		percpu_poll();
	percpu_hart_exit();
	return NULL;
}

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	test_unbounded_caches();
	pthread_t a;
	CHECK(pthread_create(&a, NULL, hart_a, NULL) == 0);
	while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 1)
		;
	/* Bigger than the heap minus A's 32 KiB of magazines. */
	size_t want = HEAP - 24 * 1024;

	percpu_test_set_remote_flush(false);
	CHECK(kmalloc_try(want) == NULL);            /* A kept its cache */
	CHECK(percpu_cached_bytes(1) == 16 * 2048);
	CHECK(percpu_depot_bytes() == 0);            /* the depots were drained */

	percpu_test_set_remote_flush(true);
	void *p = kmalloc_try(want);
	CHECK(p != NULL);                            /* A flushed on request */
	CHECK(percpu_cached_bytes(1) == 0);
	struct percpu_stats s;
	percpu_get_stats(1, &s);
	CHECK(s.flushes >= 1);
	kfree(p);

	/*
	 * The report names every active hart, those that cache nothing too,
	 * and says whether the last flush request was answered.
	 */
	const char *r = report_take();
	CHECK(strstr(r, "  percpu: hart 0 caches "));
	CHECK(strstr(r, "  percpu: hart 1 caches 0 bytes\n"));
	CHECK(strstr(r, "  percpu: hart 0's last flush request: every active hart answered\n"));
	/* A hart that never polls: the flush times out and the report names it. */
	pthread_t d;
	CHECK(pthread_create(&d, NULL, hart_deaf, NULL) == 0);
	while (__atomic_load_n(&deaf, __ATOMIC_ACQUIRE) != 1)
		;
	percpu_drain();
	r = report_take();
	CHECK(strstr(r, "  percpu: hart 2 caches "));
	if (!strstr(r, "  percpu: hart 0's last flush request timed out; "
		       "not answered by hart 2\n")) {
		fprintf(stderr, "report:\n%s", r);
		CHECK(0);
	}
	__atomic_store_n(&deaf, 2, __ATOMIC_RELEASE);
	pthread_join(d, NULL);

	__atomic_store_n(&stage, 2, __ATOMIC_RELEASE);
	pthread_join(a, NULL);
	CHECK(percpu_check_drained(0));
	CHECK(test_heap_validate() == 0);
	printf("oom_test: PASS\n");
	return 0;
}
