// SPDX-License-Identifier: BSD-2-Clause
/*
 * Heap efficiency (talc's method), for the benchmark report: the mean over
 * trials of live requested bytes / heap size at the first failed request,
 * on fixed heaps of 16 and 32 MiB. The workload itself is heap/'s own
 * (heap/tests/efficiency.h, as efficiency_test runs it), not a second copy.
 *  - the core: heap_alloc / heap_free / heap_realloc on a struct heap;
 *  - with magazines: kmalloc_try / kfree / krealloc (percpu/ over kheap,
 *    PERCPU_MAGAZINES) on a kheap over a region of the same size. kheap is
 *    initialised once per process, so each trial runs in a forked child.
 *    Magazine arrays, depots and cached blocks live in that region too; at
 *    the first failure the heap's reclaim hook has already returned what
 *    the caches held, so what remains of their cost is class rounding and
 *    the placement of the runs refills cut.
 *
 * Prints (the first line is what bench_host.py reads):
 *   heap_efficiency: efficiency=0.xxxx min=0.xxxx trials=N heap_mib=16
 *   heap_efficiency_32mib: efficiency=0.xxxx min=0.xxxx trials=N
 *   heap_efficiency_magazines: mag16=0.xxxx mag16_min=... mag32=0.xxxx mag32_min=...
 */
#include "efficiency.h"

#include <heap/kheap.h>
#include <percpu/kmalloc.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1u << 20)
#define TRIALS 20

static void *k_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return kmalloc_try(size);
}

static void k_free(void *ctx, void *p)
{
	(void)ctx;
	kfree(p);
}

static void *k_realloc(void *ctx, void *p, size_t size)
{
	(void)ctx;
	return krealloc(p, size);
}

/* One trial with magazines, in a child: live/heap, or -1 if it failed. */
static double magazine_trial(size_t bytes, uint64_t seed)
{
	int fd[2];
	double e = -1;

	CHECK(pipe(fd) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char *mem = test_map(bytes);
		const struct eff_ops o = { k_alloc, k_free, k_realloc, NULL };
		kheap_init(mem, mem + bytes);
		percpu_init(PERCPU_MAGAZINES);
		double r = (double)efficiency_run(&o, seed) / (double)bytes;
		_exit(write(fd[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(fd[1]);
	if (read(fd[0], &e, sizeof(e)) != (ssize_t)sizeof(e))
		e = -1;
	close(fd[0]);
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return e;
}

static double magazine_mean(size_t bytes, double *min)
{
	double sum = 0;
	*min = 1;
	for (int t = 0; t < TRIALS; t++) {
		double e = magazine_trial(bytes, 1000 + (uint64_t)t);
		CHECK(e >= 0);
		sum += e;
		*min = e < *min ? e : *min;
	}
	return sum / TRIALS;
}

int main(void)
{
	char *mem = test_map(32 * MIB);
	double min16, min32, mmin16, mmin32;
	double e16 = efficiency_mean(mem, 16 * MIB, TRIALS, &min16);
	double e32 = efficiency_mean(mem, 32 * MIB, TRIALS, &min32);

	printf("heap_efficiency: efficiency=%.4f min=%.4f trials=%d heap_mib=16\n", e16, min16,
	       TRIALS);
	printf("heap_efficiency_32mib: efficiency=%.4f min=%.4f trials=%d\n", e32, min32, TRIALS);
	fflush(stdout);
	double m16 = magazine_mean(16 * MIB, &mmin16);
	double m32 = magazine_mean(32 * MIB, &mmin32);
	printf("heap_efficiency_magazines: mag16=%.4f mag16_min=%.4f mag32=%.4f mag32_min=%.4f "
	       "trials=%d\n",
	       m16, mmin16, m32, mmin32, TRIALS);
	return 0;
}
