// SPDX-License-Identifier: BSD-2-Clause
/*
 * The class tables: every size 1..PERCPU_MAX_SMALL maps to the smallest
 * class that fits, the waste bound in size_class.h holds, and a usable
 * block size maps to the largest class it can hold if it is a block of that
 * class (within 32 bytes of it), else to none.
 */
#include "test_util.h"

int main(void)
{
	for (unsigned c = 1; c < PERCPU_NCLASSES; c++)
		CHECK(percpu_class_size[c] > percpu_class_size[c - 1]);
	CHECK(percpu_class_size[0] == 16);
	CHECK(percpu_class_size[PERCPU_NCLASSES - 1] == PERCPU_MAX_SMALL);
	CHECK(percpu_class_size[PERCPU_NFAST - 1] == PERCPU_MAX_FAST);
	for (unsigned c = 0; c < PERCPU_NCLASSES; c++) {
		CHECK(percpu_class_size[c] % 16 == 0);
		unsigned r = percpu_class_rounds[c];
		if (c < PERCPU_NFAST) {
			CHECK(r >= PERCPU_MAG_MIN_ROUNDS && r <= PERCPU_MAG_MAX_ROUNDS);
		} else {
			/* Big classes: 2..8 rounds, at most 64 KiB a magazine. */
			CHECK(r >= PERCPU_BIG_MAG_MIN_ROUNDS && r <= PERCPU_BIG_MAG_MAX_ROUNDS &&
			      r * percpu_class_size[c] <= PERCPU_BIG_MAG_BYTES);
		}
	}
	CHECK(percpu_size_class(0) == 0);
	size_t worst_small = 0;
	double worst_ratio = 0;
	for (size_t s = 1; s <= PERCPU_MAX_SMALL; s++) {
		unsigned c = percpu_size_class(s);
		CHECK(c < PERCPU_NCLASSES);
		CHECK(percpu_class_size[c] >= s);
		CHECK(c == 0 || percpu_class_size[c - 1] < s); /* smallest */
		size_t waste = percpu_class_size[c] - s;
		if (s <= 128) {
			if (waste > worst_small)
				worst_small = waste;
		} else {
			double ratio = (double)waste / (double)s;
			if (ratio > worst_ratio)
				worst_ratio = ratio;
			CHECK(waste * 4 < s); /* < 25% of the request */
			CHECK(waste * 5 < percpu_class_size[c]); /* < 20% of block */
		}
	}
	CHECK(worst_small == 15);
	printf("worst waste: %zu B up to 128, %.1f%% of the request above\n",
	       worst_small, worst_ratio * 100);
	/* Usable sizes: the heap's blocks are 16k bytes with an 8-byte tag. */
	CHECK(percpu_usable_class(0) == PERCPU_NCLASSES);
	CHECK(percpu_usable_class(8) == PERCPU_NCLASSES);
	/*
	 * The largest class not above u, if u's entry (u >> 4) is that
	 * class's own or the next: a block made for it. Else none, so a
	 * bigger block is not cached under a class charged less than it.
	 */
	size_t cached = 0;
	for (size_t u = 16; u < PERCPU_USABLE_ENTRIES << 4; u++) {
		unsigned want = PERCPU_NCLASSES;
		for (unsigned c = 0; c < PERCPU_NCLASSES; c++)
			if (percpu_class_size[c] <= u && (u >> 4) - (percpu_class_size[c] >> 4) <= 1)
				want = c;
		CHECK_EQ(percpu_usable_class(u), want);
		cached += want < PERCPU_NCLASSES;
	}
	/*
	 * 16..159 all (the classes to 128, and 128's next entry), then 32
	 * bytes from each class above 128, the last one's too.
	 */
	CHECK_EQ(cached, (160 - 16) + (PERCPU_NCLASSES - 8) * 32);
	/*
	 * A block made for class c (usable c + 8, or c + 24 with a granule
	 * the heap could not split off) goes back to class c.
	 */
	for (unsigned c = 0; c < PERCPU_NCLASSES; c++) {
		CHECK(percpu_usable_class(percpu_class_size[c] + 8) == c);
		if (c >= 7) /* below 128 the next entry is the next class's */
			CHECK(percpu_usable_class(percpu_class_size[c] + 24) == c);
	}
	printf("size_class_test: PASS\n");
	return 0;
}
