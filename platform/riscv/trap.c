// SPDX-License-Identifier: BSD-2-Clause
/*
 * Trap handling: the supervisor timer interrupt (ticks, and the short
 * wakeups of port_wait_long) and the supervisor software interrupt (IPIs:
 * stop requests, tick re-arming, the kernel's hook) are expected. Anything
 * else is a bug: port_panic() with the cause named, exit code PORT_EXIT_TRAP.
 */
#include "internal.h"
#include <platform/riscv_cause.h>
#include "sbi.h"

#define SCAUSE_INTERRUPT (1UL << 63)
#define IRQ_S_SOFT 1
#define IRQ_S_TIMER 5
#define EXC_ILLEGAL_INSTRUCTION 2

/* Written by setters, read by every hart's handlers: see the orderings. */
static void (*ipi_hook)(void);
/* 0, or 1 + index of the hart that asked everyone else to park. */
static unsigned stop_owner;

/* bad_stack: taken on trap.S's own stack, sp being in none of the stacks. */
void trap_handler(struct trap_frame *tf, int bad_stack);

uint64_t riscv_tick_now(void)
{
	return platform_time();
}

void riscv_tick_program(uint64_t deadline)
{
	if (riscv_has_sstc)
		csr_write(0x14d, deadline); /* stimecmp */
	else
		sbi_set_timer(deadline);
}

static void soft_interrupt(struct hart_local *hl)
{
	/* Clear first: an IPI sent while we handle this one is not lost. */
	csr_clear(sip, SIP_SSIP);
	hl->ipis++;
	if (platform_stop_requested())
		platform_park();
	riscv_tick_resync(&hl->tick);
	platform_run_ipi_hook();
}

void trap_handler(struct trap_frame *tf, int bad_stack)
{
	struct hart_local *hl = this_hart_local();
	unsigned long scause = tf->scause;

	/* Whatever the cause: the interrupted code has no stack to go back to. */
	if (bad_stack) {
		hl->trap_frame = tf;
		port_panic(PORT_EXIT_TRAP,
			   "unexpected trap: scause=0x%lx (%s) sepc=0x%lx stval=0x%lx "
			   "on a bad stack (sp=0x%lx)",
			   scause, riscv_cause_name(scause & ~SCAUSE_INTERRUPT,
						    scause & SCAUSE_INTERRUPT),
			   tf->sepc, tf->stval, tf->x[2]);
	}
	/*
	 * This hart ran past its stack's bottom (<platform/riscv_stack_guard.h>):
	 * say so now, before the hart whose frames it overwrote crashes and
	 * takes the blame. One load a trap; its ticks make it look often.
	 */
	const volatile unsigned long *guard = platform_stack_guard(hl->index);
	if (guard && *guard != PLATFORM_STACK_GUARD) { /* NULL: early boot */
		hl->trap_frame = tf;
		port_panic(PORT_EXIT_TRAP, RISCV_STACK_OVERFLOW_TRAP "scause=0x%lx (%s) sepc=0x%lx",
			   hl->index, (void *)guard, scause,
			   riscv_cause_name(scause & ~SCAUSE_INTERRUPT, scause & SCAUSE_INTERRUPT),
			   tf->sepc);
	}
	if (scause == (SCAUSE_INTERRUPT | IRQ_S_TIMER)) {
		riscv_tick_interrupt(&hl->tick);
		return;
	}
	if (scause == (SCAUSE_INTERRUPT | IRQ_S_SOFT)) {
		soft_interrupt(hl);
		return;
	}
	if (scause == EXC_ILLEGAL_INSTRUCTION && riscv_probing_csr) {
		/* The Sstc probe: skip the 4-byte csrr that trapped. */
		riscv_probe_faulted = 1;
		tf->sepc += 4;
		return;
	}
	hl->trap_frame = tf;
	port_panic(PORT_EXIT_TRAP,
		   "unexpected trap: scause=0x%lx (%s) sepc=0x%lx stval=0x%lx",
		   scause, riscv_cause_name(scause & ~SCAUSE_INTERRUPT, scause & SCAUSE_INTERRUPT),
		   tf->sepc, tf->stval);
}

void platform_set_tick_hook(void (*fn)(void), uint64_t period_ticks)
{
	unsigned me = port_hart_id();
	unsigned long flags;

	riscv_tick_set_hook(fn, period_ticks);
	flags = port_irq_save();
	riscv_tick_resync(&this_hart_local()->tick);
	port_irq_restore(flags);
	for (unsigned i = 0; i < platform_nharts(); i++)
		if (i != me && platform_hart_local(i)->started)
			platform_send_ipi(i);
}

void platform_run_ipi_hook(void)
{
	/* Acquire: pairs with the release in platform_set_ipi_hook(). */
	void (*hook)(void) = __atomic_load_n(&ipi_hook, __ATOMIC_ACQUIRE);
	if (hook)
		hook();
}

void platform_set_ipi_hook(void (*fn)(void))
{
	/* Release: whatever fn reads was set up before it became visible. */
	__atomic_store_n(&ipi_hook, fn, __ATOMIC_RELEASE);
}

void platform_send_ipi(unsigned index)
{
	unsigned long id = platform_hartid(index);

	/* The SBI call orders our earlier stores before the interrupt. */
	sbi_send_ipi(1UL << (id % 64), id - id % 64);
}

void platform_request_stop(void)
{
	unsigned me = port_hart_id();

	/* Release: the others see the stop flag before they park. */
	__atomic_store_n(&stop_owner, me + 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < platform_nharts(); i++)
		if (i != me && platform_hart_local(i)->started)
			platform_send_ipi(i);
}

bool platform_stop_requested(void)
{
	/* Relaxed: a flag poll; parking needs no data from the stopper. */
	unsigned owner = __atomic_load_n(&stop_owner, __ATOMIC_RELAXED);

	return owner != 0 && owner != port_hart_id() + 1;
}

unsigned platform_wait_parked(uint64_t timeout_ticks)
{
	uint64_t deadline = platform_time() + timeout_ticks;
	unsigned me = port_hart_id(), parked, others;

	for (;;) {
		parked = others = 0;
		for (unsigned i = 0; i < platform_nharts(); i++) {
			struct hart_local *hl = platform_hart_local(i);
			if (i == me || !hl->started)
				continue;
			others++;
			/* Acquire: pairs with the release in platform_park(). */
			if (__atomic_load_n(&hl->parked, __ATOMIC_ACQUIRE))
				parked++;
		}
		if (parked == others || platform_time() >= deadline)
			return parked;
		port_cpu_relax();
	}
}

_Noreturn void platform_park(void)
{
	struct hart_local *hl = this_hart_local();

	csr_clear(sstatus, SSTATUS_SIE);
	/* Nothing enabled: wfi halts the vCPU instead of spinning on an IPI. */
	csr_write(sie, 0);
	/* Release: our last writes (console state, counters) are visible. */
	__atomic_store_n(&hl->parked, 1, __ATOMIC_RELEASE);
	for (;;)
		__asm__ volatile("wfi");
}

/* The port contract's names for the IPI hook (see port.h). */
void port_kick_hart(unsigned hart)
{
	platform_send_ipi(hart);
}

void port_set_kick_handler(void (*handler)(void))
{
	platform_set_ipi_hook(handler);
}
