/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The single-threaded first-fit heap core: a plain data structure, no locks,
 * no port calls. The locked global heap (<heap/kheap.h>) wraps one instance.
 *
 * Block layout. Every region is cut into blocks that tile it exactly; a block
 * starts with one tag word (W = sizeof(uintptr_t), 8 on lp64) and its payload
 * starts right after the tag, 16-byte aligned, so every block start is
 * 8 mod 16 and every block size is a multiple of 16 (minimum 32).
 *
 *   region start (16-aligned)
 *   |
 *   v
 *   +-----------------+---------+----------------------+-------- ... --+-----+
 *   | struct region   | block 0 | block 1              |               | end |
 *   | next,end,sentnl |         |                      |               | tag |
 *   +-----------------+---------+----------------------+-------- ... --+-----+
 *                                                              sentinel ^
 *
 *   allocated block (overhead: one word)
 *   +-----+------------------------------------------+
 *   | tag | payload (usable = size - W) ...          |
 *   +-----+------------------------------------------+
 *   ^ block        ^ p (16-aligned)
 *
 *   free block (header + links + footer, so at least 32 bytes)
 *   +-----+------+------+---------- ... ---------+--------+
 *   | tag | next | prev | (unused)               | size   |  <- footer
 *   +-----+------+------+---------- ... ---------+--------+
 *
 *   tag word (lp64):
 *    63         48 47                            4  3   2   1   0
 *   +-------------+-------------------------------+---+---+---+---+
 *   |   check     |      block size / 16          | 0 | C | P | A |
 *   +-------------+-------------------------------+---+---+---+---+
 *     A  allocated (clear: the block is free, and has a footer)
 *     P  the previous block is free: its footer sits just below this tag,
 *        so freeing this block can find it and coalesce (no footer needed in
 *        allocated blocks)
 *     C  cached: allocated, but parked in a per-hart magazine; heap_free()
 *        of such a block is a double free, heap_free_batch() accepts it
 *     check  15 bits of a hash of (block address, size, A) with the top bit
 *        forced to 1. Footers, small integers and user-space pointers never
 *        have it, so a free of an interior pointer almost never finds a
 *        plausible tag below it.
 *
 *   P and C are outside the check, and each is only ever flipped with one
 *   atomic OR/AND: the heap flips P in an allocated block's tag (under its
 *   lock) when the block below is freed or allocated, while a magazine flips
 *   C in the same tag without that lock. A plain load and store on either
 *   side could undo the other's bit. Every other tag access is a relaxed
 *   atomic load or store (a plain ld/sd).
 *
 * The first block of a region never has P set (nothing below it to merge),
 * and a sentinel tag (size 0, A set) ends every region, so coalescing never
 * walks off either end. Headers that coalescing swallows are zeroed, so a
 * stale tag inside a bigger block does not look valid to a later free.
 *
 * Free blocks live in HEAP_NUM_BINS segregated doubly-linked lists (LIFO):
 * exact bins for sizes 32..496, then four bins per power of two, the last bin
 * catching everything from 256 KiB up. A 64-bit bitmap marks the non-empty
 * bins; an allocation scans the bin of its size (first fit, a bounded number
 * of blocks), then takes the first block of the next non-empty bin found with
 * count-trailing-zeros. Free coalesces with both neighbours at once.
 *
 * Semantics:
 *  - size 0 is served as size 1: a unique minimal block (24 usable bytes),
 *    as glibc's malloc(0). heap_realloc(p, 0) likewise shrinks to that block.
 *  - align 0 means the default; every block is at least 16-aligned (RISC-V
 *    lp64 max_align_t). Any power of two is accepted as long as size + align
 *    fits; a non-power-of-two gives HEAP_ERR_BAD_ALIGN.
 *  - size (+ alignment padding) that overflows size_t or the tag's size field
 *    gives HEAP_ERR_SIZE_OVERFLOW, never a wrapped small block.
 *  - heap_realloc shrinks in place, grows in place into a free block above,
 *    else grows downwards into a free block below (and above) moving the
 *    data, else moves to a new block. It keeps p (and so its alignment) only
 *    in the first two cases; a moved block is only 16-aligned. On failure p
 *    is untouched.
 *
 * Misuse detection and its limits: a freed pointer must be 16-aligned, inside
 * a claimed region, and have a tag whose check matches its address and whose
 * size lands exactly on another valid tag (or the sentinel) that agrees about
 * this block's state. When any of that fails, the region is walked from its
 * start (only on this error path) to tell an interior pointer from a
 * corrupted tag from a pointer into free memory (reported as a double free).
 * Not detected: a free of a stale pointer whose block was freed and then
 * handed out again at the same address (the new owner's block is freed), a
 * tag forged by user data that copies a real tag, and a 1 in 32768 chance
 * that random data at p - W passes the check *and* the neighbour test.
 */
#ifndef HEAP_HEAP_CORE_H
#define HEAP_HEAP_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_NUM_BINS 64
#define HEAP_MIN_ALIGN 16

/* Tag bits; see the drawing above. */
#define HEAP_TAG_ALLOC ((uintptr_t)1)
#define HEAP_TAG_PREV_FREE ((uintptr_t)2)
#define HEAP_TAG_CACHED ((uintptr_t)4)
#if UINTPTR_MAX > 0xffffffffu
#define HEAP_TAG_SIZE_MASK ((uintptr_t)0x0000fffffffffff0u)
#define HEAP_TAG_CHECK_SHIFT 48
#else
/* 32-bit targets have no room for a check; misuse detection is weaker. */
#define HEAP_TAG_SIZE_MASK ((uintptr_t)0xfffffff0u)
#endif

/*
 * The tag is read through a may_alias type: a free of a bad pointer reads
 * whatever user data sits below it.
 */
typedef uintptr_t __attribute__((__may_alias__)) heap_tag_t;

enum heap_error {
	HEAP_OK = 0,
	HEAP_ERR_UNINIT,        /* "use before init" */
	HEAP_ERR_FOREIGN_PTR,   /* "free of foreign pointer" */
	HEAP_ERR_INTERIOR_PTR,  /* "free of interior pointer" */
	HEAP_ERR_DOUBLE_FREE,   /* "double free" */
	HEAP_ERR_CORRUPT_TAG,   /* "corrupted tag" */
	HEAP_ERR_SIZE_OVERFLOW, /* "size overflow" */
	HEAP_ERR_BAD_ALIGN,     /* "bad alignment" */
	HEAP_ERR_OOM,           /* "out of memory" */
	HEAP_ERR_BAD_REGION,    /* "bad region" (overlap, too small, shrink) */
	HEAP_ERR_SIZE_MISMATCH, /* "sized free with wrong size" */
	HEAP_ERR_DOUBLE_INIT,   /* "double init" */
	HEAP_ERR_COUNT
};

/* A short, stable message for err, e.g. "double free". Never NULL. */
const char *heap_error_name(enum heap_error err);

struct heap_stats {
	size_t heap_bytes;   /* bytes claimed, over all regions */
	size_t bytes_in_use; /* allocated blocks, tags included */
	size_t bytes_free;   /* free blocks */
	size_t largest_free; /* biggest free block (walks the top bin) */
	size_t free_blocks;
	size_t live_allocs;
	size_t total_allocs;
	size_t total_frees;
	size_t high_water;   /* maximum of bytes_in_use so far */
	size_t regions;
	size_t overhead_bytes; /* heap_bytes - in_use - free: region headers, sentinels */
};

struct heap_free_block;
struct heap_region;

/* Declared here so a heap can be a static; touch only through functions. */
struct heap {
	uintptr_t magic;              /* HEAP_MAGIC once heap_init ran */
	uint64_t bitmap;              /* bit b set iff bins[b] is not empty */
	struct heap_free_block *bins[HEAP_NUM_BINS];
	struct heap_region *regions;  /* most recently claimed (current) first */
	uintptr_t lo, hi;             /* hull of all regions, a quick foreign test */
	struct heap_stats st;         /* all but largest_free kept up to date */
};

/*
 * Regions. heap_init makes h empty and claims [start, end) if start != end
 * (both NULL gives an empty heap to claim into later). heap_claim adds a
 * disjoint region and makes it the current one; heap_extend grows the current
 * region's end; heap_truncate gives back the free tail of the current region
 * down to new_end, or as far as allocated blocks allow, and returns the
 * region's new end. Regions need room for 80 bytes of bookkeeping.
 */
enum heap_error heap_init(struct heap *h, void *start, void *end);
enum heap_error heap_claim(struct heap *h, void *start, void *end);
enum heap_error heap_extend(struct heap *h, void *new_end);
void *heap_truncate(struct heap *h, void *new_end);

/* Allocation. err may be NULL; on failure the result is NULL and *err says why. */
void *heap_alloc(struct heap *h, size_t size, size_t align, enum heap_error *err);
void *heap_calloc(struct heap *h, size_t n, size_t size, enum heap_error *err);
/* NULL p allocates. On failure p is left as it was. */
void *heap_realloc(struct heap *h, void *p, size_t size, enum heap_error *err);

/* Free. NULL is accepted and is a no-op. */
enum heap_error heap_free(struct heap *h, void *p);
/* As heap_free, but size must be one that could have given this block. */
enum heap_error heap_free_sized(struct heap *h, void *p, size_t size);
/* Usable bytes of a live block; 0 (and *err set) for a bad pointer. */
size_t heap_usable_size(struct heap *h, void *p);
size_t heap_usable_size_err(struct heap *h, void *p, enum heap_error *err);

/*
 * Batches for the per-hart magazine layer: n blocks of one size and alignment
 * (returns how many it got, stopping at the first failure), and a free of n
 * blocks that may be cached. heap_free_batch_err frees every valid pointer,
 * returns how many were bad and reports the first in *err / *bad_index.
 */
size_t heap_alloc_batch(struct heap *h, size_t size, size_t align, void **out, size_t n);
void heap_free_batch(struct heap *h, void **ptrs, size_t n);
size_t heap_free_batch_err(struct heap *h, void **ptrs, size_t n,
			   enum heap_error *err, size_t *bad_index);

void heap_get_stats(struct heap *h, struct heap_stats *st);

/*
 * Walks every block of every region and every bin; returns the number of
 * inconsistencies, calling report (if not NULL) for each with the address of
 * the offending block. Read-only, safe on a corrupted heap, O(heap).
 */
size_t heap_validate(struct heap *h,
		     void (*report)(void *ctx, const char *msg, void *addr),
		     void *ctx);

/*
 * Tag access for the magazine layer. p must be a live block from this heap.
 * Reads are one relaxed load; marking is one relaxed atomic OR/AND (amoor.d /
 * amoand.d on RISC-V), not a load and a store: see "P and C" above. Relaxed,
 * because the bit publishes nothing; the magazine's own ordering (interrupts
 * masked, or its depot lock) covers the block's hand-over.
 */
static inline heap_tag_t *heap_tag_of_(const void *p)
{
	return (heap_tag_t *)(uintptr_t)p - 1;
}

/* Usable bytes of the block at p. */
static inline size_t heap_block_size(const void *p)
{
	uintptr_t t = __atomic_load_n(heap_tag_of_(p), __ATOMIC_RELAXED);
	return (size_t)((t & HEAP_TAG_SIZE_MASK) - sizeof(uintptr_t));
}

static inline void heap_tag_mark_cached(void *p)
{
	__atomic_fetch_or(heap_tag_of_(p), HEAP_TAG_CACHED, __ATOMIC_RELAXED);
}

static inline void heap_tag_mark_live(void *p)
{
	__atomic_fetch_and(heap_tag_of_(p), ~HEAP_TAG_CACHED, __ATOMIC_RELAXED);
}

static inline bool heap_tag_is_cached(const void *p)
{
	return (__atomic_load_n(heap_tag_of_(p), __ATOMIC_RELAXED) & HEAP_TAG_CACHED) != 0;
}

/* Zephyr-style internal assertion: compiles away unless HEAP_VALIDATE. */
#ifdef HEAP_VALIDATE
#define HEAP_CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)
#else
#define HEAP_CHECK(cond) ((void)sizeof(cond))
#endif

#endif /* HEAP_HEAP_CORE_H */
