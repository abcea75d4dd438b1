// SPDX-License-Identifier: BSD-2-Clause
/* Ticket spinlock; the layout and orderings are explained in ticket_lock.h. */
#include <platform/ticket_lock.h>

#define NEXT_ONE ((uint64_t)1 << 32)

/*
 * Test-only fault: a lock that does not wait for its ticket. The lock torture
 * is built once with it to prove that it notices two harts inside.
 */
#ifdef TICKET_LOCK_BROKEN_FOR_TEST
#define WAIT_FOR_TICKET 0
#else
#define WAIT_FOR_TICKET 1
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

	if (!WAIT_FOR_TICKET)
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
		 * Only the next in line spins hard; the others sleep between
		 * looks, so they leave the (possibly shared) host core to the
		 * holder, and the handover does not wait for a wakeup.
		 */
		if ((uint32_t)(ticket - owner) > 1 || spins % TICKET_LOCK_SPINS == 0)
			port_wait_long();
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

	/* Release: the critical section's writes are visible to the next holder. */
	__atomic_fetch_add(&l->word, add, __ATOMIC_RELEASE);
}
