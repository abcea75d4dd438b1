// SPDX-License-Identifier: BSD-2-Clause
/*
 * panic_tear_kernel: port_panic's report is one unbroken block. Every hart
 * but the boot hart prints long lines without pause (each under the
 * console lock, with interrupts masked); once they are at it, the boot hart
 * panics with a long message. The report must come out whole, not with
 * the rest of a line another hart was writing spliced into it.
 *
 * Built with PANIC_TEAR_MASKED (panic_tear_masked_kernel), the other harts
 * keep interrupts masked between their lines too, so the panic's IPI never
 * reaches them and they never park: they stand for a hart that sits masked
 * past the panic's wait (a vCPU thread the host descheduled in a critical
 * section, a runaway masked loop) and prints when it gets going again.
 */
#include <platform/mmode.h>

#define MSG_LEN 400
#define PANIC_LEN 3000 /* long, so it takes the others time to finish their line */

static unsigned lines_out; /* atomic, relaxed: a count to start the panic by */

static void fill(char *s, char c, int n)
{
	for (int i = 0; i < n; i++)
		s[i] = c;
	s[n] = 0;
}

_Noreturn void mmode_boot_main(const void *dtb)
{
	static char msg[PANIC_LEN + 1];

	(void)dtb;
	fill(msg, 'P', PANIC_LEN);
	mmode_release_harts();
	/* Relaxed: only waits until the others print, nothing is read after. */
	while (__atomic_load_n(&lines_out, __ATOMIC_RELAXED) < 8 * (mmode_nharts() - 1))
		port_cpu_relax();
	port_panic(PORT_EXIT_PANIC, "tear test: %s end", msg);
}

_Noreturn void mmode_secondary_main(void)
{
	static char line[PORT_MAX_HARTS][MSG_LEN + 1];
	char *s = line[port_hart_id()];

	fill(s, (char)('a' + port_hart_id()), MSG_LEN);
#ifndef PANIC_TEAR_MASKED
	/* As a kernel runs: interrupts on, so the panic's IPI is taken. */
	mmode_irq_enable();
#endif /* else masked, as the port starts a hart: no IPI is taken */
	for (;;) {
		port_printf("hart %u: %s\n", port_hart_id(), s);
		__atomic_fetch_add(&lines_out, 1, __ATOMIC_RELAXED);
	}
}
