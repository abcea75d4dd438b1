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
 * Waiting: the next in line spins on a plain load for TICKET_LOCK_SPINS
 * looks, then sleeps; waiters further back sleep at once. Sleeping is
 * port_wait_on() on the `owner` half, keyed by the waiter's ticket mod 32:
 *   - RISC-V (PORT_WAIT_ON_WAKES 0): a bounded wfi wait (port_wait_long).
 *     Under QEMU's MTTCG with more harts than host cores a pure spinner can
 *     hold the host core its lock holder needs (88 s for 4 harts on 2 cores
 *     versus 6 s with the wait).
 *   - Host (PORT_WAIT_ON_WAKES 1): a futex. Ticket t sleeps on the word
 *     wake[(t / 32) % TICKET_WAKE_WORDS] with key t % 32, so the 1,024
 *     tickets after the owner each have a (word, key) of their own: an
 *     unlock wakes exactly the new owner (if it slept) and the one after it
 *     (who then spins, so the next handover does not wait for a wakeup),
 *     never a crowd (with keys alone, 1,000 waiters share 32 keys, and
 *     every unlock woke about 60 of them for nothing). The unlocker bumps
 *     that wake word before waking, so a sleeper that read the word before
 *     the owner moved cannot sleep through it. Sleepers count themselves in
 *     `sleepers` first, so an unlock with nobody asleep makes no system
 *     call. With hundreds of threads on two cores the waiters cost no CPU;
 *     the old sched_yield wait made every handover wait for the scheduler
 *     to reach the one thread holding the next ticket (issue 10).
 *   Dekker pair: the sleeper increments `sleepers` (seq_cst), then reads its
 *   wake word, then `owner`; the unlocker's seq_cst RMW on the word comes
 *   before its seq_cst load of `sleepers` and its bump of the wake word. So
 *   either the sleeper sees the new owner (no sleep), or its wake word moved
 *   (the kernel refuses the sleep), or the unlocker sees it and wakes it.
 * Uncontended, an acquire and release is two atomic RMWs and two plain loads
 * (`bazel run //platform:lock_bench`).
 */
#ifndef PLATFORM_TICKET_LOCK_H
#define PLATFORM_TICKET_LOCK_H

#include <platform/port.h>
#include <stdbool.h>
#include <stdint.h>

#ifndef TICKET_LOCK_SPINS
#define TICKET_LOCK_SPINS 128
#endif

/* Futex words per lock on ports whose waits sleep: 32 tickets share one. */
#ifndef TICKET_WAKE_WORDS
#define TICKET_WAKE_WORDS 32
#endif

typedef struct ticket_lock {
	uint64_t word;     /* accessed only through __atomic builtins */
#if PORT_WAIT_ON_WAKES
	uint32_t sleepers; /* waiters inside port_wait_on */
	uint32_t wake[TICKET_WAKE_WORDS]; /* bumped by unlocks that wake */
#endif
} ticket_lock_t;

#define TICKET_LOCK_INIT { 0 }

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the owner half is the word's first 32 bits");

static inline void ticket_lock_init(ticket_lock_t *l)
{
	/* Relaxed: the lock is published to other harts by whatever publishes l. */
	__atomic_store_n(&l->word, 0, __ATOMIC_RELAXED);
#if PORT_WAIT_ON_WAKES
	__atomic_store_n(&l->sleepers, 0, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < TICKET_WAKE_WORDS; i++)
		__atomic_store_n(&l->wake[i], 0, __ATOMIC_RELAXED);
#endif
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
