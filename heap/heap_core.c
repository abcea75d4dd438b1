// SPDX-License-Identifier: BSD-2-Clause
/*
 * The first-fit core: regions, bins, alloc, free, realloc. Single-threaded;
 * the block layout is drawn in <heap/heap_core.h>.
 */
#include "heap_internal.h"

/* ---- bins ------------------------------------------------------------ */

/*
 * The list primitives take the bin index from the caller, who already has
 * it: bin_of is computed once per block size per operation. Statistics are
 * the callers' business too.
 *
 * They do not branch on NULL links: whether a neighbour in the list exists
 * is as random as the heap's traffic, and a mispredicted branch costs more
 * than the select of where to store (a missing neighbour's link goes to
 * h->sink, which nothing reads).
 */
#if HEAP_HARDENING < 2 /* level 2 stores encoded links instead */
static inline struct heap_free_block **next_slot(struct heap *h, unsigned i,
						 struct heap_free_block *prev)
{
	return prev ? &prev->next : &h->bins[i];
}

static inline struct heap_free_block **prev_slot(struct heap *h, struct heap_free_block *next)
{
	return next ? &next->prev : &h->sink;
}
#endif

/*
 * Stores through next_slot / prev_slot. At HEAP_HARDENING >= 2 a block's
 * link is encoded (link_set) and a bin's head is not, so they branch there.
 */
static inline void next_slot_set(struct heap *h, unsigned i, struct heap_free_block *prev,
				 struct heap_free_block *v)
{
#if HEAP_HARDENING >= 2
	if (prev)
		link_set(&prev->next, v);
	else
		h->bins[i] = v;
#else
	*next_slot(h, i, prev) = v;
#endif
}

static inline void prev_slot_set(struct heap *h, struct heap_free_block *next,
				 struct heap_free_block *v)
{
#if HEAP_HARDENING >= 2
	(void)h;
	if (next)
		link_set(&next->prev, v);
#else
	*prev_slot(h, next) = v;
#endif
}

static inline void bin_push(struct heap *h, unsigned i, uintptr_t b)
{
	struct heap_free_block *fb = fb_of(b), *head = h->bins[i];

	/* LIFO: the most recently freed block is reused first (warm in cache). */
	link_set(&fb->prev, NULL);
	link_set(&fb->next, head);
	prev_slot_set(h, head, fb);
	h->bins[i] = fb;
	bin_bit_set(h, i);
}

static inline void bin_unlink(struct heap *h, unsigned i, uintptr_t b)
{
	struct heap_free_block *fb = fb_of(b), *next = fb_next(h, fb), *prev = fb_prev(h, fb);

	HEAP_CHECK(bin_bit(h, i));
	HEAP_CHECK(prev || h->bins[i] == fb);
	next_slot_set(h, i, prev, next);
	prev_slot_set(h, next, prev);
	/*
	 * The bin's bit goes when its list does: when fb was the head and had
	 * no successor (known from the links, not by reading back bins[i]).
	 */
	h->bitmap[i >> 6] &= ~((uint64_t)(!prev & !next) << (i & 63));
}

/*
 * The free block at `from` (in bin i) becomes the one at `to`, in the same
 * bin and at the same place in its list: what a split or a merge that does
 * not change the bin costs instead of a remove and an insert. The two nodes
 * are at least MIN_BLOCK apart, so they never overlap.
 */
static inline void bin_move(struct heap *h, unsigned i, uintptr_t from, uintptr_t to)
{
	struct heap_free_block *f = fb_of(from), *t = fb_of(to);
	struct heap_free_block *next = fb_next(h, f), *prev = fb_prev(h, f);

	link_set(&t->next, next);
	link_set(&t->prev, prev);
	next_slot_set(h, i, prev, t);
	prev_slot_set(h, next, t);
}

/* A free block leaves the heap's free pool (cold paths). */
static void bin_remove(struct heap *h, uintptr_t b, uintptr_t size)
{
	(void)size;
	bin_unlink(h, bin_of(size), b);
	h->st.free_blocks--;
}

/*
 * Makes [b, b + size) one free block, coalescing with the free block of psz
 * bytes below it (0: the block below is allocated; its footer sits at b - W)
 * and with the free block of nsz bytes above it (0: allocated). Tags
 * swallowed by the merge are zeroed so they never look valid. A merge
 * reuses a neighbour's list node when the bin stays the same. `tagged`: b
 * holds its own allocated tag of `size` bytes, validated; when nothing
 * merges, the free tag is then that tag flipped (tag_write_freed).
 */
static inline __attribute__((always_inline)) void coalesce(struct heap *h, uintptr_t b, uintptr_t size, uintptr_t psz,
			    uintptr_t nsz, bool tagged)
{
	uintptr_t n = b + size, node = 0;
	unsigned ni = 0;

	if (psz) {
		tag_store(b, 0);
		b -= psz;
		size += psz;
		node = b;
		ni = bin_of(psz);
	}
	if (nsz) {
		unsigned j = bin_of(nsz);
		tag_store(n, 0);
		if (node) {
			bin_unlink(h, j, n);
			h->st.free_blocks--;
		} else {
			node = n;
			ni = j;
		}
		size += nsz;
	} else {
		/* n is allocated (or the sentinel): its block below is now free. */
		flags_store(n, (uint8_t)(flags_load(n) | HEAP_TAG_PREV_FREE));
	}
	/* No free block can sit below a free block, so P is clear. */
	if (!node && tagged)
		tag_write_freed(b); /* b kept its address and size */
	else
		tag_write(b, size, 0);
	footer_set(b, size);
	if (!node) {
		h->st.free_blocks++;
		bin_push(h, bin_of(size), b);
	} else if (size >= bin_lo[ni + 1]) {
		/* The merge outgrew the neighbour's bin. */
		bin_unlink(h, ni, node);
		bin_push(h, bin_of(size), b);
	} else if (node != b) {
		bin_move(h, ni, node, b);
	}
}

/* As coalesce, reading the neighbours' state from the tags. */
static void free_span(struct heap *h, uintptr_t b, uintptr_t size, bool prev_free)
{
	uintptr_t n = b + size;
	uintptr_t nsz = (flags_load(n) & HEAP_TAG_ALLOC) ? 0 : (uintptr_t)size16_load(n) << 4;

	coalesce(h, b, size, prev_free ? footer_get(b) : 0, nsz, false);
}

