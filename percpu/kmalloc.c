// SPDX-License-Identifier: BSD-2-Clause
/*
 * Per-hart magazines and depots (Bonwick & Adams 2001) in front of the
 * locked global heap. The path of a request is described once in
 * <percpu/kmalloc.h>; this file keeps to it.
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
 * Flush requests. Before the heap reports OOM it calls percpu_reclaim(),
 * which returns this hart's cache and the depots at once and then asks every
 * other active hart to return its cache: it bumps the hart's flush_req,
 * raises its flush_pending word and kicks it. The owner sees flush_pending
 * in the kick handler (an IPI on RISC-V), on every slow path (a hart that
 * only allocates or only frees takes one every <= 255 operations), in
 * percpu_poll, and, on ports whose kick cannot interrupt (the host), with
 * one relaxed load on its fast free; it flushes, and publishes flush_done = the flush_req it saw.
 * The requester waits a bounded time for flush_done to catch up, honouring
 * its own pending request while it waits, so two harts that hit OOM at once
 * do not wait on each other.
 *
 * Reentrancy. Slow paths call the heap with interrupts masked; the heap may
 * call percpu_reclaim() on this same hart before failing, which empties this
 * hart's slots. So a slow path never holds a slot's magazine across a heap
 * call: it detaches what it needs into locals first and re-reads the slot
 * afterwards (the restart loops below).
 */
#include <percpu/config.h>
#include <percpu/kmalloc.h>

#include <heap/heap_core.h>
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
#define LOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#if defined(__SANITIZE_THREAD__) || defined(HOST_SANITIZED)
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
#define PERCPU_SLOW __attribute__((noinline, cold))
/* A per-hart counter: only its owner writes it, so load+store, no RMW. */
#define STAT_ADD(p, n) STORE_RELAXED((p), *(p) + (n))

struct percpu_magazine {
	struct percpu_magazine *next; /* depot list link, under the depot lock */
	void *rounds[];               /* percpu_class_rounds[class] of them */
};

/*
 * Slots. A block's state lane (heap_core.h) holds, while it is live and was
 * handed out by a magazine, the byte offset of its class's slot: class cls
 * lives in slot PERCPU_SLOT(cls) and its blocks carry PERCPU_STATE(cls) =
 * slot * 8 = the slot's byte offset in the top[] and limit[] arrays. So the
 * fast free turns one byte load into the slot's address with one add. The
 * other slots (0: cached, 1: live as the heap hands it out, 30, 31) never
 * have a magazine: their top == limit == the empty sentinel, so a block in
 * any other state falls through to the slow path.
 */
/*
 * The big classes (PERCPU_NFAST and up) do not fit in the state byte: their
 * slots come after the 32 the byte can name, and their live blocks all carry
 * PERCPU_STATE_BIG, slot 31's offset, a slot that never has a magazine, so
 * their kfree takes the slow path, which finds the class from the size.
 */
#define PERCPU_NSLOTS (PERCPU_NCLASSES + 4)
#define PERCPU_SLOT(cls) ((unsigned)(cls) < PERCPU_NFAST ? (unsigned)(cls) + 2 \
							   : (unsigned)(cls) + 4)
#define PERCPU_STATE(cls) (PERCPU_SLOT(cls) << 3)
#define PERCPU_STATE_BIG (31u << 3)
_Static_assert(PERCPU_SLOT(PERCPU_NFAST - 1) < 30 &&
	       PERCPU_STATE(PERCPU_NFAST - 1) != HEAP_STATE_LIVE &&
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
	/*
	 * This hart's last flush request of other harts: harts that had not
	 * answered when its wait ended (bit h % 64 of word h / 64), for the
	 * OOM report. Only this hart writes them.
	 */
	uint64_t flush_asked; /* flush_remote calls */
	uint64_t unanswered[(PORT_MAX_HARTS + 63) / 64];
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
	/* (size - 1) >> 4 -> PERCPU_STATE(class), for sizes 1..4096. */
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
	/* Flush protocol and liveness, touched by other harts. */
	unsigned active;     /* 1 from first use to percpu_hart_exit */
	uint64_t flush_req;  /* requests made (requesters add 1) */
	uint64_t flush_done; /* the flush_req value the last flush honoured */
} __attribute__((aligned(PORT_CACHE_LINE)));

struct percpu_depot {
	ticket_lock_t lock;
	struct percpu_magazine *full, *empty; /* under lock */
	size_t nfull;  /* under lock; read relaxed for statistics */
	size_t nempty; /* under lock */
} __attribute__((aligned(PORT_CACHE_LINE)));

static struct percpu_cpu percpu_cpus[PORT_MAX_HARTS];

/*
 * What top and limit point at when a slot has no magazine: the NULL word
 * below it makes a pop fail, top == limit makes a push fail.
 */
static void *percpu_no_mag[2];
#define PERCPU_NO_ROUNDS (&percpu_no_mag[1])

static struct percpu_counters percpu_cold[PORT_MAX_HARTS];
static struct percpu_depot percpu_depots[PERCPU_NCLASSES];
static enum percpu_mode percpu_mode_;
static bool percpu_ready;        /* set once by percpu_init */
static bool percpu_remote_flush = true; /* testing switch */

/*
 * How long a flush requester waits for the others, in microseconds. Long
 * enough for an idle hart's IPI at 64 harts on 2 host cores, or a preempted
 * host thread; short enough that a hart stuck with interrupts masked only
 * delays the OOM report.
 */
#ifndef PERCPU_FLUSH_WAIT_US
#define PERCPU_FLUSH_WAIT_US 1000000
#endif

/*
 * This hart's data. A hart's port_hart_data() is NULL until its first slow
 * path stores it here (the fast paths fall through on NULL). Interrupts
 * masked, or no migration: see the port contract.
 */
static inline struct percpu_cpu *this_cpu(void)
{
	struct percpu_cpu *c = port_hart_data();
	if (unlikely(!c)) {
		c = &percpu_cpus[port_hart_id()];
		/*
		 * Bypass mode never stores it: its fast paths then always fall
		 * through to the slow path, which sends everything to the heap.
		 */
		if (percpu_mode_ == PERCPU_MAGAZINES)
			port_set_hart_data(c);
	}
	return c;
}

static size_t mag_bytes(unsigned cls)
{
	return sizeof(struct percpu_magazine) +
	       percpu_class_rounds[cls] * sizeof(void *);
}

static void percpu_bytes_zero(void *p, size_t n)
{
	unsigned char *d = p;
	while (n--)
		*d++ = 0;
}

/*
 * krealloc's copy (dst, src: distinct 16-byte aligned blocks). Hosted
 * builds use libc's memcpy (the byte loop was 37% of the host's random
 * workload); the kernel, which has no tuned memcpy, copies words, then the
 * tail. The optimize attribute keeps gcc from turning the loops into a
 * memcpy call (see platform/riscv/string.c).
 */
