/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The spinlock that guards what harts share. Two implementations of one API:
 * by default a barging lock (TICKET_LOCK_BARGES below: a released lock goes
 * to whoever runs; waiters sleep on a futex on the host, poll on RISC-V, and
 * a poller overtaken too long reserves the next release); with
 * TICKET_LOCK_BARGES=0 the FIFO ticket lock described first here, which
 * is fair but hands each release to one particular waiter.
 *
 * Two counters in one cache line: `next` (64 bits, the tickets handed out,
 * taken with an atomic add) and `owner` (32 bits, the ticket now served,
 * written only by the holder). A ticket is the low 32 bits of `next`.
 *
 *   lock:    t = (u32)fetch_add(next, 1)            (amoadd.d / lock xadd)
 *            wait until load_acquire(owner) == t
 *   unlock:  store_release(owner, owner + 1)        (fence rw,w; sw / mov)
 *   trylock: n = load(next); o = load_acquire(owner); if (u32)n == o,
 *            CAS(next, n -> n + 1). Only the holder moves `owner`, and
 *            owner <= next, so if `next` still reads n at the CAS nobody
 *            held or waited for the lock and `owner` is still o: the ticket
 *            taken is the one being served. `next` is 64 bits so that it
 *            cannot come back to n in between (it would take 2^64 tickets).
 *   `owner` wraps at 2^32 like the low half of `next`; nothing carries.
 *
 * The release is a plain store, not an atomic RMW (issue 14). On x86 a
 * locked RMW waits until every earlier store has left the store buffer, so
 * the old release (lock xadd on the shared word, then a load of `sleepers`
 * ordered after it) made each call wait for the critical section's stores
 * to cache lines it had just dirtied (tags, links, footers of blocks that
 * are often cold): talc's microbenchmark, which times every alloc and free
 * alone, measured the core at p50 231 rdtsc ticks and the core behind this
 * lock at 504. A release store lets those stores drain after the call, as
 * a pthread spinlock's unlock does.
 *
 * Preconditions (as Linux's asm-generic/ticket_spinlock.h states them): fewer
 * than 2^32 waiters at once; the holder does not sleep; a lock shared with
 * interrupt handlers is taken with the _irqsave form.
 *
 * Waiting: the next in line spins on a plain load for TICKET_LOCK_SPINS
 * looks, then waits (RISC-V) or yields the CPU (host: port_wait_long) and
 * spins again; waiters further back sleep at once. Sleeping is
 * port_wait_on() on `owner` (RISC-V) or a wake word (host), keyed by the waiter's ticket mod 32:
 *   - RISC-V (PORT_WAIT_ON_WAKES 0): a bounded wfi wait (port_wait_long).
 *     Under QEMU's MTTCG with more harts than host cores a pure spinner can
 *     hold the host core its lock holder needs (88 s for 4 harts on 2 cores
 *     versus 6 s with the wait). Sleeping until the unlocker sends an IPI
 *     (port_wake scanning the harts, SBI send_ipi) was tried and measured
 *     slower under QEMU: `qemu_smp --smp 8 --ops 20000` 35 s against 28 s
 *     (an IPI is an M-mode trap and an MMIO write in QEMU), mixed at 16
 *     and 32 harts.
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
 *   Dekker pair, needed only by an unlock that saw tickets beyond its own
 *   (next != owner + 1 after its store): such an unlock, after its store to
 *   `owner`, reads `sleepers` with a seq_cst RMW (adding 0); the sleeper
 *   increments `sleepers` (seq_cst), then reads its wake word, then `owner`.
 *   So either the sleeper's increment reads from the unlocker's RMW and
 *   then sees the new owner (no sleep), or its wake word moved (the kernel
 *   refuses the sleep), or the unlocker sees it and wakes it. An unlock
 *   that saw no ticket beyond its own skips the RMW: a
 *   ticket taken at that moment belongs to the next in line, who may read
 *   the old `owner` for a while, and the next in line never sleeps on the
 *   futex (it spins, then yields with port_wait_long), so it sees the store
 *   when it lands. Waiters further back sleep, and are woken by the unlock
 *   that brings them within one of the owner, which saw their ticket (they
 *   took it before the holder of the ticket ahead of them acquired, or that
 *   holder sees it as a ticket beyond its own). This last step relies on
 *   the host's stores reaching all cores in one order (x86-TSO, and the
 *   other-multi-copy-atomic ARMv8); the Spin model
 *   (tests/models/ticket_lock.pml) checks the counters, not the futex path.
 * Uncontended, an acquire and release is one atomic RMW, one load and one
 * store, plus a load of `next` (`bazel run //platform:lock_bench`,
 * `bazel run //heap:bench`'s h+lock rows).
 */
#ifndef PLATFORM_TICKET_LOCK_H
#define PLATFORM_TICKET_LOCK_H

#include <platform/port.h>
#include <stdbool.h>
#include <stdint.h>

#ifndef TICKET_LOCK_SPINS
#define TICKET_LOCK_SPINS 128
#endif

/*
 * Looks the barging lock's waiter makes for a free lock before it counts
 * itself a sleeper, on ports whose waits sleep (PORT_WAIT_ON_WAKES: the
 * host's futex). Sleeping costs a membarrier (the first sleeper's fence)
 * and two futex calls, more than most critical sections (a refill's batch
 * from the heap). thread_bench, medians of 11 alternating runs on 2 cores,
 * 128 looks against 512: 1 to 8 threads the same, 64 threads 101.6 against
 * 118.8 Mops, 256 threads 55.1 against 77.2, 1,000 threads 39.5 against
 * 43.0. 2048 gained more at 2 to 256 threads but lost 12% at 1,000, where
 * the spinners hold the cores that descheduled holders need. Ports that
 * poll keep TICKET_LOCK_SPINS: a RISC-V hart that spins holds the host
 * core its lock's holder may need under QEMU.
 */
#ifndef TICKET_LOCK_SLEEP_SPINS
#define TICKET_LOCK_SLEEP_SPINS (PORT_WAIT_ON_WAKES ? 512 : TICKET_LOCK_SPINS)
#endif

/*
 * Then, on the same ports, looks with the CPU given back between them
 * (port_wait_long: sched_yield) before the waiter counts itself a sleeper.
 * A sleeper that starts a busy spell fences every CPU that runs one of our
 * threads (port_fence_heavy: membarrier's IPIs; 30-40 us each in this VM,
 * and it interrupts the threads that were working); with more threads than
 * cores a holder is often descheduled for a while, and spells came and
 * went 45-54 times in a 35 ms run at 8 threads. A yield lets the holder
 * run without that. thread_bench, medians of 21 alternating runs on 2
 * cores in one run, none / 128 / 512 / 2048 yields (sleepers registered at
 * load in all, <platform/host/wait_host.c>): 2 threads 112.8 / 115.4 /
 * 116.3 / 118.1 Mops, 8 threads 98.8 / 105.7 / 110.2 / 110.1, 64 threads
 * 75.3 / 77.3 / 85.7 / 86.3, 256 threads 29.7 / 46.4 / 39.6 / 36.7, 1,000
 * threads 22.0 / 27.3 / 28.2 / 29.7. The machine is shared: across such
 * runs 128 and 2048 each lost somewhere, 512 nowhere.
 * Ports that poll (no sleepers) poll in poll_for_lock instead.
 */
#ifndef TICKET_LOCK_SLEEP_YIELDS
#define TICKET_LOCK_SLEEP_YIELDS (PORT_WAIT_ON_WAKES ? 512 : 0)
#endif

/* Futex words per lock on ports whose waits sleep: 32 tickets share one. */
#ifndef TICKET_WAKE_WORDS
#define TICKET_WAKE_WORDS 32
#endif

/*
 * TICKET_LOCK_BARGES: 1 (the default, every port), or 0 for the FIFO ticket
 * lock above. With more threads or harts than cores, FIFO order is what
 * collapses: each handover goes to one particular waiter, which is usually
 * not running, so every acquisition waits for the scheduler (or, under
 * QEMU, for a vCPU in wfi) to wake and run it. In the kernel on QEMU, 2
 * host cores: `bazel run //tests:qemu_smp` (4 harts) took 28 s with the FIFO
 * lock and 2.9 s barging, 38 M spins against 2.4 M; `-- --smp 8` 146 s
 * against 3.2 s.
 * Measured with thread_bench (tools/bench), 8 threads on 2 cores: every call
 * through the lock (the shim's SMPHEAP_MODE=bypass) 0.06-0.07 Mops FIFO with
 * futex sleepers against 3.2-3.6 barging; a 2 MiB cache budget (most classes
 * uncached) 0.11 against 4.5-6.9; the default shim 25-56 against 72-76; and
 * 1,000 threads x 100 acquisitions (//platform:ticket_crowd_test) 1.29 s
 * against 0.10 s. So on such ports the lock is a futex mutex that lets a
 * running waiter take it first (Drepper's "Futexes are tricky", with the
 * waiters counted apart from the lock word):
 *
 *   state:    0 free, 1 held
 *   sleepers: waiters that may be asleep on `state` (or about to be)
 *   waking:   1 while a woken sleeper has not yet looked at the lock,
 *             2 if an unlock skipped its wake meanwhile
 *   lock:     CAS(state, 0 -> 1); else spin TICKET_LOCK_SLEEP_SPINS looks for 0,
 *             then TICKET_LOCK_SLEEP_YIELDS looks with a yield before each,
 *             then sleepers += 1 (the first sleeper of a busy spell, from
 *             0, also calls port_fence_heavy()), and CAS(state, 0 -> 1)
 *             until it succeeds, sleeping on the word (port_wait_on, value
 *             1) between tries and clearing `waking` after each sleep;
 *             then sleepers -= 1
 *   unlock:   store_release(state, 0); compiler barrier; if sleepers != 0:
 *             read `waking` with a locked RMW; if 0, CAS it to 1 and
 *             port_wake_one(state); if that found nobody asleep, exchange
 *             it with 0 and, if it was 2, all again; if 1, CAS it to 2
 *             (this unlock skipped); if 2, nothing
 *
 * The release is a plain store, as in the FIFO lock (see above for what a
 * locked RMW costs on x86). With Drepper's exchange(state, 0) the core's
 * microbenchmark measured p50 441 ticks behind the lock against 210 without
 * it; with this store 252-273 (`bazel run -c opt //heap:bench`; the CAS
 * that acquires still waits for the store buffer). A store then a load of another word needs a StoreLoad
 * fence to be a Dekker half, and that fence costs what the RMW did; so the
 * sleepers pay for both sides (an asymmetric Dekker pair, as liburcu and
 * folly's asymmetric fences do): port_fence_heavy() (Linux membarrier,
 * private expedited) runs a full fence on every CPU that runs one of our
 * threads. Either an unlocker's store of 0 preceded that fence on its CPU,
 * and is seen by the sleeper's CAS or by the kernel's check in port_wait_on
 * (which then refuses the sleep), or its load of `sleepers` follows the
 * fence, and sees the sleeper and wakes one (port_wake_one fences before it
 * looks for sleepers, as the contract's port_wake does). Each sleep reads a
 * 1 that some holder wrote and had not yet released at the fence, so that
 * holder's unlock is of the second kind. Only the first sleeper of a spell
 * in which `sleepers` stays above 0 fences: an unlock that read 0 did so
 * before that sleeper's count, so its store is seen after that sleeper's
 * fence, which returns before that sleeper takes the lock; until then the
 * later sleepers' wakes come from that sleeper's own unlock, or from a
 * holder whose load follows its fence.
 *
 * One wake in flight at a time (`waking`): without it every unlock while
 * anyone slept made a system call and woke another thread, which halved
 * thread_bench at 64 to 1,000 threads (26 Mops against 50 at 64). An unlock
 * that skips its wake for a wake in flight has its store in memory first
 * (the locked read of `waking`), so the sleeper that clears `waking` and
 * then looks at `state` sees it; a skip while the wake has found nobody
 * yet is noted (`waking` 2), and that wake, finding nobody, clears
 * `waking` and wakes again for it. (It used to spin instead until a
 * counted sleeper took the lock or left: 17% of thread_bench's CPU time at
 * 2 threads.) tests/models/barging_lock.pml checks all of this on x86-TSO
 * store buffers, and finds the lost wakeup without the first sleeper's fence,
 * without the locked read, or without the wake again for a noted skip.
 * A port without the heavy fence (the RISC-V ports, whose port_fence_heavy
 * returns false; a host with an old kernel or a seccomp filter) keeps the
 * waiters awake instead: they give the CPU back (port_wait_long: wfi for
 * ~20 us on RISC-V, sched_yield on the host) between looks and are not
 * counted as sleepers.
 *
 * Fair it is not, but pollers are bounded: a poller that has looked
 * TICKET_LOCK_HEIR_POLLS times becomes the lock's heir (one at a time,
 * `heir`) and sets TICKET_LOCK_HEIR in `state` while the lock is held; the
 * unlock keeps that bit (it loads `state` before its store), and a state of
 * HEIR alone is free but taken only by the heir (every other acquire is a
 * CAS from 0). An unlock that loaded `state` just before the heir set its
 * bit drops it; the lock is then free, and the heir takes it or sets the
 * bit again. //platform:ticket_heir_test: a late thread among three that
 * lock in a tight loop waited at most 103 ms (host polls are sched_yield)
 * against 7.1 s without the heir (:ticket_heir_off). Sleepers on the host
 * have no such bound (a thread that unlocks and locks again can keep
 * winning while the woken one is scheduled); there throughput with any
 * number of threads is what matters. The uncontended cost is a CAS, a load
 * and a store, and a load of `sleepers` (`bazel run -c opt
 * //platform:lock_bench`, and the h+lock rows of `bazel run -c opt
 * //heap:bench`); in a process with one thread (port_alone) the CAS is a
 * load and a store (ticket_lock_take, //platform:ticket_alone_test).
 * //platform:ticket_lock_test and the crowd test also run
 * the FIFO lock on the host (:ticket_lock_fifo, TICKET_LOCK_BARGES=0).
 */
#ifndef TICKET_LOCK_BARGES
#define TICKET_LOCK_BARGES 1
#endif

/*
 * Polls a poller makes (port_wait_long between them) before it becomes the
 * lock's heir (below): on RISC-V each is a ~20 us wfi, so about 1.3 ms.
 */
#ifndef TICKET_LOCK_HEIR_POLLS
#define TICKET_LOCK_HEIR_POLLS 64
#endif

#if TICKET_LOCK_BARGES
/* `state`: bit 0 held; bit 1 the next release is reserved for the heir. */
#define TICKET_LOCK_HELD 1u
#define TICKET_LOCK_HEIR 2u

typedef struct ticket_lock {
	uint32_t state;    /* TICKET_LOCK_HELD | TICKET_LOCK_HEIR */
	uint32_t sleepers; /* waiters that may sleep on `state` */
	uint32_t waking;   /* TICKET_WAKE_IN_FLIGHT or _SKIPPED, else 0 */
	uint32_t heir;     /* 1 while a poller is the heir */
} ticket_lock_t;

#define TICKET_LOCK_INIT { 0 }

/* `waking`: a woken sleeper has not looked yet; and an unlock skipped its wake. */
#define TICKET_WAKE_IN_FLIGHT 1u
#define TICKET_WAKE_SKIPPED 2u

static inline void ticket_lock_init(ticket_lock_t *l)
{
	/* Relaxed: the lock is published to other threads by whatever publishes l. */
	__atomic_store_n(&l->state, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->sleepers, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->waking, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->heir, 0, __ATOMIC_RELAXED);
}

/* Out of line: the contended half of ticket_lock, and the unlock's wake. */
unsigned long ticket_lock_contended(ticket_lock_t *l);
void ticket_unlock_wake(ticket_lock_t *l);

/*
 * Free -> held in one step; true if this call took the lock. A process with
 * one thread (port_alone) takes it with a load and a store: the CAS's
 * locked RMW waits for the store buffer to drain, which is what the lock
 * added to talc's microbenchmark (issue 14; the `h+spin` row of
 * //heap:bench shows any locked RMW adds as much). Nothing else can move
 * `state` meanwhile, and a thread created later sees the store (its
 * creation orders it). The compiler barrier keeps the critical section
 * after the store for signal handlers' sake; no CPU fence is needed.
 */
static inline bool ticket_lock_take(ticket_lock_t *l)
{
	uint32_t unlocked = 0;
	if (PORT_KNOWS_ALONE && port_alone()) {
		/* Relaxed: no other thread exists to order against. */
		if (__atomic_load_n(&l->state, __ATOMIC_RELAXED) != unlocked)
			return false;
		__atomic_store_n(&l->state, TICKET_LOCK_HELD, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_ACQUIRE);
		return true;
	}
	/*
	 * Acquire on success: pairs with the release in ticket_unlock(), so
	 * the previous holder's writes are seen. Relaxed on failure.
	 */
	return __atomic_compare_exchange_n(&l->state, &unlocked, 1, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

/* Takes the lock; returns how many times it had to spin (0 uncontended). */
static inline unsigned long ticket_lock(ticket_lock_t *l)
{
	if (__builtin_expect(ticket_lock_take(l), 1))
		return 0;
	return ticket_lock_contended(l);
}

static inline void ticket_unlock(ticket_lock_t *l)
{
	/*
	 * Relaxed: only the holder clears HELD; the heir's bit may be set
	 * after this load, and the store then drops it (the lock is free:
	 * the heir takes it or sets its bit again).
	 */
	uint32_t heir = __atomic_load_n(&l->state, __ATOMIC_RELAXED) & TICKET_LOCK_HEIR;
	/* Release: the critical section's writes reach the next holder. */
	__atomic_store_n(&l->state, heir, __ATOMIC_RELEASE);
	/*
	 * Relaxed, kept after the store by a compiler barrier only: the CPU may
	 * still read `sleepers` before the store leaves its store buffer; the
	 * first sleeper's port_fence_heavy() orders the pair (above).
	 */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(__atomic_load_n(&l->sleepers, __ATOMIC_RELAXED) != 0, 0))
		ticket_unlock_wake(l);
}

/* True if some thread holds the lock (a racy snapshot, for assertions). */
static inline bool ticket_is_locked(ticket_lock_t *l)
{
	/* Relaxed: only a hint; no data is read on its strength. */
	return __atomic_load_n(&l->state, __ATOMIC_RELAXED) & TICKET_LOCK_HELD;
}

/* For reports: no tickets here; owner 0, next 1 while held. */
static inline void ticket_lock_peek(const ticket_lock_t *l, uint32_t *owner,
				    uint32_t *next)
{
	*owner = 0;
	/* Relaxed: a report's snapshot; nothing is read on its strength. */
	*next = __atomic_load_n(&l->state, __ATOMIC_RELAXED) & TICKET_LOCK_HELD;
}
#else /* the FIFO ticket lock */

typedef struct ticket_lock {
	/* Accessed only through __atomic builtins, each at its own size. */
	uint64_t next;     /* tickets handed out; a ticket is its low half */
	uint32_t owner;    /* the ticket served; written by the holder only */
#if PORT_WAIT_ON_WAKES
	uint32_t sleepers; /* waiters inside port_wait_on */
	uint32_t wake[TICKET_WAKE_WORDS]; /* bumped by unlocks that wake */
#endif
} ticket_lock_t;

#define TICKET_LOCK_INIT { 0 }

static inline void ticket_lock_init(ticket_lock_t *l)
{
	/* Relaxed: the lock is published to other harts by whatever publishes l. */
	__atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->next, 0, __ATOMIC_RELAXED);
#if PORT_WAIT_ON_WAKES
	__atomic_store_n(&l->sleepers, 0, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < TICKET_WAKE_WORDS; i++)
		__atomic_store_n(&l->wake[i], 0, __ATOMIC_RELAXED);
#endif
}

/* Out of line: the waiting half of ticket_lock, and a wake after an unlock. */
unsigned long ticket_lock_wait(ticket_lock_t *l, uint32_t ticket, uint32_t owner);
void ticket_unlock_wake(ticket_lock_t *l, uint32_t owner);

/*
 * Takes the lock; returns how many times it had to spin (0 uncontended),
 * so callers can count contention without another shared counter. Inline:
 * uncontended, one RMW and one load, no call.
 */
static inline unsigned long ticket_lock(ticket_lock_t *l)
{
	/* Relaxed: taking a ticket orders nothing; the load below acquires. */
	uint32_t ticket = (uint32_t)__atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	/*
	 * Acquire on the load that sees our ticket served: pairs with the
	 * release in ticket_unlock(), so the previous holder's writes are seen
	 * and the critical section does not move above it.
	 */
	uint32_t owner = __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);
	if (__builtin_expect(owner == ticket, 1))
		return 0;
	return ticket_lock_wait(l, ticket, owner);
}

