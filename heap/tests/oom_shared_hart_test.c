// SPDX-License-Identifier: BSD-2-Clause
/*
 * Two threads that share one hart id (on the host every thread that never
 * called port_host_become_hart is hart 0: the shim's threads) run out of
 * memory at once. The second is not an interrupt nested in the first's
 * report: it must wait for that report, not rebuild it in the same buffer
 * while the first is still writing it, naming a nesting that never
 * happened. The first thread's report extra hook lets the second one run
 * out while the report is half built. In a child process; the parent
 * checks the exit code (4) and the report.
 */
#include <heap/kheap.h>
#include <platform/port.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "test_util.h"

static int go;          /* the second thread may run out now */
static int extra_calls; /* atomic */

static void second_runs_out_meanwhile(kheap_print_fn print)
{
	print("  (the report extra hook runs)\n");
	if (__atomic_fetch_add(&extra_calls, 1, __ATOMIC_RELAXED) == 0) {
		__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
		struct timespec d = { 0, 500 * 1000 * 1000 };
		nanosleep(&d, NULL); /* the second OOM happens now */
	}
}

static void *second(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		sched_yield();
	(void)kheap_alloc(3u << 20, 0); /* hart 0 too */
	return NULL;
}

static void two_run_out(void *arg)
{
	(void)arg;
	const size_t bytes = 1u << 20;
	char *mem = test_map(bytes);
	kheap_init(mem, mem + bytes);
	kheap_set_report_extra(second_runs_out_meanwhile);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, second, NULL) == 0);
	(void)kheap_alloc(2u << 20, 0);
}

int main(void)
{
	static char buf[16384];
	int code = test_run_child(two_run_out, NULL, buf, sizeof(buf));
	printf("%s--- exit %d\n", buf, code);
	CHECK(code == PORT_EXIT_OOM);
	/* The first request's report, whole, and no nesting that never was. */
	CHECK(strstr(buf, "out of memory on hart 0: 2097152 bytes") != NULL);
	CHECK(strstr(buf, "in an interrupt") == NULL);
	CHECK(strstr(buf, "3145728") == NULL);
	CHECK(strstr(buf, "heap: high water") != NULL);
	printf("oom_shared_hart_test: PASS\n");
	return 0;
}
