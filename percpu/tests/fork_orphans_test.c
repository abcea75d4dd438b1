// SPDX-License-Identifier: BSD-2-Clause
/*
 * fork while a hart is returning the orphan list (flush.c, free_orphans):
 * it has taken the whole list with one exchange and destroys its magazines
 * one by one, each a heap call that waits for the heap lock the fork's
 * prepare hook holds. In the child that thread is gone with the magazines
 * still in its locals: they are nobody's (their blocks leak, as a dead
 * hart's slots do), and the child's books must not go on counting them.
 * Made by hand: hart 1 answers a trim's flush request (its magazines go
 * onto the orphan list), then this thread takes the list as free_orphans
 * does, and forks. Before, the child's orphan_bytes and the budget's
 * charge kept the taken magazines forever: after a drain,
 * percpu_get_cache_stats still said "orphans N bytes" and charged their
 * charge, room the child's caches never had again (a list that held the
 * other harts' whole caches held most of the budget). The child now counts
 * what it can reach.
 * Reads percpu's records: one link unit with percpu (no sanitized twins).
 */
#include "fork_util.h"

#include "percpu/percpu_internal.h"

#include <sys/wait.h>

static int answer, answered, parked_go;

static void *parent_hart1(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	fork_cache_some();
	__atomic_store_n(&answered, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&answer, __ATOMIC_ACQUIRE))
		usleep(1000);
	/* Answers the request where it may not call the heap: onto the orphans. */
	percpu_kick_handler();
	__atomic_store_n(&answered, 2, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&parked_go, __ATOMIC_ACQUIRE))
		usleep(1000);
	percpu_hart_exit();
	return NULL;
}

int main(void)
{
	test_percpu_init_as_hart0(16u << 20);

	pthread_t t;
	CHECK(pthread_create(&t, NULL, parent_hart1, NULL) == 0);
	while (__atomic_load_n(&answered, __ATOMIC_ACQUIRE) != 1)
		usleep(1000);
	percpu_trim(); /* asks hart 1 to flush, without waiting */
	__atomic_store_n(&answer, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&answered, __ATOMIC_ACQUIRE) != 2)
		usleep(1000);

	struct percpu_cache_stats cs;
	percpu_get_cache_stats(&cs);
	printf("parent: orphans %zu bytes, charged %zu\n", cs.orphan_bytes, cs.charged);
	CHECK(cs.orphan_bytes > 0);

	/* free_orphans' first step, by a thread the fork leaves behind. */
	struct percpu_magazine *taken =
		__atomic_exchange_n(&percpu_orphans.head, NULL, __ATOMIC_ACQUIRE);
	CHECK(taken != NULL);

	fflush(stdout);
	fork_hook_prepare();
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		fork_hook_child();
		percpu_drain();
		percpu_get_cache_stats(&cs);
		printf("child: after drain orphans %zu bytes (want 0), cached %zu (want 0), "
		       "charged %zu (want 0)\n", cs.orphan_bytes, cs.cached_bytes, cs.charged);
		fflush(stdout);
		_exit(cs.orphan_bytes == 0 && cs.cached_bytes == 0 && cs.charged == 0 ? 0 : 1);
	}
	fork_hook_parent();
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);

	/* The parent's thread finishes its work: the list back, then drained. */
	__atomic_store_n(&percpu_orphans.head, taken, __ATOMIC_RELEASE);
	__atomic_store_n(&parked_go, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	percpu_drain();
	percpu_get_cache_stats(&cs);
	CHECK_EQ(cs.orphan_bytes, 0);
	CHECK_EQ(cs.charged, 0);

	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	printf("fork_orphans_test: PASS\n");
	return 0;
}
