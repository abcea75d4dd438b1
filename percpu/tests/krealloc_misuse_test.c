// SPDX-License-Identifier: BSD-2-Clause
/*
 * krealloc, krealloc_aligned and ksize name a pointer that is not a live
 * block, as kfree does, and return nothing usable:
 *  - a kmalloc_aligned pointer already freed (its offset tag dead): "double
 *    free". Before, the dead tag's size lane was read as a class block's
 *    size and the keep rule returned the pointer, while kmalloc handed its
 *    block out again: two owners of one block;
 *  - an interior pointer, whose "tag" is the caller's own bytes (here two
 *    uint32_t fields, 256 and 3): "free of interior pointer". Before, the
 *    pointer was kept, or copied from, with no report;
 *  - ksize of an interior pointer and of a freed (cached) block. Before,
 *    a size read from whatever lay below them.
 * Built at the default level and at 2 (krealloc_misuse_h2_test).
 */
#include "test_util.h"

#include <stdint.h>
#include <string.h>

static void test_freed_aligned(void)
{
	/* An offset-tagged block: 1000 bytes at 64, padded inside a class block. */
	void *q = NULL, *held[64];
	int nheld = 0;
	for (int i = 0; i < 64 && !q; i++) {
		void *t = kmalloc_aligned(1000, 64);
		if (kheap_offset_of(t))
			q = t;
		else
			held[nheld++] = t;
	}
	CHECK(q != NULL);
	size_t off = kheap_offset_of(q);
	char *b = (char *)q - off;
	size_t bsize = ksize(b);
	kfree(q);
	CHECK_EQ(misuses, 0);

	/* A size that fits below the dead tag: the keep rule's case. */
	size_t small = off - sizeof(uintptr_t) - HEAP_CANARY_BYTES;
	CHECK(krealloc(q, small) == NULL);
	CHECK_EQ(misuses, 1);
	CHECK(krealloc_aligned(q, small, 64) == NULL);
	CHECK_EQ(misuses, 2);
	CHECK_EQ(last_misuse, HEAP_ERR_DOUBLE_FREE);
	misuses = 0;
	char *again = kmalloc(bsize); /* q's block, perhaps: ours alone */
	kfree(again);
	while (nheld)
		kfree(held[--nheld]);
}

static void test_interior(void)
{
	unsigned char *p = kmalloc(256);
	memset(p, 0, 256);
	uint32_t fields[2] = { 256, 3 }; /* what the bytes below p + 64 hold */
	memcpy(p + 64 - 8, fields, sizeof(fields));
	void *ip = p + 64;
	kfree(ip);
	CHECK(misuses == 1 && last_misuse == HEAP_ERR_INTERIOR_PTR);
	CHECK(krealloc(ip, 30) == NULL);
	CHECK(misuses == 2 && last_misuse == HEAP_ERR_INTERIOR_PTR);
	CHECK(krealloc_aligned(ip, 30, 32) == NULL);
	CHECK(misuses == 3 && last_misuse == HEAP_ERR_INTERIOR_PTR);
	kfree(p);
	CHECK_EQ(misuses, 3);
	misuses = 0;
}

static void test_ksize(void)
{
	char *x = kmalloc(200);
	(void)ksize(x + 16);
	CHECK_EQ(misuses, 1);
	kfree(x);
	void *p = kmalloc(48);
	kfree(p);
	(void)ksize(p);
	CHECK_EQ(misuses, 2);
	misuses = 0;
}

int main(void)
{
	test_percpu_init_as_hart0(8u << 20);
	kheap_set_misuse_handler(record_misuse);
	test_freed_aligned();
	test_interior();
	test_ksize();
	test_drain_leaves_nothing();
	printf("krealloc_misuse_test: passed\n");
	return 0;
}
