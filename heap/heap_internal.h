/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internals shared by the core's files: tag encoding, bins, free lists,
 * regions. The layout they implement is drawn once: blocks in
 * <heap/heap_core.h>, the tag word in <heap/heap_tag.h>.
 */
#ifndef HEAP_INTERNAL_H
#define HEAP_INTERNAL_H

#include <heap/heap_core.h>

#define HEAP_MAGIC ((uintptr_t)0x68656170u) /* "heap" */
#define W ((uintptr_t)sizeof(uintptr_t))
/* Per-block bytes beside the payload in an allocated block: tag, canary. */
#define BLOCK_OVERHEAD (W + (uintptr_t)HEAP_CANARY_BYTES)
#define MIN_BLOCK ((uintptr_t)32)   /* tag + next + prev + footer */
#define GRAIN ((uintptr_t)16)
/* Largest block the tag's u32 size lane can describe (64 GiB - 16). */
#define MAX_BLOCK ((uintptr_t)0xffffffffu << 4)
/* First-fit scan limit per bin before moving on (a full scan runs before OOM). */
#define BIN_SCAN_LIMIT 4
/* Non-empty bins whose head an aligned request tries before a sure fit. */
#define ALIGN_PROBES 4

/* Lives in the first bytes of each region (so it needs no allocation). */
struct heap_region {
	struct heap_region *next;
	uintptr_t end;      /* claimed end */
	uintptr_t sentinel; /* address of the end sentinel tag */
};
#define REGION_HDR ((uintptr_t)sizeof(struct heap_region)) /* 24: first block 8 mod 16 */

/* Overlays a free block: tag, then the links. */
struct heap_free_block {
	uintptr_t tag_; /* never accessed through this member: see tag_at() */
	struct heap_free_block *next, *prev;
};

static inline heap_tag_t *tag_at(uintptr_t b)
{
	return (heap_tag_t *)b;
}

/* ---- lane accessors (the layout is drawn in heap_tag.h) ---------------- */

static inline heap_lane8_t *lane8(uintptr_t b, unsigned off)
{
	return (heap_lane8_t *)(b + off);
}

/*
 * At HEAP_HARDENING >= 2 an owner claims its block's state lane without the
 * lock (heap_tag_claim: a compare-and-swap of the four bytes that hold
 * flags, state and check) while the heap, under its lock, reads a
 * neighbour's flags and check: those loads are relaxed atomics there (the
 * CAS writes back the bytes it read, so either value is right; they order
 * nothing). Below level 2 nothing stores those bytes concurrently but the
 * relaxed P store, whose readers are atomic, and plain loads let the
 * compiler merge a tag's lanes.
 */
#if HEAP_HARDENING >= 2
#define LANE_LOAD(ptr) __atomic_load_n((ptr), __ATOMIC_RELAXED)
#else
#define LANE_LOAD(ptr) (*(ptr))
#endif

static inline uint8_t flags_load(uintptr_t b)
{
	return LANE_LOAD(lane8(b, HEAP_LANE_FLAGS));
}

/*
 * Relaxed atomic: P in an allocated block's flags is read by its owner
 * without the lock (heap_tag_prev_free: percpu's slow free sends a block
 * with P set to the heap) and by a claim's CAS; neither needs more than
 * the bit.
 */
static inline void flags_store(uintptr_t b, uint8_t f)
{
	__atomic_store_n(lane8(b, HEAP_LANE_FLAGS), f, __ATOMIC_RELAXED);
}

/* Only for blocks the heap owns (being freed or handed over) or free ones. */
static inline uint8_t state_load(uintptr_t b)
{
	return *lane8(b, HEAP_LANE_STATE);
}

static inline uint16_t check_load(uintptr_t b)
{
	return LANE_LOAD((heap_lane16_t *)lane8(b, HEAP_LANE_CHECK));
}

static inline uint32_t size16_load(uintptr_t b)
{
	return *(heap_lane32_t *)lane8(b, HEAP_LANE_SIZE);
}

/*
 * The heap's view of a tag: flags, check and size, read lane by lane; the
 * state lane (the owner's) reads as 0. Safe on any allocated block while
 * its owner writes the state lane.
 */
static inline uintptr_t tag_load(uintptr_t b)
{
	return (uintptr_t)flags_load(b) |
	       ((uintptr_t)check_load(b) << HEAP_TAG_CHECK_SHIFT) |
	       ((uintptr_t)size16_load(b) << HEAP_TAG_SIZE_SHIFT);
}

