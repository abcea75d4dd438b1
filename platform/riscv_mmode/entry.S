/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reset entry under QEMU virt -bios none: every hart arrives here in M-mode
 * at 0x80000000 with a0 = mhartid, a1 = the DTB, interrupts masked. Like
 * xv6, tp = mhartid from here on. The first hart to swap the lottery word
 * boots (zeroes .bss, calls mmode_boot_entry); the others sleep in wfi until
 * the boot hart publishes `mmode_released` and raises their msip.
 */
#include "layout.h"
#include <platform/riscv_entry.h>

	.section .text.entry
	.globl _start
_start:
	csrr	t0, mhartid
	mv	tp, t0
.option push
.option norelax
	la	gp, __global_pointer$
.option pop
	/* Harts beyond PORT_MAX_HARTS have no stack and no slot: park them. */
	li	t1, PORT_MAX_HARTS
	bgeu	t0, t1, park
	/* sp = top of this hart's stack in .stacks (never zeroed). */
	la	sp, mmode_stacks
	li	t1, MMODE_STACK_SIZE
	addi	t2, t0, 1
	mul	t1, t1, t2
	add	sp, sp, t1
	la	t1, mmode_trap_vector
	csrw	mtvec, t1
	/* FPU on (mstatus.FS = initial): gcc may use FP registers. */
	li	t1, MSTATUS_FS_INITIAL
	csrs	mstatus, t1
	/*
	 * Software interrupts enabled (the release wakes wfi); mstatus.MIE
	 * stays clear. The timer's comes once mtimecmp is programmed (boot.c):
	 * it resets to 0, which would keep wfi from sleeping.
	 */
	li	t1, MIE_MSIE
	csrw	mie, t1
	/* The lottery word is in .data (loaded as 0), not in .bss. */
	RISCV_CLAIM_BOOT mmode_boot_lottery, secondary, t1, t2
	RISCV_ZERO_BSS t1, t2
	mv	a0, a1
	call	mmode_boot_entry
	j	park

secondary:
	la	t1, mmode_released
3:	lw	t2, 0(t1)
	bnez	t2, 4f
	/* Wakes on msip (mie.MSIE) even with mstatus.MIE clear. */
	wfi
	j	3b
4:	/* Acquire: pairs with the boot hart's release of mmode_released. */
	fence	r, rw
	call	mmode_secondary_entry
park:
	csrw	mie, zero
5:	wfi
	j	5b
