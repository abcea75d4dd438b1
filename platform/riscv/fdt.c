// SPDX-License-Identifier: BSD-2-Clause
/*
 * A tiny flattened-device-tree reader: one walk over the structure block
 * that copies /chosen/bootargs and /cpus/timebase-frequency (or a cpu
 * node's) and notes the /memory ranges, so boot can refuse RAM that does
 * not hold the image and its link-time heap. Everything else (hart count)
 * this kernel learns from SBI.
 */
#include "internal.h"

#include <platform/fdt_read.h>

#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

#define BOOTARGS_MAX 512

static char bootargs[BOOTARGS_MAX];
static struct fdt_memory memory;
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

bool fdt_mem_holds(uint64_t lo, uint64_t hi)
{
	return fdt_memory_holds(&memory, lo, hi);
}

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/*
 * A blob this reader cannot walk inside its own bounds: named and stopped
 * (exit 2), as bootargs out of range are. Walked on, a truncated blob, or
 * one whose offsets or lengths lie, was read past its end (a load access
 * fault past RAM), or its walk ended early with /chosen unread and the
 * default job ran instead of the one asked for.
 */
static _Noreturn void bad_dtb(const char *what)
{
	uart_puts("PANIC early boot: DTB: ");
	uart_puts(what);
	uart_puts("\n");
	platform_exit(PORT_EXIT_PANIC);
}

/* The length of the string at s if its NUL comes before s + lim, else SIZE_MAX. */
static size_t bounded_len(const uint8_t *s, size_t lim)
{
	for (size_t n = 0; n < lim; n++)
		if (!s[n])
			return n;
	return SIZE_MAX;
}

void fdt_scan(const void *dtb)
{
	const uint8_t *base = dtb, *st, *strings;
	struct fdt_blocks blk;
	uint32_t st_size, str_size, off = 0;
	int depth = 0;
	bool in_chosen = false, in_cpus = false, in_memory = false, tb_in_cpus = false;
	/* The root's #address-cells and #size-cells; these are the spec's defaults. */
	uint32_t ac = 2, sc = 1;

	if (!dtb)
		return;
	const char *bad = fdt_open(base, &blk);
	if (bad)
		bad_dtb(bad);
	st = blk.st;
	strings = blk.strings;
	st_size = blk.st_size;
	str_size = blk.str_size;

	for (;;) {
		uint32_t tok;

		if (off > st_size || st_size - off < 4)
			bad_dtb("the structure block ends without FDT_END");
		tok = fdt_be32(st + off);
		off += 4;
		switch (tok) {
		case FDT_BEGIN_NODE: {
			const char *name = (const char *)st + off;
			size_t n = bounded_len(st + off, st_size - off);

			if (n == SIZE_MAX)
				bad_dtb("a node name runs past the structure block");
			depth++;
			if (depth == 2) {
				in_chosen = streq(name, "chosen");
				in_cpus = streq(name, "cpus");
				in_memory = fdt_node_is(name, "memory");
			}
			off += (uint32_t)(n + 1 + 3) & ~(uint32_t)3;
			break;
		}
		case FDT_END_NODE:
			if (depth == 0)
				bad_dtb("FDT_END_NODE with no node open");
			if (depth == 2)
				in_chosen = in_cpus = in_memory = false;
			depth--;
			break;
		case FDT_PROP: {
			uint32_t len, name_off;
			const char *name;
			const uint8_t *val;

			if (st_size - off < 8)
				bad_dtb("a property runs past the structure block");
			len = fdt_be32(st + off);
			name_off = fdt_be32(st + off + 4);
			off += 8;
			if (len > st_size - off)
				bad_dtb("a property runs past the structure block");
			if (name_off >= str_size ||
			    bounded_len(strings + name_off, str_size - name_off) == SIZE_MAX)
				bad_dtb("a property name lies outside the strings block");
			name = (const char *)strings + name_off;
			val = st + off;

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
				/* Without its NUL the copy's NUL cut the last byte. */
				if (len && val[len - 1])
					bad_dtb("/chosen/bootargs is not a string");
				for (size_t i = 0; i < n; i++)
					bootargs[i] = (char)val[i];
				bootargs[n] = 0;
			} else if (in_cpus && (depth == 2 || (depth == 3 && !tb_in_cpus)) &&
				   (len == 4 || len == 8) &&
				   streq(name, "timebase-frequency")) {
				/*
				 * A <u32> or a <u64>, in /cpus or else in each
				 * cpu node (the devicetree spec): the u64 and
				 * the cpu node's were passed over for 10 MHz.
				 */
				riscv_timebase_hz = fdt_cells(val, len / 4);
				tb_in_cpus |= depth == 2;
				/* Every time in ticks divides by it. */
				if (!riscv_timebase_hz)
					bad_dtb("timebase-frequency is 0");
			} else if (depth == 1 && len == 4 && streq(name, "#address-cells")) {
				ac = fdt_be32(val);
			} else if (depth == 1 && len == 4 && streq(name, "#size-cells")) {
				sc = fdt_be32(val);
			} else if (depth == 2 && in_memory && streq(name, "reg")) {
				fdt_memory_note(&memory, val, len, ac, sc);
			}
			/* len <= st_size - off: no wrap; past the end is caught above. */
			off += (len + 3) & ~(uint32_t)3;
			break;
		}
		case FDT_NOP:
			break;
		case FDT_END:
			if (depth != 0)
				bad_dtb("FDT_END inside a node");
			return;
		default:
			bad_dtb("an unknown token in the structure block");
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
