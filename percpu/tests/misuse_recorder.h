/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A misuse handler that counts instead of panicking, for the tests and the
 * fuzzer (kheap_set_misuse_handler, pages_set_misuse_handler): misuses is
 * how many reports came, last_misuse the latest one's code, last_misuse_ptr
 * and last_misuse_where its pointer and the function it names.
 */
#ifndef PERCPU_MISUSE_RECORDER_H
#define PERCPU_MISUSE_RECORDER_H

#include <heap/heap_core.h>
#include <stddef.h>

static int misuses __attribute__((unused));
static enum heap_error last_misuse __attribute__((unused));
static void *last_misuse_ptr __attribute__((unused));
static const char *last_misuse_where __attribute__((unused));

static inline void record_misuse(enum heap_error e, void *p, size_t size, const char *where)
{
	(void)size;
	misuses++;
	last_misuse = e;
	last_misuse_ptr = p;
	last_misuse_where = where;
}

#endif
