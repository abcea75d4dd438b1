// SPDX-License-Identifier: BSD-2-Clause
/*
 * A region that starts at address 0 (RAM at 0, identity-mapped): its
 * header cannot sit at 0, which is the NULL that ends the region list,
 * so the heap starts it 16 bytes in, as it rounds any unaligned start. A
 * header at 0 made heap_claim return HEAP_OK with the region lost: an
 * empty list, heap_bytes counting it, every allocation out of memory.
 * Runs where the host lets a process map page 0 (root, or
 * vm.mmap_min_addr 0); says so and passes elsewhere.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "test_util.h"

#include <heap/heap_core.h>

#define LEN 65536u

static void report(void *ctx, const char *msg, void *addr)
{
	(void)ctx;
	fprintf(stderr, "validator: %s at %p\n", msg, addr);
}

int main(void)
{
	void *m = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m == MAP_FAILED || m != NULL) {
		printf("region_at_zero_test: page 0 cannot be mapped here: skipped\n");
		return 0;
	}
	char *zero = m, *end = (char *)(uintptr_t)LEN; /* no arithmetic on NULL */
	struct heap h;
	enum heap_error e = HEAP_OK;

	/* heap_init's claim, and heap_claim's, of [0, LEN). */
	for (int via_claim = 0; via_claim < 2; via_claim++) {
		if (via_claim) {
			CHECK_EQ(heap_init(&h, NULL, NULL), HEAP_OK);
			CHECK_EQ(heap_claim(&h, zero, end), HEAP_OK);
		} else {
			CHECK_EQ(heap_init(&h, zero, end), HEAP_OK);
		}
		CHECK_EQ(heap_validate(&h, report, NULL), 0);
		struct heap_stats st;
		heap_get_stats(&h, &st);
		CHECK_EQ(st.regions, 1);
		CHECK(st.largest_free > LEN - 128);
		void *p = heap_alloc(&h, 1000, 0, &e);
		CHECK(p != NULL);
		CHECK((char *)p > zero && (char *)p + 1000 <= end);
		CHECK_EQ(heap_free(&h, p), HEAP_OK);
		CHECK_EQ(heap_validate(&h, report, NULL), 0);
	}
	printf("region_at_zero_test: PASS\n");
	return 0;
}
