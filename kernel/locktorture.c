// SPDX-License-Identifier: BSD-2-Clause
/*
 * locktorture, after Linux's: every hart takes one ticket lock `iters`
 * times (irqsave form) and checks, inside, that it is alone. The tick hook
 * takes the same lock from the timer interrupt, so the irqsave form is
 * exercised too (without it a hart would deadlock against itself).
 *
 * Inside the critical section:
 *   - `inside` is incremented and must have been 0, then re-read before
 *     leaving and must still be 1: two harts inside at once is a violation;
 *   - a shared counter gets `cs_work` plain (non-atomic) increments, so a
 *     lock that lets two harts in also loses updates: the total must be
 *     exactly (acquisitions) * cs_work.
 * The critical section is long (cs_work volatile read-modify-writes) next
 * to the work outside it, so with a broken lock harts running in parallel
 * overlap many times per run; every hart runs all its iterations, so the
 * verdict does not hinge on one lucky collision. Harts only overlap if the
 * host runs their threads at the same time: on a loaded host one thread
 * can run all 20,000 iterations (about 20 ms) inside one time slice, so a
 * run that must see a broken lock also sets min_ms, long enough for the
 * host to schedule the harts side by side.
 *
 * Bootargs: iters (20000), cs_work (32), tick_us (10000: a 100 Hz tick;
 * 0 = no ticks), min_ms (0: every hart goes on taking the lock after its
 * iters until this long after its start).
 * Fairness: when the first hart finishes, the others' acquisition counts
 * are snapshotted; fairness = min/max of that snapshot (1.000 is perfect).
 */
#include <kernel/kernel.h>
#include <platform/ticket_lock.h>

struct hart_stats {
	uint64_t acquisitions;      /* from the main loop */
	uint64_t tick_acquisitions; /* from the tick hook */
	uint64_t spins;
	uint64_t max_spins;
	uint64_t violations;
	uint64_t start, end;        /* timebase */
} __attribute__((aligned(PORT_CACHE_LINE)));

static ticket_lock_t lock = TICKET_LOCK_INIT;
static unsigned inside; /* atomic, see critical_section() */
static volatile uint64_t shared_counter; /* plain increments, under the lock */
static bool done;                        /* under the lock: ticks stop */
static bool window_closed;               /* under the lock */
static uint64_t window[PORT_MAX_HARTS];  /* under the lock */
static struct hart_stats stats[PORT_MAX_HARTS];
static uint64_t iters, cs_work, tick_us, min_ms, min_ticks;

/* Caller holds the lock (or, with the broken lock, thinks it does). */
static void critical_section(struct hart_stats *st)
{
	/*
	 * Relaxed: the lock's acquire and release order these. Adding no
	 * fences of our own keeps the check from masking a broken lock.
	 */
	if (__atomic_fetch_add(&inside, 1, __ATOMIC_RELAXED) != 0)
		st->violations++;
	for (uint64_t k = 0; k < cs_work; k++)
		shared_counter = shared_counter + 1;
	/* Relaxed: as above; did anyone come in while we were here? */
	if (__atomic_load_n(&inside, __ATOMIC_RELAXED) != 1)
		st->violations++;
	__atomic_fetch_sub(&inside, 1, __ATOMIC_RELAXED);
}

static void tick(void)
{
	struct hart_stats *st = &stats[port_hart_id()];
	unsigned long spins = 0;
	/* Already masked (we are the timer interrupt); the form still nests. */
	port_irqflags_t flags = ticket_lock_irqsave(&lock, &spins);

	if (!done) {
		critical_section(st);
		st->tick_acquisitions++;
	}
	ticket_unlock_irqrestore(&lock, flags);
}

static void setup(void)
{
	iters = kernel_arg_u64("iters", 20000);
	cs_work = kernel_arg_u64("cs_work", 32);
	tick_us = kernel_arg_u64("tick_us", 10000);
	min_ms = kernel_arg_u64("min_ms", 0);
	min_ticks = kernel_arg_ticks("min_ms", 0, 1000);
	kprintf("locktorture: iters=%lu cs_work=%lu tick_us=%lu min_ms=%lu\n",
		(unsigned long)iters, (unsigned long)cs_work,
		(unsigned long)tick_us, (unsigned long)min_ms);
	if (tick_us)
		platform_set_tick_hook(tick, kernel_arg_ticks("tick_us", 10000, 1000000));
}