typedef uintptr_t __attribute__((__may_alias__)) percpu_word_t;

#if __STDC_HOSTED__
static void percpu_bytes_copy(void *dst, const void *src, size_t n)
{
	__builtin_memcpy(dst, src, n);
}
#else
__attribute__((optimize("no-tree-loop-distribute-patterns")))
static void percpu_bytes_copy(void *dst, const void *src, size_t n)
{
	percpu_word_t *dw = dst;
	const percpu_word_t *sw = src;
	size_t words = n / sizeof(percpu_word_t);
	for (size_t i = 0; i < words; i++)
		dw[i] = sw[i];
	unsigned char *d = (unsigned char *)(dw + words);
	const unsigned char *s = (const unsigned char *)(sw + words);
	for (n %= sizeof(percpu_word_t); n; n--)
		*d++ = *s++;
}
#endif

/* ---- slot manipulation (owner only, interrupts masked) ------------------ */

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

static void slot_load(struct percpu_cpu *c, unsigned cls,
		      struct percpu_magazine *m, size_t rounds)
{
	unsigned si = PERCPU_SLOT(cls);
	if (!m) {
		STORE_RELAXED(&c->base[si], (void **)NULL);
		STORE_RELAXED(&c->top[si], (void **)PERCPU_NO_ROUNDS);
		c->limit[si] = PERCPU_NO_ROUNDS;
		return;
	}
	m->next = NULL; /* the word below the rounds: an empty pop reads NULL */
	/* base first, then top: a reader that sees the new top sees rounds <= cap. */
	STORE_RELAXED(&c->base[si], m->rounds);
	STORE_RELAXED(&c->top[si], m->rounds + rounds);
	c->limit[si] = m->rounds + percpu_class_rounds[cls];
}

static void slot_set_prev(struct percpu_cpu *c, unsigned cls,
			  struct percpu_magazine *m, size_t rounds)
{
	c->prev[PERCPU_SLOT(cls)] = m;
	STORE_RELAXED(&c->prev_rounds[PERCPU_SLOT(cls)], (uint8_t)(m ? rounds : 0));
}

/* Loaded <-> previous. */
static void slot_swap(struct percpu_cpu *c, unsigned cls)
{
	unsigned si = PERCPU_SLOT(cls);
	struct percpu_magazine *old = slot_loaded(c, si);
	size_t old_rounds = old ? slot_loaded_rounds(c, si) : 0;
	slot_load(c, cls, c->prev[si], c->prev_rounds[si]);
	slot_set_prev(c, cls, old, old_rounds);
}

/* ---- the heap side ------------------------------------------------------ */

#ifdef PERCPU_FAULT_DROP_BLOCK
/*
 * Test-only fault (//percpu:percpu_fault_drop_for_test): the 1000th block
 * handed back to the heap is silently dropped, a leak that the drain check
 * (percpu_check_drained) and the QEMU stress test must notice.
 */
#define PERCPU_FAULT_DROP_AT 1000
static uint64_t percpu_fault_returned; /* relaxed: a count, orders nothing */

static void fault_drop_block(void **blocks, size_t n)
{
	uint64_t before = __atomic_fetch_add(&percpu_fault_returned, n, __ATOMIC_RELAXED);
	if (before < PERCPU_FAULT_DROP_AT && before + n >= PERCPU_FAULT_DROP_AT)
		blocks[PERCPU_FAULT_DROP_AT - 1 - before] = NULL; /* batch free skips NULL */
}
#endif

static void heap_return(struct percpu_cpu *c, void **blocks, size_t n)
{
	if (!n)
		return;
#ifdef PERCPU_FAULT_DROP_BLOCK
	fault_drop_block(blocks, n);
#endif
	kheap_free_batch(blocks, n); /* takes cached blocks as they are */
	STAT_ADD(&percpu_cold[c - percpu_cpus].returns, 1);
	STAT_ADD(&percpu_cold[c - percpu_cpus].return_blocks, n);
}

/* Returns a magazine's rounds and the magazine itself to the heap. */
static void mag_destroy(struct percpu_cpu *c, struct percpu_magazine *m,
			size_t rounds)
{
	if (!m)
		return;
	heap_return(c, m->rounds, rounds);
	kheap_free(m);
}

static struct percpu_magazine *mag_create(unsigned cls)
{
	struct percpu_magazine *m = kheap_try_alloc(mag_bytes(cls), 0);
	if (m)
		m->next = NULL;
	return m;
}

/* ---- depots ------------------------------------------------------------- */

static port_irqflags_t depot_lock(struct percpu_cpu *c, struct percpu_depot *d)
{
	unsigned long spins = 0;
	port_irqflags_t f = ticket_lock_irqsave(&d->lock, &spins);
	STAT_ADD(&percpu_cold[c - percpu_cpus].lock_acquisitions, 1);
	STAT_ADD(&percpu_cold[c - percpu_cpus].lock_spins, spins);
	return f;
}

/* Gives an empty magazine back: to the depot, or to the heap past the cap. */
static void depot_put_empty(struct percpu_cpu *c, unsigned cls,
			    struct percpu_magazine *m)
{
	struct percpu_depot *d = &percpu_depots[cls];
	if (!m)
		return;
	port_irqflags_t f = depot_lock(c, d);
	if (d->nempty < PERCPU_DEPOT_MAX_EMPTY) {
		m->next = d->empty;
		d->empty = m;
		d->nempty++;
		m = NULL;
	}
	ticket_unlock_irqrestore(&d->lock, f);
	if (m)
		kheap_free(m);
}

/* Returns every magazine the depot holds (and their rounds) to the heap. */
static size_t depot_drain(struct percpu_cpu *c, unsigned cls)
{
	struct percpu_depot *d = &percpu_depots[cls];
	port_irqflags_t f = depot_lock(c, d);
	struct percpu_magazine *full = d->full, *empty = d->empty;
	d->full = d->empty = NULL;
	STORE_RELAXED(&d->nfull, (size_t)0);
	d->nempty = 0;
	ticket_unlock_irqrestore(&d->lock, f);

	size_t blocks = 0;
	while (full) {
		struct percpu_magazine *next = full->next;
		mag_destroy(c, full, percpu_class_rounds[cls]);
		blocks += percpu_class_rounds[cls] + 1;
		full = next;
	}
	while (empty) {
		struct percpu_magazine *next = empty->next;
		kheap_free(empty);
		blocks++;
		empty = next;
	}
	return blocks;
}

/* ---- flushes ------------------------------------------------------------ */

/*
 * Empties this hart's slots. to_depot: full magazines go to the depot (hart
 * exit), else everything goes to the heap. Returns the blocks given back.
 */
