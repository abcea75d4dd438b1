/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The number in a kernel bootarg (`ops=20000`, `seed=0x2a`), for both RISC-V
 * kernels' /chosen/bootargs readers: decimal, or hex after 0x.
 */
#ifndef PLATFORM_BOOTARG_NUMBER_H
#define PLATFORM_BOOTARG_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The len characters at s as a number in *out; false if there are none,
 * one is not a digit, or the value does not fit 64 bits: the caller names
 * the key and stops, rather than run with a wrapped value (ops=2^64+1
 * would run one operation a hart).
 */
static inline bool bootarg_number(const char *s, size_t len, uint64_t *out)
{
	uint64_t val = 0;
	unsigned base = 10;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned c = (unsigned char)s[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			return false;
		if (val > (UINT64_MAX - d) / base)
			return false;
		val = val * base + d;
	}
	*out = val;
	return true;
}

#endif
