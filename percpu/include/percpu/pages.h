/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pages at a page each: 4 KiB-aligned pages and small power-of-two runs of
 * them (Linux's alloc_pages/free_pages, returning addresses), for kernels
 * that want page frames from the same heap as kmalloc.
 *
 * Why not kmalloc_aligned(4096, 4096): every heap block has a tag word in
 * front, so a 4096-aligned 4096-byte block pushes the next one a whole page
 * further, and a heap of pages holds half as many as it could. Here the
 * heap gives runs of up to PAGES_RUN_PAGES pages (kheap_try_alloc(run,
 * 4096)) and the metadata lives outside the pages: a descriptor per run
 * (bitmap, a state byte per page) and a directory with one pointer per heap
 * page, made at pages_init. On a 16 MiB heap, more than 97% of the heap
 * comes back as pages (//percpu:pages_test; figures: bazel run
 * //percpu:pages_bench).
 *
 * Single pages are cached per hart (a stack of PAGES_CACHE_MAX, interrupts
 * masked, no lock); runs of 2^order pages and cache refills take one ticket
 * lock. A run whose pages are all free goes back to the heap (beyond
 * PAGES_KEEP_EMPTY_RUNS). Misuse (double free, foreign or interior pointer,
 * a wrong order) is reported through the misuse handler, named like the
 * heap's; the default panics with PORT_EXIT_MISUSE: "pages: double free:
 * 0x... order 0 (free_pages)".
 *
 * Every function may be called from any hart, in interrupt context too.
 */
#ifndef PERCPU_PAGES_H
#define PERCPU_PAGES_H

#include <heap/kheap.h>
#include <percpu/pages_config.h>
#include <stdbool.h>
#include <stddef.h>

#define PAGES_SIZE ((size_t)1 << PAGES_SHIFT)

/*
 * Once, on the boot hart, after kheap_init (and every kheap_claim): pages
 * come only from the heap's bounds at this moment (the directory covers
 * them: 8 bytes per heap page, taken from the heap). Independent of
 * percpu_init; call it before or after.
 */
void pages_init(void);

/* 2^order contiguous pages, aligned to PAGES_SIZE; NULL if the heap has no
 * room even after pages_reclaim(). order > PAGES_MAX_ORDER is misuse. */
void *alloc_pages(unsigned order);
/*
 * Frees what alloc_pages(order) returned, with the same order. NULL does
 * nothing (as kfree(NULL), and Linux's free_pages(0, order)).
 */
void free_pages(void *p, unsigned order);

static inline void *alloc_page(void)
{
	return alloc_pages(0);
}

static inline void free_page(void *p)
{
	free_pages(p, 0);
}

/*
 * Gives memory back to the heap: this hart's cached pages go back to their
 * runs, and every run with no page in use goes back to the heap. True if a
 * run went back. Call it from the heap's reclaim hook (before OOM) and on
 * each hart when it flushes its caches; alloc_pages calls it itself before
 * it fails. Pages cached by other harts stay (at most PAGES_CACHE_MAX each).
 */
bool pages_reclaim(void);

struct pages_stats {
	size_t runs;          /* runs carved from the heap and not returned */
	size_t run_pages;     /* pages in them */
	size_t used_pages;    /* handed out by alloc_pages */
	size_t cached_pages;  /* in per-hart caches (racy snapshot) */
	size_t free_pages;    /* free in runs */
	size_t directory_bytes;
	uint64_t allocs, frees, cache_hits, runs_carved, runs_returned;
};
void pages_get_stats(struct pages_stats *st);

/*
 * NULL restores the default (panicking) handler; returns the previous one.
 * size is the bytes of the order the caller named (SIZE_MAX if a size_t
 * cannot hold them: a misused order of 52 or more on 64 bits). Errors used:
 * HEAP_ERR_UNINIT, _DOUBLE_INIT, _FOREIGN_PTR (not in a run), _INTERIOR_PTR
 * (not the first page of an allocation), _DOUBLE_FREE (a free page, or a
 * page of a run that has gone back to the heap since), _BAD_ALIGN (order
 * too big), _SIZE_MISMATCH (freed with another order). If a handler
 * returns, the call returns NULL / does nothing.
 */
kheap_misuse_fn pages_set_misuse_handler(kheap_misuse_fn fn);

#endif
