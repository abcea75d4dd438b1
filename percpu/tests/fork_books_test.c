// SPDX-License-Identifier: BSD-2-Clause
/*
 * A fork child's percpu_stats keep their books: allocs - frees is the
 * blocks the caller holds (stats_books_test), in the child too. The child
 * drops the other harts' slots (fork.c, forget_slots) with the rounds they
 * cached; those rounds left the magazines, as a flush's do. Before, the
 * drop did not count them out (mag_out), so the fast frees derived from
 * the magazines' block flow (stats.c) lost them: hart 1's frees fell by
 * the rounds it cached, and the child's books said it held that many
 * blocks it never had.
 */
#include "fork_util.h"

#include <sys/wait.h>

static long long held_by_books(void)
{
	struct percpu_stats s;
	percpu_sum_stats(&s);
	return (long long)(s.allocs - s.frees);
}

int main(void)
{
	test_percpu_init_as_hart0(16u << 20);
	CHECK(pthread_atfork(fork_hook_prepare, fork_hook_parent, fork_hook_child) == 0);

	/* Every block freed: some cached in hart 1's slots. */
	pthread_t t = fork_park_hart1(fork_cache_some);
	printf("parent: hart 1 caches %zu bytes; books say %lld blocks held (want 0)\n",
	       percpu_cached_bytes(1), held_by_books());
	CHECK_EQ(held_by_books(), 0);

	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		long long h0 = held_by_books();
		void *p = kmalloc(64);
		long long h1 = held_by_books();
		kfree(p);
		long long h2 = held_by_books();
		printf("child: books say %lld blocks held after fork (want 0), %lld with one "
		       "kmalloc (want 1), %lld after its kfree (want 0)\n", h0, h1, h2);
		fflush(stdout);
		_exit(h0 == 0 && h1 == 1 && h2 == 0 ? 0 : 1);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	fork_unpark_hart1(t);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	printf("fork_books_test: PASS\n");
	return 0;
}
