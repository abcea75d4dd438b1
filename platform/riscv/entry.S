/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entry points. OpenSBI enters in S-mode with the MMU off.
 *
 * _start: the boot hart (whichever won OpenSBI's lottery), a0 = hart id,
 * a1 = DTB. It zeroes .bss once, before any other hart runs, then runs
 * platform_boot() on the boot stack with tp at a placeholder hart_local.
 *
 * _secondary_entry: a hart started by SBI HSM hart_start, a0 = hart id,
 * a1 = opaque = its struct hart_local, which already holds its stack top.
 */
#include <platform/riscv.h>

	.section .text.entry, "ax", @progbits
	.globl _start
_start:
	csrw	sie, zero
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop

	/* Zero .bss (8-byte aligned by kernel.ld); no stack needed. */
	la	t0, __bss_start
	la	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:
	la	sp, __stacks_end
	la	tp, platform_early_hart_local
	call	platform_boot		/* (hartid, dtb); does not return */
	j	platform_park

	.globl _secondary_entry
_secondary_entry:
	csrw	sie, zero
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop
	mv	tp, a1
	ld	sp, HART_LOCAL_STACK_TOP(tp)
	call	platform_secondary_boot	/* does not return */
	j	platform_park