/* The ticket served now and the tickets handed out (racy, for reports). */
static inline void ticket_lock_peek(const ticket_lock_t *l, uint32_t *owner,
				    uint32_t *next)
{
	/* Relaxed: a report's snapshot; nothing is read on its strength. */
	*owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
	*next = (uint32_t)__atomic_load_n(&l->next, __ATOMIC_RELAXED);
}

/* Inline: a load and a release store, then a load of `next` on the host. */
static inline void ticket_unlock(ticket_lock_t *l)
{
	/* Relaxed: only the holder writes `owner`, so it reads its own value. */
	uint32_t owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED) + 1;

	/* Release: the critical section's writes reach the next holder. */
	__atomic_store_n(&l->owner, owner, __ATOMIC_RELEASE);
#if PORT_WAIT_ON_WAKES
	/*
	 * Relaxed: if no ticket beyond ours was taken when we looked, nobody
	 * waits but, perhaps, the next in line, who does not sleep (see above);
	 * else ticket_unlock_wake() does the unlocker's half of the Dekker pair.
	 */
	if (__builtin_expect((uint32_t)__atomic_load_n(&l->next, __ATOMIC_RELAXED) != owner, 0))
		ticket_unlock_wake(l, owner);
#endif
}

/* True if some hart holds the lock (a racy snapshot, for assertions). */
static inline bool ticket_is_locked(ticket_lock_t *l)
{
	/* Relaxed: only a hint; no data is read on its strength. */
	uint32_t owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
	return (uint32_t)__atomic_load_n(&l->next, __ATOMIC_RELAXED) != owner;
}

#endif /* TICKET_LOCK_BARGES */

/* Takes the lock only if it is free now; true on success. */
bool ticket_trylock(ticket_lock_t *l);

/*
 * For hang reports: the lock hart `hart` is waiting for now (NULL if none)
 * and, through *ticket, the ticket it waits with (0 on a barging lock).
 * Each hart records this itself on the contended path only, so an uncontended
 * lock costs nothing more. A racy snapshot; host threads that share a hart
 * index share the record.
 */
const ticket_lock_t *ticket_lock_waiting(unsigned hart, uint32_t *ticket);

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
