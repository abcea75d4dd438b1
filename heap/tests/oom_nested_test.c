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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

static void interrupt_allocates(kheap_print_fn print)
{
	static int once;
	print("  (the extra hook runs: an interrupt allocates now)\n");
	if (!once++)
		(void)kheap_alloc(3u << 20, 0); /* more than the heap: OOM again */
}

int main(void)
{
	int fd[2];
	CHECK(pipe(fd) == 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], 2);
		const size_t bytes = 1u << 20;
		char *mem = test_map(bytes);
		kheap_init(mem, mem + bytes);
		kheap_set_report_extra(interrupt_allocates);
		(void)kheap_alloc(2u << 20, 0);
		_exit(0);
	}
	close(fd[1]);
	static char buf[16384];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(fd[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%s--- exit %d after %.2f s\n", buf, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	       secs);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == PORT_EXIT_OOM);
	CHECK(secs < 2.5); /* not KHEAP_OOM_WAIT_US */
	CHECK(strstr(buf, "out of memory on hart 0: 3145728 bytes") != NULL);
	CHECK(strstr(buf, "while this hart reported running out of memory for 2097152 bytes") != NULL);
	CHECK(strstr(buf, "heap: heap size 1048576 bytes in 1 regions") != NULL);
	CHECK(strstr(buf, "heap: high water") != NULL);
	printf("oom_nested_test: PASS\n");
	return 0;
}
