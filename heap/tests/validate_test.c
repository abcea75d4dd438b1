// SPDX-License-Identifier: BSD-2-Clause
/*
 * In the style of Linux's lib/slub_kunit.c: corrupt a block on purpose, run
 * the validator, assert how many errors it reported, repair, assert zero.
 */
#include "test_util.h"

#include <heap/heap_core.h>
#include <string.h>

#include "../heap_internal.h"

#define ARENA (256u << 10)

static struct heap h;
static char *m;
static char *blk[8];
static int reported;

static void count(void *ctx, const char *msg, void *addr)
{
	(void)addr;
	if (ctx)
		printf("  validator: %s\n", msg);
	reported++;
}

/* Errors the validator finds now; checks the callback saw the same number. */
static size_t errors(void)
{
	reported = 0;
	size_t n = heap_validate(&h, count, (void *)1);
	CHECK_EQ(n, reported);
	return n;
}

static uintptr_t *tag(void *p)
{
	return (uintptr_t *)p - 1;
}

/* a0 a1 [free 1] a3 [free 4] a5 a6 a7, then the free tail. */
static void setup(void)
{
	m = test_map(ARENA);
	CHECK_EQ(heap_init(&h, m, m + ARENA), HEAP_OK);
	for (int i = 0; i < 8; i++)
		blk[i] = heap_alloc(&h, 100 + 50 * (size_t)i, 0, NULL);
	CHECK_EQ(heap_free(&h, blk[1]), HEAP_OK);
	CHECK_EQ(heap_free(&h, blk[4]), HEAP_OK);
	CHECK_EQ(errors(), 0);
}

static void test_free_footer(void)
{
	/* The free block 1 ends just below a2's tag. */
	uintptr_t *footer = tag(blk[2]) - 1, saved = *footer;
	*footer = 0x1230;
	CHECK_EQ(errors(), 1);
	CHECK_EQ(heap_free(&h, blk[2]), HEAP_ERR_CORRUPT_TAG);
	*footer = saved;
	CHECK_EQ(errors(), 0);
}

static void test_alloc_header(void)
{
	uintptr_t saved = *tag(blk[3]);
	*tag(blk[3]) = 0x4141414141414141u; /* an overflow from a2 */
	CHECK_EQ(errors(), 1);
	CHECK_EQ(heap_free(&h, blk[3]), HEAP_ERR_CORRUPT_TAG);
	CHECK_EQ(heap_free(&h, blk[2]), HEAP_ERR_CORRUPT_TAG);
	*tag(blk[3]) = saved;
	CHECK_EQ(errors(), 0);
}

static void test_size_grown(void)
{
	/* A tag rewritten with a valid check but a size past the sentinel. */
	uintptr_t b = (uintptr_t)tag(blk[7]), saved = *tag(blk[7]);
	*tag(blk[7]) = tag_make(b, (ARENA * 2) & ~(uintptr_t)15, HEAP_TAG_ALLOC);
	CHECK_EQ(errors(), 1);
	*tag(blk[7]) = saved;
	CHECK_EQ(errors(), 0);
}

static void test_prev_free_bit(void)
{
	/* a5 sits above the free block 4: clearing its P bit is one error. */
	uintptr_t b = (uintptr_t)tag(blk[5]), saved = *tag(blk[5]);
	tag_set_prev_free(b, false);
	CHECK_EQ(errors(), 1);
	*tag(blk[5]) = saved;
	/* Setting it on a6, whose lower neighbour a5 is allocated, is one too. */
	b = (uintptr_t)tag(blk[6]);
	saved = *tag(blk[6]);
	tag_set_prev_free(b, true);
	CHECK_EQ(errors(), 1);
	*tag(blk[6]) = saved;
	CHECK_EQ(errors(), 0);
}

