// SPDX-License-Identifier: BSD-2-Clause
/*
 * A hart caught inside a slow path by fork (here: spinning for a depot lock
 * that the fork's prepare hook holds, where any hart that reaches a depot
 * meanwhile waits) is not busy in the child: a child thread that takes its
 * id again answers flush requests through percpu_poll. Before, forget_slots
 * left its `busy` count at 1, and percpu_poll and the kick handler
 * (poll_masked: `!c->busy`) never honoured a request for that hart again.
 * Reads hart 1's record: one link unit with percpu (no sanitized twins).
 */
#include "fork_util.h"

#include "percpu/percpu_internal.h"

#include <sys/wait.h>

static void *parent_hart1(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	/* First use of the class: alloc_slow goes to the depot (locked). */
	kfree(kmalloc(64));
	return NULL;
}

int main(void)
{
	test_percpu_init_as_hart0(16u << 20);
	percpu_set_flush_wait_us(300000);

	/* What pthread_atfork's prepare does, with hart 1 arriving meanwhile. */
	percpu_fork_prepare();
	pthread_t t;
	CHECK(pthread_create(&t, NULL, parent_hart1, NULL) == 0);
	while (!__atomic_load_n(&percpu_record(1)->busy, __ATOMIC_RELAXED))
		usleep(1000);
	usleep(10000); /* hart 1 spins in depot_lock, inside its slow path */
	kheap_fork_prepare();
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		fork_hook_child();
		printf("child: hart 1's inherited busy = %u\n",
		       __atomic_load_n(&percpu_record(1)->busy, __ATOMIC_RELAXED));
		fork_child_drain_check();
	}
	fork_hook_parent();
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	pthread_join(t, NULL);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	printf("fork_busy_test: PASS\n");
	return 0;
}