static size_t flush_local(struct percpu_cpu *c, bool to_depot)
{
	size_t blocks = 0;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++) {
		unsigned si = PERCPU_SLOT(cls);
		struct percpu_magazine *m[2] = { slot_loaded(c, si), c->prev[si] };
		size_t r[2] = { m[0] ? slot_loaded_rounds(c, si) : 0, c->prev_rounds[si] };
		slot_load(c, cls, NULL, 0);
		slot_set_prev(c, cls, NULL, 0);
		STAT_ADD(&percpu_cold[c - percpu_cpus].mag_out, r[0] + r[1]);
		for (int i = 0; i < 2; i++) {
			if (!m[i])
				continue;
			if (to_depot && r[i] == percpu_class_rounds[cls]) {
				struct percpu_depot *d = &percpu_depots[cls];
				port_irqflags_t f = depot_lock(c, d);
				if (d->nfull < PERCPU_DEPOT_MAX_FULL) {
					m[i]->next = d->full;
					d->full = m[i];
					STORE_RELAXED(&d->nfull, d->nfull + 1);
					m[i] = NULL;
				}
				ticket_unlock_irqrestore(&d->lock, f);
				if (!m[i])
					continue;
			}
			heap_return(c, m[i]->rounds, r[i]);
			blocks += r[i];
			if (to_depot) {
				depot_put_empty(c, cls, m[i]);
			} else {
				kheap_free(m[i]);
				blocks++;
			}
		}
	}
	STAT_ADD(&percpu_cold[c - percpu_cpus].flushes, 1);
	return blocks;
}

/*
 * Honours a pending flush request (interrupts masked). The seq_cst pair
 * "requester: flush_req++ then flush_pending = 1" / "owner: flush_pending =
 * 0 then read flush_req" guarantees that either the owner reads the new
 * flush_req here, or flush_pending stays 1 and the next check flushes again.
 */
static size_t honour_flush(struct percpu_cpu *c)
{
	if (!LOAD_RELAXED(&c->flush_pending))
		return 0;
	__atomic_store_n(&c->flush_pending, 0, __ATOMIC_SEQ_CST);
	uint64_t req = __atomic_load_n(&c->flush_req, __ATOMIC_SEQ_CST);
	size_t blocks = flush_local(c, false);
	/*
	 * Release: the requester's acquire load of flush_done sees our heap
	 * frees done (the heap lock orders them too; this is for the reader).
	 */
	__atomic_store_n(&c->flush_done, req, __ATOMIC_RELEASE);
	return blocks;
}

static inline void mark_active(struct percpu_cpu *c)
{
	/* Relaxed: requesters use it only to pick whom to ask. */
	if (unlikely(!c->active))
		STORE_RELAXED(&c->active, 1u);
}

/* True when hart h has answered every request made of it so far. */
static bool flush_answered(struct percpu_cpu *h)
{
	/* Acquire: pairs with the owner's release store in honour_flush. */
	uint64_t done = __atomic_load_n(&h->flush_done, __ATOMIC_ACQUIRE);
	return done >= __atomic_load_n(&h->flush_req, __ATOMIC_SEQ_CST) ||
	       !LOAD_RELAXED(&h->active);
}

/*
 * Asks every other active hart to flush, then waits (bounded) for them,
 * honouring our own pending request meanwhile. Interrupts masked.
 */
static void flush_remote(struct percpu_cpu *self)
{
	unsigned me = (unsigned)(self - percpu_cpus);
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++) {
		struct percpu_cpu *c = &percpu_cpus[h];
		if (h == me || !LOAD_RELAXED(&c->active))
			continue;
		/* seq_cst: see honour_flush for the pairing. */
		__atomic_fetch_add(&c->flush_req, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&c->flush_pending, 1, __ATOMIC_SEQ_CST);
		port_kick_hart(h);
		STAT_ADD(&percpu_cold[me].flush_requests, 1);
	}
	STAT_ADD(&percpu_cold[me].flush_asked, 1);
	bool all = false;
	uint64_t deadline = port_time_us() + PERCPU_FLUSH_WAIT_US;
	for (;;) {
		all = true;
		for (unsigned h = 0; h < PORT_MAX_HARTS && all; h++)
			if (h != me)
				all = flush_answered(&percpu_cpus[h]);
		if (all || port_time_us() > deadline)
			break;
		honour_flush(self);
		port_wait_long();
	}
	/* Timed out: remember who did not answer, for the OOM report. */
	for (unsigned w = 0; w < (PORT_MAX_HARTS + 63) / 64; w++) {
		uint64_t bits = 0;
		for (unsigned h = w * 64; !all && h < PORT_MAX_HARTS && h < w * 64 + 64; h++)
			if (h != me && !flush_answered(&percpu_cpus[h]))
				bits |= (uint64_t)1 << (h % 64);
		STORE_RELAXED(&percpu_cold[me].unanswered[w], bits);
	}
}

static size_t drain_depots(struct percpu_cpu *c)
{
	size_t blocks = 0;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		blocks += depot_drain(c, cls);
	return blocks;
}

/*
 * The heap's reclaim hook: runs on the hart whose allocation is failing,
 * without the heap lock. True if anything went back to the heap.
 */
static bool percpu_reclaim(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	(void)size;
	(void)align;
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	size_t blocks = flush_local(c, false) + drain_depots(c);
	if (percpu_remote_flush) {
		flush_remote(c);
		/* Harts that exited meanwhile left full magazines in the depots. */
		blocks += drain_depots(c);
		blocks++; /* the others' flushes freed memory we cannot count */
	}
	port_irq_restore(f);
	return blocks != 0;
}

/* ---- slow paths --------------------------------------------------------- */

static void percpu_check_ready(void)
{
	if (unlikely(!percpu_ready))
		port_panic(PORT_EXIT_MISUSE, "percpu: use before init "
			   "(kmalloc/kfree before percpu_init)");
}

