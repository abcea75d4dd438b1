// SPDX-License-Identifier: BSD-2-Clause
/*
 * The page allocator (<percpu/pages.h>): runs of pages carved from the heap,
 * their metadata outside them, and a per-hart stack of single pages.
 *
 * Locks and ordering:
 *  - pages_lock (a ticket lock, taken with interrupts masked) guards the run
 *    list, the spare descriptors, every run's `free` bitmap and counts, and
 *    the directory entries' writes. Lock order: pages_lock, then the heap's
 *    (kheap_free of an empty run happens under pages_lock); never the other
 *    way round, since kheap_try_alloc (which may run the reclaim hook, and
 *    through it pages_reclaim) is only called without pages_lock.
 *  - A hart's cache is touched only by that hart with interrupts masked.
 *  - A page's state byte is written by whoever owns the page at that moment
 *    (the freeing caller, or the lock holder for pages in runs) and read by
 *    free_pages to catch misuse; relaxed atomics, as the heap's tag lanes:
 *    two harts freeing the same page at the same instant may both pass.
 *  - Directory entries are read without the lock (relaxed): an entry a
 *    correct free_pages reads was written before its page was handed out,
 *    and the hand-off (the lock, or the caller's own synchronisation)
 *    orders it. Descriptors are never freed (spares are reused), so even a
 *    bogus pointer's stale entry points at a live descriptor.
 */
#include <percpu/pages.h>
#include <platform/port.h>
#include <platform/ticket_lock.h>
#include <stdint.h>

enum {
	ST_FREE = 0,   /* in its run's free bitmap */
	ST_CACHED = 1, /* in some hart's cache */
	ST_TAIL = 2,   /* handed out, not the first page of its allocation */
	ST_HEAD = 0x80 /* | order: handed out, first page */
};

struct pages_run {
	uintptr_t base;
	unsigned npages;
	unsigned nfree;
	uint64_t free;          /* bit i: page i is ST_FREE */
	struct pages_run *next; /* the run list, or the spare list */
	uint8_t state[PAGES_RUN_PAGES];
};

struct pages_cpu {
	void *page[PAGES_CACHE_MAX];
	unsigned n;
	uint64_t allocs, frees, hits;
} __attribute__((aligned(PORT_CACHE_LINE)));

static struct pages_cpu pages_cpus[PORT_MAX_HARTS];
static ticket_lock_t pages_lock = TICKET_LOCK_INIT;
static struct pages_run *runs, *spares, *hint;
/*
 * The directory entry of a page whose run went back to the heap, until a
 * new run covers it: a free_pages of a page there is a double free (the
 * page was handed out, freed, and its run released), not a foreign pointer.
 * Its address only; run_of never returns it.
 */
static struct pages_run run_gone;
static unsigned empty_runs;
static uint64_t runs_carved, runs_returned;

/* Set once by pages_init (before any other hart allocates pages). */
static struct pages_run **dir;
static uintptr_t dir_lo;
static size_t dir_pages;
static bool pages_ready; /* atomic: release in pages_init, acquire on use */

static kheap_misuse_fn misuse_fn; /* atomic: the handler, NULL = default */

static void pages_misuse(enum heap_error err, void *p, unsigned order, const char *where)
{
	/* Acquire: pairs with the release in pages_set_misuse_handler. */
	kheap_misuse_fn fn = __atomic_load_n(&misuse_fn, __ATOMIC_ACQUIRE);
	/*
	 * The bytes of the order named. A misused order may be any unsigned:
	 * from the word's bits - PAGES_SHIFT up no size_t holds them (and a
	 * shift by the word's bits or more is undefined), so those are
	 * SIZE_MAX; the default report names the order itself, not one
	 * guessed back from the bytes.
	 */
	size_t size = order < sizeof(size_t) * 8 - PAGES_SHIFT ? PAGES_SIZE << order : SIZE_MAX;

	if (!fn)
		port_panic(PORT_EXIT_MISUSE, "pages: %s: %p order %u (%s)", heap_error_name(err),
			   p, order, where);
	fn(err, p, size, where);
}

