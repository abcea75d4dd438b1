// SPDX-License-Identifier: BSD-2-Clause
/*
 * Per-hart magazines and depots (Bonwick & Adams 2001) in front of the
 * locked global heap. The path of a request is described once in
 * <percpu/kmalloc.h>; this file keeps to it.
 *
 * Data. Each hart owns one struct percpu_cpu (cache-line aligned, indexed by
 * port_hart_id()). For each class it holds a slot: the loaded magazine as
 * three pointers into its round array (base <= top <= limit: rounds
 * [base, top) are cached blocks) and the previous magazine, which is always
 * either empty or full (Bonwick's invariant), with its round count. Only the
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
 * with one relaxed load on its fast path (or in the kick handler, or in
 * percpu_poll), flushes, and publishes flush_done = the flush_req it saw.
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

struct percpu_slot {
	void **top;   /* rounds [base, top) hold cached blocks */
	void **base;  /* loaded->rounds; NULL when no magazine is loaded */
	void **limit; /* base + rounds per magazine */
	struct percpu_magazine *prev; /* empty or full, never in between */
};

/* Slow-path counters, only the owner writes them (see STAT_ADD). */
struct percpu_counters {
	uint64_t slow_allocs, slow_frees;
	uint64_t swaps, depot_exchanges, refills, refill_blocks;
	uint64_t returns, return_blocks, large_allocs, large_frees;
	uint64_t flushes, flush_requests, lock_acquisitions, lock_spins;
} __attribute__((aligned(PORT_CACHE_LINE)));

/*
 * One hart's hot data: 1024 bytes on LP64 (a power of two, so indexing by
 * hart is a shift), cache-line aligned so no two harts share a line.
 */
