// SPDX-License-Identifier: BSD-2-Clause
/*
 * tick_test: a timer hook that overruns its period must still leave the
 * interrupted code time to run. Every hart's tick burns 3 periods (as a
 * tick that waits for a lock behind dozens of harts on a loaded host
 * does), while the hart's own loop counts how much of the time it got.
 * Each hart must get at least MIN_OWN_PCT of the time; a port that re-arms
 * the tick before the hook and lets it fire again on return gives its code
 * almost none (the livelock of the 64-hart stress).
 *
 * Bootargs: period_us (default 2000), run_ms (default 400).
 * Last line: `tick_test: PASS harts=.. own_pct_min=..` or `... FAIL ...`.
 */
#include <kernel/kernel.h>

#define MIN_OWN_PCT 10
#define BURN_PERIODS 3

static uint64_t period, run_ticks;
static struct {
	uint64_t hook_ticks; /* time spent in the hook: this hart's tick only */
	unsigned own_pct;
} __attribute__((aligned(64))) harts[PORT_MAX_HARTS];

static void burn_hook(void)
{
	uint64_t start = platform_time();
	while (platform_time() - start < BURN_PERIODS * period)
		port_cpu_relax();
	harts[smp_this_hart()].hook_ticks += platform_time() - start;
}

static void setup(void)
{
	period = kernel_arg_ticks("period_us", 2000, 1000000);
	run_ticks = kernel_arg_ticks("run_ms", 400, 1000);
	/* Either 0 runs no tick at all, and passes: named instead. */
	if (!period)
		panic("bootarg period_us: 0 stops the tick this test measures");
	if (!run_ticks)
		panic("bootarg run_ms: 0 leaves no time to measure");
	kprintf("tick_test: each tick burns %u periods of %llu ticks\n", BURN_PERIODS,
		(unsigned long long)period);
}

/* hook_ticks is the tick's too: read it with interrupts masked. */
static uint64_t hook_ticks(unsigned me)
{
	port_irqflags_t f = port_irq_save();
	uint64_t t = harts[me].hook_ticks;
	port_irq_restore(f);
	return t;
}

static void run(unsigned me)
{
	/* Every hart is up now: the hook reaches them all (by IPI). */
	if (me == smp_boot_hart())
		platform_set_tick_hook(burn_hook, period);
	barrier();
	uint64_t start = platform_time(), elapsed, hook_before = hook_ticks(me);

	/* The loop's own time is what the ticks leave of the elapsed time. */
	while ((elapsed = platform_time() - start) < run_ticks)
		port_cpu_relax();
	uint64_t hook = hook_ticks(me) - hook_before;
	harts[me].own_pct = hook >= elapsed ? 0 : (unsigned)((elapsed - hook) * 100 / elapsed);
}

static int finish(void)
{
	unsigned min = 100;

	platform_set_tick_hook(0, 0);
	for (unsigned h = 0; h < smp_nharts(); h++) {
		kprintf("tick_test: hart %u: own time %u%%\n", h, harts[h].own_pct);
		if (harts[h].own_pct < min)
			min = harts[h].own_pct;
	}
	bool pass = min >= MIN_OWN_PCT;
	kprintf("tick_test: %s harts=%u own_pct_min=%u (at least %u)\n", pass ? "PASS" : "FAIL",
		smp_nharts(), min, MIN_OWN_PCT);
	return pass ? PORT_EXIT_PASS : PORT_EXIT_FAIL;
}

const struct kernel_scenario kernel_scenario = {
	.name = "tick_test",
	.setup = setup,
	.run = run,
	.finish = finish,
};
