/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The stvec handler. This kernel never leaves S-mode, so a trap arrives on
 * a kernel stack: push a struct trap_frame there, call trap_handler(frame,
 * 0), restore (sepc may have been changed) and sret.
 *
 * Unless sp is in none of the stacks (a kernel bug set it to 0, say): the
 * push faulted, and so did that fault's push, forever, a hang with no
 * report. Such a trap is taken on trap_bad_stack instead, with the bad sp
 * in its frame, and trap_handler(frame, 1) reports it.
 */
#include <platform/riscv_layout.h>

#define FRAME_SIZE (36 * 8)
#define BAD_STACK_SIZE 8192

/* Every register but sp (x2) at its own index; then sepc, sstatus, ... */
.macro SAVE_FRAME
	.irp	n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	sd	x\n, \n*8(sp)
	.endr
.endm
.macro SAVE_CSRS
	csrr	t0, sepc
	sd	t0, 32*8(sp)
	csrr	t0, sstatus
	sd	t0, 33*8(sp)
	csrr	t0, scause
	sd	t0, 34*8(sp)
	csrr	t0, stval
	sd	t0, 35*8(sp)
.endm

	.section .text
	.balign 4
	.globl trap_vector
trap_vector:
	/* sscratch holds t0 while sp is checked: in the stacks, or in the bad-sp stack. */
	csrw	sscratch, t0
	la	t0, __stacks_start + FRAME_SIZE
	bltu	sp, t0, 1f
	la	t0, __stacks_end
	bleu	sp, t0, 2f
1:	la	t0, trap_bad_stack + FRAME_SIZE
	bltu	sp, t0, bad_sp
	la	t0, trap_bad_stack + BAD_STACK_SIZE
	bgtu	sp, t0, bad_sp
2:	csrr	t0, sscratch
	addi	sp, sp, -FRAME_SIZE
	SAVE_FRAME
	addi	t0, sp, FRAME_SIZE	/* the interrupted sp */
	sd	t0, 2*8(sp)
	SAVE_CSRS

	mv	a0, sp
	li	a1, 0
	call	trap_handler

	ld	t0, 32*8(sp)
	csrw	sepc, t0
	.irp	n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	ld	x\n, \n*8(sp)
	.endr
	addi	sp, sp, FRAME_SIZE
	sret

bad_sp:
	/* t0 back, the bad sp into sscratch. */
	csrrw	t0, sscratch, sp
	/*
	 * One hart at a time on trap_bad_stack: swap a non-zero word (the
	 * claim's own address) into the claim. Acquire: nothing to read, but
	 * the stack is not written before the claim is ours. A second hart
	 * with a bad sp parks: the first one's panic reports and ends the run.
	 */
	la	sp, trap_bad_stack_claim
	amoswap.w.aq sp, sp, (sp)
	bnez	sp, 3f
	la	sp, trap_bad_stack + BAD_STACK_SIZE - FRAME_SIZE
	SAVE_FRAME
	csrr	t0, sscratch		/* the interrupted (bad) sp */
	sd	t0, 2*8(sp)
	SAVE_CSRS
	mv	a0, sp
	li	a1, 1
	call	trap_handler		/* panics: does not return */
	/*
	 * A second hart with a bad sp: park as platform_park() does, which
	 * needs a stack. Say so in this hart's parked flag: the panic counts
	 * it, and waited its whole second for it, then read it as a hart that
	 * did not stop. Release: as platform_park's store.
	 */
3:	csrw	sie, zero
	li	sp, 1
	fence	rw, w
	sw	sp, (HART_LOCAL_PARKED - HART_LOCAL_BYTES)(tp)
4:	wfi
	j	4b

	.section .bss
	.balign 16
trap_bad_stack:
	.zero	BAD_STACK_SIZE
	.balign 4
trap_bad_stack_claim:
	.zero	4
