// SPDX-License-Identifier: BSD-2-Clause
/*
 * bad_sp_kernel: a trap taken with sp = 0 (a kernel bug's wild sp) must be
 * reported and end the run with the trap's exit code: the trap vector
 * cannot push its frame there, and each push's fault trapped again.
 *
 * Built with -DBAD_SP_ALL: every hart traps so at once. The first on the
 * bad-sp stack reports; the others find it taken and park, and must be
 * counted parked, or the report waits its whole second for them.
 */
#include <platform/mmode.h>

static _Noreturn void trap_on_bad_sp(void)
{
	__asm__ volatile("li sp, 0\n\tunimp");
	for (;;)
		__asm__ volatile("wfi");
}

_Noreturn void mmode_boot_main(const void *dtb)
{
	(void)dtb;
	mmode_release_harts();
	trap_on_bad_sp();
}

_Noreturn void mmode_secondary_main(void)
{
#ifdef BAD_SP_ALL
	trap_on_bad_sp();
#else
	mmode_irq_enable();
	for (;;)
		__asm__ volatile("wfi");
#endif
}