/*
 * A whole-word store: only for a tag nobody else may touch (a block being
 * allocated or freed, a free block, a header being swallowed).
 */
static inline void tag_store(uintptr_t b, uintptr_t t)
{
	*tag_at(b) = t;
}

/* Block bytes of a tag word (size lane * 16). */
static inline uintptr_t tag_size(uintptr_t t)
{
	return (t >> HEAP_TAG_SIZE_SHIFT) << 4;
}

/*
 * A whole tag: size (a multiple of 16, <= MAX_BLOCK), A and P from flags,
 * the state the heap writes (live or free), and the check lane `check`.
 */
static inline uintptr_t tag_compose(uintptr_t size, uintptr_t flags, uintptr_t check)
{
	uintptr_t state = (flags & HEAP_TAG_ALLOC) ? HEAP_STATE_LIVE : HEAP_STATE_FREE;
	/* size is a multiple of 16 below 2^36: (size >> 4) << 32, one shift. */
	return (size << (HEAP_TAG_SIZE_SHIFT - 4)) | (check << HEAP_TAG_CHECK_SHIFT) |
	       (state << 8) | (flags & (HEAP_TAG_ALLOC | HEAP_TAG_PREV_FREE));
}

/*
 * The check lane of block b with this size and flags' A (below 2^16).
 * heap_tag_check_of's input b ^ (size16 << 21) is b ^ (size << 17) for a
 * size that is a multiple of 16 below 2^36: no truncation to 32 bits.
 */
static inline uintptr_t tag_check_for(uintptr_t b, uintptr_t size, uintptr_t flags)
{
	return heap_tag_check_mix((uint64_t)b ^ ((uint64_t)size << 17),
				  (unsigned)(flags & HEAP_TAG_ALLOC));
}

/* tag_compose with the check of b, its size and A. */
static inline uintptr_t tag_make(uintptr_t b, uintptr_t size, uintptr_t flags)
{
	return tag_compose(size, flags, tag_check_for(b, size, flags));
}

/* Check and flags agree with b and the size (state and P are not covered). */
static inline bool tag_ok(uintptr_t b, uintptr_t t)
{
	return (t & 0xfcu) == 0 &&
	       ((t >> HEAP_TAG_CHECK_SHIFT) & 0xffffu) ==
		       heap_tag_check_of(b, (uint32_t)(t >> HEAP_TAG_SIZE_SHIFT),
					 (unsigned)(t & HEAP_TAG_ALLOC));
}

/*
 * Only for blocks nobody else can see: new, just freed, or free. Writes b's
 * tag with the check lane `check`; an allocated block (not the sentinel,
 * size 0) gets its canary at level 2.
 */
static inline void tag_write_check(uintptr_t b, uintptr_t size, uintptr_t flags, uintptr_t check)
{
	tag_store(b, tag_compose(size, flags, check));
#if HEAP_HARDENING >= 2
	if ((flags & HEAP_TAG_ALLOC) && size)
		tag_store(b + size - W, heap_canary_of(b));
#endif
}

/* tag_write_check with the check of b, its size and A. */
static inline void tag_write(uintptr_t b, uintptr_t size, uintptr_t flags)
{
	tag_write_check(b, size, flags, tag_check_for(b, size, flags));
}

/*
 * tag_write for a block that keeps its size while A flips to flags' A: its
 * check is `was`, the check it had (validated, or written by the heap),
 * flipped (HEAP_TAG_CHECK_ALLOC_FLIP): no hash.
 */
static inline void tag_write_flipped(uintptr_t b, uintptr_t size, uintptr_t flags, uint16_t was)
{
	tag_write_check(b, size, flags, (uintptr_t)(was ^ HEAP_TAG_CHECK_ALLOC_FLIP));
}

/*
 * The free tag of the allocated block b, from its own tag word, which the
 * caller validated (its check agrees with b and its size): the same size,
 * A and P clear, the free state, the check flipped. What tag_write_flipped
 * writes for a block that keeps its size, with no check or size in a
 * register: a free with no free neighbour then needs fewer of them.
 */
