// SPDX-License-Identifier: BSD-2-Clause
/*
 * A hart's refills of a class grow: the first takes
 * PERCPU_REFILL_FIRST_ROUNDS rounds from the heap, each after it twice the
 * last, up to the magazine's capacity; emptying the class's slot (here a
 * drain) starts the class small again. So a class a hart uses a little
 * carves a few blocks, not a whole magazine of memory nobody touches. A
 * refill the heap could not fill counts what it got, not what it asked.
 */
#include "test_util.h"

#include <percpu/config.h>

#define SIZE 64
#define REFILLS 10 /* from 1 round, enough to pass 255 and stay there */
/*
 * 1 MiB: room for the passes' thousand-odd blocks and their magazines;
 * short_refill fills it with blocks of the class one call at a time, and at
 * hardening level 3 each call validates the whole heap (quadratic: a 4 MiB
 * heap took most of the test's 60 s on a loaded 2-core host).
 */
#define HEAP_BYTES (1u << 20)

/* Heap blocks of SIZE bytes, as many as the heap holds. */
static void *fill[HEAP_BYTES / SIZE];

/*
 * Frees n of the filling blocks from index `from`, every other one: each
 * between two live ones, so they cannot merge, and each room for one block
 * of the class. Returns the index after the last.
 */
static size_t free_isolated(size_t from, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		kheap_free(fill[from + 2 * i]);
		fill[from + 2 * i] = NULL;
	}
	return from + 2 * n;
}

/*
 * A refill the heap cannot fill (it is nearly out of memory): the next one
 * asks for twice what came, not twice what was asked.
 */
static void short_refill(size_t cap)
{
	static void *got[64];
	size_t nfill = 0, ngot = 0;

	/*
	 * The slot's first refill while the heap has room, so its magazine
	 * exists before the heap fills; then its rounds, all hits.
	 */
	for (size_t i = 0; i < PERCPU_REFILL_FIRST_ROUNDS; i++)
		got[ngot++] = kmalloc(SIZE);
	CHECK_EQ(percpu_cached_bytes(0), 0);

	while (nfill < sizeof(fill) / sizeof(fill[0]) && (fill[nfill] = kheap_try_alloc(SIZE, 0)))
		nfill++;
	CHECK(nfill > 100 && nfill < sizeof(fill) / sizeof(fill[0]));
	/*
	 * That reclaim freed the slot's magazine, array and all, and the heap
	 * retried: the last blocks took the array's room. Give them back until
	 * a new magazine's array (room for cap rounds and a spare word, and
	 * its header) fits again; no round fits beside it.
	 */
	struct kheap_stats hs;
	do {
		kheap_free(fill[--nfill]);
		kheap_get_stats(&hs);
	} while (hs.heap.largest_free < (cap + 3) * sizeof(void *));

	/*
	 * Filling the heap ended in its reclaim, which flushed this hart's
	 * caches: the next refill asks PERCPU_REFILL_FIRST_ROUNDS again, and
	 * gets `came`, fewer.
	 */
	const size_t came = (PERCPU_REFILL_FIRST_ROUNDS + 1) / 2;
	CHECK(came < PERCPU_REFILL_FIRST_ROUNDS);
	size_t next = free_isolated(1, came);
	struct percpu_stats s = test_hart0_stats();
	for (size_t i = 0; i < came; i++)
		got[ngot++] = kmalloc(SIZE);
	struct percpu_stats t = test_hart0_stats();
	CHECK_EQ(t.refills, s.refills + 1);
	CHECK_EQ(t.refill_blocks - s.refill_blocks, came);

	/* Room for more now: the next refill asks twice what came, not asked. */
	free_isolated(next, 4 * came + 4);
	got[ngot++] = kmalloc(SIZE);
	s = test_hart0_stats();
	CHECK_EQ(s.refills, t.refills + 1);
	CHECK_EQ(s.refill_blocks - t.refill_blocks, 2 * came);
	CHECK(2 * came < cap);

	for (size_t i = 0; i < ngot; i++)
		kfree(got[i]);
	for (size_t i = 0; i < nfill; i++)
		kheap_free(fill[i]);
	CHECK(percpu_check_drained(0));
}

/*
 * A refill that gets nothing (no free block of the class left; the heap
 * filled by batches, which call no reclaim) gives its magazine back, to
 * the depot as an empty one: once the heap has room again and the caches
 * are drained, nothing is left charged or live.
 */
static void empty_refill(void)
{
	static void *got[PERCPU_REFILL_FIRST_ROUNDS];
	size_t nfill = 0, k, ngot = 0;

	/* The slot's magazine, loaded and emptied by hits. */
	kfree(kmalloc(SIZE));
	while (percpu_cached_bytes(0))
		got[ngot++] = kmalloc(SIZE);
	/* Big blocks first: few blocks, a quick validator at hardening level 3. */
	for (size_t sz = 64 << 10; sz >= SIZE; sz /= 2)
		while (nfill < sizeof(fill) / sizeof(fill[0]) &&
		       (k = kheap_alloc_batch(sz, 0, fill + nfill,
					      sizeof(fill) / sizeof(fill[0]) - nfill)))
			nfill += k;
	CHECK(nfill > 0 && nfill < sizeof(fill) / sizeof(fill[0]));
	struct percpu_stats s = test_hart0_stats();
	/*
	 * The refill gets nothing and gives its magazine to the depot; the
	 * one block then asked of the heap comes with its reclaim, which may
	 * free that empty magazine and take its room (kmalloc_try is kmalloc
	 * without the panic): either answer is right.
	 */
	void *p = kmalloc_try(SIZE);
	struct percpu_stats t = test_hart0_stats();
	CHECK_EQ(t.refills, s.refills + 1); /* with the magazine, from no heap */
	CHECK_EQ(t.refill_blocks, s.refill_blocks);
	kfree(p);
	kheap_free_batch(fill, nfill);
	while (ngot)
		kfree(got[--ngot]);
	test_drain_leaves_nothing();
}

int main(void)
{
	test_percpu_init_as_hart0(HEAP_BYTES);
	test_unbounded_caches();
	const size_t cap = percpu_class_rounds[percpu_size_class(SIZE)];
	CHECK(cap >= 4 * PERCPU_REFILL_FIRST_ROUNDS); /* room for two doublings */
	static void *b[REFILLS * 256];

	for (int pass = 0; pass < 2; pass++) {
		size_t want = PERCPU_REFILL_FIRST_ROUNDS, held = 0;
		for (int r = 0; r < REFILLS; r++) {
			/* The cache is empty: this allocation refills it. */
			struct percpu_stats s = test_hart0_stats();
			b[held++] = kmalloc(SIZE);
			struct percpu_stats t = test_hart0_stats();
			CHECK_EQ(t.refills, s.refills + 1);
			CHECK_EQ(t.refill_blocks - s.refill_blocks, want);
			/* The rest of the refill: hits, and the cache is empty again. */
			for (size_t i = 1; i < want; i++)
				b[held++] = kmalloc(SIZE);
			CHECK_EQ(test_hart0_stats().refills, t.refills);
			CHECK_EQ(percpu_cached_bytes(0), 0);
			want = 2 * want < cap ? 2 * want : cap;
		}
		CHECK_EQ(want, cap);
		for (size_t i = 0; i < held; i++)
			kfree(b[i]);
		/* The drain empties the slot: the next pass starts small again. */
		CHECK(percpu_check_drained(0));
		CHECK_EQ(percpu_depot_bytes(), 0);
	}
	short_refill(cap);
	test_drain_leaves_nothing();
	empty_refill();
	printf("refill_test: PASS\n");
	return 0;
}
