// SPDX-License-Identifier: BSD-2-Clause
/*
 * qemu_smp: the SMP heap stress on every hart of QEMU virt (the scenario is
 * tests/stress/heap_stress.c), with the timer interrupt allocating too and
 * hart 0 running the validator while the others keep going.
 *
 * Bootargs: ops (per hart; default: 1.6 million spread over the harts),
 * fill (live-set target, % of the heap; default 50), seed, validate_every
 * (hart 0's ops between validations; default: heap_stress.h,
 * STRESS_VALIDATE_EVERY), tick_us (timer period; 0 = none;
 * default 2 ms, 0.5 ms x harts above 4: 2000 ticks a second in all from
 * 4 harts up, 500 a hart below),
 * baseline=1 (bypass the magazines: every request goes to the locked global
 * heap), stall_s (fail with a report of every hart's state when no
 * operation finishes for this long; default 60, 0 = never).
 * Last line: `qemu_smp: PASS harts=.. ops=.. ... leaked=0 lockless_pct=..
 * fill_max_pct=.. cached_max_pct=.. budget_pct=.. high_water_kib=..
 * largest_free_min_kib=.. wall_ms=..`.
 */
#include <heap/kheap.h>
#include <kernel/kernel.h>
#include <percpu/kmalloc.h>

#include "tests/stress/heap_stress.h"

static uint64_t start_time, last_progress;
/*
 * The stall watch (hart 0, in progress()): if no hart finishes an operation
 * for stall_s seconds (bootarg; 0: never), the run fails with a report of
 * what every hart was doing and which lock it waits for, instead of
 * running into the runner's timeout with nothing said.
 */
#define STALL_DEFAULT_S 60
static uint64_t stall_ticks, stall_ops, stall_since;
static size_t initial_free, heap_bytes;
static uint64_t ops_per_hart;

static unsigned pct(size_t part, size_t whole)
{
	return whole ? (unsigned)(part * 100 / whole) : 0;
}

static void check_stall(uint64_t now)
{
	uint64_t ops = stress_total_ops();

	if (ops != stall_ops || !stall_ticks) {
		stall_ops = ops;
		stall_since = now;
		return;
	}
	if (now - stall_since < stall_ticks)
		return;
	stress_report_stall();
	port_panic(PORT_EXIT_FAIL, "qemu_smp: FAIL stalled: no hart finished an operation "
		   "for %llu s (%llu ops so far; the stall lines above say where they are)",
		   (unsigned long long)(ticks_to_us(now - stall_since) / 1000000),
		   (unsigned long long)ops);
}

static void progress(void)
{
	uint64_t now = platform_time();

	if (now - last_progress < platform_timebase_hz())
		return;
	last_progress = now;
	check_stall(now);
	struct percpu_cache_stats cs;
	percpu_get_cache_stats(&cs);
	size_t live = stress_live_bytes();
	kprintf("progress: %llu ops so far, %llu ms, live %zu KiB (fill %u%%), "
		"cached %zu KiB (%u%% of the heap), largest free block at least %zu KiB\n",
		(unsigned long long)stress_total_ops(),
		(unsigned long long)(ticks_to_us(now - start_time) / 1000),
		live / 1024, pct(live, heap_bytes), cs.cached_bytes / 1024,
		pct(cs.cached_bytes, heap_bytes), stress_largest_free_min() / 1024);
}

/* Boot hart, once every hart is up (setup() runs before they are). */
static void start(void)
{
	struct kheap_stats hs;
	struct stress_config cfg = {
		.nharts = smp_nharts(),
		.ops_per_hart = kernel_arg_u64("ops", stress_default_ops(smp_nharts())),
		.fill_pct = kernel_arg_u64("fill", STRESS_DEFAULT_FILL_PCT),
		.seed = kernel_arg_u64("seed", 1),
		.progress = progress,
	};
	cfg.validate_every =
		kernel_arg_u64("validate_every", stress_default_validate_every(cfg.ops_per_hart));
	/*
	 * The same job spread over the harts: the ticks too, 2000 a second in
	 * all from 4 harts up (2 ms a hart at 1 to 4 harts, 64 ms at 128,
	 * where 2 ms ticks made more interrupt-time allocations than the
	 * stress itself).
	 */
	uint64_t tick = kernel_arg_ticks("tick_us", cfg.nharts > 4 ? 500 * cfg.nharts : 2000,
					 1000000);
	bool baseline = kernel_arg_u64("baseline", 0) != 0;
	stall_ticks = kernel_arg_ticks("stall_s", STALL_DEFAULT_S, 1);

	kheap_init(sheap, eheap);
	percpu_init(baseline ? PERCPU_BYPASS : PERCPU_MAGAZINES);
	kheap_get_stats(&hs);
	initial_free = hs.heap.bytes_free;
	heap_bytes = cfg.heap_bytes = hs.heap.heap_bytes;
	ops_per_hart = cfg.ops_per_hart;
	kprintf("qemu_smp: heap %zu KiB at %p, %u harts, %llu ops per hart, fill %llu%%, "
		"seed %llu, %s\n", hs.heap.heap_bytes / 1024, (void *)sheap, cfg.nharts,
		(unsigned long long)cfg.ops_per_hart, (unsigned long long)cfg.fill_pct,
		(unsigned long long)cfg.seed,
		baseline ? "baseline (no magazines)" : "magazines");
	stress_setup(&cfg);
	start_time = last_progress = stall_since = platform_time();
	if (tick)
		platform_set_tick_hook(stress_irq_tick, tick);
}

