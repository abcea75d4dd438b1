// SPDX-License-Identifier: BSD-2-Clause
/*
 * kfree of a kmalloc_aligned pointer q (offset-tagged, inside a class block
 * b) whose block the heap refuses to free (the tag above b damaged by an
 * overflow, which keeps b out of the magazines: a big class's free checks
 * it, README "overflow into the next block's tag"): the damage is named,
 * and b stays allocated with q its owner's, as kheap_free(q) leaves it
 * (//heap:kheap_offset_misuse_test), so that once repaired the owner's
 * kfree(q) frees b: no second misuse ("double free": q's tag was left
 * freed while b stayed live), no leak. At the default level and at 2
 * (at 3 the validator names the damage too).
 */
#include "test_util.h"

#include <stdint.h>
#include <string.h>

int main(void)
{
	test_heap_init(8u << 20);
	kheap_set_misuse_handler(record_misuse);
	percpu_init(PERCPU_MAGAZINES);
	/* 6000 bytes at 64: a block of the 6144-byte class, a big one. */
	char *q = NULL, *held[16];
	int nheld = 0;
	while (!q) {
		char *t = kmalloc_aligned(6000, 64);
		if (kheap_offset_of(t))
			q = t;
		else
			held[nheld++] = t;
		CHECK(nheld < 16);
	}
	char *b = q - kheap_offset_of(q);
	/* The tag of the block above b: its check's top byte. */
	unsigned char *next_top = (unsigned char *)b - 8 + ((size_t)heap_tag_size16(b) << 4) +
				  HEAP_LANE_CHECK + 1;
	unsigned char saved = *next_top;
	*next_top ^= 0x80;
	kfree(q);
#if HEAP_HARDENING < 3
	CHECK_EQ(misuses, 1);
	CHECK_EQ(last_misuse, HEAP_ERR_CORRUPT_TAG);
#else
	CHECK(misuses >= 1); /* the validator, at every lock release, names it too */
#endif
	int named = misuses;
	CHECK(ksize(q) >= 6000); /* still the owner's */
	CHECK_EQ(misuses, named);

	*next_top = saved; /* repaired: the owner frees q again */
	kfree(q);
	CHECK_EQ(misuses, named);
	while (nheld)
		kfree(held[--nheld]);
	CHECK(percpu_check_drained(0));
	printf("aligned_damaged_test: PASS\n");
	return 0;
}
