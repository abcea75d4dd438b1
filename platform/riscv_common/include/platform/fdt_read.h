// SPDX-License-Identifier: BSD-2-Clause
/*
 * What both RISC-V ports' DTB readers share: the header's checks (the
 * blocks inside the blob), big-endian cells, node names with unit
 * addresses, and the /memory ranges boot checks the image and its
 * link-time heap against (RAM that ends below the heap ended the run in a
 * store access fault inside kheap_init). Header-only and static: each
 * reader keeps its own ranges, and the host tests include fdt.c whole.
 */
#ifndef PLATFORM_FDT_READ_H
#define PLATFORM_FDT_READ_H

#include <stdbool.h>
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

/* A cells-long big-endian number (1 or 2 cells; the caller checks). */
static inline uint64_t fdt_cells(const uint8_t *p, uint32_t n)
{
	return n == 2 ? (uint64_t)fdt_be32(p) << 32 | fdt_be32(p + 4) : fdt_be32(p);
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
