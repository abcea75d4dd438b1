// SPDX-License-Identifier: BSD-2-Clause
/*
 * The hull (kheap_bounds_'s hull_lo and hull_span) read while kheap_claim
 * rewrites it. A claim below every region moves hull_lo down and hull_span
 * up, two relaxed stores, loaded without the lock: a hart may see the new
 * hull_lo with the old hull_span, a hull whose top part misses the old
 * region. That may only send a good block to a slow path: kheap's own
 * calls must still take a block of the old region for what it is, not name
 * it (a plain block at level 2, whose claim looks at the hull first, was
 * "double free"; an offset-tagged pointer at every level was taken for an
 * interior pointer).
 * The race's window is two stores wide, so the test makes that view by
 * hand (the new hull_lo, the old hull_span) and hands each call that takes
 * a pointer a plain block and an offset-tagged one from the top of the old
 * region.
 */
#include "test_util.h"

#include <heap/kheap.h>
#include <string.h>

#define MIB ((size_t)1 << 20)

static int misuses;
static void record(enum heap_error err, void *ptr, size_t size, const char *where)
{
	fprintf(stderr, "misuse: %s: %p size %zu (%s)\n", heap_error_name(err), ptr, size,
		where);
	misuses++;
}

/* An offset-tagged pointer into a fresh block, as percpu's kmalloc_aligned makes. */
static char *offset_alloc(void)
{
	for (;;) {
		char *b = kheap_alloc(600, 0);
		if ((uintptr_t)b % 128 == 0)
			continue; /* q must lie above b: leave this one, take another */
		char *q = kheap_offset_place(b, kheap_usable_size(b), 300, 128);
		CHECK(q && q != b);
		kheap_offset_tag_write(q, (size_t)(q - b));
		return q;
	}
}

static uintptr_t new_span, old_span;

/* What a hart that loads the pair mid-claim may see. */
static void torn(void)
{
	__atomic_store_n(&kheap_bounds_.hull_span, old_span, __ATOMIC_RELAXED);
}

static void whole(void)
{
	__atomic_store_n(&kheap_bounds_.hull_span, new_span, __ATOMIC_RELAXED);
}

int main(void)
{
	char *mem = test_map(4 * MIB);
	char *top = mem + 2 * MIB; /* the first region: [top, top + 1 MiB) */
	kheap_set_misuse_handler(record);
	kheap_init(top, top + MIB);
	/* The blocks below come from the top part of the first region. */
	CHECK(kheap_alloc(MIB / 2, 0) != NULL);
	char *p[4], *q[4];
	for (int i = 0; i < 4; i++) {
		p[i] = kheap_alloc(200, 0);
		q[i] = offset_alloc();
	}
	old_span = kheap_bounds_.hull_span;
	kheap_claim(mem, mem + MIB); /* below: hull_lo moves down by 2 MiB */
	new_span = kheap_bounds_.hull_span;
	CHECK((uintptr_t)p[0] >= kheap_bounds_.hull_lo + old_span); /* outside the torn hull */

	struct kheap_stats s0, s1;
	kheap_get_stats(&s0);

	torn();
	CHECK(kheap_usable_size(p[0]) >= 200);
	CHECK(kheap_usable_size(q[0]) >= 300);
	whole();
	CHECK_EQ(misuses, 0);

	torn();
	kheap_free(p[0]);
	whole();
	CHECK_EQ(misuses, 0);
	torn();
	kheap_free(q[0]);
	whole();
	CHECK_EQ(misuses, 0);
	torn();
	kheap_free_sized(p[1], 200);
	whole();
	CHECK_EQ(misuses, 0);
	size_t q1_size = kheap_usable_size(q[1]); /* its block's, less the offset */
	torn();
	kheap_free_sized(q[1], q1_size);
	whole();
	CHECK_EQ(misuses, 0);
	torn();
	p[2] = kheap_realloc(p[2], 5000);
	whole();
	CHECK_EQ(misuses, 0);
	torn();
	q[2] = kheap_realloc(q[2], 5000);
	whole();
	CHECK_EQ(misuses, 0);

	kheap_get_stats(&s1);
	/* Four freed (two of them by their moves' frees, not counted). */
	CHECK_EQ(s1.heap.total_frees, s0.heap.total_frees + 4);
	CHECK(p[2] && q[2]);
	kheap_free(p[2]);
	kheap_free(q[2]);
	kheap_free(p[3]);
	kheap_free(q[3]);
	CHECK_EQ(misuses, 0);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	printf("kheap_torn_hull_test: PASS\n");
	return 0;
}
