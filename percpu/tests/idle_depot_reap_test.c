// SPDX-License-Identifier: BSD-2-Clause
/*
 * Depots that nobody touches any more give their charge back (budget.c:
 * "the depot reaping and the reclaim give charges back"; <percpu/kmalloc.h>,
 * percpu_set_depot_reap_us: "what a depot did not need for that long goes
 * back to the heap"). Four harts use the classes up to 1 KiB and exit,
 * leaving full magazines in those classes' depots, charged to the budget
 * far beyond their blocks' bytes (a small round is charged the 1 KiB
 * floor). Then hart 0 alone uses a class none of them touched, with the
 * budget set to leave no room for its magazine beside the depots' charge:
 * after many reap intervals enough of the depots it never needed must have
 * gone back for hart 0 to cache its class. The reaping ran only when a
 * hart took a depot's lock, so those depots kept their charge until an
 * OOM reclaim, and hart 0 went to the heap for every block. Virtual harts on one
 * thread, so the depots' charge is the same in every build.
 */
#include "test_util.h"

#include <percpu/size_class.h>
#include <unistd.h>

#define HEAP (16u << 20)
#define BLOCKS 40
#define REAP_US 1000
#define SZ 1280 /* a class above the round floor, cached at one hart's share */

/* Hart h uses the classes up to 1 KiB and keeps its magazines. */
static void use_small_classes(unsigned h)
{
	port_host_become_hart(h);
	void *b[BLOCKS];
	for (int r = 0; r < 3; r++)
		for (unsigned cls = 0; percpu_class_size[cls] <= 1024; cls++) {
			for (int i = 0; i < BLOCKS; i++)
				CHECK((b[i] = kmalloc(percpu_class_size[cls])) != NULL);
			for (int i = 0; i < BLOCKS; i++)
				kfree(b[i]);
		}
}

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	percpu_set_depot_reap_us(REAP_US);
	for (unsigned h = 1; h <= 4; h++)
		use_small_classes(h);
	for (unsigned h = 1; h <= 4; h++) {
		port_host_become_hart(h);
		percpu_hart_exit(); /* its magazines with rounds go to the depots */
	}

	struct percpu_cache_stats cs;
	percpu_get_cache_stats(&cs);
	printf("idle_depot_reap: the depots hold %zu bytes of blocks, charged %zu of %zu\n",
	       cs.depot_bytes, cs.charged, cs.budget);
	CHECK(cs.depot_bytes > 0);
	/* No room for one magazine of SZ beside what the depots are charged. */
	percpu_set_cache_budget(cs.charged + 1024);

	port_host_become_hart(0);
	void *b[BLOCKS];
	for (int k = 0; k < 50; k++) {
		usleep(2 * REAP_US);
		for (int i = 0; i < BLOCKS; i++)
			CHECK((b[i] = kmalloc(SZ)) != NULL);
		for (int i = 0; i < BLOCKS; i++)
			kfree(b[i]);
	}
	percpu_get_cache_stats(&cs);
	printf("idle_depot_reap: after 50 reap intervals: the depots hold %zu bytes, "
	       "charged %zu of %zu, hart 0 caches %zu bytes\n", cs.depot_bytes, cs.charged,
	       cs.budget, percpu_cached_bytes(0));
	/*
	 * What is promised: hart 0 got its magazine, from charge the idle
	 * depots gave back (before, it cached nothing). How much of theirs
	 * went back depends on which depots' own intervals had passed at each
	 * sweep, so on the host's timing: all of it on an idle machine, 12% of
	 * the charge once under load (the _asan build, beside other builds).
	 */
	CHECK(percpu_cached_bytes(0) >= SZ);

	percpu_set_cache_budget(0);
	test_drain_leaves_nothing();
	printf("idle_depot_reap_test: PASS\n");
	return 0;
}
