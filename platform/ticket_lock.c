// SPDX-License-Identifier: BSD-2-Clause
/* Ticket spinlock; the layout and orderings are explained in ticket_lock.h. */
#include <platform/fault.h>
#include <platform/ticket_lock.h>

#define NEXT_ONE ((uint64_t)1 << 32)

/* The fetch_add found owner == our ticket: the lock was free. */
static inline bool likely_free(uint64_t old, uint32_t ticket)
{
	return __builtin_expect((uint32_t)old == ticket, 1);
}

/*
 * Test-only fault FAULT_BROKEN_LOCK: a lock that does not wait for its
 * ticket. The lock torture and the stress are built once with it to prove
 * that they notice two harts inside.
 */
#define WAIT_FOR_TICKET (FAULT != FAULT_BROKEN_LOCK)

#if PORT_WAIT_ON_WAKES
/* The futex word ticket t sleeps on; its key is t % 32. */
static inline uint32_t *wake_word(ticket_lock_t *l, uint32_t t)
{
	return &l->wake[(t / 32) % TICKET_WAKE_WORDS];
}

/* Sleeps until the owner moves towards us (or spuriously). */
static void ticket_sleep(ticket_lock_t *l, uint32_t ticket)
{
	uint32_t *w = wake_word(l, ticket);
	/* seq_cst: the sleeper's half of the Dekker pair (ticket_lock.h). */
	__atomic_fetch_add(&l->sleepers, 1, __ATOMIC_SEQ_CST);
	uint32_t gen = __atomic_load_n(w, __ATOMIC_SEQ_CST);
	uint32_t owner = (uint32_t)__atomic_load_n(&l->word, __ATOMIC_SEQ_CST);
	/* Not our turn: sleep, unless an unlock bumped `gen` since we read it. */
	if (owner != ticket)
		port_wait_on(w, gen, ticket % 32);
	/* Relaxed: only lets later unlocks skip the wake; orders nothing. */
	__atomic_fetch_sub(&l->sleepers, 1, __ATOMIC_RELAXED);
}

/* After an unlock made `owner` the owner: wake it and the next in line. */
static void ticket_wake(ticket_lock_t *l, uint32_t owner)
{
	uint32_t *w = wake_word(l, owner), *w2 = wake_word(l, owner + 1);
	uint32_t k = 1u << (owner % 32), k2 = 1u << ((owner + 1) % 32);
	/* seq_cst: a sleeper that read the old value is refused its sleep. */
	__atomic_fetch_add(w, 1, __ATOMIC_SEQ_CST);
	if (w2 != w) {
		__atomic_fetch_add(w2, 1, __ATOMIC_SEQ_CST);
		port_wake(w2, k2);
		k2 = 0;
	}
	port_wake(w, k | k2);
}
#else
static void ticket_sleep(ticket_lock_t *l, uint32_t ticket)
{
	(void)ticket;
	/* A bounded wait: returns by itself (PORT_WAIT_ON_WAKES 0). */
	port_wait_on((const uint32_t *)&l->word,
		     (uint32_t)__atomic_load_n(&l->word, __ATOMIC_RELAXED), 0);
}
#endif

unsigned long ticket_lock(ticket_lock_t *l)
{
	/*
	 * Acquire: if the lock was free, this RMW is the acquisition, and the
	 * critical section must not move above it.
	 */
	uint64_t old = __atomic_fetch_add(&l->word, NEXT_ONE, __ATOMIC_ACQUIRE);
	uint32_t ticket = (uint32_t)(old >> 32);
	unsigned long spins = 0;

	if (!WAIT_FOR_TICKET || likely_free(old, ticket))
		return 0;
	/*
	 * Acquire on the load that sees our ticket served: pairs with the
	 * release in ticket_unlock(), so the previous holder's writes are seen.
	 */
	for (;;) {
		uint32_t owner = (uint32_t)__atomic_load_n(&l->word, __ATOMIC_ACQUIRE);
		if (owner == ticket)
			return spins;
		spins++;
		/*
		 * Only the next in line spins, and only for a while; the others
		 * sleep, so they leave the (possibly shared) host core to the
		 * holder, and the handover does not wait for a wakeup.
		 */
		if ((uint32_t)(ticket - owner) > 1 || spins % TICKET_LOCK_SPINS == 0)
			ticket_sleep(l, ticket);
		else
			port_cpu_relax();
	}
}

bool ticket_trylock(ticket_lock_t *l)
{
	/* Relaxed: the CAS below carries the ordering. */
	uint64_t old = __atomic_load_n(&l->word, __ATOMIC_RELAXED);

	if ((uint32_t)old != (uint32_t)(old >> 32))
		return false;
	/* Acquire on success: the critical section starts after the CAS. */
	return __atomic_compare_exchange_n(&l->word, &old, old + NEXT_ONE, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void ticket_unlock(ticket_lock_t *l)
{
	/* Relaxed: only the holder writes `owner`, so it reads its own value. */
	uint32_t owner = (uint32_t)__atomic_load_n(&l->word, __ATOMIC_RELAXED);
	/* Adding 1 - 2^32 on wrap cancels the carry into `next`. */
	uint64_t add = owner == UINT32_MAX ? 1 - NEXT_ONE : 1;

#if !PORT_WAIT_ON_WAKES
	/* Release: the critical section's writes reach the next holder. */
	__atomic_fetch_add(&l->word, add, __ATOMIC_RELEASE);
#else
	/*
	 * Release, as above; seq_cst for the unlocker's half of the Dekker pair
	 * with ticket_sleep (on x86 the same lock xadd, on others a fence).
	 */
	__atomic_fetch_add(&l->word, add, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&l->sleepers, __ATOMIC_SEQ_CST))
		ticket_wake(l, owner + 1);
#endif
}
