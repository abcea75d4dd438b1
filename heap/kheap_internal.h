/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared between the locked wrapper's files. */
#ifndef HEAP_KHEAP_INTERNAL_H
#define HEAP_KHEAP_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

size_t kheap_vformat(char *buf, size_t cap, const char *fmt, va_list ap);

#endif
