// SPDX-License-Identifier: BSD-2-Clause
/*
 * trap_test: one hart (the last; bootarg trap_hart=N picks another) does
 * something illegal while the others wait in a barrier. The kernel must
 * stop everyone, print `PANIC hart=N: unexpected trap: scause=...` with the
 * cause named, and exit with PORT_EXIT_TRAP (3).
 *
 * Bootarg trap=illegal (unimp, default) | load (load from address 0:
 * access fault) | ebreak | sp (unimp with sp = 0: the trap itself cannot
 * push its frame there) | overflow (24 KiB of frames on the 16 KiB stack,
 * then back, then ebreak: the report must name the hart that overran,
 * whether its own trap or the hart below, crashing on what they overwrote,
 * comes first). Bootarg trap_all=1: every hart traps at once
 * (one report, the others parked).
 */
#include <kernel/kernel.h>

static unsigned trap_hart;
static char kind[16] = "illegal";
static bool trap_all;

static void setup(void)
{
	trap_hart = kernel_arg_hart("trap_hart", platform_nharts() - 1);
	kernel_arg_str("trap", kind, sizeof(kind));
	trap_all = kernel_arg_u64("trap_all", 0) != 0;
	/* Named, not run as the illegal instruction run() falls back to. */
	if (memcmp(kind, "illegal", 8) && memcmp(kind, "load", 5) && memcmp(kind, "ebreak", 7) &&
	    memcmp(kind, "sp", 3) && memcmp(kind, "overflow", 9))
		panic("bootarg trap: '%s' is none of illegal, load, ebreak, sp, overflow", kind);
	if (trap_all)
		kprintf("trap_test: every hart will trap (%s)\n", kind);
	else
		kprintf("trap_test: hart %u will trap (%s)\n", trap_hart, kind);
}

/*
 * trap=overflow: 1 KiB frames, each written whole, 24 deep: 24 KiB of a
 * 16 KiB stack, the rest in the next stack down (another hart's).
 */
static __attribute__((noinline)) unsigned long recurse(unsigned depth)
{
	volatile unsigned char frame[1024];

	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (unsigned char)(0xa5 ^ depth);
	if (depth == 0)
		return frame[0];
	return recurse(depth - 1) + frame[depth % sizeof(frame)];
}

static void run(unsigned me)
{
	if (me != trap_hart && !trap_all)
		return; /* wait in the final barrier, interrupts on */
	if (!trap_all)
		kprintf("trap_test: hart %u trapping now\n", me);
	if (!memcmp(kind, "load", 5))
		(void)*(volatile unsigned long *)0;
	else if (!memcmp(kind, "ebreak", 7))
		__asm__ volatile("ebreak");
	else if (!memcmp(kind, "overflow", 9)) {
		kprintf("trap_test: hart %u came back from its overflow (%lu)\n", me, recurse(24));
		/*
		 * Then a trap of its own, whose guard check names the overrun
		 * at once. Without it the run raced: hart 1 crashing on its
		 * overwritten frames (the report, naming hart 2 too) against
		 * hart 0 reaching finish() (exit 1, no report) when hart 1's
		 * wait had not yet returned through them.
		 */
		__asm__ volatile("ebreak");
	}
	else if (!memcmp(kind, "sp", 3))
		__asm__ volatile("li sp, 0\n\tunimp");
	else
		__asm__ volatile("unimp");
}

static int finish(void)
{
	kprintf("trap_test: FAIL no trap taken (trap=%s)\n", kind);
	return PORT_EXIT_FAIL;
}

const struct kernel_scenario kernel_scenario = {
	.name = "trap_test",
	.setup = setup,
	.run = run,
	.finish = finish,
};
