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

static char bootargs[FDT_BOOTARGS_MAX];
static unsigned nharts = 1;
static struct fdt_memory memory;

bool mmode_mem_holds(uint64_t lo, uint64_t hi)
{
	return fdt_memory_holds(&memory, lo, hi);
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

/*
 * /chosen/bootargs, or a refusal. The other harts wait for their release;
 * the panic ends QEMU first.
 */
static void note_bootargs(const struct fdt_event *prop)
{
	switch (fdt_bootargs_copy(bootargs, prop)) {
	case FDT_BOOTARGS_COPIED:
		return;
	case FDT_BOOTARGS_TOO_LONG:
		port_panic(PORT_EXIT_PANIC, "bootargs: %u bytes, at most %u: "
			   "not run with the rest cut off", prop->len - 1, FDT_BOOTARGS_MAX - 1);
	case FDT_BOOTARGS_NOT_A_STRING:
		bad_dtb("/chosen/bootargs is not a string");
	}
}

void mmode_fdt_scan(const void *dtb)
{
	struct fdt_cursor c;
	struct fdt_event ev;
	const char *bad;
	unsigned cpus = 0;
	struct fdt_memory_walk mem_walk = FDT_MEMORY_WALK_START;
	bool in_cpus = false, in_chosen = false;

	if (!dtb)
		return;
	bad = fdt_start(&c, dtb);
	while (!bad && !(bad = fdt_next(&c, &ev)) && ev.kind != FDT_EV_END) {
		fdt_memory_step(&memory, &mem_walk, &ev);
		if (ev.kind == FDT_EV_BEGIN_NODE && ev.depth == 2) {
			in_cpus = fdt_node_is(ev.name, "cpus");
			in_chosen = fdt_node_is(ev.name, "chosen");
		} else if (ev.kind == FDT_EV_BEGIN_NODE && ev.depth == 3 && in_cpus &&
			   fdt_node_is(ev.name, "cpu")) {
			cpus++;
		} else if (ev.kind == FDT_EV_PROP && ev.depth == 2 && in_chosen &&
			   fdt_streq(ev.name, "bootargs")) {
			note_bootargs(&ev);
		}
	}
	if (bad)
		bad_dtb(bad);
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
