// SPDX-License-Identifier: BSD-2-Clause
/*
 * Model-based differential test of the whole core API, checked after every
 * step: a shadow model of the live blocks (address, requested size,
 * alignment, contents pattern) and of the claimed regions, driven by random
 * sequences of alloc (every alignment, huge and bad ones too, edge sizes),
 * calloc, free, sized free (right and wrong sizes), realloc, aligned
 * realloc, resize, batches, bad frees, claims (adjacent, with gaps, tiny,
 * unaligned, overlapping), extend and truncate. After each step: the
 * validator, every live block in its region, aligned, disjoint from the
 * others, its usable size at least its size and its whole contents intact;
 * the stats equal to the model's sums and to a walk of the blocks; a failed
 * operation changed nothing (struct heap and every block's tag and links).
 * Small heaps, fixed seeds: a few seconds per hardening level.
 *
 *   diff_test [seed [ops [seeds]]]
 *   or HEAP_DIFF_SEED=.. HEAP_DIFF_OPS=.. HEAP_DIFF_SEEDS=.. (runs seeds seed..)
 */
#include "test_util.h"

#include <heap/heap_core.h>
#include <string.h>

#include "../heap_internal.h"

#define MAX_LIVE 256
#define MAX_REGIONS 64
#define POOL (8u << 20)

struct slot {
	uint8_t *p;
	size_t size, align;
	uint64_t seed;
};

static struct heap h;
static struct slot live[MAX_LIVE];
static size_t nlive;
static uint64_t rng;
static uint8_t *pool, *pool_top; /* regions are claimed upwards from pool */
static struct region_m {
	uint8_t *start, *end;
} regs[MAX_REGIONS];
static int nregs;
static size_t m_allocs, m_frees, m_high;
static unsigned long long op_no;
static const char *op_name = "init";

static void fail(const char *what)
{
	fprintf(stderr, "diff_test: seed-run op %llu (%s): %s\n", op_no, op_name, what);
	exit(1);
}

static uint8_t pat(uint64_t seed, size_t off)
{
	return (uint8_t)((seed >> ((off * 7) & 56)) ^ off ^ (off >> 8));
}

#define FULL_CHECK 4096 /* whole contents up to here, samples beyond */

static void fill(struct slot *s, size_t from)
{
	size_t n = s->size;
	for (size_t off = from; off < n && off < FULL_CHECK; off++)
		s->p[off] = pat(s->seed, off);
	for (size_t off = FULL_CHECK; off < n; off += 509)
		s->p[off] = pat(s->seed, off);
	if (n > FULL_CHECK)
		s->p[n - 1] = pat(s->seed, n - 1);
}

static void verify(const struct slot *s, size_t upto)
{
	for (size_t off = 0; off < upto && off < FULL_CHECK; off++)
		if (s->p[off] != pat(s->seed, off)) {
			fprintf(stderr, "contents lost: %p size %zu off %zu\n", (void *)s->p,
				s->size, off);
			fail("contents");
		}
	for (size_t off = FULL_CHECK; off < upto; off += 509)
		if (s->p[off] != pat(s->seed, off))
			fail("contents (sampled)");
	if (upto > FULL_CHECK && s->p[upto - 1] != pat(s->seed, upto - 1) && upto == s->size)
		fail("contents (last byte)");
}

/* Both ends and a few bytes between: every block after every step. */
static void verify_quick(const struct slot *s)
{
	size_t n = s->size < FULL_CHECK ? s->size : FULL_CHECK;
	for (size_t k = 0; k < 16 && k < n; k++) {
		size_t off[3] = { k, n - 1 - k, (n - 1) * k / 15 };
		for (int j = 0; j < 3; j++)
			if (s->p[off[j]] != pat(s->seed, off[j]))
				fail("contents (quick)");
	}
}

static void report(void *ctx, const char *msg, void *addr)
{
	(void)ctx;
	fprintf(stderr, "validator: %s at %p\n", msg, addr);
}

