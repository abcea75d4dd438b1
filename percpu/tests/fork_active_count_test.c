// SPDX-License-Identifier: BSD-2-Clause
/*
 * The fork child counts its active harts right: one if the forking hart was
 * active, none if it had called percpu_hart_exit. Before, the child always
 * counted one, a hart that did not exist, and every hart's share of the
 * budget (hart_share) was divided by one hart too many from then on.
 */
#include "fork_util.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

static void become_active(void)
{
	kfree(kmalloc(64));
}

static unsigned active_harts(void)
{
	struct percpu_cache_stats cs;
	percpu_get_cache_stats(&cs);
	return cs.active_harts;
}

int main(void)
{
	test_percpu_init_as_hart0(16u << 20);
	CHECK(pthread_atfork(fork_hook_prepare, fork_hook_parent, fork_hook_child) == 0);
	kfree(kmalloc(64));
	percpu_hart_exit(); /* hart 0 stops using kmalloc */

	pthread_t t = fork_park_hart1(become_active);
	printf("parent: active harts %u (hart 1 only)\n", active_harts());

	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		unsigned a0 = active_harts();
		kfree(kmalloc(64)); /* hart 0 becomes active */
		unsigned a1 = active_harts();
		percpu_hart_exit();
		unsigned a2 = active_harts();
		printf("child: active harts right after fork %u (want 0), after use %u (want 1), "
		       "after hart exit %u (want 0)\n", a0, a1, a2);
		fflush(stdout);
		_exit(a0 == 0 && a1 == 1 && a2 == 0 ? 0 : 1);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	fork_unpark_hart1(t);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	printf("fork_active_count_test: PASS\n");
	return 0;
}
