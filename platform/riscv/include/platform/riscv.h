/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The RISC-V platform layer for QEMU virt under OpenSBI: per-hart data,
 * CSR helpers, SBI-backed hart control, timer ticks and IPIs.
 *
 * Hart indices: harts are numbered 0..platform_nharts()-1 in the order of
 * their hart ids (probed with SBI HSM hart_get_status), so per-hart arrays
 * are dense. On QEMU virt the index equals the hart id. The boot hart is
 * whichever hart won OpenSBI's lottery; it need not be index 0.
 */
#ifndef PLATFORM_RISCV_H
#define PLATFORM_RISCV_H

#include <platform/riscv_layout.h>
/* PORT_MAX_HARTS for entry.S (port.h is C); boot.c checks they agree. */
#define RISCV_MAX_HARTS 128

#ifndef __ASSEMBLER__
#include <platform/port.h>
#include <platform/riscv_stack_guard.h>
#include <platform/riscv_tick.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Registers saved by trap.S, in this order (x0's slot holds nothing). */
struct trap_frame {
	unsigned long x[32]; /* x[2] is sp at the moment of the trap */
	unsigned long sepc;
	unsigned long sstatus;
	unsigned long scause;
	unsigned long stval;
};

/* One per hart, just below tp (<platform/riscv_layout.h>); cache-line sized. */
struct hart_local {
	unsigned index;           /* port_hart_id(): must stay first */
	unsigned reserved;
	unsigned long hartid;     /* the SBI/mhartid number */
	unsigned long stack_top;  /* entry.S loads sp from here */
	struct riscv_tick tick;   /* this hart's kernel tick (riscv_tick.h) */
	uint64_t ipis;            /* software interrupts taken */
	struct trap_frame *trap_frame; /* set before a trap panics, for the report */
	unsigned long trap_scratch[4];
	int parked;               /* atomic: set once this hart has stopped */
	int started;              /* boot hart, or hart_start succeeded */
} __attribute__((aligned(PORT_CACHE_LINE)));

/* A hart's block: tp points at `data`, port_hart_data(). */
struct hart_block {
	struct hart_local local;
	unsigned char data[PORT_HART_DATA_BYTES] __attribute__((aligned(PORT_CACHE_LINE)));
};

_Static_assert(sizeof(struct hart_local) == HART_LOCAL_BYTES,
	       "HART_LOCAL_BYTES is the distance from a hart_local to tp");
_Static_assert(__builtin_offsetof(struct hart_block, data) == HART_LOCAL_BYTES,
	       "the data area follows the hart_local directly");

static inline struct hart_local *this_hart_local(void)
{
	return (struct hart_local *)((char *)__builtin_thread_pointer() - HART_LOCAL_BYTES);
}

/* CSR access; the names are the assembler's. */
#define csr_read(csr)                                                   \
	({                                                              \
		unsigned long __v;                                      \
		__asm__ volatile("csrr %0, " #csr : "=r"(__v) : : "memory"); \
		__v;                                                    \
	})
#define csr_write(csr, val) \
	__asm__ volatile("csrw " #csr ", %0" : : "r"((unsigned long)(val)) : "memory")
#define csr_set(csr, val) \
	__asm__ volatile("csrs " #csr ", %0" : : "r"((unsigned long)(val)) : "memory")
#define csr_clear(csr, val) \
	__asm__ volatile("csrc " #csr ", %0" : : "r"((unsigned long)(val)) : "memory")

#define SSTATUS_SIE (1UL << 1)
#define SIE_SSIE (1UL << 1)
#define SIE_STIE (1UL << 5)
#define SIP_SSIP (1UL << 1)

static inline uint64_t platform_time(void)
{
	uint64_t t;
	__asm__ volatile("rdtime %0" : "=r"(t));
	return t;
}

/* --- boot (platform/riscv/boot.c) --- */

/* Defined by the kernel: the boot hart enters here after platform init. */
void kernel_main(void);
/* Defined by the kernel: each hart started with platform_start_hart(). */
void kernel_secondary_main(void);

unsigned platform_nharts(void);        /* harts present (probed) */
unsigned platform_boot_hart(void);     /* index of the boot hart */
struct hart_local *platform_hart_local(unsigned index);
/*
 * Index's guard word (<platform/riscv_stack_guard.h>), or NULL if index is
 * not a hart present.
 */
const volatile unsigned long *platform_stack_guard(unsigned index);
unsigned long platform_hartid(unsigned index);
/* Starts hart `index` at kernel_secondary_main(); 0 or an SBI error. */
long platform_start_hart(unsigned index);
/* `key=value ...` from /chosen/bootargs ("" if none). */
const char *platform_bootargs(void);
uint64_t platform_timebase_hz(void);   /* /cpus/timebase-frequency */
bool platform_has_sstc(void);          /* stimecmp usable from S-mode */
/* Unmasks local interrupts (sie.STIE and SSIE are always set). */
void platform_irq_enable(void);

/* --- timer ticks and IPIs (platform/riscv/trap.c) --- */

/*
 * Calls fn() on every hart every period_ticks timebase ticks, from the
 * timer interrupt (so with interrupts masked; fn must only take irqsave
 * locks). period_ticks 0 stops ticks. Other harts pick the new period up
 * through an IPI, once they next take interrupts. A call of fn that takes
 * longer than the period is followed by a full period of the interrupted
 * code before the next one (missed ticks are skipped, never made up).
 */
void platform_set_tick_hook(void (*fn)(void), uint64_t period_ticks);
/* Called on the target hart for every IPI (after the stop check). */
void platform_set_ipi_hook(void (*fn)(void));
/*
 * Runs the IPI hook now, whatever the interrupt mask (port_wait_long: a hart
 * that waits with interrupts masked still answers what an IPI asks).
 */
void platform_run_ipi_hook(void);
/* Sends a software interrupt to hart `index`. */
void platform_send_ipi(unsigned index);

/* --- stopping (platform/riscv/trap.c) --- */

/* Asks every other hart to park (flag + IPI); returns at once. */
void platform_request_stop(void);
/* True once a stop was requested by another hart. */
bool platform_stop_requested(void);
/* Waits up to timeout_ticks for the others to park; returns how many did. */
unsigned platform_wait_parked(uint64_t timeout_ticks);
/* Marks this hart parked and stops it for good (interrupts off, wfi). */
_Noreturn void platform_park(void);

/* --- raw devices --- */

void uart_putc(char c);
void uart_puts(const char *s);
/*
 * The console's writer: parks the hart (platform_park) before any byte once
 * another hart asked for a stop, so a panic's report, written with
 * uart_puts, gets no bytes of a hart that missed the panic's wait.
 */
void uart_write(const char *s, size_t n);
/* Ends QEMU through the sifive_test device; code 0 passes. */
_Noreturn void platform_exit(int code);

/*
 * The libc subset beyond the port contract's memcpy, memmove and memset
 * (platform/riscv_common/string.c); there is no libc.
 */
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* Linker-script symbols (platform/riscv/kernel.ld). */
extern char sheap[], eheap[];

#endif /* !__ASSEMBLER__ */

#endif /* PLATFORM_RISCV_H */