/* ---- regions --------------------------------------------------------- */

static void recompute_hull(struct heap *h)
{
	h->lo = UINTPTR_MAX;
	h->hi = 0;
	for (struct heap_region *r = h->regions; r; r = r->next) {
		if ((uintptr_t)r < h->lo)
			h->lo = (uintptr_t)r;
		if (r->end > h->hi)
			h->hi = r->end;
	}
}

static bool overlaps(const struct heap *h, uintptr_t s, uintptr_t e,
		     const struct heap_region *skip)
{
	for (struct heap_region *r = h->regions; r; r = r->next)
		if (r != skip && s < r->end && (uintptr_t)r < e)
			return true;
	return false;
}

/* The highest address 8 mod 16 whose tag word still fits below e. */
static uintptr_t sentinel_below(uintptr_t e)
{
	return ((e - 2 * W) & ~(GRAIN - 1)) + W;
}

enum heap_error heap_init(struct heap *h, void *start, void *end)
{
	for (unsigned i = 0; i < HEAP_NUM_BINS; i++)
		h->bins[i] = NULL;
	for (unsigned i = 0; i < HEAP_BITMAP_WORDS; i++)
		h->bitmap[i] = 0;
	h->regions = NULL;
	h->lo = UINTPTR_MAX;
	h->hi = 0;
	heap_memset(&h->st, 0, sizeof(h->st));
#if HEAP_HARDENING >= 2
	h->bad_link = 0;
	heap_secret_sealed_ = true;
#endif
	h->magic = HEAP_MAGIC;
	if (start == end)
		return HEAP_OK;
	return heap_claim(h, start, end);
}

enum heap_error heap_claim(struct heap *h, void *start, void *end)
{
	uintptr_t s = (uintptr_t)start, e = (uintptr_t)end;

	if (h->magic != HEAP_MAGIC)
		return HEAP_ERR_UNINIT;
	if (e <= s || e - s < 128 || s > UINTPTR_MAX - GRAIN)
		return HEAP_ERR_BAD_REGION;
	uintptr_t rs = (s + GRAIN - 1) & ~(GRAIN - 1);
	/*
	 * A header at 0 would be the NULL that ends the region list (the
	 * region lost, its claim still counted): RAM at 0 starts one grain in,
	 * as an unaligned start is rounded up. e - s >= 128 leaves room.
	 */
	if (rs == 0)
		rs = GRAIN;
	uintptr_t first = rs + REGION_HDR, sent = sentinel_below(e);
	if (sent < first + MIN_BLOCK || sent - first > MAX_BLOCK)
		return HEAP_ERR_BAD_REGION;
	if (overlaps(h, s, e, NULL)) /* [start, end) as given, not from rs */
		return HEAP_ERR_BAD_REGION;

	struct heap_region *r = (struct heap_region *)rs;
	r->next = h->regions;
	r->end = e;
	r->sentinel = sent;
	h->regions = r;
	recompute_hull(h);
	h->st.heap_bytes += e - rs;
	h->st.regions++;

	tag_write(sent, 0, HEAP_TAG_ALLOC);
	free_span(h, first, sent - first, false);
	return HEAP_OK;
}

enum heap_error heap_extend(struct heap *h, void *new_end)
{
	uintptr_t ne = (uintptr_t)new_end;
	struct heap_region *r = h->regions;

	if (h->magic != HEAP_MAGIC)
		return HEAP_ERR_UNINIT;
	if (!r || ne < r->end)
		return HEAP_ERR_BAD_REGION;
	if (ne == r->end)
		return HEAP_OK;
	if (overlaps(h, r->end, ne, r))
		return HEAP_ERR_BAD_REGION;
	uintptr_t old = r->sentinel, ns = sentinel_below(ne);
	if (ns - region_first(r) > MAX_BLOCK)
		return HEAP_ERR_BAD_REGION;
	h->st.heap_bytes += ne - r->end;
	r->end = ne;
	recompute_hull(h);
	/* Too little new room for a block: keep the sentinel, own the bytes. */
	if (ns < old + MIN_BLOCK)
		return HEAP_OK;
	bool pf = (tag_load(old) & HEAP_TAG_PREV_FREE) != 0;
	tag_write(ns, 0, HEAP_TAG_ALLOC);
	r->sentinel = ns;
	/* The old sentinel becomes the tag of the new free block (or merges). */
	free_span(h, old, ns - old, pf);
	return HEAP_OK;
}

void *heap_truncate(struct heap *h, void *new_end)
{
	struct heap_region *r = h->regions;

	if (h->magic != HEAP_MAGIC || !r)
		return NULL;
	uintptr_t ne = (uintptr_t)new_end, first = region_first(r);
	if (ne >= r->end)
		return (void *)r->end;
	if (ne < first + 2 * W)
		ne = first + 2 * W;

	/* The free tail, if any, starts at `last`; nothing below it can go. */
	uintptr_t sent = r->sentinel, last = sent;
	bool tail_free = (tag_load(sent) & HEAP_TAG_PREV_FREE) != 0;
	if (tail_free)
		last = sent - footer_get(sent);

	uintptr_t ns = sentinel_below(ne);
	if (ns < last)
		ns = last;
	if (ns > last && ns - last < MIN_BLOCK)
		ns = last + MIN_BLOCK; /* keep a whole minimal free block */
	if (ns >= sent) {
		ns = sent;
	} else {
		if (tail_free)
			bin_remove(h, last, sent - last);
		tag_write(ns, 0, HEAP_TAG_ALLOC);
		if (ns > last)
			free_span(h, last, ns - last, false);
	}
	uintptr_t end = ns + W > ne ? ns + W : ne;
	if (end < r->end) {
		h->st.heap_bytes -= r->end - end;
		r->end = end;
		r->sentinel = ns;
		recompute_hull(h);
	}
	return (void *)r->end;
}

/* ---- allocation ------------------------------------------------------ */

/* Bytes a payload of `size` needs, tag (and canary) included; size <= MAX_BLOCK - BLOCK_OVERHEAD. */
static inline uintptr_t need_of(size_t size)
{
	uintptr_t need = ((uintptr_t)size + BLOCK_OVERHEAD + GRAIN - 1) & ~(GRAIN - 1);
	/* A select, not a branch: tiny and small requests come mixed. */
	return need < MIN_BLOCK ? MIN_BLOCK : need;
}

