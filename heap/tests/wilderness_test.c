// SPDX-License-Identifier: BSD-2-Clause
/*
 * The largest free block (usually a region's rest, the top block below its
 * sentinel or, once batch runs are cut from its top, below them) is the
 * last resort: a hole that fits is used first, so a heap on a big region
 * (the shim's 1 GiB) does not spread over memory it never needed at once.
 */
#include "test_util.h"

#include <heap/heap_core.h>

#include "../heap_internal.h"

/*
 * A hole of the last bin (open-ended, 288 KiB up) and the top block, the
 * top at the head of the bin's list: a request that only they fit gets the
 * hole.
 */
static void test_hole_before_top(void)
{
	size_t bytes = 64u << 20;
	char *mem = test_map(bytes);
	static struct heap h;
	CHECK_EQ(heap_init(&h, mem, mem + bytes), HEAP_OK);
	char *hole = heap_alloc(&h, 400u << 10, 0, NULL);
	char *guard = heap_alloc(&h, 64, 0, NULL);
	char *below = heap_alloc(&h, 64, 0, NULL);
	char *last = heap_alloc(&h, 64, 0, NULL);
	CHECK(hole && guard && below && last);
	CHECK_EQ(heap_free(&h, hole), HEAP_OK);  /* the hole: last bin's head */
	CHECK_EQ(heap_free(&h, below), HEAP_OK); /* a small free block */
	/* Merges below and the top into one block, pushed to the head. */
	CHECK_EQ(heap_free(&h, last), HEAP_OK);
	CHECK(h.bins[HEAP_NUM_BINS - 1] != NULL);
	CHECK_EQ((uintptr_t)h.bins[HEAP_NUM_BINS - 1], (uintptr_t)below - W);
	char *p = heap_alloc(&h, 100u << 10, 0, NULL);
	CHECK_EQ((uintptr_t)p, (uintptr_t)hole);
	/* The hole keeps 300 KiB, too little for 300 KiB and a tag: the top. */
	char *q = heap_alloc(&h, 300u << 10, 0, NULL);
	CHECK_EQ((uintptr_t)q, (uintptr_t)below);
	CHECK_EQ(heap_validate(&h, NULL, NULL), 0);
	test_unmap(mem, bytes);
}

/*
 * The highest byte handed out (top) within num/den of the heap's high
 * water, and the heap valid; then the region [mem, mem + bytes) goes.
 */
static void check_span(struct heap *h, char *mem, size_t bytes, uintptr_t top, const char *what,
		       size_t num, size_t den)
{
	struct heap_stats st;
	heap_get_stats(h, &st);
	size_t span = top - (uintptr_t)mem;
	printf("wilderness_test: %s: highest byte at %zu KiB, high water %zu KiB (%.2fx)\n", what,
	       span >> 10, st.high_water >> 10, (double)span / (double)st.high_water);
	CHECK(span <= st.high_water / den * num);
	CHECK_EQ(heap_validate(h, NULL, NULL), 0);
	test_unmap(mem, bytes);
}

/*
 * talc's random actions at max 30000 (reallocs to 1..90000 bytes, the
 * alignments 8 << (ctz(u16) / 2)) on a 512 MiB region: the highest byte
 * ever handed out stays within 1.25x of the most the heap had in use at
 * once. With the top taken like any block of its bin it was 2.60x here
 * (3 M actions; 3.6x after 20 M on 1 GiB).
 */
#define LIVE_MAX 100000
static void test_span_random_actions(unsigned long long actions)
{
	size_t bytes = 512u << 20, max = 30000;
	char *mem = test_map(bytes);
	static struct heap h;
	static void *live[LIVE_MAX];
	static size_t align[LIVE_MAX];
	uint64_t rng = 2026;
	size_t n = 0;
	uintptr_t top = (uintptr_t)mem;
	CHECK_EQ(heap_init(&h, mem, mem + bytes), HEAP_OK);
	for (unsigned long long i = 0; i < actions; i++) {
		uint64_t act = test_rand(&rng) % 7;
		size_t size;
		void *p;
		if (act == 0 && n) {
			size_t k = test_range(&rng, 0, n - 1);
			size = test_range(&rng, 1, max * 3);
			p = heap_realloc_aligned(&h, live[k], size, align[k], NULL);
			CHECK(p != NULL);
			live[k] = p;
		} else if ((n < 300 || act <= 3) && n < LIVE_MAX) {
			size = test_range(&rng, 4, test_range(&rng, 16, max));
			align[n] = (size_t)8 << (__builtin_ctz((unsigned)(test_rand(&rng) & 0xffff) | 0x10000u) / 2);
			p = heap_alloc(&h, size, align[n], NULL);
			CHECK(p != NULL);
			live[n++] = p;
		} else {
			size_t k = test_range(&rng, 0, n - 1);
			CHECK_EQ(heap_free(&h, live[k]), HEAP_OK);
			live[k] = live[--n];
			align[k] = align[n];
			continue;
		}
		if ((uintptr_t)p + size > top)
			top = (uintptr_t)p + size;
	}
	char what[64];
	snprintf(what, sizeof(what), "%llu actions", actions);
	check_span(&h, mem, bytes, top, what, 5, 4);
}

