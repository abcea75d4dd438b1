// SPDX-License-Identifier: BSD-2-Clause
/*
 * The host port's port_panic in a fork child: a panic the parent had begun
 * (claimed, still printing) when another of its threads forked is not the
 * child's. The child's own panic must print its report and end the child
 * with its exit code. Before, the child inherited the parent's claim and
 * took itself for "a second caller" that "just stops": it paused for ever,
 * since the claiming thread is not in the child (a server that forks on
 * one thread while another panics left a child hung, not dead).
 *
 * Made deterministic: the panicking thread's first step after its claim,
 * fflush(stdout), blocks on a pipe that is full and never read, so it holds
 * the claim while the main thread forks.
 */
#include <platform/port.h>
#include <testing/check.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned started; /* atomic: the panicking thread is about to panic */

static void *panicker(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	printf("buffered, for port_panic's fflush\n");
	__atomic_store_n(&started, 1, __ATOMIC_SEQ_CST);
	port_panic(PORT_EXIT_FAIL, "the parent's report");
}

/* The process whose thread panics; exits 0 if its fork child's panic ended it. */
static _Noreturn void scenario(void)
{
	/* stdout: a pipe, full, that nobody reads. */
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK(dup2(p[1], 1) == 1);
	int fl = fcntl(1, F_GETFL);
	CHECK(fcntl(1, F_SETFL, fl | O_NONBLOCK) == 0);
	char fill[4096];
	memset(fill, 'x', sizeof(fill));
	while (write(1, fill, sizeof(fill)) > 0)
		;
	CHECK(fcntl(1, F_SETFL, fl) == 0);
	int devnull = open("/dev/null", O_WRONLY);
	CHECK(devnull >= 0);
	CHECK(dup2(devnull, 2) == 2); /* the reports: not the test's business */

	pthread_t t;
	CHECK(pthread_create(&t, NULL, panicker, NULL) == 0);
	while (!__atomic_load_n(&started, __ATOMIC_SEQ_CST))
		usleep(1000);
	usleep(200000); /* it has claimed and is blocked in fflush(stdout) */

	pid_t pid = fork();
	if (pid == 0) {
		alarm(5); /* a child that paused for ever dies of SIGALRM */
		CHECK(dup2(devnull, 1) == 1); /* its copy of stdout's buffer can go */
		port_panic(PORT_EXIT_MISUSE, "the child's own report");
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		_exit(3);
	if (WIFEXITED(status) && WEXITSTATUS(status) == PORT_EXIT_MISUSE)
		_exit(0);
	_exit(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? 1 : 2);
}

int main(void)
{
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		scenario();
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	int code = WEXITSTATUS(status);
	printf("port_panic_fork_test: the fork child's panic %s\n",
	       code == 0 ? "ended it with its exit code"
	       : code == 1 ? "never returned (killed by SIGALRM after 5 s)"
			   : "went wrong otherwise");
	CHECK_EQ(code, 0);
	printf("port_panic_fork_test: PASS\n");
	return 0;
}
