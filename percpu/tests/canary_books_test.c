// SPDX-License-Identifier: BSD-2-Clause
/*
 * At level 2 an overflow into a block's canary is named at its kfree
 * ("buffer overflow (canary)") and the heap does not take the block back:
 * if the misuse handler returns, the caller still holds it, so the free
 * must not be counted (percpu_stats: allocs - frees is the blocks the
 * caller holds, as stats_books_test checks for double frees). A class
 * block with a broken canary was never counted (free_cached tests the
 * canary first); a block of no class's size (since e7a164f every heap
 * block that is not a class block, such as a large block shrunk in place
 * by krealloc) and a large one were counted as large frees before the
 * heap refused them.
 */
#include "test_util.h"

#include <string.h>

#define HEAP ((size_t)1 << 20)

static uint64_t held;

static void check_books(const char *after)
{
	test_check_books("canary_books_test", after, held);
}

/* kfree of p, whose canary the caller overwrote: named, nothing taken back. */
static void free_overflowed(void *p, const char *what)
{
	size_t usable = ksize(p);
	misuses = 0;
	((unsigned char *)p)[usable] ^= 0x5a; /* the canary's first byte */
	kfree(p);
	CHECK_EQ(misuses, 1);
	CHECK_EQ(last_misuse, HEAP_ERR_CANARY);
	check_books(what);
}

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	kheap_set_misuse_handler(record_misuse);

	/* A class block: not cached, not counted, the heap names it. */
	void *small = kmalloc(1024);
	held++;
	check_books("kmalloc(1024)");
	free_overflowed(small, "kfree of a 1024-byte class block past its canary");

	/* A large block shrunk in place to 1100 bytes: no class's size. */
	void *p = kmalloc(64 << 10);
	held++;
	void *q = krealloc(p, 1100);
	CHECK(q == p);
	check_books("krealloc(64 KiB block, 1100)");
	free_overflowed(q, "kfree of a 1100-byte heap block past its canary");

	/* A large block. */
	void *big = kmalloc(64 << 10);
	held++;
	free_overflowed(big, "kfree of a 64 KiB block past its canary");
	printf("canary_books_test: PASS\n");
	return 0;
}
