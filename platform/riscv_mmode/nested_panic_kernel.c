// SPDX-License-Identifier: BSD-2-Clause
/*
 * nested_panic_kernel: a panic whose own report faults (a %s pointing at no
 * memory) must still end the run, with the trap's exit code, not park the
 * hart for good and leave the run to the runner's watchdog.
 */
#include <platform/mmode.h>

/* Below the debug region and the boot ROM of QEMU virt: nothing there. */
#define NO_MEMORY ((const char *)0x100)

_Noreturn void mmode_boot_main(const void *dtb)
{
	(void)dtb;
	mmode_release_harts();
	port_panic(PORT_EXIT_FAIL, "nested test: %s", NO_MEMORY);
}

_Noreturn void mmode_secondary_main(void)
{
	mmode_irq_enable();
	for (;;)
		__asm__ volatile("wfi");
}
