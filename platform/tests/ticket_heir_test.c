// SPDX-License-Identifier: BSD-2-Clause
/*
 * The barging lock's heir (<platform/ticket_lock.h>, ticket_lock.c): a
 * polling waiter is overtaken by running threads that take a released lock
 * first, but once it has polled TICKET_LOCK_HEIR_POLLS times it reserves the
 * next release for itself. GREEDY threads take and drop the lock in a tight
 * loop; a late thread takes it VISITS times. Built with the host's poll
 * mode (PORT_HOST_NO_FENCE_HEAVY: the RISC-V ports' wait), so every waiter
 * polls. Checked: exclusion, and that in one of TRIALS trials no visit
 * waits more than WORST_MS, which holds only with the heir: heir_off
 * (TICKET_LOCK_HEIR_POLLS huge) is the same program, tagged manual, which
 * shows the waits without it.
 */
#include <platform/ticket_lock.h>
#include <testing/check.h>

#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define GREEDY 3
#define VISITS 150
#define WORST_MS 1000.0
/*
 * A poll is a sched_yield (port_wait_long), so both the heir's waits and
 * the starvation it prevents grow with what else runs: on an idle 2-core
 * machine heir_off's worst visit waited 6-18 ms (2026-12-05; 7 s once),
 * beside 3 CPU-bound loops 2,748-4,387 ms against the heir's 212-285 ms,
 * and under the whole of `bazel test //...` one trial with the heir waited
 * 1,953 ms. So the bound must hold in one of TRIALS trials.
 */
#define TRIALS 3

static ticket_lock_t lock = TICKET_LOCK_INIT;
static volatile unsigned long inside; /* under the lock */
static unsigned long counter;         /* under the lock */
static int stop;                      /* 1: the greedy threads stop */

static void critical(void)
{
	CHECK(inside++ == 0);
	counter++;
	/* Long against the gap between a greedy unlock and its next lock. */
	for (volatile int i = 0; i < 2000; i++)
		;
	inside--;
}

static void *greedy(void *arg)
{
	unsigned long *rounds = arg;
	port_host_become_hart(0);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		ticket_lock(&lock);
		critical();
		ticket_unlock(&lock);
		++*rounds;
	}
	return NULL;
}

/* One trial: fresh greedy threads, VISITS visits; the worst wait in ms. */
static double trial(void)
{
	pthread_t t[GREEDY];
	unsigned long rounds[GREEDY] = { 0 };
	counter = 0;
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < GREEDY; i++)
		CHECK(pthread_create(&t[i], NULL, greedy, &rounds[i]) == 0);
	usleep(20000);
	/*
	 * A visit's spins: TICKET_LOCK_SPINS looks, then one per poll, then
	 * the heir's looks (one port_wait_long per TICKET_LOCK_SPINS of them).
	 */
	double worst_ms = 0, total_ms = 0;
	for (int v = 0; v < VISITS; v++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		ticket_lock(&lock);
		clock_gettime(CLOCK_MONOTONIC, &b);
		critical();
		ticket_unlock(&lock);
		double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		total_ms += ms;
		if (ms > worst_ms)
			worst_ms = ms;
		usleep(100);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	unsigned long greedy_rounds = 0;
	for (int i = 0; i < GREEDY; i++) {
		pthread_join(t[i], NULL);
		greedy_rounds += rounds[i];
	}
	CHECK(counter == greedy_rounds + VISITS);
	printf("ticket_heir_test: %d visits among %d greedy threads (%lu rounds): "
	       "wait mean %.3f ms, worst %.3f ms (heir after %d polls)\n", VISITS, GREEDY,
	       greedy_rounds, total_ms / VISITS, worst_ms, TICKET_LOCK_HEIR_POLLS);
	return worst_ms;
}

int main(void)
{
	for (int i = 0; i < TRIALS; i++) {
		if (trial() <= WORST_MS) {
			printf("ticket_heir_test: PASS\n");
			return 0;
		}
	}
	CHECK(!"every trial's worst wait exceeded WORST_MS");
	return 1;
}
