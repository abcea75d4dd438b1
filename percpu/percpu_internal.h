// SPDX-License-Identifier: BSD-2-Clause
/*
 * percpu's private header: the per-hart and per-class data, the slot
 * operations and the hit paths that percpu's files (and the LD_PRELOAD shim,
 * through //percpu:percpu_internal) share. The API is <percpu/kmalloc.h>.
 */
#ifndef PERCPU_PERCPU_INTERNAL_H
#define PERCPU_PERCPU_INTERNAL_H

/*
 * Per-hart magazines and depots (Bonwick & Adams 2001) in front of the
 * locked global heap. The path of a request is described once in
 * <percpu/kmalloc.h>; percpu keeps to it.
 *
 * Data. Each hart owns one struct percpu_cpu (cache-line aligned, reached
 * with port_hart_data(), one load through tp). For each class it holds a
 * slot: the loaded magazine as three pointers into its round array (base <=
 * top <= limit: rounds [base, top) are cached blocks) and the previous
 * magazine, which is always either empty or full (Bonwick's invariant), with
 * its round count. Only the
 * owner hart changes a slot, always with local interrupts masked, so the
 * fast path needs no lock and no atomic read-modify-write. Other harts read
 * top/base/prev_rounds for statistics, so the owner writes them with relaxed
 * atomic stores (plain sd on RISC-V) and readers load them relaxed.
 *
 * Each class has a depot: lists of full and empty magazines under a ticket
 * lock taken with interrupts masked. Magazines are allocated from the heap on
 * demand (a hart that never uses a class never pays for its magazines) and
 * all of them are freed by a full drain.
 *
 *
 * Flush requests: flush.c. Reentrancy of the slow paths: kmalloc.c.
 */
#include <percpu/config.h>
#include <percpu/kmalloc.h>

#include <heap/heap_tag.h> /* the owner-lane contract percpu keeps */
#include <heap/kheap.h>
#include <platform/port.h>
#include <platform/ticket_lock.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Words one hart writes and others read for statistics: relaxed, they order
 * nothing. The store is a volatile store (Linux's WRITE_ONCE) rather than a
 * relaxed __atomic_store_n because GCC 12 for RV64 emits that as amoswap.d,
 * an atomic read-modify-write the fast path must not have; under TSan it is
 * the atomic store, so the sanitizer knows the race is intended.
 */
/*
 * Built with ThreadSanitizer: gcc says so with __SANITIZE_THREAD__, clang 14
 * (`--config=tsan`) only through __has_feature.
 */
#if defined(__SANITIZE_THREAD__)
#define PERCPU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PERCPU_TSAN 1
#endif
#endif
#ifndef PERCPU_TSAN
#define PERCPU_TSAN 0
#endif

#define LOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#if PERCPU_TSAN || defined(HOST_SANITIZED)
#define STORE_RELAXED(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#else
#define STORE_RELAXED(p, v) (*(volatile __typeof__(*(p)) *)(p) = (v))
#endif

/* Fast paths: no frame (the toolchain's -fno-omit-frame-pointer costs 5). */
#if defined(__GNUC__) && !defined(__clang__)
#define PERCPU_FAST __attribute__((optimize("omit-frame-pointer")))
#else
#define PERCPU_FAST
#endif
/*
 * Past the fast paths: out of line, so the hit paths stay small, but not
 * cold: magazine refills and flushes, blocks above the largest class and
 * every call in bypass mode run here, and GCC would optimise cold code
 * for size and call even one-line helpers (this_cpu, slow_enter) out of
 * line: the bypass pair cost 732 instructions, 457 of them outside the heap.
 */
#define PERCPU_SLOW __attribute__((noinline))
/* Error paths: misuse reports, lost blocks. */
#define PERCPU_COLD __attribute__((noinline, cold))
/* A per-hart counter: only its owner writes it, so load+store, no RMW. */
#define STAT_ADD(p, n) STORE_RELAXED((p), *(p) + (n))

/*
 * A magazine: a header and an array of rounds. Its capacity is chosen when it
 * is made (budget.c: from the cache budget, the active harts and the class)
 * and kept for its life, so magazines of one class may differ in size; every
 * magazine is charged to the budget from creation to destruction.
 */
struct percpu_magazine {
	uint16_t cls;                 /* its class */
	/* Rounds when full, 1..percpu_class_rounds[cls]; 0: an orphaned spare shell. */
	uint8_t cap;
	/*
	 * Rounds it holds while in no slot: on a depot's full list (cap, or
	 * fewer from an exiting hart), on the orphan list, or reaped.
	 */
	uint8_t held;
	uint16_t orphan_from;         /* the hart that put it on the orphan list */
	uint8_t room;                 /* rounds its array holds: >= cap (a spare shell reused) */
	/*
	 * Depot or orphan list link; NULL while loaded in a slot: it is the
	 * word below rounds[0], so an empty magazine pops NULL.
	 */
	struct percpu_magazine *next;
	void *rounds[];               /* cap of them, and a spare word */
};


/*
 * Slots. A block's state lane (heap_tag.h) holds, while it is live and was
 * handed out by a magazine, the byte offset of its class's slot: class cls
 * lives in slot PERCPU_SLOT(cls) and its blocks carry PERCPU_STATE(cls) =
 * slot * 8 = the slot's byte offset in the top[] and limit[] arrays. So the
 * fast free turns one byte load into the slot's address with one add. The
 * other slots (0: cached, 1: live as the heap hands it out, 31) never have
 * a magazine: their top == limit == the empty sentinel, so a block in any
 * other state falls through to the slow path.
 */
/*
 * The big classes (PERCPU_NFAST and up) do not fit in the state byte: their
 * slots come after the 32 the byte can name, and their live blocks all carry
 * PERCPU_STATE_BIG, slot 31's offset, a slot that never has a magazine, so
 * their kfree takes the slow path, which finds the class from the size.
 */
#define PERCPU_NSLOTS (PERCPU_NCLASSES + 3)
#define PERCPU_SLOT(cls) ((unsigned)(cls) < PERCPU_NFAST ? (unsigned)(cls) + 2 \
							   : (unsigned)(cls) + 3)
#define PERCPU_STATE(cls) (PERCPU_SLOT(cls) << 3)
#define PERCPU_STATE_BIG (31u << 3)
/*
 * percpu_idle's size_state: slot 1, HEAP_STATE_LIVE's, which never has a
 * magazine either (no live block carries it in a size table, so it can
 * mean "no record yet" there, or "a class only the heap serves").
 */