kheap_misuse_fn pages_set_misuse_handler(kheap_misuse_fn fn)
{
	/* Acq_rel: publishes the handler's data, returns the old one whole. */
	return __atomic_exchange_n(&misuse_fn, fn, __ATOMIC_ACQ_REL);
}

static inline uint8_t state_get(struct pages_run *r, unsigned i)
{
	return __atomic_load_n(&r->state[i], __ATOMIC_RELAXED);
}

static inline void state_set(struct pages_run *r, unsigned i, uint8_t st)
{
	__atomic_store_n(&r->state[i], st, __ATOMIC_RELAXED);
}

/*
 * A hart's cache count and counters: written only by their hart (masked),
 * read by pages_get_stats from any hart; relaxed, so the snapshot is racy
 * but not a data race.
 */
#define OWN_ADD(field, v) __atomic_store_n(&(field), (field) + (v), __ATOMIC_RELAXED)

static inline uint64_t run_mask(unsigned n)
{
	return n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
}

void pages_init(void)
{
	/* Relaxed: kheap_init ran on this hart, or was ordered before us. */
	uintptr_t lo = __atomic_load_n(&kheap_bounds_.hull_lo, __ATOMIC_RELAXED);
	uintptr_t span = __atomic_load_n(&kheap_bounds_.hull_span, __ATOMIC_RELAXED);

	if (__atomic_load_n(&pages_ready, __ATOMIC_ACQUIRE)) {
		pages_misuse(HEAP_ERR_DOUBLE_INIT, NULL, 0, "pages_init");
		return;
	}
	if (!span) {
		pages_misuse(HEAP_ERR_UNINIT, NULL, 0, "pages_init before kheap_init");
		return;
	}
	dir_lo = lo & ~(uintptr_t)(PAGES_SIZE - 1);
	dir_pages = (lo + span - dir_lo + PAGES_SIZE - 1) >> PAGES_SHIFT;
	dir = kheap_calloc(dir_pages, sizeof(*dir));
	/* Release: the directory is set up before any hart sees `pages_ready`. */
	__atomic_store_n(&pages_ready, true, __ATOMIC_RELEASE);
}

static bool check_ready(const char *where)
{
	/* Acquire: pairs with the release in pages_init (the directory). */
	if (__builtin_expect(__atomic_load_n(&pages_ready, __ATOMIC_ACQUIRE), 1))
		return true;
	pages_misuse(HEAP_ERR_UNINIT, NULL, 0, where);
	return false;
}

/* ---- runs (pages_lock held) --------------------------------------------- */

/*
 * Index of the lowest set bit of x != 0, in at most 16 steps. Not
 * __builtin_ctzll: without Zbb it is a libgcc call, and kernels such as
 * xv6 link no libgcc.
 */
static unsigned lowest_bit(uint64_t x)
{
	unsigned i = 0;

	for (; !(x & 0xff); x >>= 8)
		i += 8;
	for (; !(x & 1); x >>= 1)
		i++;
	return i;
}

/* Takes 2^order free pages aligned to 2^order within a run; NULL if none. */
static void *run_take(unsigned order)
{
	unsigned n = 1U << order;
	uint64_t mask = run_mask(n);
	struct pages_run *r = hint ? hint : runs;

	for (struct pages_run *first = r; r;) {
		/* A single page: the lowest free one; else aligned candidates. */
		unsigned i = order == 0 && r->free ? lowest_bit(r->free) : 0;
		for (; r->nfree >= n && i + n <= r->npages; i += n) {
			if (((r->free >> i) & mask) != mask)
				continue;
			if (r->nfree == r->npages)
				empty_runs--;
			r->free &= ~(mask << i);
			r->nfree -= n;
			state_set(r, i, (uint8_t)(ST_HEAD | order));
			for (unsigned k = 1; k < n; k++)
				state_set(r, i + k, ST_TAIL);
			hint = r;
			return (void *)(r->base + ((uintptr_t)i << PAGES_SHIFT));
		}
		r = r->next ? r->next : runs;
		if (r == first)
			break;
	}
	return NULL;
}

