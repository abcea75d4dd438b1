// SPDX-License-Identifier: BSD-2-Clause
/*
 * A flush request still unanswered when the process forks does not outlive
 * the fork: in the child, a thread that takes that hart id again (the shim
 * hands dead threads' ids out again) is asked at the next drain and
 * answers it. Before, forget_slots cleared flush_pending but left flush_req
 * ahead of flush_done, so flush_ask never asked that hart again ("an
 * unanswered request stands") and the hart never saw one to answer: every
 * drain waited the whole flush wait and left its cache in place.
 * REPRO_CONTROL=1 skips the parent's request (the case that always passed).
 */
#include "test_util.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 64
#define N 20

static int parked_go, child_stop, child_ready;

static void cache_some(void)
{
	void *b[N];
	kfree(kmalloc(SIZE)); /* the hart's first free of the class: the heap */
	for (int i = 0; i < N; i++)
		b[i] = kmalloc(SIZE);
	for (int i = 0; i < N; i++)
		kfree(b[i]);
}

static void *parent_hart1(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	cache_some();
	__atomic_store_n(&child_ready, 1, __ATOMIC_RELEASE);
	/* Parked: no allocator call, so it never answers a request. */
	while (!__atomic_load_n(&parked_go, __ATOMIC_ACQUIRE))
		usleep(1000);
	percpu_hart_exit();
	return NULL;
}

static void *child_hart1(void *arg)
{
	(void)arg;
	port_host_become_hart(1); /* the dead thread's id, as the shim reuses it */
	cache_some();
	__atomic_store_n(&child_ready, 1, __ATOMIC_RELEASE);
	/* Answers every request at once (percpu_poll's promise). */
	while (!__atomic_load_n(&child_stop, __ATOMIC_ACQUIRE)) {
		percpu_poll();
		usleep(100);
	}
	return NULL;
}

static void prepare(void)
{
	percpu_fork_prepare();
	kheap_fork_prepare();
}

static void parent(void)
{
	kheap_fork_parent();
	percpu_fork_parent();
}

static void child(void)
{
	kheap_fork_child();
	percpu_fork_child();
}

static uint64_t now_us(void)
{
	return port_time_us();
}

static void child_main(void)
{
	alarm(20);
	pthread_t t;
	__atomic_store_n(&child_ready, 0, __ATOMIC_RELAXED);
	CHECK(pthread_create(&t, NULL, child_hart1, NULL) == 0);
	while (!__atomic_load_n(&child_ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	struct percpu_stats s0, s1;
	percpu_get_stats(1, &s0);
	uint64_t t0 = now_us();
	percpu_drain(); /* hart 1 polls every 100 us: it should answer at once */
	uint64_t took = now_us() - t0;
	percpu_get_stats(1, &s1);
	size_t left = percpu_cached_bytes(1);
	__atomic_store_n(&child_stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	printf("child: drain took %llu us; hart 1 flushes %llu -> %llu; hart 1 still caches %zu bytes\n",
	       (unsigned long long)took, (unsigned long long)s0.flushes,
	       (unsigned long long)s1.flushes, left);
	int ok = s1.flushes > s0.flushes && left == 0;
	if (!ok)
		printf("child: FAIL: the polling hart 1 never answered the drain's request\n");
	fflush(stdout);
	_exit(ok ? 0 : 1);
}

int main(void)
{
	test_heap_init(16u << 20);
	percpu_init(PERCPU_MAGAZINES);
	port_host_become_hart(0);
	percpu_set_flush_wait_us(300000); /* 0.3 s */
	CHECK(pthread_atfork(prepare, parent, child) == 0);

	pthread_t t;
	CHECK(pthread_create(&t, NULL, parent_hart1, NULL) == 0);
	while (!__atomic_load_n(&child_ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	/* Asks hart 1 to flush without waiting: it is parked, the request stands. */
	if (!getenv("REPRO_CONTROL"))
		percpu_trim();

	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		child_main();
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	__atomic_store_n(&parked_go, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	printf("fork_stale_request_test: PASS\n");
	return 0;
}
