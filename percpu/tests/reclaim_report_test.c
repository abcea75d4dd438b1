// SPDX-License-Identifier: BSD-2-Clause
/*
 * What a reclaim reports getting back from the depots is the bytes of the
 * rounds their magazines held, not of the room they had: a magazine a hart
 * left partly filled in a depot counts its rounds (depot.c, mag_release:
 * "their bytes"). The OOM report's line "hart H's last reclaim got back N
 * bytes: N own, N from depots, ..." (<percpu/kmalloc.h>) must name what the
 * depot held. Hart 1 frees a few blocks into its magazine and exits (the
 * magazine goes to the depot); hart 0's allocation that cannot be served
 * reclaims; kheap_report's line is read back. Virtual harts on one thread.
 */
#include "report_capture.h"
#include "test_util.h"

#include <string.h>

#define HEAP (1u << 20)
#define SIZE 64
#define BLOCKS 3 /* fewer than any magazine's capacity */

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	test_unbounded_caches();

	port_host_become_hart(1);
	void *b[BLOCKS];
	for (int i = 0; i < BLOCKS; i++)
		CHECK((b[i] = kmalloc(SIZE)) != NULL);
	for (int i = 0; i < BLOCKS; i++)
		kfree(b[i]);
	percpu_hart_exit(); /* its magazine, partly filled, to the depot */
	size_t held = percpu_depot_bytes();
	CHECK(held > 0);

	port_host_become_hart(0);
	CHECK(kheap_try_alloc(2 * HEAP, 0) == NULL); /* reclaims, and fails */
	CHECK_EQ(percpu_depot_bytes(), 0);
	const char *line = strstr(report_take(), "last reclaim got back");
	CHECK(line != NULL);
	unsigned long long total, own, depots;
	CHECK(sscanf(line, "last reclaim got back %llu bytes: %llu own, %llu from depots",
		     &total, &own, &depots) == 3);
	printf("reclaim_report: the depot held %zu bytes; the reclaim reports %llu from "
	       "depots, %llu in all\n", held, depots, total);
	CHECK_EQ(depots, held);
	CHECK_EQ(total, own + held);

	test_drain_leaves_nothing();
	printf("reclaim_report_test: PASS\n");
	return 0;
}
