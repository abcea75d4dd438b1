// SPDX-License-Identifier: BSD-2-Clause
/*
 * Boot flow: the boot hart starts every other hart (SBI HSM), waits until
 * all are up, then every hart runs the scenario between two barriers and
 * the boot hart reports and exits. Also: barrier() and the bootargs.
 */
#include <kernel/kernel.h>
#include <platform/bootarg_number.h>

/*
 * How long the boot hart waits for the others: as long as harts keep
 * arriving, until BOOT_STALL_S pass with none (128 vCPU threads on 2
 * loaded host cores took more than 10 s in all: each hart runs OpenSBI's
 * warm boot when the host gets round to its thread), and at most
 * BOOT_MAX_S; it reports progress every BOOT_REPORT_S.
 */
#define BOOT_STALL_S 30
#define BOOT_MAX_S 600
#define BOOT_REPORT_S 10

extern uint64_t platform_wait_long_ticks;

static unsigned nharts;     /* set by the boot hart before `go` */
static unsigned harts_up;   /* atomic: harts that reached the kernel */
static unsigned go;         /* atomic: boot hart lets the others run */
/* Relaxed: which harts reached the kernel, for the boot failure report. */
static uint8_t arrived[PORT_MAX_HARTS];

static struct {
	unsigned count; /* atomic: arrivals in this round */
	unsigned sense; /* atomic: flips when a round completes */
} bar __attribute__((aligned(PORT_CACHE_LINE)));

static struct {
	unsigned sense;
} __attribute__((aligned(PORT_CACHE_LINE))) local_sense[PORT_MAX_HARTS];

unsigned smp_nharts(void)
{
	return nharts;
}

unsigned smp_boot_hart(void)
{
	return platform_boot_hart();
}

/* Spins a little, then sleeps briefly, like the ticket lock. */
static void wait_step(unsigned long *spins)
{
	if (++*spins % 64 == 0)
		port_wait_long();
	else
		port_cpu_relax();
}

void barrier(void)
{
	barrier_while(0);
}

void barrier_while(void (*idle)(void))
{
	unsigned me = port_hart_id();
	unsigned sense = local_sense[me].sense ^ 1;
	unsigned long spins = 0;

	local_sense[me].sense = sense;
	/*
	 * Acq_rel: releases our earlier writes to the last arriver, and lets
	 * the last arriver acquire everyone's before it flips the sense.
	 */
	if (__atomic_fetch_add(&bar.count, 1, __ATOMIC_ACQ_REL) + 1 == nharts) {
		/* Relaxed: ordered before the release of the sense below. */
		__atomic_store_n(&bar.count, 0, __ATOMIC_RELAXED);
		/* Release: publishes everything the last arriver acquired. */
		__atomic_store_n(&bar.sense, sense, __ATOMIC_RELEASE);
		return;
	}
	/* Acquire: pairs with the release of the sense. */
	while (__atomic_load_n(&bar.sense, __ATOMIC_ACQUIRE) != sense) {
		if (idle)
			idle();
		wait_step(&spins);
	}
}

static _Noreturn void hart_run(void)
{
	unsigned me = port_hart_id();

	platform_irq_enable();
	barrier();
	kernel_scenario.run(me);
	barrier();
	if (me == platform_boot_hart())
		port_exit(kernel_scenario.finish ? kernel_scenario.finish()
						 : PORT_EXIT_PASS);
	/* Idle with interrupts on: ticks, IPI hooks and stop requests run. */
	for (;;)
		__asm__ volatile("wfi");
}

/* Names (up to 16 of) the harts that have not reached the kernel. */
static void report_missing(void)
{
	unsigned shown = 0;

	kprintf("boot: harts not up (hart ids):");
	for (unsigned i = 0; i < platform_nharts() && shown < 16; i++) {
		if (i == port_hart_id() || __atomic_load_n(&arrived[i], __ATOMIC_RELAXED))
			continue;
		kprintf(" %lu", platform_hartid(i));
		shown++;
	}
	kprintf("%s\n", shown == 16 ? " ..." : "");
}

/* Waits until `started` harts are up (see BOOT_STALL_S); panics if not. */
static void wait_for_harts(unsigned started)
{
	uint64_t hz = platform_timebase_hz(), t0 = platform_time();
	uint64_t stall = t0 + BOOT_STALL_S * hz, report = t0 + BOOT_REPORT_S * hz;
	unsigned long spins = 0;
	unsigned seen = 1, up;

	/* Acquire: pairs with each secondary's release increment. */
	while ((up = __atomic_load_n(&harts_up, __ATOMIC_ACQUIRE)) != started) {
		uint64_t now = platform_time();

		if (up != seen) {
			seen = up;
			stall = now + BOOT_STALL_S * hz;
		}
		if (now > report) {
			kprintf("boot: %u of %u harts up after %llu s, waiting\n", up,
				started, (unsigned long long)((now - t0) / hz));
			report = now + BOOT_REPORT_S * hz;
		}
		if (now > stall || now > t0 + BOOT_MAX_S * hz) {
			report_missing();
			panic("boot: only %u of %u harts came up in %llu s (none for "
			      "the last %u s): the host is too loaded for this many "
			      "vCPUs, or OpenSBI lost a hart", up, started,
			      (unsigned long long)((now - t0) / hz), BOOT_STALL_S);
		}
		wait_step(&spins);
	}
	if (platform_time() - t0 > BOOT_REPORT_S * hz)
		kprintf("boot: all %u harts up after %llu s\n", started,
			(unsigned long long)((platform_time() - t0) / hz));
}

