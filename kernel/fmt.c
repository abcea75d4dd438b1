// SPDX-License-Identifier: BSD-2-Clause
/*
 * The formatter behind every kernel print: the port contract's
 * port_vsnprintf and port_snprintf (<platform/port.h> says what they do), so
 * heap/ formats its OOM report with it. Conversions: %d %i %u %x %X %o %c
 * %s %p %%, length modifiers hh h l ll z (and j t), flags '-' '0', a width
 * (or '*'), and a precision for %s. No floating point.
 */
#include <platform/port.h>
#include <limits.h>
#include <stdint.h>

struct out {
	char *buf;
	size_t size;
	size_t len; /* would-be length; buf holds the first size-1 bytes */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

/*
 * Once the buffer is full only the length moves: a huge width (up to
 * INT_MAX) costs no loop of its size.
 */
static void pad(struct out *o, char c, int n)
{
	while (n > 0 && o->len + 1 < o->size) {
		put(o, c);
		n--;
	}
	if (n > 0)
		o->len += (size_t)n;
}

/*
 * width * 10 + d, saturated at INT_MAX: a width or precision written past
 * int's range was signed overflow.
 */
static int add_digit(int v, char d)
{
	return v > (INT_MAX - 9) / 10 ? INT_MAX : v * 10 + (d - '0');
}

/* Emits s[0..n) right- or left-justified in width. */
static void put_field(struct out *o, const char *s, int n, int width,
		      int left, char padc)
{
	if (!left)
		pad(o, padc, width - n);
	for (int i = 0; i < n; i++)
		put(o, s[i]);
	if (left)
		pad(o, ' ', width - n);
}

static void put_num(struct out *o, unsigned long long v, int neg, unsigned base,
		    int upper, int width, int left, int zero, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, plen = 0;

	int n0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	n0 = n;
	if (neg)
		prefix = "-";
	while (prefix && prefix[plen])
		plen++;
	/* Zero padding goes between the sign/prefix and the digits. */
	if (!left && !zero)
		pad(o, ' ', width - n - plen);
	for (int i = 0; i < plen; i++)
		put(o, prefix[i]);
	if (!left && zero)
		pad(o, '0', width - n - plen);
	while (n)
		put(o, tmp[--n]);
	if (left)
		pad(o, ' ', width - n0 - plen);
}

int port_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	while (*fmt) {
		int left = 0, zero = 0, width = 0, prec = -1, lng = 0;
		char c = *fmt++;

		if (c != '%') {
			put(&o, c);
			continue;
		}
		for (;; fmt++) {
			if (*fmt == '-')
				left = 1;
			else if (*fmt == '0')
				zero = 1;
			else if (*fmt != ' ' && *fmt != '+' && *fmt != '#')
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			/* INT_MIN has no negation in int: the widest width instead. */
			if (width < 0)
				left = 1, width = width == INT_MIN ? INT_MAX : -width;
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = add_digit(width, *fmt++);
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			while (*fmt >= '0' && *fmt <= '9')
				prec = add_digit(prec, *fmt++);
		}
		/* lng: 0 int, 1 long, 2 long long, -1 short, -2 char */
		for (;; fmt++) {
			if (*fmt == 'l')
				lng++;
			else if (*fmt == 'h')
				lng--;
			else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't')
				lng = 1; /* size_t, intmax_t, ptrdiff_t: 64-bit here */
			else
				break;
		}
		c = *fmt ? *fmt++ : 0;
		switch (c) {
		case 'd':
		case 'i': {
			long long v = lng >= 2 ? va_arg(ap, long long)
				    : lng == 1 ? va_arg(ap, long)
						 : va_arg(ap, int);
			if (lng == -1)
				v = (short)v;
			else if (lng <= -2)
				v = (signed char)v;
			put_num(&o, v < 0 ? 0ULL - (unsigned long long)v
					  : (unsigned long long)v,
				v < 0, 10, 0, width, left, zero, 0);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			unsigned long long v = lng >= 2 ? va_arg(ap, unsigned long long)
					     : lng == 1 ? va_arg(ap, unsigned long)
							: va_arg(ap, unsigned);
			if (lng == -1)
				v = (unsigned short)v;
			else if (lng <= -2)
				v = (unsigned char)v;
			put_num(&o, v, 0, c == 'u' ? 10 : c == 'o' ? 8 : 16,
				c == 'X', width, left, zero, 0);
			break;
		}
		case 'p':
			put_num(&o, (uintptr_t)va_arg(ap, void *), 0, 16, 0, width,
				left, zero, "0x");
			break;
		case 'c': {
			char ch = (char)va_arg(ap, int);
			put_field(&o, &ch, 1, width, left, ' ');
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n = 0;
			if (!s)
				s = "(null)";
			while (s[n] && (prec < 0 || n < prec))
				n++;
			put_field(&o, s, n, width, left, ' ');
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case 0:
			break;
		default: /* unknown: print it as written, visibly */
			put(&o, '%');
			put(&o, c);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	/* Past int (widths near INT_MAX): saturated, still ">= size", cut. */
	return o.len > INT_MAX ? INT_MAX : (int)o.len;
}

int port_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = port_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
