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

static char bootargs[FDT_BOOTARGS_MAX];
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

/* /chosen/bootargs, or a refusal named on the UART: no console yet. */
static void note_bootargs(const struct fdt_event *prop)
{
	switch (fdt_bootargs_copy(bootargs, prop)) {
	case FDT_BOOTARGS_COPIED:
		return;
	case FDT_BOOTARGS_TOO_LONG:
		uart_puts("PANIC early boot: bootargs: ");
		put_dec(prop->len - 1);
		uart_puts(" bytes, at most 511: not run with the rest cut off\n");
		platform_exit(PORT_EXIT_PANIC);
	case FDT_BOOTARGS_NOT_A_STRING:
		bad_dtb("/chosen/bootargs is not a string");
	}
}

void fdt_scan(const void *dtb)
{
	struct fdt_cursor c;
	struct fdt_event ev;
	const char *bad;
	struct fdt_memory_walk mem_walk = FDT_MEMORY_WALK_START;
	bool in_chosen = false, in_cpus = false, tb_in_cpus = false;

	if (!dtb)
		return;
	bad = fdt_start(&c, dtb);
	while (!bad && !(bad = fdt_next(&c, &ev)) && ev.kind != FDT_EV_END) {
		fdt_memory_step(&memory, &mem_walk, &ev);
		if (ev.kind != FDT_EV_PROP) {
			bool begun = ev.kind == FDT_EV_BEGIN_NODE;

			/* Inside a top-level node from its begin to its end. */
			if (ev.depth == 2) {
				in_chosen = begun && fdt_streq(ev.name, "chosen");
				in_cpus = begun && fdt_streq(ev.name, "cpus");
			}
		} else if (ev.depth == 2 && in_chosen && fdt_streq(ev.name, "bootargs")) {
			note_bootargs(&ev);
		} else if (in_cpus && (ev.depth == 2 || (ev.depth == 3 && !tb_in_cpus)) &&
			   (ev.len == 4 || ev.len == 8) && fdt_streq(ev.name, "timebase-frequency")) {
			/*
			 * A <u32> or a <u64>, in /cpus or else in each cpu
			 * node (the devicetree spec): the u64 and the cpu
			 * node's were passed over for 10 MHz.
			 */
			riscv_timebase_hz = fdt_cells(ev.val, ev.len / 4);
			tb_in_cpus |= ev.depth == 2;
			/* Every time in ticks divides by it. */
			if (!riscv_timebase_hz)
				bad_dtb("timebase-frequency is 0");
		}
	}
	if (bad)
		bad_dtb(bad);
}

const char *platform_bootargs(void)
{
	return bootargs;
}

uint64_t platform_timebase_hz(void)
{
	return riscv_timebase_hz;
}
