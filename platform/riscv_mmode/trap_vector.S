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
	sd	ra, 0*8(sp)
	sd	t0, 1*8(sp)
	sd	t1, 2*8(sp)
	sd	t2, 3*8(sp)
	sd	a0, 4*8(sp)
	sd	a1, 5*8(sp)
	sd	a2, 6*8(sp)
	sd	a3, 7*8(sp)
	sd	a4, 8*8(sp)
	sd	a5, 9*8(sp)
	sd	a6, 10*8(sp)
	sd	a7, 11*8(sp)
	sd	t3, 12*8(sp)
	sd	t4, 13*8(sp)
	sd	t5, 14*8(sp)
	sd	t6, 15*8(sp)
	csrr	a1, mepc
	sd	a1, 16*8(sp)
	csrr	a0, mcause
	csrr	a2, mtval
	call	mmode_trap
	ld	t0, 16*8(sp)
	csrw	mepc, t0
	ld	ra, 0*8(sp)
	ld	t0, 1*8(sp)
	ld	t1, 2*8(sp)
	ld	t2, 3*8(sp)
	ld	a0, 4*8(sp)
	ld	a1, 5*8(sp)
	ld	a2, 6*8(sp)
	ld	a3, 7*8(sp)
	ld	a4, 8*8(sp)
	ld	a5, 9*8(sp)
	ld	a6, 10*8(sp)
	ld	a7, 11*8(sp)
	ld	t3, 12*8(sp)
	ld	t4, 13*8(sp)
	ld	t5, 14*8(sp)
	ld	t6, 15*8(sp)
	addi	sp, sp, FRAME_SIZE
	mret
