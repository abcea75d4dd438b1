// SPDX-License-Identifier: BSD-2-Clause
/*
 * bin_of against bin_lo: every block size from the smallest to past the
 * last bin's start lands in the bin whose range holds it, and the RISC-V
 * (no Zbb) log2 table that bin_of uses for the range bins agrees with
 * heap_log2 on every index it covers. The table is checked here, on the
 * host, because it is a byte list a typo could break; the kernel uses it.
 */
#include "test_util.h"

#include "../heap_internal.h"

int main(void)
{
	for (uintptr_t u = 64; u < LAST_BIN_U; u++)
		CHECK_EQ(range_log2_by_table(u), heap_log2(u));
	unsigned sizes = 0;
	for (uintptr_t s = MIN_BLOCK; s < (LAST_BIN_U << 4) * 4; s += 16, sizes++) {
		unsigned i = bin_of(s);
		CHECK(i < HEAP_NUM_BINS);
		CHECK(bin_lo[i] <= s && s < bin_lo[i + 1]);
	}
	CHECK_EQ(bin_of(MIN_BLOCK), 0u);
	CHECK_EQ(bin_of(LAST_BIN_U << 4), HEAP_NUM_BINS - 1);
	printf("bin_of_test: PASS sizes=%u table=%u\n", sizes, (unsigned)(LAST_BIN_U >> 6));
	return 0;
}
