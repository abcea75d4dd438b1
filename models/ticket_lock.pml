/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Promela model of platform/ticket_lock.c, for Spin.
 *
 * The lock word is modelled as it is in C: one integer whose low half is
 * `owner` and whose high half is `next`, each W bits wide. The C lock uses
 * 32-bit halves of a 64-bit word; here W = 2 (halves count 0..3), so the
 * tickets wrap every 4 acquisitions and the wrap, and the carry the unlock
 * must cancel there, are reached in a few steps. The precondition of the C
 * lock (fewer than 2^32 waiters) becomes NPROC < 4.
 *
 *   lock:    old = fetch_add(word, 1 << W); t = old >> W
 *            wait until (word & MASK) == t
 *   trylock: old = load(word); if owner(old) != next(old) fail;
 *            CAS(word, old, old + (1 << W))
 *   unlock:  o = word & MASK; fetch_add(word, o == MASK ? 1 - (1 << W) : 1)
 *
 * Every fetch_add and the CAS are one atomic step, as the AMOs are; the
 * loads are separate steps. Arithmetic on the word is modulo 2^(2W), as the
 * C word's is modulo 2^64.
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
 *  BUG_NO_WRAP_FIX  unlock always adds 1: at owner == MASK the carry bumps
 *                   `next`, a ticket is skipped and the lock deadlocks;
 *  BUG_NO_WAIT      lock does not wait for its ticket (as the C build
 *                   TICKET_LOCK_BROKEN_FOR_TEST);
 *  BUG_TRY_SPLIT    trylock checks "free" and then takes a ticket with a
 *                   plain fetch_add instead of the CAS.
 */
#define W 2
#define HALF 4          /* 1 << W */
#define MASK 3          /* HALF - 1 */
#define WORD 16         /* 1 << (2 W): the word wraps here */
#define NPROC 3         /* < HALF: the lock's precondition */

byte word = 0;
byte in_cs = 0;
bool wrapped = false;   /* ghost: owner has gone MASK -> 0 at least once */
bool cs[NPROC];         /* ghost: hart i is in its critical section */

/* Ghost FIFO of the harts that hold a ticket, in ticket order. */
chan order = [NPROC] of { byte };

inline lock(me, t) {
	atomic {
		t = word / HALF;
		word = (word + HALF) % WORD;
		order ! me
	}
#ifndef BUG_NO_WAIT
	(word % HALF == t)
#endif
}

inline trylock(me, ok) {
	byte seen;
	seen = word;
#ifndef BUG_TRY_SPLIT
	atomic {
		if
		:: seen % HALF == seen / HALF && word == seen ->
			word = (word + HALF) % WORD;
			order ! me;
			ok = true
		:: else -> ok = false
		fi
	}
#else
	if
	:: seen % HALF == seen / HALF ->
		atomic { word = (word + HALF) % WORD; order ! me };
		ok = true
	:: else -> ok = false
	fi
#endif
}

inline unlock(o) {
	o = word % HALF;
	atomic {
#ifndef BUG_NO_WRAP_FIX
		if
		:: o == MASK -> word = (word + WORD + 1 - HALF) % WORD
		:: else -> word = (word + 1) % WORD
		fi;
#else
		word = (word + 1) % WORD;
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