/* A hash of struct heap and every block's tag, links and footer. */
static uint64_t heap_hash(void)
{
	uint64_t x = 0x1234;
	const uint8_t *hb = (const uint8_t *)&h;
	for (size_t i = 0; i < sizeof(h); i++)
		x = (x ^ hb[i]) * 0x100000001b3ull;
	for (struct heap_region *r = h.regions; r; r = r->next) {
		x = (x ^ (uintptr_t)r ^ r->end ^ (r->sentinel << 1)) * 0x100000001b3ull;
		uintptr_t b = region_first(r);
		while (b < r->sentinel) {
			uintptr_t t = *(uintptr_t *)b, s = tag_size(t);
			x = (x ^ t) * 0x100000001b3ull;
			if (!(t & HEAP_TAG_ALLOC)) {
				x = (x ^ *(uintptr_t *)(b + 8)) * 0x100000001b3ull;
				x = (x ^ *(uintptr_t *)(b + 16)) * 0x100000001b3ull;
				x = (x ^ *(uintptr_t *)(b + s - 8)) * 0x100000001b3ull;
			} else {
				x = (x ^ *(uintptr_t *)(b + s - 8)) * 0x100000001b3ull;
			}
			if (s == 0)
				fail("zero-size block in walk");
			b += s;
		}
		x = (x ^ *(uintptr_t *)r->sentinel) * 0x100000001b3ull;
	}
	return x;
}

static int by_addr(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;
	return x->p < y->p ? -1 : x->p > y->p;
}

static struct region_m *region_of_m(const void *p)
{
	for (int i = 0; i < nregs; i++)
		if ((const uint8_t *)p >= regs[i].start && (const uint8_t *)p < regs[i].end)
			return &regs[i];
	return NULL;
}

static void check_all(void)
{
	if (heap_validate(&h, report, NULL))
		fail("validator");
	/* Blocks: aligned, usable, in a region, disjoint, contents. */
	static struct slot sorted[MAX_LIVE];
	size_t in_use = 0;
	for (size_t i = 0; i < nlive; i++) {
		struct slot *s = &live[i];
		uintptr_t a = (uintptr_t)s->p;
		if (a % 16 || (s->align > 16 && a % s->align))
			fail("misaligned block");
		size_t us = heap_usable_size(&h, s->p);
		if (us < s->size || us != heap_block_size(s->p))
			fail("usable size");
		struct region_m *rm = region_of_m(s->p);
		if (!rm || s->p + us > rm->end)
			fail("block outside its region");
		in_use += heap_block_size(s->p) + BLOCK_OVERHEAD;
		verify_quick(s);
	}
	memcpy(sorted, live, nlive * sizeof(live[0]));
	qsort(sorted, nlive, sizeof(sorted[0]), by_addr);
	for (size_t i = 1; i < nlive; i++)
		if (sorted[i - 1].p + heap_usable_size(&h, sorted[i - 1].p) + W > sorted[i].p)
			fail("overlapping blocks");

	/* Stats against the model and a walk. */
	struct heap_stats st;
	heap_get_stats(&h, &st);
	size_t bytes = 0, overhead = 0, freeb = 0, nfree = 0, largest = 0;
	for (int i = 0; i < nregs; i++)
		bytes += (size_t)(regs[i].end - (uint8_t *)(((uintptr_t)regs[i].start + 15) & ~(uintptr_t)15));
	for (struct heap_region *r = h.regions; r; r = r->next) {
		overhead += region_overhead(r);
		for (uintptr_t b = region_first(r); b < r->sentinel; b += ((uintptr_t)size16_load(b) << 4)) {
			if (!(flags_load(b) & HEAP_TAG_ALLOC)) {
				freeb += ((uintptr_t)size16_load(b) << 4);
				nfree++;
				if (((uintptr_t)size16_load(b) << 4) > largest)
					largest = ((uintptr_t)size16_load(b) << 4);
			}
		}
	}
	if (st.heap_bytes != bytes) {
		fprintf(stderr, "heap_bytes %zu model %zu\n", st.heap_bytes, bytes);
		fail("stats heap_bytes");
	}
	if (st.regions != (size_t)nregs)
		fail("stats regions");
	if (st.bytes_in_use != in_use)
		fail("stats bytes_in_use");
	if (st.live_allocs != nlive)
		fail("stats live_allocs");
	if (st.total_allocs != m_allocs || st.total_frees != m_frees) {
		fprintf(stderr, "allocs %zu/%zu frees %zu/%zu\n", st.total_allocs, m_allocs,
			st.total_frees, m_frees);
		fail("stats totals");
	}
	if (st.bytes_free != freeb || st.free_blocks != nfree || st.largest_free != largest) {
		fprintf(stderr, "free %zu/%zu blocks %zu/%zu largest %zu/%zu\n", st.bytes_free,
			freeb, st.free_blocks, nfree, st.largest_free, largest);
		fail("stats free");
	}
	if (st.overhead_bytes != overhead ||
	    st.heap_bytes != st.bytes_in_use + st.bytes_free + st.overhead_bytes)
		fail("stats overhead");
	if (in_use > m_high)
		m_high = in_use;
	if (st.high_water < m_high || st.high_water < st.bytes_in_use)
		fail("stats high_water");
	m_high = st.high_water;
}

