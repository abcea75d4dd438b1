// SPDX-License-Identifier: BSD-2-Clause
/*
 * kheap_realloc copies outside the heap lock: a move of a large block under
 * it would keep every other hart waiting for the heap (interrupts masked in
 * the kernel) for the whole copy. This test replaces memcpy and memmove for
 * the whole binary (the heap's calls resolve to these), counts the large
 * copies and those made while the heap lock is held, and walks kheap_realloc
 * through each way it can grow a block: in place, down into the free block
 * below, and a move to a new block. Every case also checks the contents.
 *
 * The sanitizers route the compiler's copies to their own runtime, so a
 * sanitized build (HOST_SANITIZED) cannot count them: there it checks the
 * contents and the heap only.
 */
#include "test_util.h"

#include <heap/kheap.h>
#include <platform/ticket_lock.h>
#include <string.h>

#define ARENA (64u << 20)
#define BIG (4u << 20)      /* a block whose copy is worth not locking for */
#define COUNTED_COPY 4096u /* copies from this size up are counted */

static size_t big_copies, big_copies_locked;

static void note_copy(size_t n)
{
	ticket_lock_t *heap_lock = (ticket_lock_t *)kheap_lock_id();
	if (n < COUNTED_COPY)
		return;
	big_copies++;
	if (ticket_is_locked(heap_lock))
		big_copies_locked++;
}

/* Byte by byte through volatile pointers, so no call to memcpy comes back. */
static void copy_bytes(void *dst, const void *src, size_t n)
{
	volatile unsigned char *d = dst;
	const volatile unsigned char *s = src;
	if (d < s)
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	else
		for (size_t i = n; i-- > 0;)
			d[i] = s[i];
}

void *memmove(void *dst, const void *src, size_t n)
{
	note_copy(n);
	copy_bytes(dst, src, n);
	return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	note_copy(n);
	copy_bytes(dst, src, n);
	return dst;
}

/* p's n bytes are i * 7 + seed at i (one call to fill, one to check). */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + seed);
}

static bool filled(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 7 + seed))
			return false;
	return true;
}

/* kheap_realloc of p (n bytes of seed) to size: the contents follow. */
static unsigned char *grow(unsigned char *p, size_t n, size_t size, unsigned seed)
{
	unsigned char *q = kheap_realloc(p, size);
	CHECK(q != NULL);
	CHECK(filled(q, n, seed));
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	return q;
}

int main(void)
{
	char *arena = test_map(ARENA);
	kheap_init(arena, arena + ARENA);

	unsigned char *below = kheap_alloc(BIG, 0);
	unsigned char *p = kheap_alloc(BIG, 0);
	unsigned char *above = kheap_alloc(BIG, 0);
	unsigned char *wall = kheap_alloc(16, 0);
	fill(p, BIG, 1);
	size_t before = big_copies;

	/* In place, into the free block above: nothing to copy. */
	kheap_free(above);
	unsigned char *q = grow(p, BIG, 3 * BIG / 2, 1);
	CHECK(q == p);
	CHECK_EQ(big_copies, before);

	/* Down, into the free block below (the one above is spent): one copy. */
	kheap_free(below);
	q = grow(p, BIG, 5 * BIG / 2, 1);
	CHECK(q < p);
	size_t down = big_copies - before;

	/* No room around it any more: a move to a new block, one copy. */
	fill(q, 5 * BIG / 2, 2);
	unsigned char *r = grow(q, 5 * BIG / 2, 4 * BIG, 2);
	CHECK(r > wall);
	size_t moved = big_copies - before - down;

	kheap_free(r);
	kheap_free(wall);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
#ifndef HOST_SANITIZED
	CHECK_EQ(down, 1);
	CHECK_EQ(moved, 1);
	CHECK_EQ(big_copies_locked, 0);
	printf("realloc_copy_test: PASS (%zu large copies, none under the heap lock)\n", big_copies);
#else
	(void)down;
	(void)moved;
	printf("realloc_copy_test: PASS (contents only: sanitizers own memcpy)\n");
#endif
	return 0;
}
