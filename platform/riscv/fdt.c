// SPDX-License-Identifier: BSD-2-Clause
/*
 * A tiny flattened-device-tree reader: one walk over the structure block
 * that copies /chosen/bootargs and /cpus/timebase-frequency and notes the
 * /memory ranges, so boot can refuse RAM that does not hold the image and
 * its link-time heap. Everything else (hart count) this kernel learns from
 * SBI.
 */
#include "internal.h"

#define FDT_MAGIC 0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

#define BOOTARGS_MAX 512

/* More ranges than this (QEMU virt makes one per NUMA node) go unchecked. */
#define MEM_RANGES_MAX 32

static char bootargs[BOOTARGS_MAX];
static struct {
	uint64_t base, end;
} mem[MEM_RANGES_MAX];
static unsigned nmem;
static bool mem_overflow;
uint64_t riscv_timebase_hz = 10000000; /* QEMU virt, if the DTB says nothing */

/* Early, before the console: the length in a refusal of too-long bootargs. */
static void put_dec(uint32_t v)
{
	char d[10];
	int n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		uart_putc(d[--n]);
}

static uint32_t be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* A cells-long big-endian number (1 or 2 cells; the caller checks). */
static uint64_t cells(const uint8_t *p, uint32_t n)
{
	return n == 2 ? (uint64_t)be32(p) << 32 | be32(p + 4) : be32(p);
}

/* True if name is `want` or `want@...` (a unit address). */
static bool node_is(const char *name, const char *want)
{
	while (*want && *name == *want)
		name++, want++;
	return !*want && (!*name || *name == '@');
}

/* The (address, size) pairs of a /memory node's reg. */
static void note_memory(const uint8_t *val, uint32_t len, uint32_t ac, uint32_t sc)
{
	uint32_t pair = 4 * (ac + sc);

	/* Cells of 3 or more (addresses past 64 bits): no range to note. */
	if (ac < 1 || ac > 2 || sc > 2) {
		mem_overflow = true;
		return;
	}
	for (uint32_t off = 0; len - off >= pair; off += pair) {
		uint64_t base = cells(val + off, ac);
		uint64_t size = sc ? cells(val + off + 4 * ac, sc) : 0;

		if (nmem == MEM_RANGES_MAX) {
			mem_overflow = true;
			return;
		}
		mem[nmem].base = base;
		/* A range that wraps past 2^64 ends there. */
		mem[nmem].end = base + size < base ? UINT64_MAX : base + size;
		nmem++;
	}
}

bool fdt_mem_holds(uint64_t lo, uint64_t hi)
{
	uint64_t reach = lo;
	bool grew = true;

	/* No /memory (or too many ranges to keep): nothing to go by. */
	if (!nmem || mem_overflow)
		return true;
	/* Ranges in any order, adjacent ones joined (NUMA nodes). */
	while (grew && reach < hi) {
		grew = false;
		for (unsigned i = 0; i < nmem; i++) {
			if (mem[i].base <= reach && reach < mem[i].end) {
				reach = mem[i].end;
				grew = true;
			}
		}
	}
	return reach >= hi;
}

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static size_t slen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

void fdt_scan(const void *dtb)
{
	const uint8_t *base = dtb;
	const uint8_t *p, *end, *strings;
	int depth = 0;
	bool in_chosen = false, in_cpus = false, in_memory = false;
	/* The root's #address-cells and #size-cells; these are the spec's defaults. */
	uint32_t ac = 2, sc = 1;

	if (!dtb || be32(base) != FDT_MAGIC)
		return;
	p = base + be32(base + 8);
	end = p + be32(base + 36);
	strings = base + be32(base + 12);

	while (p < end) {
		uint32_t tok = be32(p);
		p += 4;
		switch (tok) {
		case FDT_BEGIN_NODE: {
			const char *name = (const char *)p;
			depth++;
			if (depth == 2) {
				in_chosen = streq(name, "chosen");
				in_cpus = streq(name, "cpus");
				in_memory = node_is(name, "memory");
			}
			p += (slen(name) + 1 + 3) & ~(size_t)3;
			break;
		}
		case FDT_END_NODE:
			if (depth == 2)
				in_chosen = in_cpus = in_memory = false;
			depth--;
			break;
		case FDT_PROP: {
			uint32_t len = be32(p);
			const char *name = (const char *)strings + be32(p + 4);
			const uint8_t *val = p + 8;

			if (depth == 2 && in_chosen && streq(name, "bootargs")) {
				size_t n = len < BOOTARGS_MAX - 1 ? len : BOOTARGS_MAX - 1;
				/*
				 * len counts the NUL. Cut short, the last word
				 * would run a different job than asked (ops=20000
				 * cut to ops=20 passed with 20 operations): stop.
				 */
				if (len > BOOTARGS_MAX) {
					uart_puts("PANIC early boot: bootargs: ");
					put_dec(len - 1);
					uart_puts(" bytes, at most 511: not run with the rest cut off\n");
					platform_exit(PORT_EXIT_PANIC);
				}
				for (size_t i = 0; i < n; i++)
					bootargs[i] = (char)val[i];
				bootargs[n] = 0;
			} else if (depth == 2 && in_cpus && len == 4 &&
				   streq(name, "timebase-frequency")) {
				riscv_timebase_hz = be32(val);
			} else if (depth == 1 && len == 4 && streq(name, "#address-cells")) {
				ac = be32(val);
			} else if (depth == 1 && len == 4 && streq(name, "#size-cells")) {
				sc = be32(val);
			} else if (depth == 2 && in_memory && streq(name, "reg")) {
				note_memory(val, len, ac, sc);
			}
			p = val + ((len + 3) & ~(uint32_t)3);
			break;
		}
		case FDT_NOP:
			break;
		default: /* FDT_END or garbage */
			return;
		}
	}
}

const char *platform_bootargs(void)
{
	return bootargs;
}

uint64_t platform_timebase_hz(void)
{
	return riscv_timebase_hz;
}