/* ---- sizes and alignments ---------------------------------------------- */

static size_t rand_size(void)
{
	uint64_t r = test_rand(&rng) % 16;
	if (r == 0)
		return (size_t)test_range(&rng, 0, 2);
	if (r < 3) {
		/* Around a bin boundary, payload side. */
		unsigned i = (unsigned)test_range(&rng, 0, 100);
		size_t lo = bin_lo[i] - BLOCK_OVERHEAD;
		return lo + (size_t)test_range(&rng, 0, 32) - 16;
	}
	if (r < 4)
		return (size_t)test_range(&rng, 1, 256 << 10);
	unsigned bits = (unsigned)test_range(&rng, 0, 13);
	return (size_t)test_range(&rng, 1, 1ull << bits);
}

static size_t rand_align(void)
{
	uint64_t r = test_rand(&rng) % 8;
	if (r < 4)
		return (size_t[]){ 0, 1, 8, 16 }[r];
	return (size_t)1 << test_range(&rng, 0, 16);
}

/* Overflowing and absurd requests: they must fail and change nothing. */
static size_t rand_bad_size(void)
{
	static const size_t sizes[] = {
		SIZE_MAX, SIZE_MAX - 7, SIZE_MAX - 15, SIZE_MAX - 16, SIZE_MAX - 31,
		SIZE_MAX / 2, SIZE_MAX / 2 + 1,
		MAX_BLOCK - BLOCK_OVERHEAD + 1, MAX_BLOCK, MAX_BLOCK - 1,
		(size_t)1 << 40,
	};
	return sizes[test_rand(&rng) % (sizeof(sizes) / sizeof(sizes[0]))];
}

/* ---- operations ---------------------------------------------------------- */

static void add(void *p, size_t size, size_t align)
{
	struct slot s = { .p = p, .size = size, .align = align, .seed = test_rand(&rng) };
	if (nlive >= MAX_LIVE)
		fail("model full");
	fill(&s, 0);
	live[nlive++] = s;
}

static void expect_unchanged(uint64_t before, const char *what)
{
	if (heap_hash() != before)
		fail(what);
}

static void do_alloc(void)
{
	op_name = "do_alloc";
	size_t size = rand_size(), align = rand_align();
	enum heap_error e = HEAP_OK;
	uint64_t before = heap_hash();
	void *p = heap_alloc(&h, size, align, &e);
	if (!p) {
		if (e != HEAP_ERR_OOM)
			fail("alloc: error other than OOM");
		expect_unchanged(before, "failed alloc changed the heap");
		return;
	}
	m_allocs++;
	add(p, size, align);
}

static void do_calloc(void)
{
	op_name = "do_calloc";
	size_t n = (size_t)test_range(&rng, 0, 40), size = rand_size() / 8;
	enum heap_error e = HEAP_OK;
	uint64_t before = heap_hash();
	uint8_t *p = heap_calloc(&h, n, size, &e);
	if (!p) {
		if (e != HEAP_ERR_OOM)
			fail("calloc: error other than OOM");
		expect_unchanged(before, "failed calloc changed the heap");
		return;
	}
	for (size_t i = 0; i < n * size; i++)
		if (p[i])
			fail("calloc not zeroed");
	m_allocs++;
	add(p, n * size, 0);
}