/* A block from the class cache, or NULL; the heap is not asked directly. */
static PERCPU_SLOW void *alloc_slow(unsigned cls)
{
	struct percpu_depot *d = &percpu_depots[cls];
	size_t csize = percpu_class_size[cls], cap = percpu_class_rounds[cls];
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	unsigned si = PERCPU_SLOT(cls);
	void *p = NULL;

	mark_active(c);
	c->seen[si] = 1;
	STAT_ADD(&percpu_cold[c - percpu_cpus].slow_allocs, 1);
	for (;;) {
		honour_flush(c);
		if (c->base[si] && c->top[si] != c->base[si])
			goto pop;
		if (c->prev[si] && c->prev_rounds[si] == cap) {
			slot_swap(c, cls);
			STAT_ADD(&percpu_cold[c - percpu_cpus].swaps, 1);
			goto pop;
		}
		/* Loaded empty or absent, previous empty or absent: the depot. */
		struct percpu_magazine *m = slot_loaded(c, si), *got;
		port_irqflags_t df = depot_lock(c, d);
		got = d->full;
		if (got) {
			d->full = got->next;
			STORE_RELAXED(&d->nfull, d->nfull - 1);
			if (m) {
				/* Bonwick: previous (empty) to the depot, loaded -> previous. */
				if (c->prev[si]) {
					c->prev[si]->next = d->empty;
					d->empty = c->prev[si];
					d->nempty++;
				}
				slot_set_prev(c, cls, m, 0);
			}
		} else if (!m && d->empty) {
			m = d->empty;
			d->empty = m->next;
			d->nempty--;
		} else {
			m = NULL; /* refill the loaded (empty) magazine, if any */
		}
		ticket_unlock_irqrestore(&d->lock, df);
		if (got) {
			slot_load(c, cls, got, cap);
			STAT_ADD(&percpu_cold[c - percpu_cpus].mag_in, cap);
			STAT_ADD(&percpu_cold[c - percpu_cpus].depot_exchanges, 1);
			goto pop;
		}

		/* No full magazine anywhere: refill one from the heap. */
		if (!m) {
			m = slot_loaded(c, si);
			slot_load(c, cls, NULL, 0); /* detached over heap calls */
		}
		if (!m)
			m = mag_create(cls); /* may reclaim (and flush this hart) */
		if (!m)
			break;
		size_t n = kheap_alloc_batch(csize, 0, m->rounds, cap);
		STAT_ADD(&percpu_cold[c - percpu_cpus].refills, 1);
		STAT_ADD(&percpu_cold[c - percpu_cpus].refill_blocks, n);
		if (!n) {
			depot_put_empty(c, cls, m);
			break;
		}
		for (size_t i = 0; i < n; i++)
			heap_tag_mark_cached(m->rounds[i]);
		/* A reclaim inside mag_create may have emptied the slot: re-read. */
		if (c->base[si]) {
			/* Cannot happen today (only we load it), but stay correct. */
			heap_return(c, m->rounds, n);
			depot_put_empty(c, cls, m);
			continue;
		}
		slot_load(c, cls, m, n);
		STAT_ADD(&percpu_cold[c - percpu_cpus].mag_in, n);
		goto pop;
	}
	port_irq_restore(f);
	return NULL;
pop:
	p = c->top[si][-1];
	STORE_RELAXED(&c->top[si], c->top[si] - 1);
	heap_tag_set_state(p, class_state(cls));
	STAT_ADD(&percpu_cold[c - percpu_cpus].slow_pops, 1);
	port_irq_restore(f);
	return p;
}

/* Caches p (a live block of class cls); false if it must go to the heap. */
static PERCPU_SLOW bool free_slow(void *p, unsigned cls)
{
	struct percpu_depot *d = &percpu_depots[cls];
	size_t cap = percpu_class_rounds[cls];
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	unsigned si = PERCPU_SLOT(cls);
	struct percpu_magazine *spare = NULL, *excess;
	bool cached = true;

	mark_active(c);
	STAT_ADD(&percpu_cold[c - percpu_cpus].slow_frees, 1);
	if (unlikely(!c->seen[si])) {
		c->seen[si] = 1;
		if (!c->base[si] && !c->prev[si]) {
			/* See percpu_cpu.seen: the heap takes it. */
			port_irq_restore(f);
			return false;
		}
	}
	for (;;) {
		honour_flush(c);
		if (c->base[si] && c->top[si] != c->limit[si])
			break;
		if (c->prev[si] && c->prev_rounds[si] == 0) {
			/* Loaded full or absent, previous empty. */
			slot_swap(c, cls);
			STAT_ADD(&percpu_cold[c - percpu_cpus].swaps, 1);
			break;
		}
		if (!c->base[si] && spare) {
			slot_load(c, cls, spare, 0);
			spare = NULL;
			break;
		}
		if (c->base[si] && !c->prev[si]) {
			/* Loaded full, no previous yet: it becomes the previous. */
			slot_set_prev(c, cls, slot_loaded(c, si), cap);
			slot_load(c, cls, NULL, 0);
			continue;
		}
		/*
		 * Loaded full (previous full) or absent: at the depot, give the
		 * full previous and take an empty, in one lock acquisition.
		 */
		excess = NULL;
		port_irqflags_t df = depot_lock(c, d);
		if (c->base[si]) {
			c->prev[si]->next = d->full;
			d->full = c->prev[si];
			STORE_RELAXED(&d->nfull, d->nfull + 1);
			STAT_ADD(&percpu_cold[c - percpu_cpus].mag_out, cap);
			slot_set_prev(c, cls, slot_loaded(c, si), cap);
			slot_load(c, cls, NULL, 0);
			if (d->nfull > PERCPU_DEPOT_MAX_FULL) {
				/* The oldest would be best; the top is cheapest. */
				excess = d->full;
				d->full = excess->next;
				STORE_RELAXED(&d->nfull, d->nfull - 1);
			}
			STAT_ADD(&percpu_cold[c - percpu_cpus].depot_exchanges, 1);
		}
		if (!spare && d->empty) {
			spare = d->empty;
			d->empty = spare->next;
			d->nempty--;
		}
		ticket_unlock_irqrestore(&d->lock, df);
		if (excess) {
			heap_return(c, excess->rounds, cap);
			if (!spare)
				spare = excess;
			else
				kheap_free(excess);
		}
		if (!spare)
			spare = mag_create(cls); /* may reclaim: loop re-reads */
		if (!spare) {
			cached = false;
			goto out;
		}
	}
	*c->top[si] = p;
	STORE_RELAXED(&c->top[si], c->top[si] + 1);
	heap_tag_mark_cached(p);
	STAT_ADD(&percpu_cold[c - percpu_cpus].slow_pushes, 1);
out:
	port_irq_restore(f);
	if (spare)
		depot_put_empty(c, cls, spare);
	return cached;
}

/* kmalloc's path past the fast path: every size, every mode. */
static PERCPU_SLOW void *kmalloc_slow(size_t size, size_t align, bool must)
{
	percpu_check_ready();
	void *p = NULL;
	if (percpu_mode_ == PERCPU_MAGAZINES && size <= PERCPU_MAX_SMALL &&
	    align <= HEAP_MIN_ALIGN && !(align & (align - 1))) {
		p = alloc_slow(percpu_size_class(size));
		if (p)
			return p;
		/* The cache could not get a batch: one block, with the reclaim. */
		size = percpu_class_size[percpu_size_class(size)];
	} else {
		port_irqflags_t f = port_irq_save();
		struct percpu_cpu *c = this_cpu();
		mark_active(c);
		STAT_ADD(&percpu_cold[c - percpu_cpus].large_allocs, 1);
		port_irq_restore(f);
	}
	p = must ? kheap_alloc(size, align) : kheap_try_alloc(size, align);
	return p;
}

