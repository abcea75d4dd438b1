/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * RISC-V port (QEMU virt, S-mode under OpenSBI): the inline half of the port
 * contract. `tp` always points at the running hart's data area, just above
 * its struct hart_local, whose first field is the hart index
 * (<platform/riscv_layout.h>).
 */
#ifndef PLATFORM_RISCV_PORT_IMPL_H
#define PLATFORM_RISCV_PORT_IMPL_H

#include <platform/riscv_layout.h>

#define PORT_RISCV_SSTATUS_SIE 0x2UL

/* port_irq_save / port_irq_restore / port_cpu_relax on sstatus.SIE. */
#define PORT_RISCV_STATUS_CSR "sstatus"
#define PORT_RISCV_STATUS_IE PORT_RISCV_SSTATUS_SIE
#include <platform/riscv_irq.h>

static inline unsigned port_hart_id(void)
{
	unsigned id;
	/*
	 * One load through tp (the hart_local sits below it). Not volatile:
	 * the value is constant per hart, so the compiler may reuse it.
	 */
	__asm__("lw %0, %1(tp)" : "=r"(id) : "i"(HART_LOCAL_INDEX - HART_LOCAL_BYTES));
	return id;
}

/*
 * tp points at this hart's data area (<platform/riscv_layout.h>), which
 * boot.c fills with port_hart_data_initial()'s image before any hart runs
 * kernel code: see PORT_HART_DATA_AT_TP in <platform/port.h>.
 */
#define PORT_HART_DATA_AT_TP 1
#define PORT_HART_DATA_INITIAL 1

static inline void *port_hart_data(void)
{
	/* No instruction of its own: the loads through it are tp-relative. */
	return __builtin_thread_pointer();
}

static inline void port_set_hart_data(void *data)
{
	(void)data; /* the area is fixed: see PORT_HART_DATA_AT_TP */
}

void *port_hart_data_of(unsigned hart);

/* A kick is an IPI: its handler runs once the hart unmasks interrupts. */
#define PORT_KICK_INTERRUPTS 1

/*
 * The brief pair (<platform/port.h>): csrrci returns the whole sstatus and
 * csrs sets back every bit that was set. In a brief section nothing else
 * changed sstatus, so that restores SIE and rewrites the rest as it is
 * (SD and the other read-only fields ignore the write).
 */
#define PORT_IRQ_BRIEF 1

static inline unsigned long port_irq_save_brief(void)
{
	unsigned long old;
	/* "memory": the section must not be hoisted above. */
	__asm__ volatile("csrrci %0, sstatus, 2" : "=r"(old) : : "memory");
	return old;
}

static inline void port_irq_restore_brief(unsigned long old)
{
	__asm__ volatile("csrs sstatus, %0" : : "r"(old) : "memory");
}

/* Sleeps in wfi for ~20 us (or until an interrupt); see wait.c. */
void port_wait_long(void);

#endif /* PLATFORM_RISCV_PORT_IMPL_H */
