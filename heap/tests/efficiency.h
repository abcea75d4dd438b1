/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * talc's heap-efficiency workload: 50% allocs of 1..10000 bytes, 10% frees,
 * 40% reallocs to 1..100000 bytes, until the first request fails; the figure
 * is the live requested bytes at that moment over the heap size.
 */
#ifndef HEAP_TESTS_EFFICIENCY_H
#define HEAP_TESTS_EFFICIENCY_H

#include "test_util.h" /* first: it sets _GNU_SOURCE */

#include <heap/heap_core.h>

#define EFF_MAX_LIVE 65536

/* The allocator under test: heap_alloc / heap_free / heap_realloc or another. */
struct eff_ops {
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p);
	void *(*realloc)(void *ctx, void *p, size_t size); /* NULL: p untouched */
	void *ctx;
};

/* The workload on o until its first failed request; returns the live bytes. */
static inline size_t efficiency_run(const struct eff_ops *o, uint64_t seed)
{
	static void *ptr[EFF_MAX_LIVE];
	static size_t req[EFF_MAX_LIVE];
	size_t n = 0, live = 0;
	uint64_t rng = seed;

	for (;;) {
		uint64_t r = test_rand(&rng) % 10;
		if (r < 5 || n == 0) {
			size_t s = (size_t)test_range(&rng, 1, 10000);
			if (n == EFF_MAX_LIVE)
				break;
			void *p = o->alloc(o->ctx, s);
			if (!p)
				break;
			ptr[n] = p;
			req[n++] = s;
			live += s;
		} else if (r < 6) {
			size_t i = (size_t)test_range(&rng, 0, n - 1);
			o->free(o->ctx, ptr[i]);
			live -= req[i];
			ptr[i] = ptr[--n];
			req[i] = req[n];
		} else {
			size_t i = (size_t)test_range(&rng, 0, n - 1);
			size_t s = (size_t)test_range(&rng, 1, 100000);
			void *p = o->realloc(o->ctx, ptr[i], s);
			if (!p)
				break;
			live += s - req[i];
			ptr[i] = p;
			req[i] = s;
		}
	}
	return live;
}

static inline void *eff_heap_alloc(void *h, size_t size)
{
	return heap_alloc(h, size, 0, NULL);
}

static inline void eff_heap_free(void *h, void *p)
{
	CHECK_EQ(heap_free(h, p), HEAP_OK);
}

static inline void *eff_heap_realloc(void *h, void *p, size_t size)
{
	return heap_realloc(h, p, size, NULL);
}

/* One trial on a fresh heap core over [mem, mem + bytes); returns live/heap. */
static inline double efficiency_trial(void *mem, size_t bytes, uint64_t seed)
{
	struct heap h;
	const struct eff_ops o = { eff_heap_alloc, eff_heap_free, eff_heap_realloc, &h };

	CHECK_EQ(heap_init(&h, mem, (char *)mem + bytes), HEAP_OK);
	size_t live = efficiency_run(&o, seed);
	CHECK_EQ(heap_validate(&h, NULL, NULL), 0);
	return (double)live / (double)bytes;
}

/* The mean over trials (seeds 1000, 1001, ...) of efficiency_trial; *min too. */
static inline double efficiency_mean(void *mem, size_t bytes, int trials, double *min)
{
	double sum = 0;
	*min = 1;
	for (int t = 0; t < trials; t++) {
		double e = efficiency_trial(mem, bytes, 1000 + (uint64_t)t);
		sum += e;
		*min = e < *min ? e : *min;
	}
	return sum / trials;
}

#endif
