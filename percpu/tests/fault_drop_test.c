// SPDX-License-Identifier: BSD-2-Clause
/*
 * Built with FAULT_DROP_BLOCK (<platform/fault.h>), which loses the 1000th
 * block handed back to the heap: the drain check must notice the leak.
 */
#include "test_util.h"

#define N 3000

int main(void)
{
	static void *b[N];
	test_percpu_init_as_hart0(4u << 20);
	for (int i = 0; i < N; i++)
		CHECK((b[i] = kmalloc(64)) != NULL);
	for (int i = 0; i < N; i++)
		kfree(b[i]);
	/* Every block is back with the heap but one: the check fails. */
	CHECK(!percpu_check_drained(0));
	CHECK(test_heap_live() == 1);
	CHECK(test_heap_validate() == 0);
	printf("fault_drop_test: PASS (the drain check caught the lost block)\n");
	return 0;
}
