// SPDX-License-Identifier: BSD-2-Clause
/*
 * What both RISC-V ports' DTB readers share: the header's checks (the
 * blocks inside the blob), the walk over the structure block inside its
 * bounds, the /chosen/bootargs copy, big-endian cells, node names with
 * unit addresses, and the /memory ranges boot checks the image and its
 * link-time heap against (RAM that ends below the heap ended the run in a
 * store access fault inside kheap_init). Each reader keeps only what it
 * wants from the walk and names what is wrong its own way. Header-only
 * and static: each reader keeps its own ranges, and the host tests
 * include fdt.c whole.
 */
#ifndef PLATFORM_FDT_READ_H
#define PLATFORM_FDT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* More ranges than this (QEMU virt makes one per NUMA node) go unchecked. */
#define FDT_MEM_RANGES_MAX 32

struct fdt_memory {
	struct {
		uint64_t base, end;
	} range[FDT_MEM_RANGES_MAX];
	unsigned n;
	bool overflow; /* cells past 64 bits, or more ranges than kept */
};

static inline uint32_t fdt_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define FDT_MAGIC 0xd00dfeedU

/* The structure and strings blocks of a blob whose header checked out. */
struct fdt_blocks {
	const uint8_t *st, *strings;
	uint32_t st_size, str_size;
};

/*
 * Checks the header at base and finds its blocks: NULL, or what is wrong
 * (the reader names it and stops). Offsets, not pointers, are compared: a
 * lying offset must not overflow a pointer. Walked unchecked, a truncated
 * blob, or one whose offsets or lengths lie, was read past its end.
 */
static inline const char *fdt_open(const uint8_t *base, struct fdt_blocks *b)
{
	if (fdt_be32(base) != FDT_MAGIC)
		return "no FDT magic where a1 points";
	uint32_t total = fdt_be32(base + 4), st_off = fdt_be32(base + 8);
	uint32_t str_off = fdt_be32(base + 12), str_size = fdt_be32(base + 32);
	uint32_t st_size = fdt_be32(base + 36);
	/* size_dt_struct is there from version 17 on. */
	if (fdt_be32(base + 20) < 17)
		return "version below 17";
	if (total < 40 || st_off > total || st_size > total - st_off || str_off > total ||
	    str_size > total - str_off)
		return "a block runs past totalsize";
	b->st = base + st_off;
	b->strings = base + str_off;
	b->st_size = st_size;
	b->str_size = str_size;
	return NULL;
}

/* The structure block's tokens. */
#define FDT_BEGIN_NODE 1U
#define FDT_END_NODE 2U
#define FDT_PROP 3U
#define FDT_NOP 4U
#define FDT_END 9U

/* One step of the walk (FDT_NOP is passed over); what a kind lacks is 0. */
struct fdt_event {
	enum { FDT_EV_BEGIN_NODE, FDT_EV_END_NODE, FDT_EV_PROP, FDT_EV_END } kind;
	/* The node begun or ended, or the one the property is in: the root is 1. */
	unsigned depth;
	/* The node's (unit address and all) or the property's; NUL inside its block. */
	const char *name;
	/* A property's value, len bytes inside the structure block. */
	const uint8_t *val;
	uint32_t len;
};

struct fdt_cursor {
	struct fdt_blocks b;
	uint32_t off; /* the next token's, in the structure block */
	unsigned depth; /* nodes open */
};

/* fdt_open for a walk from the structure block's start. */
static inline const char *fdt_start(struct fdt_cursor *c, const uint8_t *base)
{
	c->off = 0;
	c->depth = 0;
	return fdt_open(base, &c->b);
}

/* The length of the string at s if its NUL comes before s + lim, else SIZE_MAX. */
static inline size_t fdt_bounded_len(const uint8_t *s, size_t lim)
{
	for (size_t n = 0; n < lim; n++)
		if (!s[n])
			return n;
	return SIZE_MAX;
}

/*
 * The walk's next step into *ev: NULL, or what is wrong (the reader names
 * it and stops; not called again after FDT_EV_END). Walked on, a blob
 * whose offsets or lengths lie was read past its end, or its walk ended
 * early with /chosen unread.
 */
static inline const char *fdt_next(struct fdt_cursor *c, struct fdt_event *ev)
{
	const uint8_t *st = c->b.st;
	uint32_t st_size = c->b.st_size, str_size = c->b.str_size;

	for (;;) {
		uint32_t tok;

		if (c->off > st_size || st_size - c->off < 4)
			return "the structure block ends without FDT_END";
		tok = fdt_be32(st + c->off);
		c->off += 4;
		switch (tok) {
		case FDT_BEGIN_NODE: {
			size_t n = fdt_bounded_len(st + c->off, st_size - c->off);

			if (n == SIZE_MAX)
				return "a node name runs past the structure block";
			*ev = (struct fdt_event){.kind = FDT_EV_BEGIN_NODE, .depth = ++c->depth,
						 .name = (const char *)st + c->off};
			c->off += (uint32_t)(n + 1 + 3) & ~3U;
			return NULL;
		}
		case FDT_END_NODE:
			if (!c->depth)
				return "FDT_END_NODE with no node open";
			*ev = (struct fdt_event){.kind = FDT_EV_END_NODE, .depth = c->depth--};
			return NULL;
		case FDT_PROP: {
			uint32_t len, name_off;

			if (st_size - c->off < 8)
				return "a property runs past the structure block";
			len = fdt_be32(st + c->off);
			name_off = fdt_be32(st + c->off + 4);
			c->off += 8;
			if (len > st_size - c->off)
				return "a property runs past the structure block";
			if (name_off >= str_size ||
			    fdt_bounded_len(c->b.strings + name_off, str_size - name_off) == SIZE_MAX)
				return "a property name lies outside the strings block";
			*ev = (struct fdt_event){.kind = FDT_EV_PROP, .depth = c->depth,
						 .name = (const char *)c->b.strings + name_off,
						 .val = st + c->off, .len = len};
			/* len <= st_size - off: no wrap; past the end is caught above. */
			c->off += (len + 3) & ~3U;
			return NULL;
		}
		case FDT_NOP:
			break;
		case FDT_END:
			if (c->depth)
				return "FDT_END inside a node";
			*ev = (struct fdt_event){.kind = FDT_EV_END};
			return NULL;
		default:
			return "an unknown token in the structure block";
		}
	}
}

