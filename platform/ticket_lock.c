// SPDX-License-Identifier: BSD-2-Clause
/* Ticket spinlock; the layout and orderings are explained in ticket_lock.h. */
#include <platform/fault.h>
#include <platform/ticket_lock.h>

/*
 * Test-only fault FAULT_BROKEN_LOCK: a lock that does not wait for its
 * ticket. The lock torture and the stress are built once with it to prove
 * that they notice two harts inside.
 */
#define WAIT_FOR_TICKET (FAULT != FAULT_BROKEN_LOCK)

/*
 * What each hart waits for (ticket_lock_waiting), written by the hart
 * itself around its wait. Relaxed: read only by hang reports; it orders
 * nothing. The lock is written last on entry and cleared first on exit, so
 * a reader that sees a lock sees at worst the ticket of an older wait.
 */
static struct {
	const ticket_lock_t *lock;
	uint32_t ticket;
} waits[PORT_MAX_HARTS];

static void note_wait(unsigned h, const ticket_lock_t *l, uint32_t ticket)
{
	if (h >= PORT_MAX_HARTS)
		return;
	if (l)
		__atomic_store_n(&waits[h].ticket, ticket, __ATOMIC_RELAXED);
	__atomic_store_n(&waits[h].lock, l, __ATOMIC_RELAXED);
}

const ticket_lock_t *ticket_lock_waiting(unsigned hart, uint32_t *ticket)
{
	if (hart >= PORT_MAX_HARTS)
		return NULL;
	const ticket_lock_t *l = __atomic_load_n(&waits[hart].lock, __ATOMIC_RELAXED);
	*ticket = __atomic_load_n(&waits[hart].ticket, __ATOMIC_RELAXED);
	return l;
}

/*
 * The wait this hart was in when it began this one: an interrupt handler
 * may wait for another lock inside a wait (a lock not taken with irqsave),
 * and puts back the wait it interrupted when it is done.
 */
struct outer_wait {
	unsigned hart;
	const ticket_lock_t *lock;
	uint32_t ticket;
};

static struct outer_wait wait_begin(const ticket_lock_t *l, uint32_t ticket)
{
	struct outer_wait o = { port_hart_id(), NULL, 0 };
	o.lock = ticket_lock_waiting(o.hart, &o.ticket);
	note_wait(o.hart, l, ticket);
	return o;
}

static void wait_end(const struct outer_wait *o)
{
	note_wait(o->hart, o->lock, o->ticket);
}

/*
 * One look's wait for a waiter that must keep looking (the FIFO lock's next
 * in line, the barging lock's heir): spin, and give the CPU back now and
 * then (port_wait_long, which also answers kicks).
 */
static inline void spin_or_wait_long(unsigned long spins)
{
	if (spins % TICKET_LOCK_SPINS == 0)
		port_wait_long();
	else
		port_cpu_relax();
}

#if TICKET_LOCK_BARGES
/*
 * The heir's wait: it reserves the next release (TICKET_LOCK_HEIR), which
 * only it may take, and watches the lock as the FIFO lock's next in line
 * does (spin, then port_wait_long, so it still answers kicks); then it
 * gives up being the heir.
 */
