// SPDX-License-Identifier: BSD-2-Clause
/*
 * What this port needs from the flattened device tree QEMU passes in a1:
 * the number of /cpus/cpu@N nodes and /chosen/bootargs. One walk over the
 * structure block, by depth and node name; nothing else is read.
 */
#include "internal.h"

#include <platform/bootarg_number.h>

#define FDT_MAGIC 0xd00dfeedU
#define TOK_BEGIN_NODE 1U
#define TOK_END_NODE 2U
#define TOK_PROP 3U
#define TOK_NOP 4U
#define TOK_END 9U
#define BOOTARGS_MAX 512

static char bootargs[BOOTARGS_MAX];
static unsigned nharts = 1;

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* True if name is `want` or `want@...`. */
static bool node_is(const char *name, const char *want)
{
	while (*want && *name == *want)
		name++, want++;
	return !*want && (!*name || *name == '@');
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

void mmode_fdt_scan(const void *dtb)
{
	const uint8_t *base = dtb, *p;
	const char *strings;
	unsigned depth = 0, cpus = 0;
	bool in_cpus = false, in_chosen = false;

	if (!dtb || rd32(base) != FDT_MAGIC)
		return;
	p = base + rd32(base + 8);
	strings = (const char *)base + rd32(base + 12);
	for (;;) {
		uint32_t tok = rd32(p);
		p += 4;
		if (tok == TOK_BEGIN_NODE) {
			const char *name = (const char *)p;
			size_t len = 0;
			while (name[len])
				len++;
			p += (len + 4) & ~(size_t)3;
			depth++;
			if (depth == 2) {
				in_cpus = node_is(name, "cpus");
				in_chosen = node_is(name, "chosen");
			} else if (depth == 3 && in_cpus && node_is(name, "cpu")) {
				cpus++;
			}
		} else if (tok == TOK_END_NODE) {
			depth--;
		} else if (tok == TOK_PROP) {
			uint32_t len = rd32(p), off = rd32(p + 4);
			const char *val = (const char *)p + 8;
			if (depth == 2 && in_chosen && str_eq(strings + off, "bootargs")) {
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
				for (uint32_t i = 0; i < n; i++)
					bootargs[i] = val[i];
				bootargs[n] = 0;
			}
			p += 8 + ((len + 3) & ~3U);
		} else if (tok != TOK_NOP) {
			break; /* TOK_END, or a token we do not know */
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
