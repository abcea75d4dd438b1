// SPDX-License-Identifier: BSD-2-Clause
/*
 * No false OOM. Hart A fills the heap with 4 KiB blocks and frees them on
 * itself: 16 stay in A's magazines, the rest in the depot or the heap. Hart
 * B (A alive, polling) then asks for one block that fits only when A's
 * cache is back in the heap. With remote flushes disabled (a test switch)
 * it must fail; with them, it must succeed.
 */
#include "test_util.h"

#include <pthread.h>

#define HEAP (256u << 10)
static int stage;    /* 1: A filled its cache; 2: A may exit */

static void *hart_a(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	static void *b[40];
	int n = 40; /* 160 KiB: 16 blocks stay in A's magazines, 24 in the depot */
	for (int i = 0; i < n; i++)
		b[i] = kmalloc(4096);
	for (int i = 0; i < n; i++)
		kfree(b[i]);
	CHECK(percpu_cached_bytes(1) == 16 * 4096);
	__atomic_store_n(&stage, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 2)
		percpu_poll();
	percpu_hart_exit();
	return NULL;
}

int main(void)
{
	test_heap_init(HEAP);
	percpu_init(PERCPU_MAGAZINES);
	port_host_become_hart(0);
	pthread_t a;
	CHECK(pthread_create(&a, NULL, hart_a, NULL) == 0);
	while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 1)
		;
	/* Bigger than the heap minus A's 64 KiB of magazines. */
	size_t want = HEAP - 48 * 1024;

	percpu_test_set_remote_flush(false);
	CHECK(kmalloc_try(want) == NULL);            /* A kept its cache */
	CHECK(percpu_cached_bytes(1) == 16 * 4096);
	CHECK(percpu_depot_bytes() == 0);            /* the depots were drained */

	percpu_test_set_remote_flush(true);
	void *p = kmalloc_try(want);
	CHECK(p != NULL);                            /* A flushed on request */
	CHECK(percpu_cached_bytes(1) == 0);
	struct percpu_stats s;
	percpu_get_stats(1, &s);
	CHECK(s.flushes >= 1);
	kfree(p);

	__atomic_store_n(&stage, 2, __ATOMIC_RELEASE);
	pthread_join(a, NULL);
	CHECK(percpu_check_drained(0));
	CHECK(test_heap_validate() == 0);
	printf("oom_test: PASS\n");
	return 0;
}