static void run(unsigned hart)
{
	if (hart == smp_boot_hart())
		start();
	barrier();
	stress_hart_run(hart);
	/* Hart 0 reports progress (stress_hart_run) until the last one is done. */
	barrier_while(hart == 0 ? progress : 0);
	if (hart == smp_boot_hart())
		platform_set_tick_hook(0, 0);
	barrier();
	stress_hart_finish(hart);
	barrier();
	/* Every hart empties its own magazines; the depots go with them. */
	percpu_drain();
}

static void print_table(void)
{
	struct kheap_stats ks;

	kprintf("hart       ops   allocs    frees  xfrees  hit%%  depot_x  heap_calls  depot_spins  irq_ops\n");
	for (unsigned h = 0; h < smp_nharts(); h++) {
		const struct stress_hart_stats *s = stress_stats(h);
		struct percpu_stats p;
		uint64_t calls, hits;

		percpu_get_stats(h, &p);
		calls = p.allocs + p.frees;
		hits = p.alloc_hits + p.free_hits;
		kprintf("%4u %9llu %8llu %8llu %7llu %5llu %8llu %11llu %12llu %8llu\n", h,
			(unsigned long long)s->ops, (unsigned long long)s->allocs,
			(unsigned long long)s->frees, (unsigned long long)s->cross_frees,
			(unsigned long long)(calls ? hits * 100 / calls : 0),
			(unsigned long long)p.depot_exchanges,
			(unsigned long long)(p.refills + p.returns + p.large_allocs + p.large_frees),
			(unsigned long long)p.lock_spins, (unsigned long long)s->irq_ops);
	}
	kheap_get_stats(&ks);
	kprintf("global heap: %lu lock acquisitions, %lu spins, %lu frees deferred, high water %zu KiB\n",
		ks.lock_acquisitions, ks.lock_spins, ks.deferred_frees, ks.heap.high_water / 1024);
}

static size_t hs_high_water_kib(void)
{
	struct kheap_stats ks;
	kheap_get_stats(&ks);
	return ks.heap.high_water / 1024;
}

static int finish(void)
{
	struct stress_result r;
	struct percpu_stats p;
	uint64_t calls, wall_ms = ticks_to_us(platform_time() - start_time) / 1000;

	percpu_drain();
	print_table();
	percpu_report_depots(kprintf);
	stress_result(initial_free, &r);
	percpu_sum_stats(&p);
	calls = p.allocs + p.frees;
	kprintf("qemu_smp: %s harts=%u ops=%llu allocs=%llu frees=%llu "
		"cross_hart_frees=%llu cross_pct=%u corrupt=%llu leaked=%zu "
		"free_bytes=%zu/%zu validate_errors=%llu validations=%llu "
		"irq_ops=%llu lockless_pct=%llu fill_max_pct=%u cached_max_pct=%u "
		"budget_pct=%u high_water_kib=%zu largest_free_min_kib=%zu wall_ms=%llu\n",
		r.pass ? "PASS" : "FAIL", smp_nharts(),
		(unsigned long long)r.sum.ops, (unsigned long long)r.sum.allocs,
		(unsigned long long)r.sum.frees, (unsigned long long)r.sum.cross_frees,
		r.cross_pct, (unsigned long long)r.sum.corrupt, r.live_allocs,
		r.bytes_free, r.initial_free, (unsigned long long)r.validate_errors,
		(unsigned long long)r.sum.validations, (unsigned long long)r.sum.irq_ops,
		(unsigned long long)(calls ? (p.alloc_hits + p.free_hits) * 100 / calls : 0),
		r.fill_max_pct, pct(r.cached_max, heap_bytes), pct(r.cache_budget, heap_bytes),
		hs_high_water_kib(), r.largest_free_min / 1024, (unsigned long long)wall_ms);
	return r.pass ? PORT_EXIT_PASS : PORT_EXIT_FAIL;
}

const struct kernel_scenario kernel_scenario = {
	.name = "qemu_smp heap stress",
	.run = run,
	.finish = finish,
};
