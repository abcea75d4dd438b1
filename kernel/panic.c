// SPDX-License-Identifier: BSD-2-Clause
/*
 * panic: the first caller wins; it parks every other hart (flag + IPI; a
 * hart waiting in port_wait_long() with interrupts masked parks too), waits
 * a bounded time for them, and prints one unbroken report straight to the
 * UART: the console lock may be held by a parked hart. A second caller on
 * another hart just parks; a nested panic on the same hart exits at once.
 */
#include <kernel/kernel.h>

/* 0, or 1 + index of the hart whose report is being printed. */
static unsigned panic_owner;

/* Big enough for the heap's OOM report (under 8 KiB) in one piece. */
static char report[8192];

static const char *const reg_names[32] = {
	"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0",
	"a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5",
	"s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

static void dump_frame(const struct trap_frame *tf)
{
	char line[96];

	for (int i = 1; i < 32; i += 4) {
		int n = 0;
		for (int j = i; j < i + 4 && j < 32; j++)
			n += port_snprintf(line + n, sizeof(line) - n, "  %-4s=%016lx",
				       reg_names[j], tf->x[j]);
		uart_puts(line);
		uart_puts("\n");
	}
	port_snprintf(line, sizeof(line), "  sstatus=0x%lx\n", tf->sstatus);
	uart_puts(line);
}

_Noreturn void port_panic(int exit_code, const char *fmt, ...)
{
	unsigned me = port_hart_id();
	unsigned expected = 0, parked;
	struct hart_local *hl = this_hart_local();
	va_list ap;
	int n;

	port_irq_save(); /* never restored: this hart ends here */
	if (exit_code == PORT_EXIT_PASS)
		exit_code = PORT_EXIT_PANIC;
	/*
	 * Acq_rel: claims the report; nothing else is published through it.
	 * Relaxed on failure: the loser only parks or exits.
	 */
	if (!__atomic_compare_exchange_n(&panic_owner, &expected, me + 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		if (expected == me + 1) {
			uart_puts("\nPANIC (nested panic on the same hart)\n");
			platform_exit(exit_code);
		}
		platform_park();
	}
	platform_request_stop();
	/*
	 * Bounded: a hart spinning with interrupts masked never answers. A
	 * second, as long as Linux's smp_send_stop() waits on x86: a tenth of
	 * one was too short for QEMU on 2 host cores under `bazel test //...`,
	 * where the other vCPU of a 2-hart misuse test had not run yet when
	 * the report went out (`parked=0`).
	 */
	parked = platform_wait_parked(platform_timebase_hz());

	n = port_snprintf(report, sizeof(report), "\nPANIC hart=%u: ", me);
	va_start(ap, fmt);
	port_vsnprintf(report + n, sizeof(report) - n, fmt, ap);
	va_end(ap);
	uart_puts(report);
	uart_puts("\n");
	if (hl->trap_frame)
		dump_frame(hl->trap_frame);
	/*
	 * A hart that overran its stack wrote into the next one down and may
	 * have left it to another hart to crash on
	 * (<platform/riscv_stack_guard.h>): name it, whichever hart this
	 * report is about.
	 */
	for (unsigned i = 0; i < platform_nharts(); i++)
		if (platform_hart_local(i)->started &&
		    riscv_stack_guard_report(report, sizeof(report), i, platform_stack_guard(i)))
			uart_puts(report);
	port_snprintf(report, sizeof(report),
		  "  hartid=%lu harts=%u parked=%u exit=%d\n", hl->hartid,
		  platform_nharts(), parked, exit_code);
	uart_puts(report);
	platform_exit(exit_code);
}
