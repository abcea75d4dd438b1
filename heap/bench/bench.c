// SPDX-License-Identifier: BSD-2-Clause
/*
 * Host benchmark: this heap's core against glibc malloc, side by side.
 *  1. talc's "random actions": batches of 100 actions (realloc 1 in 7, else
 *     alloc while fewer than 300 live or 3 in 7, else free a random block),
 *     size rand(4..rand(16..max)) for max in 200..30000, alignment
 *     8 << (ctz(rand16) / 2); actions per second and the ratio.
 *  2. alloc+free latency percentiles in rdtsc cycles, on a heap holding a
 *     random set of live blocks.
 *  3. the heap-efficiency figure (tests/efficiency.h).
 * The last line is machine-readable.
 */
#include "../tests/efficiency.h"

#include <malloc.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t cycles(void) { return __rdtsc(); }
#else
static inline uint64_t cycles(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
#endif

#define HEAP_BYTES (512u << 20)
#define LIVE_MAX 4096

struct ops {
	const char *name;
	void *(*alloc)(void *ctx, size_t size, size_t align);
	void (*free)(void *ctx, void *p);
	void *(*realloc)(void *ctx, void *p, size_t size);
	void *ctx;
};

static void *h_alloc(void *c, size_t s, size_t a) { return heap_alloc(c, s, a, NULL); }
static void h_free(void *c, void *p) { heap_free(c, p); }
static void *h_realloc(void *c, void *p, size_t s) { return heap_realloc(c, p, s, NULL); }
static void *g_alloc(void *c, size_t s, size_t a)
{
	(void)c;
	return a <= 16 ? malloc(s) : memalign(a, s);
}
static void g_free(void *c, void *p) { (void)c; free(p); }
static void *g_realloc(void *c, void *p, size_t s) { (void)c; return realloc(p, s); }

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Actions per second for one max size. */
static double random_actions(const struct ops *o, size_t max, unsigned batches, uint64_t seed)
{
	static void *live[LIVE_MAX];
	size_t n = 0;
	uint64_t rng = seed;
	double t0 = now();

	for (unsigned b = 0; b < batches; b++) {
		for (int i = 0; i < 100; i++) {
			uint64_t r = test_rand(&rng);
			unsigned act = (unsigned)(r % 7);
			size_t size = (size_t)test_range(&rng, 4, test_range(&rng, 16, max));
			if (act == 0 && n) {
				size_t k = (size_t)((r >> 8) % n);
				void *p = o->realloc(o->ctx, live[k], size);
				if (p)
					live[k] = p;
			} else if ((n < 300 || act <= 3) && n < LIVE_MAX) {
				unsigned tz = (unsigned)__builtin_ctz((unsigned)(r >> 32) | 0x10000u);
				void *p = o->alloc(o->ctx, size, (size_t)8 << (tz / 2));
				if (p)
					live[n++] = p;
			} else if (n) {
				size_t k = (size_t)((r >> 8) % n);
				o->free(o->ctx, live[k]);
				live[k] = live[--n];
			}
		}
	}
	double secs = now() - t0;
	while (n)
		o->free(o->ctx, live[--n]);
	return (double)batches * 100 / secs;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

#define LAT_N 200000
/* Percentiles of one alloc+free pair, with 2000 random blocks live around it. */
static void latency(const struct ops *o, uint64_t pct[5])
{
	static uint64_t t[LAT_N];
	static void *bg[2000];
	uint64_t rng = 7;
	for (int i = 0; i < 2000; i++)
		bg[i] = o->alloc(o->ctx, (size_t)test_range(&rng, 16, 2000), 16);
	for (int i = 0; i < 2000; i += 2)
		o->free(o->ctx, bg[i]);
	for (int i = 0; i < LAT_N; i++) {
		size_t s = (size_t)test_range(&rng, 8, 512);
		uint64_t c0 = cycles();
		void *p = o->alloc(o->ctx, s, 16);
		o->free(o->ctx, p);
		t[i] = cycles() - c0;
	}
	for (int i = 1; i < 2000; i += 2)
		o->free(o->ctx, bg[i]);
	qsort(t, LAT_N, sizeof(t[0]), cmp_u64);
	static const int at[5] = { 1, 25, 50, 75, 99 };
	for (int i = 0; i < 5; i++)
		pct[i] = t[(size_t)LAT_N * (size_t)at[i] / 100];
}

int main(int argc, char **argv)
{
	unsigned batches = (unsigned)test_param(argc, argv, 1, "HEAP_BENCH_BATCHES", 20000);
	static struct heap h;
	char *mem = test_map(HEAP_BYTES);
	CHECK_EQ(heap_init(&h, mem, mem + HEAP_BYTES), HEAP_OK);
	struct ops mine = { "heap", h_alloc, h_free, h_realloc, &h };
	struct ops glibc = { "glibc", g_alloc, g_free, g_realloc, NULL };
	static const size_t maxes[] = { 200, 1000, 3000, 10000, 30000 };
	double log_ratio = 0;

	printf("random actions (%u batches of 100 per size):\n", batches);
	printf("  %-8s %14s %14s %8s\n", "max", "heap ops/s", "glibc ops/s", "ratio");
	for (unsigned i = 0; i < 5; i++) {
		double a = random_actions(&mine, maxes[i], batches, 100 + i);
		double g = random_actions(&glibc, maxes[i], batches, 100 + i);
		printf("  %-8zu %14.0f %14.0f %8.2f\n", maxes[i], a, g, a / g);
		log_ratio += __builtin_log(a / g);
	}
	double ratio = __builtin_exp(log_ratio / 5);
	CHECK_EQ(heap_validate(&h, NULL, NULL), 0);

	uint64_t lh[5], lg[5];
	latency(&mine, lh);
	latency(&glibc, lg);
	printf("alloc+free latency, cycles (p1 p25 p50 p75 p99):\n");
	printf("  heap : %llu %llu %llu %llu %llu\n", (unsigned long long)lh[0],
	       (unsigned long long)lh[1], (unsigned long long)lh[2],
	       (unsigned long long)lh[3], (unsigned long long)lh[4]);
	printf("  glibc: %llu %llu %llu %llu %llu\n", (unsigned long long)lg[0],
	       (unsigned long long)lg[1], (unsigned long long)lg[2],
	       (unsigned long long)lg[3], (unsigned long long)lg[4]);

	double eff = 0;
	for (int t = 0; t < 10; t++)
		eff += efficiency_trial(mem, 32u << 20, 1000 + (uint64_t)t);
	eff /= 10;
	printf("heap efficiency (talc workload, 32 MiB, 10 trials): %.2f%%\n", eff * 100);
	printf("heap_bench: efficiency_pct=%.2f random_actions_vs_glibc=%.2f "
	       "p50_cycles=%llu glibc_p50_cycles=%llu\n",
	       eff * 100, ratio, (unsigned long long)lh[2], (unsigned long long)lg[2]);
	return 0;
}
