// SPDX-License-Identifier: BSD-2-Clause
/*
 * Corruption tests of the per-hart caches (lib/slub_kunit.c style): damage
 * a block while it sits in a magazine, or free into one, then make the next
 * operation meet it and assert exactly what is reported, how many times.
 * At HEAP_HARDENING >= 2 cached blocks are poisoned: a write after free is
 * named when the block is handed out again, and a free of a pointer into a
 * cached block is a double free, and an overflow into a block's canary is
 * named at the kfree that would cache it. Below, all go unseen (the gap level 2
 * closes). Built at the build's level (corruption_test) and at level 2
 * (corruption_hardened_test).
 */
#include "test_util.h"

#include <percpu/config.h>
#include <stdint.h>
#include <string.h>

static size_t last_size;

static void record(enum heap_error e, void *p, size_t size, const char *where)
{
	(void)p;
	(void)where;
	misuses++;
	last_misuse = e;
	last_size = size;
}

int main(void)
{
	test_percpu_init_as_hart0(4u << 20);
	kheap_set_misuse_handler(record);

	/* 1. Write after free: one byte of a cached block. */
	unsigned char *p = kmalloc(100);
	kfree(p);
	p[37] = 0x42;
	misuses = 0;
	unsigned char *q = kmalloc(100); /* LIFO: the same block */
	CHECK(q == p);
	if (PERCPU_HARDEN >= 2)
		CHECK(misuses == 1 && last_misuse == HEAP_ERR_WRITE_AFTER_FREE &&
		      last_size == ksize(q));
	else
		CHECK(misuses == 0);

	/* 2. Untouched while cached: nothing to report. */
	kfree(q);
	misuses = 0;
	CHECK(kmalloc(100) == q);
	CHECK(misuses == 0);
	kfree(q);

	/* 3. A free of a pointer into a cached block (p + 32: a stale interior pointer). */
	unsigned char *r = kmalloc(200);
	kfree(r);
	misuses = 0;
	kfree(r + 32);
	if (PERCPU_HARDEN >= 2)
		CHECK(misuses == 1 && last_misuse == HEAP_ERR_DOUBLE_FREE);
	else
		CHECK(misuses == 1); /* the heap names it by what it sees there */

#if PERCPU_HARDEN >= 2
	/*
	 * 4. An overflow past the usable size into the canary: the kfree that
	 * would cache the block names it instead ("buffer overflow (canary)",
	 * once) and caches nothing. (Below level 2 the byte past the usable
	 * size is the next block's tag: the heap's own tests cover that.)
	 */
	unsigned char *v = kmalloc(100);
	size_t usable = ksize(v);
	v[usable] ^= 0x01;
	misuses = 0;
	kfree(v);
	/* Level 3's validator at the lock's release names it first, too. */
	CHECK((misuses == 1 || (PERCPU_HARDEN >= 3 && misuses == 2)) &&
	      last_misuse == HEAP_ERR_CANARY);
	CHECK(kmalloc(100) != v); /* not in a magazine */
	v[usable] ^= 0x01; /* repaired, for the validator below */
	misuses = 0;
#endif

	kheap_set_misuse_handler(NULL);
	percpu_drain();
	CHECK(test_heap_validate() == 0);
	printf("percpu corruption_test: PASS at HEAP_HARDENING=%d\n", PERCPU_HARDEN);
	return 0;
}
