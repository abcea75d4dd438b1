// SPDX-License-Identifier: BSD-2-Clause
/*
 * A flush request still unanswered when the process forks does not outlive
 * the fork: in the child, a thread that takes that hart id again (the shim
 * hands dead threads' ids out again) is asked at the next drain and
 * answers it. Before, forget_slots cleared flush_pending but left flush_req
 * ahead of flush_done, so flush_ask never asked that hart again ("an
 * unanswered request stands") and the hart never saw one to answer: every
 * drain waited the whole flush wait and left its cache in place.
 * REPRO_CONTROL=1 skips the parent's request (the case that always passed).
 */
#include "fork_util.h"

#include <sys/wait.h>

static int parked_go, parked_ready;

static void *parent_hart1(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	fork_cache_some();
	__atomic_store_n(&parked_ready, 1, __ATOMIC_RELEASE);
	/* Parked: no allocator call, so it never answers a request. */
	while (!__atomic_load_n(&parked_go, __ATOMIC_ACQUIRE))
		usleep(1000);
	percpu_hart_exit();
	return NULL;
}

int main(void)
{
	test_heap_init(16u << 20);
	percpu_init(PERCPU_MAGAZINES);
	port_host_become_hart(0);
	percpu_set_flush_wait_us(300000); /* 0.3 s */
	CHECK(pthread_atfork(fork_hook_prepare, fork_hook_parent, fork_hook_child) == 0);

	pthread_t t;
	CHECK(pthread_create(&t, NULL, parent_hart1, NULL) == 0);
	while (!__atomic_load_n(&parked_ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	/* Asks hart 1 to flush without waiting: it is parked, the request stands. */
	if (!getenv("REPRO_CONTROL"))
		percpu_trim();

	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		fork_child_drain_check();
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	__atomic_store_n(&parked_go, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	printf("fork_stale_request_test: PASS\n");
	return 0;
}
