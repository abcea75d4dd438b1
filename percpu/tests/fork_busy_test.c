// SPDX-License-Identifier: BSD-2-Clause
/*
 * A hart caught inside a slow path by fork (here: spinning for a depot lock
 * that the fork's prepare hook holds, where any hart that reaches a depot
 * meanwhile waits) is not busy in the child: a child thread that takes its
 * id again answers flush requests through percpu_poll. Before, forget_slots
 * left its `busy` count at 1, and percpu_poll and the kick handler
 * (poll_masked: `!c->busy`) never honoured a request for that hart again.
 * Reads hart 1's record: one link unit with percpu (no sanitized twins).
 */
#include "test_util.h"

#include "percpu/percpu_internal.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 64
#define N 20

static int child_stop, child_ready;

static void *parent_hart1(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	/* First use of the class: alloc_slow goes to the depot (locked). */
	kfree(kmalloc(SIZE));
	return NULL;
}

static void *child_hart1(void *arg)
{
	(void)arg;
	port_host_become_hart(1); /* the dead thread's id, as the shim reuses it */
	void *b[N];
	kfree(kmalloc(SIZE));
	for (int i = 0; i < N; i++)
		b[i] = kmalloc(SIZE);
	for (int i = 0; i < N; i++)
		kfree(b[i]);
	__atomic_store_n(&child_ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&child_stop, __ATOMIC_ACQUIRE)) {
		percpu_poll(); /* "Honours a pending flush request for this hart." */
		usleep(100);
	}
	return NULL;
}

static void child_main(void)
{
	alarm(20);
	kheap_fork_child();
	percpu_fork_child();
	printf("child: hart 1's inherited busy = %u\n",
	       __atomic_load_n(&percpu_record(1)->busy, __ATOMIC_RELAXED));
	pthread_t t;
	CHECK(pthread_create(&t, NULL, child_hart1, NULL) == 0);
	while (!__atomic_load_n(&child_ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	struct percpu_stats s0, s1;
	percpu_get_stats(1, &s0);
	uint64_t t0 = port_time_us();
	percpu_drain();
	uint64_t took = port_time_us() - t0;
	percpu_get_stats(1, &s1);
	size_t left = percpu_cached_bytes(1);
	__atomic_store_n(&child_stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	printf("child: drain took %llu us; hart 1 flushes %llu -> %llu; still caches %zu bytes\n",
	       (unsigned long long)took, (unsigned long long)s0.flushes,
	       (unsigned long long)s1.flushes, left);
	int ok = s1.flushes > s0.flushes && left == 0;
	if (!ok)
		printf("child: FAIL: percpu_poll on hart 1 never honoured the request\n");
	fflush(stdout);
	_exit(ok ? 0 : 1);
}

int main(void)
{
	test_heap_init(16u << 20);
	percpu_init(PERCPU_MAGAZINES);
	port_host_become_hart(0);
	percpu_set_flush_wait_us(300000);

	/* What pthread_atfork's prepare does, with hart 1 arriving meanwhile. */
	percpu_fork_prepare();
	pthread_t t;
	CHECK(pthread_create(&t, NULL, parent_hart1, NULL) == 0);
	while (!__atomic_load_n(&percpu_record(1)->busy, __ATOMIC_RELAXED))
		usleep(1000);
	usleep(10000); /* hart 1 spins in depot_lock, inside its slow path */
	kheap_fork_prepare();
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		child_main();
	kheap_fork_parent();
	percpu_fork_parent();
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	pthread_join(t, NULL);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	printf("fork_busy_test: PASS\n");
	return 0;
}