static void run(unsigned me)
{
	struct hart_stats *st = &stats[me];

	st->start = platform_time();
	uint64_t min_end = st->start + min_ticks;
	for (uint64_t i = 0; i < iters || platform_time() < min_end; i++) {
		unsigned long spins = 0;
		port_irqflags_t flags = ticket_lock_irqsave(&lock, &spins);

		critical_section(st);
		st->acquisitions++;
		if (!window_closed && st->acquisitions == iters) {
			/* First to finish: how far had everyone else come? */
			window_closed = true;
			for (unsigned h = 0; h < smp_nharts(); h++)
				window[h] = stats[h].acquisitions;
		}
		ticket_unlock_irqrestore(&lock, flags);
		st->spins += spins;
		if (spins > st->max_spins)
			st->max_spins = spins;
	}
	st->end = platform_time();
}

static int finish(void)
{
	unsigned n = smp_nharts();
	uint64_t acq = 0, tick_acq = 0, viol = 0, max_spins = 0, spins = 0;
	uint64_t wmin = UINT64_MAX, wmax = 0, start = UINT64_MAX, end = 0;
	bool all_iters = true; /* every hart took the lock at least iters times */
	uint64_t counter, expected, fair_milli, elapsed_us;
	port_irqflags_t flags = ticket_lock_irqsave(&lock, 0);
	bool pass;

	done = true; /* later ticks leave the counters alone */
	counter = shared_counter;
	ticket_unlock_irqrestore(&lock, flags);

	kprintf("locktorture: hart  acquisitions  tick_acq  spins/acq  max_spins"
		"  violations  at_first_finish\n");
	for (unsigned h = 0; h < n; h++) {
		struct hart_stats *st = &stats[h];

		kprintf("locktorture: %4u  %12lu  %8lu  %9lu  %9lu  %10lu  %15lu\n", h,
			(unsigned long)st->acquisitions,
			(unsigned long)st->tick_acquisitions,
			(unsigned long)(st->acquisitions ? st->spins / st->acquisitions : 0),
			(unsigned long)st->max_spins, (unsigned long)st->violations,
			(unsigned long)window[h]);
		acq += st->acquisitions;
		all_iters = all_iters && st->acquisitions >= iters;
		tick_acq += st->tick_acquisitions;
		viol += st->violations;
		spins += st->spins;
		if (st->max_spins > max_spins)
			max_spins = st->max_spins;
		if (window[h] < wmin)
			wmin = window[h];
		if (window[h] > wmax)
			wmax = window[h];
		if (st->start < start)
			start = st->start;
		if (st->end > end)
			end = st->end;
	}
	expected = (acq + tick_acq) * cs_work;
	fair_milli = wmax ? wmin * 1000 / wmax : 1000;
	elapsed_us = ticks_to_us(end - start);
	pass = viol == 0 && counter == expected && all_iters;
	kprintf("locktorture: shared counter %lu, expected %lu%s\n",
		(unsigned long)counter, (unsigned long)expected,
		counter == expected ? "" : " (lost updates)");
	kprintf("locktorture: %s harts=%u iters=%lu acquisitions=%lu "
		"tick_acquisitions=%lu violations=%lu lost_updates=%ld "
		"max_spins=%lu avg_spins=%lu fairness=%lu.%03lu elapsed_ms=%lu\n",
		pass ? "PASS" : "FAIL", n, (unsigned long)iters,
		(unsigned long)acq, (unsigned long)tick_acq, (unsigned long)viol,
		(long)(expected - counter), (unsigned long)max_spins,
		(unsigned long)(acq ? spins / acq : 0),
		(unsigned long)(fair_milli / 1000), (unsigned long)(fair_milli % 1000),
		(unsigned long)(elapsed_us / 1000));
	return pass ? PORT_EXIT_PASS : PORT_EXIT_FAIL;
}

const struct kernel_scenario kernel_scenario = {
	.name = "locktorture",
	.setup = setup,
	.run = run,
	.finish = finish,
};
