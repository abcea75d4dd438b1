/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host test assertions shared by every package's tests: a failed CHECK
 * names the file, line and expression (CHECK_EQ both values) and exits 1.
 */
#ifndef TESTING_CHECK_H
#define TESTING_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                            \
			exit(1);                                             \
		}                                                            \
	} while (0)

#define CHECK_EQ(a, b)                                                        \
	do {                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);           \
		if (a_ != b_) {                                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld vs %lld)\n", \
				__FILE__, __LINE__, #a, #b, a_, b_);          \
			exit(1);                                              \
		}                                                             \
	} while (0)

#endif
