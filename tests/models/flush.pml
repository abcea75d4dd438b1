/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Promela model of percpu's magazine/depot exchange and the remote flush,
 * for Spin, with the flush answered by detaching magazines onto a lock-free
 * orphan list (the design the flush is moving to; percpu/flush.c today
 * frees to the heap from the answering hart).
 *
 * What is modelled (percpu/kmalloc.c alloc_slow/free_slow, flush.c):
 *  - NH harts, each with a loaded and a previous magazine of one class.
 *    Magazines hold one round (capacity 1): a magazine is empty or full,
 *    which keeps the state small and still exercises every exchange.
 *  - One depot: lists of full and empty magazines under a ticket lock.
 *  - The heap: a set of free blocks and a pool of free magazines under its
 *    ticket lock (the heap lock).
 *  - A user lock L, which a hart may hold (irqsave) around a kmalloc: the
 *    "allocates under a spinlock" kernel of issue 12.
 *  - Every lock wait has interrupts masked, so a kick (IPI) cannot be
 *    taken there; the wait itself polls flush_pending and answers. Between
 *    operations interrupts are on: a pending kick is taken before the next
 *    operation starts. Slow paths answer at their start, as today.
 *  - Answering a flush: the hart detaches its loaded and previous
 *    magazines from its slots and pushes each onto the orphan list with a
 *    CAS; it takes no lock, so it may answer while waiting for any lock,
 *    the heap lock included. Then it publishes flush_done = flush_req.
 *  - A kmalloc that finds neither a magazine round nor a heap block runs
 *    the reclaim: its own magazines to the heap, the depot drained, then
 *    the remote flush: flush_req++ and flush_pending = 1 for every other
 *    active hart, a wait that ends when all answered (answering its own
 *    requests meanwhile) or on `timeout` (Spin's "nothing else can move":
 *    the model of the real bounded wait running out), then the whole orphan
 *    list taken with one atomic exchange and freed to the heap, and the
 *    depot drained again.
 *  - A hart that ends (percpu_hart_exit) answers, detaches its magazines
 *    to the orphan list and marks itself inactive.
 *
 * Checked (flush_test.sh):
 *  - no block handed out twice: assert at every hand-out that no user
 *    holds the block;
 *  - no block or magazine lost or duplicated: when every hart has ended,
 *    each block is in exactly one place (a user, the heap, a magazine that
 *    is reachable) and each magazine in exactly one place (a slot, the
 *    depot, the orphan list, the heap's pool);
 *  - no deadlock: Spin's invalid-end-state check (a hart stuck in a lock
 *    wait for ever);
 *  - no false OOM: a remote flush never runs into its time bound
 *    (assert(!timed_out)): every hart it asked answers, even one that
 *    waits, interrupts masked, for the lock the requester holds.
 *
 * Seeded bugs (-D switches), each of which Spin must catch:
 *  BUG_NO_POLL_IN_WAIT  lock waits do not answer (today's ticket_lock):
 *                       the requester holding L times out;
 *  BUG_ANSWER_TO_HEAP   the answering hart frees its magazines to the heap
 *                       itself (today's flush_local): inside a wait for
 *                       the heap lock it takes a second ticket behind its
 *                       own and deadlocks;
 *  BUG_ORPHAN_NO_CAS    the orphan push is a load and a store, not a CAS:
 *                       a push racing with the requester's exchange puts
 *                       back a list the requester already freed;
 *  BUG_STALE_SLOT       the alloc exchange reads its loaded magazine before
 *                       the depot lock wait and uses it after (the shape of
 *                       alloc_slow today): a flush answered in the wait has
 *                       already orphaned that magazine.
 */
#define NH 3           /* harts: two that allocate and free, one that exits */
#define NB 3           /* blocks: 0 and 1 in the heap, 2 in hart 2's magazine */
#define NM 3           /* magazines (0, 1 in the heap's pool), one round each */
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
byte depot_full = NONE, depot_empty = NONE;
byte orphans = NONE;           /* lock-free list head */
bool pending[NH];              /* flush_pending */
byte req[NH], done[NH];        /* flush_req, flush_done */
bool alive[NH];
byte user[NB];                 /* ghost: the hart holding block b, or NONE */
bool timed_out = false;        /* ghost: a flush wait ran out */

/* Ticket locks: next ticket, owner. */
byte heap_next, heap_owner, depot_next, depot_owner;
/* The user lock L: a plain test-and-set lock is enough here. */
byte user_lock = NONE;

/* ---- the orphan list ---- */
inline orphan_push(m, old, ok) {
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
inline heap_put_mag(m) {
	if
	:: round[m] != NONE ->
		heap_blocks = heap_blocks | (1 << round[m]);
		round[m] = NONE
	:: else -> skip
	fi;
	heap_mags = heap_mags | (1 << m)
}

/* ---- answering a flush (interrupts masked, any lock may be awaited) ---- */
#ifndef BUG_ANSWER_TO_HEAP
inline answer(me, r, m, old, ok, t) {
	pending[me] = false;
	r = req[me];
	m = loaded[me]; loaded[me] = NONE;
	if :: m != NONE -> orphan_push(m, old, ok) :: else -> skip fi;
	m = prev[me]; prev[me] = NONE;
	if :: m != NONE -> orphan_push(m, old, ok) :: else -> skip fi;
	atomic { done[me] = r; r = 0; m = 0; old = 0; ok = false }
}
#else
inline answer(me, r, m, old, ok, t) {
	pending[me] = false;
	r = req[me];
	/* today's flush_local: the heap lock, from wherever we are */
	atomic { t = heap_next; heap_next = (heap_next + 1) % TICKETS };
	(heap_owner == t);
	m = loaded[me]; loaded[me] = NONE;
	if :: m != NONE -> heap_put_mag(m) :: else -> skip fi;
	m = prev[me]; prev[me] = NONE;
	if :: m != NONE -> heap_put_mag(m) :: else -> skip fi;
	heap_owner = (heap_owner + 1) % TICKETS;
	done[me] = r
}
#endif

inline honour(me, r, m, old, ok, t) {
	if
	:: pending[me] -> answer(me, r, m, old, ok, t)
	:: else -> skip
	fi
}

/*
 * A ticket lock wait with interrupts masked. It answers flush requests
 * while it waits (unless BUG_NO_POLL_IN_WAIT).
 */
inline ticket_wait(nextv, ownerv, me, r, m, old, ok, t, mt) {
	atomic { mt = nextv; nextv = (nextv + 1) % TICKETS };
	do
	:: ownerv == mt -> mt = 0; break
#ifndef BUG_NO_POLL_IN_WAIT
	:: pending[me] -> answer(me, r, m, old, ok, t)
#endif
	od
}

inline user_lock_wait(me, r, m, old, ok, t) {
	do
	:: atomic { user_lock == NONE -> user_lock = me }; break
#ifndef BUG_NO_POLL_IN_WAIT
	:: pending[me] -> answer(me, r, m, old, ok, t)
#endif
	od
}

#define HEAP_LOCK ticket_wait(heap_next, heap_owner, me, r, m, old, ok, t, mt)
#define HEAP_UNLOCK heap_owner = (heap_owner + 1) % TICKETS
#define DEPOT_LOCK ticket_wait(depot_next, depot_owner, me, r, m, old, ok, t, mt)
#define DEPOT_UNLOCK depot_owner = (depot_owner + 1) % TICKETS

/* Hands block b to the user on hart me. */
inline hand_out(me, b) {
	assert(user[b] == NONE);
	user[b] = me
}

/* All depot magazines to the heap (percpu_depot_drain). */
inline drain_depot(me, r, m, old, ok, t, mt, list) {
	DEPOT_LOCK;
	atomic {
	list = depot_full;
	depot_full = NONE;
	DEPOT_UNLOCK };
	HEAP_LOCK;
	atomic {
	do
	:: list != NONE -> m = list; list = link[m]; heap_put_mag(m)
	:: else -> break
	od;
	HEAP_UNLOCK };
	DEPOT_LOCK;
	atomic {
	list = depot_empty;
	depot_empty = NONE;
	DEPOT_UNLOCK };
	HEAP_LOCK;
	atomic {
	do
	:: list != NONE -> m = list; list = link[m]; heap_put_mag(m)
	:: else -> break
	od;
	HEAP_UNLOCK }
}

/* Hart h has answered every request of ours (or is not running). */
#define ANSWERED(h, me) ((h) == (me) || !alive[h] || done[h] == req[h])

/* Every other active hart asked, then a bounded wait for the answers. */
inline flush_remote(me, r, m, old, ok, t, h, all) {
	atomic {
		h = 0;
		do
		:: h < NH ->
			if
			:: h != me && alive[h] -> req[h]++; pending[h] = true
			:: else -> skip
			fi;
			h++
		:: else -> break
		od
	}
	/* the wait: ends when all answered, or on the bound (timeout) */
	do
	:: ANSWERED(0, me) && ANSWERED(1, me) && ANSWERED(2, me) -> break
	:: pending[me] -> answer(me, r, m, old, ok, t)
	:: timeout -> timed_out = true; break
	od
}

/* kheap_alloc's reclaim hook with the orphan list, then one retry. */
inline reclaim(me, r, m, old, ok, t, mt, h, all, list) {
	/* our own magazines to the heap (flush_local) */
	HEAP_LOCK;
	atomic {
	if :: loaded[me] != NONE -> heap_put_mag(loaded[me]); loaded[me] = NONE :: else -> skip fi;
	if :: prev[me] != NONE -> heap_put_mag(prev[me]); prev[me] = NONE :: else -> skip fi;
	HEAP_UNLOCK };
	drain_depot(me, r, m, old, ok, t, mt, list);
	flush_remote(me, r, m, old, ok, t, h, all);
	assert(!timed_out);
	/* the whole orphan list in one exchange, freed to the heap */
	atomic { list = orphans; orphans = NONE };
	HEAP_LOCK;
	atomic {
	do
	:: list != NONE -> m = list; list = link[m]; heap_put_mag(m)
	:: else -> break
	od;
	HEAP_UNLOCK };
	drain_depot(me, r, m, old, ok, t, mt, list)
}

/* The lowest free heap block into b (NONE if the heap is empty). */
inline heap_take(b) {
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

inline heap_take_mag(g) {
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

/* kmalloc, interrupts masked: a round, else the depot, else the heap. */
inline kmalloc(me, b, r, m, old, ok, t, mt, h, all, list, g, stale) {
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
		honour(me, r, m, old, ok, t);
		if
		:: loaded[me] != NONE && round[loaded[me]] != NONE ->
			b = round[loaded[me]]; round[loaded[me]] = NONE
		:: loaded[me] == NONE || round[loaded[me]] == NONE ->
			if
			:: prev[me] != NONE && round[prev[me]] != NONE ->
				/* swap loaded <-> previous */
				g = loaded[me]; loaded[me] = prev[me]; prev[me] = g;
				b = round[loaded[me]]; round[loaded[me]] = NONE
			:: else ->
				/* the depot exchange */
				stale = loaded[me];
				DEPOT_LOCK;
	atomic {
#ifndef BUG_STALE_SLOT
				stale = loaded[me]; /* re-read: a flush in the wait may have taken it */
#endif
				g = depot_full;
				if
				:: g != NONE ->
					depot_full = link[g];
					if
					:: stale != NONE ->
						/* previous (empty) to the depot, loaded -> previous */
						if
						:: prev[me] != NONE ->
							link[prev[me]] = depot_empty;
							depot_empty = prev[me]
						:: else -> skip
						fi;
						prev[me] = stale
					:: else -> skip
					fi;
					loaded[me] = g
				:: else -> skip
				fi;
				DEPOT_UNLOCK };
				if
				:: g != NONE -> b = round[g]; round[g] = NONE
				:: else ->
					/* no full magazine anywhere: one block from the heap */
					HEAP_LOCK;
	atomic {
					heap_take(b);
					HEAP_UNLOCK };
					if
					:: b == NONE ->
						reclaim(me, r, m, old, ok, t, mt, h, all, list);
						HEAP_LOCK;
	atomic {
						heap_take(b);
						HEAP_UNLOCK }
					:: else -> skip
					fi
				fi
			fi
		fi
	:: else -> skip
	fi;
	if
	:: b != NONE -> hand_out(me, b)
	:: else -> skip /* kmalloc_try: NULL */
	fi
}

/* kfree of block b, interrupts masked. */
inline kfree(me, b, r, m, old, ok, t, mt, g, spare, done_) {
	user[b] = NONE;
	done_ = false;
	spare = NONE;
	atomic {
		if
		:: loaded[me] != NONE && round[loaded[me]] == NONE ->
			round[loaded[me]] = b; done_ = true
		:: else -> skip
		fi
	}
	do
	:: done_ -> break
	:: !done_ ->
		honour(me, r, m, old, ok, t);
		if
		:: loaded[me] != NONE && round[loaded[me]] == NONE ->
			round[loaded[me]] = b; done_ = true
		:: prev[me] != NONE && round[prev[me]] == NONE &&
		   !(loaded[me] != NONE && round[loaded[me]] == NONE) ->
			g = loaded[me]; loaded[me] = prev[me]; prev[me] = g;
			round[loaded[me]] = b; done_ = true
		:: loaded[me] == NONE && spare != NONE &&
		   !(prev[me] != NONE && round[prev[me]] == NONE) ->
			loaded[me] = spare; spare = NONE
		:: loaded[me] != NONE && round[loaded[me]] != NONE && prev[me] == NONE ->
			/* loaded full, no previous yet: it becomes the previous */
			prev[me] = loaded[me]; loaded[me] = NONE
		:: else ->
			/* the depot: previous (full) out, an empty one in */
			DEPOT_LOCK;
	atomic {
			if
			:: loaded[me] != NONE && prev[me] != NONE ->
				link[prev[me]] = depot_full;
				depot_full = prev[me];
				prev[me] = loaded[me];
				loaded[me] = NONE
			:: else -> skip
			fi;
			if
			:: spare == NONE && depot_empty != NONE ->
				spare = depot_empty; depot_empty = link[spare]
			:: else -> skip
			fi;
			DEPOT_UNLOCK };
			if
			:: spare == NONE ->
				HEAP_LOCK;
	atomic {
				heap_take_mag(spare);
				if
				:: spare == NONE ->
					/* no magazine: the block goes to the heap */
					heap_blocks = heap_blocks | (1 << b);
					done_ = true
				:: else -> round[spare] = NONE
				fi;
				HEAP_UNLOCK }
			:: else -> skip
			fi
		fi
	od;
	if
	:: spare != NONE ->
		DEPOT_LOCK;
	atomic {
		link[spare] = depot_empty;
		depot_empty = spare;
		DEPOT_UNLOCK }
	:: else -> skip
	fi
}

proctype hart(byte me)
{
	byte b, r, m, old, t, mt, h, g, list, stale, spare, n, k, nops;
	bool ok, all, done_, locked;

	alive[me] = true;
	nops = (me == 0 -> OPS0 : OPS1);
	n = 0;
	do
	:: n == nops -> break
	:: n < nops ->
		n++;
		/* interrupts on: a pending kick is taken now */
		honour(me, r, m, old, ok, t);
		if
		:: /* kmalloc, maybe under the user lock */
			if
			:: locked = true; user_lock_wait(me, r, m, old, ok, t)
			:: locked = false
			fi;
			kmalloc(me, b, r, m, old, ok, t, mt, h, all, list, g, stale);
			if :: locked -> user_lock = NONE :: else -> skip fi
		:: /* kfree of a block this hart holds */
			k = 0;
			do
			:: k < NB && user[k] == me -> break
			:: k < NB && user[k] != me -> k++
			:: k == NB -> break
			od;
			if
			:: k < NB -> kfree(me, k, r, m, old, ok, t, mt, g, spare, done_)
			:: else -> skip
			fi
		fi;
		/* scratch values are dead here: forget them (fewer states) */
		atomic { b = 0; g = 0; list = 0; stale = 0; spare = 0; k = 0; h = 0;
			 all = false; done_ = false; locked = false }
	od;
	/* percpu_hart_exit */
	honour(me, r, m, old, ok, t);
	answer(me, r, m, old, ok, t);
	alive[me] = false
}

/*
 * Hart 2 starts with a full magazine (block 2 in magazine 2) loaded and
 * only ever exits (percpu_hart_exit: full magazines to the depot). Until
 * then it is idle with interrupts on and takes kicks. It is the third hart
 * that puts a full magazine into the depot after a requester drained it.
 */
proctype exiter(byte me)
{
	byte r, m, old, t, mt, x;
	bool ok;

	do
	:: pending[me] -> answer(me, r, m, old, ok, t) /* the kick */
	:: break
	od;
	honour(me, r, m, old, ok, t);
	x = loaded[me];
	loaded[me] = NONE;
	if
	:: x != NONE ->
		DEPOT_LOCK;
	atomic {
		link[x] = depot_full;
		depot_full = x;
		DEPOT_UNLOCK }
	:: else -> skip
	fi;
	alive[me] = false
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
		:: b < NH -> loaded[b] = NONE; prev[b] = NONE; b++
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
