/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Promela model of the host's barging lock (TICKET_LOCK_BARGES in
 * platform/include/platform/ticket_lock.h, its contended half in
 * platform/ticket_lock.c), for Spin, on an x86-TSO machine: the unlock's
 * plain store to `state` waits in its thread's store buffer while the
 * thread's later load of `sleepers` reads memory.
 *
 *   lock:    CAS(state, 0 -> 1); else sleepers += 1 and, if it was 0,
 *            port_fence_heavy(); until CAS(state, 0 -> 1): futex-wait on
 *            state while it is 1, then clear `waking` if it is set (a
 *            plain load, then an exchange); sleepers -= 1
 *   unlock:  store(state, 0) into the store buffer; load sleepers; if not
 *            0: read waking with a locked RMW; if 2, done; if 1, CAS it to
 *            2 (a wake is in flight; note that this unlock skipped its
 *            own) and done; if 0, CAS it to 1 and wake one futex sleeper;
 *            if that found none: exchange waking with 0, and if it was 2
 *            (an unlock skipped meanwhile), all again
 *
 * The CAS and the increment are locked instructions: each waits until its
 * own thread's store buffer is empty, then is one atomic step on memory.
 * port_fence_heavy (membarrier) returns once every thread's store buffer has
 * drained (the model fences all CPUs at one instant; membarrier fences each
 * at its own instant during the call, which the argument in ticket_lock.h
 * covers). The futex wait checks `state == 1` and starts sleeping in one
 * step (the kernel does both under the futex bucket lock); a wake drains
 * its thread's buffer first (the kernel fences before it looks for
 * sleepers), then takes any one sleeper and says whether it found one. A
 * `memory` process drains buffers at any time. The spin and yield phases
 * before sleeping only add CAS tries and are left out; so do spurious returns
 * from the futex wait, which act as the refused sleep does.
 *
 * Each thread takes the lock ROUNDS times and ends. Checked:
 *  - mutual exclusion: assert(in_cs == 1) inside the critical section;
 *  - no lost wakeup: a thread left asleep when the others have ended is an
 *    invalid end state, which Spin reports.
 * Seeded bugs (-D), each of which Spin must catch:
 *  BUG_NO_FENCE         the first sleeper does not fence after counting
 *                       itself: an unlock's load of `sleepers` passes its
 *                       buffered store, the sleeper reads the old 1 and
 *                       sleeps, and nobody wakes it;
 *  BUG_WAKE_NO_RETRY    a wake that found nobody only clears `waking`,
 *                       without looking for a noted skip: an unlock that
 *                       skipped its wake meanwhile is lost;
 *  BUG_WAKE_PLAIN_LOAD  the wake reads `waking` with a plain load, so an
 *                       unlock may skip while its store of 0 is buffered;
 *  BUG_NO_CLEAR         the woken sleeper does not clear `waking`: every
 *                       later unlock skips its wake for one in flight
 *                       that has already landed.
 * (4 threads x 1 round also passes: 33 M states, 45 s, -DCOLLAPSE -m3000000.)
 */
#define NPROC 3
#define ROUNDS 2

byte state = 0;     /* memory: 0 free, 1 held */
byte sleepers = 0;
byte waking = 0; /* 1: a wake is in flight (its sleeper has not looked yet);
                    2: and an unlock skipped its own wake meanwhile */
bool buffered[NPROC]; /* a store of 0 to state waits in thread i's buffer */
bool asleep[NPROC];   /* thread i sleeps on the futex */
byte in_cs = 0;

inline cas_take(me, ok) {
	atomic {
		(!buffered[me]);
		if
		:: state == 0 -> state = 1; ok = true
		:: else -> ok = false
		fi
	}
}

inline fence_heavy() {
	atomic { (!buffered[0] && !buffered[1] && !buffered[2]) }
}

inline futex_wait(me) {
	atomic {
		if
		:: state == 1 -> asleep[me] = true
		:: else -> skip
		fi
	}
	(!asleep[me])
}

/* The futex wake: at most one sleeper; n says how many it woke. */
inline futex_wake_one(n) {
	atomic {
		if
		:: asleep[0] -> asleep[0] = false; n = 1
		:: asleep[1] -> asleep[1] = false; n = 1
		:: asleep[2] -> asleep[2] = false; n = 1
		:: else -> n = 0
		fi
	}
}

/*
 * ticket_unlock_wake: one wake in flight at a time (`waking` 1). It reads
 * `waking` with a locked instruction, so the unlock's store has reached
 * memory before it may skip; a skip while a wake is in flight is noted
 * (`waking` 2). A wake that found nobody asleep (they are between their
 * count and their sleep, and will look at the lock themselves) gives the
 * duty back: exchanges `waking` with 0, and wakes again if a skip was
 * noted, since a sleeper may have slept on that unlock.
 */
inline unlock_wake(me) {
	do
	::
#ifndef BUG_WAKE_PLAIN_LOAD
		atomic { (!buffered[me]); w = waking }
#else
		w = waking;
#endif
		if
		:: w == 2 -> break
		:: w == 1 ->
			atomic {
				(!buffered[me]);
				if
				:: waking == 1 -> waking = 2; got = true
				:: else -> got = false
				fi
			}
			if
			:: got -> break
			:: else -> skip
			fi
		:: w == 0 ->
			atomic {
				(!buffered[me]);
				if
				:: waking == 0 -> waking = 1; got = true
				:: else -> got = false
				fi
			}
			if
			:: got ->
				futex_wake_one(n);
				if
				:: n == 1 -> break
				:: else ->
#ifndef BUG_WAKE_NO_RETRY
					atomic { w = waking; waking = 0 };
					if
					:: w == 2 -> skip
					:: else -> break
					fi
#else
					waking = 0;
					break
#endif
				fi
			:: else -> skip
			fi
		fi
	od
}

proctype thread(byte me) {
	byte r = 0;
	bool ok, got;
	byte n, old, w;
	do
	:: r < ROUNDS ->
		cas_take(me, ok);
		if
		:: !ok ->
			atomic { (!buffered[me]); old = sleepers; sleepers++ }
#ifndef BUG_NO_FENCE
			/* The first sleeper fences; later ones ride on its fence. */
			if
			:: old == 0 -> fence_heavy()
			:: else -> skip
			fi;
#endif
			cas_take(me, ok);
			do
			:: ok -> break
			:: !ok ->
				futex_wait(me);
				/*
				 * Whoever clears `waking` lets the next unlock
				 * wake. As in C: a plain look first, and the
				 * locked exchange only if it was set.
				 */
#ifndef BUG_NO_CLEAR
				if
				:: waking != 0 -> atomic { (!buffered[me]); waking = 0 }
				:: else -> skip
				fi;
#endif
				cas_take(me, ok)
			od;
			atomic { (!buffered[me]); sleepers-- }
		:: else -> skip
		fi;
		in_cs++;
		assert(in_cs == 1);
		in_cs--;
		/* unlock */
		buffered[me] = true;
		if
		:: sleepers != 0 -> unlock_wake(me)
		:: else -> skip
		fi;
		r++
	:: r == ROUNDS -> break
	od;
	/* A thread's exit drains its buffer. */
	(!buffered[me]);
}

active proctype memory() {
	end:
	do
	:: atomic { buffered[0] -> state = 0; buffered[0] = false }
	:: atomic { buffered[1] -> state = 0; buffered[1] = false }
	:: atomic { buffered[2] -> state = 0; buffered[2] = false }
	od
}

init {
	atomic {
		run thread(0);
		run thread(1);
		run thread(2)
	}
}
