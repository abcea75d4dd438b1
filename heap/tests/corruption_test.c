// SPDX-License-Identifier: BSD-2-Clause
/*
 * Corruption tests in the style of Linux's lib/slub_kunit.c: damage one
 * thing on purpose (a live block's tag, a free block's list link, a free
 * block's footer), then run the validator or the next operation, and assert
 * exactly which error is reported and how many times. Built at the default
 * hardening level (corruption_test) and at the paranoid level 3
 * (corruption_paranoid_test), where the validator runs at every release of
 * the heap lock: there the damage is named at the next heap operation,
 * whatever it is, before anything follows it.
 */
#include <heap/hardening.h>
#include <heap/kheap.h>
#include <string.h>

#include "test_util.h"

static int reports;
static enum heap_error last_err;
static const char *last_where;
static size_t last_size;

static void record(enum heap_error e, void *p, size_t size, const char *where)
{
	(void)p;
	reports++;
	last_err = e;
	last_where = where;
	last_size = size;
}

/* The validator's messages, counted. */
struct seen {
	unsigned n;
	const char *first;
};

static void collect(void *ctx, const char *msg, void *addr)
{
	struct seen *s = ctx;
	(void)addr;
	if (s->n++ == 0)
		s->first = msg;
}

static size_t validate(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return kheap_validate(collect, s);
}

/*
 * After damage: at level 3 the next heap operation (any) reports it once,
 * as a paranoid validation; below, that operation reports nothing.
 */
static void next_operation(void)
{
	reports = 0;
	void *x = kheap_try_alloc(4000, 0);
	if (HEAP_HARDENING >= 3) {
		CHECK(reports >= 1 && last_err == HEAP_ERR_CORRUPT_TAG);
		CHECK(strcmp(last_where, "kheap (paranoid validation)") == 0);
		CHECK(last_size >= 1);
	} else {
		CHECK(reports == 0);
	}
	reports = 0;
	kheap_free(x);
	reports = 0;
}

int main(void)
{
	const size_t bytes = 1u << 20;
	char *mem = test_map(bytes);
	kheap_init(mem, mem + bytes);
	kheap_set_misuse_handler(record);
	struct seen s;
	CHECK(validate(&s) == 0);

	/* 1. A live block's tag: one bit of its check lane flipped. */
	unsigned char *a = kheap_alloc(200, 0), *b = kheap_alloc(200, 0);
	unsigned char *c = kheap_alloc(200, 0);
	a[-6] ^= 0x01;
	CHECK(validate(&s) == 1 && strcmp(s.first, "tag check mismatch") == 0);
	next_operation();
	reports = 0;
	kheap_free(a); /* the free names it and frees nothing */
	/* Level 3: the paranoid validation at the unlock too, then the free's. */
	CHECK(reports == (HEAP_HARDENING >= 3 ? 2 : 1) && last_err == HEAP_ERR_CORRUPT_TAG &&
	      strcmp(last_where, "kheap_free") == 0);
	a[-6] ^= 0x01; /* repaired: the heap is whole again */
	CHECK(validate(&s) == 0);

	/* 2. A free block's list link overwritten (a use after free). */
	unsigned char *x = kheap_alloc(500, 0);
	kheap_free(b); /* between live a and c: its own free block */
	uintptr_t saved;
	memcpy(&saved, b, sizeof(saved));
	uintptr_t wild = 0xdead0000;
	memcpy(b, &wild, sizeof(wild));
	CHECK(validate(&s) == 1 && strcmp(s.first, "bin link points outside the heap") == 0);
	next_operation();
	memcpy(b, &saved, sizeof(saved));
	CHECK(validate(&s) == 0);

	/* 3. A free block's footer (an overflow into freed memory). */
	unsigned char *d = kheap_alloc(300, 0), *e = kheap_alloc(300, 0);
	kheap_free(d);
	uintptr_t *footer = (uintptr_t *)(e - 16);
	uintptr_t old = *footer;
	*footer = old + 16;
	CHECK(validate(&s) == 1 && strcmp(s.first, "footer disagrees with header") == 0);
	next_operation();
	*footer = old;
	CHECK(validate(&s) == 0);

	kheap_free(a);
	kheap_free(c);
	kheap_free(e);
	kheap_free(x);
	CHECK(validate(&s) == 0);
	printf("corruption_test: PASS at HEAP_HARDENING=%d\n", HEAP_HARDENING);
	return 0;
}