static void do_bad_alloc(void)
{
	op_name = "do_bad_alloc";
	enum heap_error e = HEAP_OK;
	uint64_t before = heap_hash();
	size_t size = rand_bad_size(), align = rand_align();
	uint64_t r = test_rand(&rng) % 4;
	if (r == 0) {
		size = rand_size();
		align = (size_t)1 << test_range(&rng, 30, 63); /* alignment > any region */
		/*
		 * ...and no multiple of it inside the pool, where the regions
		 * are: a pool mapped across a 1 GiB boundary (about 1 run in
		 * 128) has a 1 GiB-aligned address, and a small block there
		 * is no absurd request. 2^63 is in no user mapping.
		 */
		while (align < ((size_t)1 << 63) &&
		       ((uintptr_t)pool + POOL - 1) / align != ((uintptr_t)pool - 1) / align)
			align <<= 1;
	} else if (r == 1) {
		size = rand_size();
		align = (size_t)test_range(&rng, 3, 1 << 20) | 1; /* not a power of two */
		if (test_rand(&rng) & 1)
			align = 48;
	}
	void *p = heap_alloc(&h, size, align, &e);
	if (p) {
		fprintf(stderr, "size %zu align %zu gave %p\n", size, align, p);
		fail("absurd alloc succeeded");
	}
	if (e != HEAP_ERR_OOM && e != HEAP_ERR_SIZE_OVERFLOW && e != HEAP_ERR_BAD_ALIGN)
		fail("absurd alloc: wrong error");
	if ((align & (align - 1)) && e != HEAP_ERR_BAD_ALIGN)
		fail("bad alignment not named");
	expect_unchanged(before, "failed absurd alloc changed the heap");
	/* calloc whose product overflows */
	size_t n = (size_t)test_range(&rng, 2, 1 << 20);
	p = heap_calloc(&h, n, SIZE_MAX / n + 1, &e);
	if (p || e != HEAP_ERR_SIZE_OVERFLOW)
		fail("calloc overflow");
	expect_unchanged(before, "failed calloc changed the heap");
	/* realloc of a live block to an absurd size */
	if (nlive) {
		struct slot *s = &live[test_range(&rng, 0, nlive - 1)];
		p = heap_realloc(&h, s->p, rand_bad_size(), &e);
		if (p || (e != HEAP_ERR_OOM && e != HEAP_ERR_SIZE_OVERFLOW))
			fail("absurd realloc");
		expect_unchanged(before, "failed realloc changed the heap");
		p = heap_realloc_aligned(&h, s->p, rand_size(), 48, &e);
		if (p || e != HEAP_ERR_BAD_ALIGN)
			fail("realloc with bad alignment");
		expect_unchanged(before, "failed realloc_aligned changed the heap");
	}
}

static void drop(size_t i)
{
	op_name = "drop";
	struct slot *s = &live[i];
	verify(s, s->size);
	uint64_t r = test_rand(&rng) % 4;
	if (r == 0) {
		/* Sized free with a wrong size first: refused, nothing changes. */
		size_t us = heap_usable_size(&h, s->p);
		size_t wrong = us + 1 + (size_t)test_range(&rng, 0, 64);
		uint64_t before = heap_hash();
		if (heap_free_sized(&h, s->p, wrong) != HEAP_ERR_SIZE_MISMATCH)
			fail("sized free with a too-big size accepted");
		expect_unchanged(before, "refused sized free changed the heap");
		if (heap_free_sized(&h, s->p, SIZE_MAX) != HEAP_ERR_SIZE_MISMATCH)
			fail("sized free SIZE_MAX");
		expect_unchanged(before, "refused sized free changed the heap");
		if (heap_free_sized(&h, s->p, s->size) != HEAP_OK)
			fail("sized free with the right size refused");
	} else if (r == 1) {
		if (heap_free_sized(&h, s->p, heap_usable_size(&h, s->p)) != HEAP_OK)
			fail("sized free with the usable size refused");
	} else if (test_rand(&rng) % 3 == 0) {
		/* Parked as a magazine would: a plain free refuses it. */
		heap_tag_mark_cached(s->p);
		uint64_t before = heap_hash();
		if (heap_free(&h, s->p) != HEAP_ERR_DOUBLE_FREE)
			fail("plain free of a cached block accepted");
		expect_unchanged(before, "refused free of a cached block changed the heap");
		if ((test_rand(&rng) & 1 ? heap_free_claimed(&h, s->p)
					 : heap_free_sized_claimed(&h, s->p, s->size)) != HEAP_OK)
			fail("claimed free refused");
	} else {
		if (heap_free(&h, s->p) != HEAP_OK)
			fail("free refused");
	}
	m_frees++;
	void *p = s->p;
	live[i] = live[--nlive];
	/* At once: a second free is a double free, and changes nothing. */
	if (test_rand(&rng) % 4 == 0) {
		uint64_t before = heap_hash();
		enum heap_error e = heap_free(&h, p);
		if (e != HEAP_ERR_DOUBLE_FREE && e != HEAP_ERR_INTERIOR_PTR &&
		    e != HEAP_ERR_CORRUPT_TAG && e != HEAP_ERR_FOREIGN_PTR)
			fail("double free not refused");
		expect_unchanged(before, "refused double free changed the heap");
	}
}

