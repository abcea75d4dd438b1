/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * RISC-V M-mode port (QEMU virt with -bios none, no OpenSBI), the shape of
 * xv6-like kernels: every hart enters _start in M-mode, `tp` holds the hart
 * id (mhartid, read once at entry, as xv6 does), the CLINT gives timers and
 * software interrupts. Unlike platform/riscv, tp is a plain index and not a
 * pointer to a port structure: the hart's data pointer lives in a padded
 * array indexed by it (port_hart_data below), so a kernel that already
 * keeps its own per-hart struct keeps tp for itself.
 */
#ifndef PLATFORM_RISCV_MMODE_PORT_IMPL_H
#define PLATFORM_RISCV_MMODE_PORT_IMPL_H

#define PORT_MMODE_MSTATUS_MIE 0x8UL

/* port_irq_save / port_irq_restore / port_cpu_relax on mstatus.MIE. */
#define PORT_RISCV_STATUS_CSR "mstatus"
#define PORT_RISCV_STATUS_IE PORT_MMODE_MSTATUS_MIE
#include <platform/riscv_irq.h>

static inline unsigned port_hart_id(void)
{
	unsigned long id;
	/* tp = mhartid for the hart's whole life; not volatile: constant. */
	__asm__("mv %0, tp" : "=r"(id));
	return (unsigned)id;
}

/*
 * One cache line per hart, so a hart's slot shares its line with no other
 * hart's: written once by its own hart, read on every kmalloc.
 */
struct port_mmode_slot {
	void *data;
} __attribute__((aligned(PORT_CACHE_LINE)));
extern struct port_mmode_slot port_mmode_slots[PORT_MAX_HARTS];

/*
 * A kick is a CLINT software interrupt (msip): its handler runs at once.
 * -DPORT_MMODE_NO_IPI builds the port as one without IPIs would be: kicks
 * do nothing and the kernel polls (percpu_poll from its tick and idle loop).
 */
#ifdef PORT_MMODE_NO_IPI
#define PORT_KICK_INTERRUPTS 0
#else
#define PORT_KICK_INTERRUPTS 1
#endif

static inline void *port_hart_data(void)
{
	/* Two instructions (index, load); no atomic: only this hart stores it. */
	return port_mmode_slots[port_hart_id()].data;
}

static inline void port_set_hart_data(void *data)
{
	port_mmode_slots[port_hart_id()].data = data;
	/* Later port_hart_data() loads must not move above the store. */
	__asm__ volatile("" ::: "memory");
}

/* wfi with a CLINT timer ~20 us ahead (or until an interrupt); trap.c. */
void port_wait_long(void);

#endif /* PLATFORM_RISCV_MMODE_PORT_IMPL_H */