#define PERCPU_STATE_IDLE HEAP_STATE_LIVE
_Static_assert(PERCPU_SLOT(PERCPU_NFAST - 1) < 31 &&
	       PERCPU_STATE(0) != HEAP_STATE_LIVE &&
	       PERCPU_SLOT(PERCPU_NFAST) == 32,
	       "every fast class has a slot whose state is a live state");

/* The state a live block of class cls carries. */
static inline unsigned class_state(unsigned cls)
{
	return cls < PERCPU_NFAST ? PERCPU_STATE(cls) : PERCPU_STATE_BIG;
}

/* Slow-path counters, only the owner writes them (see STAT_ADD). */
struct percpu_counters {
	uint64_t slow_allocs, slow_frees;
	uint64_t swaps, depot_exchanges, refills, refill_blocks;
	uint64_t returns, return_blocks, large_allocs, large_frees;
	uint64_t flushes, flush_requests, lock_acquisitions, lock_spins;
	/*
	 * Block flow through this hart's magazines, to derive the fast frees
	 * (which are not counted): pops and pushes on the slow paths, blocks
	 * loaded from outside (refills, full magazines from a depot) and
	 * unloaded (full magazines to a depot, flushes).
	 */
	uint64_t slow_pops, slow_pushes, mag_in, mag_out;
	uint64_t evictions; /* classes given up for room in the budget */
	uint64_t shells_made, shells_reused; /* magazine arrays: new, spares taken */
	/*
	 * This hart's last flush request of other harts: harts that had not
	 * answered when its wait ended (bit h % 64 of word h / 64), for the
	 * OOM report. Only this hart writes them.
	 */
	uint64_t flush_asked; /* flush_ask calls */
	uint64_t unanswered[(PORT_MAX_HARTS + 63) / 64];
	/*
	 * This hart's last reclaim (both levels of one failing allocation):
	 * bytes of cached blocks it got back from its own slots, the depots
	 * and other harts (their orphans), and which harts those came from.
	 */
	uint64_t reclaims;
	uint64_t reclaim_own_bytes, reclaim_depot_bytes, reclaim_remote_bytes;
	uint64_t reclaimed_from[(PORT_MAX_HARTS + 63) / 64];
	/*
	 * percpu_orphans_returned (flush.c) when this hart's reclaim last
	 * looked, from its quick level on: orphans any hart returned since
	 * are memory the failing allocation may find, even if this hart did
	 * not free them itself.
	 */
	uint64_t reclaim_orphan_mark;
	/*
	 * kheap_free_batch calls this hart made (percpu_heap_return,
	 * percpu_spares_free): percpu_reclaim's test of whether it gave the
	 * heap anything, a magazine's array alone included.
	 */
	uint64_t heap_frees;
} __attribute__((aligned(PORT_CACHE_LINE)));

/*
 * One hart's data, reached with port_hart_data() (one load through tp on
 * RISC-V). The fast paths use only the first part, at small offsets from
 * that pointer: top[] and limit[] indexed by state byte, the alloc-hit
 * counter, the flush word, the size table. Cache-line aligned, so no two
 * harts share a line.
 */
struct percpu_cpu {
	/*
	 * The loaded magazine of slot i: rounds [base[i], top[i]) are cached
	 * blocks, limit[i] = base[i] + rounds per magazine. The word below
	 * base[i] (the magazine's `next`) is NULL while it is loaded, so an
	 * empty magazine pops NULL. Only the owner writes them, interrupts
	 * masked; top is read by other harts for statistics, so it is stored
	 * relaxed (a plain sd).
	 */
	void **top[PERCPU_NSLOTS];
	void **limit[PERCPU_NSLOTS];
	uint64_t alloc_hits; /* fast allocs: only the owner writes it */
	/*
	 * Nonzero when another hart asked for a flush. Written by requesters,
	 * cleared by the owner; loaded on the fast free only where a kick
	 * cannot interrupt the hart (PORT_KICK_INTERRUPTS == 0).
	 */
	unsigned long flush_pending;
	/* (size - 1) >> 4 -> PERCPU_STATE(class), for sizes 1..PERCPU_MAX_FAST. */
	uint8_t size_state[PERCPU_MAX_FAST >> 4];
	/* Slow-path data. base[i] NULL: no magazine loaded in slot i. */
	void **base[PERCPU_NSLOTS];
	struct percpu_magazine *prev[PERCPU_NSLOTS]; /* empty or full */
	uint8_t prev_rounds[PERCPU_NSLOTS];          /* of prev[]: 0 or cap */
	/*
	 * 1 once slot i had a magazine on this hart (since its first use or
	 * percpu_hart_exit). While 0, a free of that class goes to the heap:
	 * a block freed by a hart that has never used the class was most
	 * likely handed over by another hart, and caching it here would give
	 * it back to this hart next, next to the other hart's blocks on one
	 * cache line (Hoard's passive false sharing, cachescratch in
	 * tools/bench). Costs one heap free per class per hart.
	 */
	uint8_t seen[PERCPU_NSLOTS];
	/*
	 * Rounds the next refill of slot i asks the heap for, 0 before its
	 * first or after one that got nothing (then PERCPU_REFILL_FIRST_ROUNDS;
	 * else twice what the last refill got: see refill() in kmalloc.c).
	 * Owner only, interrupts masked; flush_slot clears it with the slot.
	 */
	uint8_t refill_rounds[PERCPU_NSLOTS];
	/*
	 * Recency of each slot's last slow path (slot_used[i] = ++slot_clock),
	 * so a hart with no room left in its share of the budget gives up the
	 * magazines of its least recently used class (budget.c). Owner only.
	 */
	uint32_t slot_clock;
	uint32_t slot_used[PERCPU_NSLOTS];
	/*
	 * Spare magazine shells (arrays without rounds) that evictions left,
	 * for this hart's next new magazines, so that a class taking another's
	 * room costs no heap call for its array (depot.c): linked through
	 * `next`, at most PERCPU_SPARE_SHELLS, each charged to the budget as
	 * the bytes of its array (spare_charge: their sum). Owner only,
	 * interrupts masked (spare_charge stored relaxed: flush requesters
	 * read it, percpu_hart_holds); a flush to the heap or the depot
	 * (drain, reclaim, hart exit) frees them, a flush answer puts them on
	 * the orphan list (no heap call).
	 */
	struct percpu_magazine *spares;
	size_t spare_charge;
	/*
	 * What the magazines in its slots (loaded and previous) are charged:
	 * slot_load and slot_set_prev keep it, so a new magazine's capacity
	 * (percpu_mag_cap) needs no walk over the classes. Owner only,
	 * interrupts masked.
	 */
	size_t slots_charge;
	/*
	 * Bit cls set while class cls has a magazine in a slot (loaded or
	 * previous), kept by slot_load and slot_set_prev with the charge, so
	 * the eviction's least-recently-used scan (depot.c) looks only at the
	 * classes this hart holds, not at all PERCPU_NCLASSES of them. Owner
	 * only, interrupts masked; stored relaxed, for flush requesters read
	 * it (percpu_hart_holds).
	 */
	uint64_t classes_held;
	/*
	 * Nonzero while a slow path has this hart's slots in locals (from
	 * slow_enter to slow_exit): the kick handler, which port_wait_long
	 * also calls while this hart waits for a lock, must not flush them
	 * then. Owner only, interrupts masked.
	 */
	unsigned busy;
	/* Flush protocol and liveness, touched by other harts. */
	unsigned active;     /* 1 from first use to percpu_hart_exit */
	/*
	 * 1 + the record's hart index once set up (percpu_cpu_init), 0
	 * before: the record's own index where it is not an element of
	 * percpu_cpus (PORT_HART_DATA_AT_TP ports keep it in the port's area).
	 */
	unsigned index1;
	uint64_t flush_req;  /* requests made (requesters add 1) */
	uint64_t flush_done; /* the flush_req value the last flush honoured */
} __attribute__((aligned(PORT_CACHE_LINE)));