/* Padding in front of block b so its payload is aligned (0 or >= MIN_BLOCK). */
static inline uintptr_t align_gap(uintptr_t b, uintptr_t align)
{
	uintptr_t gap = (0 - (b + W)) & (align - 1);
	if (gap && gap < MIN_BLOCK)
		gap += align; /* the gap must be able to stand as a free block */
	return gap;
}

static inline uintptr_t block_size(uintptr_t b)
{
	return (uintptr_t)size16_load(b) << 4;
}

/*
 * The smallest of the first BIN_SCAN_LIMIT blocks of the last bin
 * (open-ended: 288 KiB up; any of its blocks holds the requests that come
 * here, which no lower bin serves). So the largest free block, usually
 * the rest of a region never used yet, is the last resort (dlmalloc's
 * wilderness), and a heap on a big region does not spread over memory it
 * never needed at once: taken like any head, the top of a region put the
 * highest address of talc's random actions at max 30000 at 3.6x the heap's
 * high water after 20 M actions (//heap:wilderness_test checks 1.25x).
 * That block is not always below the sentinel: batch runs are cut from the
 * top of the block they take, the region's rest too, and with a test for
 * the block below the sentinel, 8 slots cycling 256 KiB blocks among such
 * runs spread them over 48.8x the heap's high water (wilderness_test
 * checks 1.5x there).
 */
static __attribute__((noinline)) uintptr_t last_bin_pick(struct heap *h)
{
	struct heap_free_block *fb = h->bins[HEAP_NUM_BINS - 1];
	uintptr_t best = (uintptr_t)fb, bs = block_size(best);

	/* The bin is not empty: it has a head. */
	fb = fb_next(h, fb);
	for (unsigned n = 1; fb && n < BIN_SCAN_LIMIT; fb = fb_next(h, fb), n++) {
		uintptr_t fs = block_size((uintptr_t)fb);
		if (fs < bs) {
			best = (uintptr_t)fb;
			bs = fs;
		}
	}
	return best;
}

/* The head of non-empty bin j, the largest block last (see last_bin_pick). */
static inline uintptr_t bin_pick(struct heap *h, unsigned j)
{
	if (j < HEAP_NUM_BINS - 1)
		return (uintptr_t)h->bins[j];
	return last_bin_pick(h);
}

static bool fits(uintptr_t b, uintptr_t need, uintptr_t align)
{
	uintptr_t s = block_size(b);
	if (align <= GRAIN)
		return s >= need;
	uintptr_t gap = align_gap(b, align);
	return gap <= s && s - gap >= need;
}

/*
 * First fit, any alignment, every block of every bin from the bin of `need`
 * up: the block (and its bin in *bin), or 0. Only when the probes of the
 * fast paths found nothing, so near OOM or for an awkward alignment.
 */
static __attribute__((noinline)) uintptr_t find_fit_slow(struct heap *h, uintptr_t need,
							uintptr_t align, unsigned *bin)
{
	for (unsigned i = bin_next(h, bin_of(need)); i < HEAP_NUM_BINS; i = bin_next(h, i + 1)) {
		for (struct heap_free_block *fb = h->bins[i]; fb; fb = fb_next(h, fb)) {
			if (fits((uintptr_t)fb, need, align)) {
				*bin = i;
				return (uintptr_t)fb;
			}
		}
	}
	return 0;
}

static inline void note_alloc(struct heap *h, uintptr_t size, size_t count)
{
	h->st.bytes_in_use += size;
	h->st.total_allocs += count;
	if (h->st.bytes_in_use > h->st.high_water)
		h->st.high_water = h->st.bytes_in_use;
}

/*
 * The free block b (in bin i, of s bytes) keeps [b + used, b + s) as a free
 * remainder if that can stand alone, reusing b's list node when the
 * remainder stays in bin i; else it leaves its bin and the block above it
 * loses its P bit. Returns the bytes the caller gets (used, or all of s).
 */
static inline __attribute__((always_inline)) uintptr_t split_off(struct heap *h, uintptr_t b,
								unsigned i, uintptr_t s,
								uintptr_t used)
{
	uintptr_t rest = s - used;

	if (rest >= MIN_BLOCK) {
		uintptr_t r = b + used;
		tag_write(r, rest, 0);
		footer_set(r, rest);
		if (rest >= bin_lo[i]) {
			bin_move(h, i, b, r);
		} else {
			bin_unlink(h, i, b);
			bin_push(h, bin_of(rest), r);
		}
		/* The block above the remainder keeps its P bit. */
		return used;
	}
	bin_unlink(h, i, b);
	flags_store(b + s, (uint8_t)(flags_load(b + s) & ~HEAP_TAG_PREV_FREE));
	h->st.free_blocks--;
	return s;
}

/*
 * Allocates need bytes at the start of free block b (in bin i). A remainder
 * that can stand alone stays free above it, keeping b's list node when its
 * bin is the same (splitting the top block costs no list work).
 */
static inline __attribute__((always_inline)) void *take(struct heap *h, uintptr_t b, unsigned i, uintptr_t need)
{
	need = split_off(h, b, i, block_size(b), need);
	/* b was free, so the block below it is allocated: P is clear. */
	tag_write(b, need, HEAP_TAG_ALLOC);
	note_alloc(h, need, 1);
	return (void *)(b + W);
}

/*
 * The head b of exact bin i, which holds blocks of need bytes only: no size
 * to read, no remainder, and a check that only flips with A (a free tag
 * damaged meanwhile stays damaged, for the block's free to name); the block
 * above loses its P bit.
 */
static inline __attribute__((always_inline)) void *take_exact(struct heap *h, uintptr_t b,
							     unsigned i, uintptr_t need)
{
	HEAP_CHECK(block_size(b) == need);
	bin_unlink(h, i, b);
	h->st.free_blocks--;
	flags_store(b + need, (uint8_t)(flags_load(b + need) & ~HEAP_TAG_PREV_FREE));
	/* b was free, so the block below it is allocated: P is clear. */
	tag_write_flipped(b, need, HEAP_TAG_ALLOC, check_load(b));
	note_alloc(h, need, 1);
	return (void *)(b + W);
}