static inline void tag_write_freed(uintptr_t b)
{
	uintptr_t t = *tag_at(b) & ~(uintptr_t)0xffff; /* size and check */
	tag_store(b, (t ^ ((uintptr_t)HEAP_TAG_CHECK_ALLOC_FLIP << HEAP_TAG_CHECK_SHIFT)) |
			     ((uintptr_t)HEAP_STATE_FREE << 8));
}

/* The canary of the allocated block b of size s is intact (level >= 2). */
static inline bool canary_ok(uintptr_t b, uintptr_t s)
{
#if HEAP_HARDENING >= 2
	return *tag_at(b + s - W) == heap_canary_of(b);
#else
	(void)b;
	(void)s;
	return true;
#endif
}

/*
 * Sets or clears P in the tag of b, usually an allocated block whose owner
 * may be reading or writing its state lane at this moment: a byte store to
 * the flags lane (heap-owned, under the heap lock), which no other party
 * writes.
 */
static inline void tag_set_prev_free(uintptr_t b, bool prev_free)
{
	uint8_t f = flags_load(b);
	uint8_t nf = prev_free ? (uint8_t)(f | HEAP_TAG_PREV_FREE)
			       : (uint8_t)(f & ~HEAP_TAG_PREV_FREE);
	if (nf != f)
		flags_store(b, nf);
}

/* Footers live inside free blocks (heap-owned): whole words. */
static inline uintptr_t footer_get(uintptr_t end_of_block)
{
	return *tag_at(end_of_block - W);
}

static inline void footer_set(uintptr_t b, uintptr_t size)
{
	tag_store(b + size - W, size);
}

/*
 * Bit scans. RISC-V without Zbb has no clz/ctz instruction and the builtins
 * would call libgcc, which a freestanding kernel need not link: use de Bruijn
 * multiplication there (one multiply and one table load).
 */
#if defined(__riscv) && !defined(__riscv_zbb)
#define HEAP_SOFT_BITSCAN 1 /* no clz/ctz instruction: bin_of uses a table too */
#else
#define HEAP_SOFT_BITSCAN 0
#endif

#if HEAP_SOFT_BITSCAN
static const unsigned char heap_debruijn64[64] = {
	0,  1,  2,  53, 3,  7,  54, 27, 4,  38, 41, 8,  34, 55, 48, 28,
	62, 5,  39, 46, 44, 42, 22, 9,  24, 35, 59, 56, 49, 18, 29, 11,
	63, 52, 6,  26, 37, 40, 33, 47, 61, 45, 43, 21, 23, 58, 17, 10,
	51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12,
};
#define HEAP_DEBRUIJN 0x022fdd63cc95386dull

static inline unsigned heap_ctz64(uint64_t x) /* x != 0 */
{
	return heap_debruijn64[((x & (0 - x)) * HEAP_DEBRUIJN) >> 58];
}

static inline unsigned heap_log2(uint64_t x) /* x != 0: index of top bit */
{
	x |= x >> 1;
	x |= x >> 2;
	x |= x >> 4;
	x |= x >> 8;
	x |= x >> 16;
	x |= x >> 32;
	return heap_ctz64(x ^ (x >> 1));
}
#else
static inline unsigned heap_ctz64(uint64_t x)
{
	return (unsigned)__builtin_ctzll(x);
}

static inline unsigned heap_log2(uint64_t x)
{
	/* 63 - clz, as an XOR: x86's bsr is the XOR's result, no subtraction. */
	return 63u ^ (unsigned)__builtin_clzll(x);
}
#endif

/*
 * Bin of a block size: exact bins of 16 bytes for 32..1008 (bins 0..61), then
 * eight per power of two (bins 62..127), the last one open-ended (288 KiB
 * up). Eight per power keep the head of any bin within 1/8 of the smallest
 * block that could be in it, so taking the head of the next non-empty bin
 * wastes little without walking its list.
 */
#define EXACT_BINS 62u
#define LAST_BIN_U ((uintptr_t)9 << 11) /* size / 16 of the last bin: 288 KiB */

/*
 * log2(u) for the range bins' 64 <= u < LAST_BIN_U. Without Zbb, heap_log2's
 * or-shift cascade and de Bruijn multiply are about 20 instructions; a
 * byte of log2(u >> 6) per 1 KiB step of size is one load (288 bytes).
 * Where clz is one instruction the table is not used (only by
 * //heap:bin_of_test, which checks it against heap_log2 on the host).
 */
