/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The port contract: everything heap/ and percpu/ know about the machine.
 *
 * Portable code includes only this header. Each port (platform/riscv for
 * QEMU virt, platform/host for Linux with pthreads as harts) supplies
 * <platform/port_impl.h> with the inline primitives below, and links the
 * out-of-line ones. Every primitive states what it promises.
 */
#ifndef PLATFORM_PORT_H
#define PLATFORM_PORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bound on harts; sizes per-hart arrays. A build may lower it. */
#ifndef PORT_MAX_HARTS
#define PORT_MAX_HARTS 128
#endif

/* Bytes per cache line: per-hart data is padded to this to avoid false sharing. */
#ifndef PORT_CACHE_LINE
#define PORT_CACHE_LINE 64
#endif

/* Saved local-interrupt state, opaque to portable code. */
typedef unsigned long port_irqflags_t;

/*
 * Inline primitives each port_impl.h defines:
 *
 *   unsigned port_hart_id(void);
 *     Index of the calling hart, < PORT_MAX_HARTS, constant for as long as the
 *     hart (or host thread) runs. Cheap: one load, no atomic, no shared line.
 *
 *   port_irqflags_t port_irq_save(void);
 *   void port_irq_restore(port_irqflags_t flags);
 *     Mask local interrupts and return the previous state; restore it.
 *     Nest freely. Between them, no interrupt handler runs on this hart, so
 *     code there cannot be re-entered on the same hart.
 *
 *   void port_cpu_relax(void);
 *     A hint inside a spin-wait loop. No memory ordering.
 *
 *   void *port_hart_data(void);
 *     The pointer this hart last stored with port_set_hart_data(), NULL
 *     before the first store. One load, no atomic, no shared line (RISC-V:
 *     `ld` from the hart's struct hart_local through tp; host: a
 *     _Thread_local). Pre: the caller stays on this hart between this call
 *     and its use of the result (true with local interrupts masked, and
 *     always in a kernel whose contexts never migrate, as here). Post: the
 *     value is constant until this hart stores another, so the compiler may
 *     reuse it (the load is not volatile). No memory ordering.
 *
 *   void port_set_hart_data(void *data);
 *     Stores `data` as this hart's pointer. Only the hart itself stores it;
 *     other harts never read or write it. No memory ordering.
 *
 *   PORT_KICK_INTERRUPTS
 *     1 if port_kick_hart() interrupts the target hart (its handler runs as
 *     soon as the hart unmasks interrupts), 0 if the target only notices at
 *     its next poll (then per-hart caches must poll on their fast path).
 *
 *   void port_wait_long(void);
 *     Called by a waiter that has spun for a while: lets the hart (or host
 *     thread) yield its physical CPU for a short, bounded time, then returns.
 *     Works with local interrupts masked. No memory ordering: the caller
 *     re-reads what it waits for with the ordering it needs. A port whose
 *     kicks interrupt (PORT_KICK_INTERRUPTS 1) also calls the kick handler
 *     here, so a hart that waits for a lock with interrupts masked still
 *     answers a flush request (the RISC-V port does; the handler must be
 *     safe in any lock wait, and percpu's is).
 */
#include <platform/port_impl.h>

/*
 * Out-of-line hooks, linked from the port (the RISC-V kernel implements them
 * in kernel/, the host port in platform/host):
 */

/* Ends the whole run (every hart) with an exit code: 0 is success. */
_Noreturn void port_exit(int code);

/*
 * Stops every other hart, prints one unbroken report, ends the run with
 * exit_code (never 0). Safe from any context, including with locks held and
 * interrupts masked; a second caller on another hart just stops.
 */
_Noreturn void port_panic(int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints to the console; a line is never interleaved with another hart's. */
void port_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void port_vprintf(const char *fmt, va_list ap);

/*
 * Formats into buf as C's vsnprintf does: writes at most size bytes, the
 * terminating NUL included (if size > 0), and returns the length the whole
 * output would have had (so a result >= size means it was cut short).
 * Conversions: at least %d %i %u %x %o %c %s %p %% with the hh, h, l, ll
 * and z modifiers, the '-' and '0' flags and a width. Safe from any context,
 * with locks held and interrupts masked: it takes no lock, prints nothing
 * and allocates nothing, so a panic path may build its report with it.
 * The RISC-V kernel's is kernel/fmt.c's, the host port's the C library's.
 */
int port_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int port_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Asks hart `hart` to call the kick handler soon, even if it is idle: on
 * RISC-V an IPI whose handler runs it with local interrupts masked; on the
 * host a no-op (host harts call percpu code often enough to poll). The
 * handler is global, set once at init; a kick may be coalesced with another.
 */
void port_kick_hart(unsigned hart);

/*
 * Microseconds from a monotonic clock shared by all harts (any start).
 * For bounding waits on slow paths by time rather than by rounds, which
 * last very different times on QEMU, a busy host and real hardware.
 */
uint64_t port_time_us(void);
void port_set_kick_handler(void (*handler)(void));

/* Exit codes shared by the kernel, the host port and the test runners. */
enum port_exit_code {
	PORT_EXIT_PASS = 0,
	PORT_EXIT_FAIL = 1,   /* a test's assertion failed */
	PORT_EXIT_PANIC = 2,  /* panic() for any other reason */
	PORT_EXIT_TRAP = 3,   /* unexpected exception or interrupt */
	PORT_EXIT_OOM = 4,    /* the heap could not serve, after every flush */
	PORT_EXIT_MISUSE = 5, /* double free, foreign pointer, bad size, ... */
	PORT_EXIT_WATCHDOG = 6, /* the runner killed a hung kernel */
};

#endif /* PLATFORM_PORT_H */
