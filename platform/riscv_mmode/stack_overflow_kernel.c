// SPDX-License-Identifier: BSD-2-Clause
/*
 * stack_overflow_kernel: hart 2 runs 24 KiB deep on its 16 KiB stack,
 * 8 KiB and more into hart 1's top frames, comes back and traps (ebreak):
 * the trap must say that hart 2 overran, not only that it trapped.
 *
 * Built with -DSTACK_OVERFLOW_VICTIM: hart 2 comes back and waits, and
 * hart 1, waiting three frames deep at the top of its own stack, returns
 * through the frames hart 2 overwrote once it is back: its crash's report
 * must name hart 2 too, where it blamed hart 1 alone.
 */
#include <platform/mmode.h>

/*
 * Hart 2's overrun: one frame of 24 KiB, written whole, its last 8 KiB
 * and more in hart 1's stack, its top. One frame, not many: none of its
 * own saved registers lands in hart 1's, so hart 1's saved return
 * addresses are all 0xa5 bytes, wherever they lie.
 */
static __attribute__((noinline)) unsigned long overrun(void)
{
	volatile unsigned char frame[24 * 1024];

	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = 0xa5;
	return frame[0] + frame[sizeof(frame) - 1];
}

/*
 * Set by hart 1 once its frames are in place, for good or (the victim) for
 * its wait: hart 2 overruns them only then. Release/acquire: else hart 1,
 * slower to start, pushed its frames over hart 2's bytes and came back
 * unharmed; or, the boot hart still releasing the others, returned into
 * them and crashed before hart 2's own trap.
 */
static unsigned waiting;

#ifdef STACK_OVERFLOW_VICTIM
/*
 * Set by hart 2 once it is back. Release/acquire: its bytes are in hart
 * 1's stack before hart 1 returns through them.
 */
static unsigned overflowed;

/*
 * Hart 1's frames at the top of its stack, of 1 KiB each, depth + 1 deep;
 * the innermost waits for hart 2 to come back, then they all return.
 */
static __attribute__((noinline)) unsigned long wait_deep(unsigned depth)
{
	volatile unsigned char frame[1024];

	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (unsigned char)depth;
	if (depth == 0) {
		__atomic_store_n(&waiting, 1, __ATOMIC_RELEASE);
		while (!__atomic_load_n(&overflowed, __ATOMIC_ACQUIRE))
			port_cpu_relax();
		return frame[0];
	}
	return wait_deep(depth - 1) + frame[depth];
}
#endif

/*
 * Hart 2 overruns into hart 1's stack, whichever of them (or hart 0) won
 * the boot lottery: the others wait, interrupts on (the panic's IPI parks
 * them).
 */
static _Noreturn void run(void)
{
	mmode_irq_enable();
	if (port_hart_id() == 2) {
		while (!__atomic_load_n(&waiting, __ATOMIC_ACQUIRE))
			port_cpu_relax();
		port_printf("stack_overflow: hart 2 came back (%lu)\n", overrun());
#ifdef STACK_OVERFLOW_VICTIM
		__atomic_store_n(&overflowed, 1, __ATOMIC_RELEASE);
#else
		__asm__ volatile("ebreak");
#endif
	}
	if (port_hart_id() == 1) {
#ifdef STACK_OVERFLOW_VICTIM
		port_printf("stack_overflow: hart 1 came back (%lu)\n", wait_deep(2));
#else
		__atomic_store_n(&waiting, 1, __ATOMIC_RELEASE);
#endif
	}
	for (;;)
		__asm__ volatile("wfi");
}

_Noreturn void mmode_boot_main(const void *dtb)
{
	(void)dtb;
	if (mmode_nharts() != 3)
		port_panic(PORT_EXIT_PANIC, "stack_overflow_kernel: runs 3 harts, not %u",
			   mmode_nharts());
	mmode_release_harts();
	run();
}

_Noreturn void mmode_secondary_main(void)
{
	run();
}
