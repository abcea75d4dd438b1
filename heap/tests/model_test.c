// SPDX-License-Identifier: BSD-2-Clause
/*
 * Randomized model test of the core against a shadow model: millions of
 * allocs (1..64 KiB, alignments 1..4096), frees, reallocs, callocs, batches,
 * region claims, extends and truncates. Every live block must stay in its
 * region, aligned, disjoint from the others and keep its contents; the
 * validator runs every VALIDATE_EVERY ops and at the end; freeing everything
 * must leave one free block per region.
 *
 *   model_test [seed [ops]]   or   HEAP_MODEL_SEED=.. HEAP_MODEL_OPS=..
 */
#include "test_util.h"

#include <heap/heap_core.h>
#include <string.h>
#include <time.h>

#include "../heap_internal.h"

#ifndef DEFAULT_OPS
#define DEFAULT_OPS 10000000ull
#endif
#define MAX_LIVE 4096
#define LIVE_TARGET 1500
#define MAX_REGIONS 12
#define ARENA (2u << 20)
#define VALIDATE_EVERY 4096
#define DISJOINT_EVERY 65536

struct slot {
	uint8_t *p;
	size_t size, align;
	uint64_t seed;
};

static struct heap h;
static struct slot live[MAX_LIVE];
static size_t nlive;
static uint64_t rng;
static struct arena {
	uint8_t *base, *claimed_end;
} arenas[MAX_REGIONS];
static int narenas;

/* The byte the pattern puts at offset off of a block with this seed. */
static uint8_t pat(uint64_t seed, size_t off)
{
	return (uint8_t)((seed >> ((off * 7) & 56)) ^ off ^ (off >> 8));
}

/* Sample offsets: both ends and a few in between (full fills would be slow). */
static size_t sample_off(size_t size, unsigned j)
{
	return j < 4 ? (j < size ? j : size - 1)
		     : j < 8 ? size - 1 - (j - 4 < size ? j - 4 : 0)
			     : (size - 1) * (j - 7) / 9;
}
#define SAMPLES 16

static void fill(struct slot *s)
{
	for (unsigned j = 0; j < SAMPLES; j++) {
		size_t off = sample_off(s->size, j);
		s->p[off] = pat(s->seed, off);
	}
}

static void verify(const struct slot *s, size_t upto)
{
	for (unsigned j = 0; j < SAMPLES; j++) {
		size_t off = sample_off(s->size, j);
		if (off < upto && s->p[off] != pat(s->seed, off)) {
			fprintf(stderr, "contents lost: block %p size %zu off %zu\n",
				(void *)s->p, s->size, off);
			exit(1);
		}
	}
}

static void report(void *ctx, const char *msg, void *addr)
{
	(void)ctx;
	fprintf(stderr, "validator: %s at %p\n", msg, addr);
}

static void check_block(const struct slot *s)
{
	uintptr_t a = (uintptr_t)s->p;
	CHECK(s->p != NULL);
	CHECK(a % 16 == 0);
	CHECK(s->align <= 16 || a % s->align == 0);
	CHECK(heap_usable_size(&h, s->p) >= s->size);
	CHECK(heap_block_size(s->p) >= s->size);
	/* Inside one claimed arena. */
	int in = 0;
	for (int i = 0; i < narenas; i++)
		in |= s->p >= arenas[i].base && s->p + s->size <= arenas[i].claimed_end;
	CHECK(in);
}

static int by_addr(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;
	return x->p < y->p ? -1 : x->p > y->p;
}

static void check_disjoint(void)
{
	static struct slot sorted[MAX_LIVE];
	memcpy(sorted, live, nlive * sizeof(live[0]));
	qsort(sorted, nlive, sizeof(sorted[0]), by_addr);
	for (size_t i = 1; i < nlive; i++)
		CHECK(sorted[i - 1].p + sorted[i - 1].size <= sorted[i].p);
}

static size_t rand_size(void)
{
	/* Log-uniform 1..64 KiB: many small blocks, some big ones. */
	unsigned bits = (unsigned)test_range(&rng, 0, 16);
	size_t s = (size_t)test_range(&rng, 1, (1ull << bits));
	return s > 65536 ? 65536 : s;
}

static size_t rand_align(void)
{
	uint64_t r = test_rand(&rng);
	if ((r & 3) != 0)
		return (r >> 2) & 1 ? 0 : 8;
	return (size_t)1 << ((r >> 8) % 13); /* 1..4096 */
}

static void new_arena(size_t claim)
{
	CHECK(narenas < MAX_REGIONS);
	struct arena *a = &arenas[narenas];
	a->base = test_map(ARENA);
	if (claim > ARENA)
		claim = ARENA;
	a->claimed_end = a->base + claim;
	enum heap_error e = narenas == 0 ? heap_init(&h, a->base, a->claimed_end)
					 : heap_claim(&h, a->base, a->claimed_end);
	CHECK_EQ(e, HEAP_OK);
	narenas++;
}

/* More memory: extend the current region, or claim a new one. False if full. */
static int grow(void)
{
	struct arena *cur = &arenas[narenas - 1];
	if (cur->claimed_end + (256u << 10) <= cur->base + ARENA) {
		cur->claimed_end += (256u << 10);
		CHECK_EQ(heap_extend(&h, cur->claimed_end), HEAP_OK);
		return 1;
	}
	if (narenas < MAX_REGIONS) {
		new_arena((size_t)test_range(&rng, 256 << 10, ARENA));
		return 1;
	}
	return 0;
}