/*
 * A fast-path miss on a hart with magazines: the slot state `st` names the
 * class (see PERCPU_SLOT), so the request's exact size is not needed.
 */
static PERCPU_SLOW void *kmalloc_miss(unsigned st, bool must)
{
	unsigned cls = (st >> 3) - 2;
	void *p = alloc_slow(cls);
	if (p)
		return p;
	/* The cache could not get a batch: one block, with the reclaim. */
	size_t size = percpu_class_size[cls];
	return must ? kheap_alloc(size, 0) : kheap_try_alloc(size, 0);
}

/* ---- the public API ------------------------------------------------------ */

/*
 * The fast paths. Each touches only this hart's data (its struct percpu_cpu
 * and its magazine) and the block's own tag lanes: no lock, no atomic
 * read-modify-write, no function call.
 *
 * kmalloc hit: size -> slot offset with one byte load from the hart's own
 * table, interrupts masked, pop a round (an empty magazine pops NULL: the
 * word below its rounds), store the slot's state (its class) in the
 * block's state lane, count the hit.
 *
 * kfree hit: one byte load of the block's state lane: a block handed out by
 * a magazine carries its slot's offset there, anything else (cached, free,
 * straight from the heap, garbage) lands in a slot that never has a
 * magazine; at PERCPU_HARDEN >= 1 the check lane's top bit and the heap's
 * hull must agree too (kfree_filter); push the round, store "cached". Fast
 * frees are not counted: percpu_get_stats derives them from the magazines'
 * block flow.
 *
 * RV64 instruction counts of the hit paths, `riscv64-unknown-elf-objdump -d`
 * of bazel-bin/percpu/_objs/percpu/kmalloc.o after
 * `bazel build --config=riscv //percpu:percpu` (gcc 12, -O2):
 *   kmalloc hit 22, kfree hit 18, pair 40 at PERCPU_HARDEN=0 (before this
 *   layout: 39 + 46 = 85); kfree hit 26, pair 48 at PERCPU_HARDEN=1.
 *   (csrrci+andi / csrs for the interrupt mask are 3 of each.)
 * The QEMU icount benchmark in tools/bench measures them at run time.
 */
static inline __attribute__((always_inline)) void *kmalloc_fast(size_t size, bool must)
{
	size_t idx = (size - 1) >> 4; /* size 0 wraps: the slow path */
	if (likely(idx < (PERCPU_MAX_FAST >> 4))) {
		port_irqflags_t f = port_irq_save();
		struct percpu_cpu *c = port_hart_data();
		if (likely(c != NULL)) {
			unsigned st = c->size_state[idx];
			void ***tp = (void ***)((char *)c->top + st);
			void **top = *tp;
			void *p = top[-1];
			if (likely(p != NULL)) {
				STORE_RELAXED(tp, top - 1);
				heap_tag_set_state(p, st);
				STAT_ADD(&c->alloc_hits, 1);
				port_irq_restore(f);
				return p;
			}
			port_irq_restore(f);
			/* The class is known: size is not needed (no register kept). */
			return kmalloc_miss(st, must);
		}
		port_irq_restore(f);
	}
	return kmalloc_slow(size, 0, must);
}

PERCPU_FAST void *kmalloc(size_t size)
{
	return kmalloc_fast(size, true);
}

PERCPU_FAST void *kmalloc_try(size_t size)
{
	return kmalloc_fast(size, false);
}

/*
 * Aligned blocks from the classes. A request (size, align), 16 < align <=
 * PERCPU_MAX_ALIGN, size + align - 16 <= PERCPU_MAX_SMALL, takes a block b
 * of the class for size + align - 16. If b is aligned it is returned as it
 * is. Otherwise the caller gets q = b rounded up to align (q - b is 16 ..
 * align - 16, so the block holds size bytes from q), and the word below q,
 * inside b's payload, becomes an offset tag, laid out in the heap tag's
 * lanes:
 *
 *     byte  0      1              2    3    4    5    6    7
 *         +------+--------------+---------+-------------------+
 *         |  0   | OFFSET state |  check  |  (q - b) / 16     |
 *         +------+--------------+---------+-------------------+
 *
 * The state is PERCPU_STATE_OFFSET, whose low bits are set, so kfree's fast
 * path sends q to the slow path; check is the heap's hash of (q - 8, the
 * offset, A = 0). offset_block() follows a tag back to b only if the check
 * matches, the offset is in range and b is a plausible live block that
 * holds q + 1 byte; then kfree, ksize, krealloc and kfree_sized act on b.
 * kfree of q turns the tag's state into PERCPU_STATE_OFFSET_FREED, so a
 * second kfree of q is named: b cached -> the heap's "double free" of b.
 * Anything else that fails goes to the heap as q itself, which names it
 * (interior, foreign, ...). The heap never looks inside a payload, so its
 * validator does not see offset tags.
 */
#define PERCPU_MAX_ALIGN 4096
#define PERCPU_STATE_OFFSET 0x0bu       /* low bits set: never a live state */
#define PERCPU_STATE_OFFSET_FREED 0x0du
_Static_assert((PERCPU_STATE_OFFSET & 7) && (PERCPU_STATE_OFFSET_FREED & 7) &&
	       PERCPU_STATE_OFFSET != HEAP_STATE_FREE &&
	       PERCPU_STATE_OFFSET_FREED != HEAP_STATE_FREE,
	       "offset-tag states must not be live or free heap states");

static inline uint16_t offset_check(const void *q, size_t off)
{
	return heap_tag_check_of((uintptr_t)q - sizeof(uintptr_t),
				 (uint32_t)(off >> 4), 0);
}

static inline void offset_tag_write(void *q, size_t off)
{
	heap_lane8_t *t = (heap_lane8_t *)q - 8;
	t[HEAP_LANE_FLAGS] = 0;
	t[HEAP_LANE_STATE] = PERCPU_STATE_OFFSET;
	*(heap_lane16_t *)(t + HEAP_LANE_CHECK) = offset_check(q, off);
	*(heap_lane32_t *)(t + HEAP_LANE_SIZE) = (uint32_t)(off >> 4);
}

/* The offset of q's offset tag if it looks valid (any state), else 0. */
static size_t offset_of(const void *q)
{
	const heap_lane8_t *t = (const heap_lane8_t *)q - 8;
	size_t off = (size_t)*(const heap_lane32_t *)(t + HEAP_LANE_SIZE) << 4;
	if (((uintptr_t)q & 15) || off < 16 || off >= PERCPU_MAX_ALIGN ||
	    *(const heap_lane16_t *)(t + HEAP_LANE_CHECK) != offset_check(q, off))
		return 0;
	return off;
}

