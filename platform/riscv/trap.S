/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The stvec handler. This kernel never leaves S-mode, so a trap always
 * arrives on a valid kernel stack: push a struct trap_frame there, call
 * trap_handler(frame), restore (sepc may have been changed) and sret.
 */
#define FRAME_SIZE (36 * 8)

	.section .text
	.balign 4
	.globl trap_vector
trap_vector:
	addi	sp, sp, -FRAME_SIZE
	/* Every register but sp (x2, stored below) at its own index. */
	.irp	n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	sd	x\n, \n*8(sp)
	.endr
	addi	t0, sp, FRAME_SIZE	/* the interrupted sp */
	sd	t0, 2*8(sp)
	csrr	t0, sepc
	sd	t0, 32*8(sp)
	csrr	t0, sstatus
	sd	t0, 33*8(sp)
	csrr	t0, scause
	sd	t0, 34*8(sp)
	csrr	t0, stval
	sd	t0, 35*8(sp)

	mv	a0, sp
	call	trap_handler

	ld	t0, 32*8(sp)
	csrw	sepc, t0
	.irp	n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	ld	x\n, \n*8(sp)
	.endr
	addi	sp, sp, FRAME_SIZE
	sret
