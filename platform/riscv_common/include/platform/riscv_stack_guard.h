/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Both RISC-V ports' stack guard. The harts' stacks lie back to back with
 * no guard page (the MMU is off): a hart that runs past the bottom of its
 * stack writes on into the next one down, another hart's outermost frames,
 * and that hart is the one that crashes later, taking the blame. So each
 * stack's lowest word holds PLATFORM_STACK_GUARD from boot; a hart that ran
 * past it has most likely overwritten it. Each port checks it at every trap
 * (the hart's own: a panic that names the hart at once, its message
 * starting with RISCV_STACK_OVERFLOW_TRAP) and in its panic report (every
 * started hart's: riscv_stack_guard_report).
 *
 * The user includes <platform/port.h> (port_snprintf) first.
 */
#ifndef PLATFORM_RISCV_STACK_GUARD_H
#define PLATFORM_RISCV_STACK_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#define PLATFORM_STACK_GUARD 0x5354414b47554152UL /* "RAUGKATS" */

/*
 * The trap-time panic's format, up to the port's own cause and pc (scause
 * or mcause): its arguments the hart's index and its guard's address.
 */
#define RISCV_STACK_OVERFLOW_TRAP \
	"stack overflow: hart %u ran past the bottom of its stack (%p) into the next one down; trap "

/*
 * False if hart's guard at g holds; else its line of the panic report
 * (newline-terminated) into buf, and true.
 */
static inline bool riscv_stack_guard_report(char *buf, size_t size, unsigned hart,
					    const volatile unsigned long *g)
{
	unsigned long v = *g;

	if (v == PLATFORM_STACK_GUARD)
		return false;
	port_snprintf(buf, size,
		      "  stack overflow: hart %u ran past the bottom of its stack "
		      "(%p reads 0x%lx): the next stack down may be overwritten\n",
		      hart, (void *)g, v);
	return true;
}

#endif /* PLATFORM_RISCV_STACK_GUARD_H */
