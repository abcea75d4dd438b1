// SPDX-License-Identifier: BSD-2-Clause
/*
 * panic_tear_test: the panic report is one unbroken block even when a hart
 * does not stop within the panic's wait. Every hart but the boot hart
 * prints long lines without pause with interrupts masked, so the panic's
 * IPI never reaches it: it stands for a hart that sits masked past the
 * wait (a vCPU thread the host descheduled in a critical section, a
 * runaway masked loop) and prints when it gets going again. Once they are
 * at it, the boot hart panics with a long message; the report must come
 * out whole, not with those lines' bytes spliced into it.
 */
#include <kernel/kernel.h>

#define MSG_LEN 400
#define PANIC_LEN 3000 /* long: the report takes the UART a while */

static unsigned lines_out; /* atomic, relaxed: a count to start the panic by */
static char msg[PANIC_LEN + 1];
static char line[PORT_MAX_HARTS][MSG_LEN + 1];

static void fill(char *s, char c, int n)
{
	for (int i = 0; i < n; i++)
		s[i] = c;
	s[n] = 0;
}

static void setup(void)
{
	fill(msg, 'P', PANIC_LEN);
	for (unsigned h = 0; h < platform_nharts(); h++)
		fill(line[h], (char)('a' + h % 26), MSG_LEN);
}

static void run(unsigned me)
{
	if (me == smp_boot_hart()) {
		/* Relaxed: only waits until the others print, nothing is read after. */
		while (__atomic_load_n(&lines_out, __ATOMIC_RELAXED) < 8 * (smp_nharts() - 1))
			port_cpu_relax();
		panic("tear test: %s end", msg);
	}
	port_irq_save(); /* never restored: the panic ends the run */
	for (;;) {
		kprintf("hart %u: %s\n", me, line[me]);
		__atomic_fetch_add(&lines_out, 1, __ATOMIC_RELAXED);
	}
}

static int finish(void)
{
	kprintf("panic_tear_test: FAIL no panic\n");
	return PORT_EXIT_FAIL;
}

const struct kernel_scenario kernel_scenario = {
	.name = "panic_tear_test",
	.setup = setup,
	.run = run,
	.finish = finish,
};
