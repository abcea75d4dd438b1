// SPDX-License-Identifier: BSD-2-Clause
/*
 * At PERCPU_HARDEN >= 2 every round a hart is handed is checked for its
 * poison, whichever way it came: from the hart's own magazines, and from a
 * depot's loose magazine too, which a hart that caches no magazine of the
 * class allocates from, and which may be another hart's full magazine.
 * Here a hart frees blocks into its magazines (poisoned), its full ones go
 * to the depot and, at its exit, the rest; every freed block is then
 * written into. With the budget cut so the class is no longer cached, the
 * next allocation takes a round through the loose magazine: the write after
 * free must be named there as it is on the magazine path
 * (corruption_test). Below level 2 nothing is poisoned and nothing named.
 * Built at level 2 only (loose_poison_h2_test).
 */
#include "test_util.h"

#include <percpu/config.h>
#include <string.h>

#define HEAP (16u << 20)
#define SIZE 48
#define BLOCKS 400
#define SMALL_BUDGET (64u << 10) /* as loose_test: no class cached */

int main(void)
{
	static unsigned char *b[BLOCKS];

	test_percpu_init_as_hart0(HEAP);
	test_unbounded_caches();
	kheap_set_misuse_handler(record_misuse);

	kfree(kmalloc(SIZE)); /* the hart's first free of the class: the heap */
	for (int i = 0; i < BLOCKS; i++)
		CHECK((b[i] = kmalloc(SIZE)) != NULL);
	for (int i = 0; i < BLOCKS; i++)
		kfree(b[i]);
	percpu_hart_exit(); /* its magazines with rounds: the depot */
	struct percpu_depot_stats d;
	CHECK(percpu_get_depot_stats(percpu_size_class(SIZE), &d));
	CHECK(d.full > 0);
	for (int i = 0; i < BLOCKS; i++)
		b[i][SIZE / 2] = 0x42; /* a write after free, every block */

	percpu_set_cache_budget(SMALL_BUDGET);
	CHECK_EQ(misuses, 0);
	struct percpu_stats s0 = test_hart0_stats();
	unsigned char *p = kmalloc(SIZE);
	struct percpu_stats s1 = test_hart0_stats();
	CHECK(p != NULL);
	/* It came through the loose magazine (one exchange), not the heap. */
	CHECK_EQ(s1.depot_exchanges - s0.depot_exchanges, 1);
	printf("a damaged round through the loose magazine: %d report(s), last %s\n", misuses,
	       misuses ? heap_error_name(last_misuse) : "-");
	if (PERCPU_HARDEN >= 2) {
		CHECK_EQ(misuses, 1);
		CHECK_EQ(last_misuse, HEAP_ERR_WRITE_AFTER_FREE);
		CHECK(last_misuse_ptr == p);
	} else {
		CHECK_EQ(misuses, 0);
	}
	kfree(p);

	kheap_set_misuse_handler(NULL);
	CHECK(percpu_check_drained(0));
	CHECK(test_heap_validate() == 0);
	printf("loose_poison_test: PASS at HEAP_HARDENING=%d\n", PERCPU_HARDEN);
	return 0;
}