/* Unlinks an empty run, clears its directory entries, frees it to the heap. */
static void run_release(struct pages_run *r)
{
	struct pages_run **pp = &runs;

	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	if (hint == r)
		hint = NULL;
	for (unsigned i = 0; i < r->npages; i++)
		__atomic_store_n(&dir[((r->base - dir_lo) >> PAGES_SHIFT) + i], &run_gone,
				 __ATOMIC_RELAXED);
	empty_runs--;
	runs_returned++;
	kheap_free((void *)r->base);
	r->next = spares;
	spares = r;
}

/* Puts 2^order pages at page index i back into run r. */
static void run_put(struct pages_run *r, unsigned i, unsigned order)
{
	unsigned n = 1U << order;

	for (unsigned k = 0; k < n; k++)
		state_set(r, i + k, ST_FREE);
	r->free |= run_mask(n) << i;
	r->nfree += n;
	if (r->nfree == r->npages && ++empty_runs > PAGES_KEEP_EMPTY_RUNS)
		run_release(r);
}

/* p's directory entry: its run, &run_gone, or NULL (never in a run). */
static struct pages_run *dir_entry(void *p)
{
	uintptr_t a = (uintptr_t)p;
	size_t i = (a - dir_lo) >> PAGES_SHIFT;

	if (a < dir_lo || i >= dir_pages)
		return NULL;
	return __atomic_load_n(&dir[i], __ATOMIC_RELAXED);
}

/* p's run (and its page index in *idx), or NULL if p is in none now. */
static struct pages_run *run_of(void *p, unsigned *idx)
{
	struct pages_run *r = dir_entry(p);

	if (!r || r == &run_gone)
		return NULL;
	*idx = (unsigned)(((uintptr_t)p - r->base) >> PAGES_SHIFT);
	return r;
}

/* A cached page back to its run (pages_lock held). */
static void put_cached(void *p)
{
	unsigned i = 0;
	struct pages_run *r = run_of(p, &i);

	/*
	 * A cached page's run stays while the page is cached (it is not
	 * empty): none is a broken invariant, named rather than written
	 * through (gcc -O3 saw the store through NULL).
	 */
	if (__builtin_expect(!r, 0))
		port_panic(PORT_EXIT_PANIC, "pages: cached page %p is in no run", p);
	run_put(r, i, 0);
}

/*
 * Whether n pages from base are all pages the directory has entries for. In
 * two tests, not as base - dir_lo + n pages <= the directory's span: for a
 * run below dir_lo (in a region claimed below the first after pages_init)
 * that sum wraps, and one ending at dir_lo exactly passed as inside, its
 * directory index 2^52 - n.
 */
static bool in_directory(uintptr_t base, unsigned n)
{
	return base >= dir_lo && n <= dir_pages &&
	       (base - dir_lo) >> PAGES_SHIFT <= dir_pages - n;
}

/*
 * Carves a new run of up to PAGES_RUN_PAGES pages (at least 2^order) from
 * the heap and adds it to the list. Without pages_lock: the heap may run
 * its reclaim hook. False if the heap has no room.
 */
static bool carve(unsigned order)
{
	struct pages_run *r;
	port_irqflags_t f;
	void *base = NULL, *held = NULL;
	unsigned n;

	f = ticket_lock_irqsave(&pages_lock, NULL);
	r = spares;
	if (r)
		spares = r->next;
	ticket_unlock_irqrestore(&pages_lock, f);
	if (!r && !(r = kheap_try_alloc(sizeof(*r), 16)))
		return false;
	for (n = PAGES_RUN_PAGES; n >= (1U << order); n /= 2) {
		if (!(base = kheap_try_alloc((size_t)n << PAGES_SHIFT, PAGES_SIZE)))
			continue;
		if (in_directory((uintptr_t)base, n))
			break;
		/*
		 * Claimed after pages_init: outside the directory, not ours.
		 * The directory's regions may still have room for a smaller
		 * run, so try that, holding this block (linked through its
		 * first word) so the heap does not offer it again.
		 */
		*(void **)base = held;
		held = base;
		base = NULL;
	}
	while (held) {
		void *next = *(void **)held;
		kheap_free(held);
		held = next;
	}
	f = ticket_lock_irqsave(&pages_lock, NULL);
	if (!base) {
		r->next = spares;
		spares = r;
		ticket_unlock_irqrestore(&pages_lock, f);
		return false;
	}
	r->base = (uintptr_t)base;
	r->npages = n;
	r->nfree = n;
	r->free = run_mask(n);
	for (unsigned i = 0; i < n; i++) {
		state_set(r, i, ST_FREE);
		__atomic_store_n(&dir[(((uintptr_t)base - dir_lo) >> PAGES_SHIFT) + i], r,
				 __ATOMIC_RELAXED);
	}
	r->next = runs;
	runs = r;
	hint = r;
	empty_runs++;
	runs_carved++;
	ticket_unlock_irqrestore(&pages_lock, f);
	return true;
}

