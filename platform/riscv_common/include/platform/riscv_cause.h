/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The trap causes' names, as the RISC-V privileged spec lists them (scause
 * and mcause share the codes), for both ports' "unexpected trap" panics.
 */
#ifndef PLATFORM_RISCV_CAUSE_H
#define PLATFORM_RISCV_CAUSE_H

#include <stdbool.h>

static inline const char *riscv_cause_name(unsigned long code, bool interrupt)
{
	/* Exception codes 0..15, four to a line. */
	static const char *const exceptions[] = {
		"instruction address misaligned", "instruction access fault",
		"illegal instruction", "breakpoint",
		"load address misaligned", "load access fault",
		"store/AMO address misaligned", "store/AMO access fault",
		"environment call from U-mode", "environment call from S-mode",
		"reserved", "environment call from M-mode",
		"instruction page fault", "load page fault",
		"reserved", "store/AMO page fault",
	};
	/* Interrupt codes 0..11: software, timer, external; S and M. */
	static const char *const interrupts[] = {
		"reserved", "supervisor software interrupt",
		"reserved", "machine software interrupt",
		"reserved", "supervisor timer interrupt",
		"reserved", "machine timer interrupt",
		"reserved", "supervisor external interrupt",
		"reserved", "machine external interrupt",
	};
	if (interrupt)
		return code < sizeof(interrupts) / sizeof(interrupts[0]) ? interrupts[code] : "unknown";
	return code < sizeof(exceptions) / sizeof(exceptions[0]) ? exceptions[code] : "unknown";
}

#endif /* PLATFORM_RISCV_CAUSE_H */