struct percpu_depot {
	ticket_lock_t lock;
	/*
	 * Magazines with rounds (full ones; an exiting hart's partly full
	 * ones too) and empty ones; under lock.
	 */
	struct percpu_magazine *full, *empty;
	/*
	 * Under lock, stored relaxed: nfull is read relaxed for statistics,
	 * and both by percpu_depot_alloc, with `loose`, to skip the lock of
	 * a depot that holds nothing.
	 */
	size_t nfull;
	size_t nempty;
	size_t full_rounds; /* rounds in `full` and loose; under lock */
	size_t published_rounds; /* of them, what depot_bytes_all counts (depot.c); under lock */
	/*
	 * The loose magazine (depot.c): rounds the depot hands out one at a
	 * time to harts that cache no magazine of the class at their share,
	 * refilled from the heap in runs, so their allocations take this
	 * class's lock instead of the heap's (their frees go to the heap).
	 * loose_n rounds; under lock (loose stored relaxed, as nfull).
	 */
	struct percpu_magazine *loose;
	size_t loose_n;
	bool loose_used; /* since reap_at; under lock */
	/*
	 * PERCPU_LOOSE_REFILL_UNLOCKED: a hart is refilling the loose
	 * magazine from the heap with the depot unlocked (depot.c,
	 * loose_refill), and the others go to the heap meanwhile; and the
	 * percpu_depot_drain calls so far, so that a refill a drain overtook
	 * gives its rounds back rather than cache them. Under lock.
	 */
	bool loose_refilling;
	uint64_t drains;
	/*
	 * Working set (Bonwick's depot reaping): the fewest full and empty
	 * magazines the depot held since reap_at was set; what it never
	 * needed in a PERCPU_DEPOT_REAP_US interval goes back. Under lock.
	 */
	size_t low_full, low_empty;
	uint64_t reap_at; /* port_time_us() */
	/*
	 * The lock's traffic, by every hart together (percpu_get_depot_stats):
	 * written by the holder, under lock; read relaxed. A hart's own
	 * lock_acquisitions and lock_spins count the same acquisitions.
	 */
	uint64_t acquisitions, spins;
} __attribute__((aligned(PORT_CACHE_LINE)));

/*
 * Magazines that harts gave up answering a flush request (flush.c): the
 * owner pushes, the requester (or any reclaim) takes the whole list and
 * returns it to the heap, so answering needs no heap lock and works in a
 * lock wait. A Treiber stack whose only pop is "take all": no ABA.
 */
struct percpu_orphans {
	struct percpu_magazine *head;
} __attribute__((aligned(PORT_CACHE_LINE)));

/*
 * The shared state, defined in init.c. Hidden: percpu's files reach each
 * other's symbols directly, and no shared object exports them.
 */
#pragma GCC visibility push(hidden)

#if !PORT_HART_DATA_AT_TP
extern struct percpu_cpu percpu_cpus[PORT_MAX_HARTS];
#endif

/*
 * What top and limit point at when a slot has no magazine: the NULL word
 * below it makes a pop fail, top == limit makes a push fail.
 */
extern void *percpu_no_mag[2];
#define PERCPU_NO_ROUNDS (&percpu_no_mag[1])

extern struct percpu_counters percpu_cold[PORT_MAX_HARTS];
extern struct percpu_depot percpu_depots[PERCPU_NCLASSES];
extern struct percpu_orphans percpu_orphans;
extern enum percpu_mode percpu_mode_;
extern bool percpu_ready; /* set once by percpu_init */
extern const struct percpu_cpu percpu_idle; /* a hart with no record yet */

/*
 * Can port_hart_data() be NULL? Not on a PORT_HART_DATA_INITIAL port, which
 * hands out percpu_idle instead: the fast paths then skip the test.
 */
static inline __attribute__((always_inline)) bool hart_data_ok(const struct percpu_cpu *c)
{
#if PORT_HART_DATA_INITIAL
	(void)c;
	return true;
#else
	return c != NULL;
#endif
}

/*
 * This hart's data. A hart's port_hart_data() is NULL (or percpu_idle)
 * until its first slow path stores its record there (the fast paths fall
 * through on either); on a PORT_HART_DATA_AT_TP port it is the record,
 * percpu_idle's copy until that slow path sets it up. Interrupts masked,
 * or no migration: see the port contract.
 */
void percpu_cpu_init(struct percpu_cpu *c, unsigned h);

/* Hart h's record, set up or not: in percpu_cpus, or in the port's area. */
static inline struct percpu_cpu *percpu_record(unsigned h)
{
#if PORT_HART_DATA_AT_TP
	return port_hart_data_of(h);
#else
	return &percpu_cpus[h];
#endif
}

/*
 * Hart h's record, set up by its first user (percpu_cpu_init), not by
 * percpu_init: a process that runs 2 of 128 harts touches 2 records, not
 * 128.
 */
static inline struct percpu_cpu *percpu_cpu_of(unsigned h)
{
	struct percpu_cpu *c = percpu_record(h);
	if (unlikely(!c->index1))
		percpu_cpu_init(c, h);
	return c;
}

