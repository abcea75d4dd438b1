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

int main(void)
{
	test_percpu_init_as_hart0(16u << 20);
	percpu_set_flush_wait_us(300000); /* 0.3 s */
	CHECK(pthread_atfork(fork_hook_prepare, fork_hook_parent, fork_hook_child) == 0);

	pthread_t t = fork_park_hart1(fork_cache_some);
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
	fork_unpark_hart1(t);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	printf("fork_stale_request_test: PASS\n");
	return 0;
}
