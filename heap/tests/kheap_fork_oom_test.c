// SPDX-License-Identifier: BSD-2-Clause
/*
 * A fork child's out-of-memory report is its own: if one of the parent's
 * threads was building its OOM report (it owns the report buffer) when
 * another thread forked, the child inherits the mark "a report is in
 * progress" but not the thread that would finish it. The child's own OOM
 * must still print its whole report ("heap: out of memory on hart ..." and
 * the heap's lines) and end the child with PORT_EXIT_OOM. Before,
 * kheap_fork_child left the mark, and the child waited KHEAP_OOM_WAIT_US
 * (5 s) for a report no thread would write, then panicked with "the report
 * from another hart did not come", its own report lost.
 *
 * The parent's reporter is held inside its report by the report extra
 * hook (the heap calls it without its lock, so the fork hooks can take
 * it); the whole scenario runs in a child process, which the test reads.
 */
#include <heap/kheap.h>
#include <platform/port.h>
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "test_util.h"

static int reporting; /* atomic: the parent's reporter is inside its report */

static void hold_the_report(kheap_print_fn print)
{
	print("  (the parent's report extra hook)\n");
	__atomic_store_n(&reporting, 1, __ATOMIC_RELEASE);
	for (;;)
		pause(); /* until the scenario ends */
}

static void *reporter(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	(void)kheap_alloc(2u << 20, 0); /* more than the heap: the OOM report */
	return NULL;
}

/* In the scenario's fork child: its own OOM, with its stderr to the pipe. */
static _Noreturn void child_runs_out(int out)
{
	dup2(out, 2);
	alarm(20);
	kheap_set_report_extra(NULL); /* the parent's hook would hold it too */
	(void)kheap_alloc(3u << 20, 0);
	_exit(99); /* not reached: an OOM of kheap_alloc panics */
}

static void scenario(void *arg)
{
	(void)arg;
	const size_t bytes = 1u << 20;
	char *mem = test_map(bytes);
	kheap_init(mem, mem + bytes);
	kheap_set_report_extra(hold_the_report);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, reporter, NULL) == 0);
	while (!__atomic_load_n(&reporting, __ATOMIC_ACQUIRE))
		usleep(1000);

	int p[2];
	CHECK(pipe(p) == 0);
	kheap_fork_prepare();
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		kheap_fork_child();
		close(p[0]);
		child_runs_out(p[1]);
	}
	kheap_fork_parent();
	close(p[1]);
	static char buf[8192];
	size_t n = 0;
	ssize_t r;
	uint64_t t0 = port_time_us();
	while (n < sizeof(buf) - 1 && (r = read(p[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	uint64_t took = port_time_us() - t0;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(stderr, "the fork child's report, after %llu ms, exit %d:\n%s--\n",
		(unsigned long long)(took / 1000), code, buf);
	bool own = strstr(buf, "heap: out of memory on hart") != NULL &&
		   strstr(buf, "3145728 bytes") != NULL && strstr(buf, "heap: heap size") != NULL;
	_exit(code == PORT_EXIT_OOM && own ? 0 : 1);
}

int main(void)
{
	static char buf[16384];
	int code = test_run_child(scenario, NULL, buf, sizeof(buf));
	printf("%s--- scenario exit %d\n", buf, code);
	CHECK_EQ(code, 0);
	printf("kheap_fork_oom_test: PASS\n");
	return 0;
}
