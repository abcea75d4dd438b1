// SPDX-License-Identifier: BSD-2-Clause
/*
 * thread_bench: issue 10's thread-scaling workload, for one allocator
 * (whatever LD_PRELOAD gives malloc and free).
 *
 *   thread_bench THREADS [OPS_TOTAL]
 *
 * THREADS threads start at once (a barrier), each does OPS_TOTAL / THREADS
 * operations (at least 2,000): free a random one of its 64 slots (if full)
 * and malloc 1..5,000 bytes into it, writing the last byte and checking it
 * before the free; then frees what it holds and exits. Thread creation and
 * exit are inside the time, as in a program that starts workers.
 * One line: thread_bench: threads=N ops=... secs=... mops=... maxrss_kb=...
 * Exit 1 if an allocation failed or a block was overwritten.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SLOTS 64
#define MAX_SIZE 5000
#define MIN_OPS 2000

static unsigned long ops_per_thread;
static int failed; /* atomic */
static pthread_barrier_t start;

static void *worker(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
	unsigned char *live[SLOTS] = { 0 };
	size_t sz[SLOTS] = { 0 };
	pthread_barrier_wait(&start);
	for (unsigned long i = 0; i < ops_per_thread; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		unsigned k = (unsigned)(s % SLOTS);
		if (live[k]) {
			if (live[k][sz[k] - 1] != (unsigned char)sz[k])
				__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
			free(live[k]);
		}
		sz[k] = 1 + (size_t)((s >> 20) % MAX_SIZE);
		live[k] = malloc(sz[k]);
		if (!live[k]) {
			__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
			break;
		}
		live[k][sz[k] - 1] = (unsigned char)sz[k];
	}
	for (unsigned k = 0; k < SLOTS; k++)
		free(live[k]);
	return NULL;
}

/*
 * Peak resident set of this process, in KiB: VmHWM. (getrusage's ru_maxrss
 * keeps the parent's peak across exec, so a big driver hides small runs.)
 */
static long peak_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: thread_bench THREADS [OPS_TOTAL]\n");
		return 2;
	}
	unsigned n = (unsigned)strtoul(argv[1], NULL, 10);
	unsigned long total = argc > 2 ? strtoul(argv[2], NULL, 10) : 4000000ul;
	if (n == 0)
		return 2;
	ops_per_thread = total / n < MIN_OPS ? MIN_OPS : total / n;
	pthread_t *t = malloc(n * sizeof(*t));
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 128 << 10);
	pthread_barrier_init(&start, NULL, n + 1);
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&t[i], &a, worker, (void *)(uintptr_t)i)) {
			fprintf(stderr, "thread_bench: pthread_create failed at %u\n", i);
			return 1;
		}
	double t0 = now();
	pthread_barrier_wait(&start);
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	double secs = now() - t0;
	unsigned long ops = ops_per_thread * n;
	printf("thread_bench: threads=%u ops=%lu secs=%.4f mops=%.3f maxrss_kb=%ld\n",
	       n, ops, secs, (double)ops / secs / 1e6, peak_rss_kb());
	free(t);
	return failed;
}
