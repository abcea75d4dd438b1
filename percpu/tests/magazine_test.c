// SPDX-License-Identifier: BSD-2-Clause
/*
 * Magazine transitions on one hart, observed through the statistics and the
 * heap's live count: refill, hits, loaded/previous swap, depot exchange,
 * return of the depot's excess (and the depot's own count of its lock),
 * trim, drain; plus tags and the kmalloc family, and a hart's exit handing a
 * partly full magazine to the next hart.
 * Uses the 2 KiB class (8 rounds per magazine) so the counts are small.
 */
#include "test_util.h"

#include <string.h>

#define SZ 2048
#define CLS 23 /* the 2 KiB class */


int main(void)
{
	test_percpu_init_as_hart0(4u << 20);
	test_unbounded_caches();
	const size_t cap = percpu_class_rounds[CLS];
	CHECK(cap == 8);
	void *b[128];

	/* First allocation: a refill of one magazine from the heap. */
	b[0] = kmalloc(SZ);
	struct percpu_stats s = test_hart0_stats();
	CHECK(s.refills == 1 && s.refill_blocks == cap && s.alloc_hits == 0);
	CHECK(percpu_cached_bytes(0) == (cap - 1) * SZ);
	CHECK(!heap_tag_is_cached(b[0]));
	CHECK(ksize(b[0]) >= SZ);

	/* The rest of the magazine: fast-path hits, no refill. */
	for (size_t i = 1; i < cap; i++)
		b[i] = kmalloc(SZ);
	s = test_hart0_stats();
	CHECK(s.refills == 1 && s.alloc_hits == cap - 1);
	CHECK(percpu_cached_bytes(0) == 0);

	/* Empty loaded, no previous, empty depot: a second refill. */
	b[cap] = kmalloc(SZ);
	CHECK(test_hart0_stats().refills == 2);

	/* Free 2*cap+1 ... fill loaded, then a fresh one; previous = full. */
	size_t held = cap + 1;
	for (size_t i = cap + 1; i < 2 * cap; i++)
		b[i] = kmalloc(SZ); /* hits */
	held = 2 * cap;
	for (size_t i = 0; i < held; i++) {
		kfree(b[i]);
		CHECK(heap_tag_is_cached(b[i]));
	}
	CHECK(percpu_cached_bytes(0) == 2 * cap * SZ);
	CHECK(percpu_depot_bytes() == 0);

	/* Take 2*cap back: cap hits, one swap, cap - 1 more hits. */
	s = test_hart0_stats();
	for (size_t i = 0; i < held; i++) {
		b[i] = kmalloc(SZ);
		CHECK(!heap_tag_is_cached(b[i]));
	}
	struct percpu_stats t = test_hart0_stats();
	CHECK(t.swaps == s.swaps + 1);
	CHECK(t.refills == s.refills);
	CHECK(t.alloc_hits == s.alloc_hits + 2 * cap - 1);
	CHECK(percpu_cached_bytes(0) == 0);

	/* Hold 64 blocks, free them all: depot gets full magazines, excess returns. */
	for (size_t i = held; i < 64; i++)
		b[i] = kmalloc(SZ);
	held = 64;
	s = test_hart0_stats();
	for (size_t i = 0; i < held; i++)
		kfree(b[i]);
	t = test_hart0_stats();
	/*
	 * 16 stay in the hart's magazines, 48 = 6 full magazines leave it: the
	 * depot takes PERCPU_DEPOT_MAX_FULL, the rest go back to the heap.
	 */
	CHECK(t.depot_exchanges - s.depot_exchanges == PERCPU_DEPOT_MAX_FULL);
	CHECK(percpu_cached_bytes(0) == 2 * cap * SZ);
	CHECK(percpu_depot_bytes() == PERCPU_DEPOT_MAX_FULL * cap * SZ);
	CHECK(t.returns - s.returns == 6 - PERCPU_DEPOT_MAX_FULL);
	CHECK(t.return_blocks - s.return_blocks == (6 - PERCPU_DEPOT_MAX_FULL) * cap);
	CHECK(t.lock_acquisitions > s.lock_acquisitions);

	/* Allocate from the depot: full magazines come back by exchange. */
	s = test_hart0_stats();
	for (size_t i = 0; i < 3 * cap; i++)
		b[i] = kmalloc(SZ);
	t = test_hart0_stats();
	CHECK(t.refills == s.refills);
	CHECK(t.depot_exchanges - s.depot_exchanges == 1);
	CHECK(percpu_depot_bytes() == (PERCPU_DEPOT_MAX_FULL - 1) * cap * SZ);

	/*
	 * The depots' own count of their locks: so far every acquisition was
	 * hart 0's and in this class, so the class's depot counted them all
	 * and the others none.
	 */
	struct percpu_depot_stats d;
	CHECK(percpu_get_depot_stats(CLS, &d));
	CHECK_EQ(d.class_size, (size_t)SZ);
	CHECK(d.acquisitions > 0);
	CHECK_EQ(d.acquisitions, t.lock_acquisitions);
	CHECK_EQ(d.spins, t.lock_spins);
	CHECK_EQ(d.full, (size_t)PERCPU_DEPOT_MAX_FULL - 1);
	for (unsigned k = 0; k < PERCPU_NCLASSES; k++) {
		CHECK(percpu_get_depot_stats(k, &d));
		if (k != CLS)
			CHECK_EQ(d.acquisitions, (uint64_t)0);
	}
	CHECK(!percpu_get_depot_stats(PERCPU_NCLASSES, &d));
	CHECK(d.class_size == 0 && d.acquisitions == 0);
	for (size_t i = 0; i < 3 * cap; i++)
		kfree(b[i]);

	/*
	 * A trim gives back this hart's magazines and the depots at once (no
	 * other hart here to ask): the heap holds only the caller's block.
	 */
	void *kept = kmalloc(100);
	for (size_t i = 0; i < 3 * cap; i++)
		b[i] = kmalloc(SZ);
	for (size_t i = 0; i < 3 * cap; i++)
		kfree(b[i]);
	CHECK(percpu_cached_bytes(0) > 0);
	percpu_trim();
	CHECK(percpu_cached_bytes(0) == 0 && percpu_depot_bytes() == 0);
	struct kheap_stats ks;
	kheap_get_stats(&ks);
	CHECK_EQ(ks.heap.live_allocs, (size_t)1);
	kfree(kept);

	/* A full drain leaves the heap with exactly the caller's blocks. */
	void *keep = kmalloc(100);
	CHECK(percpu_check_drained(1));
	CHECK(!percpu_check_drained(0)); /* and the check can fail */
	CHECK(percpu_cached_bytes(0) == 0 && percpu_depot_bytes() == 0);
	kfree(keep);
	CHECK(percpu_check_drained(0));

	/* The family. */
	unsigned char *z = kzalloc(300);
	for (int i = 0; i < 300; i++)
		CHECK(z[i] == 0);
	memset(z, 0xab, 300);
	kfree(z);
	z = kzalloc(300); /* the same block, reused: zeroed again */
	for (int i = 0; i < 300; i++)
		CHECK(z[i] == 0);
	unsigned *c = kcalloc(50, sizeof(unsigned));
	for (int i = 0; i < 50; i++)
		CHECK(c[i] == 0);
	for (int i = 0; i < 50; i++)
		c[i] = (unsigned)i;
	c = krealloc(c, 4000);
	for (int i = 0; i < 50; i++)
		CHECK(c[i] == (unsigned)i);
	/* A shrink stays in its class, or in a block it fills half of. */
	unsigned *same = krealloc(c, 3900);
	CHECK(same == c);
	same = krealloc(c, 2100); /* class 2560, but half of the 4 KiB block */
	CHECK(same == c);
	c = krealloc(c, 1900); /* class 2048, under half: a move */
	CHECK(ksize(c) >= 1900 && ksize(c) < 4096);
	for (int i = 0; i < 50; i++)
		CHECK(c[i] == (unsigned)i);
	c = krealloc(c, 10000); /* a big class */
	for (int i = 0; i < 50; i++)
		CHECK(c[i] == (unsigned)i);
	CHECK(ksize(c) >= 10000);
	/*
	 * Past the classes the heap resizes a class block: no new block from
	 * percpu, and the old one is not cached (it would pin a hole).
	 */
	struct percpu_stats s0 = test_hart0_stats();
	c = krealloc(c, PERCPU_MAX_SMALL + 1);
	struct percpu_stats s1 = test_hart0_stats();
	CHECK(c && ksize(c) > PERCPU_MAX_SMALL);
	CHECK_EQ(s1.allocs, s0.allocs);
	CHECK_EQ(s1.frees, s0.frees);
	for (int i = 0; i < 50; i++)
		CHECK(c[i] == (unsigned)i);
	CHECK(krealloc(c, 0) == NULL);
	void *a = kmalloc_aligned(100, 256);
	CHECK(((uintptr_t)a & 255) == 0);
	kfree(a);
	/* Alignments <= 16: powers of two (and 0) take the classes ... */
	static const size_t ok_align[] = { 0, 1, 2, 4, 8, 16 };
	for (size_t i = 0; i < sizeof(ok_align) / sizeof(ok_align[0]); i++) {
		a = kmalloc_aligned(64, ok_align[i]);
		CHECK(a && ((uintptr_t)a & 15) == 0);
		kfree(a);
	}
	/* ... anything else is misuse, even when <= 16. */
	kheap_set_misuse_handler(record_misuse);
	static const size_t bad_align[] = { 3, 6, 12, 15, 48 };
	for (size_t i = 0; i < sizeof(bad_align) / sizeof(bad_align[0]); i++) {
		misuses = 0;
		CHECK(kmalloc_aligned(64, bad_align[i]) == NULL);
		CHECK(misuses == 1 && last_misuse == HEAP_ERR_BAD_ALIGN);
	}
	kheap_set_misuse_handler(NULL);
	void *big = kmalloc(100000);
	CHECK(ksize(big) >= 100000);
	kfree_sized(big, 100000);
	kfree_sized(z, 300);
	kfree(NULL);
	CHECK(kmalloc_try((size_t)1 << 35) == NULL); /* fits the tag, not the heap */
	struct percpu_stats sum;
	percpu_sum_stats(&sum);
	t = test_hart0_stats();
	CHECK(memcmp(&sum, &t, sizeof(sum)) == 0);
	CHECK(t.allocs >= t.alloc_hits && t.large_allocs >= 2);
	CHECK(percpu_check_drained(0));

	/*
	 * Hart exit parks a partly full magazine in the depot, and the next
	 * hart to use the class takes it there instead of refilling from the
	 * heap: a thread that ends hands its cache on (larson's successors).
	 */
	for (size_t i = 0; i < cap; i++)
		b[i] = kmalloc(SZ);
	for (size_t i = 0; i < cap - 2; i++)
		kfree(b[i]); /* the loaded magazine: cap - 2 of cap rounds */
	s = test_hart0_stats();
	percpu_hart_exit();
	t = test_hart0_stats();
	CHECK_EQ(t.return_blocks, s.return_blocks);
	CHECK_EQ(percpu_cached_bytes(0), (size_t)0);
	CHECK_EQ(percpu_depot_bytes(), (cap - 2) * SZ);
	port_host_become_hart(1);
	for (size_t i = 0; i < cap - 2; i++) {
		void *q = kmalloc(SZ);
		size_t j = 0;
		while (j < cap - 2 && b[j] != q)
			j++;
		CHECK(j < cap - 2); /* one that hart 0 cached */
	}
	struct percpu_stats h1;
	percpu_get_stats(1, &h1);
	CHECK_EQ(h1.refills, (uint64_t)0);
	CHECK_EQ(h1.depot_exchanges, (uint64_t)1);
	CHECK_EQ(percpu_depot_bytes(), (size_t)0);
	for (size_t i = 0; i < cap; i++)
		kfree(b[i]);
	CHECK(percpu_check_drained(0));
	CHECK(test_heap_validate() == 0);
	printf("magazine_test: PASS\n");
	return 0;
}
