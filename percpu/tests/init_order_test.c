// SPDX-License-Identifier: BSD-2-Clause
/*
 * percpu_init before kheap_init is misuse (<percpu/kmalloc.h>: "after
 * kheap_init"), named as pages_init names it: "use before init". Taken
 * silently, it fixed the rounds' charge floor (budget.c) for a heap of size
 * 0, so each round of a small class cost the budget its bytes, not the
 * floor, and the caches held far more blocks than the budget intends. A
 * handler that returns leaves percpu uninitialised: the right order then
 * works. A second percpu_init is named "double init" through the same
 * handler.
 */
#include "test_util.h"

int main(void)
{
	kheap_set_misuse_handler(record_misuse);
	percpu_init(PERCPU_MAGAZINES); /* no heap yet */
	printf("percpu_init before kheap_init: %d report(s), last %s (%s)\n", misuses,
	       misuses ? heap_error_name(last_misuse) : "-",
	       misuses ? last_misuse_where : "-");
	CHECK_EQ(misuses, 1);
	CHECK_EQ(last_misuse, HEAP_ERR_UNINIT);
	kheap_set_misuse_handler(NULL);

	/* The right order now: no "double init", and the caches work. */
	test_percpu_init_as_hart0(4u << 20);
	void *p = kmalloc(64);
	CHECK(p != NULL);
	kfree(p);
	test_drain_leaves_nothing();

	/*
	 * A second percpu_init is misuse too, named through the same handler
	 * as kheap_init's and pages_init's ("double init"), and changes
	 * nothing. Before, it panicked past the handler.
	 */
	kheap_set_misuse_handler(record_misuse);
	void *held = kmalloc(64);
	percpu_init(PERCPU_BYPASS);
	printf("second percpu_init: %d report(s), last %s (%s)\n", misuses - 1,
	       misuses > 1 ? heap_error_name(last_misuse) : "-",
	       misuses > 1 ? last_misuse_where : "-");
	CHECK_EQ(misuses, 2);
	CHECK_EQ(last_misuse, HEAP_ERR_DOUBLE_INIT);
	kheap_set_misuse_handler(NULL);
	kfree(held);
	p = kmalloc(64); /* still the magazines: the cached block comes back */
	CHECK(p == held);
	kfree(p);
	test_drain_leaves_nothing();
	printf("init_order_test: PASS\n");
	return 0;
}
