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
 *   allocated block (overhead: one word; two at HEAP_HARDENING >= 2)
 *   +-----+------------------------------------------+--------+
 *   | tag | payload (usable = size - W) ...          |(canary)|
 *   +-----+------------------------------------------+--------+
 *   ^ block        ^ p (16-aligned)        level 2: usable = size - 2W
 *
 *   free block (header + links + footer, so at least 32 bytes)
 *   +-----+------+------+---------- ... ---------+--------+
 *   | tag | next | prev | (unused)               | size   |  <- footer
 *   +-----+------+------+---------- ... ---------+--------+
 *
 *   tag: one word, its four lanes (flags, state, check, size) drawn in
 *   <heap/heap_tag.h> with the rules for who writes each.
 *
 * The first block of a region never has P set (nothing below it to merge),
 * and a sentinel tag (size 0, A set) ends every region, so coalescing never
 * walks off either end. Headers that coalescing swallows are zeroed, so a
 * stale tag inside a bigger block does not look valid to a later free.
 *
 * Free blocks live in HEAP_NUM_BINS segregated doubly-linked lists (LIFO):
 * exact bins for sizes 32..1008, then eight bins per power of two, the last
 * bin catching everything from 288 KiB up. A bitmap marks the non-empty
 * bins; an allocation takes the best fit among the first few blocks of the bin
 * of its size (any block of an exact bin), else the head of the next
 * non-empty bin found with count-trailing-zeros. Free
 * coalesces with both neighbours at once; a split or merge that leaves a
 * block in its bin keeps its place in the list.
 *
 * Semantics:
 *  - size 0 is served as size 1: a unique minimal block (24 usable bytes;
 *    16 at hardening level 2, whose canary takes 8),
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
 *    is untouched. heap_realloc_aligned keeps an alignment (as Zephyr's
 *    sys_heap_aligned_realloc, and Rust's GlobalAlloc::realloc needs): in
 *    place when it can, else a move to a block aligned anew.
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

#include <heap/hardening.h>
#include <heap/heap_tag.h>

#define HEAP_NUM_BINS 128
#define HEAP_BITMAP_WORDS (HEAP_NUM_BINS / 64)

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
	HEAP_ERR_WRITE_AFTER_FREE, /* "write after free" (percpu, hardening >= 2) */
	HEAP_ERR_CORRUPT_LINK,  /* "corrupted free-list link" (hardening >= 2) */
	HEAP_ERR_CANARY,        /* "buffer overflow (canary)" (hardening >= 2) */
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
	/* bit b % 64 of word b / 64 set iff bins[b] is not empty */
	uint64_t bitmap[HEAP_BITMAP_WORDS];
	struct heap_free_block *bins[HEAP_NUM_BINS];
	/* Written, never read: a list link that has no block to go to. */
	struct heap_free_block *sink;
	struct heap_region *regions;  /* most recently claimed (current) first */
	uintptr_t lo, hi;             /* hull of all regions, a quick foreign test */
	/*
	 * Counters kept per operation; heap_get_stats derives largest_free,
	 * live_allocs, bytes_free and overhead_bytes (0 here).
	 */
	struct heap_stats st;
#if HEAP_HARDENING >= 2
	/*
	 * The first free-list link found corrupted since heap_take_link_error
	 * last ran (its address), or 0: the operation that met it went on as
	 * if the list ended there, never following the link.
	 */
	uintptr_t bad_link;
#endif
};

/*
 * Regions. heap_init makes h empty and claims [start, end) if start != end
 * (both NULL gives an empty heap to claim into later). heap_claim adds a
 * disjoint region and makes it the current one; heap_extend grows the current
 * region's end; heap_truncate gives back the free tail of the current region
 * down to new_end, or as far as allocated blocks allow, and returns the
 * region's new end. A region of fewer than 128 bytes is refused
 * (HEAP_ERR_BAD_REGION): its bookkeeping alone takes up to 80.
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
/*
 * The same, the result aligned to align (a power of two; 0 or up to 16 is
 * heap_realloc): p stays when it is so aligned and shrinks or grows in place
 * into the free block above; else it moves to a new aligned block (never
 * down into the free block below, which would lose the alignment). A p not
 * aligned to align always moves, with the first size bytes it has.
 */
void *heap_realloc_aligned(struct heap *h, void *p, size_t size, size_t align,
			   enum heap_error *err);

/* Free. NULL is accepted and is a no-op. */
enum heap_error heap_free(struct heap *h, void *p);
/* As heap_free, but size must be one that could have given this block. */
enum heap_error heap_free_sized(struct heap *h, void *p, size_t size);
/*
 * The same for a block its caller has claimed (kheap at HEAP_HARDENING >= 2:
 * heap_tag_claim moved its state lane from live to HEAP_STATE_CACHED, so no
 * other hart frees or caches it meanwhile): that state is accepted, every
 * other check is made. On an error the block is left as it was, still
 * claimed: the caller gives the state back. A block resized in place keeps
 * its state lane unless the heap rewrote the tag (then HEAP_STATE_LIVE).
 */
