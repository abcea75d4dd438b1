// SPDX-License-Identifier: BSD-2-Clause
/*
 * Console, panic and exit: the 16550 UART at 0x10000000 (polled), lines
 * formatted whole and written under a lock so harts never interleave, and
 * QEMU virt's sifive_test device at 0x100000 for the exit code.
 */
#include <platform/ticket_lock.h>

#include "internal.h"

#define UART_BASE 0x10000000UL
#define UART_THR 0
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define SIFIVE_TEST_BASE 0x100000UL
#define SIFIVE_TEST_PASS 0x5555
#define SIFIVE_TEST_FAIL 0x3333

/* A line longer than this is cut (and ends in "..."). */
#define LINE_MAX 512

unsigned mmode_stopping; /* 0, or 1 + the hart whose panic stops the rest */
unsigned mmode_parked;
/*
 * How long a panic waits for the other harts to park before it prints: as
 * the S-mode kernel's panic (kernel/panic.c), a second.
 */
#define PANIC_PARK_WAIT_US 1000000
static ticket_lock_t console_lock = TICKET_LOCK_INIT;
static char panic_buf[4096]; /* only the first panicking hart writes it */

static void uart_putc(char c)
{
	volatile uint8_t *uart = (volatile uint8_t *)UART_BASE;

	while (!(uart[UART_LSR] & UART_LSR_THRE))
		;
	uart[UART_THR] = (uint8_t)c;
}

void mmode_uart_puts(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

/*
 * The console's bytes. A panic prints straight to the UART once the other
 * harts parked or its wait ran out; a hart that did not park in time
 * (interrupts masked past the wait, or its vCPU thread descheduled) and
 * wrote on would splice its bytes into the report: it parks here instead,
 * before its next byte, the console lock held (the panic does not take
 * it). Relaxed: a flag poll, as in port_wait_long.
 */
static void console_puts(const char *s)
{
	unsigned me = port_hart_id() + 1;

	while (*s) {
		unsigned stopping = __atomic_load_n(&mmode_stopping, __ATOMIC_RELAXED);
		if (stopping && stopping != me)
			mmode_park();
		uart_putc(*s++);
	}
}

void port_vprintf(const char *fmt, va_list ap)
{
	char line[LINE_MAX];
	int n = port_vsnprintf(line, sizeof(line), fmt, ap);
	port_irqflags_t f;

	if (n >= (int)sizeof(line))
		__builtin_memcpy(line + sizeof(line) - 5, "...\n", 5);
	/* The lock orders nothing but the UART bytes: whole lines. */
	f = ticket_lock_irqsave(&console_lock, NULL);
	console_puts(line);
	ticket_unlock_irqrestore(&console_lock, f);
}

void port_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	port_vprintf(fmt, ap);
	va_end(ap);
}

_Noreturn void mmode_park(void)
{
	port_irq_save();
	__asm__ volatile("csrw mie, zero");
	/* Release: our last UART bytes are out before a panic counts us. */
	__atomic_fetch_add(&mmode_parked, 1, __ATOMIC_RELEASE);
	for (;;)
		__asm__ volatile("wfi");
}

_Noreturn void port_exit(int code)
{
	volatile uint32_t *test = (volatile uint32_t *)SIFIVE_TEST_BASE;

	if (code == 0)
		*test = SIFIVE_TEST_PASS;
	else
		*test = ((uint32_t)(code & 0xffff) << 16) | SIFIVE_TEST_FAIL;
	mmode_park(); /* not reached under QEMU */
}

_Noreturn void port_panic(int exit_code, const char *fmt, ...)
{
	unsigned me = port_hart_id(), owner = 0, parked;
	va_list ap;
	int n;

	port_irq_save();
	if (!exit_code)
		exit_code = PORT_EXIT_PANIC;
	/*
	 * Relaxed CAS: the first caller wins; the IPIs below do the ordering.
	 * A loser on another hart parks. The winner itself, back here (its
	 * report faulted), must not park: nobody would end the run.
	 */
	if (!__atomic_compare_exchange_n(&mmode_stopping, &owner, me + 1, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
		if (owner == me + 1) {
			mmode_uart_puts("\nPANIC (nested panic on the same hart)\n");
			port_exit(exit_code);
		}
		mmode_park();
	}
	for (unsigned h = 0; h < mmode_nharts() && h < PORT_MAX_HARTS; h++)
		if (h != port_hart_id())
			mmode_send_ipi(h);
	/*
	 * Wait (bounded: a hart spinning masked never answers) until the
	 * released harts have parked. One writing a line under the console
	 * lock, interrupts masked, finishes it first; without the wait the
	 * rest of its line was spliced into the report. Harts not released
	 * yet sit in _start and write nothing. Acquire: pairs with the
	 * release in mmode_park().
	 */
	if (__atomic_load_n(&mmode_released, __ATOMIC_ACQUIRE)) {
		unsigned others = (mmode_nharts() < PORT_MAX_HARTS ? mmode_nharts()
								   : PORT_MAX_HARTS) - 1;
		uint64_t deadline = port_time_us() + PANIC_PARK_WAIT_US;

		while (__atomic_load_n(&mmode_parked, __ATOMIC_ACQUIRE) < others &&
		       port_time_us() < deadline)
			port_cpu_relax();
	}
	parked = __atomic_load_n(&mmode_parked, __ATOMIC_ACQUIRE); /* as above */
	n = port_snprintf(panic_buf, sizeof(panic_buf), "PANIC hart=%u: ", port_hart_id());
	va_start(ap, fmt);
	port_vsnprintf(panic_buf + n, sizeof(panic_buf) - (size_t)n, fmt, ap);
	va_end(ap);
	/* Straight to the UART: the console lock may be held by a stopped hart. */
	mmode_uart_puts("\n");
	mmode_uart_puts(panic_buf);
	mmode_uart_puts("\n");
	/*
	 * A hart that overran its stack wrote into the next one down and may
	 * have left it to another hart to crash on: name it, whichever hart
	 * this report is about. Every stack's guard is set (boot.c), the
	 * harts' that never started included.
	 */
	for (unsigned h = 0; h < mmode_nharts() && h < PORT_MAX_HARTS; h++)
		if (riscv_stack_guard_report(panic_buf, sizeof(panic_buf), h, mmode_stack_guard(h)))
			mmode_uart_puts(panic_buf);
	/*
	 * As the S-mode kernel's report ends: how many harts stopped. Fewer
	 * than the released harts but this one: a hart did not park within
	 * the wait, and the report waited all of it.
	 */
	port_snprintf(panic_buf, sizeof(panic_buf), "  hartid=%u harts=%u parked=%u exit=%d\n",
		      me, mmode_nharts(), parked, exit_code);
	mmode_uart_puts(panic_buf);
	port_exit(exit_code);
}