#define L2_(i) (((i) >= 2) + ((i) >= 4) + ((i) >= 8) + ((i) >= 16) + ((i) >= 32) + \
		((i) >= 64) + ((i) >= 128) + ((i) >= 256))
#define L2_4_(i) L2_(i), L2_((i) + 1), L2_((i) + 2), L2_((i) + 3)
#define L2_16_(i) L2_4_(i), L2_4_((i) + 4), L2_4_((i) + 8), L2_4_((i) + 12)
#define L2_64_(i) L2_16_(i), L2_16_((i) + 16), L2_16_((i) + 32), L2_16_((i) + 48)
static const unsigned char range_log2_above6[LAST_BIN_U >> 6] = {
	L2_64_(0), L2_64_(64), L2_64_(128), L2_64_(192), L2_16_(256), L2_16_(272),
};
#undef L2_64_
#undef L2_16_
#undef L2_4_
#undef L2_
_Static_assert((LAST_BIN_U >> 6) == 288, "range_log2_above6 lists 288 entries");

static inline unsigned range_log2_by_table(uintptr_t u)
{
	return 6u + range_log2_above6[u >> 6];
}

static inline unsigned range_log2(uintptr_t u)
{
#if HEAP_SOFT_BITSCAN
	return range_log2_by_table(u);
#else
	return heap_log2(u);
#endif
}

static inline unsigned bin_of(uintptr_t size)
{
	uintptr_t u = size >> 4;
	if (u < 64)
		return (unsigned)u - 2;
	if (u >= LAST_BIN_U)
		return HEAP_NUM_BINS - 1;
	unsigned l = range_log2(u);
	/*
	 * EXACT_BINS + (l - 6) * 8 + ((u >> (l - 3)) & 7), folded: u >> (l - 3)
	 * is 8..15, so the mask is a subtraction of 8 that joins the constant.
	 */
	return 8 * l + (EXACT_BINS - 6 * 8 - 8) + (unsigned)(u >> (l - 3));
}

/*
 * The smallest block size of each bin, and UINTPTR_MAX after the last: a
 * block of size s that was in bin i is still in it iff
 * bin_lo[i] <= s < bin_lo[i + 1], one compare where a split or a merge
 * moves s only one way.
 */
#define BIN_LO_(i) ((i) < 62 ? (uintptr_t)((i) + 2) << 4 \
			     : (uintptr_t)(8 + (((i) - 62) & 7)) << (((i) - 62) / 8 + 7))
#define BIN_LO4_(i) BIN_LO_(i), BIN_LO_((i) + 1), BIN_LO_((i) + 2), BIN_LO_((i) + 3)
#define BIN_LO16_(i) BIN_LO4_(i), BIN_LO4_((i) + 4), BIN_LO4_((i) + 8), BIN_LO4_((i) + 12)
#define BIN_LO64_(i) BIN_LO16_(i), BIN_LO16_((i) + 16), BIN_LO16_((i) + 32), BIN_LO16_((i) + 48)
static const uintptr_t bin_lo[HEAP_NUM_BINS + 1] = {
	BIN_LO64_(0), BIN_LO64_(64), UINTPTR_MAX,
};
#undef BIN_LO64_
#undef BIN_LO16_
#undef BIN_LO4_
#undef BIN_LO_
_Static_assert(HEAP_NUM_BINS == 128, "bin_of and bin_lo describe 128 bins");

/* The bitmap of non-empty bins: one bit per bin, HEAP_NUM_BINS / 64 words. */
static inline bool bin_bit(const struct heap *h, unsigned i)
{
	return (h->bitmap[i >> 6] >> (i & 63)) & 1;
}

static inline void bin_bit_set(struct heap *h, unsigned i)
{
	h->bitmap[i >> 6] |= (uint64_t)1 << (i & 63);
}

static inline void bin_bit_clear(struct heap *h, unsigned i)
{
	h->bitmap[i >> 6] &= ~((uint64_t)1 << (i & 63));
}

/* The first non-empty bin at or above i, or HEAP_NUM_BINS if none. */
static inline unsigned bin_next(const struct heap *h, unsigned i)
{
	if (i < 64) {
		uint64_t m = h->bitmap[0] & (~(uint64_t)0 << i);
		if (m)
			return heap_ctz64(m);
		i = 64;
	}
	if (i >= HEAP_NUM_BINS)
		return HEAP_NUM_BINS;
	uint64_t m = h->bitmap[1] & (~(uint64_t)0 << (i & 63));
	return m ? 64 + heap_ctz64(m) : HEAP_NUM_BINS;
}