static void do_bad_free(void)
{
	op_name = "do_bad_free";
	if (!nlive)
		return;
	struct slot *s = &live[test_range(&rng, 0, nlive - 1)];
	uint64_t before = heap_hash();
	size_t us = heap_usable_size(&h, s->p);
	size_t off = (size_t)test_range(&rng, 1, us < 64 ? us - 1 : 64);
	enum heap_error e = heap_free(&h, s->p + off);
	if (e == HEAP_OK)
		fail("interior free accepted");
	expect_unchanged(before, "refused interior free changed the heap");
	uint8_t local[64];
	if (heap_free(&h, local + 16) != HEAP_ERR_FOREIGN_PTR)
		fail("foreign free");
	expect_unchanged(before, "refused foreign free changed the heap");
}

static void do_realloc(size_t i, int aligned)
{
	op_name = "do_realloc";
	struct slot *s = &live[i];
	size_t n = rand_size(), align = aligned ? rand_align() : 0;
	enum heap_error e = HEAP_OK;
	uint64_t before = heap_hash();
	uint8_t *q = aligned ? heap_realloc_aligned(&h, s->p, n, align, &e)
			     : heap_realloc(&h, s->p, n, &e);
	if (!q) {
		if (e != HEAP_ERR_OOM)
			fail("realloc: error other than OOM");
		expect_unchanged(before, "failed realloc changed the heap");
		verify(s, s->size);
		return;
	}
	struct slot old = *s;
	s->p = q;
	size_t keep = n < old.size ? n : old.size;
	verify(s, keep);
	s->size = n;
	s->align = aligned ? align : (q == old.p ? old.align : 0);
	if (aligned && align > 16 && (uintptr_t)q % align)
		fail("realloc_aligned lost the alignment");
	fill(s, keep);
}

static void do_resize(size_t i)
{
	op_name = "do_resize";
	struct slot *s = &live[i];
	size_t n = rand_size(), align = test_rand(&rng) % 2 ? 0 : rand_align(), move = 12345;
	enum heap_error e = HEAP_OK;
	uint64_t before = heap_hash();
	uint8_t *q = heap_resize(&h, s->p, n, align, &move, &e);
	if (!q) {
		if (e != HEAP_ERR_OOM)
			fail("resize: error other than OOM");
		if (move != heap_usable_size(&h, s->p))
			fail("resize: *move not the usable size");
		expect_unchanged(before, "failed resize changed the heap");
		verify(s, s->size);
		return;
	}
	if (q == s->p) {
		if (move)
			fail("resize in place with a move");
	} else {
		if (align > 16)
			fail("resize with an alignment moved p");
		if (move < s->size)
			fail("resize: move shorter than the payload");
		memmove(q, s->p, move);
		s->align = 0; /* moved down: only 16-aligned */
	}
	size_t keep = n < s->size ? n : s->size;
	s->p = q;
	verify(s, keep);
	s->size = n;
	if (align > 16 && (uintptr_t)q % align)
		fail("resize alignment");
	fill(s, keep);
}