/* ---- the API ------------------------------------------------------------ */

/* One try: this hart's cache, then the runs; NULL if the runs are full. */
static void *try_alloc(unsigned order)
{
	port_irqflags_t f = port_irq_save();
	struct pages_cpu *c = &pages_cpus[port_hart_id()];
	void *p = NULL;

	if (order == 0 && c->n) {
		unsigned i = 0;
		struct pages_run *r;
		p = c->page[c->n - 1];
		OWN_ADD(c->n, -1U);
		r = run_of(p, &i); /* before reading i: argument order is unspecified */
		state_set(r, i, ST_HEAD);
		OWN_ADD(c->allocs, 1);
		OWN_ADD(c->hits, 1);
		port_irq_restore(f);
		return p;
	}
	ticket_lock(&pages_lock);
	p = run_take(order);
	/* Single pages: fill half the cache while the lock is held. */
	for (unsigned k = 1; p && order == 0 && k < PAGES_CACHE_BATCH; k++) {
		unsigned i = 0;
		struct pages_run *r;
		void *q = run_take(0);
		if (!q)
			break;
		r = run_of(q, &i);
		state_set(r, i, ST_CACHED);
		c->page[c->n] = q;
		OWN_ADD(c->n, 1);
	}
	ticket_unlock(&pages_lock);
	if (p)
		OWN_ADD(c->allocs, 1);
	port_irq_restore(f);
	return p;
}

void *alloc_pages(unsigned order)
{
	void *p;

	if (!check_ready("alloc_pages"))
		return NULL;
	if (order > PAGES_MAX_ORDER) {
		pages_misuse(HEAP_ERR_BAD_ALIGN, NULL, order, "alloc_pages: order too big");
		return NULL;
	}
	if ((p = try_alloc(order)))
		return p;
	while (carve(order))
		if ((p = try_alloc(order)))
			return p;
	/* No run has room and the heap none for a new one: consolidate. */
	pages_reclaim();
	if (carve(order))
		return try_alloc(order);
	return NULL;
}

