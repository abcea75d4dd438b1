// SPDX-License-Identifier: BSD-2-Clause
/*
 * Page faults out of the heap lock.
 *
 * The shim's region is fresh anonymous memory (MAP_NORESERVE): each page
 * faults on its first touch. Percpu's refills carve runs of blocks from
 * the top of a free block (heap_alloc_batch), so on fresh memory the
 * carving moves down from the top of the region, and the carve's tag
 * stores are the first touch: each new page faulted with the heap lock
 * held. With 64 threads on 2 cores, 91% of thread_bench's page faults
 * were in heap_alloc_batch, and every other thread waited behind them
 * (perf record -e page-faults; the measured effect of this file is in
 * tools/bench/README.md, "Page faults out of the heap lock").
 *
 * So after each batch, without the lock (kheap's batch hook), the pages
 * below the lowest block carved are faulted in ahead, a window at a time,
 * by MADV_POPULATE_WRITE: it faults pages in as a write would, without
 * changing what they hold, so it is safe on memory that other threads may
 * be carving meanwhile. The window is a sixteenth of what the carving has
 * used so far (at least PREFAULT_MIN, at most PREFAULT_MAX), so a small
 * program's resident memory grows by at most 64 KiB and a big one's by at
 * most 6%. A batch whose lowest block lies well above the faulted-in mark
 * reuses memory the heap had used before: nothing to do. One below the
 * mark is either a hole in memory used before (the page below it is in
 * memory: nothing to do) or the carving has overtaken the window (it is
 * not): the next window goes below that block. Only the first region is
 * watched; later ones (rare: 1 GiB each) fault as before.
 */
#define _GNU_SOURCE
#include "tools/shim/prefault.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include <heap/kheap.h>

#define PREFAULT_MIN ((uintptr_t)64 << 10)
#define PREFAULT_MAX ((uintptr_t)4 << 20)
#define PREFAULT_SHARE 16 /* the window: 1/16 of what the carving has used */

static uintptr_t region_lo, region_hi, page_mask;
/*
 * [populated_lo, region_hi) has been faulted in (by us or by the carving).
 * Relaxed: it only elects which thread faults the next window in; the
 * pages' contents are not touched, so it orders nothing.
 */
static _Atomic uintptr_t populated_lo;
static _Atomic size_t populated_bytes; /* prefault_bytes(): relaxed, a statistic */

/* The page at a is in memory (mincore: one system call). */
static bool resident(uintptr_t a)
{
	unsigned char in = 0;
	return a >= region_lo && mincore((void *)a, page_mask + 1, &in) == 0 && (in & 1);
}

static void prefault_below(void *ctx, void *lowest)
{
	(void)ctx;
	uintptr_t lo = (uintptr_t)lowest & ~page_mask;
	if (lo < region_lo || lo >= region_hi)
		return;
	uintptr_t mark = atomic_load_explicit(&populated_lo, memory_order_relaxed);
	uintptr_t window = (region_hi - mark) / PREFAULT_SHARE;
	window = window < PREFAULT_MIN ? PREFAULT_MIN : window > PREFAULT_MAX ? PREFAULT_MAX : window;
	window &= ~page_mask;
	if (lo >= mark + window / 2)
		return; /* half a window or more is faulted in below lo */
	if (lo < mark && resident(lo - page_mask - 1))
		return; /* a hole below the mark, in memory the heap used before */
	uintptr_t top = lo < mark ? lo : mark;
	uintptr_t bottom = top - region_lo > window ? top - window : region_lo;
	if (bottom >= top ||
	    !atomic_compare_exchange_strong_explicit(&populated_lo, &mark, bottom,
						    memory_order_relaxed, memory_order_relaxed))
		return; /* another thread is faulting this window in */
	/*
	 * A hint: if the kernel cannot (no memory now), the carving faults,
	 * and the malloc that ran this hook still succeeds: errno as it was.
	 */
	int saved = errno;
	if (madvise((void *)bottom, top - bottom, MADV_POPULATE_WRITE) == 0)
		atomic_fetch_add_explicit(&populated_bytes, top - bottom, memory_order_relaxed);
	errno = saved;
}

void prefault_init(uintptr_t lo, uintptr_t hi)
{
	long ps = sysconf(_SC_PAGESIZE);
	page_mask = (uintptr_t)(ps > 0 ? ps : 4096) - 1;
	/* The top page: the first carve's, so asking costs nothing extra. */
	if (madvise((void *)(hi - page_mask - 1), page_mask + 1, MADV_POPULATE_WRITE) != 0)
		return; /* EINVAL before Linux 5.14: the carving faults as before */
	region_lo = lo;
	region_hi = hi;
	atomic_store_explicit(&populated_lo, hi - page_mask - 1, memory_order_relaxed);
	kheap_set_batch_hook(prefault_below, NULL);
}

size_t prefault_bytes(void)
{
	return atomic_load_explicit(&populated_bytes, memory_order_relaxed);
}