/*
 * Batch runs (the caches' refills) cut from the top of the region's rest,
 * among 8 slots that each take a 256 KiB block and free it, in turn, the
 * slots in random order (what `alloc_bench -w bigloop -t 8 -m 262144`
 * does to the shim's heap, one call at a time): the highest byte of those
 * blocks stays within 1.5x of the heap's high water (a hole or two among
 * the runs: 1.12-1.24x). When only the block below the sentinel was kept
 * last, the region's rest, now below the runs, was taken like any head of
 * its bin: 48.8x (seed 1; the shim's resident memory grew the same way,
 * to 30 MiB and more in 20 s, against glibc's 5).
 */
#define SLOTS 8
#define RUNS 20
#define RUN_BLOCKS 8
static void test_span_runs_and_big_blocks(unsigned long steps, uint64_t seed)
{
	size_t bytes = 512u << 20, big = 256u << 10;
	char *mem = test_map(bytes);
	static struct heap h;
	void *slot[SLOTS] = { NULL };
	uint64_t rng = seed;
	uintptr_t top = (uintptr_t)mem;
	unsigned runs = 0;
	CHECK_EQ(heap_init(&h, mem, mem + bytes), HEAP_OK);
	for (unsigned long i = 0; i < steps; i++) {
		if (runs < RUNS && i % 100 == 50) {
			void *out[RUN_BLOCKS];
			size_t size = 64 + 32 * (runs++ % 3);
			CHECK_EQ(heap_alloc_batch(&h, size, 0, out, RUN_BLOCKS), RUN_BLOCKS);
		}
		size_t k = test_range(&rng, 0, SLOTS - 1);
		if (slot[k]) {
			CHECK_EQ(heap_free(&h, slot[k]), HEAP_OK);
			slot[k] = NULL;
			continue;
		}
		slot[k] = heap_alloc(&h, big, 0, NULL);
		CHECK(slot[k] != NULL);
		if ((uintptr_t)slot[k] + big > top)
			top = (uintptr_t)slot[k] + big;
	}
	char what[96];
	snprintf(what, sizeof(what), "seed %llu, %lu steps of %d slots of 256 KiB among batch runs",
		 (unsigned long long)seed, steps, SLOTS);
	check_span(&h, mem, bytes, top, what, 3, 2);
}

/*
 * Rounds of batch runs (percpu's refills of one small class) freed again
 * but for a few blocks (those a cache still holds): each round's runs must
 * reuse the last round's memory, not the region's untouched rest below it.
 * Runs took the lowest-addressed block of the last bin, which is that rest
 * (runs are cut from the top of a region, so the rest lies below them): each
 * round carved fresh memory, and the shim's resident memory grew by 45 MiB a
 * round of 1 M mallocs of 28 bytes freed again, without bound (glibc: flat).
 */
#define ROUND_RUNS 4096
#define ROUND_RUN 64
static void test_span_batch_rounds(unsigned rounds)
{
	size_t bytes = 512u << 20;
	char *mem = test_map(bytes);
	static struct heap h;
	static void *out[ROUND_RUNS][ROUND_RUN];
	uintptr_t low = (uintptr_t)mem + bytes;
	CHECK_EQ(heap_init(&h, mem, mem + bytes), HEAP_OK);
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < ROUND_RUNS; i++) {
			CHECK_EQ(heap_alloc_batch(&h, 32, 0, out[i], ROUND_RUN), ROUND_RUN);
			for (unsigned k = 0; k < ROUND_RUN; k++)
				if ((uintptr_t)out[i][k] < low)
					low = (uintptr_t)out[i][k];
		}
		/* A block of 3 runs in 4,096 stays live, as a cache would keep it. */
		for (unsigned i = 0; i < ROUND_RUNS; i++)
			heap_free_batch(&h, out[i] + (i % 1500 == 0), ROUND_RUN - (i % 1500 == 0));
	}
	struct heap_stats st;
	heap_get_stats(&h, &st);
	size_t span = (uintptr_t)mem + bytes - low;
	printf("wilderness_test: %u rounds of %d runs of %d blocks of 32 bytes: lowest byte %zu KiB "
	       "below the top, high water %zu KiB (%.2fx)\n",
	       rounds, ROUND_RUNS, ROUND_RUN, span >> 10, st.high_water >> 10,
	       (double)span / (double)st.high_water);
	CHECK(span <= st.high_water / 2 * 3);
	CHECK_EQ(heap_validate(&h, NULL, NULL), 0);
	test_unmap(mem, bytes);
}

int main(int argc, char **argv)
{
	test_hole_before_top();
	test_span_random_actions(test_param(argc, argv, 1, "WILDERNESS_ACTIONS", 3000000));
	for (uint64_t seed = 1; seed <= 6; seed++)
		test_span_runs_and_big_blocks(300000, seed);
	test_span_batch_rounds(8);
	printf("wilderness_test: PASS\n");
	return 0;
}
