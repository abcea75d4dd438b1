/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host test helpers: assertions that name the line, mmap'd arenas, a PRNG,
 * a child process whose stderr is captured.
 */
#ifndef HEAP_TESTS_TEST_UTIL_H
#define HEAP_TESTS_TEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <platform/mix64.h>
#include <testing/check.h>

/* Page-aligned anonymous memory, so a stray access outside it faults. */
static inline void *test_map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(p != MAP_FAILED);
	return p;
}

static inline void test_unmap(void *p, size_t bytes)
{
	munmap(p, bytes);
}

/* splitmix64: small, fast, good enough for tests. */
static inline uint64_t test_rand(uint64_t *s)
{
	return port_splitmix64(s);
}

/* Uniform in [lo, hi]. */
static inline uint64_t test_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
	return lo + test_rand(s) % (hi - lo + 1);
}

/* A number from argv[i], else the environment variable, else def. */
static inline unsigned long long test_param(int argc, char **argv, int i,
					    const char *env, unsigned long long def)
{
	const char *s = i < argc ? argv[i] : getenv(env);
	return s && *s ? strtoull(s, NULL, 0) : def;
}

/*
 * Runs fn(arg) in a child with its stderr captured in out (NUL-terminated,
 * at most cap - 1 bytes); returns its exit code, or 128 + the signal.
 */
static inline int test_run_child(void (*fn)(void *), void *arg, char *out, size_t cap)
{
	int fds[2];
	CHECK(pipe(fds) == 0);
	fflush(stdout); /* the child must not print the parent's buffer again */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t r;
	while (n < cap - 1 && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fds[0]);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif
