// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for the heap core (//heap:heap_core): the input is a
 * sequence of operations (alloc, aligned alloc, calloc, realloc (NULL, 0,
 * in place to its usable size), heap_resize with the caller's memmove,
 * free, sized free (any size from the one asked to the usable one), usable
 * size (and its error), batches (aligned too; a batch free with a foreign
 * pointer among live ones), claim, extend, truncate, validate,
 * free spans spoiled as a trim's madvise may leave them, and misuse whose
 * report is known) run against a shadow model that records
 * every live block's address, size, alignment and byte pattern. Checked
 * after each operation: results are aligned, inside a claimed region and
 * disjoint from every other live block; contents survive (realloc keeps the
 * common prefix); misuse gets exactly the expected error and changes
 * nothing; the live count matches; the validator finds no error (after
 * every operation and at the end); freeing everything leaves one free block per
 * region.
 */
#include <heap/heap_core.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_pattern.h"

#define SLOTS 64
#define ARENA1 (1u << 20) /* the first region grows (extend) inside this */
#define ARENA2 (256u << 10)

static _Alignas(4096) unsigned char arena1[ARENA1];
static _Alignas(4096) unsigned char arena2[ARENA2];

struct slot {
	unsigned char *p;
	size_t size;  /* bytes asked for, all checked */
	size_t align; /* 0: default */
	uint8_t seed;
};

struct fuzz {
	struct heap h;
	struct slot s[SLOTS];
	size_t live;
	const uint8_t *in;
	size_t left;
	unsigned char *cur_lo, *cur_end, *cur_max; /* the current region */
	unsigned char *r1_end;  /* the first region's end (may move) */
	int claimed;
};

#define FAIL(...) do { fprintf(stderr, "heap_core_fuzz: " __VA_ARGS__); \
		       fprintf(stderr, "\n"); abort(); } while (0)
#define ASSERT(c) do { if (!(c)) FAIL("%s:%d: %s", __FILE__, __LINE__, #c); } while (0)

static unsigned take(struct fuzz *f, unsigned bytes)
{
	unsigned v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		v <<= 8;
		if (f->left) {
			v |= *f->in++;
			f->left--;
		}
	}
	return v;
}

/* Sizes: mostly small, sometimes large, sometimes 0. */
static size_t pick_size(struct fuzz *f)
{
	unsigned k = take(f, 1), v = take(f, 2);
	switch (k & 7) {
	case 0: return 0;
	case 1: case 2: case 3: return v % 256;
	case 4: case 5: return v % 4096;
	case 6: return v % 65536;
	default: return (size_t)v * 8;
	}
}

static void fill(struct slot *s)
{
	fuzz_fill(s->p, s->seed, s->size);
}

static void check_contents(const struct slot *s, size_t n)
{
	fuzz_check(__FILE__, s->p, s->seed, n < s->size ? n : s->size);
}

#define all_zero fuzz_all_zero

static int in_regions(struct fuzz *f, const unsigned char *p, size_t n)
{
	if (p >= arena1 && p + n <= f->r1_end)
		return 1;
	return f->claimed && p >= arena2 && p + n <= arena2 + ARENA2;
}

/* A new block: aligned, inside a region, disjoint from all live blocks. */
static void check_new(struct fuzz *f, unsigned char *p, size_t size, size_t align)
{
	size_t usable = heap_usable_size(&f->h, p);
	ASSERT(((uintptr_t)p & 15) == 0);
	if (align)
		ASSERT(((uintptr_t)p & (align - 1)) == 0);
	ASSERT(usable >= (size ? size : 1));
	ASSERT(in_regions(f, p - 8, usable + 8));
	for (int i = 0; i < SLOTS; i++) {
		const struct slot *o = &f->s[i];
		if (!o->p || o->p == p)
			continue;
		size_t ou = heap_usable_size(&f->h, o->p);
		if (p < o->p + ou && o->p < p + usable)
			FAIL("%p+%zu overlaps live %p+%zu", (void *)p, usable, (void *)o->p, ou);
	}
}