static void do_batch(void)
{
	op_name = "do_batch";
	void *ptrs[40];
	size_t want = (size_t)test_range(&rng, 0, 40), size = rand_size() % 2048;
	size_t align = test_rand(&rng) % 4 ? 16 : rand_align();
	uint64_t before = heap_hash();
	size_t got = heap_alloc_batch(&h, size, align, ptrs, want);
	if (got > want)
		fail("batch: too many");
	if (got == 0)
		expect_unchanged(before, "empty batch changed the heap");
	for (size_t i = 0; i < got; i++) {
		if ((uintptr_t)ptrs[i] % (align > 16 ? align : 16))
			fail("batch alignment");
		if (heap_usable_size(&h, ptrs[i]) < size)
			fail("batch usable size");
		memset(ptrs[i], 0x5a, size);
	}
	m_allocs += got;
	/* Keep some as live blocks, free the rest as a batch. */
	size_t k = 0;
	for (size_t i = 0; i < got; i++) {
		if (nlive < MAX_LIVE - 8 && test_rand(&rng) % 4 == 0) {
			add(ptrs[i], size, align);
		} else {
			if (i & 1)
				heap_tag_mark_cached(ptrs[i]);
			ptrs[k++] = ptrs[i];
		}
	}
	enum heap_error e = HEAP_OK;
	size_t bi = 99;
	if (heap_free_batch_err(&h, ptrs, k, &e, &bi) != 0)
		fail("batch free refused");
	m_frees += k;
}

/* ---- regions --------------------------------------------------------------- */

static size_t pool_left(void)
{
	return (size_t)(pool + POOL - pool_top);
}

static void do_claim(void)
{
	op_name = "do_claim";
	uint64_t r = test_rand(&rng) % 8;
	size_t gap = r < 3 ? 0 : r < 5 ? (size_t)test_range(&rng, 1, 64) : (size_t)test_range(&rng, 0, 8192);
	size_t len = test_rand(&rng) % 4 == 0 ? (size_t)test_range(&rng, 100, 200)
					       : (size_t)test_range(&rng, 128, 256 << 10);
	if (nregs >= MAX_REGIONS || pool_left() < gap + len + 64)
		return;
	uint8_t *s = pool_top + gap, *e = s + len;
	uint64_t before = heap_hash();
	enum heap_error err = heap_claim(&h, s, e);
	if (len < 128) {
		if (err != HEAP_ERR_BAD_REGION)
			fail("tiny region accepted");
		expect_unchanged(before, "refused claim changed the heap");
		return;
	}
	uintptr_t rs = ((uintptr_t)s + 15) & ~(uintptr_t)15;
	uintptr_t sent = (((uintptr_t)e - 16) & ~(uintptr_t)15) + 8;
	if (sent < rs + REGION_HDR + MIN_BLOCK) {
		if (err != HEAP_ERR_BAD_REGION)
			fail("region too small for a block accepted");
		expect_unchanged(before, "refused claim changed the heap");
		return;
	}
	if (err != HEAP_OK) {
		fprintf(stderr, "claim [%p, %p) len %zu: %s\n", (void *)s, (void *)e, len,
			heap_error_name(err));
		fail("claim refused");
	}
	regs[nregs].start = s;
	regs[nregs].end = e;
	nregs++;
	pool_top = e;
	check_all();
}

static void do_overlap_claim(void)
{
	op_name = "do_overlap_claim";
	if (!nregs)
		return;
	struct region_m *rm = &regs[test_range(&rng, 0, nregs - 1)];
	size_t len = (size_t)(rm->end - rm->start);
	uint8_t *s = rm->start + test_range(&rng, 0, len - 1) - test_range(&rng, 0, 4096);
	uint8_t *e = s + test_range(&rng, 128, 8192);
	/* The bytes below the region's 16-aligned start are not the heap's. */
	if (e <= (uint8_t *)(((uintptr_t)rm->start + 15) & ~(uintptr_t)15))
		return;
	uint64_t before = heap_hash();
	if (heap_claim(&h, s, e) != HEAP_ERR_BAD_REGION)
		fail("overlapping claim accepted");
	expect_unchanged(before, "refused claim changed the heap");
}