static inline struct percpu_cpu *this_cpu(void)
{
	struct percpu_cpu *c = port_hart_data();
#if PORT_HART_DATA_AT_TP
	/* The record is the port's area at tp: set up in place (bypass too). */
	if (unlikely(!c->index1))
		percpu_cpu_init(c, port_hart_id());
#else
	if (unlikely(!c || c == &percpu_idle)) {
		c = percpu_cpu_of(port_hart_id());
		/*
		 * Bypass mode never stores it: its fast paths then always fall
		 * through to the slow path, which sends everything to the heap.
		 */
		if (percpu_mode_ == PERCPU_MAGAZINES)
			port_set_hart_data(c);
	}
#endif
	return c;
}

static inline void percpu_check_ready(void)
{
	if (unlikely(!percpu_ready))
		port_panic(PORT_EXIT_MISUSE, "percpu: use before init "
			   "(kmalloc/kfree before percpu_init)");
}

/* ---- slot manipulation (owner only, interrupts masked) ------------------ */

/*
 * What one round of class cls costs the budget: max(class size + one
 * pointer, the round floor), fixed by percpu_budget_init (budget.c) before
 * any other hart runs.
 */
extern size_t percpu_round_charge[PERCPU_NCLASSES];
/* What a magazine costs the budget besides its rounds: header, spare word. */
#define PERCPU_MAG_OVERHEAD (sizeof(struct percpu_magazine) + sizeof(void *))

/* What a magazine of class cls with room for cap rounds is charged. */
static inline size_t percpu_mag_charge(unsigned cls, unsigned cap)
{
	return PERCPU_MAG_OVERHEAD + cap * percpu_round_charge[cls];
}

/*
 * m's charge, or 0 for no magazine. slot_load and slot_set_prev read it
 * from the magazine leaving the slot too: it must still be the caller's
 * (not yet handed to a depot, which another hart may empty and free).
 */
static inline size_t slot_charge_of(const struct percpu_magazine *m)
{
	return m ? percpu_mag_charge(m->cls, m->cap) : 0;
}

static inline size_t slot_loaded_rounds(const struct percpu_cpu *c, unsigned si)
{
	return (size_t)(c->top[si] - c->base[si]);
}

static inline struct percpu_magazine *slot_loaded(const struct percpu_cpu *c, unsigned si)
{
	if (!c->base[si])
		return NULL;
	return (struct percpu_magazine *)((char *)c->base[si] -
					  __builtin_offsetof(struct percpu_magazine, rounds));
}

_Static_assert(PERCPU_NCLASSES <= 64, "classes_held is one 64-bit word");

/* Sets or clears class cls's bit in classes_held after its slot changed. */
static inline void slot_note_held(struct percpu_cpu *c, unsigned cls, unsigned si)
{
	uint64_t bit = 1ull << cls;
	uint64_t held = (c->base[si] || c->prev[si]) ? c->classes_held | bit
						     : c->classes_held & ~bit;
	STORE_RELAXED(&c->classes_held, held); /* requesters read it: percpu_hart_holds */
}

/*
 * Does hart c hold anything a flush would give back: a magazine in a slot
 * or a spare shell? A flush requester asks only such a hart (flush.c):
 * one that holds nothing has nothing to answer with, and waiting for it
 * cost every drain, trim and OOM reclaim the kicks and, for a hart that
 * does not answer in time (descheduled, parked in a barrier), the whole
 * flush wait: from 19 harts on the 16 MiB heap, where no hart's share
 * holds a magazine, all of them. Relaxed loads of owner-only words stored
 * relaxed: the answer may be a moment old, as for a hart that makes its
 * first magazine just after the request, which no request waits for
 * either.
 */
static inline bool percpu_hart_holds(const struct percpu_cpu *c)
{
	return LOAD_RELAXED(&c->classes_held) || LOAD_RELAXED(&c->spare_charge);
}

static inline void slot_load(struct percpu_cpu *c, unsigned cls,
			     struct percpu_magazine *m, size_t rounds)
{
	unsigned si = PERCPU_SLOT(cls);
	c->slots_charge += slot_charge_of(m) - slot_charge_of(slot_loaded(c, si));
	if (!m) {
		STORE_RELAXED(&c->base[si], (void **)NULL);
		STORE_RELAXED(&c->top[si], (void **)PERCPU_NO_ROUNDS);
		c->limit[si] = PERCPU_NO_ROUNDS;
	} else {
		m->next = NULL; /* the word below the rounds: an empty pop reads NULL */
		/* base first, then top: a reader that sees the new top sees rounds <= cap. */
		STORE_RELAXED(&c->base[si], m->rounds);
		STORE_RELAXED(&c->top[si], m->rounds + rounds);
		c->limit[si] = m->rounds + m->cap;
	}
	slot_note_held(c, cls, si);
}

static inline void slot_set_prev(struct percpu_cpu *c, unsigned cls,
				 struct percpu_magazine *m, size_t rounds)
{
	unsigned si = PERCPU_SLOT(cls);
	c->slots_charge += slot_charge_of(m) - slot_charge_of(c->prev[si]);
	c->prev[si] = m;
	STORE_RELAXED(&c->prev_rounds[si], (uint8_t)(m ? rounds : 0));
	slot_note_held(c, cls, si);
}

/* Loaded <-> previous. */
static inline void slot_swap(struct percpu_cpu *c, unsigned cls)
{
	unsigned si = PERCPU_SLOT(cls);
	struct percpu_magazine *old = slot_loaded(c, si);
	size_t old_rounds = old ? slot_loaded_rounds(c, si) : 0;
	slot_load(c, cls, c->prev[si], c->prev_rounds[si]);
	slot_set_prev(c, cls, old, old_rounds);
}

/*
 * Offset tags (aligned.c): the states an offset tag's state lane carries.
 * Their low bits are set, so kfree's fast path sends such a pointer to the
 * slow path.
 */
#define PERCPU_STATE_OFFSET 0x0bu       /* low bits set: never a live state */
#define PERCPU_STATE_OFFSET_FREED 0x0du
_Static_assert((PERCPU_STATE_OFFSET & 7) != 0 && (PERCPU_STATE_OFFSET_FREED & 7) != 0 &&
	       PERCPU_STATE_OFFSET != HEAP_STATE_FREE &&
	       PERCPU_STATE_OFFSET_FREED != HEAP_STATE_FREE,
	       "offset-tag states must not be live or free heap states");

static inline bool is_offset(const void *q)
{
	return heap_tag_state(q) == PERCPU_STATE_OFFSET;
}

/*
 * Is p inside the heap's filter, kheap_bounds_'s [lo, lo + span): the first
 * region and those claimed right above it, past the first word? Reads no
 * byte through p, so it comes before any load of a tag: a wild pointer (a
 * device register, an unmapped address) is sent to the slow path, which
 * asks percpu_in_heap, instead of faulting. NULL, and every pointer before
 * the first region (span 0), is outside. Relaxed loads: the filter changes
 * only under the heap lock when a region is claimed, and any pair a reader
 * sees was a safe range (<heap/kheap.h>).
 */