/* Cuts an aligned allocation out of free block b (in bin i) after a gap. */
static __attribute__((noinline)) void *carve_aligned(struct heap *h, uintptr_t b, unsigned i, uintptr_t need,
			   uintptr_t gap)
{
	uintptr_t s = block_size(b);
	uintptr_t a = b + gap, avail = s - gap;
	uintptr_t size = avail - need >= MIN_BLOCK ? need : avail;

	bin_unlink(h, i, b);
	h->st.free_blocks--;
	tag_write(a, size, HEAP_TAG_ALLOC | HEAP_TAG_PREV_FREE);
	coalesce(h, b, gap, 0, 0, false);
	if (size < avail)
		free_span(h, a + size, avail - size, false);
	else
		tag_set_prev_free(a + size, false);
	note_alloc(h, size, 1);
	return (void *)(a + W);
}

/*
 * An alignment above 16: the heads of the first few non-empty bins from the
 * bin of `need`, then the head of the first non-empty bin whose blocks all
 * fit whatever their address (need + align + 16 bytes hold the block after
 * the largest gap align_gap makes), then every block.
 */
static __attribute__((noinline)) void *alloc_aligned(struct heap *h, uintptr_t need,
						    uintptr_t al, enum heap_error *err)
{
	unsigned sure = bin_of(need + al + GRAIN) + 1, n = 0, j;
	uintptr_t b = 0;

	for (j = bin_next(h, bin_of(need)); j < sure && n < ALIGN_PROBES;
	     j = bin_next(h, j + 1), n++) {
		if (fits((uintptr_t)h->bins[j], need, al)) {
			b = (uintptr_t)h->bins[j];
			break;
		}
	}
	if (!b) {
		j = bin_next(h, sure);
		if (j < HEAP_NUM_BINS)
			b = bin_pick(h, j);
		else
			b = find_fit_slow(h, need, al, &j);
	}
	if (!b) {
		if (err)
			*err = HEAP_ERR_OOM;
		return NULL;
	}
	uintptr_t gap = align_gap(b, al);
	if (gap)
		return carve_aligned(h, b, j, need, gap);
	return take(h, b, j, need);
}

/* Any size and alignment: checks them, then any fit. */
static __attribute__((noinline)) void *alloc_slow(struct heap *h, size_t size,
						 size_t align, enum heap_error *err)
{
	uintptr_t need, al = GRAIN;
	enum heap_error e;

	if (align & (align - 1)) {
		e = HEAP_ERR_BAD_ALIGN;
		goto fail;
	}
	if (align > GRAIN)
		al = align;
	if (size > MAX_BLOCK - BLOCK_OVERHEAD || al > MAX_BLOCK) {
		e = HEAP_ERR_SIZE_OVERFLOW;
		goto fail;
	}
	need = need_of(size);
	if (al > GRAIN) {
		if (need + al + MIN_BLOCK > MAX_BLOCK) {
			e = HEAP_ERR_SIZE_OVERFLOW;
			goto fail;
		}
		return alloc_aligned(h, need, al, err);
	}
	unsigned i = 0;
	uintptr_t b = find_fit_slow(h, need, al, &i);
	if (b)
		return take(h, b, i, need);
	e = HEAP_ERR_OOM;
fail:
	if (err)
		*err = e;
	return NULL;
}

/*
 * The best fit for `need` among the first BIN_SCAN_LIMIT blocks of bin i
 * (stopping at one that leaves no remainder), or 0.
 */
static inline uintptr_t best_in_bin(struct heap *h, unsigned i, uintptr_t need)
{
	uintptr_t best = 0, bs = UINTPTR_MAX;
	struct heap_free_block *fb = h->bins[i];

	for (unsigned n = 0; fb && n < BIN_SCAN_LIMIT; fb = fb_next(h, fb), n++) {
		uintptr_t fs = block_size((uintptr_t)fb);
		if (fs >= need && fs < bs) {
			best = (uintptr_t)fb;
			bs = fs;
			if (fs - need < MIN_BLOCK)
				break;
		}
	}
	return best;
}

/*
 * Default alignment, `need`'s own bin i not empty and not exact: the best
 * fit among its first BIN_SCAN_LIMIT blocks, else the head of the next
 * non-empty bin (any block there fits), else the slow path.
 */
static __attribute__((noinline)) void *alloc_fit(struct heap *h, size_t size, uintptr_t need,
						unsigned i, enum heap_error *err)
{
	uintptr_t best = best_in_bin(h, i, need);

	if (best)
		return take(h, best, i, need);
	unsigned j = bin_next(h, i + 1);
	if (j < HEAP_NUM_BINS)
		return take(h, bin_pick(h, j), j, need);
	return alloc_slow(h, size, 0, err);
}

/* The alignments 0, 1, 2, 4, 8 and 16, as bits: the default ones. */
#define DEFAULT_ALIGNS 0x10117u

/*
 * The common case without calls: default alignment, and the head of an
 * exact bin or of the next non-empty bin above the size's. A non-empty
 * range bin of the size goes to alloc_fit, the rest to alloc_slow (tail
 * calls: nothing to save around them).
 */
static inline __attribute__((always_inline)) void *alloc(struct heap *h, size_t size,
							size_t align,
							enum heap_error *err)
{
	if (__builtin_expect(align <= GRAIN && ((DEFAULT_ALIGNS >> align) & 1) &&
				     size <= MAX_BLOCK - BLOCK_OVERHEAD, 1)) {
		uintptr_t need = need_of(size);
		unsigned i = bin_of(need), j = bin_next(h, i);

		if (j == i) {
			if (i < EXACT_BINS)
				return take_exact(h, (uintptr_t)h->bins[i], i, need);
			return alloc_fit(h, size, need, i, err);
		}
		if (j < HEAP_NUM_BINS)
			return take(h, bin_pick(h, j), j, need);
	}
	return alloc_slow(h, size, align, err);
}

void *heap_alloc(struct heap *h, size_t size, size_t align, enum heap_error *err)
{
	if (h->magic != HEAP_MAGIC) {
		if (err)
			*err = HEAP_ERR_UNINIT;
		return NULL;
	}
	return alloc(h, size, align, err);
}

