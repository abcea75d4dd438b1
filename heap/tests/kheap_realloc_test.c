// SPDX-License-Identifier: BSD-2-Clause
/*
 * kheap_realloc's promises that its other tests do not reach:
 *  - a realloc that fails returns NULL with p "untouched (still allocated,
 *    same contents)" (<heap/kheap.h>): its tail is not offered to the
 *    release hook (which may drop its pages, as the shim's madvise does)
 *    unless the shrink cannot fail. Two failures: an alignment that is not
 *    a power of two (named), and a shrink that must move for an alignment
 *    p lacks, in a full heap;
 *  - a move counts as neither an allocation nor a free, as the core's own
 *    realloc counts it (kheap_report's "allocs and frees so far"), the
 *    move of an offset-tagged pointer (percpu's kmalloc_aligned) too.
 */
#include "test_util.h"

#include <heap/kheap.h>
#include <string.h>

#define ARENA (1u << 20)
#define BLOCK 16384u
#define FILL 0x5a

static int misuses;
static void record(enum heap_error err, void *ptr, size_t size, const char *where)
{
	(void)ptr;
	(void)size;
	fprintf(stderr, "misuse: %s (%s)\n", heap_error_name(err), where);
	misuses++;
}

static int offers;
static void spoil(void *ctx, void *p, size_t usable)
{
	(void)ctx;
	offers++;
	memset(p, 0xdd, usable); /* what MADV_DONTNEED may leave: not these bytes */
}

static void check_filled(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(p[i], FILL);
}

/* A block of BLOCK bytes at an address not aligned to 4096, filled. */
static unsigned char *unaligned_block(void)
{
	unsigned char *p = kheap_alloc(BLOCK, 0);
	if ((uintptr_t)p % 4096 == 0)
		p = kheap_alloc(BLOCK, 0); /* the first one stays, as a fence */
	CHECK((uintptr_t)p % 4096 != 0);
	memset(p, FILL, BLOCK);
	return p;
}

static void test_failures_keep_p(void)
{
	unsigned char *p = unaligned_block();

	/* Not a power of two: named, NULL, p as it was. */
	CHECK(kheap_try_realloc_aligned(p, 100, 24) == NULL);
	CHECK_EQ(misuses, 1);
	check_filled(p, BLOCK);

	/* A shrink that must move to 4096 finds no room: NULL, p as it was. */
	for (size_t sz = 65536; sz >= 16; sz /= 2)
		while (kheap_try_alloc(sz, 0))
			;
	CHECK(kheap_try_realloc_aligned(p, 100, 4096) == NULL);
	check_filled(p, BLOCK);
	CHECK_EQ(offers, 0);

	/* A shrink in place gives its tail's pages back, as before. */
	CHECK(kheap_realloc(p, 100) == p);
	CHECK_EQ(offers, 1);
	check_filled(p, 100);
	CHECK_EQ(misuses, 1);
}

static void test_move_not_counted(void)
{
	char *a = kheap_alloc(200, 0), *fence = kheap_alloc(200, 0);
	CHECK(a && fence);
	struct kheap_stats s0, s1;
	kheap_get_stats(&s0);
	char *b = kheap_realloc(a, 4000); /* the fence is above a: a move */
	CHECK(b && b != a);
	kheap_get_stats(&s1);
	CHECK_EQ(s1.heap.total_allocs, s0.heap.total_allocs);
	CHECK_EQ(s1.heap.total_frees, s0.heap.total_frees);
	CHECK_EQ(s1.heap.live_allocs, s0.heap.live_allocs);
	kheap_free(b);
	kheap_free(fence);
}

static void test_offset_move_not_counted(void)
{
	char *b = kheap_alloc(600, 0), *spare = NULL;
	if ((uintptr_t)b % 128 == 0) {
		spare = b; /* q must lie above b: take another */
		b = kheap_alloc(600, 0);
	}
	char *fence = kheap_alloc(200, 0);
	char *q = kheap_offset_place(b, kheap_usable_size(b), 300, 128);
	CHECK(q && q != b);
	kheap_offset_tag_write(q, (size_t)(q - b));
	struct kheap_stats s0, s1;
	kheap_get_stats(&s0);
	char *r = kheap_realloc_aligned(q, 4000, 128); /* more than b holds: a move */
	CHECK(r && r != q);
	kheap_get_stats(&s1);
	CHECK_EQ(s1.heap.total_allocs, s0.heap.total_allocs);
	CHECK_EQ(s1.heap.total_frees, s0.heap.total_frees);
	CHECK_EQ(s1.heap.live_allocs, s0.heap.live_allocs);
	kheap_free(r);
	kheap_free(fence);
	kheap_free(spare);
}

int main(void)
{
	char *arena = test_map(ARENA);
	kheap_init(arena, arena + ARENA);
	kheap_set_misuse_handler(record);
	test_move_not_counted();
	test_offset_move_not_counted();
	kheap_set_release_hook(spoil, NULL, 4096);
	test_failures_keep_p();
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	printf("kheap_realloc_test: passed\n");
	return 0;
}
