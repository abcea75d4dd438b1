// SPDX-License-Identifier: BSD-2-Clause
/*
 * The console: each hart formats into its own line buffer with interrupts
 * masked (so a handler on the same hart cannot splice into a half-built
 * line), and writes out only whole lines, under the console ticket lock.
 * A panic bypasses all of this and writes to the UART directly.
 */
#include <kernel/kernel.h>
#include <platform/ticket_lock.h>

/* The longest console line: the stress summary line is about 400 characters. */
#define LINE_MAX 512

struct console_line {
	char buf[LINE_MAX];
	size_t len;
} __attribute__((aligned(PORT_CACHE_LINE)));

static ticket_lock_t console_lock = TICKET_LOCK_INIT;
static struct console_line lines[PORT_MAX_HARTS];

void console_init(void)
{
	ticket_lock_init(&console_lock);
}

static void flush_line(struct console_line *l)
{
	/* Interrupts are already masked by the caller. */
	ticket_lock(&console_lock);
	uart_write(l->buf, l->len);
	ticket_unlock(&console_lock);
	l->len = 0;
}

void kvprintf(const char *fmt, va_list ap)
{
	char tmp[LINE_MAX];
	int n = port_vsnprintf(tmp, sizeof(tmp), fmt, ap);
	unsigned long flags;
	struct console_line *l;

	if (n >= (int)sizeof(tmp)) {
		/*
		 * Cut: keep what fits, and still end the line ("...\n", as the
		 * M-mode port's console does). Without the newline the cut
		 * text stayed in the line buffer, and the next print on this
		 * hart was glued to it and flushed mid-line at LINE_MAX.
		 */
		n = sizeof(tmp) - 1;
		__builtin_memcpy(tmp + n - 4, "...\n", 4);
	}
	flags = port_irq_save();
	l = &lines[port_hart_id()];
	for (int i = 0; i < n; i++) {
		l->buf[l->len++] = tmp[i];
		if (tmp[i] == '\n' || l->len == LINE_MAX)
			flush_line(l);
	}
	port_irq_restore(flags);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

void port_vprintf(const char *fmt, va_list ap)
{
	kvprintf(fmt, ap);
}

void port_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}
