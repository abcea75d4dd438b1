// SPDX-License-Identifier: BSD-2-Clause
/*
 * Misuse of offset-tagged pointers (percpu's kmalloc_aligned: q inside a
 * block b, <heap/kheap.h>) is named and loses nothing:
 *  - kheap_free of a misaligned interior pointer whose byte at q - 7 looks
 *    like an offset tag's state: named, without a misaligned load of the
 *    tag's lanes (a trap on harts that do not emulate them; the _ubsan twin
 *    fails on the load);
 *  - kheap_free_sized of q with a wrong size: named, and q stays its
 *    owner's, whose own kheap_free(q) then frees b (no second misuse, no
 *    leak);
 *  - kheap_free of q when the tag above b is damaged (an overflow), found
 *    at once or while the free waits for the lock's next holder (deferred):
 *    named, and b stays allocated, q with it, so that once repaired the
 *    owner's kheap_free(q) frees b (as for a plain block: kheap_test's
 *    deferred frees).
 */
#include "test_util.h"

#include <heap/kheap.h>
#include <platform/ticket_lock.h>
#include <string.h>

#define ARENA (1u << 20)

static int misuses;
static enum heap_error last;
static void record(enum heap_error err, void *ptr, size_t size, const char *where)
{
	(void)ptr;
	(void)size;
	fprintf(stderr, "misuse: %s (%s)\n", heap_error_name(err), where);
	last = err;
	misuses++;
}

static void test_misaligned_interior(void)
{
	unsigned char *p = kheap_alloc(64, 0);
	memset(p, 0, 64);
	p[2] = KHEAP_STATE_OFFSET; /* user data: the state lane of q = p + 9 */
	kheap_free(p + 9);
	CHECK_EQ(misuses, 1);
	kheap_free(p);
	CHECK_EQ(misuses, 1);
}

static void test_wrong_size(void)
{
	struct kheap_stats s0, s1;
	kheap_get_stats(&s0);
	char *b = kheap_alloc(600, 0), *fence = NULL;
	if ((uintptr_t)b % 128 == 0) {
		fence = b; /* q must lie above b: take another */
		b = kheap_alloc(600, 0);
	}
	char *q = kheap_offset_place(b, kheap_usable_size(b), 300, 128);
	CHECK(q && q != b);
	kheap_offset_tag_write(q, (size_t)(q - b));

	kheap_free_sized(q, 1u << 19);
	CHECK_EQ(misuses, 2);
	CHECK_EQ(last, HEAP_ERR_SIZE_MISMATCH);
	kheap_free(q); /* the owner's free */
	CHECK_EQ(misuses, 2);
	kheap_free(fence);
	kheap_get_stats(&s1);
	CHECK_EQ(s1.heap.live_allocs, s0.heap.live_allocs);
}

static void test_damaged(bool deferred)
{
	struct kheap_stats s0, s1;
	kheap_get_stats(&s0);
	char *b = kheap_alloc(600, 0), *fence = NULL;
	if ((uintptr_t)b % 128 == 0) {
		fence = b;
		b = kheap_alloc(600, 0);
	}
	char *q = kheap_offset_place(b, kheap_usable_size(b), 300, 128);
	CHECK(q && q != b);
	kheap_offset_tag_write(q, (size_t)(q - b));
	/* The tag of the block above b. */
	uintptr_t *next = (uintptr_t *)(b - 8 + ((size_t)heap_tag_size16(b) << 4));
	unsigned char *next_check = (unsigned char *)next + HEAP_LANE_CHECK;
	uintptr_t saved = *next;

	int before = misuses;
	if (deferred) {
		/* Held here: the free is left to the lock's next holder. */
		ticket_lock_t *l = (ticket_lock_t *)kheap_lock_id(); /* this test alone takes it */
		port_irqflags_t f = ticket_lock_irqsave(l, NULL);
		kheap_free(q);
		*next_check ^= 1; /* damaged while it waits */
		ticket_unlock_irqrestore(l, f);
		kheap_get_stats(&s1); /* the drain: named, b kept */
	} else {
		*next_check ^= 1;
		kheap_free(q);
	}
	CHECK(misuses >= before + 1);
	kheap_get_stats(&s1);
	CHECK_EQ(s1.heap.live_allocs, s0.heap.live_allocs + 1 + (fence != NULL));

	*next = saved; /* repaired: the owner frees q again */
	before = misuses;
	kheap_free(q);
	CHECK_EQ(misuses, before);
	kheap_free(fence);
	kheap_get_stats(&s1);
	CHECK_EQ(s1.heap.live_allocs, s0.heap.live_allocs);
}

int main(void)
{
	char *arena = test_map(ARENA);
	kheap_init(arena, arena + ARENA);
	kheap_set_misuse_handler(record);
	test_misaligned_interior();
	test_wrong_size();
	test_damaged(false);
	test_damaged(true);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	printf("kheap_offset_misuse_test: passed\n");
	return 0;
}
