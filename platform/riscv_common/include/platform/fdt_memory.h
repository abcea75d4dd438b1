// SPDX-License-Identifier: BSD-2-Clause
/*
 * What both RISC-V ports' DTB readers share: big-endian cells, node names
 * with unit addresses, and the /memory ranges boot checks the image and
 * its link-time heap against (RAM that ends below the heap ended the run
 * in a store access fault inside kheap_init). Header-only and static: each
 * reader keeps its own ranges, and the host tests include fdt.c whole.
 */
#ifndef PLATFORM_FDT_MEMORY_H
#define PLATFORM_FDT_MEMORY_H

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
