// SPDX-License-Identifier: BSD-2-Clause
/*
 * An OOM inside an interrupt on the hart that is writing the OOM report
 * (issue 12): the nested OOM must not wait KHEAP_OOM_WAIT_US (5 s) for the
 * "other hart" that is itself, and the full report must come out, naming
 * both requests. The host has no interrupts: the report's extra hook, which
 * runs on the reporting hart in the middle of the report, allocates as an
 * interrupt handler would. In a child process; the parent checks the exit
 * code (4, out of memory), the report's lines and the time it took.
 */
#include <heap/kheap.h>
#include <platform/port.h>
#include <string.h>
#include <time.h>

#include "test_util.h"

static void interrupt_allocates(kheap_print_fn print)
{
	static int once;
	print("  (the extra hook runs: an interrupt allocates now)\n");
	if (!once++)
		(void)kheap_alloc(3u << 20, 0); /* more than the heap: OOM again */
}

static void runs_out(void *arg)
{
	(void)arg;
	const size_t bytes = 1u << 20;
	char *mem = test_map(bytes);
	kheap_init(mem, mem + bytes);
	kheap_set_report_extra(interrupt_allocates);
	(void)kheap_alloc(2u << 20, 0);
}

int main(void)
{
	static char buf[16384];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int code = test_run_child(runs_out, NULL, buf, sizeof(buf));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%s--- exit %d after %.2f s\n", buf, code, secs);
	CHECK(code == PORT_EXIT_OOM);
	CHECK(secs < 2.5); /* not KHEAP_OOM_WAIT_US */
	CHECK(strstr(buf, "out of memory on hart 0: 3145728 bytes") != NULL);
	CHECK(strstr(buf, "while this hart reported running out of memory for 2097152 bytes") != NULL);
	CHECK(strstr(buf, "heap: heap size 1048576 bytes in 1 regions") != NULL);
	CHECK(strstr(buf, "heap: high water") != NULL);
	printf("oom_nested_test: PASS\n");
	return 0;
}
