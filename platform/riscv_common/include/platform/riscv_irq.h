/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Interrupt masking and the spin hint, as both RISC-V ports define them for
 * the port contract (<platform/port.h>). The port's port_impl.h defines the
 * status CSR of the mode it runs in and that CSR's interrupt-enable bit,
 * then includes this header:
 *   S-mode (platform/riscv):       "sstatus", SIE (0x2)
 *   M-mode (platform/riscv_mmode): "mstatus", MIE (0x8)
 */
#ifndef PLATFORM_RISCV_IRQ_H
#define PLATFORM_RISCV_IRQ_H

#if !defined(PORT_RISCV_STATUS_CSR) || !defined(PORT_RISCV_STATUS_IE)
#error "define PORT_RISCV_STATUS_CSR and PORT_RISCV_STATUS_IE before <platform/riscv_irq.h>"
#endif

static inline unsigned long port_irq_save(void)
{
	unsigned long old;
	/* "memory": the critical section must not be hoisted above. */
	__asm__ volatile("csrrci %0, " PORT_RISCV_STATUS_CSR ", %1"
			 : "=r"(old)
			 : "i"(PORT_RISCV_STATUS_IE)
			 : "memory");
	return old & PORT_RISCV_STATUS_IE;
}

static inline void port_irq_restore(unsigned long flags)
{
	/* Sets the enable bit only if it was set: nested saves restore nothing early. */
	__asm__ volatile("csrs " PORT_RISCV_STATUS_CSR ", %0"
			 : : "r"(flags & PORT_RISCV_STATUS_IE) : "memory");
}

static inline void port_cpu_relax(void)
{
	/*
	 * Zihintpause `pause` (fence w,0), spelled as .insn so rv64gc
	 * assembles it; cores without Zihintpause run it as a harmless fence.
	 */
	__asm__ volatile(".insn i 0x0f, 0, x0, x0, 0x010");
}

#endif /* PLATFORM_RISCV_IRQ_H */