static void drop(size_t i)
{
	struct slot *s = &live[i];
	verify(s, s->size);
	if (test_rand(&rng) % 4 == 0)
		CHECK_EQ(heap_free_sized(&h, s->p, s->size), HEAP_OK);
	else
		CHECK_EQ(heap_free(&h, s->p), HEAP_OK);
	live[i] = live[--nlive];
}

static void do_alloc(void)
{
	struct slot s = { .size = rand_size(), .align = rand_align(),
			  .seed = test_rand(&rng) };
	enum heap_error e = HEAP_OK;
	int zero = test_rand(&rng) % 16 == 0 && s.align <= 16;
	for (;;) {
		s.p = zero ? heap_calloc(&h, 1, s.size, &e)
			   : heap_alloc(&h, s.size, s.align, &e);
		if (s.p)
			break;
		CHECK_EQ(e, HEAP_ERR_OOM);
		if (!grow()) {
			if (nlive == 0)
				return;
			drop((size_t)test_range(&rng, 0, nlive - 1));
		}
	}
	if (zero) {
		for (size_t i = 0; i < s.size; i += 61)
			CHECK(s.p[i] == 0);
		CHECK(s.p[s.size - 1] == 0);
	}
	check_block(&s);
	fill(&s);
	live[nlive++] = s;
}

static void do_realloc(size_t i)
{
	struct slot *s = &live[i];
	size_t n = rand_size();
	enum heap_error e = HEAP_OK;
	uint8_t *q;
	for (;;) {
		q = heap_realloc(&h, s->p, n, &e);
		if (q)
			break;
		CHECK_EQ(e, HEAP_ERR_OOM);
		verify(s, s->size); /* a failed realloc leaves the block alone */
		if (!grow())
			return;
	}
	struct slot old = *s;
	s->p = q;
	verify(s, n < old.size ? n : old.size);
	if (q != old.p)
		s->align = 0; /* a moved block is only 16-aligned */
	s->size = n;
	check_block(s);
	fill(s);
}

static void do_batch(void)
{
	void *ptrs[32];
	size_t want = (size_t)test_range(&rng, 1, 32);
	size_t size = (size_t)test_range(&rng, 1, 512);
	size_t got = heap_alloc_batch(&h, size, 16, ptrs, want);
	for (size_t i = 0; i < got; i++) {
		CHECK((uintptr_t)ptrs[i] % 16 == 0);
		CHECK(heap_block_size(ptrs[i]) >= size);
		/* Park half of them as the magazine layer would. */
		if (i & 1) {
			heap_tag_mark_cached(ptrs[i]);
			CHECK(heap_tag_is_cached(ptrs[i]));
		}
	}
	heap_free_batch(&h, ptrs, got);
}

static void free_all_and_check(void)
{
	while (nlive)
		drop(nlive - 1);
	CHECK_EQ(heap_validate(&h, report, NULL), 0);
	struct heap_stats st;
	heap_get_stats(&h, &st);
	CHECK_EQ(st.bytes_in_use, 0);
	CHECK_EQ(st.live_allocs, 0);
	size_t nonempty = 0;
	for (struct heap_region *r = h.regions; r; r = r->next)
		nonempty += r->sentinel > region_first(r);
	CHECK_EQ(st.free_blocks, nonempty);
	CHECK_EQ(st.regions, (size_t)narenas);
	CHECK_EQ(st.bytes_free + st.overhead_bytes, st.heap_bytes);
}

int main(int argc, char **argv)
{
	unsigned long long seed = test_param(argc, argv, 1, "HEAP_MODEL_SEED", 42);
	unsigned long long ops = test_param(argc, argv, 2, "HEAP_MODEL_OPS", DEFAULT_OPS);
	struct timespec t0, t1;

	printf("model_test: seed=%llu ops=%llu (set HEAP_MODEL_SEED / HEAP_MODEL_OPS)\n",
	       seed, ops);
	rng = seed;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	new_arena(512u << 10);

	for (unsigned long long op = 1; op <= ops; op++) {
		uint64_t r = test_rand(&rng) % 100;
		if (nlive == 0 || (nlive < MAX_LIVE && r < (nlive < LIVE_TARGET ? 55u : 35u)))
			do_alloc();
		else if (r < 75)
			drop((size_t)test_range(&rng, 0, nlive - 1));
		else if (r < 98)
			do_realloc((size_t)test_range(&rng, 0, nlive - 1));
		else
			do_batch();

		if (op % 200003 == 0) {
			/* Give back the free tail of the current region. */
			struct arena *cur = &arenas[narenas - 1];
			uint8_t *want = cur->base + (cur->claimed_end - cur->base) / 2;
			uint8_t *end = heap_truncate(&h, want);
			CHECK(end >= want && end <= cur->claimed_end);
			cur->claimed_end = end;
		}
		if (op % VALIDATE_EVERY == 0) {
			size_t errs = heap_validate(&h, report, NULL);
			if (errs) {
				fprintf(stderr, "validator: %zu errors after op %llu\n", errs, op);
				exit(1);
			}
			struct heap_stats st;
			heap_get_stats(&h, &st);
			CHECK_EQ(st.live_allocs, nlive);
		}
		if (op % DISJOINT_EVERY == 0) {
			check_disjoint();
			for (size_t i = 0; i < nlive; i++)
				verify(&live[i], live[i].size);
		}
	}
	check_disjoint();
	struct heap_stats st;
	heap_get_stats(&h, &st);
	free_all_and_check();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("model_test: PASS %llu ops in %.2f s (%.1f Mops/s), %d regions, "
	       "%zu allocs, high water %zu bytes\n",
	       ops, secs, (double)ops / secs / 1e6, narenas, st.total_allocs, st.high_water);
	return 0;
}
