// SPDX-License-Identifier: BSD-2-Clause
/*
 * percpu_stats' allocs and frees ("blocks handed out by kmalloc & co.",
 * "blocks taken back by kfree & co."): their difference is the blocks the
 * caller holds, the heap's live count once the caches are drained. A _try
 * call that returns NULL handed nothing out: a large request the heap
 * cannot hold, an aligned one, and a class size once the heap is full.
 * Nor does a free that the misuse handler rejects (and returns from) take
 * anything back: a double free of a large block, of a class block.
 */
#include "test_util.h"

#define HEAP ((size_t)1 << 20)

static uint64_t held;

static void check_books(const char *after)
{
	test_check_books("stats_books_test", after, held);
}

int main(void)
{
	enum { MAX = 4096 };
	static void *fill[MAX];
	size_t n = 0;

	test_percpu_init_as_hart0(HEAP);

	void *p = kmalloc(100);
	held++;
	check_books("kmalloc(100)");
	CHECK(kmalloc_try(2 * HEAP) == NULL);
	check_books("kmalloc_try(2 MiB) == NULL");
	CHECK(kmalloc_aligned_try(2 * HEAP, 4096) == NULL);
	check_books("kmalloc_aligned_try(2 MiB, 4096) == NULL");
	CHECK(krealloc(p, 2 * HEAP) == NULL);
	check_books("krealloc(p, 2 MiB) == NULL");
	kfree(p);
	held--;
	check_books("kfree(p)");

	/* Double frees a recording handler rejects: no block came back. */
	kheap_set_misuse_handler(record_misuse);
	void *big = kmalloc(64 << 10); /* large: straight to the heap */
	held++;
	kfree(big);
	held--;
	check_books("kfree(64 KiB block)");
	kfree(big);
	CHECK_EQ(misuses, 1);
	CHECK_EQ(last_misuse, HEAP_ERR_DOUBLE_FREE);
	check_books("a second kfree of the 64 KiB block (rejected)");
	void *small = kmalloc(100);
	held++;
	kfree(small);
	held--;
	kfree(small);
	CHECK_EQ(misuses, 2);
	CHECK_EQ(last_misuse, HEAP_ERR_DOUBLE_FREE);
	check_books("a second kfree of a 100-byte block (rejected)");
	kheap_set_misuse_handler(NULL);
	misuses = 0;

	/* The heap full of 256-byte blocks: the class's next one fails too. */
	while (n < MAX && (fill[n] = kmalloc_try(256)))
		n++, held++;
	CHECK(n < MAX);
	check_books("kmalloc_try(256) until NULL");
	CHECK(kmalloc_try(256) == NULL);
	check_books("one more kmalloc_try(256) == NULL");
	while (n)
		kfree(fill[--n]), held--;
	check_books("freeing them");
	CHECK(percpu_check_drained(0));
	check_books("the drain");
	printf("stats_books_test: PASS\n");
	return 0;
}