void *heap_calloc(struct heap *h, size_t n, size_t size, enum heap_error *err)
{
	if (size && n > SIZE_MAX / size) {
		if (err)
			*err = HEAP_ERR_SIZE_OVERFLOW;
		return NULL;
	}
	void *p = heap_alloc(h, n * size, 0, err);
	if (p) {
		/* Only the bytes asked for, rounded up to whole words. */
		size_t bytes = (n * size + W - 1) & ~(size_t)(W - 1);
		heap_memset(p, 0, bytes);
	}
	return p;
}

/*
 * The free block for a run of blocks of `need` bytes: the lowest-addressed
 * of the first BIN_SCAN_LIMIT blocks in the first bin from bin_of(need) up
 * that has one holding a block (in the last bin the smallest of them).
 * Runs fill the smallest holes first, as the single allocations that the
 * caches replace would (best fit), and pack low in the heap; cutting each
 * run from a block that held the whole batch took the holes large requests
 * need (the 4-hart stress failed 3 seeds in 6).
 */
static uintptr_t run_block(struct heap *h, uintptr_t need, unsigned *bin)
{
	for (unsigned j = bin_next(h, bin_of(need)); j < HEAP_NUM_BINS; j = bin_next(h, j + 1)) {
		uintptr_t low = 0, low_size = 0;
		bool last = j == HEAP_NUM_BINS - 1;
		struct heap_free_block *fb = h->bins[j];
		for (unsigned n = 0; fb && n < BIN_SCAN_LIMIT; fb = fb_next(h, fb), n++) {
			uintptr_t fs = block_size((uintptr_t)fb);
			if (fs < need)
				continue;
			/*
			 * The last bin is open-ended: there the smallest, so the
			 * region's untouched rest (the largest, and the lowest,
			 * as runs are cut from the tops) is the last resort, as in
			 * last_bin_pick. The lowest took it before the memory that
			 * runs of the round before had freed above it.
			 */
			bool better = !low || (last && fs != low_size ? fs < low_size
								      : (uintptr_t)fb < low);
			if (better) {
				low = (uintptr_t)fb;
				low_size = fs;
			}
		}
		if (low) {
			*bin = j;
			return low;
		}
	}
	return 0;
}

/*
 * Carves blocks of `need` bytes from the top of free block b (bin i) into
 * out[0..], at most `want`; the remainder goes back to the bins. Returns
 * how many.
 */
static size_t carve_run(struct heap *h, uintptr_t b, unsigned i, uintptr_t need, void **out,
			size_t want)
{
	uintptr_t s = block_size(b);
	size_t k = s / need < want ? s / need : want;
	uintptr_t used = need * k, rest = s - used, at = b + rest;
	uintptr_t first_flags = HEAP_TAG_ALLOC;

	if (rest >= MIN_BLOCK) {
		/* The run is the top of b; b keeps the bottom, free, in place. */
		tag_write(b, rest, 0);
		footer_set(b, rest);
		if (rest < bin_lo[i]) {
			bin_unlink(h, i, b);
			bin_push(h, bin_of(rest), b);
		}
		first_flags |= HEAP_TAG_PREV_FREE;
	} else {
		/* An unsplittable remainder goes to the last block, as take does. */
		bin_unlink(h, i, b);
		h->st.free_blocks--;
		at = b;
		used = s;
	}
	/* The block above the run now has an allocated block below it. */
	tag_set_prev_free(b + s, false);
	for (size_t m = 0; m < k; m++) {
		uintptr_t p = at + m * need;
		tag_write(p, m + 1 < k ? need : used - m * need, m ? HEAP_TAG_ALLOC : first_flags);
		out[m] = (void *)(p + W);
	}
	note_alloc(h, used, k);
	return k;
}

/*
 * n blocks of one size: with the default alignment, each run of them is
 * cut from one free block (consecutive addresses, so a refill of a small
 * class touches few cache lines and pages); an aligned batch takes them
 * one by one.
 */
size_t heap_alloc_batch(struct heap *h, size_t size, size_t align, void **out, size_t n)
{
	size_t got = 0;

	if (h->magic != HEAP_MAGIC)
		return 0;
	if (align <= GRAIN && ((DEFAULT_ALIGNS >> align) & 1) && size <= MAX_BLOCK - BLOCK_OVERHEAD) {
		uintptr_t need = need_of(size);
		while (got < n) {
			unsigned i = 0;
			uintptr_t b = run_block(h, need, &i);
			/*
			 * run_block looks at the first few blocks of each bin:
			 * past them a block may still fit, which heap_alloc
			 * would find. The batch gives up only when none does.
			 */
			if (!b)
				b = find_fit_slow(h, need, 0, &i);
			if (!b)
				break;
			got += carve_run(h, b, i, need, out + got, n - got);
		}
		return got;
	}
	while (got < n) {
		void *p = alloc(h, size, align, NULL);
		if (!p)
			break;
		out[got++] = p;
	}
	return got;
}


/* ---- free ------------------------------------------------------------ */

/* A live block handed to the heap, and its free neighbours' sizes (or 0). */
struct blk {
	uintptr_t b, size, psz, nsz;
};

/*
 * Checks that p is the payload of a live block (cached allowed or not) and
 * returns its block address. See "Misuse detection" in heap_core.h. The full
 * version, for the error path and regions other than the current one.
 */
