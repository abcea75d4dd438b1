// SPDX-License-Identifier: BSD-2-Clause
/*
 * Wild pointers inside the heap's hull (README.md's hardening table: a free
 * of a wild pointer is "free of foreign pointer", with no load through it,
 * from level 1): a page between two claimed regions, inside their hull
 * (kheap_bounds_) but in neither, and the lowest region's first byte with
 * an unmapped page below it (its "tag" would be read there), and the
 * second region's, handed to kfree, kfree_sized, ksize, krealloc and
 * krealloc_aligned. Each must be named, never loaded through (a fault kills
 * the test; kfree and kfree_sized from level 1, as README's hardening table
 * has it); and blocks of both regions still go through the magazines.
 */
#include "test_util.h"

#include <stdint.h>
#include <sys/mman.h>

#define MIB ((size_t)1 << 20)

#define EXPECT_NAMED(call, err)                  \
	do {                                     \
		int before_ = misuses;           \
		call;                            \
		CHECK_EQ(misuses, before_ + 1);  \
		CHECK_EQ(last_misuse, (err));    \
	} while (0)

/* err: what the heap names p (kheap_free's own answer). */
static void expect_all_named(char *p, enum heap_error err)
{
#if PERCPU_HARDEN >= 1
	/* Level 0's kfree loads the state byte first (README: a load fault). */
	EXPECT_NAMED(kfree(p), err);
	EXPECT_NAMED(kfree_sized(p, 64), err);
#endif
	EXPECT_NAMED((void)ksize(p), err);
	EXPECT_NAMED(CHECK(krealloc(p, 64) == NULL), err);
	EXPECT_NAMED(CHECK(krealloc_aligned(p, 64, 64) == NULL), err);
}

int main(void)
{
	/* [guard page][region 1: 1 MiB][gap: 2 MiB, unmapped][region 2: 1 MiB] */
	char *m = mmap(NULL, 4 * MIB + 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(m != MAP_FAILED);
	char *first = m + 4096, *gap = first + MIB, *second = first + 3 * MIB;
	CHECK(munmap(m, 4096) == 0);
	CHECK(munmap(gap, 2 * MIB) == 0);
	kheap_set_misuse_handler(record_misuse);
	kheap_init(first, first + MIB);
	kheap_claim(second, second + MIB);
	percpu_init(PERCPU_MAGAZINES);

	/* Blocks of both regions, cached and handed out again. */
	void *held[64];
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 64; i++)
			held[i] = kmalloc(i & 1 ? 48 : 100000 / 4);
		for (int i = 0; i < 64; i++)
			kfree(held[i]);
	}
	char *big1 = kmalloc(900 * 1024), *big2 = kmalloc(900 * 1024);
	CHECK((big1 < gap) != (big2 < gap)); /* one in each region */
	void *s1 = krealloc(big1, 64), *s2 = krealloc(big2, 64);
	CHECK(s1 && s2);
	kfree(s1);
	kfree(s2);
	CHECK_EQ(misuses, 0);

	expect_all_named(gap + 4096, HEAP_ERR_FOREIGN_PTR); /* between the regions */
	/*
	 * A region's first byte, its header's (the heap: an interior pointer):
	 * its tag would be in the gap, or in the unmapped page below.
	 */
	expect_all_named(second, HEAP_ERR_INTERIOR_PTR);
	expect_all_named(first, HEAP_ERR_INTERIOR_PTR);

	CHECK(percpu_check_drained(0));
	CHECK(test_heap_validate() == 0);
	printf("wild_gap_test: PASS\n");
	return 0;
}
