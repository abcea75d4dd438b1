/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TEMPORARY test stand-in for heap/'s locked global heap (<heap/kheap.h>),
 * written against the API the brief names, until heap/ lands its own. It
 * wraps the real single-threaded core (//heap:heap_core) in a ticket lock.
 * Delete this directory once //heap:heap exists.
 */
#ifndef HEAP_KHEAP_H
#define HEAP_KHEAP_H

#include <heap/heap_core.h>
#include <stdbool.h>
#include <stddef.h>

typedef bool (*kheap_reclaim_fn)(void *ctx);
typedef void (*kheap_report_fn)(void);
typedef void (*kheap_misuse_fn)(enum heap_error err, void *p);

void kheap_init(void *start, void *end);
void *kheap_alloc(size_t size, size_t align);
void *kheap_try_alloc(size_t size, size_t align);
void kheap_free(void *p);
void kheap_free_sized(void *p, size_t size);
void *kheap_calloc(size_t n, size_t size);
void *kheap_realloc(void *p, size_t size);
size_t kheap_usable_size(const void *p);
size_t kheap_alloc_batch(size_t size, size_t align, void **out, size_t n);
void kheap_free_batch(void **ptrs, size_t n);
void kheap_get_stats(struct heap_stats *st);
size_t kheap_validate(void (*report)(void *ctx, const char *msg, void *addr),
		      void *ctx);
void kheap_set_reclaim_hook(kheap_reclaim_fn fn, void *ctx);
void kheap_set_report_extra(kheap_report_fn fn);
void kheap_set_misuse_handler(kheap_misuse_fn fn);

#endif