void kernel_main(void)
{
	unsigned me = port_hart_id(), started = 1;
	uint64_t wait_ticks;

	console_init();
	/*
	 * The more vCPU threads share the host cores, the more the short
	 * wakeups cost QEMU's timer thread: sleep longer (measured on 2 host
	 * cores: 20 us best at -smp 4, 80 us at -smp 16).
	 */
	wait_ticks = platform_nharts() * platform_timebase_hz() / 200000;
	if (wait_ticks < platform_timebase_hz() / 50000)
		wait_ticks = platform_timebase_hz() / 50000;
	if (wait_ticks > platform_timebase_hz() / 3125)
		wait_ticks = platform_timebase_hz() / 3125;
	platform_wait_long_ticks = kernel_arg_u64("wait_ticks", wait_ticks);
	kprintf("boot: kernel '%s', hart id %lu, %u harts present, sstc=%s, "
		"timebase=%lu Hz\n",
		kernel_scenario.name, platform_hartid(me), platform_nharts(),
		platform_has_sstc() ? "yes" : "no (SBI set_timer)",
		(unsigned long)platform_timebase_hz());
	kprintf("boot: bootargs \"%s\", wait_ticks=%lu\n", platform_bootargs(),
		(unsigned long)platform_wait_long_ticks);
	if (kernel_scenario.setup)
		kernel_scenario.setup();

	/* Relaxed: no hart but us runs yet; hart_start orders what follows. */
	__atomic_store_n(&harts_up, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < platform_nharts(); i++) {
		long err;
		if (i == me)
			continue;
		err = platform_start_hart(i);
		if (err)
			panic("boot: hart_start(hart id %lu) failed: %ld",
			      platform_hartid(i), err);
		started++;
	}
	wait_for_harts(started);
	nharts = started;
	kprintf("boot: %u harts up (boot hart %u)\n", nharts, me);
	/* Release: publishes nharts and the scenario's setup to everyone. */
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	hart_run();
}

void kernel_secondary_main(void)
{
	unsigned long spins = 0;

	__atomic_store_n(&arrived[port_hart_id()], 1, __ATOMIC_RELAXED);
	/* Release: the boot hart's acquire sees this hart fully started. */
	__atomic_fetch_add(&harts_up, 1, __ATOMIC_RELEASE);
	/* Acquire: pairs with the release of `go`. */
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		wait_step(&spins);
	hart_run();
}

/*
 * Finds the last word `key=...` of the space-separated bootargs; returns its
 * value. The last, as with run_qemu's own options: `bazel run //tests:X --
 * --ops 3000` comes after the target's own ops=2000, and the first ran the
 * target's job instead of the one asked for.
 */
static const char *find_arg(const char *key, size_t *len)
{
	const char *p = platform_bootargs(), *found = 0;
	size_t klen = 0;

	while (key[klen])
		klen++;
	while (*p) {
		const char *w = p;
		size_t n = 0;

		while (w[n] && w[n] != ' ')
			n++;
		if (n > klen && w[klen] == '=' && !memcmp(w, key, klen)) {
			*len = n - klen - 1;
			found = w + klen + 1;
		}
		p = w + n;
		while (*p == ' ')
			p++;
	}
	return found;
}

/*
 * find_arg(), and a key given no value (`ops=`, run_qemu's `--ops ''`) is
 * named and stops the kernel: taken as absent, ops= ran the default job
 * of 1.6 million operations. Leaving the key out gives the default.
 */
static const char *arg_value(const char *key, size_t *len)
{
	const char *v = find_arg(key, len);

	if (v && !*len)
		panic("bootarg %s: no value (leave %s out for its default)", key, key);
	return v;
}

bool kernel_arg_str(const char *key, char *buf, size_t size)
{
	size_t len;
	const char *v = arg_value(key, &len);

	if (!v || !size)
		return false;
	if (len >= size)
		len = size - 1;
	memcpy(buf, v, len);
	buf[len] = 0;
	return true;
}

uint64_t kernel_arg_u64(const char *key, uint64_t def)
{
	size_t len;
	const char *v = arg_value(key, &len);
	uint64_t val;

	if (!v)
		return def;
	if (!bootarg_number(v, len, &val))
		panic("bootarg %s: bad number (decimal, or hex after 0x, below 2^64)", key);
	return val;
}

uint64_t kernel_arg_ticks(const char *key, uint64_t def, uint64_t per_second)
{
	uint64_t val = kernel_arg_u64(key, def), hz = platform_timebase_hz();

	if (hz && val > UINT64_MAX / hz)
		panic("bootarg %s: %llu is too large (in timebase ticks, at %llu a second, "
		      "it passes 2^64)", key, (unsigned long long)val, (unsigned long long)hz);
	return val * hz / per_second;
}

unsigned kernel_arg_hart(const char *key, unsigned def)
{
	uint64_t val = kernel_arg_u64(key, def);

	/*
	 * The full 64 bits against the harts present (every one of them runs
	 * or the boot panics): cast first, trap_hart=2^32 was hart 0.
	 */
	if (val >= platform_nharts())
		panic("bootarg %s: hart %llu, but only %u harts (0..%u)", key,
		      (unsigned long long)val, platform_nharts(), platform_nharts() - 1);
	return (unsigned)val;
}
