// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests of every core API function and every misuse case it reports. */
#include "test_util.h"

#include <heap/heap_core.h>
#include <string.h>

#include "../heap_internal.h"

#define ARENA (1u << 20)

static void no_errors(struct heap *h)
{
	CHECK_EQ(heap_validate(h, NULL, NULL), 0);
}

/* Everything freed: no errors, nothing live, one coalesced free block. */
static void expect_empty(struct heap *h)
{
	no_errors(h);
	struct heap_stats st;
	heap_get_stats(h, &st);
	CHECK_EQ(st.live_allocs, 0);
	CHECK_EQ(st.free_blocks, 1);
}

static void test_uninit(void)
{
	static struct heap h; /* zeroed, never initialised */
	enum heap_error e = HEAP_OK;
	int x;
	CHECK(heap_alloc(&h, 16, 0, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_UNINIT);
	CHECK_EQ(heap_free(&h, &x), HEAP_ERR_UNINIT);
	CHECK_EQ(heap_claim(&h, &x, &x + 1), HEAP_ERR_UNINIT);
	CHECK(heap_realloc(&h, &x, 8, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_UNINIT);
	CHECK_EQ(heap_alloc_batch(&h, 16, 0, (void **)&x, 0), 0);
	CHECK(heap_validate(&h, NULL, NULL) == 1);
}

static void test_names(void)
{
	CHECK(strcmp(heap_error_name(HEAP_ERR_DOUBLE_FREE), "double free") == 0);
	CHECK(strcmp(heap_error_name(HEAP_ERR_UNINIT), "use before init") == 0);
	CHECK(strcmp(heap_error_name(HEAP_ERR_FOREIGN_PTR), "free of foreign pointer") == 0);
	CHECK(strcmp(heap_error_name(HEAP_ERR_INTERIOR_PTR), "free of interior pointer") == 0);
	CHECK(strcmp(heap_error_name(HEAP_ERR_CORRUPT_TAG), "corrupted tag") == 0);
	CHECK(strcmp(heap_error_name(HEAP_ERR_SIZE_OVERFLOW), "size overflow") == 0);
	CHECK(strcmp(heap_error_name(HEAP_ERR_BAD_ALIGN), "bad alignment") == 0);
	CHECK(strcmp(heap_error_name((enum heap_error)999), "unknown heap error") == 0);
	for (int i = 0; i < HEAP_ERR_COUNT; i++)
		CHECK(heap_error_name((enum heap_error)i)[0] != 'u' || i == HEAP_ERR_UNINIT);
}

static void test_alloc_align_sizes(void)
{
	struct heap h;
	char *m = test_map(8 * ARENA);
	enum heap_error e = HEAP_OK;
	CHECK_EQ(heap_init(&h, m, m + 8 * ARENA), HEAP_OK);

	/* Zero size: unique minimal blocks. */
	void *z1 = heap_alloc(&h, 0, 0, &e), *z2 = heap_alloc(&h, 0, 0, &e);
	CHECK(z1 && z2 && z1 != z2);
	CHECK_EQ(heap_usable_size(&h, z1), 24 - HEAP_CANARY_BYTES);

	for (size_t al = 1; al <= (1u << 20); al <<= 1) {
		for (size_t sz = 1; sz < 5000; sz = sz * 3 + 1) {
			char *p = heap_alloc(&h, sz, al, &e);
			CHECK(p);
			CHECK((uintptr_t)p % (al < 16 ? 16 : al) == 0);
			CHECK(heap_usable_size(&h, p) >= sz);
			CHECK(heap_block_size(p) >= sz);
			memset(p, 0xab, sz);
			CHECK_EQ(heap_free(&h, p), HEAP_OK);
		}
		no_errors(&h);
	}
	/* Bad alignments. */
	size_t bad[] = { 3, 24, 48, 100, 4097, (size_t)-1 };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = HEAP_OK;
		CHECK(heap_alloc(&h, 16, bad[i], &e) == NULL);
		CHECK_EQ(e, HEAP_ERR_BAD_ALIGN);
	}
	/* Overflow, never a small wrapped block. */
	size_t huge[] = { SIZE_MAX, SIZE_MAX - 7, SIZE_MAX - 16, SIZE_MAX / 2 };
	for (unsigned i = 0; i < 4; i++) {
		CHECK(heap_alloc(&h, huge[i], 0, &e) == NULL);
		CHECK_EQ(e, HEAP_ERR_SIZE_OVERFLOW);
	}
	CHECK(heap_alloc(&h, 64, (size_t)1 << 62, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_SIZE_OVERFLOW);
	CHECK(heap_alloc(&h, ((size_t)1 << 48) - 64, 4096, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_SIZE_OVERFLOW);
	/* Past the tag's 32-bit size lane (blocks up to 64 GiB - 16): overflow. */
	CHECK(heap_alloc(&h, (size_t)1 << 40, 0, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_SIZE_OVERFLOW);
	CHECK(heap_alloc(&h, ((size_t)1 << 36) - 8, 0, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_SIZE_OVERFLOW);
	/* Representable but bigger than the heap: out of memory. */
	CHECK(heap_alloc(&h, ((size_t)1 << 36) - 32, 0, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_OOM);

	CHECK_EQ(heap_free(&h, z1), HEAP_OK);
	CHECK_EQ(heap_free(&h, z2), HEAP_OK);
	CHECK_EQ(heap_free(&h, NULL), HEAP_OK);
	expect_empty(&h);
	test_unmap(m, 8 * ARENA);
}

/*
 * 1 GiB alignment, placed on purpose rather than wherever mmap puts an
 * arena: an arena across a 1 GiB boundary hands out exactly that address;
 * one that holds no such address reports OOM.
 */
static void test_gib_alignment(void)
{
	const size_t gib = (size_t)1 << 30;
	/* Reserve 2 GiB (no access): it holds a 1 GiB boundary with room around it. */
	char *r = mmap(NULL, 2 * gib, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(r != MAP_FAILED);
	/*
	 * The first boundary with 4 arenas of the reservation below it (one
	 * closer to r than that made m fall outside it: mprotect failed with
	 * ENOMEM in CI, 1 run in some hundreds); it has 4 above it too.
	 */
	char *boundary = (char *)(((uintptr_t)r + 4 * ARENA + gib - 1) & ~(uintptr_t)(gib - 1));
	char *m = boundary - 4 * ARENA;
	CHECK(mprotect(m, 8 * ARENA, PROT_READ | PROT_WRITE) == 0);
	struct heap h;
	enum heap_error e = HEAP_OK;

	CHECK_EQ(heap_init(&h, m, m + 8 * ARENA), HEAP_OK);
	char *g = heap_alloc(&h, 1, gib, &e);
	CHECK(g == boundary);
	CHECK_EQ(heap_free(&h, g), HEAP_OK);
	no_errors(&h);

	/* The upper half alone starts at the boundary's header room: no such address. */
	CHECK_EQ(heap_init(&h, boundary + 64, boundary + 4 * ARENA), HEAP_OK);
	e = HEAP_OK;
	CHECK(heap_alloc(&h, 1, gib, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_OOM);
	no_errors(&h);
	munmap(r, 2 * gib);
}

static void test_misuse(void)
{
	struct heap h;
	char *m = test_map(ARENA);
	static char other[4096] __attribute__((aligned(16)));
	CHECK_EQ(heap_init(&h, m, m + ARENA), HEAP_OK);

	char *a = heap_alloc(&h, 100, 0, NULL);
	char *b = heap_alloc(&h, 200, 0, NULL);
	char *c = heap_alloc(&h, 5000, 0, NULL);
	char *d = heap_alloc(&h, 100, 0, NULL);
	CHECK(a && b && c && d);

	/* Foreign: outside every region, including just past the end. */
	CHECK_EQ(heap_free(&h, other + 16), HEAP_ERR_FOREIGN_PTR);
	CHECK_EQ(heap_free(&h, m + ARENA), HEAP_ERR_FOREIGN_PTR);
	CHECK_EQ(heap_free(&h, m - 4096), HEAP_ERR_FOREIGN_PTR);
	/* Interior: inside a live block, aligned or not, and region metadata. */
	CHECK_EQ(heap_free(&h, c + 16), HEAP_ERR_INTERIOR_PTR);
	CHECK_EQ(heap_free(&h, c + 2048), HEAP_ERR_INTERIOR_PTR);
	CHECK_EQ(heap_free(&h, c + 8), HEAP_ERR_INTERIOR_PTR);
	CHECK_EQ(heap_free(&h, a + 1), HEAP_ERR_INTERIOR_PTR);
	CHECK_EQ(heap_free(&h, m), HEAP_ERR_INTERIOR_PTR);
	/* Into free memory (the tail): a stale pointer, reported as double free. */
	CHECK_EQ(heap_free(&h, m + ARENA - 16), HEAP_ERR_DOUBLE_FREE);
	/* Interior pointer whose word below copies a valid-looking size. */
	((uintptr_t *)c)[7] = 64 | HEAP_TAG_ALLOC;
	CHECK_EQ(heap_free(&h, c + 64), HEAP_ERR_INTERIOR_PTR);
	/* The heap is untouched by all of that. */
	no_errors(&h);

	/* Double free: right away, and after the block merged with its neighbour. */
	CHECK_EQ(heap_free(&h, b), HEAP_OK);
	CHECK_EQ(heap_free(&h, b), HEAP_ERR_DOUBLE_FREE);
	CHECK_EQ(heap_free(&h, c), HEAP_OK); /* merges into b's free block */
	CHECK_EQ(heap_free(&h, c), HEAP_ERR_DOUBLE_FREE);
	CHECK_EQ(heap_free(&h, c + 32), HEAP_ERR_DOUBLE_FREE); /* inside free memory */
	CHECK_EQ(heap_realloc(&h, b, 10, NULL) == NULL, 1);
	enum heap_error e = HEAP_OK;
	CHECK(heap_realloc(&h, b, 10, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_DOUBLE_FREE);
	no_errors(&h);

	/* Cached blocks: heap_free says double free, the batch free accepts. */
	char *x = heap_alloc(&h, 64, 0, NULL), *y = heap_alloc(&h, 64, 0, NULL);
	heap_tag_mark_cached(x);
	CHECK(heap_tag_is_cached(x));
	CHECK_EQ(heap_block_size(x), heap_usable_size(&h, x));
	CHECK_EQ(heap_free(&h, x), HEAP_ERR_DOUBLE_FREE);
	heap_tag_mark_live(x);
	CHECK(!heap_tag_is_cached(x));
	heap_tag_mark_cached(x);
	no_errors(&h);
	void *batch[3] = { x, y, NULL };
	heap_free_batch(&h, batch, 3);
	CHECK_EQ(heap_free(&h, x), HEAP_ERR_DOUBLE_FREE);
	void *bad_batch[3] = { heap_alloc(&h, 8, 0, NULL), other, a + 16 };
	enum heap_error be = HEAP_OK;
	size_t bi = 99;
	CHECK_EQ(heap_free_batch_err(&h, bad_batch, 3, &be, &bi), 2);
	CHECK_EQ(be, HEAP_ERR_FOREIGN_PTR);
	CHECK_EQ(bi, 1);
	no_errors(&h);

	/* Sized free. */
	char *s = heap_alloc(&h, 300, 0, NULL);
	CHECK_EQ(heap_free_sized(&h, s, 1000), HEAP_ERR_SIZE_MISMATCH);
	CHECK_EQ(heap_free_sized(&h, s, 10), HEAP_ERR_SIZE_MISMATCH);
	CHECK_EQ(heap_free_sized(&h, s, 300), HEAP_OK);
	/*
	 * A block one minimal block (32 bytes) above a size's need is not a
	 * block of that size: a remainder that big is always split off.
	 */
	char *s32 = heap_alloc(&h, 132, 0, NULL); /* 32 bytes over 100's need */
	CHECK_EQ(heap_free_sized(&h, s32, 100), HEAP_ERR_SIZE_MISMATCH);
	CHECK_EQ(heap_free_sized(&h, s32, 132), HEAP_OK);

	/* Corrupted tags: the block's own, and the next block's (an overflow). */
	char *p = heap_alloc(&h, 40, 0, NULL), *q = heap_alloc(&h, 40, 0, NULL);
	char *r = heap_alloc(&h, 40, 0, NULL);
	uintptr_t saved = ((uintptr_t *)q)[-1];
	((uintptr_t *)q)[-1] ^= (uintptr_t)1 << 36; /* size lane changed, check now wrong */
	CHECK_EQ(heap_free(&h, q), HEAP_ERR_CORRUPT_TAG);
	CHECK_EQ(heap_free(&h, p), HEAP_ERR_CORRUPT_TAG); /* its neighbour is bad */
	CHECK_EQ(heap_validate(&h, NULL, NULL), 1);
	((uintptr_t *)q)[-1] = saved;
	/* p's canary (HEAP_HARDENING >= 2) is overwritten on the way. */
	uintptr_t *canary = (uintptr_t *)(p + heap_usable_size(&h, p));
	uintptr_t csaved = HEAP_CANARY_BYTES ? *canary : 0;
	memset(p, 'A', heap_usable_size(&h, p) + HEAP_CANARY_BYTES + 4); /* into q's tag */
	CHECK_EQ(heap_free(&h, p), HEAP_ERR_CORRUPT_TAG);
	CHECK_EQ(heap_free(&h, q), HEAP_ERR_CORRUPT_TAG);
	((uintptr_t *)q)[-1] = saved;
	if (HEAP_CANARY_BYTES) {
		CHECK_EQ(heap_free(&h, p), HEAP_ERR_CANARY);
		*canary = csaved;
	}
	CHECK_EQ(heap_free(&h, p), HEAP_OK);
	CHECK_EQ(heap_free(&h, q), HEAP_OK);
	/* A free block's footer, seen when the block above is freed. */
	uintptr_t *footer = (uintptr_t *)r - 2;
	uintptr_t fsaved = *footer;
	*footer = 48;
	CHECK_EQ(heap_free(&h, r), HEAP_ERR_CORRUPT_TAG);
	*footer = fsaved;
	CHECK_EQ(heap_free(&h, r), HEAP_OK);

	CHECK_EQ(heap_free(&h, a), HEAP_OK);
	CHECK_EQ(heap_free(&h, d), HEAP_OK);
	expect_empty(&h);
	test_unmap(m, ARENA);
}

/* p holds bytes i + seed at i, for n bytes. */
static void fill(char *p, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(i + (size_t)seed);
}

static bool filled(const char *p, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (char)(i + (size_t)seed))
			return false;
	return true;
}

/* The payload of the block right above x's. */
static char *next_payload(struct heap *h, char *x)
{
	return x + heap_usable_size(h, x) + HEAP_CANARY_BYTES + 8;
}

/*
 * heap_resize: in place with nothing to copy; down into the free block below
 * (and the one above) with the payload untouched until the caller moves it;
 * no room with p untouched and its size to copy; misuse named.
 */
static void test_resize(void)
{
	struct heap h;
	char *m = test_map(ARENA);
	enum heap_error e = HEAP_OK;
	size_t move = 99;
	CHECK_EQ(heap_init(&h, m, m + ARENA), HEAP_OK);

	char *below = heap_alloc(&h, 3000, 0, NULL);
	char *p = heap_alloc(&h, 1000, 0, NULL);
	char *above = heap_alloc(&h, 500, 0, NULL);
	char *top = heap_alloc(&h, 16, 0, NULL);
	fill(p, 1000, 1);
	/* Shrink and grow back in place: nothing to copy. */
	CHECK(heap_resize(&h, p, 200, 0, &move, &e) == p);
	CHECK_EQ(move, 0);
	CHECK(heap_resize(&h, p, 1000, 0, &move, &e) == p);
	CHECK_EQ(move, 0);
	CHECK(filled(p, 200, 1));
	fill(p, 1000, 1);
	/* Allocated on both sides: no room, p as it was, its size to copy. */
	CHECK(heap_resize(&h, p, 1100, 0, &move, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_OOM);
	CHECK_EQ(move, heap_usable_size(&h, p));
	CHECK(filled(p, 1000, 1));
	no_errors(&h);

	/* Down: the new block ends where p's did; what is left below stays free. */
	CHECK_EQ(heap_free(&h, below), HEAP_OK);
	size_t had = heap_usable_size(&h, p);
	char *q = heap_resize(&h, p, 2000, 0, &move, &e);
	CHECK(q && q < p && q >= below);
	CHECK_EQ(move, had);
	CHECK(filled(p, 1000, 1)); /* not copied yet */
	no_errors(&h);             /* and the heap is whole meanwhile */
	/* p's tag went with its block: a stale free of p is named, not taken. */
	CHECK_EQ(heap_free(&h, p), HEAP_ERR_INTERIOR_PTR);
	CHECK(!heap_tag_plausible_live(p));
	memmove(q, p, move);
	CHECK(filled(q, 1000, 1));
	CHECK(heap_usable_size(&h, q) >= 2000);
	CHECK(next_payload(&h, q) == above);
	/* The rest of the block below is still a block of its own. */
	char *rest = heap_alloc(&h, 500, 0, NULL);
	CHECK(rest == below);

	/* Down, with the free block above too: no room below alone. */
	CHECK_EQ(heap_free(&h, rest), HEAP_OK);
	CHECK_EQ(heap_free(&h, above), HEAP_OK);
	fill(q, 2000, 2);
	q = heap_resize(&h, p = q, 4200, 0, &move, &e);
	CHECK(q && q < p && q >= below);
	no_errors(&h);
	memmove(q, p, move);
	CHECK(filled(q, 2000, 2));
	CHECK(heap_usable_size(&h, q) >= 4200);
	CHECK(next_payload(&h, q) == top);

	/* Misuse: named, nothing to copy. */
	CHECK(heap_resize(&h, q + 16, 10, 0, &move, &e) == NULL);
	CHECK(e != HEAP_OK && e != HEAP_ERR_OOM);
	CHECK(heap_resize(&h, q, SIZE_MAX, 0, &move, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_SIZE_OVERFLOW);
	CHECK_EQ(heap_free(&h, q), HEAP_OK);
	CHECK_EQ(heap_free(&h, top), HEAP_OK);
	expect_empty(&h);
	test_unmap(m, ARENA);
}

/*
 * A block of size bytes right above x's: blocks that land in the gap an
 * aligned allocation left below x go to gap[] (*ngap of them; the gap is
 * less than 4096 bytes, and size at least 200).
 */
#define GAP_BLOCKS 32
static char *alloc_above(struct heap *h, char *x, size_t size, char **gap, int *ngap)
{
	char *y;
	while ((y = heap_alloc(h, size, 0, NULL)) != next_payload(h, x)) {
		CHECK(y && y < x && *ngap < GAP_BLOCKS);
		gap[(*ngap)++] = y;
	}
	return y;
}

/*
 * heap_realloc_aligned: an aligned block shrinks and grows in place; with
 * its neighbour above allocated it moves to a new aligned block, never down
 * into the free block below (which heap_realloc takes); a p that is not
 * aligned moves; a bad alignment is named with p untouched.
 */
static void test_realloc_aligned(void)
{
	struct heap h;
	char *m = test_map(ARENA);
	enum heap_error e = HEAP_OK;
	size_t move = 0;
	CHECK_EQ(heap_init(&h, m, m + ARENA), HEAP_OK);

	for (size_t align = 32; align <= 4096; align *= 2) {
		char *gap[GAP_BLOCKS];
		int ngap = 0;
		char *below = heap_alloc(&h, 3000, 0, NULL);
		char *p = heap_alloc(&h, 300, align, NULL);
		char *above = alloc_above(&h, p, 600, gap, &ngap);
		char *top = alloc_above(&h, above, 200, gap, &ngap);
		CHECK(p && ((uintptr_t)p & (align - 1)) == 0);
		fill(p, 300, (int)align);
		/* Shrink, then grow back into the tail and the freed block above. */
		CHECK(heap_realloc_aligned(&h, p, 100, align, &e) == p);
		CHECK(heap_realloc_aligned(&h, p, 300, align, &e) == p);
		CHECK(filled(p, 100, (int)align));
		fill(p, 300, (int)align);
		CHECK_EQ(heap_free(&h, above), HEAP_OK);
		CHECK(heap_realloc_aligned(&h, p, 800, align, &e) == p);
		CHECK(filled(p, 300, (int)align));
		no_errors(&h);
		/* Blocked above, free below: heap_resize would go down. */
		CHECK_EQ(heap_free(&h, below), HEAP_OK);
		while (ngap)
			CHECK_EQ(heap_free(&h, gap[--ngap]), HEAP_OK);
		CHECK(heap_resize(&h, p, 3500, align, &move, &e) == NULL);
		CHECK_EQ(e, HEAP_ERR_OOM);
		CHECK_EQ(move, heap_usable_size(&h, p));
		char *q = heap_realloc_aligned(&h, p, 3500, align, &e);
		CHECK(q && q != p && ((uintptr_t)q & (align - 1)) == 0);
		CHECK(filled(q, 300, (int)align));
		no_errors(&h);
		/* A p that is not aligned to what is asked moves, keeps its bytes. */
		char *r = heap_realloc_aligned(&h, q, 200, align * 2, &e);
		if (((uintptr_t)q & (align * 2 - 1)) == 0) {
			CHECK(r == q);
		} else {
			CHECK(r && r != q);
		}
		CHECK(r && ((uintptr_t)r & (align * 2 - 1)) == 0 && filled(r, 200, (int)align));
		/* Misuse: named, r untouched. */
		CHECK(heap_realloc_aligned(&h, r, 100, 48, &e) == NULL);
		CHECK_EQ(e, HEAP_ERR_BAD_ALIGN);
		CHECK(filled(r, 200, (int)align));
		CHECK(heap_realloc_aligned(&h, r + 16, 100, align, &e) == NULL);
		CHECK(e != HEAP_OK && e != HEAP_ERR_OOM);
		no_errors(&h);
		CHECK_EQ(heap_free(&h, r), HEAP_OK);
		CHECK_EQ(heap_free(&h, top), HEAP_OK);
		expect_empty(&h);
	}
	/* NULL allocates aligned; up to 16 is heap_realloc. */
	char *n = heap_realloc_aligned(&h, NULL, 40, 256, &e);
	CHECK(n && ((uintptr_t)n & 255) == 0);
	CHECK(heap_realloc_aligned(&h, n, 20, 16, &e) == n);
	CHECK_EQ(heap_free(&h, n), HEAP_OK);
	expect_empty(&h);
	test_unmap(m, ARENA);
}

static void test_realloc_calloc(void)
{
	struct heap h;
	char *m = test_map(ARENA);
	enum heap_error e = HEAP_OK;
	CHECK_EQ(heap_init(&h, m, m + ARENA), HEAP_OK);

	char *p = heap_realloc(&h, NULL, 100, &e); /* NULL allocates */
	CHECK(p);
	for (int i = 0; i < 100; i++)
		p[i] = (char)i;
	char *blocker = heap_alloc(&h, 16, 0, NULL);
	/* Shrink in place. */
	CHECK(heap_realloc(&h, p, 40, &e) == p);
	CHECK(heap_usable_size(&h, p) < 100);
	/* Grow in place into the tail just given back. */
	CHECK(heap_realloc(&h, p, 90, &e) == p);
	for (int i = 0; i < 40; i++)
		CHECK(p[i] == (char)i);
	/* Grow past the blocker: moves, keeps contents. */
	char *q = heap_realloc(&h, p, 1000, &e);
	CHECK(q && q != p);
	for (int i = 0; i < 40; i++)
		CHECK(q[i] == (char)i);
	/* Grow in place into a freed neighbour. */
	char *n = heap_alloc(&h, 2000, 0, NULL);
	char *after = heap_alloc(&h, 16, 0, NULL);
	CHECK(n == next_payload(&h, q));
	CHECK_EQ(heap_free(&h, n), HEAP_OK);
	CHECK(heap_realloc(&h, q, 2500, &e) == q);
	/* Size 0 shrinks to the minimal block. */
	CHECK(heap_realloc(&h, q, 0, &e) == q);
	CHECK_EQ(heap_usable_size(&h, q), 24 - HEAP_CANARY_BYTES);
	/* OOM leaves the block alone. */
	CHECK(heap_realloc(&h, q, 2 * ARENA, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_OOM);
	CHECK(q[0] == 0 && q[5] == 5);
	CHECK(heap_realloc(&h, q, SIZE_MAX, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_SIZE_OVERFLOW);
	no_errors(&h);

	/* calloc: overflow check, zeroed memory even when reused dirty. */
	CHECK(heap_calloc(&h, SIZE_MAX / 2, 3, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_SIZE_OVERFLOW);
	char *dirty = heap_alloc(&h, 512, 0, NULL);
	memset(dirty, 0xff, 512);
	CHECK_EQ(heap_free(&h, dirty), HEAP_OK);
	char *cz = heap_calloc(&h, 16, 32, &e);
	CHECK(cz == dirty);
	for (int i = 0; i < 512; i++)
		CHECK(cz[i] == 0);
	CHECK(heap_calloc(&h, 0, 5, &e) != NULL);

	/* usable_size of a bad pointer is 0 with the error. */
	CHECK_EQ(heap_usable_size_err(&h, cz + 16, &e), 0);
	CHECK_EQ(e, HEAP_ERR_INTERIOR_PTR);
	(void)blocker;
	(void)after;
	no_errors(&h);
	test_unmap(m, ARENA);
}

/*
 * A block's tag swallowed by a merge is zeroed, so a stale pointer to it
 * never looks like a block: not live (percpu's kfree and ksize read the
 * tag to decide where a pointer goes), not a free block either. The
 * block freed into the free block below, and the free block above
 * swallowed by a free.
 */
static void test_swallowed_tags(void)
{
	struct heap h;
	char *m = test_map(ARENA);
	CHECK_EQ(heap_init(&h, m, m + ARENA), HEAP_OK);

	char *a = heap_alloc(&h, 100, 0, NULL), *b = heap_alloc(&h, 100, 0, NULL);
	char *c = heap_alloc(&h, 100, 0, NULL);
	CHECK(a && b && c && next_payload(&h, a) == b && next_payload(&h, b) == c);
	char *rest = next_payload(&h, c); /* the region's free rest */
	CHECK(heap_tag_plausible_dead(rest));

	CHECK_EQ(heap_free(&h, a), HEAP_OK);
	CHECK_EQ(heap_free(&h, b), HEAP_OK); /* merges down into a's block */
	CHECK_EQ(tag_load((uintptr_t)b - W), 0);
	CHECK(!heap_tag_plausible_live(b) && !heap_tag_plausible_dead(b));

	CHECK_EQ(heap_free(&h, c), HEAP_OK); /* swallows the free rest above */
	CHECK_EQ(tag_load((uintptr_t)rest - W), 0);
	CHECK(!heap_tag_plausible_dead(rest) && !heap_tag_plausible_live(rest));
	expect_empty(&h);
	test_unmap(m, ARENA);
}

/*
 * An aligned request fits a free block that holds it exactly (no gap, no
 * byte over): with the rest of the heap full, the hole an aligned block
 * left is the only place for the same request, and it is taken.
 */
static void test_aligned_exact_fit(void)
{
	enum { SMALL = 64 << 10 };
	static void *held[SMALL / 32];
	struct heap h;
	char *m = test_map(SMALL);
	char *gap[GAP_BLOCKS];
	int ngap = 0;
	size_t nheld = 0;
	CHECK_EQ(heap_init(&h, m, m + SMALL), HEAP_OK);

	char *p = heap_alloc(&h, 200, 256, NULL);
	CHECK(p && ((uintptr_t)p & 255) == 0);
	char *above = alloc_above(&h, p, 200, gap, &ngap);
	for (size_t sz = 4096; sz >= 16; sz /= 2)
		while ((held[nheld] = heap_alloc(&h, sz, 0, NULL)) != NULL)
			nheld++;
	CHECK_EQ(heap_free(&h, p), HEAP_OK); /* the only free block */
	struct heap_stats st;
	heap_get_stats(&h, &st);
	CHECK_EQ(st.free_blocks, 1);
	CHECK(heap_alloc(&h, 200, 256, NULL) == p);
	CHECK_EQ(heap_free(&h, p), HEAP_OK);
	CHECK_EQ(heap_free(&h, above), HEAP_OK);
	while (ngap)
		CHECK_EQ(heap_free(&h, gap[--ngap]), HEAP_OK);
	while (nheld)
		CHECK_EQ(heap_free(&h, held[--nheld]), HEAP_OK);
	expect_empty(&h);
	test_unmap(m, SMALL);
}

/*
 * The gap below an aligned block is the smallest that can stand as a free
 * block: 0, or at least MIN_BLOCK (32) bytes; one of exactly 32 is kept,
 * not grown by another alignment. A fresh region at each offset mod 64, so
 * every gap 0, 16, 32 and 48 comes up.
 */
static void test_aligned_gap_smallest(void)
{
	char *m = test_map(ARENA);
	for (uintptr_t off = 0; off < 64; off += 16) {
		struct heap h;
		CHECK_EQ(heap_init(&h, m + off, m + ARENA), HEAP_OK);
		char *z = heap_alloc(&h, 0, 0, NULL); /* the first block's payload */
		CHECK_EQ(heap_free(&h, z), HEAP_OK);
		uintptr_t gap = (0 - (uintptr_t)z) & 63;
		if (gap && gap < 32)
			gap += 64;
		char *p = heap_alloc(&h, 100, 64, NULL);
		CHECK(p == z + gap);
		CHECK_EQ(heap_free(&h, p), HEAP_OK);
		expect_empty(&h);
	}
	test_unmap(m, ARENA);
}

/*
 * A run cut from a free block that leaves exactly MIN_BLOCK (32) bytes:
 * the 32 bytes stay a free block below the run, and every block of the
 * run is the size asked for (the last one does not take the 32 bytes).
 */
static void test_batch_leaves_min_block(void)
{
	struct heap h;
	char *m = test_map(ARENA);
	CHECK_EQ(heap_init(&h, m, m + ARENA), HEAP_OK);

	const size_t size = 100, need = (size + 8 + HEAP_CANARY_BYTES + 15) & ~(size_t)15;
	char *hole = heap_alloc(&h, 3 * need + 32 - 8 - HEAP_CANARY_BYTES, 0, NULL);
	char *blocker = heap_alloc(&h, 16, 0, NULL);
	CHECK(hole && blocker == next_payload(&h, hole));
	CHECK_EQ(heap_usable_size(&h, hole) + 8 + HEAP_CANARY_BYTES, 3 * need + 32);
	CHECK_EQ(heap_free(&h, hole), HEAP_OK);

	void *out[3];
	CHECK_EQ(heap_alloc_batch(&h, size, 0, out, 3), 3);
	for (int i = 0; i < 3; i++) {
		CHECK((char *)out[i] == hole + 32 + (size_t)i * need);
		CHECK_EQ(heap_usable_size(&h, out[i]), need - 8 - HEAP_CANARY_BYTES);
	}
	CHECK(heap_alloc(&h, 0, 0, NULL) == hole); /* the 32 bytes, free */
	no_errors(&h);
	test_unmap(m, ARENA);
}

/*
 * A batch takes a hole that holds its block exactly (the exact bin of
 * the size) before the region's rest, as heap_alloc would.
 */
static void test_batch_exact_hole(void)
{
	struct heap h;
	char *m = test_map(ARENA);
	CHECK_EQ(heap_init(&h, m, m + ARENA), HEAP_OK);

	char *hole = heap_alloc(&h, 100, 0, NULL), *blocker = heap_alloc(&h, 16, 0, NULL);
	CHECK(hole && blocker == next_payload(&h, hole));
	CHECK_EQ(heap_free(&h, hole), HEAP_OK);
	void *out[1];
	CHECK_EQ(heap_alloc_batch(&h, 100, 0, out, 1), 1);
	CHECK(out[0] == hole);
	CHECK_EQ(heap_free(&h, out[0]), HEAP_OK);
	CHECK_EQ(heap_free(&h, blocker), HEAP_OK);
	expect_empty(&h);
	test_unmap(m, ARENA);
}

static void test_batch_and_stats(void)
{
	struct heap h;
	char *m = test_map(64 << 10);
	struct heap_stats st;
	CHECK_EQ(heap_init(&h, m, m + (64 << 10)), HEAP_OK);
	heap_get_stats(&h, &st);
	CHECK_EQ(st.heap_bytes, 64 << 10);
	CHECK_EQ(st.bytes_in_use, 0);
	CHECK_EQ(st.free_blocks, 1);
	CHECK_EQ(st.largest_free, st.bytes_free);
	CHECK_EQ(st.regions, 1);
	CHECK(st.overhead_bytes <= 48);

	void *ptrs[4096];
	size_t got = heap_alloc_batch(&h, 100, 0, ptrs, 4096);
	CHECK(got > 500 && got < 4096); /* ran out: fewer than asked */
	heap_get_stats(&h, &st);
	CHECK_EQ(st.live_allocs, got);
	CHECK_EQ(st.total_allocs, got);
	CHECK_EQ(st.bytes_in_use, st.high_water);
	CHECK(st.bytes_free < 112 + 48);
	for (size_t i = 1; i < got; i++)
		CHECK(ptrs[i] != ptrs[i - 1]);
	no_errors(&h);
	heap_free_batch(&h, ptrs, got);
	heap_get_stats(&h, &st);
	CHECK_EQ(st.live_allocs, 0);
	CHECK_EQ(st.total_frees, got);
	CHECK_EQ(st.free_blocks, 1);
	CHECK(st.high_water > st.bytes_in_use);
	no_errors(&h);
	test_unmap(m, 64 << 10);
}

/* Each of got blocks of a batch starts `step` bytes after the one before. */
static size_t runs_of(void **ptrs, size_t got, uintptr_t step)
{
	size_t runs = got ? 1 : 0;
	for (size_t i = 1; i < got; i++)
		if ((uintptr_t)ptrs[i] != (uintptr_t)ptrs[i - 1] + step)
			runs++;
	return runs;
}

/*
 * A batch fills the smallest holes first, as single best-fit allocations
 * would (the lowest-addressed of a bin's first few), a run of adjacent
 * blocks in each;
 * it reaches into a big block only when no smaller hole holds a block.
 */
static void test_batch_contiguous(void)
{
	struct heap h;
	char *m = test_map(ARENA);
	CHECK_EQ(heap_init(&h, m, m + ARENA), HEAP_OK);

	/* Holes of 2 blocks of 64 bytes between live blocks, then the top. */
	void *hold[256], *holes[256];
	for (int i = 0; i < 256; i++) {
		holes[i] = heap_alloc(&h, 2 * 64 - 8 - HEAP_CANARY_BYTES, 0, NULL);
		hold[i] = heap_alloc(&h, 40, 0, NULL);
		CHECK(holes[i] && hold[i]);
	}
	for (int i = 0; i < 256; i++)
		CHECK_EQ(heap_free(&h, holes[i]), HEAP_OK);
	no_errors(&h);

	struct heap_stats before, after;
	heap_get_stats(&h, &before);
	void *ptrs[32];
	CHECK_EQ(heap_alloc_batch(&h, 48, 0, ptrs, 32), 32); /* 64-byte blocks */
	CHECK_EQ(runs_of(ptrs, 32, 64), 16); /* two blocks per hole */
	for (int i = 0; i < 32; i += 2) { /* each pair is a hole, never the top */
		int hole = -1;
		for (int k = 0; k < 256; k++)
			if (ptrs[i] == holes[k])
				hole = k;
		CHECK(hole >= 0);
	}
	for (int i = 0; i < 32; i++)
		CHECK_EQ(heap_usable_size(&h, ptrs[i]), 56 - HEAP_CANARY_BYTES);
	heap_get_stats(&h, &after);
	CHECK_EQ(after.total_allocs, before.total_allocs + 32);
	CHECK_EQ(after.bytes_in_use, before.bytes_in_use + 32 * 64);
	no_errors(&h);
	heap_free_batch(&h, ptrs, 32);
	no_errors(&h);

	/* A batch that fits a hole exactly takes it whole: no remainder. */
	CHECK_EQ(heap_alloc_batch(&h, 48, 0, ptrs, 2), 2);
	CHECK_EQ(runs_of(ptrs, 2, 64), 1);
	CHECK((char *)ptrs[0] < (char *)hold[255]);
	heap_free_batch(&h, ptrs, 2);
	no_errors(&h);

	/* Only holes left: the largest block each time, as many as fit. */
	size_t top = 0;
	void *filler[64];
	while (top < 64 && (filler[top] = heap_alloc(&h, 16 << 10, 0, NULL)))
		top++;
	CHECK(top < 64);
	void *rest[4096];
	size_t n = 0;
	while (n < 4096 && (rest[n] = heap_alloc(&h, 200, 0, NULL)))
		n++; /* the top's tail, in blocks bigger than a hole */
	CHECK(n < 4096);
	heap_get_stats(&h, &before);
	CHECK(before.largest_free < 32 * 64);
	CHECK_EQ(heap_alloc_batch(&h, 48, 0, ptrs, 32), 32);
	size_t runs = runs_of(ptrs, 32, 64);
	CHECK(runs >= 32 * 64 / before.largest_free && runs <= 16);
	no_errors(&h);
	heap_free_batch(&h, ptrs, 32);
	heap_free_batch(&h, rest, n);
	heap_free_batch(&h, filler, top);
	heap_free_batch(&h, hold, 256);
	heap_get_stats(&h, &after);
	CHECK_EQ(after.live_allocs, 0);
	CHECK_EQ(after.free_blocks, 1);
	no_errors(&h);
	test_unmap(m, ARENA);
}

/*
 * A batch gives up only when the heap has no block for it, as heap_alloc
 * would not: here the one free block that fits is the fifth of its bin,
 * behind four too small (the batch's own probe looks at the first four).
 */
#define PAYLOAD(blk) ((blk) - BLOCK_OVERHEAD)
static void test_batch_fits_past_the_probe(void)
{
	struct heap h;
	char *m = test_map(64 << 10);
	CHECK_EQ(heap_init(&h, m, m + (64 << 10)), HEAP_OK);
	/* Free blocks of 1136 and 4 x 1024 bytes (one bin), live ones between. */
	void *big = heap_alloc(&h, PAYLOAD(1136), 0, NULL), *small[4];
	CHECK(heap_alloc(&h, 16, 0, NULL) != NULL);
	for (int i = 0; i < 4; i++) {
		small[i] = heap_alloc(&h, PAYLOAD(1024), 0, NULL);
		CHECK(heap_alloc(&h, 16, 0, NULL) != NULL);
	}
	struct heap_stats st;
	heap_get_stats(&h, &st);
	CHECK(heap_alloc(&h, PAYLOAD(st.largest_free), 0, NULL) != NULL); /* the rest */
	CHECK_EQ(heap_free(&h, big), HEAP_OK);
	for (int i = 0; i < 4; i++) /* pushed after big: ahead of it in the bin */
		CHECK_EQ(heap_free(&h, small[i]), HEAP_OK);
	void *out[1] = { NULL };
	CHECK_EQ(heap_alloc_batch(&h, PAYLOAD(1040), 0, out, 1), 1);
	CHECK((char *)out[0] >= (char *)big && (char *)out[0] < (char *)big + 1136); /* its top */
	no_errors(&h);
	test_unmap(m, 64 << 10);
}

/*
 * heap_extend by exactly MIN_BLOCK (32 bytes) past the sentinel: enough
 * for a block, so the full heap gets one (a smaller step keeps the bytes
 * without a block, test_regions).
 */
static void test_extend_min_block(void)
{
	static void *held[4096 / 32];
	size_t nheld = 0;
	struct heap h;
	char *m = test_map(8192);
	CHECK_EQ(heap_init(&h, m, m + 4096), HEAP_OK);
	for (size_t sz = 2048; sz >= 16; sz /= 2)
		while ((held[nheld] = heap_alloc(&h, sz, 0, NULL)) != NULL)
			nheld++;
	CHECK(heap_alloc(&h, 0, 0, NULL) == NULL);
	CHECK_EQ(heap_extend(&h, m + 4096 + 32), HEAP_OK);
	char *z = heap_alloc(&h, 0, 0, NULL);
	CHECK(z && z > (char *)held[0] && z < m + 4096 + 32);
	CHECK_EQ(heap_free(&h, z), HEAP_OK);
	while (nheld)
		CHECK_EQ(heap_free(&h, held[--nheld]), HEAP_OK);
	expect_empty(&h);
	test_unmap(m, 8192);
}

static void test_regions(void)
{
	struct heap h;
	char *m = test_map(4 * ARENA);
	enum heap_error e = HEAP_OK;
	struct heap_stats st;

	CHECK_EQ(heap_init(&h, NULL, NULL), HEAP_OK); /* empty heap */
	CHECK(heap_alloc(&h, 16, 0, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_OOM);
	CHECK_EQ(heap_extend(&h, m), HEAP_ERR_BAD_REGION); /* no region yet */
	CHECK(heap_truncate(&h, m) == NULL);
	CHECK_EQ(heap_claim(&h, m, m + 64), HEAP_ERR_BAD_REGION);   /* too small */
	CHECK_EQ(heap_claim(&h, m + 64, m), HEAP_ERR_BAD_REGION);   /* backwards */
	CHECK_EQ(heap_claim(&h, m + 3, m + 4096), HEAP_OK);         /* unaligned ok */
	CHECK_EQ(heap_claim(&h, m + 2048, m + 8192), HEAP_ERR_BAD_REGION); /* overlap */
	/* Overlapping by less than a grain at an unaligned start is overlap too. */
	CHECK_EQ(heap_claim(&h, m + 4095, m + 8192), HEAP_ERR_BAD_REGION);
	CHECK_EQ(heap_claim(&h, m + ARENA, m + ARENA + 8192), HEAP_OK);
	/* A request bigger than the first region lands in the second. */
	char *big = heap_alloc(&h, 6000, 0, &e);
	CHECK(big >= m + ARENA && big < m + ARENA + 8192);
	CHECK(heap_alloc(&h, 9000, 0, &e) == NULL);
	CHECK_EQ(e, HEAP_ERR_OOM);
	/* Extend the current (last claimed) region, then it fits. */
	CHECK_EQ(heap_extend(&h, m + ARENA + 4096), HEAP_ERR_BAD_REGION); /* shrink */
	CHECK_EQ(heap_extend(&h, m + ARENA + 65536), HEAP_OK);
	CHECK_EQ(heap_extend(&h, m + ARENA + 65536 + 8), HEAP_OK); /* too little: kept */
	char *big2 = heap_alloc(&h, 9000, 0, &e);
	CHECK(big2 && big2 < m + ARENA + 65536);
	no_errors(&h);
	heap_get_stats(&h, &st);
	CHECK_EQ(st.regions, 2);
	CHECK_EQ(st.heap_bytes, (4096 - 16) + 65536 + 8); /* start rounded up to 16 */

	/* Truncate gives back the free tail, never an allocated block. */
	char *end = heap_truncate(&h, m + ARENA + 4096);
	CHECK(end >= big2 + 9000 && end < big2 + 9000 + 64);
	no_errors(&h);
	CHECK_EQ(heap_free(&h, big2), HEAP_OK);
	end = heap_truncate(&h, m + ARENA + 12288);
	CHECK(end == m + ARENA + 12288);
	no_errors(&h);
	/* Everything free: truncate to nothing leaves an empty region. */
	CHECK_EQ(heap_free(&h, big), HEAP_OK);
	end = heap_truncate(&h, m + ARENA);
	CHECK(end <= m + ARENA + 64);
	no_errors(&h);
	CHECK(heap_alloc(&h, 16, 0, &e) != NULL); /* still the first region */
	CHECK_EQ(heap_extend(&h, m + 2 * ARENA), HEAP_OK);
	CHECK(heap_alloc(&h, ARENA / 2, 0, &e) != NULL);
	no_errors(&h);
	/* Extending into another region is refused. */
	CHECK_EQ(heap_claim(&h, m + 3 * ARENA, m + 4 * ARENA), HEAP_OK);
	CHECK_EQ(heap_claim(&h, m + 2 * ARENA + 4096, m + 2 * ARENA + 8192), HEAP_OK);
	CHECK_EQ(heap_extend(&h, m + 3 * ARENA + 4096), HEAP_ERR_BAD_REGION);
	no_errors(&h);
	test_unmap(m, 4 * ARENA);
}

struct spans {
	size_t n, bytes;
};

/* Spoils what it is offered, as madvise(MADV_DONTNEED) may (not zeros). */
static void spoil_span(void *ctx, void *start, size_t len)
{
	struct spans *sp = ctx;
	sp->n++;
	sp->bytes += len;
	memset(start, 0xdd, len);
}

/*
 * heap_free_spans offers every free block past its tag and links and
 * before its footer: the heap stays valid with those bytes spoiled, and
 * every byte free is offered but each block's 32 of metadata.
 */
static void test_free_spans(void)
{
	static char arena[ARENA] __attribute__((aligned(16)));
	static struct heap h;
	static void *p[64];
	CHECK_EQ(heap_init(&h, arena, arena + ARENA), HEAP_OK);
	for (int i = 0; i < 64; i++) {
		p[i] = heap_alloc(&h, 100 + 300 * (size_t)i, 0, NULL);
		CHECK(p[i] != NULL);
		memset(p[i], i, 100 + 300 * (size_t)i);
	}
	for (int i = 0; i < 64; i += 2)
		CHECK_EQ(heap_free(&h, p[i]), HEAP_OK);
	struct heap_stats st;
	heap_get_stats(&h, &st);
	struct spans sp = { 0, 0 };
	CHECK_EQ(heap_free_spans(&h, spoil_span, &sp), st.free_blocks);
	CHECK_EQ(sp.n, st.free_blocks);
	CHECK_EQ(sp.bytes, st.bytes_free - 32 * st.free_blocks);
	no_errors(&h);
	for (int i = 1; i < 64; i += 2) {
		unsigned char *b = p[i];
		CHECK(b[0] == i && b[100 + 300 * (size_t)i - 1] == i); /* live bytes kept */
	}
	for (int i = 0; i < 64; i += 2) { /* the spoiled blocks serve again */
		p[i] = heap_alloc(&h, 100 + 300 * (size_t)i, 0, NULL);
		CHECK(p[i] != NULL);
	}
	no_errors(&h);
	for (int i = 0; i < 64; i++)
		CHECK_EQ(heap_free(&h, p[i]), HEAP_OK);
	expect_empty(&h);
}

static void count_span(void *ctx, void *start, size_t len)
{
	(void)start;
	(void)len;
	size_t *n = ctx;
	CHECK(++*n < 1000); /* a walk that does not end */
}

/*
 * A free list corrupted into a loop: heap_free_spans stops after as many
 * blocks as the heap has free ones (<heap/heap_core.h>), it does not go
 * round for ever.
 */
static void test_free_spans_loop(void)
{
	struct heap h;
	char *m = test_map(ARENA);
	CHECK_EQ(heap_init(&h, m, m + ARENA), HEAP_OK);
	char *a = heap_alloc(&h, 100, 0, NULL), *x = heap_alloc(&h, 16, 0, NULL);
	char *b = heap_alloc(&h, 100, 0, NULL), *y = heap_alloc(&h, 16, 0, NULL);
	CHECK(a && x && b && y);
	CHECK_EQ(heap_free(&h, a), HEAP_OK);
	CHECK_EQ(heap_free(&h, b), HEAP_OK); /* the bin: b, then a */
	struct heap_free_block *fa = fb_of((uintptr_t)a - W), *fb = fb_of((uintptr_t)b - W);
	CHECK(fb_next(&h, fb) == fa && fb_next(&h, fa) == NULL);
	link_set(&fa->next, fb); /* a -> b -> a ... */
	struct heap_stats st;
	heap_get_stats(&h, &st);
	size_t n = 0;
	CHECK(heap_free_spans(&h, count_span, &n) <= st.free_blocks);
	CHECK(n <= st.free_blocks);
	test_unmap(m, ARENA);
}

int main(void)
{
	test_uninit();
	test_names();
	test_alloc_align_sizes();
	test_gib_alignment();
	test_misuse();
	test_realloc_calloc();
	test_resize();
	test_realloc_aligned();
	test_swallowed_tags();
	test_aligned_exact_fit();
	test_aligned_gap_smallest();
	test_batch_leaves_min_block();
	test_batch_exact_hole();
	test_batch_and_stats();
	test_batch_contiguous();
	test_batch_fits_past_the_probe();
	test_regions();
	test_extend_min_block();
	test_free_spans();
	test_free_spans_loop();
	printf("core_test: PASS\n");
	return 0;
}
