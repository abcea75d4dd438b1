// SPDX-License-Identifier: BSD-2-Clause
/*
 * The barging lock in a process with one thread (port_alone,
 * <platform/port.h>), where ticket_lock_take uses a load and a store
 * instead of a CAS:
 *  1. the port says alone before any thread exists, and the lock taken
 *     that way is held: trylock fails, unlock frees it;
 *  2. a lock held alone across pthread_create stays held for the new
 *     thread (its trylock fails, its lock waits for our unlock), and the
 *     port says not alone from pthread_create on, so from then both
 *     threads take the lock with the CAS;
 *  3. two threads then hammer the lock: exclusion and a non-atomic count.
 * Were port_alone still true with two threads, step 2's check fails (seen
 * with port_alone() returning true always, when //platform:ticket_crowd_test
 * also found threads inside the lock together).
 */
#include <platform/ticket_lock.h>
#include <testing/check.h>

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define ITERS 2000000

static ticket_lock_t lock = TICKET_LOCK_INIT;
static unsigned long counter; /* guarded by lock, deliberately non-atomic */
static int inside;            /* guarded by lock */
static int violations;        /* atomic */
static int tried;             /* atomic: the late thread's trylock came back */

static void hammer(void)
{
	for (int i = 0; i < ITERS; i++) {
		ticket_lock(&lock);
		if (++inside != 1)
			__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
		counter++;
		inside--;
		ticket_unlock(&lock);
	}
}

static void *late_thread(void *arg)
{
	(void)arg;
	/* Release: main reads `tried` and then unlocks. */
	__atomic_store_n(&tried, ticket_trylock(&lock) ? 2 : 1, __ATOMIC_RELEASE);
	ticket_lock(&lock); /* waits for main's unlock */
	counter++;
	ticket_unlock(&lock);
	hammer();
	return NULL;
}

int main(void)
{
	/* 1. Alone: the lock by load and store still excludes. */
	CHECK(port_alone());
	CHECK_EQ(ticket_lock(&lock), 0);
	CHECK(ticket_is_locked(&lock));
	CHECK(!ticket_trylock(&lock));
	ticket_unlock(&lock);
	CHECK(!ticket_is_locked(&lock));

	/* 2. Held alone across pthread_create. */
	ticket_lock(&lock);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, late_thread, NULL) == 0);
	CHECK(!port_alone());
	/* Acquire: pairs with the late thread's store. */
	while (!__atomic_load_n(&tried, __ATOMIC_ACQUIRE))
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	CHECK_EQ(__atomic_load_n(&tried, __ATOMIC_ACQUIRE), 1);
	counter++;
	ticket_unlock(&lock);

	/* 3. Two threads, both past the alone path. */
	hammer();
	pthread_join(t, NULL);
	CHECK_EQ(violations, 0);
	CHECK_EQ(counter, 2ul * ITERS + 2);
	CHECK(!ticket_is_locked(&lock));
	printf("ticket_alone_test: PASS counter=%lu\n", counter);
	return 0;
}