enum heap_error heap_free_claimed(struct heap *h, void *p);
enum heap_error heap_free_sized_claimed(struct heap *h, void *p, size_t size);
void *heap_realloc_claimed(struct heap *h, void *p, size_t size, enum heap_error *err);
/*
 * heap_realloc without its copy, for a caller that copies outside the lock
 * it holds around the heap (kheap: a move of a large block would keep every
 * other hart waiting, interrupts masked, for the whole copy). Returns p
 * when p was resized in place (*move = 0). Else, when the free block below
 * p (and the one above, if needed too) makes room, a new payload q below p
 * whose block covers p's: p's *move bytes are still at p, and the caller
 * memmove()s them to q before anyone else may see q (no lock needed: the
 * block is the caller's). Else NULL: *err HEAP_ERR_OOM means no room around
 * p, which is left as it was, and *move is its usable size (what a move to
 * a new block must copy); any other *err is a misuse, as heap_realloc's.
 * align as heap_realloc_aligned's: above 16, p is kept or NULL returned
 * (HEAP_ERR_OOM, *move its usable size) for the caller to move it.
 */
void *heap_resize(struct heap *h, void *p, size_t size, size_t align, size_t *move,
		  enum heap_error *err);
void *heap_resize_claimed(struct heap *h, void *p, size_t size, size_t align, size_t *move,
			  enum heap_error *err);
/* Usable bytes of a live block; 0 (and *err set) for a bad pointer. */
size_t heap_usable_size(struct heap *h, void *p);
size_t heap_usable_size_err(struct heap *h, void *p, enum heap_error *err);

/*
 * Batches for the per-hart magazine layer: n blocks of one size and alignment
 * (returns how many it got, fewer only when the heap runs out; calls no
 * hooks), and a free of n blocks that may be cached. With the default
 * alignment the blocks come in runs at consecutive addresses, each cut from
 * the top of one free block, as many as fit: the smallest holes first (the
 * first bin with a block that holds one; its lowest-addressed such block
 * among the first few). heap_free_batch_err frees every valid pointer,
 * returns how many were bad and reports the first in *err / *bad_index.
 */
size_t heap_alloc_batch(struct heap *h, size_t size, size_t align, void **out, size_t n);
void heap_free_batch(struct heap *h, void **ptrs, size_t n);
size_t heap_free_batch_err(struct heap *h, void **ptrs, size_t n,
			   enum heap_error *err, size_t *bad_index);

void heap_get_stats(struct heap *h, struct heap_stats *st);

/*
 * Calls fn(ctx, start, len) for the bytes of every free block that the
 * heap never reads (past its tag and list links, before its footer), so a
 * port can give their pages back (the shim's malloc_trim: madvise) and
 * have them read as anything later. fn must not call into the heap.
 * Returns the blocks offered; stops after the heap's count of free blocks
 * (a corrupted list that loops ends there).
 */
size_t heap_free_spans(struct heap *h, void (*fn)(void *ctx, void *start, size_t len),
		       void *ctx);

/*
 * Walks every block of every region and every bin; returns the number of
 * inconsistencies, calling report (if not NULL) for each with the address of
 * the offending block. Read-only, safe on a corrupted heap, O(heap); of a
 * region's header, which lies in the heap's memory, a link to the next
 * region is followed only when it is 16-aligned and inside the hull of all
 * regions (a damaged one that still is, in a gap between regions, is not
 * caught before it is read).
 */
size_t heap_validate(struct heap *h,
		     void (*report)(void *ctx, const char *msg, void *addr),
		     void *ctx);

/*
 * The per-boot secret behind the canaries (<heap/heap_tag.h>) and the
 * free-list link encoding
 * (HEAP_HARDENING >= 2; a no-op below): kheap_init passes port_entropy().
 * Takes effect only before the first heap_init of the program (heaps made
 * before would no longer decode), so later calls are ignored.
 */
void heap_set_secret(uint64_t secret);

/*
 * The address of the first free-list link found corrupted (not followed)
 * since the last call, and clears it; 0 if none, always 0 below level 2.
 */
uintptr_t heap_take_link_error(struct heap *h);

/* Zephyr-style internal assertion: compiles away unless HEAP_VALIDATE. */
#ifdef HEAP_VALIDATE
#define HEAP_CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)
#else
#define HEAP_CHECK(cond) ((void)sizeof(cond))
#endif

#endif /* HEAP_HEAP_CORE_H */
