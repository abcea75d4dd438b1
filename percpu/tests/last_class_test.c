// SPDX-License-Identifier: BSD-2-Clause
/*
 * A block made for a class lands in one of two entries of the usable
 * table (<percpu/size_class.h>): its class's own (usable: the class + 8;
 * at level 2, + 0) or, with a 16-byte remainder the heap could not split
 * off, the next (+ 24; at level 2, + 16). For the last class, 32 KiB, the
 * table ended at the first: kfree took such a round for a heap block past
 * the classes (cacheable_size) and gave it back to the heap as a large
 * free each time it was handed out: a round lost to the heap lock at both
 * ends. Here the 32 KiB class's refill finds a hole of a class block plus
 * 16 bytes first: the block cut from it must be cached when it is freed,
 * as every other round of the class is. Built with the shim's magazines
 * (tools/shim/BUILD), where the class has them: at the kernel's 16 KiB
 * cap the heap alone serves it.
 */
#include "test_util.h"

#include <heap/heap_tag.h>

#define HEAP ((size_t)16 << 20)
#define CLASS ((size_t)32768)
/* Usable bytes of a block of a class block's bytes plus one granule. */
#define HOLE_USABLE (CLASS + 16 + 16 - sizeof(uintptr_t) - HEAP_CANARY_BYTES)

int main(void)
{
	enum { MAX = 16 };
	void *got[MAX];
	test_percpu_init_as_hart0(HEAP);
	test_unbounded_caches();

	void *below = kheap_alloc(64, 0), *hole = kheap_alloc(HOLE_USABLE, 0);
	void *above = kheap_alloc(64, 0);
	CHECK(ksize(hole) == HOLE_USABLE);
	/* The class's magazine made and loaded, then emptied: its refill is next. */
	size_t n = 0;
	got[n++] = kmalloc(CLASS);
	while (percpu_cached_bytes(0) && n < MAX)
		got[n++] = kmalloc(CLASS);
	kheap_free(hole);
	/* The refill's run starts in the hole; its block comes out last. */
	void *p = NULL;
	while (n < MAX && (p = kmalloc(CLASS)) != hole)
		got[n++] = p;
	CHECK(p == hole && heap_tag_state(p) != HEAP_STATE_LIVE); /* a round */
	printf("last_class_test: a 32 KiB round of %zu usable bytes\n", ksize(p));
	kfree(p);
	CHECK(heap_tag_is_cached(p)); /* in the magazine, not back in the heap */
	while (n)
		kfree(got[--n]);
	kfree(below);
	kfree(above);
	CHECK(percpu_check_drained(0));
	printf("last_class_test: PASS\n");
	return 0;
}
