/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pages of big freed blocks go back to the kernel (purge.c), as glibc
 * unmaps its big blocks at free.
 */
#ifndef SHIM_PURGE_H
#define SHIM_PURGE_H

#include <stdatomic.h>
#include <stddef.h>

/*
 * Installs the heap's release hook: a freed block (or one a realloc moved
 * away from) of at least the threshold has its whole pages dropped. The
 * threshold starts at `min_kb` KiB (0: nothing is ever dropped) and rises
 * as purge.c says.
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

#endif /* SHIM_PURGE_H */
