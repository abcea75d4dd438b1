// SPDX-License-Identifier: BSD-2-Clause
/*
 * A flush answer gives up a hart's spare magazine shells too: hart 1 uses
 * more classes than its share holds, so its evictions leave spare shells
 * (percpu_cpu.spares); hart 0 trims, hart 1 answers at its next call
 * (percpu_poll). Then nothing of hart 1's may stay out of the heap: no
 * block live, nothing charged to the budget, as a drain or an OOM reclaim
 * that other harts answer must get everything back (percpu_check_drained
 * counts the shells as blocks the caller does not hold). Virtual harts on
 * one thread.
 */
#include "test_util.h"

#include <percpu/size_class.h>

#define HEAP (16u << 20)
#define CLASSES 24 /* 16 .. 2048 bytes: more than a share of 4 harts caches */
#define BLOCKS 20

int main(void)
{
	test_percpu_init_as_hart0(HEAP);

	void *b[BLOCKS];
	uint64_t evictions = 0;
	unsigned checks = 0;
	for (int r = 0; r < 4; r++)
		for (int cls = 0; cls < CLASSES; cls++) {
			port_host_become_hart(1);
			for (int i = 0; i < BLOCKS; i++)
				CHECK((b[i] = kmalloc(percpu_class_size[cls])) != NULL);
			for (int i = 0; i < BLOCKS; i++)
				kfree(b[i]);
			struct percpu_stats s;
			percpu_get_stats(1, &s);
			if (s.evictions == evictions)
				continue;
			/* It evicted: its spare shells hold the arrays. */
			evictions = s.evictions;
			port_host_become_hart(0);
			percpu_trim();
			port_host_become_hart(1);
			percpu_poll(); /* the answer: hart 1 stays active */
			struct percpu_cache_stats cs;
			percpu_get_cache_stats(&cs);
			if (test_heap_live() || cs.charged)
				printf("spare_answer: class %d: after hart 1's answer, charged %zu, "
				       "heap live %zu, hart 1 caches %zu bytes, orphans %zu\n",
				       cls, cs.charged, test_heap_live(), percpu_cached_bytes(1),
				       cs.orphan_bytes);
			CHECK_EQ(cs.orphan_bytes, 0);
			CHECK_EQ(cs.charged, 0);
			CHECK_EQ(test_heap_live(), 0);
			checks++;
		}
	printf("spare_answer: %u answers after evictions checked\n", checks);
	CHECK(checks > 0);

	port_host_become_hart(1);
	percpu_hart_exit();
	port_host_become_hart(0);
	test_drain_leaves_nothing();
	printf("spare_answer_test: PASS\n");
	return 0;
}
