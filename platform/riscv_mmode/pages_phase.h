/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The stress kernel's second phase: the page API (<percpu/pages.h>) on
 * every hart at once, pages handed between harts, and the timer tick
 * allocating and freeing a page in interrupt context.
 */
#ifndef PLATFORM_RISCV_MMODE_PAGES_PHASE_H
#define PLATFORM_RISCV_MMODE_PAGES_PHASE_H

#include <stdbool.h>
#include <stdint.h>

/* Every hart at once: ops random alloc/free of orders 0..2. */
void pages_phase_run(unsigned hart, unsigned nharts, uint64_t ops);
/* The timer tick's part: frees the hart's last irq page, takes a new one. */
void pages_phase_tick(void);
/* Every hart at once, after run: frees what it holds, reclaims its cache. */
void pages_phase_finish(unsigned hart);
/* Boot hart, after finish: prints one line, true if nothing was lost. */
bool pages_phase_verdict(unsigned nharts);

#endif
