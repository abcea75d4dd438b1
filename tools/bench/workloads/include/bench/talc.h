// SPDX-License-Identifier: BSD-2-Clause
/*
 * talc's random-actions workload, the part every benchmark shares: the
 * random numbers, the size and alignment generators, the choice of action
 * and the max sizes (talc benches/src/random_actions.rs). The loop that
 * uses them is talc_step() in <bench/workloads.h>, which //heap:bench,
 * alloc_bench (host, LD_PRELOAD) and bench_kernel (QEMU) all run, so one
 * draw here means the same action in all three.
 *
 * Freestanding and header-only (static inline): <stddef.h> and <stdint.h>,
 * nothing of libc, so the riscv kernel build (-ffreestanding) takes it as
 * the host builds do.
 */
#ifndef BENCH_TALC_H
#define BENCH_TALC_H

#include <stddef.h>
#include <stdint.h>

/* The max sizes talc runs, in its order. */
#define TALC_NMAX 5
static const size_t talc_maxes[TALC_NMAX] = { 200, 1000, 3000, 10000, 30000 };

#define TALC_BATCH 100   /* actions between two looks at the clock */
#define TALC_MIN_LIVE 300 /* below this many live blocks, always alloc */

/* splitmix64: any seed (0 too) is a good state; one add and two multiplies. */
static inline uint64_t bench_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi) by multiply-shift (fastrand's way, as talc): no
 * division, which the hot loops would otherwise pay for on RISC-V. */
static inline size_t bench_below(uint64_t *s, size_t lo, size_t hi)
{
	return lo + (size_t)(((unsigned __int128)bench_rand(s) * (hi - lo)) >> 64);
}

/* talc's generate_size: rand(4..rand(16..max)), biased towards small. */
static inline size_t talc_size(uint64_t *s, size_t max)
{
	return bench_below(s, 4, bench_below(s, 16, max));
}

/* talc's generate_align: 8 << ctz(u16) / 2, so 75% 8, 19% 16, 4% 32, ...,
 * 2048 at most (a zero u16 counts as 16 trailing zeros). */
static inline size_t talc_align(uint64_t *s)
{
	unsigned tz = (unsigned)__builtin_ctz((unsigned)(bench_rand(s) & 0xffff) | 0x10000u);
	return (size_t)8 << (tz / 2);
}

enum talc_action { TALC_REALLOC, TALC_ALLOC, TALC_FREE };

/* One action: realloc 1 in 7, else alloc while fewer than TALC_MIN_LIVE are
 * live or 3 in 7, else free. The caller skips a realloc or a free with
 * nothing live and turns an alloc over its own caps into a free. */
static inline enum talc_action talc_action(uint64_t *s, size_t nlive)
{
	size_t a = bench_below(s, 0, 7);
	if (a == 6)
		return TALC_REALLOC;
	return a < 3 || nlive < TALC_MIN_LIVE ? TALC_ALLOC : TALC_FREE;
}

#endif /* BENCH_TALC_H */
