/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entry points. OpenSBI enters in S-mode with the MMU off.
 *
 * _start: the boot hart (whichever won OpenSBI's lottery), a0 = hart id,
 * a1 = DTB. It zeroes .bss once, before any other hart runs, then runs
 * platform_boot() on the boot stack with tp at a placeholder hart block.
 *
 * _secondary_entry: a hart started by SBI HSM hart_start, a0 = hart id,
 * a1 = opaque = its tp (its block's data area, <platform/riscv_layout.h>),
 * whose hart_local below already holds its stack top.
 *
 * Under heavy host load OpenSBI 1.1 has been seen to send a second hart
 * to _start (the boot hart's hart_start for it then failed with "already
 * available", or both ran the boot). Only the first hart to claim
 * boot_claim boots; a later one says it arrived and waits in .data (which
 * the boot hart does not clear) until platform_start_hart() has published
 * its tp, then goes on as if HSM had started it.
 */
#include <platform/riscv.h>
#include <platform/riscv_entry.h>

	.section .text.entry, "ax", @progbits
	.globl _start
_start:
	csrw	sie, zero
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop
	RISCV_CLAIM_BOOT boot_claim, _start_late, t0, t1
	RISCV_ZERO_BSS t0, t1
	la	sp, __stacks_end
	la	tp, platform_early_block + HART_LOCAL_BYTES
	call	platform_boot		/* (hartid, dtb); does not return */
	j	platform_park

/* A second hart in _start: a0 = hart id (< RISCV_MAX_HARTS, or it parks). */
_start_late:
	li	t0, RISCV_MAX_HARTS
	bgeu	a0, t0, 4f
	slli	t1, a0, 3
	la	t0, late_arrived
	add	t0, t0, t1
	li	t2, 1
	/* Release: pairs with the boot hart's acquire load in platform_start_hart. */
	fence	rw, w
	sd	t2, 0(t0)
	la	t0, late_hart_tp
	add	t0, t0, t1
3:	ld	a1, 0(t0)
	/* Acquire: the hart_local's fields are read after the pointer. */
	fence	r, rw
	beqz	a1, 3b
	j	_secondary_entry
4:	wfi
	j	4b

	.section .data
	.balign 8
	.globl boot_claim, late_arrived, late_hart_tp
boot_claim:
	.word	0
	.balign 8
late_arrived:
	.zero	8 * RISCV_MAX_HARTS
late_hart_tp:
	.zero	8 * RISCV_MAX_HARTS

	.section .text.entry, "ax", @progbits
	.globl _secondary_entry
_secondary_entry:
	csrw	sie, zero
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop
	mv	tp, a1
	ld	sp, (HART_LOCAL_STACK_TOP - HART_LOCAL_BYTES)(tp)
	call	platform_secondary_boot	/* does not return */
	j	platform_park
