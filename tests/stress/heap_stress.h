/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The SMP heap stress: every hart runs a seeded random mix of kmalloc,
 * kmalloc_aligned, kzalloc, krealloc (krealloc_aligned for aligned blocks,
 * one in 16 through the heap's kheap_try_realloc) and kfree, and hands
 * blocks to other harts through inboxes so many frees are cross-hart.
 * Every block carries a pattern naming its owner and sequence number over
 * all its usable bytes (ksize), checked before every free and realloc.
 * Portable: the QEMU kernel and the host (pthreads) both run it.
 *
 * Use: stress_setup() once, stress_hart_run() on every hart at once,
 * stress_hart_finish() on every hart at once, then stress_verdict() once.
 */
#ifndef TESTS_HEAP_STRESS_H
#define TESTS_HEAP_STRESS_H

#include <platform/port.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The live set is a share of the heap, not a number of blocks per hart:
 * at most fill_pct of heap_bytes, one cap all harts share, so the same job
 * spreads over however many harts run it. A hart allocates (or grows a
 * block) only while all live bytes, blocks in transit between harts
 * included, stay within the cap (heap_stress.c, live_reserve).
 */
#define STRESS_DEFAULT_FILL_PCT 50
/* Slots (blocks a hart may hold), shared out among the harts. */
#define STRESS_TOTAL_SLOTS 8192
/* The default job: this many operations, spread over the harts. */
#define STRESS_DEFAULT_TOTAL_OPS 1600000
/*
 * At the paranoid level (HEAP_HARDENING >= 3) every release of the heap
 * lock validates the whole heap, which made the stress about 90 times
 * slower (5,700 operations a second at 4 harts under QEMU, against
 * 500,000): its default job is this many times smaller.
 */
#define STRESS_PARANOID_OPS_DIV 32
/*
 * By default hart 0 validates the whole heap every STRESS_VALIDATE_EVERY
 * of its operations, and at least STRESS_VALIDATIONS_MIN times in a
 * shorter run (the interval shrinks to ops / (STRESS_VALIDATIONS_MIN + 1)):
 * with the fixed interval, `--smp 128 --ops 500` validated only at the end.
 */
#define STRESS_VALIDATE_EVERY 4096
#define STRESS_VALIDATIONS_MIN 4

struct stress_config {
	unsigned nharts;
	uint64_t ops_per_hart;
	uint64_t seed;
	uint64_t fill_pct;  /* live-set target, % of heap_bytes: 0..100 */
	size_t heap_bytes;  /* what fill_pct is a share of */
	/* Hart 0 validates the whole heap every this many of its ops (0: never). */
	uint64_t validate_every;
	/* Called on hart 0 every 256 ops: the driver prints progress. */
	void (*progress)(void);
};

struct stress_hart_stats {
	uint64_t ops, allocs, frees, cross_frees, reallocs, zallocs, aligned;
	uint64_t large, sent, irq_ops, validations;
	uint64_t corrupt; /* pattern mismatches seen by this hart */
} __attribute__((aligned(PORT_CACHE_LINE)));

void stress_setup(const struct stress_config *cfg);
/* Ops per hart of the default job at nharts harts. */
uint64_t stress_default_ops(unsigned nharts);
/* The default validate_every for ops_per_hart operations per hart. */
uint64_t stress_default_validate_every(uint64_t ops_per_hart);
void stress_hart_run(unsigned hart);
/* Frees what the hart holds and drains its inbox; call on every hart. */
void stress_hart_finish(unsigned hart);

/* One allocation and free from interrupt context (the timer tick). */
void stress_irq_tick(void);

/* The end of a run, after every hart finished and the caches drained. */
struct stress_result {
	struct stress_hart_stats sum;
	uint64_t validate_errors; /* the final validation */
	size_t live_allocs;       /* heap blocks still live: leaked */
	size_t bytes_free, initial_free;
	unsigned cross_pct;       /* cross-hart frees, % of frees */
	size_t live_max;          /* most live bytes the harts held at once */
	unsigned fill_max_pct;    /* live_max, % of the heap */
	size_t largest_free_min;  /* stress_largest_free_min() */
	size_t cache_budget, cached_max; /* percpu's budget and most charged */
	bool pass;
};
void stress_result(size_t initial_free, struct stress_result *r);

const struct stress_hart_stats *stress_stats(unsigned hart);
uint64_t stress_total_ops(void);
/* Live bytes the harts hold now (and the most so far: stress_result). */
size_t stress_live_bytes(void);
/*
 * The smallest largest free block hart 0 has sampled so far (0 before the
 * first sample): the fragmentation margin for the largest requests.
 */
size_t stress_largest_free_min(void);
/* Validation errors counted so far (periodic runs and the final one). */
uint64_t stress_validation_errors(void);
/*
 * For a driver that saw no operation finish for a long time: prints a
 * `stall: hart H: ...` line per hart with its operation count, what it was
 * doing (and whether inside its timer tick), and the lock it waits for
 * (which, its ticket, the ticket served).
 */
void stress_report_stall(void);

/* Fills and checks the owner/sequence pattern; exposed for the tests. */
void stress_fill(void *p, size_t size, uint64_t tag);
bool stress_check(const void *p, size_t size, uint64_t tag);

#endif