static void check_live(struct fuzz *f)
{
	struct heap_stats st;
	heap_get_stats(&f->h, &st);
	ASSERT(st.live_allocs == f->live);
}

static void validate(struct fuzz *f)
{
	size_t n = heap_validate(&f->h, NULL, NULL);
	if (n)
		FAIL("validator: %zu errors", n);
	check_live(f);
}

static void put(struct fuzz *f, int i, unsigned char *p, size_t size, size_t align)
{
	check_new(f, p, size, align);
	f->s[i] = (struct slot){ p, size, align, (uint8_t)take(f, 1) };
	fill(&f->s[i]);
	f->live++;
}

static void drop(struct fuzz *f, int i)
{
	f->s[i].p = NULL;
	f->live--;
}

struct spoil {
	struct fuzz *f;
	uint8_t byte;
	size_t spans;
};

/*
 * heap_free_spans' callback: the span lies in a region and off every live
 * block (its tag included), and is overwritten, as pages a trim gave back
 * may read (zero, or anything: the pattern byte).
 */
static void spoil_span(void *ctx, void *start, size_t len)
{
	struct spoil *sp = ctx;
	struct fuzz *f = sp->f;
	unsigned char *p = start;

	ASSERT(len > 0 && in_regions(f, p, len));
	for (int i = 0; i < SLOTS; i++) {
		const struct slot *o = &f->s[i];
		if (!o->p)
			continue;
		size_t ou = heap_usable_size(&f->h, o->p);
		if (p < o->p + ou && o->p - 8 < p + len)
			FAIL("span %p+%zu overlaps live %p+%zu", (void *)p, len, (void *)o->p, ou);
	}
	memset(p, sp->byte, len);
	sp->spans++;
}

/*
 * The rest of the API: heap_resize (the copy left to the caller, as kheap
 * does it outside its lock), heap_realloc itself with NULL and 0, a sized
 * free with any size that could have given the block, a batch free with a
 * bad pointer among good ones, aligned batches, heap_usable_size_err.
 */
static void more_ops(struct fuzz *f, int i)
{
	struct slot *s = &f->s[i];
	enum heap_error e = HEAP_OK;

	switch (take(f, 1) % 7) {
	case 0: { /* resize without the copy: memmove below, as kheap does */
		if (!s->p)
			break;
		size_t size = pick_size(f), move = 0;
		unsigned a = take(f, 1);
		size_t align = a & 16 ? s->align : (a & 32 ? (size_t)1 << (a % 13) : 0);
		check_contents(s, s->size);
		unsigned char *q = heap_resize(&f->h, s->p, size, align, &move, &e);
		if (!q) {
			ASSERT(e == HEAP_ERR_OOM);
			ASSERT(move == heap_usable_size(&f->h, s->p));
			check_contents(s, s->size); /* untouched */
			break;
		}
		ASSERT(e == HEAP_OK);
		if (q != s->p) {
			ASSERT(q < s->p);
			memmove(q, s->p, move);
		}
		size_t keep = size < s->size ? size : s->size;
		struct slot old = *s;
		s->p = NULL;
		check_new(f, q, size, align);
		old.p = q;
		check_contents(&old, keep);
		*s = (struct slot){ q, size, align, old.seed };
		fill(s);
		break;
	}
	case 1: /* heap_realloc: NULL allocates, 0 shrinks to the minimal block */
		if (!s->p) {
			size_t size = pick_size(f);
			unsigned char *p = heap_realloc(&f->h, NULL, size, &e);
			if (!p)
				ASSERT(e == HEAP_ERR_OOM);
			else
				put(f, i, p, size, 0);
		} else {
			check_contents(s, s->size);
			unsigned char *q = heap_realloc(&f->h, s->p, 0, &e);
			ASSERT(q != NULL); /* a shrink never fails */
			struct slot old = *s;
			s->p = NULL;
			check_new(f, q, 0, 0);
			*s = (struct slot){ q, 0, 0, old.seed };
		}
		break;
	case 2: { /* sized free with any size in [asked, usable] */
		if (!s->p)
			break;
		size_t usable = heap_usable_size(&f->h, s->p);
		size_t size = s->size + take(f, 2) % (usable - s->size + 1);
		check_contents(s, s->size);
		e = heap_free_sized(&f->h, s->p, size);
		/* usable itself is always one that could have given the block */
		if (size == usable || size == s->size)
			ASSERT(e == HEAP_OK);
		if (e == HEAP_OK)
			drop(f, i);
		else
			ASSERT(e == HEAP_ERR_SIZE_MISMATCH);
		break;
	}
	case 3: { /* batch free: live blocks and one foreign pointer among them */
		void *ptrs[6];
		int idx[6];
		size_t n = 0, bad_index = 99;
		int local;
		for (int k = 0; k < SLOTS && n < 5; k++) {
			int j = (i + k) % SLOTS;
			if (f->s[j].p) {
				check_contents(&f->s[j], f->s[j].size);
				idx[n] = j;
				ptrs[n++] = f->s[j].p;
			}
		}
		size_t bad_at = take(f, 1) % (n + 1);
		for (size_t k = n; k > bad_at; k--) {
			ptrs[k] = ptrs[k - 1];
			idx[k] = idx[k - 1];
		}
		ptrs[bad_at] = &local;
		idx[bad_at] = -1;
		n++;
		ASSERT(heap_free_batch_err(&f->h, ptrs, n, &e, &bad_index) == 1);
		ASSERT(e == HEAP_ERR_FOREIGN_PTR && bad_index == bad_at);
		for (size_t k = 0; k < n; k++)
			if (idx[k] >= 0)
				drop(f, idx[k]);
		break;
	}
	case 4: { /* aligned batch */
		void *out[4];
		size_t size = take(f, 1), align = (size_t)1 << (take(f, 1) % 13);
		size_t got = heap_alloc_batch(&f->h, size, align, out, 4);
		for (size_t k = 0; k < got; k++) {
			int j = (i + (int)k) % SLOTS;
			if (f->s[j].p) {
				ASSERT(heap_free(&f->h, out[k]) == HEAP_OK);
				continue;
			}
			put(f, j, out[k], size, align);
		}
		break;
	}
	case 5: { /* usable size with its error */
		int local;
		if (s->p) {
			ASSERT(heap_usable_size_err(&f->h, s->p, &e) >= s->size && e == HEAP_OK);
		}
		ASSERT(heap_usable_size_err(&f->h, &local, &e) == 0 && e == HEAP_ERR_FOREIGN_PTR);
		break;
	}
	default: { /* realloc a block to its own usable size: in place */
		if (!s->p)
			break;
		size_t usable = heap_usable_size(&f->h, s->p);
		check_contents(s, s->size);
		unsigned char *q = heap_realloc(&f->h, s->p, usable, &e);
		ASSERT(q == s->p);
		ASSERT(heap_usable_size(&f->h, q) == usable);
		break;
	}
	}
}

static void op(struct fuzz *f, unsigned code)
{
	int i = (int)(take(f, 1) % SLOTS);
	struct slot *s = &f->s[i];
	enum heap_error e = HEAP_OK;

	switch (code % 16) {
	case 0: case 1: { /* alloc */
		if (s->p)
			break;
		size_t size = pick_size(f);
		unsigned char *p = heap_alloc(&f->h, size, 0, &e);
		if (!p)
			ASSERT(e == HEAP_ERR_OOM);
		else
			put(f, i, p, size, 0);
		break;
	}
	case 2: { /* aligned alloc */
		if (s->p)
			break;
		size_t size = pick_size(f), align = (size_t)1 << (take(f, 1) % 13);
		unsigned char *p = heap_alloc(&f->h, size, align, &e);
		if (!p)
			ASSERT(e == HEAP_ERR_OOM);
		else
			put(f, i, p, size, align);
		break;
	}
	case 3: { /* calloc */
		if (s->p)
			break;
		size_t n = take(f, 1) % 16, size = take(f, 1);
		unsigned char *p = heap_calloc(&f->h, n, size, &e);
		if (!p) {
			ASSERT(e == HEAP_ERR_OOM);
			break;
		}
		ASSERT(all_zero(p, n * size));
		put(f, i, p, n * size, 0);
		break;
	}
	case 4: case 5: { /* realloc; 5: keeping an alignment, its own or a new one */
		if (!s->p)
			break;
		size_t size = pick_size(f), align = 0;
		if (code % 16 == 5) {
			unsigned a = take(f, 1);
			align = a & 16 ? s->align : (size_t)1 << (a % 13);
		}
		check_contents(s, s->size);
		unsigned char *q = heap_realloc_aligned(&f->h, s->p, size, align, &e);
		if (!q) {
			ASSERT(e == HEAP_ERR_OOM);
			check_contents(s, s->size); /* untouched */
			break;
		}
		size_t keep = size < s->size ? size : s->size;
		struct slot old = *s;
		s->p = NULL; /* not an overlap with itself */
		check_new(f, q, size, align);
		old.p = q;
		check_contents(&old, keep);
		*s = (struct slot){ q, size, align, old.seed };
		fill(s);
		break;
	}
	case 6: case 7: /* free */
		if (!s->p)
			break;
		check_contents(s, s->size);
		ASSERT(heap_free(&f->h, s->p) == HEAP_OK);
		drop(f, i);
		break;
	case 8: /* sized free, with the size asked for */
		if (!s->p)
			break;
		check_contents(s, s->size);
		ASSERT(heap_free_sized(&f->h, s->p, s->size) == HEAP_OK);
		drop(f, i);
		break;
	case 9: { /* batch alloc into free slots, then maybe batch free */
		void *out[4];
		size_t size = take(f, 1), got = heap_alloc_batch(&f->h, size, 0, out, 4);
		for (size_t k = 0; k < got; k++) {
			int j = (i + (int)k) % SLOTS;
			if (f->s[j].p) {
				ASSERT(heap_free(&f->h, out[k]) == HEAP_OK);
				continue;
			}
			f->live++; /* check_new before put counts it below */
			f->live--;
			put(f, j, out[k], size, 0);
		}
		break;
	}
	case 10: { /* claim a second region, extend or truncate the current one */
		unsigned what = take(f, 1) % 3;
		if (what == 0 && !f->claimed) {
			ASSERT(heap_claim(&f->h, arena2, arena2 + ARENA2) == HEAP_OK);
			f->claimed = 1;
			f->cur_lo = arena2;
			f->cur_end = f->cur_max = arena2 + ARENA2;
		} else if (what == 1) {
			size_t grow = (size_t)take(f, 2) * 16;
			unsigned char *end = f->cur_end + grow;
			if (end > f->cur_max)
				end = f->cur_max;
			ASSERT(heap_extend(&f->h, end) == HEAP_OK);
			f->cur_end = end;
		} else {
			size_t cut = (size_t)take(f, 3) * 16;
			unsigned char *want = cut > (size_t)(f->cur_end - f->cur_lo)
						      ? f->cur_lo : f->cur_end - cut;
			unsigned char *end = heap_truncate(&f->h, want);
			ASSERT(end >= want && end <= f->cur_end);
			f->cur_end = end;
		}
		if (f->cur_lo == arena1)
			f->r1_end = f->cur_end;
		/* Every live block is still inside a region. */
		for (int k = 0; k < SLOTS; k++)
			if (f->s[k].p)
				ASSERT(in_regions(f, f->s[k].p, f->s[k].size));
		break;
	}
	case 11: /* usable size */
		if (s->p)
			ASSERT(heap_usable_size(&f->h, s->p) >= s->size);
		break;
	case 12: { /* misuse with a known report; the heap must not change */
		unsigned what = take(f, 1) % 6;
		struct heap_stats before, after;
		heap_get_stats(&f->h, &before);
		if (what == 0 && s->p) {
			/* Interior pointer: the word below holds pattern bytes. */
			size_t usable = heap_usable_size(&f->h, s->p);
			if (s->size >= 32 && usable >= 32)
				ASSERT(heap_free(&f->h, s->p + 16) == HEAP_ERR_INTERIOR_PTR);
		} else if (what == 1) {
			int local;
			ASSERT(heap_free(&f->h, &local) == HEAP_ERR_FOREIGN_PTR);
		} else if (what == 2 && s->p) {
			size_t usable = heap_usable_size(&f->h, s->p);
			ASSERT(heap_free_sized(&f->h, s->p, usable + 1) == HEAP_ERR_SIZE_MISMATCH);
		} else if (what == 3) {
			ASSERT(heap_alloc(&f->h, 16, 48, &e) == NULL && e == HEAP_ERR_BAD_ALIGN);
		} else if (what == 4) {
			ASSERT(heap_alloc(&f->h, SIZE_MAX - 8, 0, &e) == NULL &&
			       e == HEAP_ERR_SIZE_OVERFLOW);
		} else if (what == 5 && s->p) {
			/* Double free: freed, then freed again at once. */
			check_contents(s, s->size);
			ASSERT(heap_free(&f->h, s->p) == HEAP_OK);
			ASSERT(heap_free(&f->h, s->p) == HEAP_ERR_DOUBLE_FREE);
			drop(f, i);
			heap_get_stats(&f->h, &before);
		}
		heap_get_stats(&f->h, &after);
		ASSERT(after.live_allocs == before.live_allocs &&
		       after.bytes_free == before.bytes_free);
		break;
	}
	case 13: { /* free spans, each spoiled: the heap must never read them */
		struct heap_stats st;
		struct spoil sp = { f, (uint8_t)take(f, 1), 0 };
		heap_get_stats(&f->h, &st);
		size_t n = heap_free_spans(&f->h, spoil_span, &sp);
		ASSERT(n == sp.spans && n <= st.free_blocks);
		break;
	}
	case 14:
		validate(f);
		break;
	default:
		more_ops(f, i);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_pat_init();
	static struct fuzz f;
	memset(&f, 0, sizeof(f));
	f.in = data;
	f.left = size;
	/* The first region starts at 4..256 KiB and may grow to 1 MiB. */
	size_t len = ((size_t)take(&f, 1) % 64 + 1) * 4096;
	f.cur_lo = arena1;
	f.cur_end = f.r1_end = arena1 + len;
	f.cur_max = arena1 + ARENA1;
	ASSERT(heap_init(&f.h, arena1, f.cur_end) == HEAP_OK);
	while (f.left) {
		op(&f, take(&f, 1));
		check_live(&f);
		/* The validator after every step, so a fault is named where it starts. */
		validate(&f);
	}
	validate(&f);
	for (int i = 0; i < SLOTS; i++)
		if (f.s[i].p) {
			check_contents(&f.s[i], f.s[i].size);
			ASSERT(heap_free(&f.h, f.s[i].p) == HEAP_OK);
			drop(&f, i);
		}
	validate(&f);
	struct heap_stats st;
	heap_get_stats(&f.h, &st);
	/* Coalesced: at most one free block per region (none if truncated away). */
	ASSERT(st.live_allocs == 0 && st.bytes_in_use == 0 && st.free_blocks <= st.regions);
	return 0;
}
