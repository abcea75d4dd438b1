// SPDX-License-Identifier: BSD-2-Clause
/*
 * A cached round of class c is charged c bytes (budget.c), so the caches
 * may hold only blocks of about c bytes: a heap block of any other size
 * that kfree caches under the largest class it holds (one kheap_alloc'd,
 * grown in place, or a kmalloc the class could not serve, sized to the
 * request) held up to 25% more than its charge, under the budget's
 * radar, and kmalloc(c) then handed it out. Each case frees blocks of a
 * size just under the next class to a warm hart, then checks what the
 * caches hold in the heap against their charge, and what kmalloc(c)
 * hands out; blocks of the class's own size are still cached.
 */
#include "test_util.h"

#define HEAP (16u << 20)
#define N 64
/* Bytes a class block has past its class: its tag, a 16-byte granule. */
#define CLASS_BLOCK_SLACK 32u

static void *b[N];

static void check_class(size_t cls_size, size_t odd_size, bool cacheable)
{
	struct kheap_stats st;
	struct percpu_cache_stats cs;

	void *w = kmalloc(cls_size); /* the class has a magazine */
	kfree(w);
	for (size_t i = 0; i < N; i++)
		CHECK((b[i] = kheap_alloc(odd_size, 0)) != NULL);
	for (size_t i = 0; i < N; i++)
		kfree(b[i]);
	/* The test holds nothing: every heap byte in use is the caches'. */
	kheap_get_stats(&st);
	percpu_get_cache_stats(&cs);
	size_t rounds = cs.cached_bytes / cls_size;
	printf("class %zu, blocks of %zu: the caches hold %zu heap bytes, "
	       "charged %zu (%zu rounds)\n", cls_size, odd_size, st.heap.bytes_in_use,
	       cs.charged, rounds);
	CHECK(st.heap.bytes_in_use <= cs.charged + rounds * CLASS_BLOCK_SLACK);
	CHECK(cacheable == (rounds >= N / 4)); /* a refill for the warm-up caches a few */

	size_t worst = 0;
	for (size_t i = 0; i < N; i++) {
		b[i] = kmalloc(cls_size);
		size_t over = ksize(b[i]) - cls_size;
		if (over > worst)
			worst = over;
	}
	printf("  kmalloc(%zu) handed out blocks up to %zu bytes over\n", cls_size, worst);
	CHECK(worst < CLASS_BLOCK_SLACK);
	for (size_t i = 0; i < N; i++)
		kfree(b[i]);
	percpu_trim();
}

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	/* Classes whose 64 rounds the budget lets one hart cache. */
	check_class(1024, 1270, false); /* the next class is 1280 */
	check_class(2048, 2550, false); /* 2560 */
	/* A heap block of a class's own size is cached as a class block is. */
	check_class(1024, 1024, true);
	check_class(2048, 2048, true);
	test_drain_leaves_nothing();
	printf("charge_covers_test: PASS\n");
	return 0;
}
