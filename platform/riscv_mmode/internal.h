/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared between the M-mode port's C files; kernels use <platform/mmode.h>. */
#ifndef PLATFORM_RISCV_MMODE_INTERNAL_H
#define PLATFORM_RISCV_MMODE_INTERNAL_H

#include <platform/mmode.h>
#include <platform/riscv_stack_guard.h>
#include <platform/riscv_tick.h>

#include "layout.h"

/* 1 + the first panicking hart, set once; every other hart that sees it parks. */
extern unsigned mmode_stopping;
/*
 * Harts parked for good: atomic (release in mmode_park and in
 * trap_vector.S's park for a second bad-sp hart, acquire in port_panic).
 */
extern unsigned mmode_parked;
/* Set by mmode_release_harts (boot.c); entry.S waits for it. */
extern unsigned mmode_released;
_Noreturn void mmode_park(void);
/*
 * True if the DTB's /memory ranges (adjacent ones joined) hold [lo, hi),
 * or if the DTB told nothing mmode_fdt_scan can check it by.
 */
bool mmode_mem_holds(uint64_t lo, uint64_t hi);

/* Hart h's stack: its top is where entry.S points sp. */
extern char mmode_stacks[PORT_MAX_HARTS][MMODE_STACK_SIZE];

/*
 * Hart h's guard word, the lowest of its stack (<platform/riscv_stack_guard.h>):
 * a hart that runs past its bottom writes into hart h - 1's top frames.
 * Every stack's holds PLATFORM_STACK_GUARD from mmode_boot_entry on.
 */
static inline volatile unsigned long *mmode_stack_guard(unsigned h)
{
	return (volatile unsigned long *)mmode_stacks[h];
}

/* Per-hart timer state, touched only by its hart with interrupts masked. */
struct mmode_hart {
	struct riscv_tick tick; /* the kernel's tick (riscv_tick.h) */
} __attribute__((aligned(PORT_CACHE_LINE)));
extern struct mmode_hart mmode_harts[PORT_MAX_HARTS];

static inline void mmode_timer_program(uint64_t deadline)
{
	*(volatile uint64_t *)MMODE_CLINT_MTIMECMP(port_hart_id()) = deadline;
}

#endif