/* /chosen/bootargs' room, its NUL included. */
#define FDT_BOOTARGS_MAX 512

enum fdt_bootargs_verdict { FDT_BOOTARGS_COPIED, FDT_BOOTARGS_TOO_LONG, FDT_BOOTARGS_NOT_A_STRING };

/*
 * Copies the bootargs property `prop` into dst, or leaves dst alone and
 * says why not; each port names it its own way. The property's len counts
 * the NUL. Cut short, the last word would run a different job than asked
 * (ops=20000 cut to ops=20 passed with 20 operations): too long. Without
 * its NUL the copy's NUL cut the last byte: not a string.
 */
static inline enum fdt_bootargs_verdict fdt_bootargs_copy(char dst[FDT_BOOTARGS_MAX],
							   const struct fdt_event *prop)
{
	uint32_t len = prop->len, n = len < FDT_BOOTARGS_MAX ? len : FDT_BOOTARGS_MAX - 1;

	if (len > FDT_BOOTARGS_MAX)
		return FDT_BOOTARGS_TOO_LONG;
	if (len && prop->val[len - 1])
		return FDT_BOOTARGS_NOT_A_STRING;
	for (uint32_t i = 0; i < n; i++)
		dst[i] = (char)prop->val[i];
	dst[n] = 0;
	return FDT_BOOTARGS_COPIED;
}

/* A cells-long big-endian number (1 or 2 cells; the caller checks). */
static inline uint64_t fdt_cells(const uint8_t *p, uint32_t n)
{
	return n == 2 ? (uint64_t)fdt_be32(p) << 32 | fdt_be32(p + 4) : fdt_be32(p);
}

static inline bool fdt_streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* True if name is `want` or `want@...` (a unit address). */
static inline bool fdt_node_is(const char *name, const char *want)
{
	while (*want && *name == *want)
		name++, want++;
	return !*want && (!*name || *name == '@');
}

/* Notes the (address, size) pairs of a /memory node's reg. */
static inline void fdt_memory_note(struct fdt_memory *m, const uint8_t *val, uint32_t len,
				   uint32_t ac, uint32_t sc)
{
	uint32_t pair = 4 * (ac + sc);

	/* Cells of 3 or more (addresses past 64 bits): no range to note. */
	if (ac < 1 || ac > 2 || sc > 2) {
		m->overflow = true;
		return;
	}
	for (uint32_t off = 0; len - off >= pair; off += pair) {
		uint64_t base = fdt_cells(val + off, ac);
		uint64_t size = sc ? fdt_cells(val + off + 4 * ac, sc) : 0;

		if (m->n == FDT_MEM_RANGES_MAX) {
			m->overflow = true;
			return;
		}
		m->range[m->n].base = base;
		/* A range that wraps past 2^64 ends there. */
		m->range[m->n].end = base + size < base ? UINT64_MAX : base + size;
		m->n++;
	}
}

/*
 * What the walk has seen that a /memory reg needs: the root's cells (the
 * spec's defaults until it names its own) and whether a /memory node is
 * open.
 */
struct fdt_memory_walk {
	uint32_t ac, sc;
	bool in_memory;
};

#define FDT_MEMORY_WALK_START {.ac = 2, .sc = 1, .in_memory = false}

/* Notes the ranges of each /memory node's reg as the walk meets them. */
static inline void fdt_memory_step(struct fdt_memory *m, struct fdt_memory_walk *w,
				   const struct fdt_event *ev)
{
	if (ev->kind == FDT_EV_BEGIN_NODE && ev->depth == 2)
		w->in_memory = fdt_node_is(ev->name, "memory");
	else if (ev->kind == FDT_EV_END_NODE && ev->depth == 2)
		w->in_memory = false;
	else if (ev->kind != FDT_EV_PROP)
		return;
	else if (ev->depth == 1 && ev->len == 4 && fdt_streq(ev->name, "#address-cells"))
		w->ac = fdt_be32(ev->val);
	else if (ev->depth == 1 && ev->len == 4 && fdt_streq(ev->name, "#size-cells"))
		w->sc = fdt_be32(ev->val);
	else if (ev->depth == 2 && w->in_memory && fdt_streq(ev->name, "reg"))
		fdt_memory_note(m, ev->val, ev->len, w->ac, w->sc);
}

/*
 * True if the noted ranges (adjacent ones joined) hold [lo, hi), or if
 * there is nothing to go by (no /memory, or too many ranges to keep).
 */
static inline bool fdt_memory_holds(const struct fdt_memory *m, uint64_t lo, uint64_t hi)
{
	uint64_t reach = lo;
	bool grew = true;

	if (!m->n || m->overflow)
		return true;
	/* Ranges in any order, adjacent ones joined (NUMA nodes). */
	while (grew && reach < hi) {
		grew = false;
		for (unsigned i = 0; i < m->n; i++) {
			if (m->range[i].base <= reach && reach < m->range[i].end) {
				reach = m->range[i].end;
				grew = true;
			}
		}
	}
	return reach >= hi;
}

#endif
