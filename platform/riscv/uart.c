// SPDX-License-Identifier: BSD-2-Clause
/*
 * Polled 16550 output at 0x10000000 (QEMU virt). Callers serialize: the
 * kernel console holds its lock, a panic has stopped everyone else.
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