static inline __attribute__((always_inline)) bool percpu_in_hull(const void *p)
{
	uintptr_t off = (uintptr_t)p - LOAD_RELAXED(&kheap_bounds_.lo);
	return off < LOAD_RELAXED(&kheap_bounds_.span);
}

/*
 * Is p in a claimed region past its first word, so its tag may be read?
 * The filter, else the heap's list of regions (a block of a region outside
 * the filter; a pointer between two regions, inside their hull, is not).
 * The slow paths' test before any load through p.
 */
static inline bool percpu_in_heap(const void *p)
{
	return percpu_in_hull(p) || kheap_in_regions(p);
}

/* Is the previous magazine of slot si there and full? Empty? */
static inline bool slot_prev_full(const struct percpu_cpu *c, unsigned si)
{
	return c->prev[si] && c->prev_rounds[si] == c->prev[si]->cap;
}

static inline bool slot_prev_empty(const struct percpu_cpu *c, unsigned si)
{
	return c->prev[si] && c->prev_rounds[si] == 0;
}

/* This hart's cold counters (for STAT_ADD). */
static inline struct percpu_counters *cold(const struct percpu_cpu *c)
{
	return &percpu_cold[c->index1 - 1];
}

/* budget.c: the caches' budget and what each magazine is charged. */
size_t percpu_budget(void);
/* The depots' slice of it (PERCPU_DEPOT_BUDGET_PCT). */
size_t percpu_depot_budget(void);
/* Fixes the least charge of a round from the heap's size (percpu_init). */
void percpu_budget_init(void);
/*
 * The capacity for a new magazine of class cls on hart c, or 0: then
 * *crowded says whether the hart's other classes are what leaves no room.
 */
unsigned percpu_mag_cap(const struct percpu_cpu *c, unsigned cls, bool *crowded);
/*
 * The fewest rounds worth a magazine of class cls (<percpu/config.h>): a
 * table, since it depends only on the round floor, fixed by
 * percpu_budget_init before any other hart runs.
 */
extern uint8_t percpu_useful_rounds_of[PERCPU_NCLASSES];
static inline unsigned percpu_useful_rounds(unsigned cls)
{
	return percpu_useful_rounds_of[cls];
}
/* True if class cls is too big for a magazine at the harts' current share. */
bool percpu_class_uncached(unsigned cls);
/*
 * Nonzero for a class no magazine holds at any share and that has no loose
 * magazine either (fixed by percpu_budget_init): its blocks pass between
 * the caller and the heap, as a large request's do.
 */
extern uint8_t percpu_class_heap_only[PERCPU_NCLASSES];
/* The capacity of a depot's loose magazine of class cls, or 0 (none). */
unsigned percpu_loose_cap(unsigned cls);
/* Can class cls have a loose magazine at all (PERCPU_LOOSE_MAX_SIZE)? */
static inline bool percpu_loose_class(unsigned cls)
{
	return percpu_class_size[cls] <= PERCPU_LOOSE_MAX_SIZE;
}
bool percpu_charge(size_t bytes);
void percpu_uncharge(size_t bytes);
void percpu_hart_activated(void);
void percpu_hart_deactivated(void);
/*
 * fork child: the active-hart count is the forking hart's (forker_active: 0
 * or 1), and the charge what the child's magazines are charged (fork.c).
 */
void percpu_budget_fork_child(unsigned forker_active, size_t charged);

/* depot.c: magazines (made, destroyed) and the depots. */
/*
 * n cached blocks of a magazine's round array back to the heap, then `also`
 * (a live block, or NULL) in the same batch, under one lock: blocks[n] must
 * be a word of the array (every magazine has a spare one after its rounds).
 * The heap frees them in order, so `also` may be the array's own block.
 */
void percpu_heap_return(struct percpu_cpu *c, void **blocks, size_t n, void *also);
struct percpu_magazine *percpu_mag_create(struct percpu_cpu *c, unsigned cls);
/* Returns m's first `rounds` rounds and m itself to the heap; their bytes. */
size_t percpu_mag_destroy(struct percpu_cpu *c, struct percpu_magazine *m,
			  size_t rounds);
/*
 * Returns m's first `rounds` rounds to the heap and keeps m as one of c's
 * spare shells if it may (else it goes back with them); their bytes. c is
 * this hart, in its slow path.
 */
size_t percpu_mag_retire(struct percpu_cpu *c, struct percpu_magazine *m,
			 size_t rounds);
/* Frees c's spare shells (one heap call); c is this hart, in its slow path. */
void percpu_spares_free(struct percpu_cpu *c);
/*
 * Detaches c's spare shells (no heap call), each an empty magazine of no
 * rounds (cap 0) charged as one, for the orphan list: a list linked
 * through next. c is this hart, interrupts masked.
 */
struct percpu_magazine *percpu_spares_detach(struct percpu_cpu *c);
/*
 * The depot exchanges (Bonwick; SLUB's barn_replace_*_sheaf), each in one
 * lock acquisition:
 *   get_full: a full magazine, or NULL. If it has one and `empty` is not
 *     NULL, the depot takes `empty` in exchange.
 *   put_full: the depot takes `full` (NULL: nothing) and returns an empty
 *     magazine if it has one (else NULL). Past PERCPU_DEPOT_MAX_FULL the
 *     oldest full one goes back to the heap.
 *   put_empty: the depot takes m (or destroys it past PERCPU_DEPOT_MAX_EMPTY).
 */
struct percpu_magazine *percpu_depot_get_full(struct percpu_cpu *c, unsigned cls,
					      struct percpu_magazine *empty);
struct percpu_magazine *percpu_depot_put_full(struct percpu_cpu *c, unsigned cls,
					      struct percpu_magazine *full);
void percpu_depot_put_empty(struct percpu_cpu *c, unsigned cls,
			    struct percpu_magazine *m);
/*
 * Takes m with its first `rounds` rounds (hart exit: full or partly full)
 * if the depot has room; else false.
 */
bool percpu_depot_park(struct percpu_cpu *c, unsigned cls, struct percpu_magazine *m,
		       size_t rounds);
/* Returns every magazine the depot holds (and their rounds); their bytes. */
size_t percpu_depot_drain(struct percpu_cpu *c, unsigned cls);
/* What became of a block a free tried to cache. */
enum percpu_free_result {
	PERCPU_FREE_CACHED, /* in a magazine or the depot */
	PERCPU_FREE_HEAP,   /* no room: the caller hands it to the heap */
	/*
	 * PERCPU_HARDEN >= 2: another free of the block won the claim
	 * (state_claim); the caller names this one and leaves the block.
	 */
	PERCPU_FREE_LOST,
};

