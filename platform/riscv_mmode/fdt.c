// SPDX-License-Identifier: BSD-2-Clause
/*
 * What this port needs from the flattened device tree QEMU passes in a1:
 * the number of /cpus/cpu@N nodes, /chosen/bootargs and the /memory ranges
 * (boot refuses RAM that does not hold the image and its link-time heap).
 * One walk over the structure block, by depth and node name; nothing else
 * is read.
 */
#include "internal.h"

#include <platform/bootarg_number.h>
#include <platform/fdt_read.h>

#define TOK_BEGIN_NODE 1U
#define TOK_END_NODE 2U
#define TOK_PROP 3U
#define TOK_NOP 4U
#define TOK_END 9U
#define BOOTARGS_MAX 512

static char bootargs[BOOTARGS_MAX];
static unsigned nharts = 1;
static struct fdt_memory memory;

bool mmode_mem_holds(uint64_t lo, uint64_t hi)
{
	return fdt_memory_holds(&memory, lo, hi);
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/*
 * A blob this reader cannot walk inside its own bounds: named and stopped
 * (exit 2), as bootargs out of range are. Walked on, a truncated blob, or
 * one whose offsets or lengths lie, was read past its end (a load access
 * fault past RAM), or stopped early in silence with /chosen unread.
 */
static _Noreturn void bad_dtb(const char *what)
{
	port_panic(PORT_EXIT_PANIC, "DTB: %s", what);
}

/* The length of the string at s if its NUL comes before s + lim, else SIZE_MAX. */
static size_t bounded_len(const uint8_t *s, size_t lim)
{
	for (size_t n = 0; n < lim; n++)
		if (!s[n])
			return n;
	return SIZE_MAX;
}

void mmode_fdt_scan(const void *dtb)
{
	const uint8_t *base = dtb, *st, *strings;
	struct fdt_blocks blk;
	uint32_t st_size, str_size, off = 0;
	unsigned depth = 0, cpus = 0;
	bool in_cpus = false, in_chosen = false, in_memory = false;
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
		if (tok == TOK_BEGIN_NODE) {
			const char *name = (const char *)st + off;
			size_t len = bounded_len(st + off, st_size - off);

			if (len == SIZE_MAX)
				bad_dtb("a node name runs past the structure block");
			off += (uint32_t)(len + 4) & ~3U;
			depth++;
			if (depth == 2) {
				in_cpus = fdt_node_is(name, "cpus");
				in_chosen = fdt_node_is(name, "chosen");
				in_memory = fdt_node_is(name, "memory");
			} else if (depth == 3 && in_cpus && fdt_node_is(name, "cpu")) {
				cpus++;
			}
		} else if (tok == TOK_END_NODE) {
			if (!depth)
				bad_dtb("FDT_END_NODE with no node open");
			depth--;
		} else if (tok == TOK_PROP) {
			uint32_t len, name_off;
			const char *name, *val;

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
			val = (const char *)st + off;
			if (depth == 2 && in_chosen && str_eq(name, "bootargs")) {
				uint32_t n = len < BOOTARGS_MAX ? len : BOOTARGS_MAX - 1;
				/*
				 * len counts the NUL. Cut short, the last word
				 * would run a different job than asked (ops=20000
				 * cut to ops=20): stop. The other harts wait for
				 * their release; the panic ends QEMU first.
				 */
				if (len > BOOTARGS_MAX)
					port_panic(PORT_EXIT_PANIC, "bootargs: %u bytes, at most %u: "
						   "not run with the rest cut off", len - 1,
						   BOOTARGS_MAX - 1);
				/* Without its NUL the copy's NUL cut the last byte. */
				if (len && val[len - 1])
					bad_dtb("/chosen/bootargs is not a string");
				for (uint32_t i = 0; i < n; i++)
					bootargs[i] = val[i];
				bootargs[n] = 0;
			} else if (depth == 1 && len == 4 && str_eq(name, "#address-cells")) {
				ac = fdt_be32(st + off);
			} else if (depth == 1 && len == 4 && str_eq(name, "#size-cells")) {
				sc = fdt_be32(st + off);
			} else if (depth == 2 && in_memory && str_eq(name, "reg")) {
				fdt_memory_note(&memory, st + off, len, ac, sc);
			}
			/* len <= st_size - off: no wrap; past the end is caught above. */
			off += (len + 3) & ~3U;
		} else if (tok == TOK_END) {
			if (depth)
				bad_dtb("FDT_END inside a node");
			break;
		} else if (tok != TOK_NOP) {
			bad_dtb("an unknown token in the structure block");
		}
	}
	if (cpus)
		nharts = cpus;
}

unsigned mmode_nharts(void)
{
	return nharts;
}

const char *mmode_bootargs(void)
{
	return bootargs;
}

/*
 * The value of the last word `key=...` of the space-separated bootargs, or
 * NULL. The last, as with run_qemu's own options: a command line's
 * `--ops 3000` comes after a target's own ops=2000.
 */
static const char *arg_value(const char *key)
{
	const char *found = 0;

	for (const char *w = bootargs; *w;) {
		const char *k = key, *v = w;
		while (*k && *v == *k)
			k++, v++;
		if (!*k && *v == '=')
			found = v + 1;
		while (*w && *w != ' ')
			w++;
		while (*w == ' ')
			w++;
	}
	return found;
}

uint64_t mmode_arg_u64(const char *key, uint64_t def)
{
	const char *v = arg_value(key);
	size_t len = 0;
	uint64_t val;

	if (!v)
		return def;
	while (v[len] && v[len] != ' ')
		len++;
	/* Named, as a bad number is: taken as absent, ops= ran the default job. */
	if (!len)
		port_panic(PORT_EXIT_PANIC, "bootarg %s: no value (leave %s out for its default)",
			   key, key);
	if (!bootarg_number(v, len, &val))
		port_panic(PORT_EXIT_PANIC, "bootarg %s: bad number (decimal, or hex after 0x, below 2^64)", key);
	return val;
}
