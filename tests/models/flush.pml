/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Promela model of percpu's magazine/depot exchange and the remote flush
 * (percpu/kmalloc.c, depot.c, flush.c), for Spin.
 *
 * What is modelled:
 *  - NH harts, each with a loaded and a previous magazine of one class and
 *    at most one spare shell (percpu_cpu.spares: an array an eviction
 *    left, taken by the hart's next new magazine). Magazines hold one
 *    round (capacity 1): a magazine is empty or full, which keeps the
 *    state small and still exercises every exchange.
 *  - One depot: lists of full and empty magazines under a ticket lock.
 *  - The heap: a set of free blocks and a pool of free magazine arrays
 *    under its ticket lock (the heap lock).
 *  - A user lock L, which a hart may hold (irqsave) around a kmalloc: the
 *    "allocates under a spinlock" kernel of issue 12.
 *  - Every lock wait has interrupts masked, so a kick (IPI) cannot be
 *    taken there; port_wait_long in the wait calls the kick handler, which
 *    answers a pending request unless the hart is busy (a slow path has
 *    its slots in locals: slow_enter .. slow_exit). Between operations
 *    interrupts are on: a pending kick is taken before the next starts.
 *    A slow path answers at its start (percpu_answer_flush), and there,
 *    as at hart exit, also returns the orphan list to the heap when no
 *    reclaim waits (reclaim_waiters == 0).
 *  - Answering (percpu_honour_flush): flush_pending = 0, read flush_req,
 *    detach the loaded and previous magazines and the spare shell onto
 *    the lock-free orphan list (CAS pushes), flush_done = the request read.
 *    It takes no lock, so it may answer while waiting for any lock.
 *  - kmalloc's slow path (alloc_slow): loaded, previous, the depot
 *    exchange (the empty previous leaves its slot first; the loaded
 *    magazine is read before the depot lock wait and used after, as in C);
 *    on a miss the slow path ends and the block comes from the heap
 *    (kheap_alloc, not busy), with the heap's two reclaim levels: QUICK,
 *    a retry if it says it got something, then WAIT, and a retry again.
 *  - percpu_reclaim: its own slots and spare to the heap, the depot
 *    drained, the orphan list returned, every other active hart whose
 *    requests are all answered asked (flush_req++, flush_pending = 1);
 *    at WAIT, reclaim_waiters++ and a wait that ends when every hart
 *    answered (returning orphans as they arrive and answering its own
 *    requests) or on `timeout` (Spin's "nothing else can move": the real
 *    bounded wait running out), reclaim_waiters--; then the orphan list
 *    and the depot again. It reports "got something" if it freed anything
 *    to the heap itself (heap_frees: arrays count) or orphans_returned
 *    moved since the allocation's QUICK level began (another hart
 *    returned the orphans our requests produced).
 *  - free_orphans: orphans_taking++, one exchange takes the whole list,
 *    the magazines go to the heap, orphans_returned += their number,
 *    orphans_taking--. The WAIT level waits for orphans_taking to be 0
 *    before it reads orphans_returned.
 *  - kfree's slow path (free_slow): loaded, previous, the depot exchange
 *    (full previous out, an empty one back), else a new magazine (the
 *    spare shell, else an array from the heap), else the block goes to
 *    the heap after the slow path.
 *  - An eviction (percpu_flush_class from another class's mag_create):
 *    the rounds to the heap, an array to the spare shell if there is
 *    none, the rest to the heap.
 *  - A hart that ends (percpu_hart_exit) answers, parks magazines with a
 *    round in the depot, frees the rest and its spare, and goes inactive.
 *
 * Checked (spin_test.sh):
 *  - no block handed out twice: assert at every hand-out that no user
 *    holds the block;
 *  - no block or magazine lost or duplicated: when every hart has ended,
 *    each block is in exactly one place (a user, the heap, a magazine that
 *    is reachable) and each magazine in exactly one place (a slot, a
 *    spare, the depot, the orphan list, the heap's pool);
 *  - an answer leaves the hart caching nothing (slots and spare);
 *  - no deadlock: Spin's invalid-end-state check (a hart stuck in a lock
 *    wait for ever);
 *  - no false OOM: a remote flush never runs into its time bound
 *    (assert(!timed_out)): every hart it asked answers, even one that
 *    waits, interrupts masked, for the lock the requester holds;
 *  - no reclaim that says "nothing" while memory came back: a ghost
 *    `back` is set by every heap free of the reclaiming hart and by every
 *    orphan return of any hart from the allocation's QUICK level on (and
 *    after a level that said "something", from then on); the WAIT level
 *    must report "something" if it is set.
 *
 * Seeded bugs (-D switches), each of which Spin must catch:
 *  BUG_NO_POLL_IN_WAIT  lock waits do not answer: the requester holding L
 *                       times out;
 *  BUG_ANSWER_TO_HEAP   the answering hart frees its magazines to the heap
 *                       itself: inside a wait for the heap lock it takes a
 *                       second ticket behind its own and deadlocks;
 *  BUG_ORPHAN_NO_CAS    the orphan push is a load and a store, not a CAS:
 *                       a push racing with the requester's exchange puts
 *                       back a list the requester already freed;
 *  BUG_STALE_SLOT       the kick handler answers in a busy hart's lock
 *                       wait: alloc_slow's loaded magazine, read before
 *                       the depot lock wait and used after, has been
 *                       orphaned meanwhile;
 *  BUG_SPARES_KEPT      an answer leaves the spare shell with the hart;
 *  BUG_NO_MARK          percpu_reclaim ignores orphans_returned: orphans
 *                       our request produced, returned by their own hart
 *                       or another reclaim, are reported as nothing;
 *  BUG_ARRAYS_UNCOUNTED percpu_reclaim counts only rounds, not arrays
 *                       (heap_frees): freeing empty magazines is nothing;
 *  BUG_IN_FLIGHT        the WAIT level does not wait for orphans_taking
 *                       to drain: another hart that took the orphans our
 *                       request produced is still returning them, has not
 *                       counted them yet, and we report nothing (the code
 *                       before //percpu:orphans_in_flight_test).
 */
#define NH 3           /* harts: two that allocate and free, one that exits */
#define NB 3           /* blocks: 0 in the heap, 1 held, 2 in hart 2's magazine */
#define NM 3           /* magazines (1 in the heap's pool), one round each */
/* Operations of harts 0 and 1 (more: many more states). */
#ifndef OPS0
#define OPS0 3
#endif
#ifndef OPS1
#define OPS1 3
#endif
#define NONE 255
#define TICKETS 4      /* ticket counters wrap here */

/* ---- shared state ---- */
byte heap_blocks = 1;          /* bitmask: blocks free in the heap (0) */
byte heap_mags = 2;            /* bitmask: magazines in the heap's pool (1) */
byte round[NM];                /* magazine m's block, or NONE (empty) */
byte link[NM];                 /* depot / orphan list link */
byte loaded[NH], prev[NH];     /* slot magazines, or NONE */
byte shell[NH];                /* the spare shell, or NONE */
byte depot_full = NONE, depot_empty = NONE;
byte orphans = NONE;           /* lock-free list head */
bool pending[NH];              /* flush_pending */
byte req[NH], done[NH];        /* flush_req, flush_done */
bool alive[NH];                /* percpu_cpu.active */
bool busy[NH];                 /* slow_enter .. slow_exit */
byte waiters;                  /* reclaim_waiters */
byte returned;                 /* orphans_returned (magazines) */
byte taking;                   /* orphans_taking */
byte user[NB];                 /* ghost: the hart holding block b, or NONE */
bool timed_out = false;        /* ghost: a flush wait ran out */
bool inrec[NH];                /* ghost: hart h's allocation is reclaiming */
bool back[NH];                 /* ghost: memory came back for it since */

/* Ticket locks: next ticket, owner. */
byte heap_next, heap_owner, depot_next, depot_owner;
/* The user lock L: a plain test-and-set lock is enough here. */
byte user_lock = NONE;

/*
 * The inlines below are expanded inside the proctypes and use their
 * locals: me, b, r, m, old, t, mt, h, g, list, cnt, ok, nb, gave.
 */

/* ---- the orphan list ---- */
inline orphan_push() {
	ok = false;
	do
	:: !ok ->
		old = orphans;
		link[m] = old;
#ifndef BUG_ORPHAN_NO_CAS
		atomic {
			if
			:: orphans == old -> orphans = m; ok = true
			:: else -> skip
			fi
		}
#else
		orphans = m;
		ok = true
#endif
	:: ok -> break
	od
}

/* ---- the heap: free a magazine and its round, under the heap lock ---- */
inline heap_put_mag(x) {
	if
	:: round[x] != NONE ->
		heap_blocks = heap_blocks | (1 << round[x]);
		round[x] = NONE;
		nb = true
	:: else -> skip
	fi;
	heap_mags = heap_mags | (1 << x);
	gave = true
}

/* ---- answering a flush (interrupts masked, any lock may be awaited) ---- */
#ifndef BUG_ANSWER_TO_HEAP
inline answer() {
	pending[me] = false;
	r = req[me];
	m = loaded[me]; loaded[me] = NONE;
	if :: m != NONE -> orphan_push() :: else -> skip fi;
	m = prev[me]; prev[me] = NONE;
	if :: m != NONE -> orphan_push() :: else -> skip fi;
#ifndef BUG_SPARES_KEPT
	/* percpu_spares_detach: the spare shell too, as a magazine of no rounds */
	m = shell[me]; shell[me] = NONE;
	if :: m != NONE -> orphan_push() :: else -> skip fi;
#endif
	assert(loaded[me] == NONE && prev[me] == NONE && shell[me] == NONE);
	atomic { done[me] = r; r = 0; m = 0; old = 0; ok = false }
}
#else
inline answer() {
	pending[me] = false;
	r = req[me];
	/* the heap lock, from wherever we are */
	atomic { t = heap_next; heap_next = (heap_next + 1) % TICKETS };
	(heap_owner == t);
	atomic {
	m = loaded[me]; loaded[me] = NONE;
	if :: m != NONE -> heap_put_mag(m) :: else -> skip fi;
	m = prev[me]; prev[me] = NONE;
	if :: m != NONE -> heap_put_mag(m) :: else -> skip fi;
	m = shell[me]; shell[me] = NONE;
	if :: m != NONE -> heap_put_mag(m) :: else -> skip fi;
	heap_owner = (heap_owner + 1) % TICKETS };
	done[me] = r
}
#endif

/* The kick handler: answers unless a slow path has the slots in locals. */
inline kick() {
	if
	:: pending[me] && !busy[me] -> answer()
	:: else -> skip
	fi
}

/*
 * A ticket lock wait with interrupts masked: port_wait_long calls the
 * kick handler (BUG_NO_POLL_IN_WAIT: it does not; BUG_STALE_SLOT: it
 * answers a busy hart too).
 */
#ifdef BUG_STALE_SLOT
#define KICKABLE(me) (pending[me])
#else
#define KICKABLE(me) (pending[me] && !busy[me])
#endif
inline ticket_wait(nextv, ownerv) {
	atomic { mt = nextv; nextv = (nextv + 1) % TICKETS };
	do
	:: ownerv == mt -> mt = 0; break
#ifndef BUG_NO_POLL_IN_WAIT
	:: KICKABLE(me) -> answer()
#endif
	od
}

inline user_lock_wait() {
	do
	:: atomic { user_lock == NONE -> user_lock = me }; break
#ifndef BUG_NO_POLL_IN_WAIT
	:: KICKABLE(me) -> answer()
#endif
	od
}

#define HEAP_LOCK ticket_wait(heap_next, heap_owner)
#define HEAP_UNLOCK heap_owner = (heap_owner + 1) % TICKETS
#define DEPOT_LOCK ticket_wait(depot_next, depot_owner)
#define DEPOT_UNLOCK depot_owner = (depot_owner + 1) % TICKETS

/* Hands block x to the user on hart me. */
inline hand_out(x) {
	assert(user[x] == NONE);
	user[x] = me
}

/*
 * free_orphans: the whole list in one exchange, its magazines to the
 * heap, then orphans_returned += their number (a release add after the
 * frees). The ghost `back` of every reclaiming hart is set at the frees.
 */
inline free_orphans() {
	if
	:: orphans != NONE ->
		/* the look above, then the exchange: it may find none */
		atomic { taking++; list = orphans; orphans = NONE };
		if
		:: list != NONE ->
			HEAP_LOCK;
			atomic {
				cnt = 0;
				do
				:: list != NONE -> m = list; list = link[m]; heap_put_mag(m); cnt++
				:: else -> break
				od;
				HEAP_UNLOCK;
				h = 0;
				do
				:: h < NH -> if :: inrec[h] -> back[h] = true :: else -> skip fi; h++
				:: else -> break
				od;
				h = 0
			};
			atomic { returned = returned + cnt; cnt = 0; m = 0 }
		:: else -> skip
		fi;
		taking--
	:: else -> skip
	fi
}

/* percpu_answer_flush: at a slow path's start (busy) and at hart exit. */
inline slow_answer() {
	if
	:: pending[me] ->
		answer();
		if :: waiters == 0 -> free_orphans() :: else -> skip fi
	:: else -> skip
	fi
}

/* All depot magazines to the heap (percpu_depot_drain). */
inline drain_depot() {
	DEPOT_LOCK;
	atomic {
	list = depot_full;
	depot_full = NONE;
	g = depot_empty;
	depot_empty = NONE;
	DEPOT_UNLOCK };
	if
	:: list != NONE || g != NONE ->
		HEAP_LOCK;
		atomic {
		do
		:: list != NONE -> m = list; list = link[m]; heap_put_mag(m)
		:: else -> break
		od;
		do
		:: g != NONE -> m = g; g = link[m]; heap_put_mag(m)
		:: else -> break
		od;
		HEAP_UNLOCK; m = 0 }
	:: else -> skip
	fi
}

/* Hart h has answered every request (or is not running). */
#define ANSWERED(h, me) ((h) == (me) || !alive[h] || done[h] == req[h])

/* flush_ask: every other active hart with no unanswered request. */
inline flush_ask() {
	atomic {
		h = 0;
		do
		:: h < NH ->
			if
			:: h != me && alive[h] && done[h] == req[h] -> req[h]++; pending[h] = true
			:: else -> skip
			fi;
			h++
		:: else -> break
		od;
		h = 0
	}
}

/*
 * flush_wait: until all answered, answering our own requests and
 * returning orphans as they come; or the bound (timeout).
 */
inline flush_wait() {
	do
	:: ANSWERED(0, me) && ANSWERED(1, me) && ANSWERED(2, me) -> break
	:: !(ANSWERED(0, me) && ANSWERED(1, me) && ANSWERED(2, me)) &&
	   (pending[me] || orphans != NONE) ->
		if :: pending[me] -> answer() :: else -> skip fi;
		free_orphans()
	:: timeout -> timed_out = true; break
	od
}

/* percpu_reclaim at level QUICK (wait false) or WAIT (wait true): ret. */
inline reclaim(wait) {
	busy[me] = true;
	if
	:: !wait -> atomic { mark = returned; inrec[me] = true; back[me] = false }
	:: else -> skip
	fi;
	gave = false; nb = false;
	/* flush_local(FLUSH_TO_HEAP): slots and the spare to the heap */
	if
	:: loaded[me] != NONE || prev[me] != NONE || shell[me] != NONE ->
		HEAP_LOCK;
		atomic {
		if :: loaded[me] != NONE -> heap_put_mag(loaded[me]); loaded[me] = NONE :: else -> skip fi;
		if :: prev[me] != NONE -> heap_put_mag(prev[me]); prev[me] = NONE :: else -> skip fi;
		if :: shell[me] != NONE -> heap_put_mag(shell[me]); shell[me] = NONE :: else -> skip fi;
		HEAP_UNLOCK }
	:: else -> skip
	fi;
	drain_depot();
	free_orphans();
	flush_ask();
	if
	:: wait ->
		waiters++;
		flush_wait();
		assert(!timed_out);
		waiters--
	:: else -> skip
	fi;
	free_orphans();
	drain_depot();
#ifndef BUG_IN_FLIGHT
	/* wait_orphans_taken: a hart that took the list has counted it */
	if :: wait -> (taking == 0) :: else -> skip fi;
#endif
	atomic {
#if defined(BUG_NO_MARK)
		ret = gave;
#elif defined(BUG_ARRAYS_UNCOUNTED)
		ret = nb || returned != mark;
#else
		ret = gave || returned != mark;
#endif
		mark = returned;
		if :: gave -> back[me] = true :: else -> skip fi;
		if
		:: wait -> assert(ret || !back[me]); inrec[me] = false; back[me] = false
		:: else -> if :: ret -> back[me] = false :: else -> skip fi
		fi;
		gave = false; nb = false
	};
	busy[me] = false
}

/* The lowest free heap block into b (NONE if the heap is empty). */
inline heap_take() {
	if
	:: heap_blocks & 1 -> b = 0
	:: else -> if
		:: heap_blocks & 2 -> b = 1
		:: else -> if
			:: heap_blocks & 4 -> b = 2
			:: else -> b = NONE
			fi
		fi
	fi;
	if :: b != NONE -> heap_blocks = heap_blocks & ~(1 << b) :: else -> skip fi
}

inline heap_take_mag() {
	if
	:: heap_mags & 1 -> g = 0
	:: else -> if
		:: heap_mags & 2 -> g = 1
		:: else -> if
			:: heap_mags & 4 -> g = 2
			:: else -> g = NONE
			fi
		fi
	fi;
	if :: g != NONE -> heap_mags = heap_mags & ~(1 << g) :: else -> skip fi
}

/* kheap_alloc (not busy: its lock waits answer) with the reclaim levels. */
inline heap_alloc() {
	HEAP_LOCK;
	atomic { heap_take(); HEAP_UNLOCK };
	if
	:: b == NONE ->
		reclaim(false);
		if
		:: ret -> HEAP_LOCK; atomic { heap_take(); HEAP_UNLOCK }
		:: else -> skip
		fi;
		if
		:: b == NONE ->
			reclaim(true);
			if
			:: ret -> HEAP_LOCK; atomic { heap_take(); HEAP_UNLOCK }
			:: else -> skip
			fi
		:: else -> skip
		fi;
		atomic { inrec[me] = false; back[me] = false; ret = false; mark = 0 }
	:: else -> skip
	fi
}

/* kmalloc, interrupts masked: a round, else the depot, else the heap. */
inline kmalloc() {
	b = NONE;
	/* fast path: one atomic step (owner only, interrupts masked) */
	atomic {
		if
		:: loaded[me] != NONE && round[loaded[me]] != NONE ->
			b = round[loaded[me]]; round[loaded[me]] = NONE
		:: else -> skip
		fi
	}
	if
	:: b == NONE ->
		/* alloc_slow */
		busy[me] = true;
		slow_answer();
		if
		:: loaded[me] != NONE && round[loaded[me]] != NONE ->
			b = round[loaded[me]]; round[loaded[me]] = NONE
		:: prev[me] != NONE && round[prev[me]] != NONE &&
		   !(loaded[me] != NONE && round[loaded[me]] != NONE) ->
			/* swap loaded <-> previous */
			g = loaded[me]; loaded[me] = prev[me]; prev[me] = g;
			b = round[loaded[me]]; round[loaded[me]] = NONE
		:: else ->
			/*
			 * The depot exchange: the loaded magazine read now and
			 * used after the lock wait (busy keeps it ours); the
			 * empty previous leaves its slot first.
			 */
			stale = loaded[me];
			spare = NONE;
			if
			:: stale != NONE && prev[me] != NONE -> spare = prev[me]; prev[me] = NONE
			:: else -> skip
			fi;
			DEPOT_LOCK;
			atomic {
				g = depot_full;
				if
				:: g != NONE ->
					depot_full = link[g];
					if
					:: spare != NONE ->
						link[spare] = depot_empty;
						depot_empty = spare;
						spare = NONE
					:: else -> skip
					fi
				:: else -> skip
				fi;
				DEPOT_UNLOCK
			};
			if
			:: g != NONE ->
				if :: stale != NONE -> prev[me] = stale :: else -> skip fi;
				loaded[me] = g;
				b = round[g]; round[g] = NONE
			:: else ->
				if :: spare != NONE -> prev[me] = spare :: else -> skip fi
			fi
		fi;
		atomic { busy[me] = false; g = 0; stale = 0; spare = 0 };
		if
		:: b == NONE -> heap_alloc()
		:: else -> skip
		fi
	:: else -> skip
	fi;
	if
	:: b != NONE -> hand_out(b)
	:: else -> skip /* kmalloc_try: NULL */
	fi
}

/* kfree of block b, interrupts masked. */
inline kfree() {
	user[b] = NONE;
	done_ = false;
	atomic {
		if
		:: loaded[me] != NONE && round[loaded[me]] == NONE ->
			round[loaded[me]] = b; done_ = true
		:: else -> skip
		fi
	}
	if
	:: !done_ ->
		/* free_slow */
		busy[me] = true;
		slow_answer();
		if
		:: loaded[me] != NONE && round[loaded[me]] == NONE ->
			round[loaded[me]] = b; done_ = true
		:: prev[me] != NONE && round[prev[me]] == NONE &&
		   !(loaded[me] != NONE && round[loaded[me]] == NONE) ->
			g = loaded[me]; loaded[me] = prev[me]; prev[me] = g;
			round[loaded[me]] = b; done_ = true
		:: else ->
			/* a full loaded one becomes the previous; the full previous to the depot */
			stale = NONE;
			if
			:: loaded[me] != NONE -> stale = prev[me]; prev[me] = loaded[me]; loaded[me] = NONE
			:: else -> skip
			fi;
			DEPOT_LOCK;
			atomic {
				if
				:: stale != NONE -> link[stale] = depot_full; depot_full = stale; stale = NONE
				:: else -> skip
				fi;
				spare = depot_empty;
				if :: spare != NONE -> depot_empty = link[spare] :: else -> skip fi;
				DEPOT_UNLOCK
			};
			if
			:: spare == NONE ->
				/* percpu_mag_create: the spare shell, else the heap */
				if
				:: shell[me] != NONE -> spare = shell[me]; shell[me] = NONE
				:: else ->
					HEAP_LOCK;
					atomic { heap_take_mag(); spare = g; HEAP_UNLOCK }
				fi
			:: else -> skip
			fi;
			if
			:: spare != NONE -> round[spare] = b; loaded[me] = spare; done_ = true
			:: else -> skip
			fi
		fi;
		atomic { busy[me] = false; g = 0; spare = 0; stale = 0 };
		if
		:: !done_ ->
			/* PERCPU_FREE_HEAP: the caller frees it to the heap */
			HEAP_LOCK;
			atomic { heap_blocks = heap_blocks | (1 << b); HEAP_UNLOCK }
		:: else -> skip
		fi
	:: else -> skip
	fi
}

/*
 * An eviction (percpu_flush_class, FLUSH_TO_SPARES, from a slow path):
 * the rounds to the heap, an array kept as the spare shell if there is
 * none, the other to the heap.
 */
inline evict_one(x) {
	if
	:: round[x] != NONE -> heap_blocks = heap_blocks | (1 << round[x]); round[x] = NONE
	:: else -> skip
	fi;
	if
	:: shell[me] == NONE -> shell[me] = x
	:: else -> heap_mags = heap_mags | (1 << x)
	fi
}

inline evict() {
	busy[me] = true;
	slow_answer();
	if
	:: loaded[me] != NONE || prev[me] != NONE ->
		HEAP_LOCK;
		atomic {
		g = loaded[me]; loaded[me] = NONE;
		if :: g != NONE -> evict_one(g) :: else -> skip fi;
		g = prev[me]; prev[me] = NONE;
		if :: g != NONE -> evict_one(g) :: else -> skip fi;
		HEAP_UNLOCK }
	:: else -> skip
	fi;
	busy[me] = false
}

/* percpu_hart_exit: answer, then the slots to the depot or the heap. */
inline hart_exit() {
	busy[me] = true;
	slow_answer();
	DEPOT_LOCK;
	atomic {
		g = NONE;
		m = loaded[me]; loaded[me] = NONE;
		if :: m != NONE && round[m] != NONE -> link[m] = depot_full; depot_full = m
		   :: m != NONE && round[m] == NONE -> g = m
		   :: else -> skip fi;
		m = prev[me]; prev[me] = NONE;
		if :: m != NONE && round[m] != NONE -> link[m] = depot_full; depot_full = m; m = NONE
		   :: else -> skip fi;
		DEPOT_UNLOCK
	};
	if
	:: g != NONE || m != NONE || shell[me] != NONE ->
		HEAP_LOCK;
		atomic {
		if :: g != NONE -> heap_put_mag(g) :: else -> skip fi;
		if :: m != NONE -> heap_put_mag(m) :: else -> skip fi;
		if :: shell[me] != NONE -> heap_put_mag(shell[me]); shell[me] = NONE :: else -> skip fi;
		HEAP_UNLOCK }
	:: else -> skip
	fi;
	atomic { busy[me] = false; alive[me] = false }
}

proctype hart(byte me)
{
	byte b, r, m, old, t, mt, h, g, list, stale, spare, n, k, nops, cnt, mark;
	bool ok, done_, locked, nb, gave, ret;

	alive[me] = true;
	nops = (me == 0 -> OPS0 : OPS1);
	n = 0;
	do
	:: n == nops -> break
	:: n < nops ->
		n++;
		/* interrupts on: a pending kick is taken now */
		kick();
		if
		:: /* kmalloc, maybe under the user lock */
			if
			:: locked = true; user_lock_wait()
			:: locked = false
			fi;
			kmalloc();
			if :: locked -> user_lock = NONE :: else -> skip fi
		:: /* kfree of a block this hart holds */
			k = 0;
			do
			:: k < NB && user[k] == me -> break
			:: k < NB && user[k] != me -> k++
			:: k == NB -> break
			od;
			if
			:: k < NB -> b = k; kfree()
			:: else -> skip
			fi
#ifndef NO_EVICT
		:: /* another class's new magazine evicts this one */
			evict()
#endif
		fi;
		/* scratch values are dead here: forget them (fewer states) */
		atomic { b = 0; g = 0; list = 0; stale = 0; spare = 0; k = 0; h = 0;
			 done_ = false; locked = false; nb = false; gave = false; ret = false }
	od;
	kick();
	hart_exit()
}

/*
 * Hart 2 starts with a full magazine (block 2 in magazine 2) loaded and
 * only ever exits. Until then it is idle with interrupts on and takes
 * kicks. It is the third hart that puts a full magazine into the depot
 * after a requester drained it.
 */
proctype exiter(byte me)
{
	byte r, m, old, t, mt, h, g, list, cnt;
	bool ok, nb, gave;

	do
	:: kick()
	:: break
	od;
	hart_exit()
}

/* Counts where block b and magazine m are once every hart has ended. */
inline check_all(b, m, cnt, hops) {
	b = 0;
	do
	:: b < NB ->
		cnt = 0;
		if :: heap_blocks & (1 << b) -> cnt++ :: else -> skip fi;
		if :: user[b] != NONE -> cnt++ :: else -> skip fi;
		m = 0;
		do
		:: m < NM -> if :: round[m] == b && !(heap_mags & (1 << m)) -> cnt++ :: else -> skip fi; m++
		:: else -> break
		od;
		assert(cnt == 1);
		b++
	:: else -> break
	od;
	m = 0;
	do
	:: m < NM ->
		cnt = 0;
		if :: heap_mags & (1 << m) -> cnt++; assert(round[m] == NONE) :: else -> skip fi;
		b = 0;
		do
		:: b < NH ->
			if :: loaded[b] == m -> cnt++ :: else -> skip fi;
			if :: prev[b] == m -> cnt++ :: else -> skip fi;
			if :: shell[b] == m -> cnt++; assert(round[m] == NONE) :: else -> skip fi;
			b++
		:: else -> break
		od;
		/* the depot's lists and the orphan list, each walk bounded */
		b = depot_full; hops = 0;
		do
		:: b != NONE && hops <= NM -> if :: b == m -> cnt++ :: else -> skip fi; b = link[b]; hops++
		:: else -> break
		od;
		assert(hops <= NM);
		b = depot_empty; hops = 0;
		do
		:: b != NONE && hops <= NM -> if :: b == m -> cnt++ :: else -> skip fi; b = link[b]; hops++
		:: else -> break
		od;
		assert(hops <= NM);
		b = orphans; hops = 0;
		do
		:: b != NONE && hops <= NM -> if :: b == m -> cnt++ :: else -> skip fi; b = link[b]; hops++
		:: else -> break
		od;
		assert(hops <= NM);
		assert(cnt == 1);
		m++
	:: else -> break
	od
}

init {
	byte b, m, cnt, hops;
	atomic {
		b = 0;
		do
		:: b < NB -> user[b] = NONE; b++
		:: else -> break
		od;
		m = 0;
		do
		:: m < NM -> round[m] = NONE; link[m] = NONE; m++
		:: else -> break
		od;
		b = 0;
		do
		:: b < NH -> loaded[b] = NONE; prev[b] = NONE; shell[b] = NONE; b++
		:: else -> break
		od;
		/*
		 * The start: block 0 in the heap, block 1 held by hart 1's
		 * user, block 2 in hart 2's full magazine 2; hart 0 has
		 * magazine 0 loaded and empty, magazine 1 is in the pool.
		 */
		loaded[0] = 0;
		user[1] = 1;
		round[2] = 2;
		loaded[2] = 2;
		run hart(0);
		run hart(1);
#ifdef EXITER
		alive[2] = true;
		run exiter(2)
#else
		/* without hart 2, its magazine starts in the depot */
		loaded[2] = NONE;
		depot_full = 2
#endif
	}
	(_nr_pr == 1);
	atomic { check_all(b, m, cnt, hops) }
}
