/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The M-mode port's own interface, for the kernel above it (the stress
 * kernel in this directory, or an xv6-like kernel that takes these files).
 *
 * Boot: every hart enters _start (entry.S) with a0 = mhartid, a1 = the DTB.
 * The first hart to arrive wins a lottery and calls mmode_boot_main(dtb) on
 * its stack; the others wait in wfi until the boot hart calls
 * mmode_release_harts(), then call mmode_secondary_main(). Both are the
 * kernel's (they do not return). Local interrupts are masked on entry; the
 * timer and software interrupt enables (mie.MTIE, mie.MSIE) are set.
 *
 * Interrupts: the port owns mtvec and dispatches two interrupts, and chains
 * the kernel's hooks after its own work instead of owning the sources:
 *   machine timer: the kernel's tick hook (mmode_set_tick_hook), if due.
 *     port_wait_long() borrows the hart's mtimecmp for ~20 us and puts the
 *     kernel's deadline back before it returns.
 *   machine software (msip): the heap's kick handler (port_set_kick_handler)
 *     then the kernel's IPI hook (mmode_set_ipi_hook). An IPI is shared, so
 *     either may run for a kick meant for the other: each checks its own flag.
 * Any exception is a panic with PORT_EXIT_TRAP.
 */
#ifndef PLATFORM_MMODE_H
#define PLATFORM_MMODE_H

#include <platform/port.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* QEMU virt's SiFive CLINT and its 10 MHz mtime. */
#define MMODE_CLINT_BASE 0x2000000UL
#define MMODE_CLINT_MSIP(h) (MMODE_CLINT_BASE + 4UL * (h))
#define MMODE_CLINT_MTIMECMP(h) (MMODE_CLINT_BASE + 0x4000UL + 8UL * (h))
#define MMODE_CLINT_MTIME (MMODE_CLINT_BASE + 0xbff8UL)
#define MMODE_TIMEBASE_HZ 10000000UL

/* The kernel's: the boot hart's and every other hart's entry points. */
_Noreturn void mmode_boot_main(const void *dtb);
_Noreturn void mmode_secondary_main(void);

/* Boot hart, once: reads the DTB (hart count, bootargs), zeroes nothing. */
void mmode_fdt_scan(const void *dtb);
/*
 * Harts in the DTB's /cpus, all of them: the port runs at most
 * PORT_MAX_HARTS (entry.S parks the others), and a kernel booted with more
 * must say so rather than run fewer than it was given.
 */
unsigned mmode_nharts(void);
/* /chosen/bootargs, "" if none. */
const char *mmode_bootargs(void);
/*
 * Value of `key=value` in the bootargs (decimal or 0x hex), else def; a bad
 * number or `key=` with no value is named and stops the kernel (exit 2);
 * a key given twice takes its last value.
 */
uint64_t mmode_arg_u64(const char *key, uint64_t def);

/* Lets the harts parked in _start go to mmode_secondary_main(). */
void mmode_release_harts(void);
/* The hart that won the boot lottery. */
unsigned mmode_boot_hart(void);

/* CLINT mtime (MMODE_TIMEBASE_HZ ticks). */
static inline uint64_t mmode_time(void)
{
	return *(volatile uint64_t *)MMODE_CLINT_MTIME;
}

/*
 * The kernel's timer hook, every period_ticks on every hart, in interrupt
 * context (interrupts masked); period 0 or fn NULL stops it. Takes effect on
 * each hart at its next timer or software interrupt: this call sends an IPI
 * to every released hart. A call of fn that overruns the period is followed
 * by a full period of the interrupted code (missed ticks are skipped).
 */
void mmode_set_tick_hook(void (*fn)(void), uint64_t period_ticks);
/* The kernel's IPI hook, called after the heap's kick handler. */
void mmode_set_ipi_hook(void (*fn)(void));
/* Raises hart's msip. */
void mmode_send_ipi(unsigned hart);
/* Sets mstatus.MIE. */
void mmode_irq_enable(void);

/* Writes s to the UART at once, without the console lock (panic path). */
void mmode_uart_puts(const char *s);

#endif /* PLATFORM_MMODE_H */
