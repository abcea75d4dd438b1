// SPDX-License-Identifier: BSD-2-Clause
/*
 * kfree's fast-path filter (PERCPU_HARDEN, <percpu/config.h>). Pointers
 * whose state byte (p - 7) is forged to a class value, so that at level 0
 * the fast path caches them silently:
 *   foreign      a global whose tag is zero but for the state byte
 *   foreign_copy a global below which a real block's tag word is copied
 *                (state, check with its top bit, size)
 *   foreign_full a global with a tag that is valid for its own address
 *                (the check computed with heap_tag_check_of)
 *   interior     p + 64 of a heap block, a class value at p + 64 - 7
 * At level 1 the foreign ones fail the range check before any load and the
 * heap names them; at level 2 the interior one fails the check lane's top
 * bit too. Built three times: harden_test (the default, 1), harden0_test
 * (level 0) and harden2_test (level 2), which show what each level closes.
 */
#include "test_util.h"

#include <percpu/config.h>
#include <string.h>


static _Alignas(16) unsigned char global_buf[256];

/*
 * kfree(p): named as want if the level built is at least `level`, else
 * cached silently (the gap that level closes).
 */
static void expect_named(const char *what, void *p, enum heap_error want, int level)
{
	misuses = 0;
	last_misuse = HEAP_OK;
	kfree(p);
	if (PERCPU_HARDEN >= level) {
		if (misuses != 1 || last_misuse != want) {
			fprintf(stderr, "%s: %d misuses, last_misuse \"%s\", want \"%s\"\n",
				what, misuses, heap_error_name(last_misuse),
				heap_error_name(want));
			exit(1);
		}
	} else if (misuses != 0 || !heap_tag_is_cached(p)) {
		fprintf(stderr, "%s: level %d should have cached it\n", what, PERCPU_HARDEN);
		exit(1);
	}
}

int main(void)
{
	test_percpu_init_as_hart0(1u << 20);
	kheap_set_misuse_handler(record_misuse);

	/*
	 * Live blocks of the 48-byte class, and then whatever its refills
	 * brought besides (they grow from PERCPU_REFILL_FIRST_ROUNDS): its
	 * magazine is loaded and empty, with room for every forged pointer
	 * below (so at level 0 each is a fast hit).
	 */
	void *hold[8], *extra[64];
	size_t nextra = 0;
	for (int i = 0; i < 8; i++)
		hold[i] = kmalloc(48);
	while (percpu_cached_bytes(0) && nextra < sizeof(extra) / sizeof(extra[0]))
		extra[nextra++] = kmalloc(48);
	CHECK_EQ(percpu_cached_bytes(0), (size_t)0);
	void *live = hold[0];
	const unsigned st = heap_tag_state(live);
	CHECK(st != 0 && (st & 7) == 0);

	unsigned char *p = global_buf + 64;
	memset(global_buf, 0, sizeof(global_buf));
	p[-7] = (unsigned char)st;
	expect_named("foreign", p, HEAP_ERR_FOREIGN_PTR, 1);

	p = global_buf + 128;
	memcpy(p - 8, (unsigned char *)live - 8, 8);
	expect_named("foreign_copy", p, HEAP_ERR_FOREIGN_PTR, 1);

	p = global_buf + 192;
	uint32_t size16 = heap_tag_size16(live);
	uint16_t chk = heap_tag_check_of((uintptr_t)(p - 8), size16, 1);
	p[-8] = 1; /* A */
	p[-7] = (unsigned char)st;
	memcpy(p - 6, &chk, 2);
	memcpy(p - 4, &size16, 4);
	CHECK(heap_tag_plausible_live(p));
	expect_named("foreign_full", p, HEAP_ERR_FOREIGN_PTR, 1);

	unsigned char *big = kmalloc(256);
	memset(big, 0, 256);
	big[64 - 7] = (unsigned char)st; /* check lane below stays 0: top bit clear */
	expect_named("interior", big + 64, HEAP_ERR_INTERIOR_PTR, 2);

#if PERCPU_HARDEN >= 2
	/* Real blocks still take the fast path and come back. */
	kfree(big);
	for (int i = 0; i < 8; i++)
		kfree(hold[i]);
	for (size_t i = 0; i < nextra; i++)
		kfree(extra[i]);
	CHECK(misuses == 1); /* from "interior" */
	CHECK(percpu_check_drained(0));
	CHECK(test_heap_validate() == 0);
#endif
	printf("harden_test: PASS at PERCPU_HARDEN=%d\n", PERCPU_HARDEN);
	return 0;
}
