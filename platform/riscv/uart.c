// SPDX-License-Identifier: BSD-2-Clause
/*
 * Polled 16550 output at 0x10000000 (QEMU virt). Callers serialize: the
 * kernel console holds its lock (uart_write), a panic has stopped everyone
 * else or they park at their next byte (uart_puts).
 */
#include <platform/riscv.h>

#define UART_BASE 0x10000000UL
#define UART_THR 0 /* transmit holding register */
#define UART_LSR 5 /* line status */
#define UART_LSR_THRE 0x20 /* THR empty: room for a byte */

static inline volatile uint8_t *uart_reg(unsigned off)
{
	return (volatile uint8_t *)(UART_BASE + off);
}

void uart_putc(char c)
{
	while (!(*uart_reg(UART_LSR) & UART_LSR_THRE))
		;
	*uart_reg(UART_THR) = (uint8_t)c;
}

void uart_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/*
		 * A panic prints straight to the UART once the other harts
		 * parked or its wait ran out. A hart that did not park in
		 * time (interrupts masked past the wait, or its vCPU thread
		 * descheduled) and writes on would splice its bytes into the
		 * report: it parks here instead, before its next byte, the
		 * console lock held (the panic does not take it).
		 */
		if (platform_stop_requested())
			platform_park();
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

void uart_puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			uart_putc('\r');
		uart_putc(*s++);
	}
}
