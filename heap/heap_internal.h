/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internals shared by the core's files: tag encoding, bins, free lists,
 * regions. The layout they implement is drawn once in <heap/heap_core.h>.
 */
#ifndef HEAP_INTERNAL_H
#define HEAP_INTERNAL_H

#include <heap/heap_core.h>

#define HEAP_MAGIC ((uintptr_t)0x68656170u) /* "heap" */
#define W ((uintptr_t)sizeof(uintptr_t))
#define MIN_BLOCK ((uintptr_t)32)   /* tag + next + prev + footer */
#define GRAIN ((uintptr_t)16)
/* Largest block the tag can describe. */
#define MAX_BLOCK (HEAP_TAG_SIZE_MASK & ~(GRAIN - 1))
/* First-fit scan limit per bin before moving on (a full scan runs before OOM). */
#define BIN_SCAN_LIMIT 16

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

/*
 * Every tag access is a relaxed atomic (a plain ld/sd): the magazine layer
 * flips C in tags of allocated blocks without the heap lock, and the heap
 * flips P in the same tags under it. Relaxed: each side only needs its own
 * bit not to be lost; nothing else is published through a tag.
 */
static inline uintptr_t tag_load(uintptr_t b)
{
	return __atomic_load_n(tag_at(b), __ATOMIC_RELAXED);
}

static inline void tag_store(uintptr_t b, uintptr_t t)
{
	__atomic_store_n(tag_at(b), t, __ATOMIC_RELAXED);
}

static inline uintptr_t tag_size(uintptr_t t)
{
	return t & HEAP_TAG_SIZE_MASK;
}

/* The check bits for a block at b with size and A bits `bits`. */
static inline uintptr_t tag_check(uintptr_t b, uintptr_t bits)
{
#ifdef HEAP_TAG_CHECK_SHIFT
	uint64_t x = ((uint64_t)b ^ ((uint64_t)bits << 17) ^ ((uint64_t)bits >> 47)) *
		     0x9e3779b97f4a7c15u;
	return (uintptr_t)(((x >> 49) | 0x8000u) << HEAP_TAG_CHECK_SHIFT);
#else
	(void)b;
	(void)bits;
	return 0;
#endif
}

/* P and C are outside the check so each can be flipped by one atomic op. */
#define TAG_HASHED (HEAP_TAG_SIZE_MASK | HEAP_TAG_ALLOC)
#define TAG_UNHASHED (HEAP_TAG_PREV_FREE | HEAP_TAG_CACHED)

static inline uintptr_t tag_make(uintptr_t b, uintptr_t size, uintptr_t flags)
{
	uintptr_t bits = size | (flags & HEAP_TAG_ALLOC);
	return bits | (flags & TAG_UNHASHED) | tag_check(b, bits);
}

static inline bool tag_ok(uintptr_t b, uintptr_t t)
{
#ifdef HEAP_TAG_CHECK_SHIFT
	return (t & ~(TAG_HASHED | TAG_UNHASHED)) == tag_check(b, t & TAG_HASHED);
#else
	return (t & ~(TAG_HASHED | TAG_UNHASHED)) == 0;
#endif
}

/* Only for blocks nobody else can see: new, just freed, or free. */
static inline void tag_write(uintptr_t b, uintptr_t size, uintptr_t flags)
{
	tag_store(b, tag_make(b, size, flags));
}

/*
 * Sets or clears P in the tag of b, usually an allocated block that another
 * hart may be marking cached or live at this moment: one atomic OR/AND
 * (amoor.d/amoand.d), relaxed, so neither update is lost.
 */
static inline void tag_set_prev_free(uintptr_t b, bool prev_free)
{
	/*
	 * Only the heap (under its lock) writes P, so a P already right stays
	 * right: skip the locked RMW, which costs ~20 cycles on x86.
	 */
	if (((tag_load(b) & HEAP_TAG_PREV_FREE) != 0) == prev_free)
		return;
	if (prev_free)
		__atomic_fetch_or(tag_at(b), HEAP_TAG_PREV_FREE, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(tag_at(b), ~HEAP_TAG_PREV_FREE, __ATOMIC_RELAXED);
}

static inline uintptr_t footer_get(uintptr_t end_of_block)
{
	return tag_load(end_of_block - W);
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
	return 63u - (unsigned)__builtin_clzll(x);
}
#endif

/*
 * Bin of a block size: exact bins of 16 bytes for 32..496 (bins 0..29), then
 * four per power of two (bins 30..63), the last one open-ended.
 */
static inline unsigned bin_of(uintptr_t size)
{
	uintptr_t u = size >> 4;
	if (u < 32)
		return (unsigned)u - 2;
	unsigned l = heap_log2(u);
	unsigned b = 30 + (l - 5) * 4 + (unsigned)((u >> (l - 2)) & 3);
	return b < HEAP_NUM_BINS ? b : HEAP_NUM_BINS - 1;
}

static inline struct heap_free_block *fb_of(uintptr_t b)
{
	return (struct heap_free_block *)b;
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

/* Word-wise copy and fill (no libc); n is a multiple of W, both aligned. */
void heap_copy_words(void *dst, const void *src, size_t n);
void heap_fill_words(void *dst, uintptr_t v, size_t n);

/* Error path: walks r to say what p - W really is (validate.c). */
enum heap_error heap_classify_bad_ptr(const struct heap_region *r, uintptr_t p);

#endif /* HEAP_INTERNAL_H */
