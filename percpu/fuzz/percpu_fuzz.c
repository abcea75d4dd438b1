// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for percpu over the locked heap on the host port, in one
 * thread: the input is a sequence of operations (kmalloc, kzalloc,
 * kmalloc_aligned, kcalloc, the _try forms, krealloc, krealloc_aligned
 * (with NULL and 0), kfree, kfree_sized (any size up to ksize), ksize,
 * an allocation the heap cannot serve (both reclaim levels, with the other
 * virtual harts' flush requests standing), percpu_poll,
 * percpu_drain, percpu_trim, kheap_trim with every span it offers
 * overwritten, a switch to another virtual hart with port_host_become_hart,
 * a hart exit, and misuse whose report is known) against a shadow model of
 * the live blocks. Blocks are freed from any virtual hart, not only the one
 * that allocated them (cross-hart frees). Checked: alignment, usable size,
 * disjointness from every live block, the byte pattern of every block before
 * it is freed or resized, the recorded misuse code (a misuse handler that
 * records instead of panicking), the validator every 32 operations; at the
 * end of each input every block is freed, every hart exits, and
 * percpu_check_drained(0) must hold with the heap back to its free bytes.
 */
#include <heap/heap_core.h>
#include <heap/kheap.h>
#include <percpu/kmalloc.h>
#include <platform/port.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "percpu/tests/misuse_recorder.h"
#include "tools/fuzz/fuzz_pattern.h"

#define SLOTS 64
#define HARTS 4
#define HEAP_BYTES (16u << 20)

struct slot {
	unsigned char *p;
	size_t size;
	size_t align;
	uint8_t seed;
};

static struct slot s[SLOTS];
static const uint8_t *in;
static size_t left;
static size_t free_bytes_at_start;
static bool used[HARTS];

#define FAIL(...) do { fprintf(stderr, "percpu_fuzz: " __VA_ARGS__); \
		       fprintf(stderr, "\n"); abort(); } while (0)
#define ASSERT(c) do { if (!(c)) FAIL("%s:%d: %s", __FILE__, __LINE__, #c); } while (0)

static unsigned take(unsigned bytes)
{
	unsigned v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		v <<= 8;
		if (left) {
			v |= *in++;
			left--;
		}
	}
	return v;
}

/* Mostly magazine sizes, sometimes past PERCPU_MAX_SMALL; at most 64 KiB. */
static size_t pick_size(void)
{
	unsigned k = take(1), v = take(2);
	switch (k & 7) {
	case 0: return 1 + v % 16;
	case 1: case 2: case 3: return 1 + v % 512;
	case 4: case 5: return 1 + v % 4096;
	default: return 1 + v % 65536;
	}
}

static void fill(struct slot *b)
{
	fuzz_fill(b->p, b->seed, b->size);
}

static void check_contents(const struct slot *b, size_t n)
{
	fuzz_check(__FILE__, b->p, b->seed, n < b->size ? n : b->size);
}

#define all_zero fuzz_all_zero

static void check_new(unsigned char *p, size_t size, size_t align, int self)
{
	size_t usable = ksize(p);
	ASSERT(p != NULL);
	ASSERT(((uintptr_t)p & 15) == 0);
	if (align)
		ASSERT(((uintptr_t)p & (align - 1)) == 0);
	ASSERT(usable >= size);
	for (int i = 0; i < SLOTS; i++) {
		if (i == self || !s[i].p)
			continue;
		if (p < s[i].p + s[i].size && s[i].p < p + size)
			FAIL("%p+%zu overlaps live %p+%zu", (void *)p, size,
			     (void *)s[i].p, s[i].size);
	}
}

static void put(int i, unsigned char *p, size_t size, size_t align)
{
	check_new(p, size, align, i);
	s[i] = (struct slot){ p, size, align, (uint8_t)take(1) };
	fill(&s[i]);
}

static void become(unsigned h)
{
	port_host_become_hart(h);
	used[h] = true;
}

/* Every hart gives its magazines back and stops; hart 0 then drains. */
static void all_exit(void)
{
	for (unsigned h = 0; h < HARTS; h++)
		if (used[h]) {
			port_host_become_hart(h);
			percpu_hart_exit();
			used[h] = false;
		}
	become(0);
}

static void expect_misuse(enum heap_error e, int before)
{
	if (misuses != before + 1 || last_misuse != e)
		FAIL("misuse: %d reports (want 1), last %s (want %s)", misuses - before,
		     heap_error_name(last_misuse), heap_error_name(e));
}

