/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Freestanding printf-style formatting. Conversions: %d %i %u %x %X %o %c
 * %s %p %%, length modifiers hh h l ll z (and j t), flags '-' '0', a width
 * (or '*'), and a precision for %s. No floating point.
 */
#ifndef KERNEL_FMT_H
#define KERNEL_FMT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Writes at most size bytes including the terminating NUL (if size > 0);
 * returns the length the whole output would have had, like vsnprintf.
 */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
