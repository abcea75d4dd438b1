// SPDX-License-Identifier: BSD-2-Clause
/*
 * A depot's loose magazine that nobody used for a whole reap interval goes
 * back to the heap (depot.c, depot_unlock: "a loose magazine nobody used"),
 * also after it was used once: depot_unlock clears loose_used at each
 * reap, so a use keeps it for one interval only. Hart 0, caching no class
 * (a budget too small for any magazine), takes one block of SIZE from the
 * loose magazine and is left alone. Then, with the budget raised, other
 * harts that cache the class each ask SIZE's depot for a full magazine
 * (taking its lock, not using its loose magazine), one every two reap
 * intervals: the loose magazine and its rounds must be gone. Virtual
 * harts on one thread.
 */
#include "test_util.h"

#include <percpu/config.h>
#include <unistd.h>

#define HEAP (16u << 20)
/* Share 12 KiB a hart: no class cached (as loose_test's). */
#define BUDGET (64u << 10)
#define SIZE 48
#define HARTS 6
#define REAP_US 2000

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	percpu_set_cache_budget(BUDGET);
	percpu_set_depot_reap_us(REAP_US);

	kfree(kmalloc(SIZE)); /* the hart's first free of a class: to the heap */
	void *p = kmalloc(SIZE); /* from the loose magazine, which keeps the rest */
	CHECK(p != NULL);
	size_t used = percpu_depot_bytes();
	printf("loose_reap: the depot holds %zu bytes after one use\n", used);
	CHECK(used > 0);

	percpu_set_cache_budget((size_t)1 << 40); /* the class cached now */
	unsigned h = 1;
	for (; h <= HARTS && percpu_depot_bytes(); h++) {
		usleep(2 * REAP_US);
		port_host_become_hart(h);
		kfree(kmalloc(SIZE)); /* the depot has no full one: a refill */
	}
	size_t left = percpu_depot_bytes();
	printf("loose_reap: after %u more harts' depot trips the depots hold %zu bytes\n",
	       h - 1, left);
	CHECK_EQ(left, 0);

	while (--h > 0) {
		port_host_become_hart(h);
		percpu_hart_exit();
	}
	port_host_become_hart(0);
	kfree(p);
	percpu_set_cache_budget(0);
	test_drain_leaves_nothing();
	printf("loose_reap_test: PASS\n");
	return 0;
}