/*
 * kheap_trim's callback, under the heap lock: the bytes the heap never
 * reads, overwritten as pages a trim gave back may read; no live block may
 * overlap them (its tag included).
 */
static void spoil_span(void *ctx, void *start, size_t len)
{
	unsigned char *p = start;
	(void)ctx;
	for (int i = 0; i < SLOTS; i++)
		if (s[i].p && p < s[i].p + s[i].size && s[i].p - 8 < p + len)
			FAIL("span %p+%zu overlaps live %p+%zu", start, len, (void *)s[i].p,
			     s[i].size);
	memset(p, 0xa5, len);
}

/* Every live block still holds its pattern (a reclaim freed none of them). */
static void check_all(void)
{
	for (int k = 0; k < SLOTS; k++)
		if (s[k].p)
			check_contents(&s[k], s[k].size);
}

/*
 * The rest of the API: kcalloc, the _try forms, an allocation the heap
 * cannot serve (the reclaim, both levels, with the other virtual harts'
 * requests left standing), krealloc's NULL and 0, kfree_sized with any
 * size up to ksize, percpu_poll, kfree(NULL), the validator.
 */
static void more_ops(int i)
{
	struct slot *b = &s[i];

	switch (take(1) % 8) {
	case 0: { /* validate */
		size_t n = kheap_validate(NULL, NULL);
		if (n)
			FAIL("validator: %zu errors", n);
		break;
	}
	case 1: /* kcalloc */
		if (!b->p) {
			size_t n = take(1) % 64, size = 1 + take(1);
			unsigned char *p = kcalloc(n, size);
			ASSERT(all_zero(p, n * size));
			if (n * size)
				put(i, p, n * size, 0);
			else
				kfree(p);
		}
		break;
	case 2: { /* more than the heap has: reclaim, then NULL */
		size_t size = ((size_t)(take(1) % 8) + 9) << 20; /* 9..16 MiB */
		void *p = take(1) & 1 ? kmalloc_aligned_try(size, 4096) : kmalloc_try(size);
		check_all();
		if (p)
			kfree(p);
		break;
	}
	case 3: /* krealloc(NULL, size) allocates, krealloc(p, 0) frees */
		if (!b->p) {
			size_t size = pick_size();
			put(i, krealloc(NULL, size), size, 0);
		} else {
			check_contents(b, b->size);
			ASSERT(krealloc(b->p, 0) == NULL);
			b->p = NULL;
		}
		break;
	case 4: /* kfree_sized with any size from the one asked to ksize */
		if (b->p) {
			size_t usable = ksize(b->p);
			size_t size = b->size + take(2) % (usable - b->size + 1);
			int before = misuses;
			check_contents(b, b->size);
			kfree_sized(b->p, size);
			ASSERT(misuses == before);
			b->p = NULL;
		}
		break;
	case 5: /* kmalloc_try, kmalloc_aligned_try */
		if (!b->p) {
			size_t size = pick_size(), align = 0;
			unsigned char *p;
			if (take(1) & 1) {
				align = (size_t)1 << (take(1) % 13);
				p = kmalloc_aligned_try(size, align);
			} else {
				p = kmalloc_try(size);
			}
			ASSERT(p != NULL);
			put(i, p, size, align);
		}
		break;
	case 6: /* krealloc_aligned(NULL) */
		if (!b->p) {
			size_t size = pick_size(), align = (size_t)1 << (take(1) % 13);
			put(i, krealloc_aligned(NULL, size, align), size, align);
		}
		break;
	default: /* nothing to free; a pending request answered */
		kfree(NULL);
		percpu_poll();
		break;
	}
}

