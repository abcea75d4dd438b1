/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Assembler macros for the two RISC-V ports' entry.S: what their first
 * instructions share. Include from a .S file only.
 */
#ifndef PLATFORM_RISCV_ENTRY_H
#define PLATFORM_RISCV_ENTRY_H

/*
 * Claims the boot: the first hart to swap 1 into the word \claim goes on,
 * every later one branches to \lost. Acquire (.aq): nothing of the boot
 * below may start before the claim. \claim must not be in .bss (zeroed by
 * the winner after its claim). Clobbers \t1, \t2.
 */
.macro RISCV_CLAIM_BOOT claim, lost, t1, t2
	la	\t1, \claim
	li	\t2, 1
	amoswap.w.aq \t2, \t2, (\t1)
	bnez	\t2, \lost
.endm

/* Zeroes .bss (8-byte aligned by the linker script); no stack needed. */
.macro RISCV_ZERO_BSS t1, t2
	la	\t1, __bss_start
	la	\t2, __bss_end
1:	bgeu	\t1, \t2, 2f
	sd	zero, 0(\t1)
	addi	\t1, \t1, 8
	j	1b
2:
.endm

#endif /* PLATFORM_RISCV_ENTRY_H */