void free_pages(void *p, unsigned order)
{
	struct pages_run *r;
	unsigned i = 0;
	uint8_t st;

	if (!p)
		return; /* as kfree(NULL) and Linux's free_pages(0, order) */
	if (!check_ready("free_pages"))
		return;
	if (order > PAGES_MAX_ORDER) {
		pages_misuse(HEAP_ERR_BAD_ALIGN, p, order, "free_pages: order too big");
		return;
	}
	r = run_of(p, &i);
	if (!r) {
		/*
		 * The first page of a run that went back to the heap: it was
		 * handed out and freed before. (A pointer the heap has since
		 * handed out elsewhere is named so too: misuse either way.)
		 */
		bool gone = dir_entry(p) == &run_gone && !((uintptr_t)p & (PAGES_SIZE - 1));
		pages_misuse(gone ? HEAP_ERR_DOUBLE_FREE : HEAP_ERR_FOREIGN_PTR, p, order,
			     "free_pages");
		return;
	}
	st = state_get(r, i);
	if (((uintptr_t)p & (PAGES_SIZE - 1)) || st == ST_TAIL) {
		pages_misuse(HEAP_ERR_INTERIOR_PTR, p, order, "free_pages");
		return;
	}
	if (st == ST_FREE || st == ST_CACHED) {
		pages_misuse(HEAP_ERR_DOUBLE_FREE, p, order, "free_pages");
		return;
	}
	if (st != (ST_HEAD | order)) {
		pages_misuse(HEAP_ERR_SIZE_MISMATCH, p, order, "free_pages: wrong order");
		return;
	}

	port_irqflags_t f = port_irq_save();
	struct pages_cpu *c = &pages_cpus[port_hart_id()];

	OWN_ADD(c->frees, 1);
	if (order == 0) {
		state_set(r, i, ST_CACHED);
		c->page[c->n] = p;
		OWN_ADD(c->n, 1);
		if (c->n < PAGES_CACHE_MAX) {
			port_irq_restore(f);
			return;
		}
		/* Full: the older half goes back to the runs. */
		ticket_lock(&pages_lock);
		for (unsigned k = 0; k < PAGES_CACHE_BATCH; k++)
			put_cached(c->page[k]);
		for (unsigned k = PAGES_CACHE_BATCH; k < c->n; k++)
			c->page[k - PAGES_CACHE_BATCH] = c->page[k];
		OWN_ADD(c->n, -(unsigned)PAGES_CACHE_BATCH);
	} else {
		ticket_lock(&pages_lock);
		run_put(r, i, order);
	}
	ticket_unlock(&pages_lock);
	port_irq_restore(f);
}

bool pages_reclaim(void)
{
	port_irqflags_t f;
	struct pages_cpu *c;
	uint64_t before;

	if (!__atomic_load_n(&pages_ready, __ATOMIC_ACQUIRE))
		return false;
	f = port_irq_save();
	c = &pages_cpus[port_hart_id()];
	ticket_lock(&pages_lock);
	before = runs_returned;
	for (; c->n; OWN_ADD(c->n, -1U))
		put_cached(c->page[c->n - 1]);
	/* Every empty run goes, the ones kept against churn too. */
	for (struct pages_run *r = runs, *next; r; r = next) {
		next = r->next;
		if (r->nfree == r->npages)
			run_release(r);
	}
	before = runs_returned - before;
	ticket_unlock(&pages_lock);
	port_irq_restore(f);
	return before != 0;
}

void pages_get_stats(struct pages_stats *st)
{
	port_irqflags_t f;

	*st = (struct pages_stats){ .directory_bytes = dir_pages * sizeof(*dir) };
	/*
	 * The caches are read under pages_lock: pages move between a cache
	 * and the runs only under it, so the runs' free counts and the
	 * caches' sizes are of one moment but for the pages a hart hands out
	 * from, or frees into, its own cache meanwhile (cached <-> used).
	 * Read before the lock, a batch a hart flushed in between counted
	 * twice, as cached and as free, and used_pages wrapped.
	 */
	f = ticket_lock_irqsave(&pages_lock, NULL);
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++) {
		const struct pages_cpu *c = &pages_cpus[h];
		/* Relaxed snapshots of another hart's counters. */
		st->cached_pages += __atomic_load_n(&c->n, __ATOMIC_RELAXED);
		st->allocs += __atomic_load_n(&c->allocs, __ATOMIC_RELAXED);
		st->frees += __atomic_load_n(&c->frees, __ATOMIC_RELAXED);
		st->cache_hits += __atomic_load_n(&c->hits, __ATOMIC_RELAXED);
	}
	for (struct pages_run *r = runs; r; r = r->next) {
		st->runs++;
		st->run_pages += r->npages;
		st->free_pages += r->nfree;
	}
	st->runs_carved = runs_carved;
	st->runs_returned = runs_returned;
	ticket_unlock_irqrestore(&pages_lock, f);
	/*
	 * A page one hart's cache handed out and another's took back while
	 * the caches were read may still count twice: never below 0.
	 */
	st->used_pages = st->run_pages - st->free_pages > st->cached_pages
				 ? st->run_pages - st->free_pages - st->cached_pages
				 : 0;
}
