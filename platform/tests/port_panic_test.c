// SPDX-License-Identifier: BSD-2-Clause
/*
 * The host port's port_panic (<platform/port.h>): "prints one unbroken
 * report ... a second caller on another hart just stops". Each trial forks
 * a child whose two harts (threads) panic at the same moment, with stderr
 * on a pipe; the parent reads everything the child printed and checks that
 * it is exactly one whole report ("PANIC on hart N: report of hart N\n"),
 * of the exit code that report's caller gave. Without a first-caller-wins
 * claim the second caller printed too: about 1 trial in 20 on a 2-core
 * machine showed "PANIC on hart 2: report of hart 2\nPANIC on hart 1: ",
 * a second report cut off by the first caller's exit.
 */
#include <platform/port.h>
#include <testing/check.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRIALS 1000

static unsigned ready; /* atomic: harts at the start line */

static void *racer(void *arg)
{
	unsigned hart = (unsigned)(uintptr_t)arg;
	port_host_become_hart(hart);
	/* seq_cst: a start line for two threads; nothing else is published. */
	__atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) < 2)
		port_cpu_relax();
	/* Each hart's own exit code, so the parent can tell whose ended the run. */
	port_panic(hart == 1 ? PORT_EXIT_FAIL : PORT_EXIT_MISUSE, "report of hart %u", hart);
}

static _Noreturn void child(int out)
{
	pthread_t t[2];
	CHECK(dup2(out, 2) == 2);
	for (unsigned i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, racer, (void *)(uintptr_t)(i + 1)) == 0);
	pthread_join(t[0], NULL); /* never returns: a panic ends the process */
	_exit(99);
}

/* One trial; true if the child printed one whole report. */
static bool trial(int n)
{
	int p[2];
	CHECK(pipe(p) == 0);
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child(p[1]);
	}
	close(p[1]);
	char buf[1024];
	size_t len = 0;
	ssize_t r;
	while (len < sizeof(buf) - 1 && (r = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = 0;
	close(p[0]);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	int code = WEXITSTATUS(status);
	CHECK(code == PORT_EXIT_FAIL || code == PORT_EXIT_MISUSE);
	unsigned hart = code == PORT_EXIT_FAIL ? 1 : 2;
	char want[64];
	snprintf(want, sizeof(want), "PANIC on hart %u: report of hart %u\n", hart, hart);
	if (strcmp(buf, want) == 0)
		return true;
	printf("port_panic_test: trial %d, exit code %d, printed [%s]\n", n, code, buf);
	return false;
}

int main(void)
{
	int bad = 0;
	for (int i = 0; i < TRIALS && bad < 3; i++)
		bad += !trial(i);
	CHECK_EQ(bad, 0);
	printf("port_panic_test: PASS (%d trials, one whole report each)\n", TRIALS);
	return 0;
}