static __attribute__((noinline)) enum heap_error lookup(struct heap *h, void *p, bool cached_ok, uintptr_t *blk)
{
	uintptr_t a = (uintptr_t)p;
	struct heap_region *r = region_of(h, a);

	if (!r)
		return HEAP_ERR_FOREIGN_PTR;
	if ((a & (GRAIN - 1)) || a < region_first(r) + W || a > r->sentinel)
		return HEAP_ERR_INTERIOR_PTR;
	uintptr_t b = a - W, t = tag_load(b);
	if (!tag_ok(b, t))
		return heap_classify_bad_ptr(r, a);
	uintptr_t s = tag_size(t);
	if (s < MIN_BLOCK || s > r->sentinel - b)
		return HEAP_ERR_CORRUPT_TAG;
	if (!(t & HEAP_TAG_ALLOC))
		return HEAP_ERR_DOUBLE_FREE;
	/* The caller hands the block over: its state lane is ours to read. */
	unsigned st = state_load(b);
	if (st == HEAP_STATE_CACHED ? !cached_ok : !heap_state_is_live(st))
		return st == HEAP_STATE_CACHED ? HEAP_ERR_DOUBLE_FREE : HEAP_ERR_CORRUPT_TAG;
	/* The block above must have a valid tag that agrees we are allocated. */
	uintptr_t n = b + s, nt = tag_load(n);
	if (!tag_ok(n, nt) || (nt & HEAP_TAG_PREV_FREE))
		return heap_classify_bad_ptr(r, a);
	if (t & HEAP_TAG_PREV_FREE) {
		/* The free block below must agree through its footer and tag. */
		uintptr_t f = footer_get(b);
		if (f < MIN_BLOCK || (f & (GRAIN - 1)) || f > b - region_first(r))
			return HEAP_ERR_CORRUPT_TAG;
		uintptr_t pb = b - f, pt = tag_load(pb);
		if (!tag_ok(pb, pt) || (pt & HEAP_TAG_ALLOC) || tag_size(pt) != f)
			return HEAP_ERR_CORRUPT_TAG;
	}
	/* Tags all sound: an overflow that stopped short of the next tag. */
	if (!canary_ok(b, s))
		return HEAP_ERR_CANARY;
	*blk = b;
	return HEAP_OK;
}

/*
 * lookup's checks, all of them, for a block of the current region (the only
 * one, usually): no region search, the tag's lanes compared in place. False
 * sends the caller to lookup, which finds the error (or the other region).
 */
static inline __attribute__((always_inline)) bool quick_lookup(const struct heap *h, uintptr_t a, bool cached_ok,
				struct blk *k)
{
	const struct heap_region *r = h->regions;
	uintptr_t b = a - W;

	if (!r)
		return false;
	uintptr_t first = region_first(r), sent = r->sentinel;
	if ((a & (GRAIN - 1)) || b < first || b >= sent)
		return false;
	/* Sizes in bytes, checks by tag_check_for: no size / 16 kept beside them. */
	unsigned f = flags_load(b);
	uintptr_t s = block_size(b);
	if ((f & ~(unsigned)HEAP_TAG_PREV_FREE) != HEAP_TAG_ALLOC ||
	    check_load(b) != tag_check_for(b, s, HEAP_TAG_ALLOC))
		return false;
	if (s < MIN_BLOCK || s > sent - b)
		return false;
	unsigned st = state_load(b);
	if (!heap_state_is_live(st) && !(cached_ok && st == HEAP_STATE_CACHED))
		return false;
	if (!canary_ok(b, s))
		return false;
	uintptr_t n = b + s;
	unsigned nf = flags_load(n);
	uintptr_t ns = block_size(n);
	if ((nf & ~(unsigned)HEAP_TAG_ALLOC) != 0 || check_load(n) != tag_check_for(n, ns, nf))
		return false;
	uintptr_t psz = 0;
	if (f & HEAP_TAG_PREV_FREE) {
		psz = footer_get(b);
		if (psz < MIN_BLOCK || (psz & (GRAIN - 1)) || psz > b - first)
			return false;
		uintptr_t pb = b - psz;
		unsigned pf = flags_load(pb);
		uint32_t p16 = size16_load(pb);
		if ((pf & ~(unsigned)HEAP_TAG_PREV_FREE) != 0 || ((uintptr_t)p16 << 4) != psz ||
		    check_load(pb) != heap_tag_check_of(pb, p16, 0))
			return false;
	}
	k->b = b;
	k->size = s;
	k->psz = psz;
	k->nsz = ns & ((uintptr_t)(nf & HEAP_TAG_ALLOC) - 1); /* 0 if allocated: no select */
	return true;
}

/* *k for the allocated block b (checked by lookup). */
static void blk_fill(struct blk *k, uintptr_t b)
{
	uintptr_t t = tag_load(b), s = tag_size(t), n = b + s;

	k->b = b;
	k->size = s;
	k->psz = (t & HEAP_TAG_PREV_FREE) ? footer_get(b) : 0;
	k->nsz = (flags_load(n) & HEAP_TAG_ALLOC) ? 0 : block_size(n);
}

/* lookup, then *k: the error path, and blocks of other regions. */
static __attribute__((noinline)) enum heap_error check_block_slow(struct heap *h, void *p,
								 bool cached_ok,
								 struct blk *k)
{
	uintptr_t b = 0;
	enum heap_error e = lookup(h, p, cached_ok, &b);
	if (e == HEAP_OK)
		blk_fill(k, b);
	return e;
}

/* Validates p (quick_lookup, else lookup) and fills *k. */
static inline __attribute__((always_inline)) enum heap_error
check_block(struct heap *h, void *p, bool cached_ok, struct blk *k)
{
	if (__builtin_expect(quick_lookup(h, (uintptr_t)p, cached_ok, k), 1))
		return HEAP_OK;
	return check_block_slow(h, p, cached_ok, k);
}

static inline __attribute__((always_inline)) void release(struct heap *h,
							 const struct blk *k)
{
	h->st.bytes_in_use -= k->size;
	h->st.total_frees++;
	coalesce(h, k->b, k->size, k->psz, k->nsz, true);
}

/* heap_free's error path, and frees into regions other than the current one. */
static __attribute__((noinline)) enum heap_error free_slow(struct heap *h, void *p,
							  bool cached_ok)
{
	struct blk k;
	enum heap_error e = check_block_slow(h, p, cached_ok, &k);

	if (e == HEAP_OK)
		release(h, &k);
	return e;
}

/* Validates and frees p: k stays in registers on the quick path. */
static inline __attribute__((always_inline)) enum heap_error free_one(struct heap *h,
								     void *p,
								     bool cached_ok)
{
	struct blk k;

	if (__builtin_expect(quick_lookup(h, (uintptr_t)p, cached_ok, &k), 1)) {
		release(h, &k);
		return HEAP_OK;
	}
	return free_slow(h, p, cached_ok);
}

/* heap_free and heap_free_claimed: an uninitialised heap, NULL, then p. */
static inline __attribute__((always_inline)) enum heap_error free_entry(struct heap *h,
									void *p,
									bool cached_ok)
{
	if (h->magic != HEAP_MAGIC)
		return HEAP_ERR_UNINIT;
	if (!p)
		return HEAP_OK;
	return free_one(h, p, cached_ok);
}

