// SPDX-License-Identifier: BSD-2-Clause
/*
 * Ending the run: QEMU virt's sifive_test device at 0x100000. Writing 0x5555
 * makes QEMU exit 0; (code << 16) | 0x3333 makes it exit with `code`. SBI
 * system reset is never used for failure: QEMU would report it as success.
 */
#include <platform/riscv.h>

#define SIFIVE_TEST_BASE 0x100000UL
#define SIFIVE_TEST_PASS 0x5555
#define SIFIVE_TEST_FAIL 0x3333

_Noreturn void platform_exit(int code)
{
	volatile uint32_t *test = (volatile uint32_t *)SIFIVE_TEST_BASE;

	if (code == 0)
		*test = SIFIVE_TEST_PASS;
	else
		*test = ((uint32_t)(code & 0xffff) << 16) | SIFIVE_TEST_FAIL;
	/* Not reached under QEMU; elsewhere, stop here. */
	for (;;)
		__asm__ volatile("wfi");
}

_Noreturn void port_exit(int code)
{
	platform_exit(code);
}
