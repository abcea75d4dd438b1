/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * For the fork tests: the fork hooks as the LD_PRELOAD shim installs them,
 * a parked hart 1 in the parent, and the check every fork-child test ends
 * with, that a hart id a child thread takes again (as the shim hands dead
 * threads' ids out) answers a drain's flush request at once.
 */
#ifndef PERCPU_TESTS_FORK_UTIL_H
#define PERCPU_TESTS_FORK_UTIL_H

#include "test_util.h"

#include <pthread.h>
#include <unistd.h>

/* pthread_atfork's trio: the depot locks, then the heap lock. */
static inline void fork_hook_prepare(void)
{
	percpu_fork_prepare();
	kheap_fork_prepare();
}

static inline void fork_hook_parent(void)
{
	kheap_fork_parent();
	percpu_fork_parent();
}

static inline void fork_hook_child(void)
{
	kheap_fork_child();
	percpu_fork_child();
}

/* A few blocks of one class into this hart's magazine. */
static inline void fork_cache_some(void)
{
	enum { SIZE = 64, N = 20 };
	void *b[N];
	kfree(kmalloc(SIZE)); /* the hart's first free of the class: the heap */
	for (int i = 0; i < N; i++)
		b[i] = kmalloc(SIZE);
	for (int i = 0; i < N; i++)
		kfree(b[i]);
}

static int fork_parked_ready, fork_parked_go;
static void (*fork_parked_setup)(void);

/*
 * Hart 1 of the parent: its setup, then parked (no allocator call, so it
 * answers no flush request) until fork_unpark_hart1; then it leaves.
 */
static inline void *fork_parked_hart1(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	fork_parked_setup();
	__atomic_store_n(&fork_parked_ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&fork_parked_go, __ATOMIC_ACQUIRE))
		usleep(1000);
	percpu_hart_exit();
	return NULL;
}

/* Starts hart 1's thread with setup; returns once it has run it and parked. */
static inline pthread_t fork_park_hart1(void (*setup)(void))
{
	fork_parked_setup = setup;
	pthread_t t;
	CHECK(pthread_create(&t, NULL, fork_parked_hart1, NULL) == 0);
	while (!__atomic_load_n(&fork_parked_ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	return t;
}

static inline void fork_unpark_hart1(pthread_t t)
{
	__atomic_store_n(&fork_parked_go, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
}

static int fork_child_ready, fork_child_stop;

/* Hart 1 of the child: caches, then answers requests (percpu_poll) until stopped. */
static inline void *fork_polling_hart1(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	fork_cache_some();
	__atomic_store_n(&fork_child_ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&fork_child_stop, __ATOMIC_ACQUIRE)) {
		percpu_poll(); /* "Honours a pending flush request for this hart." */
		usleep(100);
	}
	return NULL;
}

/*
 * In a fork child (hooks run): a polling hart 1 must answer a drain, which
 * then takes its cache back at once. Exits the child: 0 if so, else 1.
 */
static inline _Noreturn void fork_child_drain_check(void)
{
	alarm(20);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, fork_polling_hart1, NULL) == 0);
	while (!__atomic_load_n(&fork_child_ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	struct percpu_stats s0, s1;
	percpu_get_stats(1, &s0);
	uint64_t t0 = port_time_us();
	percpu_drain();
	uint64_t took = port_time_us() - t0;
	percpu_get_stats(1, &s1);
	size_t left = percpu_cached_bytes(1);
	__atomic_store_n(&fork_child_stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	printf("child: drain took %llu us; hart 1 flushes %llu -> %llu; still caches %zu bytes\n",
	       (unsigned long long)took, (unsigned long long)s0.flushes,
	       (unsigned long long)s1.flushes, left);
	bool ok = s1.flushes > s0.flushes && left == 0;
	if (!ok)
		printf("child: FAIL: the polling hart 1 never answered the drain's request\n");
	fflush(stdout);
	_exit(ok ? 0 : 1);
}

#endif
