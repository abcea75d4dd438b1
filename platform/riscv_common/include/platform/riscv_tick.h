/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The kernel's timer tick as both RISC-V ports run it (S-mode platform/riscv
 * through Sstc or SBI, M-mode platform/riscv_mmode through the CLINT): one
 * hook and one period for all harts, each hart armed with its own deadline.
 * This file owns when a tick is due, what a hook that overruns its period
 * gets, and how a short sleep's deadline respects the tick; the port owns
 * the clock, the comparator and how other harts are told to re-arm.
 */
#ifndef PLATFORM_RISCV_TICK_H
#define PLATFORM_RISCV_TICK_H

#include <stdint.h>

/* One hart's tick state; touched only by that hart, with interrupts masked. */
struct riscv_tick {
	uint64_t next;   /* absolute deadline of the next tick; UINT64_MAX: none */
	uint64_t period; /* the period this hart is armed with; 0: no tick */
};

/* The port's: the timer's count, and this hart's comparator. */
uint64_t riscv_tick_now(void);
void riscv_tick_program(uint64_t deadline);

/* Before the hart first enables its timer interrupt: no tick armed. */
void riscv_tick_init(struct riscv_tick *t);

/*
 * Publishes the hook and period for every hart (period 0: no tick). Each
 * hart arms at its next riscv_tick_resync(); the port makes the others call
 * it soon (an IPI, or their own next interrupt).
 */
void riscv_tick_set_hook(void (*fn)(void), uint64_t period);

/* Re-arms this hart if the published period changed. Masked. */
void riscv_tick_resync(struct riscv_tick *t);

/*
 * The timer interrupt: runs the hook if a tick is due (else it was a short
 * sleep's wake-up, and only re-arms). Masked.
 */
void riscv_tick_interrupt(struct riscv_tick *t);

/*
 * The deadline for a short sleep (wfi) of `span` from `now`: earlier if
 * this hart's tick is due before it. Call riscv_tick_rearm() after the wfi.
 */
uint64_t riscv_tick_sleep_deadline(const struct riscv_tick *t, uint64_t now, uint64_t span);

/* Puts the comparator back to the tick's deadline (after a short sleep). */
void riscv_tick_rearm(const struct riscv_tick *t);

#endif