static void do_extend(void)
{
	op_name = "do_extend";
	if (!nregs)
		return;
	struct region_m *cur = &regs[nregs - 1];
	size_t add_ = test_rand(&rng) % 3 == 0 ? (size_t)test_range(&rng, 0, 48)
					       : (size_t)test_range(&rng, 0, 64 << 10);
	if (cur->end != pool_top || pool_left() < add_)
		return;
	uint64_t before = heap_hash();
	if (test_rand(&rng) % 8 == 0 && cur->end - cur->start > 8) {
		if (heap_extend(&h, cur->end - 1) != HEAP_ERR_BAD_REGION)
			fail("extend downwards accepted");
		expect_unchanged(before, "refused extend changed the heap");
	}
	if (heap_extend(&h, cur->end + add_) != HEAP_OK)
		fail("extend refused");
	cur->end += add_;
	pool_top = cur->end;
}

static void do_truncate(void)
{
	op_name = "do_truncate";
	if (!nregs)
		return;
	struct region_m *cur = &regs[nregs - 1];
	size_t len = (size_t)(cur->end - cur->start);
	uint64_t r = test_rand(&rng) % 4;
	/* To its start, below it (clamped), or anywhere in it. */
	uint8_t *want = r == 0 ? cur->start
		      : r == 1 ? cur->start - test_range(&rng, 0, 4096)
			       : cur->start + test_range(&rng, 0, len);
	/* The highest end of a live block in the current region. */
	uintptr_t top = 0;
	for (size_t i = 0; i < nlive; i++)
		if (live[i].p >= cur->start && live[i].p < cur->end) {
			uintptr_t e = (uintptr_t)live[i].p - W + heap_block_size(live[i].p) + BLOCK_OVERHEAD;
			if (e > top)
				top = e;
		}
	uint8_t *end = heap_truncate(&h, want);
	if (!end || end > cur->end)
		fail("truncate: end out of the region");
	if (want < cur->end && end < want)
		fail("truncate below new_end");
	uintptr_t first = (((uintptr_t)cur->start + 15) & ~(uintptr_t)15) + REGION_HDR;
	uintptr_t floor = top > first ? top : first;
	uintptr_t lim = (uintptr_t)want > floor ? (uintptr_t)want : floor + MIN_BLOCK + 2 * W;
	if (want < cur->end && (uintptr_t)end > lim + MIN_BLOCK + 2 * W &&
	    (uintptr_t)end > (uintptr_t)want + 0) {
		fprintf(stderr, "truncate to %p: end %p, top live %#lx\n", (void *)want,
			(void *)end, (unsigned long)top);
		fail("truncate kept more than it had to");
	}
	if (end < cur->end) {
		cur->end = end;
		pool_top = end;
	}
}

static size_t span_count;

static void scribble(void *ctx, void *start, size_t len)
{
	(void)ctx;
	span_count++;
	/* The heap never reads these bytes: they may read as anything. */
	memset(start, (int)(test_rand(&rng) & 0xff), len < 8192 ? len : 8192);
	if (len > 8192)
		memset((uint8_t *)start + len - 64, 0xa5, 64);
}

static void do_spans(void)
{
	op_name = "do_spans";
	struct heap_stats st;
	heap_get_stats(&h, &st);
	span_count = 0;
	size_t n = heap_free_spans(&h, scribble, NULL);
	if (n != span_count || n > st.free_blocks)
		fail("free spans count");
}

