// SPDX-License-Identifier: BSD-2-Clause
/*
 * An overflow into the tag of the block above is named at the culprit's
 * free when it reaches the heap ("corrupted tag"), and the heap does not
 * take the block back: if the misuse handler returns, the caller still
 * holds it, so the free must not be counted (percpu_stats: allocs - frees
 * is the blocks the caller holds; canary_books_test does the same for the
 * canary). kfree's slow path counted such a free whenever it handed the
 * block to the heap instead of caching it: a large block, a block of no
 * class's size (since e7a164f every heap block up to 32 KiB that is not a
 * class block: here one krealloc shrank in place), and a class block its
 * class does not cache at this heap's share (free_slow's PERCPU_FREE_HEAP).
 * Built at the default level and at 2 (the canary left intact).
 */
#include "test_util.h"

#include <heap/heap_tag.h>
#include <string.h>

#define HEAP ((size_t)1 << 20)

static uint64_t held;

static void check_books(const char *after)
{
	test_check_books("next_tag_books_test", after, held);
}

/*
 * kfree of p after an overflow into the tag above it (past the canary at
 * level 2, which canary_books_test breaks): named, nothing taken back.
 * Then the bytes are put back, so that the heap (whose free lists the tag
 * above may belong to) goes on sound.
 */
static void free_overflowed(void *p, const char *what)
{
	unsigned char saved[8];
	unsigned char *end = (unsigned char *)p + ksize(p) + HEAP_CANARY_BYTES;
	memcpy(saved, end, sizeof(saved));
	misuses = 0;
	memset(end, 0x41, sizeof(saved));
	kfree(p);
	memcpy(end, saved, sizeof(saved));
	CHECK_EQ(misuses, 1);
	check_books(what);
}

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	kheap_set_misuse_handler(record_misuse);

	/* A large block shrunk in place to 1100 bytes: no class's size. */
	void *p = kmalloc(64 << 10);
	held++;
	void *q = krealloc(p, 1100);
	CHECK(q == p);
	free_overflowed(q, "kfree of a 1100-byte heap block past its end");

	/* A large block. */
	free_overflowed((held++, kmalloc(64 << 10)), "kfree of a 64 KiB block past its end");

	/* A class block of a class a 1 MiB heap does not cache: to the heap. */
	free_overflowed((held++, kmalloc(1024)), "kfree of a 1024-byte class block past its end");
	printf("next_tag_books_test: PASS\n");
	return 0;
}
