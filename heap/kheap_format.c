// SPDX-License-Identifier: BSD-2-Clause
/*
 * A small vsnprintf for the OOM report: the report must reach port_panic as
 * one string (one unbroken block), and the RISC-V build has no libc.
 */
#include <heap/kheap.h>
#include <stdarg.h>

#include "kheap_internal.h"

static void put(char *buf, size_t cap, size_t *n, char c)
{
	if (*n + 1 < cap)
		buf[*n] = c;
	(*n)++;
}

static void put_num(char *buf, size_t cap, size_t *n, unsigned long long v,
		    unsigned base, bool neg)
{
	char tmp[24];
	int i = 0;
	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		put(buf, cap, n, '-');
	while (i)
		put(buf, cap, n, tmp[--i]);
}

size_t kheap_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
	size_t n = 0;

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(buf, cap, &n, *fmt);
			continue;
		}
		int l = 0;
		bool z = false;
		for (fmt++; *fmt == 'l' || *fmt == 'z'; fmt++) {
			if (*fmt == 'l')
				l++;
			else
				z = true;
		}
		unsigned long long u;
		long long s;
		switch (*fmt) {
		case 'd':
		case 'i':
			s = z ? (long long)va_arg(ap, size_t) : l == 2 ? va_arg(ap, long long)
				: l ? va_arg(ap, long) : va_arg(ap, int);
			put_num(buf, cap, &n, s < 0 ? 0 - (unsigned long long)s
					  : (unsigned long long)s, 10, s < 0);
			break;
		case 'u':
		case 'x':
			u = z ? va_arg(ap, size_t) : l == 2 ? va_arg(ap, unsigned long long)
				: l ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			put_num(buf, cap, &n, u, *fmt == 'x' ? 16 : 10, false);
			break;
		case 'p':
			put(buf, cap, &n, '0');
			put(buf, cap, &n, 'x');
			put_num(buf, cap, &n, (uintptr_t)va_arg(ap, void *), 16, false);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			for (str = str ? str : "(null)"; *str; str++)
				put(buf, cap, &n, *str);
			break;
		}
		case 'c':
			put(buf, cap, &n, (char)va_arg(ap, int));
			break;
		case '%':
			put(buf, cap, &n, '%');
			break;
		default: /* unknown: print it as is */
			put(buf, cap, &n, '%');
			if (!*fmt)
				fmt--;
			else
				put(buf, cap, &n, *fmt);
		}
	}
	if (cap)
		buf[n < cap ? n : cap - 1] = '\0';
	return n;
}

size_t kheap_format(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = kheap_vformat(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}
