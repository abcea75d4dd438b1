// SPDX-License-Identifier: BSD-2-Clause
/*
 * The ticket lock with far more threads than cores (issue 10), and the
 * port_wait_on / port_wake primitive under it:
 *
 *  1. A sleeper on key 3 stays asleep through a wake of key 4 (no crowd
 *     wakes), and wakes on key 3 once the word has moved.
 *  2. A sleeper whose word already moved does not sleep (no lost wakeup).
 *  3. CROWD threads (1,000, on a 2-core machine) each take the lock ROUNDS
 *     times around a short critical section; exclusion and the count are
 *     checked. With the old wait (sched_yield between looks, no sleeping)
 *     each handover waited for the scheduler to reach the one thread holding
 *     the next ticket: this phase then did not finish within the test's
 *     timeout. Waiters now sleep on a futex and the unlock wakes only the
 *     next ticket's sleepers. It prints its wall time and the CPU time spent,
 *     which a crowd that spins or yields drives far above the wall time.
 *     Built three times: on the host's barging lock (ticket_crowd_test), on
 *     it with a host that has no heavy fence, whose waiters poll instead of
 *     sleeping (ticket_crowd_poll_test, PORT_HOST_NO_FENCE_HEAVY), and on
 *     the FIFO ticket lock with futex sleepers (ticket_crowd_fifo_test).
 */
#include <platform/ticket_lock.h>
#include <testing/check.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef CROWD
#define CROWD 1000
#endif
#ifdef PORT_HOST_NO_FENCE_HEAVY
#define HOST_NO_FENCE_HEAVY 1
#else
#define HOST_NO_FENCE_HEAVY 0
#endif
#define ROUNDS 100
#ifndef CS_WORK
#define CS_WORK 500
#endif

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* ---- 1, 2: port_wait_on / port_wake --------------------------------- */

static uint32_t word;
static int woke; /* atomic */

static void *sleeper(void *arg)
{
	(void)arg;
	/* Acquire: pairs with the main thread's release store of word. */
	while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == 0)
		port_wait_on(&word, 0, 3);
	__atomic_store_n(&woke, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_keys(void)
{
	pthread_t t;
	CHECK(pthread_create(&t, NULL, sleeper, NULL) == 0);
	usleep(50000);
	port_wake(&word, 1u << 4); /* another key: must not wake it */
	usleep(50000);
	CHECK(!__atomic_load_n(&woke, __ATOMIC_ACQUIRE));
	__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
	port_wake(&word, 1u << 3);
	pthread_join(t, NULL);
	CHECK(__atomic_load_n(&woke, __ATOMIC_ACQUIRE));

	/* The word moved before the call: returns at once. */
	port_wait_on(&word, 0, 5);
}

/* ---- 3: the crowd ---------------------------------------------------- */

static ticket_lock_t lock = TICKET_LOCK_INIT;
static unsigned long counter; /* guarded by lock, deliberately non-atomic */
static int inside;            /* guarded by lock */
static int violations;        /* atomic */
static uint32_t go;           /* atomic: start line */

static void *crowd(void *arg)
{
	(void)arg;
	/* Asleep until the last thread exists (polling would starve creation). */
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		port_wait_on(&go, 0, 0);
	for (int i = 0; i < ROUNDS; i++) {
		port_irqflags_t f = ticket_lock_irqsave(&lock, NULL);
		if (++inside != 1)
			__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
		/* A critical section the compiler cannot fold: ~1 us. */
		for (int k = 0; k < CS_WORK; k++) {
			counter++;
			__asm__ volatile("" ::: "memory");
		}
		inside--;
		ticket_unlock_irqrestore(&lock, f);
	}
	return NULL;
}

static void test_crowd(void)
{
	static pthread_t t[CROWD];
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 << 10);
	for (unsigned i = 0; i < CROWD; i++)
		CHECK(pthread_create(&t[i], &a, crowd, NULL) == 0);
	double t0 = now(), c0 = cpu_seconds();
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	port_wake(&go, 1u);
	for (unsigned i = 0; i < CROWD; i++)
		pthread_join(t[i], NULL);
	double wall = now() - t0, cpu = cpu_seconds() - c0;
	CHECK(violations == 0);
	CHECK_EQ(counter, (unsigned long)CS_WORK * CROWD * ROUNDS);
	CHECK(!ticket_is_locked(&lock));
	/* Nobody still counted as a sleeper (a poller never is). */
	CHECK_EQ(__atomic_load_n(&lock.sleepers, __ATOMIC_RELAXED), 0);
#if TICKET_LOCK_BARGES
	/*
	 * The crowd slept through the heavy fence (membarrier), or, on a host
	 * built without it (ticket_crowd_poll_test), polled.
	 */
	CHECK_EQ(port_fence_heavy_works(), !HOST_NO_FENCE_HEAVY);
	CHECK_EQ(__atomic_load_n(&lock.waking, __ATOMIC_RELAXED), 0);
#endif
	printf("ticket_crowd_test: %s lock%s, %d threads x %d acquisitions: wall %.2f s, cpu %.2f s\n",
	       TICKET_LOCK_BARGES ? "barging" : "FIFO",
	       TICKET_LOCK_BARGES && HOST_NO_FENCE_HEAVY ? " (waiters poll)" : "", CROWD, ROUNDS,
	       wall, cpu);
}

int main(void)
{
	test_keys();
	test_crowd();
	printf("ticket_crowd_test: PASS\n");
	return 0;
}
