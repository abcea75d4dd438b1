// SPDX-License-Identifier: BSD-2-Clause
/*
 * krealloc_hit, the shim's realloc without a call: a live class block
 * stays when krealloc's rule keeps it, else moves to a block from the hit
 * paths with its bytes, and goes into its class's magazine. On any miss it
 * returns NULL and changes nothing, so that krealloc, which the caller
 * takes next, finds p as it was: a pointer outside the heap (no load
 * through it), size 0 or past the classes, a block in a magazine (a double
 * free, for krealloc to name), a damaged tag, a block of the heap's or a
 * class only the heap serves, and a class whose magazine has no round.
 * Ends with every block back and a clean heap.
 */
#include "test_util.h"

#include <stdint.h>
#include <string.h>

#include "percpu/percpu_internal.h" /* krealloc_hit */

#define SMALL 100  /* a fast class's request */
#define MOVED 1000 /* another fast class's: a move from SMALL */
#define UNUSED 3000 /* a fast class no call here used before: no magazine */

static void *hit(void *p, size_t size)
{
	return krealloc_hit(p, size, kheap_bounds_.lo, kheap_bounds_.span);
}

static void fill(unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(v + i);
}

static int filled(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(v + i))
			return 0;
	return 1;
}

int main(void)
{
	test_percpu_init_as_hart0(8u << 20);
	test_unbounded_caches();
	/* Each class's magazine holds a round: a kmalloc + kfree loads it. */
	kfree(kmalloc(SMALL));
	kfree(kmalloc(MOVED));

	unsigned char *p = kmalloc(SMALL);
	CHECK(p);
	size_t usable = ksize(p);
	fill(p, SMALL, 7);

	/* Kept: a smaller request that fills half the block, and the same size. */
	CHECK(hit(p, usable / 2 + 1) == p);
	CHECK(hit(p, SMALL) == p);
	CHECK(filled(p, SMALL, 7));

	/* Misses that must leave p as it was. */
	unsigned char outside[64];
	CHECK(hit(outside + 16, SMALL) == NULL); /* not the heap's */
	CHECK(hit(p, 0) == NULL);
	/* Size 0 is a free (krealloc's), even of the smallest class's block. */
	void *tiny = kmalloc(1);
	CHECK(tiny && hit(tiny, 0) == NULL && !heap_tag_is_cached(tiny));
	kfree(tiny);
	CHECK(hit(p, PERCPU_MAX_SMALL + 1) == NULL);
	CHECK(hit(p, UNUSED) == NULL); /* no round to move to */
	/* A damaged check lane: krealloc's path names it, not this one. */
	unsigned char *check_hi = p - 8 + HEAP_LANE_CHECK + 1;
	*check_hi ^= 0x01;
	CHECK(hit(p, MOVED) == NULL);
	*check_hi ^= 0x01;
	CHECK(!heap_tag_is_cached(p) && filled(p, SMALL, 7) && ksize(p) == usable);

	/* Moved: the bytes go with it, p goes into its magazine, next out. */
	unsigned char *q = hit(p, MOVED);
	CHECK(q && q != p && ksize(q) >= MOVED);
	CHECK(filled(q, SMALL, 7));
	CHECK(heap_tag_is_cached(p));
	/* p is in a magazine now: a double free, which only krealloc names. */
	CHECK(hit(p, MOVED) == NULL && heap_tag_is_cached(p));
	CHECK(kmalloc(SMALL) == p);

	/* The heap's blocks and the classes only the heap serves miss. */
	void *big = kmalloc(PERCPU_MAX_SMALL + 1);
	CHECK(big && hit(big, SMALL) == NULL && !heap_tag_is_cached(big));
	unsigned heaps = 0; /* with the kernel's knobs, 5 KiB and up */
	for (size_t size = PERCPU_MAX_FAST; size <= PERCPU_MAX_SMALL; size += 4096) {
		void *h = kmalloc(size);
		CHECK(h);
		if (heap_tag_state(h) == HEAP_STATE_LIVE) {
			heaps++;
			CHECK(hit(h, SMALL) == NULL && heap_tag_state(h) == HEAP_STATE_LIVE);
		}
		kfree(h);
	}
	CHECK(heaps > 0);

	kfree(big);
	kfree(p);
	kfree(q);
	percpu_drain();
	CHECK_EQ(test_heap_live(), 0);
	CHECK_EQ(test_heap_validate(), 0);
	printf("realloc_hit_test: PASS\n");
	return 0;
}
