// SPDX-License-Identifier: BSD-2-Clause
/*
 * bad_sp_kernel: a trap taken with sp = 0 (a kernel bug's wild sp) must be
 * reported and end the run with the trap's exit code: the trap vector
 * cannot push its frame there, and each push's fault trapped again.
 */
#include <platform/mmode.h>

_Noreturn void mmode_boot_main(const void *dtb)
{
	(void)dtb;
	mmode_release_harts();
	__asm__ volatile("li sp, 0\n\tunimp");
	for (;;)
		__asm__ volatile("wfi");
}

_Noreturn void mmode_secondary_main(void)
{
	mmode_irq_enable();
	for (;;)
		__asm__ volatile("wfi");
}