static void test_bins(void)
{
	/* A wrong bitmap bit. */
	struct heap saved_map = h; /* the bitmap words, restored below */
	CHECK(!bin_bit(&h, 100));
	bin_bit_set(&h, 100);
	CHECK_EQ(errors(), 1);
	h = saved_map;
	/* A link pointing out of the heap. */
	struct heap_free_block *fb = fb_of((uintptr_t)tag(blk[4]));
	CHECK(fb_next(&h, fb) == NULL); /* alone in its bin */
	link_set(&fb->next, (struct heap_free_block *)(uintptr_t)0x1008);
	CHECK_EQ(errors(), 1);
	link_set(&fb->next, NULL);
	/* A broken back link. */
	link_set(&fb->prev, fb);
	CHECK_EQ(errors(), 1);
	link_set(&fb->prev, NULL);
	/* A free block moved to the wrong bin (and the bitmap kept right). */
	unsigned right = bin_of(tag_size(*tag_at((uintptr_t)fb)));
	CHECK(h.bins[right] == fb);
	h.bins[right] = NULL;
	h.bins[right + 1] = fb;
	bin_bit_clear(&h, right);
	bin_bit_set(&h, right + 1);
	CHECK_EQ(errors(), 1);
	h.bins[right + 1] = NULL;
	h.bins[right] = fb;
	bin_bit_clear(&h, right + 1);
	bin_bit_set(&h, right);
	CHECK_EQ(errors(), 0);
}

static void test_stats_and_sentinel(void)
{
	/* live_allocs and bytes_free are derived: corrupt what they come from. */
	h.st.total_frees++;
	CHECK_EQ(errors(), 1);
	h.st.total_frees--;
	h.st.free_blocks++;
	CHECK_EQ(errors(), 1);
	h.st.free_blocks--;
	h.st.bytes_in_use += 16; /* disagrees with the blocks, and leaves free wrong */
	CHECK_EQ(errors(), 2);
	h.st.bytes_in_use -= 16;
	uintptr_t *sent = tag_at(h.regions->sentinel), saved = *sent;
	*sent = 0;
	CHECK_EQ(errors(), 1);
	*sent = saved;
	CHECK_EQ(errors(), 0);
}

static void test_adjacent_free(void)
{
	/* Make a3 look free (tag + footer) without putting it in a bin. */
	uintptr_t b = (uintptr_t)tag(blk[3]), saved = *tag(blk[3]);
	uintptr_t s = tag_size(saved), fsaved = footer_get(b + s);
	uintptr_t nsaved = *tag_at(b + s);
	*tag_at(b) = tag_make(b, s, 0); /* a2 below stays allocated */
	footer_set(b, s);
	tag_set_prev_free(b + s, true);
	/* a3-a4 adjacent free, bins/regions differ, in_use, free totals, live. */
	CHECK_EQ(errors(), 5);
	*tag_at(b) = saved;
	*tag_at(b + s - W) = fsaved;
	*tag_at(b + s) = nsaved;
	CHECK_EQ(errors(), 0);
}

/*
 * A region's header lies in the heap's memory, in reach of an underflow of
 * its first block: a damaged link to the next region is named, never
 * followed (the validator is safe on a corrupted heap). Two regions, so the
 * damaged link is not the last one, which the region count already bounds.
 */
static void test_region_link(void)
{
	static struct heap h2;
	char *m1 = test_map(ARENA), *m2 = test_map(ARENA);
	CHECK_EQ(heap_init(&h2, m1, m1 + ARENA), HEAP_OK);
	CHECK_EQ(heap_claim(&h2, m2, m2 + ARENA), HEAP_OK);
	CHECK(heap_alloc(&h2, 100, 0, NULL) != NULL);
	CHECK_EQ(heap_validate(&h2, NULL, NULL), 0);
	struct heap_region *cur = h2.regions, *saved = cur->next;
	CHECK(saved != NULL);
	cur->next = (struct heap_region *)(uintptr_t)0x4141414141414140u;
	reported = 0;
	CHECK_EQ(heap_validate(&h2, count, (void *)1), 1);
	CHECK_EQ(reported, 1);
	/* Inside no region, 8 mod 16: no header can be there either. */
	cur->next = (struct heap_region *)(m1 + 8);
	CHECK_EQ(heap_validate(&h2, NULL, NULL), 1);
	cur->next = saved;
	CHECK_EQ(heap_validate(&h2, NULL, NULL), 0);
	test_unmap(m1, ARENA);
	test_unmap(m2, ARENA);
}

int main(void)
{
	setup();
	test_free_footer();
	test_alloc_header();
	test_size_grown();
	test_prev_free_bit();
	test_bins();
	test_stats_and_sentinel();
	test_adjacent_free();
	/* Repaired: the heap still works and drains to one free block. */
	for (int i = 0; i < 8; i++)
		if (i != 1 && i != 4)
			CHECK_EQ(heap_free(&h, blk[i]), HEAP_OK);
	CHECK_EQ(errors(), 0);
	CHECK_EQ(h.st.free_blocks, 1);
	test_region_link();
	printf("validate_test: PASS\n");
	return 0;
}