static unsigned long inherit(ticket_lock_t *l)
{
	unsigned long spins = 0;
	for (;;) {
		/* Relaxed: the CAS that takes the lock is the acquire. */
		uint32_t v = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
		if (!(v & TICKET_LOCK_HELD)) {
			/*
			 * Free, reserved for us or not: take it, clearing the
			 * reservation. Acquire: pairs with the unlock's release.
			 */
			if (__atomic_compare_exchange_n(&l->state, &v, TICKET_LOCK_HELD, false,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				break;
			continue;
		}
		/* Relaxed: the bit only keeps bargers out; it publishes nothing. */
		if (!(v & TICKET_LOCK_HEIR) &&
		    __atomic_compare_exchange_n(&l->state, &v, v | TICKET_LOCK_HEIR, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			continue;
		spin_or_wait_long(++spins);
	}
	/* Relaxed: lets the next starved poller be the heir; orders nothing. */
	__atomic_store_n(&l->heir, 0, __ATOMIC_RELAXED);
	return spins;
}

/*
 * One look at a barging lock, and the CAS only if it looked free. Relaxed
 * look first: no locked instruction while the lock is held; the CAS
 * acquires.
 */
static inline bool look_and_take(ticket_lock_t *l)
{
	return __atomic_load_n(&l->state, __ATOMIC_RELAXED) == 0 && ticket_lock_take(l);
}

/*
 * Waiting without sleeping (a port without port_fence_heavy: the RISC-V
 * ports, a host without membarrier): look, take the lock if it is free,
 * else give the CPU back (port_wait_long) and look again. A released lock
 * goes to whoever is running, not to a waiter that is not (FIFO handover to
 * a waiter in wfi made the default 4-hart QEMU stress take 28 s against 3 s
 * on 2 host cores, `--smp 8` 146 s against 3 s). So that no waiter is
 * overtaken for ever, one that has polled TICKET_LOCK_HEIR_POLLS times
 * becomes the lock's heir if there is none (`heir`, a CAS) and reserves the
 * next release for itself.
 */
static unsigned long poll_for_lock(ticket_lock_t *l)
{
	unsigned long spins = 0;
	for (unsigned polls = 0;; polls++) {
		if (look_and_take(l))
			return spins;
		uint32_t none = 0;
		/*
		 * Only where every waiter polls: sleepers wait for a state of
		 * exactly HELD, and a waiter polls on a port that can fence
		 * only until the first sleeper's fence has found it works.
		 * Relaxed: `heir` names no data; the state CASes order the lock.
		 */
		if (polls >= TICKET_LOCK_HEIR_POLLS && !port_fence_heavy_works() &&
		    __atomic_compare_exchange_n(&l->heir, &none, 1, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return spins + inherit(l);
		spins++;
		port_wait_long();
	}
}

/*
 * The barging lock's contended half (the protocol and why: ticket_lock.h;
 * tests/models/barging_lock.pml checks it): spin a while for a free lock,
 * yield a while between looks, then count ourselves in `sleepers` (the
 * first sleeper fences every CPU) and sleep on the word until a CAS takes
 * it.
 */
unsigned long ticket_lock_contended(ticket_lock_t *l)
{
	unsigned long spins = 0;

	if (!WAIT_FOR_TICKET)
		return 0;
	struct outer_wait outer = wait_begin(l, 0);
	for (; spins < TICKET_LOCK_SLEEP_SPINS; spins++) {
		port_cpu_relax();
		if (look_and_take(l))
			goto taken;
	}
	/*
	 * Only where we may sleep next: a waiter that polls (no heavy fence)
	 * yields between its looks anyway, and must reach its heir's turn
	 * (TICKET_LOCK_HEIR_POLLS) without 512 yields first. int: with 0
	 * yields, an unsigned count would be "always false" to gcc.
	 */
	for (int yields = 0; port_fence_heavy_works() && yields < TICKET_LOCK_SLEEP_YIELDS;
	     yields++) {
		spins++;
		port_wait_long();
		if (look_and_take(l))
			goto taken;
	}
	/*
	 * seq_cst: orders the count before our looks at `state`. Unlocks read
	 * `sleepers` after a compiler barrier only, so the first sleeper of a
	 * busy spell also fences every CPU; the later ones ride on its fence
	 * (it does not take the lock before its fence has returned).
	 */
	bool may_sleep = __atomic_fetch_add(&l->sleepers, 1, __ATOMIC_SEQ_CST) == 0
				 ? port_fence_heavy()
				 : port_fence_heavy_works();
	if (!may_sleep) {
		/*
		 * No heavy fence on this port: poll, yielding the CPU, and do
		 * not count as a sleeper (unlocks need not wake a poller).
		 */
		__atomic_fetch_sub(&l->sleepers, 1, __ATOMIC_SEQ_CST);
		spins += poll_for_lock(l);
		goto taken;
	}
	while (!ticket_lock_take(l)) {
		spins++;
		port_wait_on(&l->state, 1, 0);
		/*
		 * Woken or not, let the next unlock wake again. seq_cst: the
		 * clear comes before our next look at `state`; an unlock that
		 * skipped its wake read `waking` with a locked RMW after its
		 * store, so either we see its store or it saw our clear.
		 */
		if (__atomic_load_n(&l->waking, __ATOMIC_RELAXED))
			__atomic_exchange_n(&l->waking, 0, __ATOMIC_SEQ_CST);
	}
	/* seq_cst: as the count; an unlock that still sees us makes a spare wake. */
	__atomic_fetch_sub(&l->sleepers, 1, __ATOMIC_SEQ_CST);
taken:
	wait_end(&outer);
	return spins;
}

/*
 * An unlock that saw sleepers: wake one, unless a wake is already in flight
 * (`waking` 1: its sleeper has not looked yet, and its look covers this
 * unlock too); a skip is noted (`waking` 2). The first read of `waking` is
 * a locked RMW (seq_cst), so our store of 0 has reached memory before we
 * may skip. A wake that found nobody asleep (they are between their count
 * and their sleep, and look at the lock themselves before they sleep)
 * gives the duty back: exchanges `waking` with 0, and wakes again only if
 * an unlock skipped meanwhile (a sleeper may have slept on that one). It
 * does not wait for the counted sleepers: spinning until one took the lock
 * cost thread_bench 17% of its CPU time at 2 threads (the sleeper is often
 * inside membarrier or descheduled). seq_cst throughout. Only a port with
 * a heavy fence has sleepers (pollers do not count).
 */
void ticket_unlock_wake(ticket_lock_t *l)
{
	for (;;) {
		uint32_t w = __atomic_fetch_or(&l->waking, 0, __ATOMIC_SEQ_CST);
		if (w == TICKET_WAKE_SKIPPED)
			return;
		if (w == TICKET_WAKE_IN_FLIGHT) {
			/* Note the skip for the waker, unless it just gave up. */
			if (__atomic_compare_exchange_n(&l->waking, &w, TICKET_WAKE_SKIPPED, false,
							__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				return;
			continue;
		}
		if (!__atomic_compare_exchange_n(&l->waking, &w, TICKET_WAKE_IN_FLIGHT, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			continue;
		if (port_wake_one(&l->state))
			return;
		if (__atomic_exchange_n(&l->waking, 0, __ATOMIC_SEQ_CST) != TICKET_WAKE_SKIPPED)
			return;
	}
}

bool ticket_trylock(ticket_lock_t *l)
{
	return ticket_lock_take(l);
}
#else /* the FIFO ticket lock */
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
	uint32_t owner = __atomic_load_n(&l->owner, __ATOMIC_SEQ_CST);
	/*
	 * Further back than next in line: sleep, unless an unlock bumped `gen`
	 * since we read it. The next in line never sleeps here: the unlock that
	 * serves it may have skipped the wake (ticket_lock.h).
	 */
	if ((uint32_t)(ticket - owner) > 1)
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
	port_wait_on(&l->owner, __atomic_load_n(&l->owner, __ATOMIC_RELAXED), 0);
}
#endif

/*
 * Between looks at `owner` while ahead = ticket - owner tickets are in front
 * of us. Host: waiters further back than next in line sleep on the futex;
 * the next in line spins and now and then yields the CPU (it must not sleep
 * on the futex: see ticket_sleep). RISC-V: a bounded wait, as before, for
 * any waiter further back and for the next in line now and then.
 */
static inline void ticket_wait(ticket_lock_t *l, uint32_t ticket, uint32_t ahead,
			       unsigned long spins)
{
#if PORT_WAIT_ON_WAKES
	if (ahead > 1)
		ticket_sleep(l, ticket);
	else
		spin_or_wait_long(spins);
#else
	if (ahead > 1 || spins % TICKET_LOCK_SPINS == 0)
		ticket_sleep(l, ticket);
	else
		port_cpu_relax();
#endif
}

/* ticket_lock() found `owner` serving, not our ticket: wait for our turn. */
unsigned long ticket_lock_wait(ticket_lock_t *l, uint32_t ticket, uint32_t owner)
{
	unsigned long spins = 0;

	if (!WAIT_FOR_TICKET)
		return 0;
	struct outer_wait outer = wait_begin(l, ticket);
	for (;;) {
		spins++;
		ticket_wait(l, ticket, ticket - owner, spins);
		/* Acquire: pairs with the release in ticket_unlock(), as there. */
		owner = __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);
		if (owner == ticket)
			break;
	}
	wait_end(&outer);
	return spins;
}

bool ticket_trylock(ticket_lock_t *l)
{
	/* Relaxed: the CAS below compares it; it orders nothing. */
	uint64_t next = __atomic_load_n(&l->next, __ATOMIC_RELAXED);
	/*
	 * Acquire: if the CAS succeeds, this load read the release of the
	 * previous holder's unlock, whose writes we must see.
	 */
	uint32_t owner = __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);

	if ((uint32_t)next != owner)
		return false;
	/*
	 * Free when we looked; a CAS that still finds `next` unchanged took
	 * ticket `owner`, the one served (ticket_lock.h). Acquire on success:
	 * the critical section starts after it; relaxed on failure.
	 */
	return __atomic_compare_exchange_n(&l->next, &next, next + 1, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/*
 * ticket_unlock() made `owner` the owner and saw tickets beyond it: the
 * unlocker's half of the Dekker pair with ticket_sleep, a seq_cst RMW of
 * `sleepers` (adding 0) after the release store. Either it reads the
 * sleeper's increment, or that increment reads from it and so
 * (release/acquire) the sleeper sees the new owner.
 */
void ticket_unlock_wake(ticket_lock_t *l, uint32_t owner)
{
#if PORT_WAIT_ON_WAKES
	if (__atomic_fetch_add(&l->sleepers, 0, __ATOMIC_SEQ_CST))
		ticket_wake(l, owner);
#else
	(void)l;
	(void)owner;
#endif
}
#endif /* TICKET_LOCK_BARGES */