static void op(unsigned code)
{
	int i = (int)(take(1) % SLOTS);
	struct slot *b = &s[i];

	switch (code % 16) {
	case 0: case 1: case 2: /* kmalloc */
		if (!b->p) {
			size_t size = pick_size();
			put(i, kmalloc(size), size, 0);
		}
		break;
	case 3: /* kzalloc */
		if (!b->p) {
			size_t size = pick_size();
			unsigned char *p = kzalloc(size);
			ASSERT(all_zero(p, size));
			put(i, p, size, 0);
		}
		break;
	case 4: /* kmalloc_aligned */
		if (!b->p) {
			size_t size = pick_size(), align = (size_t)1 << (take(1) % 13);
			put(i, kmalloc_aligned(size, align), size, align);
		}
		break;
	case 5: case 6: /*
			 * krealloc; 6: krealloc_aligned, its own alignment or
			 * another, or the heap's kheap_try_realloc_aligned (a
			 * thread without a hart id: offset-tagged blocks too)
			 */
		if (b->p) {
			size_t size = pick_size(), align = 0;
			bool heap = false;
			if (code % 16 == 6) {
				unsigned a = take(1);
				align = a & 16 ? b->align : (size_t)1 << (a % 13);
				heap = a & 32;
			}
			check_contents(b, b->size);
			unsigned char *q = heap ? kheap_try_realloc_aligned(b->p, size, align)
					   : code % 16 == 6 ? krealloc_aligned(b->p, size, align)
							    : krealloc(b->p, size);
			ASSERT(q != NULL);
			struct slot old = *b;
			old.p = q;
			check_new(q, size, align, i);
			check_contents(&old, size < b->size ? size : b->size);
			*b = (struct slot){ q, size, align, old.seed };
			fill(b);
		}
		break;
	case 7: case 8: case 9: /* kfree */
		if (b->p) {
			check_contents(b, b->size);
			kfree(b->p);
			b->p = NULL;
		}
		break;
	case 10: /* kfree_sized with the size asked for */
		if (b->p) {
			check_contents(b, b->size);
			kfree_sized(b->p, b->size);
			b->p = NULL;
		}
		break;
	case 11: /* another virtual hart */
		become(take(1) % HARTS);
		break;
	case 12: { /* this hart exits, a full drain, or a trim */
		unsigned what = take(1) % 4;
		if (what == 0) {
			percpu_hart_exit();
		} else if (what == 1) {
			all_exit();
			percpu_drain();
		} else {
			/* The depots go back at once; the other harts flush later. */
			percpu_trim();
			ASSERT(percpu_depot_bytes() == 0);
			/* 3: then every free span overwritten, as a madvise may. */
			if (what == 3)
				kheap_trim(spoil_span, NULL);
		}
		break;
	}
	case 13: { /* misuse with a known report */
		int before = misuses;
		unsigned what = take(1) % 3;
		if (what == 0 && b->p) {
			/*
			 * Double free, of any alignment: the second free finds
			 * the block cached or free (an offset-tagged one too).
			 */
			check_contents(b, b->size);
			kfree(b->p);
			kfree(b->p);
			expect_misuse(HEAP_ERR_DOUBLE_FREE, before);
			b->p = NULL;
		} else if (what == 1 && b->p && b->align <= 16) {
			/* A sized free with a size larger than the block. */
			kfree_sized(b->p, ksize(b->p) + 1);
			expect_misuse(HEAP_ERR_SIZE_MISMATCH, before);
		} else if (what == 2) {
			/* Outside the heap: named before any load through it. */
			static uint64_t foreign[4];
			kfree(&foreign[2]);
			expect_misuse(HEAP_ERR_FOREIGN_PTR, before);
		}
		/*
		 * Not here: an interior pointer, which at the default level is
		 * cached silently when the payload byte below it reads as a
		 * class (README, "Hardening"); //percpu:harden_test has it.
		 */
		break;
	}
	case 14: /* ksize */
		if (b->p)
			ASSERT(ksize(b->p) >= b->size);
		break;
	default:
		more_ops(i);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_pat_init();
	static bool inited;
	if (!inited) {
		void *mem = aligned_alloc(4096, HEAP_BYTES);
		kheap_init(mem, (char *)mem + HEAP_BYTES);
		percpu_init(PERCPU_MAGAZINES);
		kheap_set_misuse_handler(record_misuse);
		struct kheap_stats st;
		kheap_get_stats(&st);
		free_bytes_at_start = st.heap.bytes_free;
		inited = true;
	}
	in = data;
	left = size;
	misuses = 0;
	become(0);
	for (unsigned n = 1; left; n++) {
		op(take(1));
		/* Every 32 steps: the 16 MiB heap's walk is a main cost of the run. */
		if (n % 32 == 0 && kheap_validate(NULL, NULL))
			FAIL("validator found errors");
	}
	/* Free everything, from whatever hart we are on now. */
	for (int i = 0; i < SLOTS; i++)
		if (s[i].p) {
			check_contents(&s[i], s[i].size);
			kfree(s[i].p);
			s[i].p = NULL;
		}
	all_exit();
	if (!percpu_check_drained(0))
		FAIL("percpu_check_drained(0) failed");
	struct kheap_stats st;
	kheap_get_stats(&st);
	ASSERT(st.heap.bytes_free == free_bytes_at_start);
	ASSERT(kheap_validate(NULL, NULL) == 0);
	return 0;
}