/*
 * q carries a live offset tag (state PERCPU_STATE_OFFSET): its block, if
 * the tag checks out and the block is live and holds q, else NULL.
 */
static void *offset_block(const void *q)
{
	size_t off = offset_of(q);
	if (!off)
		return NULL;
	char *b = (char *)q - off;
	if (!heap_tag_plausible_live(b) || heap_block_size(b) <= off)
		return NULL;
	return b;
}

static inline bool is_offset(const void *q)
{
	return heap_tag_state(q) == PERCPU_STATE_OFFSET;
}

static PERCPU_SLOW void *kmalloc_aligned_slow(size_t size, size_t align, bool must)
{
	if (percpu_mode_ == PERCPU_MAGAZINES && !(align & (align - 1)) &&
	    align <= PERCPU_MAX_ALIGN && size <= PERCPU_MAX_SMALL + HEAP_MIN_ALIGN - align) {
		char *b = kmalloc_try(size + align - HEAP_MIN_ALIGN);
		if (b) {
			char *q = (char *)(((uintptr_t)b + align - 1) & ~(uintptr_t)(align - 1));
			if (q != b)
				offset_tag_write(q, (size_t)(q - b));
			return q;
		}
		/* No memory for the padded block: the heap's own aligned one. */
	}
	/* Too big, bypass, or not a power of two (the heap names it). */
	return kmalloc_slow(size, align, must);
}

void *kmalloc_aligned(size_t size, size_t align)
{
	/*
	 * Every class block is 16-aligned, so a power of two up to 16 is the
	 * plain class path; bigger ones are kmalloc_aligned_slow's.
	 */
	if (likely(align <= HEAP_MIN_ALIGN && !(align & (align - 1))))
		return kmalloc(size);
	return kmalloc_aligned_slow(size, align, true);
}

void *kmalloc_aligned_try(size_t size, size_t align)
{
	if (likely(align <= HEAP_MIN_ALIGN && !(align & (align - 1))))
		return kmalloc_try(size);
	return kmalloc_aligned_slow(size, align, false);
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);
	percpu_bytes_zero(p, size);
	return p;
}

void *kcalloc(size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size)
		return kheap_calloc(n, size); /* the heap names the overflow */
	return kzalloc(n * size);
}

/*
 * PERCPU_HARDEN >= 1 (<percpu/config.h>): does p look enough like a heap
 * block for the fast path? The check lane's top bit (set in every valid tag)
 * and p inside the heap's hull. A miss only means the slow path decides.
 */
static inline __attribute__((always_inline)) bool kfree_filter(const void *p)
{
#if PERCPU_HARDEN >= 1
	uintptr_t off = (uintptr_t)p - LOAD_RELAXED(&kheap_bounds_.lo);
	/* Each test likely() on its own: GCC does not spread one over an &&. */
	return likely(heap_tag_check_top(p)) &&
	       likely(off < LOAD_RELAXED(&kheap_bounds_.span));
#else
	(void)p;
	return true;
#endif
}

/*
 * A big block (above PERCPU_MAX_FAST) is cached only if the tag behind it
 * still has its check lane's top bit, as the heap's own free would insist:
 * an overflow into the next block is then named at the culprit's kfree, as
 * it was when these sizes went to the heap. While p is live the next tag
 * stays where it is and any tag the heap writes there has the bit, so one
 * racy byte load suffices (a miss only means the heap decides, under its
 * lock). Not under TSan, for which the heap's plain store is a race.
 */
static bool next_tag_plausible(const void *p)
{
#if defined(__SANITIZE_THREAD__)
	(void)p;
	return true;
#else
	size_t usable = heap_block_size(p);
	if (usable <= PERCPU_MAX_FAST)
		return true;
	return heap_tag_check_top((const char *)p + usable + sizeof(uintptr_t));
#endif
}

PERCPU_FAST void kfree(void *p);

/* kfree of a pointer whose tag has an offset-tag state (see above). */
static PERCPU_SLOW void free_offset(void *q)
{
	void *b;
	if (is_offset(q) && (b = offset_block(q)) != NULL) {
		heap_tag_set_state(q, PERCPU_STATE_OFFSET_FREED);
		kfree(b);
		return;
	}
	/* Freed already: if its block is still cached, the heap names it. */
	size_t off = offset_of(q);
	b = (char *)q - off;
	if (off && heap_tag_is_cached(b) && heap_tag_check_top(b))
		kheap_free(b);
	else
		kheap_free(q);
}

static PERCPU_SLOW void free_slow_path(void *p)
{
	percpu_check_ready();
	unsigned st = heap_tag_state(p);
	if (st == PERCPU_STATE_OFFSET || st == PERCPU_STATE_OFFSET_FREED) {
		free_offset(p);
		return;
	}
	/*
	 * Aligned, live and a matching check first: then the size is real.
	 * Hardened: inside the heap too, so a forged tag outside it (even one
	 * with a matching check) reaches the heap, which names it.
	 */
	if (percpu_mode_ == PERCPU_MAGAZINES && heap_tag_plausible_live(p) &&
	    (PERCPU_HARDEN < 1 || kfree_filter(p)) &&
	    (heap_block_size(p) >> 4) < PERCPU_TABLE_ENTRIES &&
	    next_tag_plausible(p)) {
		unsigned cls = percpu_usable_class(heap_block_size(p));
		if (cls < PERCPU_NCLASSES && free_slow(p, cls))
			return;
	} else {
		port_irqflags_t f = port_irq_save();
		struct percpu_cpu *c = this_cpu();
		mark_active(c);
		STAT_ADD(&percpu_cold[c - percpu_cpus].large_frees, 1);
		port_irq_restore(f);
	}
	/* Large, bypass, or not a plausible live block: the heap decides. */
	kheap_free(p);
}

PERCPU_FAST void kfree(void *p)
{
	if (unlikely(!p))
		return;
	unsigned st = heap_tag_state(p);
	if (likely((st & 7) == 0 && kfree_filter(p))) {
		port_irqflags_t f = port_irq_save();
		struct percpu_cpu *c = port_hart_data();
		if (likely(c != NULL)) {
			void ***tp = (void ***)((char *)c->top + st);
			void **top = *tp;
			if (likely(top != *(void ***)((char *)c->limit + st) &&
				   (PORT_KICK_INTERRUPTS ||
				    !LOAD_RELAXED(&c->flush_pending)))) {
				*top = p;
				STORE_RELAXED(tp, top + 1);
				heap_tag_mark_cached(p);
				port_irq_restore(f);
				return;
			}
		}
		port_irq_restore(f);
	}
	free_slow_path(p);
}

