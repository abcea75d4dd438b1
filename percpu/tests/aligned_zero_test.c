// SPDX-License-Identifier: BSD-2-Clause
/*
 * kmalloc_aligned(0, align) returns a pointer inside its block, which ksize
 * and kfree then find: 192 of them at alignments 64, 32 and 128, each freed
 * without a report, nothing left after a drain. Before (hardening level 2,
 * where 48-byte blocks sit at 16 mod 64 on a fresh heap), q could land at
 * the block's very end: its offset tag named no block, ksize read past the
 * block, and kfree(q) was named a double free while the block leaked.
 * Built at the default level and at 2 (aligned_zero_h2_test).
 */
#include "test_util.h"

#include <stdint.h>

enum { N = 64 };

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	test_percpu_init_as_hart0(8u << 20);
	kheap_set_misuse_handler(record_misuse);
	printf("HEAP_HARDENING=%d\n", HEAP_HARDENING);

	static void *q[3][N];
	int at_end = 0, ksize_past = 0, named = 0;
	size_t ex_ksize = 0;
	void *ex = NULL;
	for (int a = 0; a < 3; a++) {
		/* 64 first: on a fresh heap its 48-byte blocks sit at 16 mod 64. */
		static const size_t aligns[3] = { 64, 32, 128 };
		size_t align = aligns[a];
		for (int i = 0; i < N; i++) {
			q[a][i] = kmalloc_aligned(0, align);
			CHECK(q[a][i] && ((uintptr_t)q[a][i] & (align - 1)) == 0);
			size_t off = kheap_offset_of(q[a][i]);
			if (off && !kheap_offset_block(q[a][i])) {
				/* q's block b: the payload ends at q. */
				char *b = (char *)q[a][i] - off;
				at_end++;
				if (ksize(q[a][i]) > heap_block_size(b) - off) {
					ksize_past++;
					if (!ex) {
						ex = q[a][i];
						ex_ksize = ksize(q[a][i]);
						printf("align %zu: q=%p b=%p usable(b)=%zu off=%zu ksize(q)=%zu\n",
						       align, ex, (void *)b, heap_block_size(b), off, ex_ksize);
					}
				}
			}
		}
	}
	for (int a = 0; a < 3; a++)
		for (int i = 0; i < N; i++) {
			int before = misuses;
			kfree(q[a][i]);
			if (misuses != before && named++ == 0)
				printf("kfree(%p) named \"%s\" (%s)\n", q[a][i], heap_error_name(last_misuse),
				       last_misuse_where);
		}
	percpu_drain();
	size_t live = test_heap_live();
	printf("pointers at their block's end: %d; ksize past the block: %d; "
	       "kfree named misuse: %d; live blocks after drain: %zu\n", at_end, ksize_past, named, live);
	CHECK_EQ(at_end, 0);
	CHECK_EQ(ksize_past, 0);
	CHECK_EQ(named, 0);
	CHECK_EQ(live, (size_t)0);
	printf("aligned_zero_test: PASS\n");
	return 0;
}
