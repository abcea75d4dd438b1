/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The locked global heap: one instance of the core behind one ticket lock,
 * taken with local interrupts masked (so an interrupt handler on the same
 * hart that allocates cannot deadlock). What kernels call when they want no
 * per-hart caches, and what percpu/ calls on its slow path (the batches).
 *
 * Policy:
 *  - Every call before kheap_init is caught ("heap: use before init").
 *  - Misuse (double free, foreign/interior pointer, corrupted tag, size
 *    overflow, bad alignment, ...) calls the misuse handler, outside the
 *    lock. The default one panics with PORT_EXIT_MISUSE and a message that
 *    starts "heap: <error name>", e.g. "heap: double free: 0x... (kheap_free)".
 *    If a handler returns, the call returns NULL / does nothing.
 *  - Out of memory: kheap_alloc (and calloc, realloc) first calls the reclaim
 *    hook at KHEAP_RECLAIM_QUICK (the magazine layer returns what it can
 *    without waiting for other harts; true means "retry"), then the OOM hook
 *    (RETRY after claiming memory, or FAIL), and only then the reclaim hook
 *    at KHEAP_RECLAIM_WAIT (a bounded wait for other harts' caches). So a
 *    heap that can grow never waits on a hart that cannot answer (a host
 *    thread in a system call). The hooks are called WITHOUT the heap lock
 *    held, so they may call kheap_claim, kheap_free or even allocate (an
 *    allocation the OOM hook makes, or an interrupt handler on its hart,
 *    that runs out too does not call the hook again, nested, but goes on
 *    as after FAIL: claim first, then allocate). After
 *    FAIL (or KHEAP_OOM_MAX_RETRIES retries) and the waiting reclaim (and a
 *    last look at frees deferred meanwhile: KHEAP_OOM_DEFERRED_RETRIES),
 *    kheap_alloc panics with PORT_EXIT_OOM and the whole report (kheap_report
 *    plus the report-extra lines) as one unbroken block; kheap_try_alloc
 *    returns NULL.
 *  - kheap_free does not wait for a lock another hart holds: it claims the
 *    block (its state lane, so a second free of it is named a double free)
 *    and leaves it on a lock-free stack that whoever takes the lock next
 *    frees first, before its own operation (deferred frees: their count is
 *    kheap_stats.deferred_frees). Every operation, stats and reports
 *    included, so sees them freed. A block damaged while it waits is named
 *    by that holder (where: "kheap_free (deferred)"; the size is how many
 *    of its deferred frees failed, the pointer the first) and stays
 *    allocated.
 *    kheap_free_sized and the batches take the lock.
 *  - The batches take the lock once and call no hook under it: they return
 *    what the heap could give, and the caller falls back to kheap_alloc.
 *    After the lock, kheap_alloc_batch tells the batch hook (if one is set)
 *    the lowest block it handed out.
 */
#ifndef HEAP_KHEAP_H
#define HEAP_KHEAP_H

#include <heap/config.h>
#include <heap/heap_core.h>
#include <heap/heap_tag.h> /* offset tags use the tag's lanes */
#include <platform/port.h>
#include <stdbool.h>
#include <stddef.h>

void kheap_init(void *start, void *end);
/* Another disjoint region ("heap: bad region" if it overlaps or is tiny). */
void kheap_claim(void *start, void *end);
/*
 * The same, but an unusable region (overlapping, tiny, or bigger than one
 * block can be) is not misuse: the error is returned and the heap is as it
 * was, so a caller that mapped the region can unmap it (the shim's growth).
 */
enum heap_error kheap_try_claim(void *start, void *end);

void *kheap_alloc(size_t size, size_t align);     /* never NULL: panics */
void *kheap_try_alloc(size_t size, size_t align); /* NULL when out of memory */
/*
 * kheap_alloc (must) or kheap_try_alloc for a layer above the heap: the
 * OOM panic and misuse reports name `where`, the call the kernel made
 * (percpu's "kmalloc", "kmalloc_try", ...), not the heap's.
 */
void *kheap_alloc_named(size_t size, size_t align, bool must, const char *where);
void *kheap_calloc(size_t n, size_t size);        /* panics when out of memory */
void *kheap_realloc(void *p, size_t size);        /* panics when out of memory */
/* NULL when out of memory, p untouched (still allocated, same contents). */
void *kheap_try_realloc(void *p, size_t size);
/* The same, the result aligned to align: heap_realloc_aligned's rules. */
void *kheap_realloc_aligned(void *p, size_t size, size_t align);
void *kheap_try_realloc_aligned(void *p, size_t size, size_t align);
void kheap_free(void *p);
void kheap_free_sized(void *p, size_t size);
#if HEAP_HARDENING >= 2
/*
 * kheap_free of p, a block's payload (not an offset pointer), that its
 * caller has claimed itself: heap_tag_claim(p, HEAP_CLAIM_ANY_LIVE,
 * HEAP_STATE_CACHED, &was) won, so of racing frees of p this is the one
 * that takes it back, and the caller may count it (percpu's kfree: a free
 * it counted before kheap_free's own claim was counted by both racers,
 * though one of them was named a double free). Everything kheap_free does
 * for p follows: the release hook, then the free under the lock, or left
 * to the lock's holder if it is taken. A free the heap refuses (a canary
 * or a tag damaged since the caller looked) gives p its state `was` back
 * and is named as kheap_free's; if off is not 0 (this is the free of the
 * offset pointer p + off, whose tag the caller turned freed) that tag is
 * live again too: both stay their owner's.
 */
void kheap_free_claimed(void *p, unsigned was, size_t off);
#endif
size_t kheap_usable_size(void *p);

size_t kheap_alloc_batch(size_t size, size_t align, void **out, size_t n);
/* Accepts blocks marked cached (heap_tag_mark_cached). */
void kheap_free_batch(void **ptrs, size_t n);

/*
 * Lock-free filters over the claimed regions, read-mostly, on a cache line
 * of their own; kheap_init and kheap_claim rewrite them under the heap lock
 * with relaxed stores, readers load them relaxed without the lock.
 *
 * [lo, lo + span): the filter before a load through a pointer (percpu's
 * kfree fast path at PERCPU_HARDEN >= 1): `p - lo < span` in one unsigned
 * compare. Every p in it lies in claimed memory past its region's first
 * word, so the word below p may be read: the first region's first word
 * up to its end, and on over every region claimed right above it (start ==
 * the run's end). Not the hull: between two regions it covers memory that
 * is nobody's, maybe unmapped or a device. lo is set once, at the first
 * region, and span only grows, so a reader that sees a stale or half-
 * updated pair sees a range that was safe. A block outside it (another
 * region) is the slow path's, which asks kheap_in_regions. span is 0 until
 * the first region: every pointer is outside.
 *
 * [hull_lo, hull_lo + hull_span): the hull of every region (the page API's
 * directory, kheap_in_regions' first test). It only filters: a pointer in
 * it may be in no region.
 */
struct kheap_bounds {
	uintptr_t lo;
	uintptr_t span;
	uintptr_t hull_lo;
	uintptr_t hull_span;
} __attribute__((aligned(PORT_CACHE_LINE)));
extern struct kheap_bounds kheap_bounds_;
/*
 * p lies in a claimed region past its first word, so the word below p (its
 * tag) is the heap's memory: the test before any load through a pointer
 * that may be foreign (NULL is outside), for one outside kheap_bounds_'s
 * filter. Without the lock: the hull, then the published region list.
 */
bool kheap_in_regions(const void *p);

struct kheap_stats {
	struct heap_stats heap;
	unsigned long lock_acquisitions;
	unsigned long lock_spins; /* summed over acquisitions */
	/* Frees that found the lock taken and left the block to its holder. */
	unsigned long deferred_frees;
};
void kheap_get_stats(struct kheap_stats *st);
/*
 * Bytes claimed over all regions (heap_stats.heap_bytes), without the lock:
 * a relaxed read of a value rewritten under the lock by init, claim, extend
 * and truncate. For budgets derived from the heap's size (percpu's caches).
 */
size_t kheap_capacity(void);
/*
 * The heap lock's address, so a hang report can name it when a hart waits
 * for it (<platform/ticket_lock.h>, ticket_lock_waiting). Never take it.
 */
const void *kheap_lock_id(void);
/*
 * Runs heap_validate under the lock and returns the number of errors; the
 * first KHEAP_VALIDATE_MAX_REPORTS are then passed to report (if not NULL)
 * with the lock released, so report may print, allocate or free.
 */
size_t kheap_validate(void (*report)(void *ctx, const char *msg, void *addr), void *ctx);

/* A printf-like sink, e.g. port_printf. */
typedef void (*kheap_print_fn)(const char *fmt, ...);
/*
 * heap_free_spans under the heap lock: fn sees the bytes of every free
 * block that the heap never reads, and may give their pages back. It runs
 * with the lock held (and interrupts masked): it must not call the heap.
 */
size_t kheap_trim(void (*fn)(void *ctx, void *start, size_t len), void *ctx);

/* Prints the stats block (and the report-extra lines) through print. */
void kheap_report(kheap_print_fn print);

/*
 * fork() on a hosted port (e.g. the LD_PRELOAD shim's pthread_atfork
 * handlers). Call kheap_fork_prepare just before fork, after every lock
 * that is taken before the heap lock (percpu_fork_prepare's depot locks,
 * the caller's own); it takes the heap lock, so the child gets a heap that
 * no other thread is halfway through changing. After fork, the parent calls
 * kheap_fork_parent (releases it) and the child kheap_fork_child (resets
 * the lock, whose waiters did not survive, and forgets an OOM report
 * another thread was building and the reports the parent's unlock names),
 * each before releasing the locks it took before the heap's.
 */
void kheap_fork_prepare(void);
void kheap_fork_parent(void);
void kheap_fork_child(void);

/* p meets align (a power of two; up to 16, which every payload meets: any). */
static inline bool kheap_meets_align(const void *p, size_t align)
{
	return align <= HEAP_MIN_ALIGN || !((uintptr_t)p & (align - 1));
}

/*
 * The reallocs' hysteresis (krealloc, krealloc_aligned, and kheap's for an
 * offset-tagged p): p, with `have` usable bytes, stays for size bytes
 * aligned to align (a power of two; up to 16: any) while it is so aligned,
 * holds size and size fills at least half of it, as tcmalloc keeps a block.
 * A shrink, or a growth into the block's padding, then copies nothing.
 */
static inline bool kheap_realloc_keeps(const void *p, size_t have, size_t size, size_t align)
{
	return size <= have && size >= have / 2 && kheap_meets_align(p, align);
}

/*
 * Offset tags: an aligned pointer q carved out of a bigger block b (percpu's
 * kmalloc_aligned, which pads a class block), q - b a multiple of 16 in
 * [KHEAP_OFFSET_MIN, KHEAP_OFFSET_MAX) (kheap_offset_place picks q). The
 * word below q, inside b's payload, becomes an
 * offset tag laid out in the heap tag's lanes (as mimalloc's
 * _mi_page_ptr_unalign finds a block's start from an aligned pointer):
 *
 *     byte  0      1         2    3    4    5    6    7
 *         +------+---------+---------+-------------------+
 *         |  0   | OFFSET  |  check  |  (q - b) / 16     |
 *         +------+---------+---------+-------------------+
 *
 * The state KHEAP_STATE_OFFSET has its low bits set (never a live state, so
 * percpu's fast free sends q to its slow path); check is the heap's hash of
 * (q - 8, the offset, A = 0). kheap_free, kheap_free_sized, the four
 * reallocs and kheap_usable_size follow a live offset tag back to
 * b (so a block kmalloc_aligned made may be freed by code that only knows
 * the heap: the shim's threads without a hart id). The reallocs keep q while
 * b holds the new size at q, q has the alignment asked for and the size is
 * at least half of what q has; else they move it. kheap_free turns the tag
 * into KHEAP_STATE_OFFSET_FREED, so a second free of q is named. The heap's
 * validator does not look inside payloads, so it never sees offset tags.
 *
 * Why q - b >= 32: once b is free in the heap, its first two payload words
 * hold the free list's links. A tag at b + 8 (q - b = 16) would be
 * overwritten by a link, whose state byte is whatever the address holds: a
 * second free of q would then be misnamed, or, where that byte reads as a
 * live class, cached as a block (found by //percpu/fuzz:percpu_fuzz). From
 * b + 24 up the freed tag stays until b is handed out again.
 */
#define KHEAP_STATE_OFFSET 0x0bu
#define KHEAP_STATE_OFFSET_FREED 0x0du
#define KHEAP_OFFSET_MIN 32
#define KHEAP_OFFSET_MAX 8192 /* an alignment of 4096 plus KHEAP_OFFSET_MIN */

static inline uint16_t kheap_offset_check(const void *q, size_t off)
{
	return heap_tag_check_of((uintptr_t)q - sizeof(uintptr_t), (uint32_t)(off >> 4), 0);
}

/* Writes q's offset tag (q inside b's payload, off = q - b). */
static inline void kheap_offset_tag_write(void *q, size_t off)
{
	heap_lane8_t *t = (heap_lane8_t *)q - 8;
	t[HEAP_LANE_FLAGS] = 0;
	t[HEAP_LANE_STATE] = KHEAP_STATE_OFFSET;
	*(heap_lane16_t *)(t + HEAP_LANE_CHECK) = kheap_offset_check(q, off);
	*(heap_lane32_t *)(t + HEAP_LANE_SIZE) = (uint32_t)(off >> 4);
}

/*
 * The offset of q's offset tag if it looks valid (either state), else 0.
 * q's alignment is tested before the lanes are loaded: a misaligned q (an
 * interior pointer, misuse to be named) would make them misaligned loads,
 * which trap on harts that do not emulate them.
 */
static inline size_t kheap_offset_of(const void *q)
{
	if ((uintptr_t)q & 15)
		return 0;
	const heap_lane8_t *t = (const heap_lane8_t *)q - 8;
	size_t off = (size_t)*(const heap_lane32_t *)(t + HEAP_LANE_SIZE) << 4;
	if (off < KHEAP_OFFSET_MIN || off >= KHEAP_OFFSET_MAX ||
	    *(const heap_lane16_t *)(t + HEAP_LANE_CHECK) != kheap_offset_check(q, off))
		return 0;
	return off;
}

/*
 * Where an aligned pointer for (size, align) goes in b, a 16-aligned block
 * with `usable` bytes (align a power of two, 16 < align <= KHEAP_OFFSET_MAX
 * - KHEAP_OFFSET_MIN): b itself if it is aligned, else the first aligned
 * address at least KHEAP_OFFSET_MIN above b; NULL if size bytes from there
 * do not fit. A block of size + align + KHEAP_OFFSET_MIN - 16 bytes always
 * fits if size > 0 (q must lie inside b: size 0 may not fit, so callers
 * ask for 1); one of size + align - 16 fits unless b + 16 is the aligned address
 * and the block has less than 32 bytes to spare.
 */
static inline void *kheap_offset_place(void *b, size_t usable, size_t size, size_t align)
{
	uintptr_t lo = (uintptr_t)b;
	if (!(lo & (align - 1)))
		return b;
	uintptr_t q = (lo + KHEAP_OFFSET_MIN + align - 1) & ~(uintptr_t)(align - 1);
	/* q inside b, even for size 0: kheap_offset_block wants q - b < usable. */
	return q - lo < usable && size <= usable - (q - lo) ? (void *)q : NULL;
}

/*
 * q's block if q carries a live offset tag that checks out and the block
 * is live and holds q + 1 byte; else NULL.
 */
static inline void *kheap_offset_block(const void *q)
{
	if (heap_tag_state(q) != KHEAP_STATE_OFFSET)
		return NULL;
	size_t off = kheap_offset_of(q);
	if (!off)
		return NULL;
	char *b = (char *)q - off;
	if (!heap_tag_plausible_live(b) || heap_block_size(b) <= off)
		return NULL;
	return b;
}

typedef enum { KHEAP_OOM_RETRY, KHEAP_OOM_FAIL } kheap_oom_action_t;
typedef kheap_oom_action_t (*kheap_oom_hook_t)(void *ctx, size_t size, size_t align);
/* How hard a reclaim hook may try: see the OOM policy above. */
enum kheap_reclaim_level {
	KHEAP_RECLAIM_QUICK, /* what needs no other hart's answer */
	KHEAP_RECLAIM_WAIT,  /* also wait (bounded) for other harts */
};
/* Returns true if it gave anything back, so the allocation is retried. */
typedef bool (*kheap_reclaim_hook_t)(void *ctx, size_t size, size_t align,
				     enum kheap_reclaim_level level);
/* Adds lines (e.g. bytes cached per hart) to reports and the OOM panic. */
typedef void (*kheap_report_extra_fn)(kheap_print_fn print);
typedef void (*kheap_misuse_fn)(enum heap_error err, void *ptr, size_t size,
				const char *where);

/*
 * Called after each kheap_alloc_batch that handed out blocks, without the
 * heap lock, with the lowest of them. Batch runs are carved from the top of
 * a free block, so on memory never used before the carving moves down: the
 * shim faults in the pages below `lowest` here, so that the next carves do
 * not take their page faults with the heap lock held (tools/shim/prefault.c).
 */
typedef void (*kheap_batch_hook_t)(void *ctx, void *lowest);

/*
 * Called, without the heap lock, with a block of at least `min_usable`
 * usable bytes (set with the hook) that is about to go back to the heap:
 * kheap_free of it, or realloc's move away from it; or with the tail of
 * one that realloc is about to shrink in place (p the end of the bytes
 * kept, usable what follows them), when that is at least the minimum. Its
 * caller owns it and its contents are dead, so the port may give back the
 * pages wholly inside [p, p + usable) (the shim: madvise(MADV_DONTNEED),
 * tools/shim/purge.c); the bytes around them (the block's tag, its canary
 * and the next block's tag at p + usable) must stay. Only a block whose tag
 * is plausible (inside the heap, a valid allocated tag, live unless kheap
 * claimed it) is offered; the free itself still names any misuse. Sized
 * frees are not offered: a wrong size is named and leaves the block to its
 * owner as it was.
 */
typedef void (*kheap_release_hook_t)(void *ctx, void *p, size_t usable);

void kheap_set_oom_hook(kheap_oom_hook_t fn, void *ctx);
void kheap_set_reclaim_hook(kheap_reclaim_hook_t fn, void *ctx);
void kheap_set_batch_hook(kheap_batch_hook_t fn, void *ctx);
/* Set it once, before the heap is shared (NULL: none, the default). */
void kheap_set_release_hook(kheap_release_hook_t fn, void *ctx, size_t min_usable);
void kheap_set_report_extra(kheap_report_extra_fn fn);
/* NULL restores the default (panicking) handler; returns the previous one. */
kheap_misuse_fn kheap_set_misuse_handler(kheap_misuse_fn fn);
/*
 * Reports a misuse found above the heap (percpu's poison check) through the
 * same handler, outside any lock.
 */
void kheap_report_misuse(enum heap_error err, void *ptr, size_t size, const char *where);

#endif /* HEAP_KHEAP_H */
