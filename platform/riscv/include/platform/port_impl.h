/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * RISC-V port (QEMU virt, S-mode under OpenSBI): the inline half of the port
 * contract. `tp` always points at the running hart's struct hart_local
 * (see <platform/riscv.h>), whose first field is the hart index.
 */
#ifndef PLATFORM_RISCV_PORT_IMPL_H
#define PLATFORM_RISCV_PORT_IMPL_H

#define PORT_RISCV_SSTATUS_SIE 0x2UL

/* port_irq_save / port_irq_restore / port_cpu_relax on sstatus.SIE. */
#define PORT_RISCV_STATUS_CSR "sstatus"
#define PORT_RISCV_STATUS_IE PORT_RISCV_SSTATUS_SIE
#include <platform/riscv_irq.h>

static inline unsigned port_hart_id(void)
{
	unsigned id;
	/*
	 * One load through tp. Not volatile: the value is constant per hart,
	 * so the compiler may reuse it.
	 */
	__asm__("lw %0, 0(tp)" : "=r"(id));
	return id;
}

/* Offset of struct hart_local's `percpu` slot (checked in <platform/riscv.h>). */
#define PORT_RISCV_HART_DATA_OFFSET 24

/*
 * Every hart_local's slot starts as port_hart_data_initial() (boot.c), not
 * NULL: see <platform/port.h>.
 */
#define PORT_HART_DATA_INITIAL 1

/* A kick is an IPI: its handler runs once the hart unmasks interrupts. */
#define PORT_KICK_INTERRUPTS 1

static inline void *port_hart_data(void)
{
	void *p;
	/* One load through tp; not volatile (constant until set again). */
	__asm__("ld %0, %1(tp)" : "=r"(p) : "i"(PORT_RISCV_HART_DATA_OFFSET));
	return p;
}

static inline void port_set_hart_data(void *data)
{
	/* "memory": later port_hart_data() loads must not move above it. */
	__asm__ volatile("sd %0, %1(tp)"
			 : : "r"(data), "i"(PORT_RISCV_HART_DATA_OFFSET) : "memory");
}

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