/*
 * The loose magazine: one block of class cls from the depot (marked live),
 * refilled from the heap when it runs dry, or NULL. For harts that cache no
 * magazine of cls; their frees of cls go to the heap (kmalloc.c free_slow).
 * A class above PERCPU_LOOSE_MAX_SIZE is served only from magazines that
 * harts left in its depot, and takes no lock when there are none. The run
 * from the heap is taken with the depot locked or not:
 * PERCPU_LOOSE_REFILL_UNLOCKED (<percpu/config.h>).
 */
void *percpu_depot_alloc(struct percpu_cpu *c, unsigned cls);

/* flush.c */
size_t percpu_honour_flush(struct percpu_cpu *c);
/* percpu_answer_flush's work, out of line: a request is pending. */
size_t percpu_answer_flush_pending(struct percpu_cpu *c);
/*
 * percpu_honour_flush where the hart may call the heap (its slow paths,
 * percpu_poll, hart exit; interrupts masked, busy): also returns the orphan
 * list to the heap when no reclaim waits for it. The test for a request is
 * inline: every slow path makes it, and out of line the call's frame cost
 * about 15 RV64 instructions with none pending (QEMU icount: producer/
 * consumer +3.2 per operation). Relaxed, as percpu_honour_flush's own.
 */
static inline size_t percpu_answer_flush(struct percpu_cpu *c)
{
	if (likely(!LOAD_RELAXED(&c->flush_pending)))
		return 0;
	return percpu_answer_flush_pending(c);
}
/* fork child: no reclaim of the parent's other threads waits any more. */
void percpu_flush_fork_child(void);
bool percpu_reclaim(void *ctx, size_t size, size_t align,
		    enum kheap_reclaim_level level);
void percpu_kick_handler(void);
/*
 * Returns class cls's magazines in this hart's slots (their rounds to the
 * heap, their arrays to the spare shells while there is room; an eviction);
 * their bytes. The slot must not be in a slow path's locals.
 */
size_t percpu_flush_class(struct percpu_cpu *c, unsigned cls);
/* Returns the orphan list's magazines to the heap; their bytes. */
size_t percpu_free_orphans(struct percpu_cpu *c);
/* Bytes of cached blocks on the orphan list (a statistic). */
size_t percpu_orphan_bytes(void);
/*
 * A slow path begins (interrupts masked): the hart is active and busy (its
 * slots may sit in locals until slow_exit).
 */
static inline void slow_enter(struct percpu_cpu *c)
{
	if (unlikely(!c->active)) {
		/* Relaxed: requesters use it only to pick whom to ask. */
		STORE_RELAXED(&c->active, 1u);
		percpu_hart_activated();
	}
	c->busy++;
}

/* Marks slot si as used now (for the budget's LRU choice). */
static inline void slot_touch(struct percpu_cpu *c, unsigned si)
{
	c->slot_used[si] = ++c->slot_clock;
}

static inline void slow_exit(struct percpu_cpu *c)
{
	c->busy--;
}

/* kmalloc.c: kmalloc's path past the fast path (every size, every mode). */
PERCPU_SLOW void *percpu_kmalloc_slow(size_t size, size_t align, bool must);

/* aligned.c */
/*
 * Names a non-power-of-two alignment for the function called (`where`) and
 * the pointer it was given (NULL for an allocation), not for the heap call
 * below it; returns NULL, for the caller to return.
 */
PERCPU_COLD void *percpu_bad_align(void *p, size_t size, const char *where);
PERCPU_SLOW void percpu_free_offset(void *q, unsigned seen);
/* kmalloc.c: frees b, q's block, after q's tag was turned freed. */
PERCPU_SLOW void percpu_free_offset_block(void *b, void *q);
void *percpu_offset_block(const void *q);

/* stats.c: lines for the heap's OOM report. */
void percpu_report_extra(kheap_print_fn print);
/*
 * Rounds in hart's slots, as percpu_get_stats counts them to derive the
 * fast frees (a racy snapshot, clamped where a slot is torn).
 */
size_t percpu_cached_rounds(unsigned hart);

#pragma GCC visibility pop

/*
 * PERCPU_HARDEN >= 2: a block parked in a magazine is poisoned (every word
 * of its payload PERCPU_POISON, SLUB's POISON_FREE byte) and checked when a
 * magazine hands it out again: a write after free is named "write after
 * free" (once per block, with the block's usable size). A free of a pointer
 * whose word below is the poison points into a freed block: "double free".
 */
#define PERCPU_POISON ((uintptr_t)0x6b6b6b6b6b6b6b6bull)
typedef uintptr_t __attribute__((__may_alias__)) percpu_pword_t;

static inline void poison_block(void *p)
{
#if PERCPU_HARDEN >= 2
	percpu_pword_t *w = p;
	for (size_t i = 0, n = heap_block_size(p) / sizeof(uintptr_t); i < n; i++)
		w[i] = PERCPU_POISON;
#else
	(void)p;
#endif
}

#if PERCPU_HARDEN >= 2
PERCPU_COLD void percpu_poison_damaged(void *p);
#endif

static inline void poison_check(void *p)
{
#if PERCPU_HARDEN >= 2
	const percpu_pword_t *w = p;
	for (size_t i = 0, n = heap_block_size(p) / sizeof(uintptr_t); i < n; i++)
		if (unlikely(w[i] != PERCPU_POISON)) {
			percpu_poison_damaged(p);
			return;
		}
#else
	(void)p;
#endif
}

/*
 * PERCPU_HARDEN >= 2: p's canary (<heap/heap_tag.h>) is intact, checked
 * before a hit free caches p; a block with a broken one goes to the heap,
 * which names the overflow (the slow path's check: heap_takes_back in
 * kmalloc.c). Keyed on PERCPU_HARDEN so a lower percpu level over a
 * hardened heap (harden0_test) keeps its own fast path. The hit paths'
 * filters (a class state, the check's top bit) let through an interior
 * pointer whose fake tag is the caller's bytes: the canary word, at the
 * end the tag's size gives, is loaded only if p is 16-aligned and that
 * word lies inside the heap's filter (kheap_bounds_: claimed memory, no
 * gap). Before, a fake size sent
 * the load up to 64 GiB away (a fault), and a misaligned p read the size
 * lane misaligned (//percpu:interior_fast_free_h2_test). A real block
 * outside the filter (another region) misses here and is cached by the
 * slow path, after its tag checked out. A range test, not the tag's check
 * (heap_tag_plausible_allocated): 8 instructions on the level-2 free hit
 * instead of 25.
 */