enum heap_error heap_free(struct heap *h, void *p)
{
	return free_entry(h, p, false);
}

enum heap_error heap_free_claimed(struct heap *h, void *p)
{
	return free_entry(h, p, true);
}

static enum heap_error free_sized(struct heap *h, void *p, size_t size, bool claimed)
{
	struct blk k;

	if (h->magic != HEAP_MAGIC)
		return HEAP_ERR_UNINIT;
	if (!p)
		return HEAP_OK;
	enum heap_error e = check_block(h, p, claimed, &k);
	if (e != HEAP_OK)
		return e;
	/* A block is its need, plus at most an unsplittable remainder. */
	if (size > MAX_BLOCK - BLOCK_OVERHEAD || k.size < need_of(size) || k.size >= need_of(size) + MIN_BLOCK)
		return HEAP_ERR_SIZE_MISMATCH;
	release(h, &k);
	return HEAP_OK;
}

enum heap_error heap_free_sized(struct heap *h, void *p, size_t size)
{
	return free_sized(h, p, size, false);
}

enum heap_error heap_free_sized_claimed(struct heap *h, void *p, size_t size)
{
	return free_sized(h, p, size, true);
}

size_t heap_free_batch_err(struct heap *h, void **ptrs, size_t n,
			   enum heap_error *err, size_t *bad_index)
{
	size_t bad = 0;

	if (h->magic != HEAP_MAGIC) {
		if (err)
			*err = HEAP_ERR_UNINIT;
		if (bad_index)
			*bad_index = 0;
		return n;
	}
	for (size_t i = 0; i < n; i++) {
		if (!ptrs[i])
			continue;
		/* Magazines hand back cached blocks: the C bit is fine here. */
		enum heap_error e = free_one(h, ptrs[i], true);
		if (e == HEAP_OK)
			continue;
		if (bad++ == 0) {
			if (err)
				*err = e;
			if (bad_index)
				*bad_index = i;
		}
	}
	return bad;
}

void heap_free_batch(struct heap *h, void **ptrs, size_t n)
{
	(void)heap_free_batch_err(h, ptrs, n, NULL, NULL);
}

size_t heap_usable_size_err(struct heap *h, void *p, enum heap_error *err)
{
	struct blk k;
	enum heap_error e = h->magic != HEAP_MAGIC ? HEAP_ERR_UNINIT
						   : check_block(h, p, true, &k);
	if (err)
		*err = e;
	return e == HEAP_OK ? k.size - BLOCK_OVERHEAD : 0;
}

size_t heap_usable_size(struct heap *h, void *p)
{
	return heap_usable_size_err(h, p, NULL);
}

/*
 * A block grown in place to b's `total` bytes (it had s) keeps need of them
 * (all, when the rest could not stand alone as a free block) and frees the
 * rest; pf is its P bit. The block above sat above a free block, so it is
 * allocated: the rest has no free neighbour to merge with.
 */
static void keep_grown(struct heap *h, uintptr_t b, uintptr_t s, uintptr_t need,
		       uintptr_t total, uintptr_t pf)
{
	uintptr_t keep = total - need >= MIN_BLOCK ? need : total;
	tag_write(b, keep, HEAP_TAG_ALLOC | pf);
	note_alloc(h, keep - s, 0);
	if (keep < total)
		coalesce(h, b + keep, total - keep, 0, 0, false);
	else
		tag_set_prev_free(b + total, false);
}

/* ---- realloc --------------------------------------------------------- */

/*
 * p's block (b, s bytes) grows down into the free block at pb (and up to
 * `end`): the new block is the top `need` bytes of [pb, end), or all of it
 * when what is left below could not stand as a free block; what is left
 * stays free, in place. Leaves p's payload (s - BLOCK_OVERHEAD bytes at
 * b + W) as it was, for the caller to move. Returns the new payload.
 */
static void *grow_down(struct heap *h, uintptr_t b, uintptr_t s, uintptr_t need,
		       uintptr_t pb, uintptr_t end)
{
	uintptr_t nb = end - need, f = b - pb;

	if (nb - pb < MIN_BLOCK) {
		nb = pb; /* too little below to stand alone: it joins the block */
		bin_remove(h, pb, f);
	} else {
		/* The free block below shrinks (nb < b): same place, new footer. */
		unsigned i = bin_of(f);
		tag_write(pb, nb - pb, 0);
		footer_set(pb, nb - pb);
		if (nb - pb < bin_lo[i]) {
			bin_unlink(h, i, pb);
			bin_push(h, bin_of(nb - pb), pb);
		}
	}
	tag_store(b, 0); /* no stale tag inside the new block */
	tag_write(nb, end - nb, HEAP_TAG_ALLOC | (nb == pb ? 0 : HEAP_TAG_PREV_FREE));
	tag_set_prev_free(end, false);
	note_alloc(h, end - nb - s, 0);
	return (void *)(nb + W);
}

/*
 * realloc's work but the copy (see heap_resize in heap_core.h): in place,
 * else down into the free block below (with the one above, if that is
 * needed too), else HEAP_ERR_OOM with p as it was and *move its bytes.
 * An alignment above GRAIN keeps p or nothing: a p not aligned to it, or
 * one that could only grow down, gets HEAP_ERR_OOM (the caller moves it to
 * a block aligned anew). With HEAP_ERR_OOM, *kp is p's block as checked,
 * for the caller that moves and frees it. Inlined into realloc_block.
 */
static inline __attribute__((always_inline)) void *resize_block(struct heap *h, void *p,
								 size_t size, size_t align,
								 bool claimed, size_t *move,
								 enum heap_error *err,
								 struct blk *kp)
{
	struct blk k;
	enum heap_error e;

	*move = 0;
	e = h->magic != HEAP_MAGIC ? HEAP_ERR_UNINIT : check_block(h, p, claimed, &k);
	if (e == HEAP_OK && size > MAX_BLOCK - BLOCK_OVERHEAD)
		e = HEAP_ERR_SIZE_OVERFLOW;
	if (e == HEAP_OK && (align & (align - 1)))
		e = HEAP_ERR_BAD_ALIGN;
	if (e != HEAP_OK) {
		if (err)
			*err = e;
		return NULL;
	}
	bool keep_place = align > GRAIN;
	if (keep_place && ((uintptr_t)p & (align - 1))) {
		*move = k.size - BLOCK_OVERHEAD;
		*kp = k;
		if (err)
			*err = HEAP_ERR_OOM;
		return NULL;
	}
	uintptr_t b = k.b, s = k.size, need = need_of(size);
	uintptr_t pf = k.psz ? HEAP_TAG_PREV_FREE : 0;