/* The highest non-empty bin; the bitmap must not be empty. */
static inline unsigned bin_top(const struct heap *h)
{
	return h->bitmap[1] ? 64 + heap_log2(h->bitmap[1]) : heap_log2(h->bitmap[0]);
}

static inline bool bins_empty(const struct heap *h)
{
	return !(h->bitmap[0] | h->bitmap[1]);
}

static inline struct heap_free_block *fb_of(uintptr_t b)
{
	return (struct heap_free_block *)b;
}

/*
 * Free-list links (next, prev in free blocks). HEAP_HARDENING >= 2 stores
 * each as ptr ^ secret ^ (its own address * an odd constant), as Linux's
 * SLAB_FREELIST_HARDENED and glibc's safe-linking do: a link overwritten by
 * a stray write or an overflow decodes to an address that is not a block of
 * this heap (8 mod 16, inside the hull), and one cannot forge a link
 * without the per-boot secret. A bad link is recorded in h->bad_link (the
 * first one) and read as NULL, the end of the list: it is never followed.
 * The bins' heads (in struct heap, out of reach of block overflows) stay
 * plain. Below level 2 these are plain loads and stores.
 */
#if HEAP_HARDENING >= 2
static inline uintptr_t link_key(struct heap_free_block *const *slot)
{
	return heap_secret_ ^ ((uintptr_t)slot * (uintptr_t)0xc2b2ae3d27d4eb4fu);
}

/* The decoded link, unchecked (the validator checks it itself). */
static inline uintptr_t link_raw(struct heap_free_block *const *slot)
{
	return *(const heap_tag_t *)slot ^ link_key(slot);
}

static inline struct heap_free_block *link_get(struct heap *h, struct heap_free_block *const *slot)
{
	uintptr_t v = link_raw(slot);
	if (__builtin_expect(v == 0 || ((v & (GRAIN - 1)) == W && v >= h->lo && v < h->hi), 1))
		return (struct heap_free_block *)v;
	if (!h->bad_link)
		h->bad_link = (uintptr_t)slot;
	return NULL;
}

static inline void link_set(struct heap_free_block **slot, struct heap_free_block *v)
{
	*(heap_tag_t *)slot = (uintptr_t)v ^ link_key(slot);
}
#else
static inline struct heap_free_block *link_get(struct heap *h, struct heap_free_block *const *slot)
{
	(void)h;
	return *slot;
}

static inline void link_set(struct heap_free_block **slot, struct heap_free_block *v)
{
	*slot = v;
}
#endif

static inline struct heap_free_block *fb_next(struct heap *h, const struct heap_free_block *fb)
{
	return link_get(h, &fb->next);
}

static inline struct heap_free_block *fb_prev(struct heap *h, const struct heap_free_block *fb)
{
	return link_get(h, &fb->prev);
}

/* The region holding address a, or NULL. */
static inline struct heap_region *region_of(const struct heap *h, uintptr_t a)
{
	if (a < h->lo || a >= h->hi)
		return NULL;
	for (struct heap_region *r = h->regions; r; r = r->next)
		if (a >= (uintptr_t)r && a < r->end)
			return r;
	return NULL;
}

static inline uintptr_t region_first(const struct heap_region *r)
{
	return (uintptr_t)r + REGION_HDR;
}

/* Bytes of r that no block covers: its header, the sentinel and the tail. */
static inline uintptr_t region_overhead(const struct heap_region *r)
{
	return REGION_HDR + (r->end - r->sentinel);
}

/*
 * The core's copies and fills: the port contract's memmove, memcpy and
 * memset (<platform/port.h>), called through GCC's builtins so that the core
 * needs no port header: GCC expands small ones inline and calls the port's
 * for the rest, as it does for any struct copy.
 */
#define heap_memmove __builtin_memmove
#define heap_memcpy __builtin_memcpy
#define heap_memset __builtin_memset

#if HEAP_HARDENING >= 2
/* Set by the first heap_init: heap_set_secret no longer changes the secret. */
extern bool heap_secret_sealed_;
#endif

/* Error path: walks r to say what p - W really is (validate.c). */
enum heap_error heap_classify_bad_ptr(const struct heap_region *r, uintptr_t p);

#endif /* HEAP_INTERNAL_H */