static inline __attribute__((always_inline)) bool fast_canary_ok(const void *p)
{
#if PERCPU_HARDEN >= 2
	if ((uintptr_t)p & (HEAP_MIN_ALIGN - 1))
		return false;
	uintptr_t canary = (uintptr_t)p + ((uintptr_t)heap_tag_size16(p) << 4) -
			   2 * sizeof(uintptr_t);
	if (canary - LOAD_RELAXED(&kheap_bounds_.lo) >= LOAD_RELAXED(&kheap_bounds_.span))
		return false;
	return heap_canary_ok(p);
#else
	(void)p;
	return true;
#endif
}

/*
 * One round in or out of this hart's loaded magazine for the class whose
 * slot offset is st (the state byte), with interrupts masked and c this
 * hart's data: the whole hit path of kmalloc and kfree (kmalloc.c) and of
 * the hit-only forms below.
 *
 * magazine_pop: the round, marked live, or NULL when the magazine is empty.
 * magazine_push_as (below): false when the magazine is full or (ports that
 * cannot kick a hart) a flush is pending, or (HEAP_HARDENING >= 2) p's
 * canary is not intact: the slow path then hands p to the heap, which
 * names it.
 */
static inline __attribute__((always_inline)) void *
magazine_pop(struct percpu_cpu *c, unsigned st)
{
	void ***tp = (void ***)((char *)c->top + st);
	void **top = *tp;
	void *p = top[-1];
	if (likely(p != NULL)) {
		STORE_RELAXED(tp, top - 1);
		poison_check(p);
		heap_tag_set_state(p, st);
		STAT_ADD(&c->alloc_hits, 1);
	}
	return p;
}

/*
 * Ports whose kick cannot interrupt (the host) see flush requests on the
 * fast free. A preprocessor choice rather than `PORT_KICK_INTERRUPTS || ...`,
 * which clang rejects as a constant logical operand under -Werror.
 */
static inline __attribute__((always_inline)) bool
flush_requested_here(const struct percpu_cpu *c)
{
#if PORT_KICK_INTERRUPTS
	(void)c;
	return false;
#else
	return LOAD_RELAXED(&c->flush_pending) != 0;
#endif
}

/*
 * Marks p, a block its caller is caching as class state st, cached; false
 * if p's state lane no longer holds st (HEAP_CLAIM_ANY_LIVE: any live
 * state; the slow paths, which find the class from the block's size, pass
 * that, as a block may be live as the heap handed it out). At PERCPU_HARDEN
 * >= 2 the atomic claim (heap_tag_claim, <heap/heap_core.h>, which says what
 * its CAS orders), so of two harts, or a hart and its own interrupt, freeing
 * one pointer at once exactly one wins; the other lost the race and names
 * the double free itself (percpu_free_lost), touching the block no more: by
 * then it may be in the winner's magazine, in the heap, or handed out
 * again. Below level 2, a plain byte store (the fast path must have no
 * atomic RMW).
 */
static inline __attribute__((always_inline)) bool state_claim(void *p, unsigned st)
{
#if PERCPU_HARDEN >= 2
	return heap_tag_claim(p, st, HEAP_STATE_CACHED, NULL);
#else
	(void)st;
	heap_tag_mark_cached(p);
	return true;
#endif
}

/* kmalloc.c: names a free that lost the claim race (PERCPU_HARDEN >= 2). */
PERCPU_COLD void percpu_free_lost(void *p);

/*
 * magazine_push_as: p, a live block in state st, into the loaded magazine of
 * the slot at byte offset `off`. A fast class's blocks carry their slot's
 * offset (off == st); the big classes' all carry PERCPU_STATE_BIG. False
 * with *lost set (only at PERCPU_HARDEN >= 2, where the claim can fail):
 * another free of p won the claim, so the caller must name this one
 * (percpu_free_lost) and not look at p again. Below level 2 the claim is
 * constant true, so *lost is never set and the compiler drops it.
 */
static inline __attribute__((always_inline)) bool
magazine_push_as(struct percpu_cpu *c, void *p, unsigned off, unsigned st, bool *lost)
{
	void ***tp = (void ***)((char *)c->top + off);
	void **top = *tp;
	if (likely(top != *(void ***)((char *)c->limit + off) &&
		   !flush_requested_here(c)) &&
	    likely(fast_canary_ok(p))) {
		if (likely(state_claim(p, st))) {
			poison_block(p);
			*top = p;
			STORE_RELAXED(tp, top + 1);
			return true;
		}
		*lost = true;
	}
	return false;
}

/*
 * A big block (above PERCPU_MAX_FAST) is cached only if the tag behind it
 * still has its check lane's top bit, as the heap's own free would insist:
 * an overflow into the next block is then named at the culprit's kfree, as
 * it was when these sizes went to the heap. While p is live the next tag
 * stays where it is and any tag the heap writes there has the bit, so one
 * racy byte load suffices (a miss only means the heap decides, under its
 * lock). Not under TSan, for which the heap's plain store is a race.
 * usable: heap_block_size(p), as the caller read it (cacheable_size).
 */
static inline bool next_tag_plausible(const void *p, size_t usable)
{
#if PERCPU_TSAN
	(void)p;
	(void)usable;
	return true;
#else
	if (usable <= PERCPU_MAX_FAST)
		return true;
	return heap_tag_check_top((const char *)p + usable + sizeof(uintptr_t) + HEAP_CANARY_BYTES);
#endif
}

/*
 * The checks kfree's slow path makes before it caches p, and kfree_big_hit
 * too: a live tag with a matching check, a size the class table covers, the
 * next tag's check bit. The size is read once, into *usable: a racing free
 * of p (a double free) can merge the block and zero its tag between two
 * reads, and a second read then indexed the class table with 2^60 - 1
 * (UBSan, //percpu:race_double_free_uncached_test).
 */
static inline __attribute__((always_inline)) bool cacheable_size(const void *p, size_t *usable)
{
	if (!heap_tag_plausible_live(p))
		return false;
	*usable = heap_block_size(p);
	return (*usable >> 4) < PERCPU_USABLE_ENTRIES && next_tag_plausible(p, *usable);
}