	if (need <= s) {
		/* Shrink in place; give the tail back if it can stand alone. */
		if (s - need >= MIN_BLOCK) {
			tag_write(b, need, HEAP_TAG_ALLOC | pf);
			h->st.bytes_in_use -= s - need;
			coalesce(h, b + need, s - need, 0, k.nsz, false); /* k read the block above */
		}
		return p;
	}
	uintptr_t n = b + s;
	if (k.nsz && s + k.nsz >= need) {
		/* Grow in place into the free block above. */
		uintptr_t total = s + k.nsz;
		bin_remove(h, n, k.nsz);
		tag_store(n, 0);
		keep_grown(h, b, s, need, total, pf);
		return p;
	}
	if (k.psz && !keep_place && k.psz + s + k.nsz >= need) {
		/*
		 * Grow down: the new block ends where p's block (or, if that
		 * is needed too, the free block above) does, so the free block
		 * below keeps what is left of it, in place. The payload moves
		 * down, which the caller's memmove does.
		 */
		uintptr_t end = n;
		if (k.psz + s < need) {
			bin_remove(h, n, k.nsz);
			tag_store(n, 0);
			end = n + k.nsz;
		}
		*move = s - BLOCK_OVERHEAD;
		return grow_down(h, b, s, need, b - k.psz, end);
	}
	*move = s - BLOCK_OVERHEAD;
	*kp = k;
	if (err)
		*err = HEAP_ERR_OOM;
	return NULL;
}

/* resize_block for heap_resize and heap_resize_claimed: one copy of it. */
static __attribute__((noinline)) void *resize_only(struct heap *h, void *p, size_t size,
						   size_t align, bool claimed, size_t *move,
						   enum heap_error *err)
{
	struct blk k;
	return resize_block(h, p, size, align, claimed, move, err, &k);
}

void *heap_resize(struct heap *h, void *p, size_t size, size_t align, size_t *move,
		  enum heap_error *err)
{
	return resize_only(h, p, size, align, false, move, err);
}

void *heap_resize_claimed(struct heap *h, void *p, size_t size, size_t align, size_t *move,
			  enum heap_error *err)
{
	return resize_only(h, p, size, align, true, move, err);
}

static void *realloc_block(struct heap *h, void *p, size_t size, size_t align,
			   enum heap_error *err, bool claimed)
{
	enum heap_error e = HEAP_OK;
	size_t move;
	struct blk k = { 0 }; /* p's block, as resize_block checked it for a move */

	if (!p)
		return heap_alloc(h, size, align, err);
	void *q = resize_block(h, p, size, align, claimed, &move, &e, &k);
	if (q) {
		if (move)
			heap_memmove(q, p, move);
		return q;
	}
	if (e != HEAP_ERR_OOM) {
		if (err)
			*err = e;
		return NULL;
	}
	/*
	 * Move: the new block is bigger, so all of the old payload fits;
	 * unless p was not aligned to align, and then only what size keeps.
	 */
	q = alloc(h, size, align, err);
	if (!q)
		return NULL;
	heap_memcpy(q, p, move < size ? move : size);
	h->st.total_allocs--; /* a move is not a new allocation ... */
	h->st.total_frees--;  /* ... nor a free, for the counters */
	/*
	 * The allocation may have taken from a free neighbour of p's block:
	 * then read them again. Allocated ones it leaves as they were, with
	 * the P bits that point at p's block (tools/bench/README.md, "The
	 * core's realloc, one look").
	 */
	if (k.psz | k.nsz)
		blk_fill(&k, (uintptr_t)p - W);
	release(h, &k);
	return q;
}

void *heap_realloc(struct heap *h, void *p, size_t size, enum heap_error *err)
{
	return realloc_block(h, p, size, 0, err, false);
}

void *heap_realloc_aligned(struct heap *h, void *p, size_t size, size_t align,
			   enum heap_error *err)
{
	return realloc_block(h, p, size, align, err, false);
}

void *heap_realloc_claimed(struct heap *h, void *p, size_t size, enum heap_error *err)
{
	return realloc_block(h, p, size, 0, err, true);
}

/* ---- stats ----------------------------------------------------------- */

size_t heap_free_spans(struct heap *h, void (*fn)(void *ctx, void *start, size_t len),
		       void *ctx)
{
	size_t offered = 0, seen = 0;

	if (h->magic != HEAP_MAGIC)
		return 0;
	for (unsigned i = bin_next(h, 0); i < HEAP_NUM_BINS; i = bin_next(h, i + 1)) {
		for (struct heap_free_block *fb = h->bins[i]; fb; fb = fb_next(h, fb)) {
			if (seen++ == h->st.free_blocks)
				return offered;
			uintptr_t b = (uintptr_t)fb, end = b + block_size(b) - W;
			uintptr_t start = b + sizeof(struct heap_free_block);
			if (end > start) {
				fn(ctx, (void *)start, end - start);
				offered++;
			}
		}
	}
	return offered;
}

void heap_get_stats(struct heap *h, struct heap_stats *st)
{
	if (h->magic != HEAP_MAGIC) {
		heap_memset(st, 0, sizeof(*st));
		return;
	}
	*st = h->st;
	/* Not counted per operation: derived here. */
	st->live_allocs = st->total_allocs - st->total_frees;
	st->overhead_bytes = 0;
	for (struct heap_region *r = h->regions; r; r = r->next)
		st->overhead_bytes += region_overhead(r);
	st->bytes_free = st->heap_bytes - st->bytes_in_use - st->overhead_bytes;
	st->largest_free = 0;
	if (!bins_empty(h)) {
		/* Every block in a higher bin is bigger: walk only the top one. */
		unsigned i = bin_top(h);
		for (struct heap_free_block *fb = h->bins[i]; fb; fb = fb_next(h, fb)) {
			uintptr_t s = tag_size(tag_load((uintptr_t)fb));
			if (s > st->largest_free)
				st->largest_free = s;
		}
	}
}
