// SPDX-License-Identifier: BSD-2-Clause
/*
 * A tiny M-mode kernel that runs the SMP heap stress (tests/stress/) on the
 * M-mode port: what an xv6-like kernel's main does, cut down to the heap.
 * The boot hart initialises the heap (kheap_init, then percpu_init, once),
 * releases the other harts, and every hart runs the stress between
 * barriers, with a timer tick that allocates from interrupt context.
 *
 * Then every hart runs the page API (pages_phase.c) the same way.
 *
 * Bootargs: ops (per hart), fill (live set, % of the heap), seed,
 * validate_every, tick_us (0 = no tick), page_ops (per hart, the page phase).
 * Last line: `mmode_smp: PASS harts=N ...` and the exit code through
 * sifive_test (0 pass, 1 fail).
 */
#include <heap/kheap.h>
#include <percpu/kmalloc.h>
#include <percpu/pages.h>
#include <platform/mmode.h>

#include "pages_phase.h"
#include "tests/stress/heap_stress.h"

#define BOOT_TIMEOUT_US 10000000

#ifdef MMODE_PAGES_SELFTEST
/* The amalgamation test's xv6-style kalloc/kfree on the page API. */
void mmode_pages_selftest(void);
#endif

extern char sheap[], eheap[];

static unsigned nharts;
static unsigned harts_up; /* atomic: harts that reached their main */
static size_t initial_free;
static uint64_t tick_ticks; /* the tick period; 0: no tick */
static uint64_t page_ops;   /* per hart, in the page phase */
static struct stress_result result; /* the heap's, before the page phase */
static uint64_t start_us;

/* A sense-reversing barrier over every hart. */
static struct {
	unsigned count; /* atomic: arrivals this round */
	unsigned sense; /* atomic: flips when a round completes */
} bar __attribute__((aligned(PORT_CACHE_LINE)));
static struct {
	unsigned sense;
} __attribute__((aligned(PORT_CACHE_LINE))) my_sense[PORT_MAX_HARTS];

static void barrier(void)
{
	unsigned sense = my_sense[port_hart_id()].sense ^= 1;
	unsigned spins = 0;

	/* Acq_rel: our writes go to the last arriver, which takes everyone's. */
	if (__atomic_fetch_add(&bar.count, 1, __ATOMIC_ACQ_REL) + 1 == nharts) {
		/* Relaxed: ordered by the release of the sense. */
		__atomic_store_n(&bar.count, 0, __ATOMIC_RELAXED);
		/* Release: publishes what the last arriver acquired. */
		__atomic_store_n(&bar.sense, sense, __ATOMIC_RELEASE);
		return;
	}
	/* Acquire: pairs with the release of the sense. */
	while (__atomic_load_n(&bar.sense, __ATOMIC_ACQUIRE) != sense) {
		/* A waiting hart is an idle one: it answers flush requests. */
		percpu_poll();
		if (++spins % 64 == 0)
			port_wait_long();
		else
			port_cpu_relax();
	}
}

/* The tick: on a port without IPIs it is where a busy hart polls. */
static void tick(void)
{
	if (!PORT_KICK_INTERRUPTS)
		percpu_poll();
	stress_irq_tick();
}

static void poll_tick(void)
{
	percpu_poll();
}

/* The page phase's tick: a page taken and given back in interrupt context. */
static void page_tick(void)
{
	if (!PORT_KICK_INTERRUPTS)
		percpu_poll();
	pages_phase_tick();
}

static void progress(void)
{
	static uint64_t last;
	uint64_t now = port_time_us();

	if (now - last < 1000000)
		return;
	last = now;
	port_printf("progress: %llu ops so far, %llu ms\n",
		    (unsigned long long)stress_total_ops(),
		    (unsigned long long)((now - start_us) / 1000));
}

/*
 * Ends a phase on every hart: once all are done, the ticks stop allocating
 * (without IPIs they go on polling), then each hart runs finish, and all
 * wait for the last.
 */
static void phase_finish(unsigned me, void (*finish)(unsigned hart))
{
	barrier();
	if (me == mmode_boot_hart())
		mmode_set_tick_hook(PORT_KICK_INTERRUPTS ? 0 : poll_tick, tick_ticks);
	barrier();
	finish(me);
	barrier();
}