/*
 * The hit paths alone, for a caller outside percpu that wants its entry
 * points to be one inlined function (tools/bench/malloc_shim.c): each
 * reports a miss (NULL / false) without taking any slow path, so the
 * caller picks its own.
 *
 * kfree_hit: p non-NULL. Instead of kfree_filter's heap hull, the caller
 * gives the range [lo, lo + span) p must be in (the shim: its first region,
 * exactly, so a foreign pointer never reaches a magazine); the check lane's
 * top bit is tested at every PERCPU_HARDEN level. A free that lost the
 * claim race (PERCPU_HARDEN >= 2) is named "double free" and counts as
 * handled (true): the caller's own path must not look at p again.
 *
 * The hit paths mask interrupts with port_irq_save_brief: between save and
 * restore they call nothing, take no trap and write no status bit.
 */
static inline __attribute__((always_inline)) void *kmalloc_hit(size_t size)
{
	size_t idx = (size - 1) >> 4; /* size 0 wraps: a miss */
	void *p = NULL;
	port_irqflags_t f = port_irq_save_brief();
	struct percpu_cpu *c = port_hart_data();
	if (likely(idx < (PERCPU_MAX_FAST >> 4) && hart_data_ok(c)))
		p = magazine_pop(c, c->size_state[idx]);
	port_irq_restore_brief(f);
	return p;
}

/*
 * The last step of every hit free, kfree's included: p, a live block in
 * state st, into this hart's loaded magazine of the slot at byte offset
 * off, interrupts masked. True if pushed, or if another free won the claim
 * and this one is named (the caller must not look at p again); false
 * leaves p to the full path.
 */
static inline __attribute__((always_inline)) bool hit_push(void *p, unsigned off, unsigned st)
{
	port_irqflags_t f = port_irq_save_brief();
	struct percpu_cpu *c = port_hart_data();
	bool lost = false;
	bool hit = likely(hart_data_ok(c)) && magazine_push_as(c, p, off, st, &lost);
	port_irq_restore_brief(f);
	if (unlikely(lost)) {
		percpu_free_lost(p); /* named; p is another's now */
		return true;
	}
	return hit;
}

static inline __attribute__((always_inline)) bool
kfree_hit(void *p, uintptr_t lo, uintptr_t span)
{
	if (unlikely((uintptr_t)p - lo >= span))
		return false; /* before any load through p */
	unsigned st = heap_tag_state(p);
	if (likely((st & 7) == 0) && likely(heap_tag_check_top(p)))
		return hit_push(p, st, st);
	return false;
}

/*
 * The big classes' hit paths (sizes above PERCPU_MAX_FAST up to
 * PERCPU_MAX_SMALL), for the same caller: the round comes from, or goes to,
 * the loaded magazine of the class's slot, as alloc_slow and free_slow would
 * take it, without their bookkeeping (a loaded magazine means the slot was
 * seen; the LRU clock only matters when a slow path makes a magazine). Their
 * blocks carry PERCPU_STATE_BIG, so the free finds the class from the
 * block's size, after the checks kfree's slow path makes first: a plausible
 * live tag, a size a class can hold, the next tag's check bit. A miss of
 * either (NULL / false) leaves the caller to take the full path.
 */
static inline __attribute__((always_inline)) void *kmalloc_big_hit(size_t size)
{
	void *p = NULL;
	port_irqflags_t f = port_irq_save_brief();
	struct percpu_cpu *c = port_hart_data();
	if (likely(size - (PERCPU_MAX_FAST + 1) < PERCPU_MAX_SMALL - PERCPU_MAX_FAST) &&
	    likely(hart_data_ok(c))) {
		void ***tp = &c->top[PERCPU_SLOT(percpu_size_class(size))];
		void **top = *tp;
		p = top[-1]; /* NULL: the magazine is empty, or there is none */
		if (likely(p != NULL)) {
			STORE_RELAXED(tp, top - 1);
			poison_check(p);
			heap_tag_set_state(p, PERCPU_STATE_BIG);
			STAT_ADD(&c->alloc_hits, 1);
		}
	}
	port_irq_restore_brief(f);
	return p;
}

static inline __attribute__((always_inline)) bool
kfree_big_hit(void *p, uintptr_t lo, uintptr_t span)
{
	if (unlikely((uintptr_t)p - lo >= span))
		return false; /* before any load through p */
	size_t usable;
	if (heap_tag_state(p) != PERCPU_STATE_BIG || !cacheable_size(p, &usable))
		return false;
	unsigned cls = percpu_usable_class(usable);
	if (cls >= PERCPU_NCLASSES)
		return false;
	return hit_push(p, PERCPU_SLOT(cls) << 3, PERCPU_STATE_BIG);
}

/*
 * krealloc's rule for a class block p of `old` usable bytes: it stays when
 * the new size fits and a move would land in the same class, or when the
 * request still fills half of it (tcmalloc's hysteresis; krealloc says why).
 */
static inline bool class_realloc_keeps(const void *p, size_t old, size_t size)
{
	return kheap_realloc_keeps(p, old, size, 0) ||
	       (size <= old && percpu_size_class(size) >= percpu_usable_class(old));
}

/*
 * krealloc on the hit paths alone, for the same caller: p a live class
 * block (a fast class's state, or PERCPU_STATE_BIG) in [lo, lo + span)
 * whose tag is sound. p itself when class_realloc_keeps; else a block from
 * kmalloc_hit or kmalloc_big_hit, the copy, and p into its magazine (or to
 * kfree, which caches it or gives it back). NULL when a check or the
 * allocation's hit misses (sizes past the classes always do), or for
 * size 0, with nothing changed: the caller takes krealloc.
 */
static inline __attribute__((always_inline)) void *krealloc_hit(void *p, size_t size,
								uintptr_t lo, uintptr_t span)
{
	/* Size 0 is krealloc's free; class_realloc_keeps would keep a tiny p. */
	if (unlikely((uintptr_t)p - lo >= span) || unlikely(!size))
		return NULL; /* before any load through p */
	unsigned st = heap_tag_state(p);
	bool big = st == PERCPU_STATE_BIG;
	bool fast = !(st & 7) && (st >> 3) - PERCPU_SLOT(0) < PERCPU_NFAST;
	if (!(big || fast) || !heap_tag_plausible_allocated(p))
		return NULL;
	size_t old = heap_block_size(p);
	if (unlikely((old >> 4) >= PERCPU_TABLE_ENTRIES))
		return NULL; /* past the classes: a tag krealloc's path names */
	if (class_realloc_keeps(p, old, size))
		return p;
	void *q = size <= PERCPU_MAX_FAST ? kmalloc_hit(size) : kmalloc_big_hit(size);
	if (!q)
		return NULL;
	memcpy(q, p, size < old ? size : old);
	if (!(big ? kfree_big_hit(p, lo, span) : kfree_hit(p, lo, span)))
		kfree(p);
	return q;
}

#endif /* PERCPU_PERCPU_INTERNAL_H */
