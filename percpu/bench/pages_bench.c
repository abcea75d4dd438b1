// SPDX-License-Identifier: BSD-2-Clause
/*
 * Pages from the page API (<percpu/pages.h>) against kmalloc_aligned(4096,
 * 4096), side by side in one run on the host port, on one 16 MiB heap:
 *  - pages until the first failure, for each (the heap emptied in between);
 *  - pages per second, median of ROUNDS alternating rounds, for a hit pair
 *    (alloc one page, free it) and a batch (alloc BATCH pages, free them).
 *
 *   bazel run //percpu:pages_bench [-- ROUNDS]
 *
 * Last line: `pages_bench: pages_fill=N kmalloc_fill=N ... ratio=...`.
 */
#include <heap/kheap.h>
#include <percpu/kmalloc.h>
#include <percpu/pages.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <testing/check.h>

#define HEAP_BYTES ((size_t)16 << 20)
#define PAIR_OPS 2000000
#define BATCH 64
#define BATCH_ROUNDS 30000
#define MAX_ROUNDS 15

static void *page_get(void)
{
	return alloc_page();
}

static void page_put(void *p)
{
	free_page(p);
}

static void *kma_get(void)
{
	return kmalloc_aligned_try(PAGES_SIZE, PAGES_SIZE);
}

static void kma_put(void *p)
{
	kfree(p);
}

struct api {
	const char *name;
	void *(*get)(void);
	void (*put)(void *);
};

static const struct api apis[2] = {
	{ "alloc_page", page_get, page_put },
	{ "kmalloc_aligned(4096,4096)", kma_get, kma_put },
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Pages until the first failure; frees them all again. */
static size_t fill(const struct api *a, void **buf, size_t max)
{
	size_t n = 0;
	void *p;

	while (n < max && (p = a->get())) {
		*(volatile char *)p = 1; /* touch: it is real memory */
		buf[n++] = p;
	}
	for (size_t i = 0; i < n; i++)
		a->put(buf[i]);
	/* Every cache back to the heap, so the other API starts from the same heap. */
	pages_reclaim();
	percpu_drain();
	return n;
}

static double pair_rate(const struct api *a)
{
	double t = now_s();

	for (int i = 0; i < PAIR_OPS; i++) {
		void *p = a->get();
		*(volatile char *)p = 1;
		a->put(p);
	}
	return PAIR_OPS / (now_s() - t);
}

static double batch_rate(const struct api *a)
{
	void *b[BATCH];
	double t = now_s();

	for (int r = 0; r < BATCH_ROUNDS; r++) {
		for (int i = 0; i < BATCH; i++) {
			b[i] = a->get();
			*(volatile char *)b[i] = 1;
		}
		for (int i = 0; i < BATCH; i++)
			a->put(b[i]);
	}
	return (double)BATCH * BATCH_ROUNDS / (now_s() - t);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	void *mem = aligned_alloc(PAGES_SIZE, HEAP_BYTES);
	size_t max = HEAP_BYTES / PAGES_SIZE, filled[2];
	void **buf = malloc(max * sizeof(*buf));
	double pair[2][MAX_ROUNDS], batch[2][MAX_ROUNDS], med_pair[2], med_batch[2];

	CHECK(mem && buf);
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 5;
	kheap_init(mem, (char *)mem + HEAP_BYTES);
	percpu_init(PERCPU_MAGAZINES);
	pages_init();

	for (int k = 0; k < 2; k++)
		filled[k] = fill(&apis[k], buf, max);
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < 2; k++) {
			/* Alternate the order too, so neither always runs warm. */
			int j = (r & 1) ? 1 - k : k;
			pair[j][r] = pair_rate(&apis[j]);
			batch[j][r] = batch_rate(&apis[j]);
		}
	for (int k = 0; k < 2; k++) {
		qsort(pair[k], (size_t)rounds, sizeof(double), cmp_double);
		qsort(batch[k], (size_t)rounds, sizeof(double), cmp_double);
		med_pair[k] = pair[k][rounds / 2];
		med_batch[k] = batch[k][rounds / 2];
	}

	printf("16 MiB heap (%zu pages), host port, 1 thread, median of %d alternating rounds\n",
	       max, rounds);
	printf("%-28s %12s %9s %16s %16s\n", "api", "fill_pages", "fill_%", "pair_Mpages/s",
	       "batch64_Mpages/s");
	for (int k = 0; k < 2; k++)
		printf("%-28s %12zu %8.1f%% %16.2f %16.2f\n", apis[k].name, filled[k],
		       100.0 * (double)filled[k] / (double)max, med_pair[k] / 1e6,
		       med_batch[k] / 1e6);
	printf("pages_bench: pages_fill=%zu kmalloc_fill=%zu fill_ratio=%.2f "
	       "pair_ratio=%.2f batch_ratio=%.2f\n",
	       filled[0], filled[1], (double)filled[0] / (double)filled[1],
	       med_pair[0] / med_pair[1], med_batch[0] / med_batch[1]);
	return 0;
}
