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

/* One trial on a fresh heap over [mem, mem + bytes); returns live/heap. */
static inline double efficiency_trial(void *mem, size_t bytes, uint64_t seed)
{
	static void *ptr[EFF_MAX_LIVE];
	static size_t req[EFF_MAX_LIVE];
	struct heap h;
	size_t n = 0, live = 0;
	uint64_t rng = seed;

	CHECK_EQ(heap_init(&h, mem, (char *)mem + bytes), HEAP_OK);
	for (;;) {
		uint64_t r = test_rand(&rng) % 10;
		if (r < 5 || n == 0) {
			size_t s = (size_t)test_range(&rng, 1, 10000);
			if (n == EFF_MAX_LIVE)
				break;
			void *p = heap_alloc(&h, s, 0, NULL);
			if (!p)
				break;
			ptr[n] = p;
			req[n++] = s;
			live += s;
		} else if (r < 6) {
			size_t i = (size_t)test_range(&rng, 0, n - 1);
			CHECK_EQ(heap_free(&h, ptr[i]), HEAP_OK);
			live -= req[i];
			ptr[i] = ptr[--n];
			req[i] = req[n];
		} else {
			size_t i = (size_t)test_range(&rng, 0, n - 1);
			size_t s = (size_t)test_range(&rng, 1, 100000);
			void *p = heap_realloc(&h, ptr[i], s, NULL);
			if (!p)
				break;
			live += s - req[i];
			ptr[i] = p;
			req[i] = s;
		}
	}
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