static _Noreturn void hart_run(void)
{
	unsigned me = port_hart_id();

	mmode_irq_enable();
	barrier();
	stress_hart_run(me);
	phase_finish(me, stress_hart_finish);
	/* Every hart empties its own magazines; the depots go with them. */
	percpu_drain();
	barrier();
	if (me == mmode_boot_hart()) {
		percpu_drain();
		/* The verdict on the heap before the page API takes its directory. */
		stress_result(initial_free, &result);
		pages_init();
		percpu_set_reclaim_extra(pages_reclaim);
		if (tick_ticks)
			mmode_set_tick_hook(page_tick, tick_ticks);
	}
	barrier();
	pages_phase_run(me, nharts, page_ops);
	phase_finish(me, pages_phase_finish);
	if (me == mmode_boot_hart()) {
		struct stress_result r = result;
		struct percpu_stats p;
		bool pages_ok = pages_phase_verdict(nharts);

#ifdef MMODE_PAGES_SELFTEST
		mmode_pages_selftest();
#endif
		r.pass = r.pass && pages_ok;
		percpu_sum_stats(&p);
		port_printf("mmode_smp: %s harts=%u ops=%llu allocs=%llu frees=%llu "
			    "cross_hart_frees=%llu corrupt=%llu leaked=%zu "
			    "free_bytes=%zu/%zu validate_errors=%llu irq_ops=%llu "
			    "flush_requests=%llu fill_max_pct=%u wall_ms=%llu\n",
			    r.pass ? "PASS" : "FAIL", nharts,
			    (unsigned long long)r.sum.ops, (unsigned long long)r.sum.allocs,
			    (unsigned long long)r.sum.frees,
			    (unsigned long long)r.sum.cross_frees,
			    (unsigned long long)r.sum.corrupt, r.live_allocs, r.bytes_free,
			    r.initial_free, (unsigned long long)r.validate_errors,
			    (unsigned long long)r.sum.irq_ops,
			    (unsigned long long)p.flush_requests, r.fill_max_pct,
			    (unsigned long long)((port_time_us() - start_us) / 1000));
		port_exit(r.pass ? PORT_EXIT_PASS : PORT_EXIT_FAIL);
	}
	/* The idle loop: polls as a scheduler loop would, between interrupts. */
	for (;;) {
		percpu_poll();
		__asm__ volatile("wfi");
	}
}

_Noreturn void mmode_boot_main(const void *dtb)
{
	struct kheap_stats hs;
	struct stress_config cfg = {
		.ops_per_hart = mmode_arg_u64("ops", stress_default_ops(mmode_nharts())),
		.fill_pct = mmode_arg_u64("fill", STRESS_DEFAULT_FILL_PCT),
		.seed = mmode_arg_u64("seed", 1),
		.progress = progress,
	};
	cfg.validate_every =
		mmode_arg_u64("validate_every", stress_default_validate_every(cfg.ops_per_hart));
	uint64_t tick_us = mmode_arg_u64("tick_us", 2000), deadline;

	page_ops = mmode_arg_u64("page_ops", 20000);
	/* Named, as the S-mode kernel_arg_ticks does: wrapped, 58,000 years was 0.4 us. */
	if (tick_us > UINT64_MAX / (MMODE_TIMEBASE_HZ / 1000000))
		port_panic(PORT_EXIT_PANIC, "bootarg tick_us: %llu is too large (in timebase "
			   "ticks, at %lu a second, it passes 2^64)",
			   (unsigned long long)tick_us, MMODE_TIMEBASE_HZ);
	unsigned spins = 0;

	nharts = cfg.nharts = mmode_nharts();
	port_printf("boot: M-mode, no SBI: hart %u of %u, dtb %p, kicks %s, bootargs \"%s\"\n",
		    port_hart_id(), nharts, dtb,
		    PORT_KICK_INTERRUPTS ? "by IPI" : "polled (no IPI)", mmode_bootargs());
	if (nharts > PORT_MAX_HARTS)
		port_panic(PORT_EXIT_PANIC, "boot: the DTB lists %u harts; this build runs at most %u (PORT_MAX_HARTS)",
			   nharts, (unsigned)PORT_MAX_HARTS);
	if (port_hart_id() >= nharts)
		port_panic(PORT_EXIT_PANIC, "boot: hart ids must be 0..%u", nharts - 1);
	kheap_init(sheap, eheap);
	percpu_init(PERCPU_MAGAZINES);
	kheap_get_stats(&hs);
	initial_free = hs.heap.bytes_free;
	cfg.heap_bytes = hs.heap.heap_bytes;
	port_printf("mmode_smp: heap %zu KiB at %p, %u harts, %llu ops per hart, seed %llu\n",
		    hs.heap.heap_bytes / 1024, (void *)sheap, nharts,
		    (unsigned long long)cfg.ops_per_hart, (unsigned long long)cfg.seed);
	stress_setup(&cfg);

	/* Relaxed: nobody else runs yet; the release in mmode_release_harts orders it. */
	__atomic_store_n(&harts_up, 1, __ATOMIC_RELAXED);
	mmode_release_harts();
	deadline = port_time_us() + BOOT_TIMEOUT_US;
	/* Acquire: pairs with each secondary's release increment. */
	while (__atomic_load_n(&harts_up, __ATOMIC_ACQUIRE) != nharts) {
		if (port_time_us() > deadline)
			port_panic(PORT_EXIT_PANIC, "boot: only %u of %u harts came up",
				   __atomic_load_n(&harts_up, __ATOMIC_RELAXED), nharts);
		if (++spins % 64 == 0)
			port_wait_long();
	}
	port_printf("boot: %u harts up (boot hart %u)\n", nharts, port_hart_id());
	start_us = port_time_us();
	tick_ticks = tick_us * (MMODE_TIMEBASE_HZ / 1000000);
	if (tick_ticks)
		mmode_set_tick_hook(tick, tick_ticks);
	hart_run();
}

_Noreturn void mmode_secondary_main(void)
{
	/* Release: the boot hart's acquire sees this hart started. */
	__atomic_fetch_add(&harts_up, 1, __ATOMIC_RELEASE);
	hart_run();
}
