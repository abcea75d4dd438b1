// SPDX-License-Identifier: BSD-2-Clause
/*
 * kfree_sized of a misaligned pointer into a live block (misuse: an
 * interior pointer) is named as kfree names it, with no misaligned load
 * on the way: the size lane below such a pointer is not a tag's, and a
 * misaligned 32-bit load of it is undefined in C (UBSan: "load of
 * misaligned address", the _ubsan twin) and traps on harts that do not
 * emulate misaligned accesses (kheap_offset_of tests q's alignment first
 * for that reason). Built at the default level and at 2.
 */
#include "test_util.h"

#include <stdint.h>
#include <string.h>

int main(void)
{
	test_heap_init(8u << 20);
	kheap_set_misuse_handler(record_misuse);
	percpu_init(PERCPU_MAGAZINES);
	unsigned char *p = kmalloc(64);
	memset(p, 0, 64);
	for (unsigned k = 1; k < 16; k++) {
		if (k == 8)
			continue; /* 8-aligned: aligned lanes, another case */
		int before = misuses;
		kfree_sized(p + k, 16);
		CHECK_EQ(misuses, before + 1);
		CHECK_EQ(last_misuse, HEAP_ERR_INTERIOR_PTR);
	}
	kfree_sized(p, 64); /* still ours */
	CHECK_EQ(misuses, 14);
	CHECK(percpu_check_drained(0));
	printf("sized_misaligned_test: PASS\n");
	return 0;
}
