// SPDX-License-Identifier: BSD-2-Clause
/*
 * The byte pattern the fuzzers write into every block they hold and check
 * before each free, realloc and at the end. Byte i of a block with seed s
 * is fuzz_pat[s + i]: fill is one memcpy and the check one memcmp, both
 * over the whole payload. ASan checks each range once and the copies run
 * at memcpy speed; the byte loops they replace were most of the run time
 * (blocks reach 512 KiB). The table never repeats within a block, so a
 * shifted or misplaced copy is caught, and its bytes stay below 0x80, so
 * no payload word looks like a heap tag.
 */
#ifndef FUZZ_PATTERN_H
#define FUZZ_PATTERN_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_PAT_MAX (1u << 20) /* the largest block a fuzzer asks for */

static unsigned char fuzz_pat[FUZZ_PAT_MAX + 256];

static void fuzz_pat_init(void)
{
	if (fuzz_pat[1])
		return;
	for (size_t i = 0; i < sizeof(fuzz_pat); i++)
		fuzz_pat[i] = (unsigned char)((i * 7 + (i >> 8)) & 0x7f);
}

static void fuzz_fill(unsigned char *p, uint8_t seed, size_t n)
{
	if (n > FUZZ_PAT_MAX)
		abort();
	memcpy(p, fuzz_pat + seed, n);
}

/* Aborts, naming the first wrong byte, unless p[0..n) holds the pattern. */
static void fuzz_check(const char *who, const unsigned char *p, uint8_t seed, size_t n)
{
	if (!memcmp(p, fuzz_pat + seed, n))
		return;
	for (size_t i = 0; i < n; i++)
		if (p[i] != fuzz_pat[seed + i]) {
			fprintf(stderr, "%s: block %p: byte %zu is %#x, not %#x\n", who,
				(const void *)p, i, p[i], fuzz_pat[seed + i]);
			abort();
		}
}

/* 1 when p[0..n) is all zero (one memcmp against the zero tail). */
static int fuzz_all_zero(const unsigned char *p, size_t n)
{
	static const unsigned char zero[4096];
	for (size_t k = 0; k < n; k += sizeof(zero))
		if (memcmp(p + k, zero, n - k < sizeof(zero) ? n - k : sizeof(zero)))
			return 0;
	return 1;
}
#endif
