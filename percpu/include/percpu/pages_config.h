/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The page allocator's build options (<percpu/pages.h>); override each with
 * a define, e.g. -DPAGES_CACHE_MAX=32.
 */
#ifndef PERCPU_PAGES_CONFIG_H
#define PERCPU_PAGES_CONFIG_H

/* log2 of the page size: 4 KiB pages. */
#ifndef PAGES_SHIFT
#define PAGES_SHIFT 12
#endif

/*
 * Largest order alloc_pages serves: 2^PAGES_MAX_ORDER contiguous pages
 * (16 pages, 64 KiB). Bigger runs belong to kheap_alloc(size, 4096), which
 * loses at most one page to the heap's tag in front.
 */
#ifndef PAGES_MAX_ORDER
#define PAGES_MAX_ORDER 4
#endif

/*
 * Pages per run carved from the heap (at most 64: one bitmap word). Each
 * run costs the heap at most one page of slack in front of it (the tag word
 * pushes a 4096-aligned payload to the next page; the slack stays a free
 * heap block for small allocations), so 64 costs at most 1/65 of the pages.
 */
#ifndef PAGES_RUN_PAGES
#define PAGES_RUN_PAGES 64
#endif

/* Single pages cached per hart (a stack, interrupts masked), and how many
 * move between it and the runs at once when it runs empty or full. */
#ifndef PAGES_CACHE_MAX
#define PAGES_CACHE_MAX 16
#endif
#ifndef PAGES_CACHE_BATCH
#define PAGES_CACHE_BATCH 8
#endif

/* Empty runs kept instead of going back to the heap (no carve/free churn). */
#ifndef PAGES_KEEP_EMPTY_RUNS
#define PAGES_KEEP_EMPTY_RUNS 1
#endif

#if PAGES_RUN_PAGES > 64 || (PAGES_RUN_PAGES & (PAGES_RUN_PAGES - 1))
#error "PAGES_RUN_PAGES must be a power of two <= 64"
#endif
#if (1 << PAGES_MAX_ORDER) > PAGES_RUN_PAGES
#error "PAGES_MAX_ORDER must fit in a run"
#endif
#if PAGES_CACHE_BATCH > PAGES_CACHE_MAX || PAGES_CACHE_BATCH < 1
#error "PAGES_CACHE_BATCH must be 1..PAGES_CACHE_MAX"
#endif

#endif
