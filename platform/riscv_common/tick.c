// SPDX-License-Identifier: BSD-2-Clause
/* The RISC-V ports' timer tick: see <platform/riscv_tick.h>. */
#include <platform/riscv_tick.h>

#include <stddef.h>

/* Written by riscv_tick_set_hook, read by every hart's handlers. */
static void (*tick_hook)(void);
static uint64_t tick_period;

void riscv_tick_init(struct riscv_tick *t)
{
	t->next = UINT64_MAX;
	t->period = 0;
}

void riscv_tick_set_hook(void (*fn)(void), uint64_t period)
{
	/* Relaxed: published by the release store of the period below. */
	__atomic_store_n(&tick_hook, fn, __ATOMIC_RELAXED);
	/* Release: a hart that sees the new period also sees the hook. */
	__atomic_store_n(&tick_period, period, __ATOMIC_RELEASE);
}

void riscv_tick_resync(struct riscv_tick *t)
{
	/* Acquire: pairs with the release in riscv_tick_set_hook(). */
	uint64_t period = __atomic_load_n(&tick_period, __ATOMIC_ACQUIRE);

	if (period == t->period)
		return;
	t->period = period;
	t->next = period ? riscv_tick_now() + period : UINT64_MAX;
	riscv_tick_program(t->next);
}

void riscv_tick_interrupt(struct riscv_tick *t)
{
	uint64_t now = riscv_tick_now();
	void (*hook)(void);

	riscv_tick_resync(t);
	if (now < t->next) {
		/* A short sleep's wake-up, or a stale one: just re-arm. */
		riscv_tick_program(t->next);
		return;
	}
	/* Keep the phase; after a long masked stretch, skip missed ticks. */
	t->next += t->period;
	if (t->next <= now)
		t->next = t->period ? now + t->period : UINT64_MAX;
	riscv_tick_program(t->next);
	/* Relaxed: the acquire of tick_period in riscv_tick_resync ordered it. */
	hook = __atomic_load_n(&tick_hook, __ATOMIC_RELAXED);
	if (hook)
		hook();
	/*
	 * A hook that overran its period (it waited for a lock behind dozens
	 * of harts on a loaded host) must not run again the moment we return:
	 * the interrupted code gets one period of its own first. Without this,
	 * ticks alone ran and the 64-hart stress made no progress for minutes
	 * (//tests:qemu_tick_overrun_test).
	 */
	now = riscv_tick_now();
	if (t->next <= now) {
		t->next = now + t->period;
		riscv_tick_program(t->next);
	}
}

uint64_t riscv_tick_sleep_deadline(const struct riscv_tick *t, uint64_t now, uint64_t span)
{
	uint64_t deadline = now + span;
	/*
	 * Wake for a tick that is due soon. One already overdue (the sleeper
	 * waits masked, so its handler cannot run) must not cut the sleep
	 * short, or every wfi would return at once and we would spin after all.
	 */
	if (t->next > now && t->next < deadline)
		deadline = t->next;
	return deadline;
}

void riscv_tick_rearm(const struct riscv_tick *t)
{
	/* A future deadline also clears the pending bit a short sleep raised. */
	riscv_tick_program(t->next);
}
