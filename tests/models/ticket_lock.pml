/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Promela model of platform/ticket_lock.c (and the inline fast paths in
 * ticket_lock.h), for Spin.
 *
 * The lock is two counters, as in C: `owner` (the ticket served, written
 * only by the holder) and `next` (the tickets handed out; a ticket is its
 * low half). In C `owner` is 32 bits and `next` 64; here tickets and
 * `owner` are W = 2 bits, so they wrap every 4 acquisitions and the wrap is
 * reached in a few steps, and the 64-bit `next` is its ticket half `tick`
 * plus a ghost `next_moved`, set by every ticket taken: a CAS of `next`
 * succeeds iff no ticket was taken since the trylock read it (in C `next`
 * would have to come back to the same 64-bit value, 2^64 tickets). The
 * precondition of the C lock (fewer than 2^32 waiters) becomes NPROC < 4.
 *
 *   lock:    t = fetch_add(next, 1) mod 2^W; wait until owner == t
 *   trylock: n = load(next); o = load(owner);
 *            if n mod 2^W == o: CAS(next, n, n + 1)
 *   unlock:  o = owner; store(owner, o + 1)   (a plain release store)
 *
 * The fetch_add and the CAS are one atomic step each, as the AMOs are; the
 * loads and the store are separate steps. Counters wrap as the C ones do.
 * The host port's futex sleep/wake is not modelled (a waiter is the
 * blocking guard below).
 *
 * Checked (ticket_lock_test.sh):
 *  - mutual exclusion: assert(in_cs == 1) inside the critical section;
 *  - FIFO entry: a ghost queue records the order in which tickets were
 *    taken (at the fetch_add); a hart that enters must be at its head;
 *  - no deadlock: Spin's invalid-end-state check (every hart loops for
 *    ever, so any state where none can move is a deadlock);
 *  - the wrap is reached: `wrapped` is set when owner goes from MASK to 0;
 *    ltl `wrap_never` claims it stays false, and Spin must refute it;
 *  - starvation freedom under weak fairness: ltl `live`.
 *
 * Seeded bugs (-D switches), each of which Spin must catch:
 *  BUG_NO_WRAP      unlock does not wrap `owner` where tickets wrap: after
 *                   MASK the owner never matches a ticket, a deadlock;
 *  BUG_NO_WAIT      lock does not wait for its ticket (as the C build
 *                   -DFAULT=FAULT_BROKEN_LOCK, <platform/fault.h>);
 *  BUG_TRY_SPLIT    trylock checks "free" and then takes a ticket with a
 *                   plain fetch_add instead of the CAS.
 */
#define W 2
#define HALF 4          /* 1 << W: tickets and owner wrap here */
#define MASK 3          /* HALF - 1 */
#define NPROC 3         /* < HALF: the lock's precondition */

byte owner = 0;
byte tick = 0;          /* the ticket half of next */
bool next_moved;        /* ghost: a ticket was taken since trylock read next */
byte in_cs = 0;
bool wrapped = false;   /* ghost: owner has gone MASK -> 0 at least once */
bool cs[NPROC];         /* ghost: hart i is in its critical section */

/* Ghost FIFO of the harts that hold a ticket, in ticket order. */
chan order = [NPROC] of { byte };

inline lock(me, t) {
	atomic {
		t = tick;
		tick = (tick + 1) % HALF;
		next_moved = true;
		order ! me
	}
#ifndef BUG_NO_WAIT
	(owner == t)
#endif
}

inline trylock(me, ok) {
	byte seen_n, seen_o;
	atomic { seen_n = tick; next_moved = false };
	seen_o = owner;
#ifndef BUG_TRY_SPLIT
	atomic {
		if
		:: seen_n == seen_o && !next_moved ->
			tick = (tick + 1) % HALF;
			next_moved = true;
			order ! me;
			ok = true
		:: else -> ok = false
		fi
	}
#else
	if
	:: seen_n == seen_o ->
		atomic { tick = (tick + 1) % HALF; next_moved = true; order ! me };
		ok = true
	:: else -> ok = false
	fi
#endif
}

inline unlock(o) {
	o = owner;
	atomic {
#ifndef BUG_NO_WRAP
		owner = (o + 1) % HALF;
#else
		owner = o + 1;
#endif
		if
		:: o == MASK -> wrapped = true
		:: else -> skip
		fi
	}
}

inline critical(me, head) {
	atomic {
		/* FIFO: the hart entering took the oldest outstanding ticket. */
		order ? head;
		assert(head == me);
		in_cs++;
		cs[me] = true
	}
	assert(in_cs == 1);
	atomic { in_cs--; cs[me] = false }
}

/*
 * Harts 0 and 1 always take the lock; hart 2 tries first and falls back to
 * taking it (so every hart still enters, for the liveness claim).
 */
proctype hart(byte me)
{
	byte t, o, h;
	bool ok;
end:
	do
	:: me != 2 ->
		lock(me, t);
		critical(me, h);
		unlock(o)
	:: me == 2 ->
		trylock(me, ok);
		if
		:: !ok -> lock(me, t)
		:: else -> skip
		fi;
		critical(me, h);
		unlock(o)
	od
}

init {
	atomic {
		run hart(0);
		run hart(1);
		run hart(2)
	}
}

/* False in a correct lock: Spin's counter-example shows the wrap happens. */
ltl wrap_never { [] !wrapped }
/* Every hart enters its critical section again and again. */
ltl live { ([] <> cs[0]) && ([] <> cs[1]) && ([] <> cs[2]) }
