/* SPDX-License-Identifier: BSD-2-Clause */
/* kheap_report's text, captured through its print function for a test to read back. */
#ifndef PERCPU_TEST_REPORT_CAPTURE_H
#define PERCPU_TEST_REPORT_CAPTURE_H

#include <heap/kheap.h>
#include <stdarg.h>
#include <stdio.h>

static char report[8192];
static size_t report_len;

/* Appends one piece of the report, cut at the buffer's end; returns where it starts. */
static inline const char *report_vappend(const char *fmt, va_list ap)
{
	char *at = report + report_len;
	size_t room = sizeof(report) - report_len;
	int n = vsnprintf(at, room, fmt, ap);
	if (n > 0)
		report_len += (size_t)n < room ? (size_t)n : room - 1;
	return at;
}

/* A kheap_print_fn: report_vappend. */
static inline void report_capture(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_vappend(fmt, ap);
	va_end(ap);
}

/* kheap_report's text, afresh. */
static inline const char *report_take(void)
{
	report_len = 0;
	report[0] = 0;
	kheap_report(report_capture);
	return report;
}

#endif
