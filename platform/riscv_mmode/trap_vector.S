/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The mtvec handler. This kernel never leaves M-mode and never enables
 * interrupts inside a handler, so a trap always arrives on the hart's own
 * kernel stack and never nests: save the caller-saved registers there, call
 * mmode_trap(mcause, mepc, mtval), restore, mret. Callee-saved registers
 * are preserved by the C code itself.
 */
#define FRAME_SIZE (18 * 8)

	.section .text
	.balign 4
	.globl mmode_trap_vector
mmode_trap_vector:
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
