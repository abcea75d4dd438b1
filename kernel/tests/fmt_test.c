// SPDX-License-Identifier: BSD-2-Clause
/*
 * The kernel's formatter (kernel/fmt.c, built here as kfmt_snprintf beside
 * the C library's) against the C library's snprintf, for what the port
 * contract lists (<platform/port.h>: "as C's vsnprintf does"): edge values
 * (INT64_MIN, UINT64_MAX, the hh and h casts), zero, negative ('*') and
 * big widths, '-' and '0', %p, %s with a precision and NULL, cut output
 * and its return value.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <platform/port.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <testing/check.h>

/* Cut output on purpose, compared with the C library's. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#pragma GCC diagnostic ignored "-Wformat-overflow"

static int failures;

#define SAME(...)                                                                 \
	do {                                                                      \
		char a_[256], b_[256];                                            \
		int na_ = port_snprintf(a_, sizeof(a_), __VA_ARGS__);            \
		int nb_ = snprintf(b_, sizeof(b_), __VA_ARGS__);                  \
		if (na_ != nb_ || strcmp(a_, b_) != 0) {                          \
			fprintf(stderr, "line %d: %s: kernel \"%s\" (%d), libc \"%s\" (%d)\n", \
				__LINE__, #__VA_ARGS__, a_, na_, b_, nb_);        \
			failures++;                                               \
		}                                                                 \
	} while (0)

int main(void)
{
	SAME("%d %i", INT_MIN, INT_MAX);
	SAME("%lld %lli", (long long)INT64_MIN, (long long)INT64_MAX);
	SAME("%ld", (long)INT64_MIN);
	SAME("%zd %zu", (ssize_t)-1, (size_t)SIZE_MAX);
	SAME("%llu %llx %llX %llo", (unsigned long long)UINT64_MAX,
	     (unsigned long long)UINT64_MAX, (unsigned long long)UINT64_MAX,
	     (unsigned long long)UINT64_MAX);
	SAME("%hhd %hhu %hd %hu", 200, 300, 40000, 70000);
	SAME("%jd %td", (intmax_t)INT64_MIN, (ptrdiff_t)-5);
	SAME("[%0d] [%0x]", 5, 6u);
	SAME("[%5d] [%-5d] [%05d]", -42, -42, -42);
	SAME("[%20lld] [%-20lld] [%020lld]", (long long)INT64_MIN, (long long)INT64_MIN,
	     (long long)INT64_MIN);
	SAME("[%*d] [%*d] [%-*d]", 6, 1, -6, 2, 0, 3);
	SAME("[%*s] [%-*s]", -4, "ab", 4, "cd");
	SAME("[%.0s] [%.2s] [%5.1s] [%-5.3s]", "abc", "abc", "abc", "abc");
	SAME("[%.*s]", 3, "abcdef");
	SAME("[%.*s]", -1, "abcdef");
	SAME("[%c] [%3c] [%-3c]", 'x', 'y', 'z');
	SAME("[%x] [%8x] [%08X] [%-8x]", 0xbeefu, 0xbeefu, 0xbeefu, 0xbeefu);
	SAME("[%o] [%u]", 0u, 0u);
	SAME("[%p] [%20p] [%-20p]", (void *)0x1234, (void *)0xdeadbeef, (void *)0x10);
	SAME("100%%");
	SAME("[%200d]", 1);
	SAME("[%s]", "");
	/* Cut output: the would-be length, and a NUL at the end of what fits. */
	{
		char a[8], b[8];
		int na = port_snprintf(a, sizeof(a), "%s-%d", "abcdef", 12345);
		int nb = snprintf(b, sizeof(b), "%s-%d", "abcdef", 12345);
		CHECK_EQ(na, nb);
		CHECK(strcmp(a, b) == 0);
		CHECK_EQ(port_snprintf(NULL, 0, "%d", 123456), 6);
		a[0] = 'q';
		CHECK_EQ(port_snprintf(a, 1, "%d", 7), 1);
		CHECK_EQ(a[0], '\0');
	}
	/*
	 * Widths past int: a '*' of INT_MIN (whose negation overflowed) and
	 * digits past INT_MAX (whose sum overflowed): signed overflow, which
	 * the _ubsan twin names. Cut to the buffer: a would-be length past
	 * the buffer (or negative, as C's for a length past INT_MAX).
	 */
	{
		char a[16];
		int n = port_snprintf(a, sizeof(a), "%*d", INT_MIN, 1);
		CHECK(n < 0 || n >= (int)sizeof(a));
		CHECK(strcmp(a, "1              ") == 0);
		n = port_snprintf(a, sizeof(a), "%99999999999d", 1);
		CHECK(n < 0 || n >= (int)sizeof(a));
		CHECK(strcmp(a, "               ") == 0);
		n = port_snprintf(a, sizeof(a), "%.99999999999s|", "ab");
		CHECK_EQ(n, 3);
		CHECK(strcmp(a, "ab|") == 0);
	}
	CHECK_EQ(failures, 0);
	printf("fmt_test: PASS\n");
	return 0;
}