struct percpu_cpu {
	/*
	 * Nonzero when another hart asked for a flush. Written by requesters,
	 * cleared by the owner; loaded on every fast-path operation. It shares
	 * the line with the owner's hot data: requests are rare (OOM, drain).
	 */
	unsigned long flush_pending;
	uint64_t fast_allocs, fast_frees; /* only the owner writes them */
	/* One extra slot, never loaded: the class of an impossible size. */
	struct percpu_slot slot[PERCPU_NCLASSES + 1];
	uint8_t prev_rounds[PERCPU_NCLASSES + 1]; /* of slot[].prev: 0 or cap */
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

/*
 * The fast paths' data in one object, so they materialise one address: the
 * class tables (copied from size_class.c at init) first, within reach of a
 * 12-bit offset, then the harts.
 */
static struct percpu_global {
	/* (size + 15) >> 4 -> class */
	uint8_t size_class[PERCPU_TABLE_ENTRIES];
	/* block size / 16 (usable / 16 + 1) -> class, 0 -> PERCPU_NCLASSES */
	uint8_t block_class[PERCPU_TABLE_ENTRIES + 1];
	struct percpu_cpu cpus[PORT_MAX_HARTS];
} percpu_g;
#define percpu_cpus (percpu_g.cpus)

static struct percpu_counters percpu_cold[PORT_MAX_HARTS];
static struct percpu_depot percpu_depots[PERCPU_NCLASSES];
static enum percpu_mode percpu_mode_;
static bool percpu_ready;        /* set once by percpu_init */
static bool percpu_remote_flush = true; /* testing switch */

/* Spin rounds (port_wait_long each) a flush requester waits for the others. */
#ifndef PERCPU_FLUSH_WAIT_ROUNDS
#define PERCPU_FLUSH_WAIT_ROUNDS 20000
#endif

static inline struct percpu_cpu *this_cpu(void)
{
	/* int: the port's lw sign-extends, so no zero-extension is needed. */
	return &percpu_cpus[(int)port_hart_id()];
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

static void percpu_bytes_copy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
}

/* Marking cached/live: one byte store to the tag's state lane (heap_core.h). */
static inline void tag_set_cached(void *p)
{
	heap_tag_mark_cached(p);
}

static inline void tag_clear_cached(void *p)
{
	heap_tag_mark_live(p);
}

/* ---- slot manipulation (owner only, interrupts masked) ------------------ */

static inline size_t slot_loaded_rounds(const struct percpu_slot *s)
{
	return (size_t)(s->top - s->base);
}

static inline struct percpu_magazine *slot_loaded(const struct percpu_slot *s)
{
	if (!s->base)
		return NULL;
	return (struct percpu_magazine *)((char *)s->base -
					  __builtin_offsetof(struct percpu_magazine, rounds));
}

static void slot_load(struct percpu_slot *s, unsigned cls,
		      struct percpu_magazine *m, size_t rounds)
{
	if (!m) {
		STORE_RELAXED(&s->base, (void **)NULL);
		STORE_RELAXED(&s->top, (void **)NULL);
		s->limit = NULL;
		return;
	}
	/* base first, then top: a reader that sees the new top sees rounds <= cap. */
	STORE_RELAXED(&s->base, m->rounds);
	STORE_RELAXED(&s->top, m->rounds + rounds);
	s->limit = m->rounds + percpu_class_rounds[cls];
}

static void slot_set_prev(struct percpu_cpu *c, unsigned cls,
			  struct percpu_magazine *m, size_t rounds)
{
	c->slot[cls].prev = m;
	STORE_RELAXED(&c->prev_rounds[cls], (uint8_t)(m ? rounds : 0));
}

/* Loaded <-> previous. */
static void slot_swap(struct percpu_cpu *c, unsigned cls)
{
	struct percpu_slot *s = &c->slot[cls];
	struct percpu_magazine *old = slot_loaded(s);
	size_t old_rounds = old ? slot_loaded_rounds(s) : 0;
	slot_load(s, cls, s->prev, c->prev_rounds[cls]);
	slot_set_prev(c, cls, old, old_rounds);
}

/* ---- the heap side ------------------------------------------------------ */

static void heap_return(struct percpu_cpu *c, void **blocks, size_t n)
{
	if (!n)
		return;
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
		struct percpu_slot *s = &c->slot[cls];
		struct percpu_magazine *m[2] = { slot_loaded(s), s->prev };
		size_t r[2] = { m[0] ? slot_loaded_rounds(s) : 0, c->prev_rounds[cls] };
		slot_load(s, cls, NULL, 0);
		slot_set_prev(c, cls, NULL, 0);
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
	for (unsigned long round = 0; round < PERCPU_FLUSH_WAIT_ROUNDS; round++) {
		bool all = true;
		for (unsigned h = 0; h < PORT_MAX_HARTS && all; h++)
			if (h != me)
				all = flush_answered(&percpu_cpus[h]);
		if (all)
			return;
		honour_flush(self);
		port_wait_long();
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
	struct percpu_slot *s = &c->slot[cls];
	void *p = NULL;

	mark_active(c);
	STAT_ADD(&percpu_cold[c - percpu_cpus].slow_allocs, 1);
	for (;;) {
		honour_flush(c);
		if (s->top != s->base)
			goto pop;
		if (s->prev && c->prev_rounds[cls] == cap) {
			slot_swap(c, cls);
			STAT_ADD(&percpu_cold[c - percpu_cpus].swaps, 1);
			goto pop;
		}
		/* Loaded empty or absent, previous empty or absent: the depot. */
		struct percpu_magazine *m = slot_loaded(s), *got;
		port_irqflags_t df = depot_lock(c, d);
		got = d->full;
		if (got) {
			d->full = got->next;
			STORE_RELAXED(&d->nfull, d->nfull - 1);
			if (m) {
				/* Bonwick: previous (empty) to the depot, loaded -> previous. */
				if (s->prev) {
					s->prev->next = d->empty;
					d->empty = s->prev;
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
			slot_load(s, cls, got, cap);
			STAT_ADD(&percpu_cold[c - percpu_cpus].depot_exchanges, 1);
			goto pop;
		}

		/* No full magazine anywhere: refill one from the heap. */
		if (!m) {
			m = slot_loaded(s);
			slot_load(s, cls, NULL, 0); /* detached over heap calls */
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
			tag_set_cached(m->rounds[i]);
		/* A reclaim inside mag_create may have emptied the slot: re-read. */
		if (s->base) {
			/* Cannot happen today (only we load it), but stay correct. */
			heap_return(c, m->rounds, n);
			depot_put_empty(c, cls, m);
			continue;
		}
		slot_load(s, cls, m, n);
		goto pop;
	}
	port_irq_restore(f);
	return NULL;
pop:
	p = *--s->top;
	STORE_RELAXED(&s->top, s->top);
	tag_clear_cached(p);
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
	struct percpu_slot *s = &c->slot[cls];
	struct percpu_magazine *spare = NULL, *excess;
	bool cached = true;

	mark_active(c);
	STAT_ADD(&percpu_cold[c - percpu_cpus].slow_frees, 1);
	for (;;) {
		honour_flush(c);
		if (s->base && s->top != s->limit)
			break;
		if (s->prev && c->prev_rounds[cls] == 0) {
			/* Loaded full or absent, previous empty. */
			slot_swap(c, cls);
			STAT_ADD(&percpu_cold[c - percpu_cpus].swaps, 1);
			break;
		}
		if (!s->base && spare) {
			slot_load(s, cls, spare, 0);
			spare = NULL;
			break;
		}
		if (s->base && !s->prev) {
			/* Loaded full, no previous yet: it becomes the previous. */
			slot_set_prev(c, cls, slot_loaded(s), cap);
			slot_load(s, cls, NULL, 0);
			continue;
		}
		/*
		 * Loaded full (previous full) or absent: at the depot, give the
		 * full previous and take an empty, in one lock acquisition.
		 */
		excess = NULL;
		port_irqflags_t df = depot_lock(c, d);
		if (s->base) {
			s->prev->next = d->full;
			d->full = s->prev;
			STORE_RELAXED(&d->nfull, d->nfull + 1);
			slot_set_prev(c, cls, slot_loaded(s), cap);
			slot_load(s, cls, NULL, 0);
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
	*s->top = p;
	STORE_RELAXED(&s->top, s->top + 1);
	tag_set_cached(p);
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
	    align <= HEAP_MIN_ALIGN) {
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

/* ---- the public API ------------------------------------------------------ */

/*
 * Fast path: one table load for the class, interrupts masked, the hart's own
 * slot; pop a round, mark its tag live. Anything unusual (empty magazine,
 * flush requested, bypass mode, not initialised: no magazine is loaded)
 * takes the slow path.
 */
static inline __attribute__((always_inline)) void *kmalloc_fast(size_t size)
{
	if (likely(size <= PERCPU_MAX_SMALL)) {
		size_t cls = percpu_g.size_class[(size + 15) >> 4];
		port_irqflags_t f = port_irq_save();
		struct percpu_cpu *c = this_cpu();
		struct percpu_slot *s = &c->slot[cls];
		void **top = s->top;
		if (likely(top != s->base && !LOAD_RELAXED(&c->flush_pending))) {
			void *p = *--top;
			STORE_RELAXED(&s->top, top);
			tag_clear_cached(p);
			STAT_ADD(&c->fast_allocs, 1);
			port_irq_restore(f);
			return p;
		}
		port_irq_restore(f);
	}
	return NULL;
}

PERCPU_FAST void *kmalloc(size_t size)
{
	void *p = kmalloc_fast(size);
	if (likely(p != NULL))
		return p;
	return kmalloc_slow(size, 0, true);
}

PERCPU_FAST void *kmalloc_try(size_t size)
{
	void *p = kmalloc_fast(size);
	if (likely(p != NULL))
		return p;
	return kmalloc_slow(size, 0, false);
}

void *kmalloc_aligned(size_t size, size_t align)
{
	if (align <= HEAP_MIN_ALIGN)
		return kmalloc(size);
	return kmalloc_slow(size, align, true);
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

static PERCPU_SLOW void free_slow_path(void *p)
{
	percpu_check_ready();
	size_t usable = heap_block_size(p);
	if (percpu_mode_ == PERCPU_MAGAZINES && heap_tag_plausible_live(p) &&
	    (usable >> 4) < PERCPU_TABLE_ENTRIES) {
		unsigned cls = percpu_usable_class(usable);
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
	size_t blk16 = heap_tag_size16(p); /* block bytes / 16 */
	if (likely(heap_tag_state(p) == HEAP_STATE_LIVE && blk16 <= PERCPU_TABLE_ENTRIES)) {
		size_t cls = percpu_g.block_class[blk16];
		port_irqflags_t f = port_irq_save();
		struct percpu_cpu *c = this_cpu();
		struct percpu_slot *s = &c->slot[cls];
		void **top = s->top;
		if (likely(top != s->limit && !LOAD_RELAXED(&c->flush_pending))) {
			*top = p;
			STORE_RELAXED(&s->top, top + 1);
			tag_set_cached(p);
			STAT_ADD(&c->fast_frees, 1);
			port_irq_restore(f);
			return;
		}
		port_irq_restore(f);
	}
	free_slow_path(p);
}

void kfree_sized(void *p, size_t size)
{
	if (p && size > heap_block_size(p) && !heap_tag_is_cached(p)) {
		kheap_free_sized(p, size); /* the heap names the mismatch */
		return;
	}
	kfree(p);
}

size_t ksize(const void *p)
{
	return p ? heap_block_size(p) : 0;
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
	if (heap_tag_is_cached(p) || old > PERCPU_MAX_SMALL)
		return kheap_realloc(p, size); /* misuse or in-place resize */
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
	/* Relaxed: a requester that still asks just finds us answered. */
	STORE_RELAXED(&c->active, 0u);
	port_irq_restore(f);
}

/* ---- statistics ---------------------------------------------------------- */

void percpu_get_stats(unsigned hart, struct percpu_stats *o)
{
	percpu_bytes_zero(o, sizeof(*o));
	if (hart >= PORT_MAX_HARTS)
		return;
	const struct percpu_counters *n = &percpu_cold[hart];
	uint64_t fa = LOAD_RELAXED(&percpu_cpus[hart].fast_allocs);
	uint64_t ff = LOAD_RELAXED(&percpu_cpus[hart].fast_frees);
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

size_t percpu_cached_bytes(unsigned hart)
{
	if (hart >= PORT_MAX_HARTS)
		return 0;
	const struct percpu_cpu *c = &percpu_cpus[hart];
	size_t bytes = 0;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++) {
		const struct percpu_slot *s = &c->slot[cls];
		void **base = LOAD_RELAXED(&s->base), **top = LOAD_RELAXED(&s->top);
		size_t cap = percpu_class_rounds[cls], rounds = 0;
		/* A snapshot taken mid-swap may not be consistent: clamp it. */
		if (base && top >= base && (size_t)(top - base) <= cap)
			rounds = (size_t)(top - base);
		rounds += LOAD_RELAXED(&c->prev_rounds[cls]);
		bytes += rounds * percpu_class_size[cls];
	}
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

/* Lines for the heap's OOM report: where the cached bytes are. */
static void percpu_report_extra(kheap_print_fn print)
{
	size_t total = 0;
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++) {
		size_t b = percpu_cached_bytes(h);
		if (b)
			print("  percpu: hart %u caches %zu bytes\n", h, b);
		total += b;
	}
	print("  percpu: depots cache %zu bytes, harts %zu bytes\n",
		    percpu_depot_bytes(), total);
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
	/* The fast paths' copies of the tables (see struct percpu_global). */
	percpu_bytes_copy(percpu_g.size_class, percpu_size_class_table,
			  sizeof(percpu_g.size_class));
	percpu_g.block_class[0] = PERCPU_NCLASSES;
	percpu_bytes_copy(percpu_g.block_class + 1, percpu_usable_class_table,
			  sizeof(percpu_usable_class_table));
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		ticket_lock_init(&percpu_depots[cls].lock);
	if (mode == PERCPU_MAGAZINES) {
		kheap_set_reclaim_hook(percpu_reclaim, NULL);
		kheap_set_report_extra(percpu_report_extra);
		port_set_kick_handler(percpu_kick_handler);
	}
	percpu_ready = true;
}
