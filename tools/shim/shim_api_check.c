// SPDX-License-Identifier: BSD-2-Clause
/*
 * Checks the malloc family's contract as a C program sees it; run under
 * LD_PRELOAD=libsmpheap_malloc.so by shim_test.sh (it passes on glibc too).
 * Prints "shim_api_check: PASS <n> checks" or the failed checks; exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int checks, failures;
/* Opaque to the compiler, which would reject the constants at build time. */
static volatile size_t vmax = SIZE_MAX;

#define CHECK(cond)                                                        \
	do {                                                               \
		checks++;                                                  \
		if (!(cond)) {                                             \
			failures++;                                        \
			fprintf(stderr, "shim_api_check: FAIL line %d: %s\n", \
				__LINE__, #cond);                          \
		}                                                          \
	} while (0)

static int aligned(void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

static void *thread_fn(void *arg)
{
	/* Allocate here, free some in main: cross-thread frees after exit. */
	void **out = arg;
	for (int i = 0; i < 1000; i++) {
		void *p = malloc((size_t)(i % 700) + 1);
		memset(p, 0x33, (size_t)(i % 700) + 1);
		if (i % 2)
			free(p);
		else
			out[i / 2] = p;
	}
	return NULL;
}

int main(void)
{
	/* malloc / free basics */
	free(NULL);
	void *p = malloc(0);
	CHECK(p != NULL);
	free(p);
	p = malloc(100);
	CHECK(p && aligned(p, 16));
	CHECK(malloc_usable_size(p) >= 100);
	memset(p, 1, malloc_usable_size(p));
	free(p);

	/* calloc zeroes, and an overflowing product fails with ENOMEM */
	unsigned char *c = malloc(4096);
	memset(c, 0xff, 4096);
	free(c);
	c = calloc(64, 64);
	int zero = 1;
	for (int i = 0; i < 4096; i++)
		zero &= c[i] == 0;
	CHECK(zero);
	free(c);
	errno = 0;
	CHECK(calloc(vmax / 2, 3) == NULL && errno == ENOMEM);

	/* huge requests fail cleanly */
	errno = 0;
	CHECK(malloc(vmax) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(malloc(vmax >> 4) == NULL && errno == ENOMEM);

	/* realloc */
	char *r = realloc(NULL, 10);
	CHECK(r != NULL);
	strcpy(r, "123456789");
	r = realloc(r, 100000);
	CHECK(r && !strcmp(r, "123456789"));
	r = realloc(r, 5);
	CHECK(r && !memcmp(r, "12345", 5));
	errno = 0;
	char *r2 = realloc(r, vmax - 100);
	CHECK(r2 == NULL && errno == ENOMEM);
	if (!r2)
		free(r); /* the failed realloc left it alone */
	/* realloc(p, 0) frees p and returns NULL (glibc's), whatever p's size. */
	for (size_t n = 1; n <= 8192; n *= 2) {
		char *z = malloc(n);
		z[0] = 1;
		CHECK(realloc(z, 0) == NULL);
	}

	/* alignment family */
	for (size_t a = sizeof(void *); a <= 65536; a *= 2) {
		void *q = NULL;
		CHECK(posix_memalign(&q, a, 40) == 0 && q && aligned(q, a));
		free(q);
		q = aligned_alloc(a, a * 2);
		CHECK(q && aligned(q, a));
		free(q);
		q = memalign(a, 3);
		CHECK(q && aligned(q, a));
		free(q);
	}
	void *q = (void *)1;
	CHECK(posix_memalign(&q, 24, 8) == EINVAL && q == (void *)1);
	CHECK(posix_memalign(&q, 4, 8) == EINVAL);
	long ps = sysconf(_SC_PAGESIZE);
	q = valloc(10);
	CHECK(q && aligned(q, (size_t)ps));
	free(q);
	q = pvalloc(10);
	CHECK(q && aligned(q, (size_t)ps) && malloc_usable_size(q) >= (size_t)ps);
	free(q);

	/* threads that exit while others hold their blocks */
	void *held[8][500];
	for (int round = 0; round < 20; round++) {
		pthread_t t[8];
		for (int i = 0; i < 8; i++)
			CHECK(pthread_create(&t[i], NULL, thread_fn, held[i]) == 0);
		for (int i = 0; i < 8; i++)
			pthread_join(t[i], NULL);
		for (int i = 0; i < 8; i++)
			for (int j = 0; j < 500; j++)
				free(held[i][j]);
	}

	/* fork: the child allocates and frees */
	pid_t pid = fork();
	if (pid == 0) {
		void *x[1000];
		for (int i = 0; i < 1000; i++)
			x[i] = malloc((size_t)i * 13 + 1);
		for (int i = 0; i < 1000; i++)
			free(x[i]);
		_exit(0);
	}
	int st = 0;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	      WEXITSTATUS(st) == 0);

	/* more than the first region (the OOM hook claims more) when it is small */
	void *big[64];
	for (int i = 0; i < 64; i++) {
		big[i] = malloc(1 << 20);
		CHECK(big[i] != NULL);
		if (big[i])
			memset(big[i], i, 4096);
	}
	for (int i = 0; i < 64; i++)
		free(big[i]);

	if (failures) {
		printf("shim_api_check: FAIL %d of %d checks\n", failures, checks);
		return 1;
	}
	printf("shim_api_check: PASS %d checks\n", checks);
	return 0;
}
