/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pages of big freed blocks go back to the kernel (purge.c), as glibc
 * unmaps its big blocks at free.
 */
#ifndef SHIM_PURGE_H
#define SHIM_PURGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The threshold's ceiling: blocks this big are always dropped (glibc's DEFAULT_MMAP_THRESHOLD_MAX). */
#define PURGE_MAX ((size_t)32 << 20)

/*
 * Installs the heap's release hook: a freed block (or one a realloc moved
 * away from) of at least the threshold has its whole pages dropped. The
 * threshold starts at `min_kb` KiB (0: nothing is ever dropped; at most
 * PURGE_MAX) and rises as purge.c says.
 */
void purge_init(size_t min_kb);

/*
 * malloc_trim's part: the pages of every free block in the heap, whatever
 * its size, dropped under the heap lock (kheap_trim). Returns the bytes
 * dropped.
 */
size_t purge_free_memory(void);

/* Bytes dropped so far (the SMPHEAP_STATS line), and the threshold now. */
size_t purge_bytes(void);
size_t purge_threshold(void);

/* The threshold in bytes (SIZE_MAX: off); relaxed, see purge.c. */
extern atomic_size_t purge_threshold_;
void purge_raise(size_t size);

/* Every allocation of `size` bytes that the magazines do not serve calls this first. */
static inline void purge_note_alloc(size_t size)
{
	if (__builtin_expect(size >= atomic_load_explicit(&purge_threshold_, memory_order_relaxed), 0))
		purge_raise(size);
}

/*
 * Drops the whole pages inside [p, p + n), a block calloc is about to hand
 * out, and clears the bytes around them: true if it did (false: the block
 * spans no whole page, or the kernel refused; nothing dropped).
 */
bool purge_zero_pages(void *p, size_t n);

/*
 * calloc's zeroing of its block [p, p + n): from the threshold up, the
 * whole pages are dropped instead of written, so they read as zeros and
 * cost memory only once touched, as glibc's fresh big blocks do (a
 * calloc(512 MiB) held 513 MiB and took 208 ms of faults here, where
 * glibc held 1 MiB); below it, or with purging off, memset.
 */
static inline void purge_calloc_zero(void *p, size_t n)
{
	if (__builtin_expect(n >= atomic_load_explicit(&purge_threshold_, memory_order_relaxed), 0) &&
	    purge_zero_pages(p, n))
		return;
	memset(p, 0, n);
}

#endif /* SHIM_PURGE_H */
