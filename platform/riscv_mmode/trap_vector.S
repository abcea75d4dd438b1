/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The mtvec handler. This kernel never leaves M-mode and never enables
 * interrupts inside a handler, so a trap always arrives on the hart's own
 * kernel stack and never nests: save the caller-saved registers there, call
 * mmode_trap(mcause, mepc, mtval), restore, mret. Callee-saved registers
 * are preserved by the C code itself.
 *
 * Unless sp is in none of the harts' stacks (a kernel bug set it to 0,
 * say): the push faulted, and so did that fault's push, forever, a hang
 * with no report. Such a trap goes to mmode_trap_bad_stack(mcause, mepc,
 * mtval, sp) on a stack of its own, which reports it.
 */
#include "layout.h"

#define FRAME_SIZE (18 * 8)
#define BAD_STACK_SIZE 8192

	.section .text
	.balign 4
	.globl mmode_trap_vector
mmode_trap_vector:
	/* mscratch holds t0 while sp is checked: in the stacks, or in the bad-sp stack. */
	csrw	mscratch, t0
	la	t0, mmode_stacks + FRAME_SIZE
	bltu	sp, t0, 1f
	la	t0, mmode_stacks + PORT_MAX_HARTS * MMODE_STACK_SIZE
	bleu	sp, t0, 2f
1:	la	t0, trap_bad_stack + FRAME_SIZE
	bltu	sp, t0, bad_sp
	la	t0, trap_bad_stack + BAD_STACK_SIZE
	bgtu	sp, t0, bad_sp
2:	csrr	t0, mscratch
	addi	sp, sp, -FRAME_SIZE
	/* The caller-saved registers, in this order, at slots 0..15. */
	.set	slot, 0
	.irp	r, ra,t0,t1,t2,a0,a1,a2,a3,a4,a5,a6,a7,t3,t4,t5,t6
	sd	\r, slot*8(sp)
	.set	slot, slot + 1
	.endr
	csrr	a1, mepc
	sd	a1, 16*8(sp)
	csrr	a0, mcause
	csrr	a2, mtval
	call	mmode_trap
	ld	t0, 16*8(sp)
	csrw	mepc, t0
	.set	slot, 0
	.irp	r, ra,t0,t1,t2,a0,a1,a2,a3,a4,a5,a6,a7,t3,t4,t5,t6
	ld	\r, slot*8(sp)
	.set	slot, slot + 1
	.endr
	addi	sp, sp, FRAME_SIZE
	mret

bad_sp:
	/* t0 back, the bad sp into mscratch. */
	csrrw	t0, mscratch, sp
	/*
	 * One hart at a time on trap_bad_stack: swap a non-zero word (the
	 * claim's own address) into the claim. Acquire: the stack is not
	 * written before the claim is ours. A second hart with a bad sp parks:
	 * the first one's panic reports and ends the run.
	 */
	la	sp, trap_bad_stack_claim
	amoswap.w.aq sp, sp, (sp)
	bnez	sp, 3f
	la	sp, trap_bad_stack + BAD_STACK_SIZE
	csrr	a0, mcause
	csrr	a1, mepc
	csrr	a2, mtval
	csrr	a3, mscratch		/* the interrupted (bad) sp */
	call	mmode_trap_bad_stack	/* panics: does not return */
	/*
	 * A second hart with a bad sp: park as mmode_park() does, which needs
	 * a stack, and count ourselves parked as it does: the panic waited
	 * its whole second for us, then read us as a hart that did not stop.
	 * t0 is ours now (we never return). Release: as mmode_park's.
	 */
3:	csrw	mie, zero
	la	sp, mmode_parked
	li	t0, 1
	amoadd.w.rl zero, t0, (sp)
4:	wfi
	j	4b

	.section .bss
	.balign 16
trap_bad_stack:
	.zero	BAD_STACK_SIZE
	.balign 4
trap_bad_stack_claim:
	.zero	4
