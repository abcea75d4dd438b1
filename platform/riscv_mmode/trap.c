// SPDX-License-Identifier: BSD-2-Clause
/*
 * M-mode traps: the CLINT timer (the kernel's ticks, port_wait_long's short
 * sleeps) and the CLINT software interrupt (the heap's kicks, the kernel's
 * IPIs, panic stops). Hooks chain: the port does its part, then calls the
 * kernel's. Everything else is an unexpected trap: a panic.
 */
#include "internal.h"
#include <platform/mix64.h>
#include <platform/riscv_cause.h>

#define MCAUSE_INTERRUPT (1UL << 63)
#define IRQ_M_SOFT 3
#define IRQ_M_TIMER 7

/* Written by mmode_set_*_hook, read by every hart's handlers. */
static void (*ipi_hook)(void);
static void (*kick_handler)(void);

/* ~20 us of the 10 MHz mtime: long enough to give the host core back. */
#define WAIT_LONG_TICKS 200

uint64_t port_time_us(void)
{
	return mmode_time() / (MMODE_TIMEBASE_HZ / 1000000);
}

/* CLINT mtime and mcycle since reset, through splitmix64's finaliser. */
uint64_t port_entropy(void)
{
	uint64_t c;
	__asm__ volatile("csrr %0, mcycle" : "=r"(c));
	return port_mix64(mmode_time() ^ (c << 23) ^ (c >> 41));
}

uint64_t riscv_tick_now(void)
{
	return mmode_time();
}

void riscv_tick_program(uint64_t deadline)
{
	mmode_timer_program(deadline);
}

static void soft_interrupt(struct mmode_hart *mh)
{
	void (*fn)(void);

	*(volatile uint32_t *)MMODE_CLINT_MSIP(port_hart_id()) = 0;
	/* Relaxed: a plain flag; port_panic's IPI is what makes us look. */
	if (__atomic_load_n(&mmode_stopping, __ATOMIC_RELAXED))
		mmode_park();
	riscv_tick_resync(&mh->tick);
	/* Acquire: pairs with the release in the setters (hook's data). */
	fn = __atomic_load_n(&kick_handler, __ATOMIC_ACQUIRE);
	if (fn)
		fn();
	fn = __atomic_load_n(&ipi_hook, __ATOMIC_ACQUIRE);
	if (fn)
		fn();
}

void mmode_trap(unsigned long mcause, unsigned long mepc, unsigned long mtval);
void mmode_trap(unsigned long mcause, unsigned long mepc, unsigned long mtval)
{
	struct mmode_hart *mh = &mmode_harts[port_hart_id()];
	unsigned long code = mcause & ~MCAUSE_INTERRUPT;
	const volatile unsigned long *guard = mmode_stack_guard(port_hart_id());

	/*
	 * This hart ran past its stack's bottom: say so now, before the hart
	 * whose frames it overwrote crashes and takes the blame. One load a
	 * trap; its ticks make it look often.
	 */
	if (*guard != PLATFORM_STACK_GUARD)
		port_panic(PORT_EXIT_TRAP, RISCV_STACK_OVERFLOW_TRAP "mcause=0x%lx (%s) mepc=0x%lx",
			   port_hart_id(), (void *)guard, mcause,
			   riscv_cause_name(code, mcause & MCAUSE_INTERRUPT), mepc);
	if ((mcause & MCAUSE_INTERRUPT) && code == IRQ_M_TIMER) {
		riscv_tick_interrupt(&mh->tick);
		return;
	}
	if ((mcause & MCAUSE_INTERRUPT) && code == IRQ_M_SOFT) {
		soft_interrupt(mh);
		return;
	}
	port_panic(PORT_EXIT_TRAP, "unexpected trap: mcause=0x%lx (%s) mepc=0x%lx mtval=0x%lx",
		   mcause, riscv_cause_name(code, mcause & MCAUSE_INTERRUPT),
		   mepc, mtval);
}

/* trap_vector.S, for a trap whose sp is in none of the stacks. */
_Noreturn void mmode_trap_bad_stack(unsigned long mcause, unsigned long mepc,
				    unsigned long mtval, unsigned long sp);
_Noreturn void mmode_trap_bad_stack(unsigned long mcause, unsigned long mepc,
				    unsigned long mtval, unsigned long sp)
{
	/* Whatever the cause: the interrupted code has no stack to go back to. */
	port_panic(PORT_EXIT_TRAP,
		   "unexpected trap: mcause=0x%lx (%s) mepc=0x%lx mtval=0x%lx on a bad stack (sp=0x%lx)",
		   mcause, riscv_cause_name(mcause & ~MCAUSE_INTERRUPT, mcause & MCAUSE_INTERRUPT),
		   mepc, mtval, sp);
}

void mmode_send_ipi(unsigned hart)
{
	/* Orders our earlier stores before the interrupt the target takes. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*(volatile uint32_t *)MMODE_CLINT_MSIP(hart) = 1;
}

void port_kick_hart(unsigned hart)
{
#if PORT_KICK_INTERRUPTS
	mmode_send_ipi(hart);
#else
	(void)hart; /* the target polls */
#endif
}

void port_set_kick_handler(void (*handler)(void))
{
	/* Release: the handler's data is set up before any hart calls it. */
	__atomic_store_n(&kick_handler, handler, __ATOMIC_RELEASE);
}

void mmode_set_ipi_hook(void (*fn)(void))
{
	/* Release: pairs with the acquire in soft_interrupt. */
	__atomic_store_n(&ipi_hook, fn, __ATOMIC_RELEASE);
}

void mmode_set_tick_hook(void (*fn)(void), uint64_t period_ticks)
{
	riscv_tick_set_hook(fn, fn ? period_ticks : 0);
	/*
	 * Every hart re-arms at its next software interrupt; harts still
	 * parked in _start arm when they start (relaxed: only a hint).
	 */
	if (__atomic_load_n(&mmode_released, __ATOMIC_RELAXED))
		for (unsigned h = 0; h < mmode_nharts() && h < PORT_MAX_HARTS; h++)
			mmode_send_ipi(h);
}

void port_wait_long(void)
{
	struct mmode_hart *mh;
	unsigned long flags;
	void (*fn)(void);

	/* A panicking hart wants us parked, even if we wait masked. */
	if (__atomic_load_n(&mmode_stopping, __ATOMIC_RELAXED))
		mmode_park();
	/*
	 * Masked, so no handler re-arms mtimecmp between our arming and wfi.
	 * wfi wakes on any interrupt mie enables, whatever mstatus.MIE says.
	 */
	flags = port_irq_save();
	mh = &mmode_harts[port_hart_id()];
	mmode_timer_program(riscv_tick_sleep_deadline(&mh->tick, mmode_time(), WAIT_LONG_TICKS));
	__asm__ volatile("wfi" ::: "memory");
	/* The kernel's deadline back: chained, not replaced. */
	riscv_tick_rearm(&mh->tick);
	/*
	 * Answer a kick even when waiting masked (a lock wait), as the
	 * contract asks: the heap's kick handler only, which is safe here; the
	 * kernel's own IPI hook waits for the real interrupt.
	 */
	fn = __atomic_load_n(&kick_handler, __ATOMIC_ACQUIRE); /* as in soft_interrupt */
	if (fn)
		fn();
	port_irq_restore(flags);
}
