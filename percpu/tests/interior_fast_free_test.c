// SPDX-License-Identifier: BSD-2-Clause
/*
 * kfree of an interior pointer whose fake tag (the bytes below it) passes
 * the level-2 fast path's filters, a fast class's state whose slot has
 * room and the check lane's top bit, is named "free of interior pointer",
 * with no load through the fake tag's size: the canary check read the
 * word at the end that size gives, anywhere up to 64 GiB away (a fault),
 * and through a misaligned pointer it read the size lane itself misaligned
 * (undefined in C, UBSan's "load of misaligned address" in the _ubsan
 * twin; a trap on harts that do not emulate misaligned accesses). Two
 * cases: a 16-aligned pointer into a block whose bytes forge such a tag
 * with a 4 GiB size, and p + 1 for a 3072-byte block p, whose check lane's
 * low byte reads as a state and whose size lane's low byte, 0xc1, as the
 * check's top byte. Built at level 2 (the canary's level).
 */
#include "test_util.h"

#include <stdint.h>
#include <string.h>

#define N 256

/* A loaded magazine with room in class cls's slot on this hart. */
static void load_slot(unsigned cls)
{
	void *a = kmalloc(percpu_class_size[cls]), *b = kmalloc(percpu_class_size[cls]);
	kfree(a);
	kfree(b);
	kfree(kmalloc(percpu_class_size[cls]));
}

static void forged_aligned(void)
{
	unsigned char *p = kmalloc(256);
	unsigned cls = 2; /* 48 bytes: slot 4, state 32 */
	load_slot(cls);
	unsigned char fake[8] = { 0, (unsigned char)((cls + 2) << 3), 0x00, 0x80, 0, 0, 0, 0x10 };
	memcpy(p + 8, fake, sizeof(fake)); /* q = p + 16's tag: 2^28 * 16 bytes */
	int before = misuses;
	kfree(p + 16);
	CHECK_EQ(misuses, before + 1);
	CHECK_EQ(last_misuse, HEAP_ERR_INTERIOR_PTR);
	kfree(p); /* still its owner's */
	CHECK_EQ(misuses, before + 1);
}

static void misaligned(void)
{
	static unsigned char *blk[N];
	unsigned char *p = NULL;
	unsigned st = 0;
	for (int i = 0; i < N && !p; i++) {
		blk[i] = kmalloc(3000);
		unsigned char *q = blk[i] + 1;
		unsigned s = heap_tag_state(q); /* p's check lane, low byte */
		if ((s & 7) == 0 && (s >> 3) >= 2 && (s >> 3) < 2 + PERCPU_NFAST &&
		    heap_tag_check_top(q))
			p = blk[i], st = s;
	}
	CHECK(p != NULL);
	load_slot((st >> 3) - 2);
	int before = misuses;
	kfree(p + 1);
	CHECK_EQ(misuses, before + 1);
	CHECK_EQ(last_misuse, HEAP_ERR_INTERIOR_PTR);
	for (int i = 0; i < N && blk[i]; i++)
		kfree(blk[i]); /* p too: still its owner's */
	CHECK_EQ(misuses, before + 1);
}

int main(void)
{
	test_heap_init(16u << 20);
	kheap_set_misuse_handler(record_misuse);
	percpu_init(PERCPU_MAGAZINES);
	test_unbounded_caches();
	forged_aligned();
	misaligned();
	CHECK(percpu_check_drained(0));
	printf("interior_fast_free_test: PASS\n");
	return 0;
}
