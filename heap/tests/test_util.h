/* SPDX-License-Identifier: BSD-2-Clause */
/* Host test helpers: assertions that name the line, mmap'd arenas, a PRNG. */
#ifndef HEAP_TESTS_TEST_UTIL_H
#define HEAP_TESTS_TEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

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

#endif
