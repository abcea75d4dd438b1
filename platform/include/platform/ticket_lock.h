/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Ticket spinlock: FIFO and fair, portable C11 atomics over the port contract.
 *
 * One 64-bit word: the low half is `owner` (the ticket now served), the high
 * half is `next` (the next ticket to hand out). Both halves live in one word
 * so trylock can take a ticket only when the lock is free with a single
 * compare-and-swap, and so every access has the same size (mixing 16-bit and
 * 32-bit atomics on one word, as OpenSBI does in assembly, is not C11).
 *
 *   lock:    t = fetch_add(word, 1 << 32)  (amoadd.d)   -> my ticket is t.next
 *            wait until load_acquire(word).owner == my ticket
 *   unlock:  fetch_add(word, +1), release; only the holder changes `owner`,
 *            and on wrap it adds 1 - 2^32 so no carry reaches `next`.
 *
 * Preconditions (as Linux's asm-generic/ticket_spinlock.h states them): fewer
 * than 2^32 waiters at once; the holder does not sleep; a lock shared with
 * interrupt handlers is taken with the _irqsave form.
 *
 * Waiting: the next in line spins on a plain load (calling port_wait_long()
 * every TICKET_LOCK_SPINS spins); waiters further back call port_wait_long()
 * between looks. Under QEMU's MTTCG with more harts than host cores a pure
 * spinner can hold the host core its lock holder needs (88 s for 4 harts on
 * 2 cores versus 6 s with the wait), while a lock whose next holder sleeps
 * pays a wakeup on every handover.
 */
#ifndef PLATFORM_TICKET_LOCK_H
#define PLATFORM_TICKET_LOCK_H

#include <platform/port.h>
#include <stdbool.h>
#include <stdint.h>

#ifndef TICKET_LOCK_SPINS
#define TICKET_LOCK_SPINS 128
#endif

typedef struct ticket_lock {
	uint64_t word; /* accessed only through __atomic builtins */
} ticket_lock_t;

#define TICKET_LOCK_INIT { 0 }

static inline void ticket_lock_init(ticket_lock_t *l)
{
	/* Relaxed: the lock is published to other harts by whatever publishes l. */
	__atomic_store_n(&l->word, 0, __ATOMIC_RELAXED);
}

/*
 * Takes the lock; returns how many times it had to spin (0 uncontended),
 * so callers can count contention without another shared counter.
 */
unsigned long ticket_lock(ticket_lock_t *l);

/* Takes the lock only if it is free now; true on success. */
bool ticket_trylock(ticket_lock_t *l);

void ticket_unlock(ticket_lock_t *l);

/* True if some hart holds the lock (a racy snapshot, for assertions). */
static inline bool ticket_is_locked(ticket_lock_t *l)
{
	/* Relaxed: only a hint; no data is read on its strength. */
	uint64_t w = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
	return (uint32_t)w != (uint32_t)(w >> 32);
}

/* The same with local interrupts masked first and restored after. */
static inline port_irqflags_t ticket_lock_irqsave(ticket_lock_t *l,
						  unsigned long *spins)
{
	port_irqflags_t flags = port_irq_save();
	unsigned long n = ticket_lock(l);
	if (spins)
		*spins += n;
	return flags;
}

static inline void ticket_unlock_irqrestore(ticket_lock_t *l,
					    port_irqflags_t flags)
{
	ticket_unlock(l);
	port_irq_restore(flags);
}

#endif /* PLATFORM_TICKET_LOCK_H */
