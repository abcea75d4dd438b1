// SPDX-License-Identifier: BSD-2-Clause
/*
 * port_wait_long(): give the host core back for a moment.
 *
 * Under QEMU MTTCG every hart is a host thread. With more harts than host
 * cores, a waiter that keeps spinning can hold the core its lock holder
 * needs (4 harts on 2 cores: 88 s spinning, 6 s with this). wfi lets QEMU
 * halt the vCPU thread until an interrupt, so arm a short timer first.
 */
#include "internal.h"
#include <platform/mix64.h>

/* ~20 us of a 10 MHz timebase; the kernel may tune it (bootarg). */
uint64_t platform_wait_long_ticks = 200;

uint64_t port_time_us(void)
{
	uint64_t t = platform_time(), hz = riscv_timebase_hz;
	return t / hz * 1000000 + t % hz * 1000000 / hz;
}

/*
 * The time CSR since reset (QEMU: host time unless icount) and the stack's
 * address, through splitmix64's finaliser. `cycle` would add more, but
 * S-mode may read it only if M-mode firmware set mcounteren.CY.
 */
uint64_t port_entropy(void)
{
	uint64_t v = platform_time() ^ ((uint64_t)(uintptr_t)&v << 21);
	return port_mix64(v);
}

void port_wait_long(void)
{
	struct hart_local *hl = this_hart_local();
	unsigned long flags;

	/* A panicking hart wants us parked, even if we wait with SIE clear. */
	if (platform_stop_requested())
		platform_park();

	/*
	 * Masked so no handler can run between arming and wfi and re-arm the
	 * timer to the (possibly far) next tick: wfi still wakes on a pending
	 * interrupt that sie enables, whatever sstatus.SIE says.
	 */
	flags = port_irq_save();
	riscv_tick_program(riscv_tick_sleep_deadline(&hl->tick, platform_time(),
						     platform_wait_long_ticks));
	__asm__ volatile("wfi" ::: "memory");
	riscv_tick_rearm(&hl->tick);
	/*
	 * Answer what a kick asks even if we wait with interrupts masked (a
	 * lock wait): the hook must be safe here, and percpu's is (it only
	 * detaches this hart's magazines, and not inside its own slow path).
	 */
	platform_run_ipi_hook();
	port_irq_restore(flags);
}