/* The largest free block holds an allocation of its whole usable size. */
static void do_largest(void)
{
	op_name = "do_largest";
	struct heap_stats st, st2;
	heap_get_stats(&h, &st);
	if (st.largest_free < MIN_BLOCK)
		return;
	enum heap_error e = HEAP_OK;
	size_t size = st.largest_free - BLOCK_OVERHEAD;
	uint64_t before = heap_hash();
	void *big = heap_alloc(&h, size + 1, 0, &e);
	if (big || e != HEAP_ERR_OOM)
		fail("alloc larger than the largest free block");
	expect_unchanged(before, "failed alloc changed the heap");
	uint64_t r = test_rand(&rng) % 3;
	size_t align = 0;
	if (r == 1) {
		align = (size_t)1 << test_range(&rng, 5, 12);
		if (st.largest_free < align + 16 + MIN_BLOCK + BLOCK_OVERHEAD)
			return;
		size = (st.largest_free - align - 16 - BLOCK_OVERHEAD) & ~(size_t)15;
	} else if (r == 2) {
		big = heap_calloc(&h, 1, size, &e);
		if (!big)
			fail("calloc of the largest free block failed");
		m_allocs++;
		add(big, size, 0);
		return;
	}
	big = heap_alloc(&h, size, align, &e);
	if (!big) {
		fprintf(stderr, "largest %zu size %zu align %zu: %s\n", st.largest_free, size, align,
			heap_error_name(e));
		fail("alloc of the largest free block failed");
	}
	m_allocs++;
	add(big, size, align);
	check_all();
	/* Give it straight back: the heap's shape is what it was. */
	if (test_rand(&rng) % 2) {
		drop(nlive - 1);
		heap_get_stats(&h, &st2);
		if (st2.largest_free != st.largest_free || st2.free_blocks != st.free_blocks)
			fail("alloc+free of the largest block changed the free blocks");
	}
}

int main(int argc, char **argv)
{
	unsigned long long seed0 = test_param(argc, argv, 1, "HEAP_DIFF_SEED", 1);
	unsigned long long ops = test_param(argc, argv, 2, "HEAP_DIFF_OPS", 4000);
	unsigned long long nseeds = test_param(argc, argv, 3, "HEAP_DIFF_SEEDS", 6);

	printf("diff_test: level %d, seeds %llu.., %llu ops each\n", HEAP_HARDENING, seed0, ops);
	/* Aligned, so that aligned requests (and so the run) do not depend on ASLR. */
	uint8_t *map = test_map(POOL + (1u << 20));
	pool = (uint8_t *)(((uintptr_t)map + (1u << 20) - 1) & ~(uintptr_t)((1u << 20) - 1));
	for (unsigned long long seed = seed0; seed < seed0 + nseeds; seed++) {
		rng = seed;
		nlive = 0;
		nregs = 0;
		m_allocs = m_frees = m_high = 0;
		op_no = 0;
		pool_top = pool + test_range(&rng, 0, 31);
		/* Half the runs start with an empty heap to claim into. */
		if (seed & 1) {
			CHECK_EQ(heap_init(&h, NULL, NULL), HEAP_OK);
			do_claim();
			if (!nregs)
				continue;
		} else {
			size_t len = (size_t)test_range(&rng, 128, 64 << 10);
			CHECK_EQ(heap_init(&h, pool_top, pool_top + len), HEAP_OK);
			regs[0].start = pool_top;
			regs[0].end = pool_top + len;
			nregs = 1;
			pool_top += len;
		}
		check_all();
		for (op_no = 1; op_no <= ops; op_no++) {
			uint64_t r = test_rand(&rng) % 1000;
			if (nlive >= MAX_LIVE - 48)
				drop((size_t)test_range(&rng, 0, nlive - 1));
			else if (nlive == 0 || r < 300)
				do_alloc();
			else if (r < 330)
				do_calloc();
			else if (r < 560)
				drop((size_t)test_range(&rng, 0, nlive - 1));
			else if (r < 680)
				do_realloc((size_t)test_range(&rng, 0, nlive - 1), 0);
			else if (r < 740)
				do_realloc((size_t)test_range(&rng, 0, nlive - 1), 1);
			else if (r < 800)
				do_resize((size_t)test_range(&rng, 0, nlive - 1));
			else if (r < 840)
				do_batch();
			else if (r < 860)
				do_bad_alloc();
			else if (r < 875)
				do_bad_free();
			else if (r < 895)
				do_claim();
			else if (r < 905)
				do_overlap_claim();
			else if (r < 945)
				do_extend();
			else if (r < 975)
				do_truncate();
			else if (r < 990)
				do_largest();
			else
				do_spans();
			check_all();
		}
		while (nlive)
			drop(nlive - 1);
		check_all();
		printf("seed %llu: PASS, %d regions, %zu allocs\n", seed, nregs, m_allocs);
	}
	test_unmap(map, POOL + (1u << 20));
	return 0;
}
