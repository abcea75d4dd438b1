/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A misuse handler that counts instead of panicking, for the tests and the
 * fuzzer (kheap_set_misuse_handler, pages_set_misuse_handler): misuses is
 * how many reports came, last_misuse the latest one's code.
 */
#ifndef PERCPU_MISUSE_RECORDER_H
#define PERCPU_MISUSE_RECORDER_H

#include <heap/heap_core.h>
#include <stddef.h>

static int misuses __attribute__((unused));
static enum heap_error last_misuse __attribute__((unused));

static inline void record_misuse(enum heap_error e, void *p, size_t size, const char *where)
{
	(void)p;
	(void)size;
	(void)where;
	misuses++;
	last_misuse = e;
}

#endif