/*
 * The hit paths alone, for a build that includes this file in its own
 * translation unit (tools/bench/malloc_shim.c) and wants its entry points to
 * be one inlined function: each does what kmalloc_fast's and kfree's hits
 * do and reports a miss (NULL / false) without taking any slow path, so the
 * caller picks its own. kmalloc and kfree above do not use them (their RV64
 * layout is counted by count_fastpath.sh).
 *
 * kfree_hit: p non-NULL. Instead of kfree_filter's heap hull, the caller
 * gives the range [lo, lo + span) p must be in (the shim: its first region,
 * exactly, so a foreign pointer never reaches a magazine); the check lane's
 * top bit is tested at every PERCPU_HARDEN level.
 */
static inline __attribute__((always_inline)) void *kmalloc_hit(size_t size)
{
	size_t idx = (size - 1) >> 4; /* size 0 wraps: a miss */
	void *p = NULL;
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = port_hart_data();
	if (likely(idx < (PERCPU_MAX_FAST >> 4) && c != NULL)) {
		unsigned st = c->size_state[idx];
		void ***tp = (void ***)((char *)c->top + st);
		void **top = *tp;
		p = top[-1];
		if (likely(p != NULL)) {
			STORE_RELAXED(tp, top - 1);
			heap_tag_set_state(p, st);
			STAT_ADD(&c->alloc_hits, 1);
		}
	}
	port_irq_restore(f);
	return p;
}

static inline __attribute__((always_inline)) bool
kfree_hit(void *p, uintptr_t lo, uintptr_t span)
{
	if (unlikely((uintptr_t)p - lo >= span))
		return false; /* before any load through p */
	unsigned st = heap_tag_state(p);
	if (likely((st & 7) == 0) && likely(heap_tag_check_top(p))) {
		port_irqflags_t f = port_irq_save();
		struct percpu_cpu *c = port_hart_data();
		if (likely(c != NULL)) {
			void ***tp = (void ***)((char *)c->top + st);
			void **top = *tp;
			if (likely(top != *(void ***)((char *)c->limit + st) &&
				   (PORT_KICK_INTERRUPTS ||
				    !LOAD_RELAXED(&c->flush_pending)))) {
				*top = p;
				STORE_RELAXED(tp, top + 1);
				heap_tag_mark_cached(p);
				port_irq_restore(f);
				return true;
			}
		}
		port_irq_restore(f);
	}
	return false;
}

void kfree_sized(void *p, size_t size)
{
	void *b;
	if (p && is_offset(p) && (b = offset_block(p)) != NULL) {
		size_t off = (size_t)((char *)p - (char *)b);
		if (size > heap_block_size(b) - off) {
			/* The heap names it, for the block and offset + size. */
			kheap_free_sized(b, size > (size_t)-1 - off ? (size_t)-1 : size + off);
			return;
		}
	} else if (p && size > heap_block_size(p) && !heap_tag_is_cached(p)) {
		kheap_free_sized(p, size); /* the heap names the mismatch */
		return;
	}
	kfree(p);
}

size_t ksize(const void *p)
{
	if (!p)
		return 0;
	if (unlikely(is_offset(p))) {
		const void *b = offset_block(p);
		if (b)
			return heap_block_size(b) - (size_t)((const char *)p - (const char *)b);
	}
	return heap_block_size(p);
}

void *krealloc(void *p, size_t size)
{
	if (!p)
		return kmalloc_try(size);
	if (!size) {
		kfree(p);
		return NULL;
	}
	size_t old = ksize(p);
	if (is_offset(p)) {
		if (!offset_block(p))
			return kheap_realloc(p, size); /* the heap names it */
	} else if (heap_tag_is_cached(p) || old > PERCPU_MAX_SMALL) {
		return kheap_realloc(p, size); /* misuse or in-place resize */
	}
	if (size <= old && size > old / 2)
		return p;
	void *q = kmalloc_try(size);
	if (!q)
		return NULL;
	percpu_bytes_copy(q, p, size < old ? size : old);
	kfree(p);
	return q;
}

void percpu_poll(void)
{
	struct percpu_cpu *c = this_cpu();
	if (likely(!LOAD_RELAXED(&c->flush_pending)))
		return;
	port_irqflags_t f = port_irq_save();
	honour_flush(this_cpu());
	port_irq_restore(f);
}

static void percpu_kick_handler(void)
{
	percpu_poll();
}

void percpu_drain(void)
{
	percpu_check_ready();
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	flush_local(c, false);
	drain_depots(c);
	flush_remote(c);
	drain_depots(c);
	port_irq_restore(f);
}

bool percpu_check_drained(size_t caller_live)
{
	percpu_drain();
	struct kheap_stats st;
	kheap_get_stats(&st);
	if (st.heap.live_allocs != caller_live) {
		port_printf("percpu: after drain the heap has %zu live blocks, "
			    "the caller holds %zu\n", st.heap.live_allocs, caller_live);
		return false;
	}
	return true;
}

void percpu_hart_exit(void)
{
	if (!percpu_ready)
		return;
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	honour_flush(c);
	flush_local(c, true);
	/* The next thread on this hart starts afresh (see percpu_cpu.seen). */
	percpu_bytes_zero(c->seen, sizeof(c->seen));
	/* Relaxed: a requester that still asks just finds us answered. */
	STORE_RELAXED(&c->active, 0u);
	port_irq_restore(f);
}

/* ---- statistics ---------------------------------------------------------- */

static size_t percpu_cached_rounds(unsigned hart);

void percpu_get_stats(unsigned hart, struct percpu_stats *o)
{
	percpu_bytes_zero(o, sizeof(*o));
	if (hart >= PORT_MAX_HARTS)
		return;
	const struct percpu_counters *n = &percpu_cold[hart];
	const struct percpu_cpu *c = &percpu_cpus[hart];
	uint64_t fa = LOAD_RELAXED(&c->alloc_hits);
	/*
	 * Fast frees are derived: blocks in the magazines now = loaded from
	 * outside - unloaded + pushes - pops, and pushes = fast + slow frees
	 * into magazines. Exact when the hart is quiet; a snapshot of a busy
	 * hart may be off by a few (clamped at 0).
	 */
	uint64_t pops = fa + LOAD_RELAXED(&n->slow_pops);
	uint64_t in = LOAD_RELAXED(&n->mag_in), out = LOAD_RELAXED(&n->mag_out);
	uint64_t now = percpu_cached_rounds(hart);
	uint64_t pushed = now + out + pops, not_fast = in + LOAD_RELAXED(&n->slow_pushes);
	uint64_t ff = pushed > not_fast ? pushed - not_fast : 0;
	o->allocs = fa + LOAD_RELAXED(&n->slow_allocs) + LOAD_RELAXED(&n->large_allocs);
	o->frees = ff + LOAD_RELAXED(&n->slow_frees) + LOAD_RELAXED(&n->large_frees);
	o->alloc_hits = fa;
	o->free_hits = ff;
	o->swaps = LOAD_RELAXED(&n->swaps);
	o->depot_exchanges = LOAD_RELAXED(&n->depot_exchanges);
	o->refills = LOAD_RELAXED(&n->refills);
	o->refill_blocks = LOAD_RELAXED(&n->refill_blocks);
	o->returns = LOAD_RELAXED(&n->returns);
	o->return_blocks = LOAD_RELAXED(&n->return_blocks);
	o->large_allocs = LOAD_RELAXED(&n->large_allocs);
	o->large_frees = LOAD_RELAXED(&n->large_frees);
	o->flushes = LOAD_RELAXED(&n->flushes);
	o->flush_requests = LOAD_RELAXED(&n->flush_requests);
	o->lock_acquisitions = LOAD_RELAXED(&n->lock_acquisitions);
	o->lock_spins = LOAD_RELAXED(&n->lock_spins);
}

