// SPDX-License-Identifier: BSD-2-Clause
/*
 * Host test of the ticket lock: pthreads as harts hammer one lock, check
 * mutual exclusion inside the critical section and that a non-atomic counter
 * guarded by it adds up; trylock and the owner wrap-around are checked too.
 */
#include <platform/ticket_lock.h>
#include <testing/check.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4
#define ITERS 200000

static ticket_lock_t lock = TICKET_LOCK_INIT;
static unsigned long counter;	/* guarded by lock, deliberately non-atomic */
static int inside;		/* guarded by lock */
static int violations;		/* atomic */
static unsigned long per_thread[THREADS];

static void *hammer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	port_host_become_hart(id);
	for (int i = 0; i < ITERS; i++) {
		port_irqflags_t f = ticket_lock_irqsave(&lock, NULL);
		if (++inside != 1)
			__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
		counter++;
		per_thread[id]++;
		inside--;
		ticket_unlock_irqrestore(&lock, f);
	}
	return NULL;
}


int main(void)
{
	pthread_t t[THREADS];

	for (unsigned i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)i) == 0);
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK(violations == 0);
	CHECK(counter == (unsigned long)THREADS * ITERS);
	CHECK(!ticket_is_locked(&lock));

	/* trylock: succeeds when free, fails while held, succeeds again after. */
	CHECK(ticket_trylock(&lock));
	CHECK(ticket_is_locked(&lock));
	CHECK(!ticket_trylock(&lock));
	ticket_unlock(&lock);
	CHECK(ticket_trylock(&lock));
	ticket_unlock(&lock);

	/* Wrap-around: owner and the ticket half of next go 2^32 - 1 -> 0. */
	ticket_lock_t w;
	ticket_lock_init(&w);
	__atomic_store_n(&w.owner, 0xffffffffu, __ATOMIC_RELAXED);
	__atomic_store_n(&w.next, 0xffffffffull, __ATOMIC_RELAXED);
	CHECK(!ticket_is_locked(&w));
	CHECK(ticket_lock(&w) == 0);
	CHECK(ticket_is_locked(&w));
	CHECK(!ticket_trylock(&w));
	ticket_unlock(&w);
	CHECK(__atomic_load_n(&w.owner, __ATOMIC_RELAXED) == 0);
	CHECK(__atomic_load_n(&w.next, __ATOMIC_RELAXED) == 0x100000000ull);
	CHECK(!ticket_is_locked(&w));
	CHECK(ticket_trylock(&w));
	CHECK(__atomic_load_n(&w.next, __ATOMIC_RELAXED) == 0x100000001ull);
	ticket_unlock(&w);
	CHECK(!ticket_is_locked(&w));

	printf("ticket_lock_test: PASS threads=%d iters=%d counter=%lu\n",
	       THREADS, ITERS, counter);
	return 0;
}
