// SPDX-License-Identifier: BSD-2-Clause
/*
 * Pages of big freed blocks go back to the kernel.
 *
 * The shim's heap lives in one anonymous mapping: a page, once touched,
 * stays in the process's memory until the process ends, whatever the heap
 * does with it. A program that once held 1 GiB in blocks of 1 MiB and
 * freed them kept 1 GiB resident; glibc, which maps blocks of 128 KiB and
 * up by themselves and unmaps them at free, went back to 1 MiB
 * (tools/shim/README.md, "Memory given back").
 *
 * So when a block of at least the threshold goes back to the heap, its
 * whole pages are dropped first with madvise(MADV_DONTNEED), through
 * kheap's release hook: without the heap lock, while the freeing thread
 * still owns the block, so no other thread can have it yet. They read as
 * zeros when touched again, which the heap never relies on either way: it
 * writes the tags it needs, and calloc clears what it hands out. The
 * block's tag (below p), its canary and the next block's tag (at p +
 * usable) are on pages kept: only pages wholly inside [p, p + usable) go.
 *
 * The threshold rises as glibc's does, so that a program that frees and
 * allocates big blocks over and over does not pay their page faults every
 * time: a dropped MiB costs about 0.45 ms of faults when it is used again
 * on this machine, 65 times a malloc + memset + free of it that reuses the
 * pages. glibc raises its threshold to the size of each big block it
 * unmaps, so the next ones of that size come from its heap and stay. Here
 * an allocation at or above the threshold that is no bigger than a block
 * dropped since the last such allocation is a sign of that churn (it may
 * land on the dropped pages); at the PURGE_CHURN_RAISE-th sign the
 * threshold rises to twice that allocation's size (at most PURGE_MAX:
 * blocks that big are always dropped, as glibc always unmaps them). A
 * burst of frees after a burst of allocations, the case above, drops every
 * block, and so does a buffer that realloc grows (each new block is bigger
 * than the old ones); a loop of malloc and free of one size drops a few
 * times, then no more. glibc's threshold never comes down, but its heap
 * gives back its free top when that grows past twice the threshold; this
 * heap's top is its whole region, so instead the threshold decays: a
 * PURGE_DECAY_MS after it rose, the first big free that it keeps puts it
 * back where it started (a loop then drops PURGE_CHURN_RAISE blocks again,
 * under 1% of its time at 1 MiB), as jemalloc's dirty pages decay.
 *
 * malloc_trim asks for the rest: every free block's pages, whatever its
 * size, dropped at once under the heap lock (purge_free_memory).
 */
#define _GNU_SOURCE
#include "tools/shim/purge.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <heap/kheap.h>

#define PURGE_CHURN_RAISE 8          /* signs of churn that raise the threshold */
#define PURGE_DECAY_MS 1000          /* how long a raised threshold holds */

/*
 * All relaxed: the threshold and what moves it steer a policy, and a stale read
 * only drops (or keeps) one block more; the counter is for the stats line.
 */
atomic_size_t purge_threshold_ = SIZE_MAX;
static atomic_size_t dropped_max; /* the biggest block dropped since the last sign */
static atomic_uint churn;         /* signs of churn since the last raise */
static atomic_uint_least64_t raised_ms; /* when the threshold last rose */
static atomic_size_t dropped;
static size_t initial; /* the threshold at the start, in bytes */
static uintptr_t page_size;

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* *a becomes at least v. */
static void raise_to(atomic_size_t *a, size_t v)
{
	size_t was = atomic_load_explicit(a, memory_order_relaxed);
	while (was < v && !atomic_compare_exchange_weak_explicit(a, &was, v, memory_order_relaxed,
								  memory_order_relaxed))
		;
}

/* Drops the pages wholly inside [p, p + n): the bytes dropped (0: none). */
static size_t drop_whole_pages(void *p, size_t n)
{
	uintptr_t lo = ((uintptr_t)p + page_size - 1) & ~(page_size - 1);
	uintptr_t hi = ((uintptr_t)p + n) & ~(page_size - 1);
	if (hi <= lo)
		return 0;
	/*
	 * A refusal (EINVAL: pages the program mlock'ed) only keeps them, and
	 * must not show: free, calloc and realloc that succeed leave errno
	 * alone (glibc's free since 2.33; POSIX 2024's too).
	 */
	int saved = errno;
	int rc = madvise((void *)lo, hi - lo, MADV_DONTNEED);
	errno = saved;
	if (rc != 0)
		return 0;
	atomic_fetch_add_explicit(&dropped, hi - lo, memory_order_relaxed);
	return hi - lo;
}

static void drop_pages(void *ctx, void *p, size_t usable)
{
	(void)ctx;
	size_t t = atomic_load_explicit(&purge_threshold_, memory_order_relaxed);
	if (usable < t) {
		if (t == initial ||
		    now_ms() - atomic_load_explicit(&raised_ms, memory_order_relaxed) < PURGE_DECAY_MS)
			return;
		atomic_store_explicit(&purge_threshold_, initial, memory_order_relaxed);
	}
	if (drop_whole_pages(p, usable))
		raise_to(&dropped_max, usable);
}

/* kheap_trim's callback: one free block's bytes, under the heap lock. */
static void drop_free_span(void *ctx, void *start, size_t len)
{
	*(size_t *)ctx += drop_whole_pages(start, len);
}

bool purge_zero_pages(void *p, size_t n)
{
	size_t whole = drop_whole_pages(p, n);
	if (!whole)
		return false;
	/* The pages dropped start at the first page boundary in p. */
	char *lo = (char *)(((uintptr_t)p + page_size - 1) & ~(page_size - 1));
	memset(p, 0, (size_t)(lo - (char *)p));
	memset(lo + whole, 0, (size_t)((char *)p + n - (lo + whole)));
	return true;
}

size_t purge_free_memory(void)
{
	size_t got = 0;
	kheap_trim(drop_free_span, &got);
	return got;
}

void purge_raise(size_t size)
{
	if (atomic_load_explicit(&dropped_max, memory_order_relaxed) < size)
		return; /* no dropped block it could reuse: no page faults to save */
	atomic_store_explicit(&dropped_max, 0, memory_order_relaxed);
	if (atomic_fetch_add_explicit(&churn, 1, memory_order_relaxed) + 1 < PURGE_CHURN_RAISE)
		return;
	atomic_store_explicit(&churn, 0, memory_order_relaxed);
	size_t want = size >= PURGE_MAX / 2 ? PURGE_MAX : 2 * size;
	raise_to(&purge_threshold_, want);
	atomic_store_explicit(&raised_ms, now_ms(), memory_order_relaxed);
}

void purge_init(size_t min_kb)
{
	page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	if (!min_kb)
		return;
	/* Blocks of PURGE_MAX and up are always dropped (this also bounds the shift). */
	initial = min_kb < PURGE_MAX >> 10 ? min_kb << 10 : PURGE_MAX;
	atomic_store_explicit(&purge_threshold_, initial, memory_order_relaxed);
	kheap_set_release_hook(drop_pages, NULL, initial);
}

size_t purge_bytes(void)
{
	return atomic_load_explicit(&dropped, memory_order_relaxed);
}

size_t purge_threshold(void)
{
	return atomic_load_explicit(&purge_threshold_, memory_order_relaxed);
}