void percpu_sum_stats(struct percpu_stats *sum)
{
	percpu_bytes_zero(sum, sizeof(*sum));
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++) {
		struct percpu_stats s;
		percpu_get_stats(h, &s);
		uint64_t *d = (uint64_t *)sum;
		const uint64_t *a = (const uint64_t *)&s;
		for (size_t i = 0; i < sizeof(s) / sizeof(uint64_t); i++)
			d[i] += a[i];
	}
}

/* Rounds of one slot of hart's: loaded and previous (a racy snapshot). */
static size_t slot_rounds_snapshot(const struct percpu_cpu *c, unsigned cls)
{
	unsigned si = PERCPU_SLOT(cls);
	void **base = LOAD_RELAXED(&c->base[si]), **top = LOAD_RELAXED(&c->top[si]);
	size_t cap = percpu_class_rounds[cls], rounds = 0;
	/* A snapshot taken mid-swap may not be consistent: clamp it. */
	if (base && top >= base && (size_t)(top - base) <= cap)
		rounds = (size_t)(top - base);
	return rounds + LOAD_RELAXED(&c->prev_rounds[si]);
}

static size_t percpu_cached_rounds(unsigned hart)
{
	size_t n = 0;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		n += slot_rounds_snapshot(&percpu_cpus[hart], cls);
	return n;
}

size_t percpu_cached_bytes(unsigned hart)
{
	if (hart >= PORT_MAX_HARTS)
		return 0;
	size_t bytes = 0;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		bytes += slot_rounds_snapshot(&percpu_cpus[hart], cls) *
			 percpu_class_size[cls];
	return bytes;
}

size_t percpu_depot_bytes(void)
{
	size_t bytes = 0;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		bytes += LOAD_RELAXED(&percpu_depots[cls].nfull) *
			 percpu_class_rounds[cls] * percpu_class_size[cls];
	return bytes;
}

/*
 * Lines for the heap's OOM report: where the cached bytes are (every active
 * hart, the ones that cache nothing too: that they do is news), and which
 * harts did not answer this hart's last flush request.
 */
static void percpu_report_extra(kheap_print_fn print)
{
	size_t total = 0;
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++) {
		size_t b = percpu_cached_bytes(h);
		if (b || LOAD_RELAXED(&percpu_cpus[h].active))
			print("  percpu: hart %u caches %zu bytes\n", h, b);
		total += b;
	}
	print("  percpu: depots cache %zu bytes, harts %zu bytes\n",
	      percpu_depot_bytes(), total);

	unsigned me = port_hart_id();
	const struct percpu_counters *n = &percpu_cold[me];
	if (!LOAD_RELAXED(&n->flush_asked))
		return;
	char list[4 * PORT_MAX_HARTS + 1]; /* " 127" per hart */
	size_t len = 0;
	list[0] = '\0';
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++)
		if (LOAD_RELAXED(&n->unanswered[h / 64]) & ((uint64_t)1 << (h % 64)))
			len += (size_t)port_snprintf(list + len, sizeof(list) - len, " %u", h);
	if (len)
		print("  percpu: hart %u's last flush request timed out; not answered "
		      "by hart%s%s\n", me, len > 4 ? "s" : "", list);
	else
		print("  percpu: hart %u's last flush request: every active hart "
		      "answered\n", me);
}

/* ---- fork (hosted ports), see <percpu/kmalloc.h> ------------------------ */

static port_irqflags_t percpu_fork_flags;

void percpu_fork_prepare(void)
{
	port_irqflags_t f = port_irq_save();
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		ticket_lock(&percpu_depots[cls].lock);
	percpu_fork_flags = f;
}

void percpu_fork_parent(void)
{
	for (unsigned cls = PERCPU_NCLASSES; cls-- > 0;)
		ticket_unlock(&percpu_depots[cls].lock);
	port_irq_restore(percpu_fork_flags);
}

void percpu_fork_child(void)
{
	unsigned me = port_hart_id();
	/* Reset, not unlock: tickets taken by the parent's other threads are void. */
	for (unsigned cls = PERCPU_NCLASSES; cls-- > 0;)
		ticket_lock_init(&percpu_depots[cls].lock);
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++)
		if (h != me)
			STORE_RELAXED(&percpu_cpus[h].active, 0u);
	port_irq_restore(percpu_fork_flags);
}

void percpu_test_set_remote_flush(bool enabled)
{
	percpu_remote_flush = enabled;
}

void percpu_init(enum percpu_mode mode)
{
	if (percpu_ready)
		port_panic(PORT_EXIT_MISUSE, "percpu: double init");
	percpu_mode_ = mode;
	/*
	 * Every hart's slots start without magazines and with its own copy of
	 * the size table (so the fast path reads no shared line). Before other
	 * harts run: their first slow path then only stores the pointer.
	 */
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++) {
		struct percpu_cpu *c = &percpu_cpus[h];
		for (unsigned i = 0; i < PERCPU_NSLOTS; i++) {
			c->top[i] = c->limit[i] = PERCPU_NO_ROUNDS;
			c->base[i] = NULL;
		}
		for (unsigned i = 0; i < (PERCPU_MAX_FAST >> 4); i++)
			c->size_state[i] = (uint8_t)PERCPU_STATE(percpu_size_class_table[i + 1]);
	}
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		ticket_lock_init(&percpu_depots[cls].lock);
	if (mode == PERCPU_MAGAZINES) {
		kheap_set_reclaim_hook(percpu_reclaim, NULL);
		kheap_set_report_extra(percpu_report_extra);
		port_set_kick_handler(percpu_kick_handler);
	}
	percpu_ready = true;
}
