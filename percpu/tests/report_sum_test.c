// SPDX-License-Identifier: BSD-2-Clause
/*
 * The OOM report's cache lines agree with each other: "depots cache D
 * bytes, harts H bytes" gives as H the sum of the "hart N caches B bytes"
 * lines above it. The report is built while the other harts run (it stops
 * them only to print it), so a hart's cache may change between its line
 * and the total: the total read the caches a second time, and a report of
 * an 8-hart OOM (qemu_smp --fill 100) read "hart 0 caches 7152 bytes" over
 * "harts 2240 bytes".
 * Here hart 1 frees blocks into its magazine just after its line is
 * printed (the print callback waits for it), the deterministic form of
 * that race.
 */
#include "report_capture.h"
#include "test_util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define HEAP (256u << 10)
#define BLOCKS 8
static int stage; /* 1: hart 1 caches some; 2: free the rest; 3: done; 4: exit */

static void *hart_1(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	void *b[BLOCKS];
	for (int i = 0; i < BLOCKS; i++)
		b[i] = kmalloc(64);
	for (int i = 0; i < BLOCKS / 2; i++)
		kfree(b[i]);
	__atomic_store_n(&stage, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 2)
		;
	for (int i = BLOCKS / 2; i < BLOCKS; i++)
		kfree(b[i]);
	__atomic_store_n(&stage, 3, __ATOMIC_RELEASE);
	while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 4)
		;
	percpu_hart_exit();
	return NULL;
}

static void capture(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *line = report_vappend(fmt, ap);
	va_end(ap);
	/* Hart 1's line is out: now its cache grows, before the total. */
	if (strncmp(line, "  percpu: hart 1 caches ", 24) == 0) {
		__atomic_store_n(&stage, 2, __ATOMIC_RELEASE);
		while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 3)
			;
	}
}

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	test_unbounded_caches();
	pthread_t t;
	CHECK(pthread_create(&t, NULL, hart_1, NULL) == 0);
	while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 1)
		;
	size_t before = percpu_cached_bytes(1);
	CHECK(before > 0);

	kheap_report(capture);
	CHECK(percpu_cached_bytes(1) > before); /* the race happened */
	size_t sum = 0, total = 0;
	bool have_total = false;
	for (const char *l = report; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		unsigned h;
		size_t b;
		if (sscanf(l, "  percpu: hart %u caches %zu bytes", &h, &b) == 2)
			sum += b;
		else if (sscanf(l, "  percpu: depots cache %*u bytes, harts %zu bytes", &total) == 1)
			have_total = true;
	}
	CHECK(have_total);
	if (sum != total) {
		fprintf(stderr, "the hart lines sum to %zu bytes, the total says %zu:\n%s",
			sum, total, report);
		CHECK(0);
	}

	__atomic_store_n(&stage, 4, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CHECK(percpu_check_drained(0));
	CHECK(test_heap_validate() == 0);
	printf("report_sum_test: PASS\n");
	return 0;
}
