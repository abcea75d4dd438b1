/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The port contract: everything heap/ and percpu/ know about the machine.
 *
 * Portable code includes only this header. Each port supplies
 * <platform/port_impl.h> with the inline primitives below, and links the
 * out-of-line ones. Every primitive states what it promises. In-tree ports:
 * platform/riscv (S-mode under OpenSBI, tp -> struct hart_local),
 * platform/riscv_mmode (M-mode, -bios none, CLINT, tp = hart id, as xv6)
 * and platform/host (Linux, pthreads as harts). PORTING.md walks through
 * writing one.
 *
 * What the second RISC-V port changed here (the contract no longer assumes
 * the first port's shape): where the hart's data pointer lives is the
 * port's choice (tp need not point at a port structure); the kick is one
 * more user of the kernel's IPI, and port_wait_long one more user of its
 * timer, both chained with the kernel's own handlers instead of owning
 * them; a port may have no IPI at all (PORT_KICK_INTERRUPTS 0, polling);
 * irq save/restore may be a nesting counter (xv6's push_off/pop_off).
 */
#ifndef PLATFORM_PORT_H
#define PLATFORM_PORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Upper bound on harts; sizes per-hart arrays (about 2.5 KiB of BSS per
 * hart, see PORTING.md). A build may lower it with
 * -DPORT_MAX_HARTS=N; every file of the library must see the same value.
 */
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
 * Inline primitives each port_impl.h defines (or declares, if out of line):
 *
 *   unsigned port_hart_id(void);
 *     Index of the calling hart, < PORT_MAX_HARTS. Called with local
 *     interrupts masked whenever the answer is used to index per-hart data,
 *     so a kernel whose threads migrate between harts (preempted by an
 *     interrupt) gets a stable answer; unmasked callers only use it for
 *     reports. Cheap: a register or one load, no atomic, no shared line
 *     (riscv: lw through tp; riscv_mmode: tp itself; host: a _Thread_local).
 *
 *   port_irqflags_t port_irq_save(void);
 *   void port_irq_restore(port_irqflags_t flags);
 *     Mask local interrupts and return the previous state; restore it.
 *     Pairs nest strictly (the library restores in reverse order of its
 *     saves, on the same hart), so a port may ignore `flags` and keep a
 *     per-hart depth count instead (xv6's push_off/pop_off): restore must
 *     unmask only when the outermost save is undone. Between them, no
 *     interrupt handler runs on this hart and the context does not migrate,
 *     so code there cannot be re-entered on the same hart.
 *
 *   void port_cpu_relax(void);
 *     A hint inside a spin-wait loop. No memory ordering.
 *
 *   void *port_hart_data(void);
 *     The pointer this hart last stored with port_set_hart_data(), NULL
 *     before the first store. Where it lives is the port's choice: a slot in
 *     the kernel's own per-hart struct, or an array indexed by hart id. A
 *     load or two, no atomic, no line another hart writes (riscv: `ld` from
 *     struct hart_local through tp; riscv_mmode: a cache-line-padded array
 *     indexed by tp = mhartid, so tp stays the kernel's; host: a
 *     _Thread_local). Pre: the caller stays on this hart between this call
 *     and its use of the result (the library only calls it with local
 *     interrupts masked, which must also stop migration). Post: the value
 *     is constant until this hart stores another, so the compiler may reuse
 *     it (the load is not volatile). No memory ordering.
 *
 *   void port_set_hart_data(void *data);
 *     Stores `data` as this hart's pointer. Only the hart itself stores it;
 *     other harts never read or write it. No memory ordering.
 *
 *   PORT_KICK_INTERRUPTS
 *     1 if port_kick_hart() interrupts the target hart (its handler runs as
 *     soon as the hart unmasks interrupts), 0 if the target only notices at
 *     its next poll: then kfree's fast path also checks for a pending flush
 *     (and takes the slow path, which honours it), and the kernel must call
 *     percpu_poll() from its scheduler loop and its
 *     timer interrupt, or a hart that is idle or busy elsewhere leaves every
 *     other hart's failing allocation waiting for it (PERCPU_FLUSH_WAIT_US,
 *     1 s, interrupts masked) before the OOM report.
 *
 *   void port_wait_long(void);
 *     Called by a waiter that has spun for a while: lets the hart (or host
 *     thread) yield its physical CPU for a short, bounded time (tens of
 *     microseconds), then returns. Works with local interrupts masked, and
 *     must not run interrupt handlers or switch context. If it borrows the
 *     hart's timer (riscv, riscv_mmode: arm ~20 us ahead and wfi), it puts
 *     the kernel's own deadline back before returning; a port that cannot
 *     arm a timer (an S-mode kernel whose timer only M-mode programs) may
 *     just spin port_cpu_relax() a few hundred times. No memory ordering:
 *     the caller re-reads what it waits for with the ordering it needs. A
 *     port whose kicks interrupt (PORT_KICK_INTERRUPTS 1) also calls the
 *     kick handler here (only that one, not the kernel's own IPI work), so
 *     a hart that waits for a lock with interrupts masked still answers a
 *     flush request (riscv and riscv_mmode do; the handler must be safe in
 *     any lock wait, and percpu's is).
 *
 *   PORT_WAIT_ON_WAKES
 *     1 if port_wait_on() sleeps until a port_wake() (the host: a futex),
 *     so a waker must call port_wake() for every sleeper it wants to run;
 *     0 if port_wait_on() is a bounded wait that returns by itself (RISC-V:
 *     wfi, as port_wait_long) and port_wake() does nothing.
 *
 *   void port_wait_on(const uint32_t *word, uint32_t value, unsigned key);
 *     If *word still holds value, waits until a port_wake(word, keys) with
 *     bit key (key < 32) set in keys, or (PORT_WAIT_ON_WAKES 0) a short
 *     bounded time; may also return spuriously. The check of *word and the
 *     start of the sleep are one atomic step against port_wake: a waker that
 *     changes *word and then calls port_wake never misses this sleeper. The
 *     caller re-reads *word (with the ordering it needs) and calls again.
 *     Works with local interrupts masked. No memory ordering.
 *
 *   void port_wake(const uint32_t *word, uint32_t keys);
 *     Wakes the port_wait_on() sleepers on word whose key bit is in keys
 *     (only those: a lock wakes its next holder, not the crowd). Cheap to
 *     call when nobody sleeps, but a system call on the host: callers keep
 *     their own count of sleepers and skip it when there are none.
 *
 *   int port_wake_one(const uint32_t *word);
 *     Wakes at most one port_wait_on() sleeper on word, whatever its key,
 *     and returns how many it woke (0 or 1): for a lock that any running
 *     waiter may take (TICKET_LOCK_BARGES), where one woken waiter is
 *     enough and a crowd would only fight. Like port_wake, it fences
 *     before it looks for sleepers.
 *
 *   bool port_fence_heavy(void);
 *     A full memory fence on every hart (CPU) that runs a hart of this
 *     program, the caller's included, before it returns (Linux: membarrier,
 *     private expedited): the heavy half of an asymmetric Dekker pair whose
 *     light half is a compiler barrier, so a hot path pays for no fence
 *     (the barging lock's unlock, <platform/ticket_lock.h>). Returns false,
 *     having fenced nothing, if the port cannot.
 *
 *   bool port_fence_heavy_works(void);
 *     True once the port has found the fence available (the host looks
 *     when the program loads, else at the first port_fence_heavy()): no
 *     fence, just whether the port has one.
 *
 *   PORT_THREAD_LOCAL (optional)
 *     A storage class for a variable of the calling thread's own, on ports
 *     whose callers are threads that may use one hart id in turn (the
 *     host: a thread past its exit hooks keeps an id given to another).
 *     Where it is not defined, a context is its hart (the kernels), and
 *     the library keeps such a variable per hart, in an array indexed by
 *     port_hart_id() (kheap's flag for "inside the OOM hook").
 */
#include <platform/port_impl.h>

/*
 * The bounded default of port_wait_on / port_wake, for ports whose waits
 * return by themselves (both RISC-V ports): port_wait_on is port_wait_long's
 * short wait, so no hart sleeps for good and port_wake has nothing to do. A
 * port that parks waiters (the host's futex) defines PORT_WAIT_ON_WAKES 1
 * and the three functions in its port_impl.h (the barging lock's waiters
 * then sleep instead of polling: TICKET_LOCK_BARGES, <platform/ticket_lock.h>).
 */
#ifndef PORT_WAIT_ON_WAKES
#define PORT_WAIT_ON_WAKES 0

static inline void port_wait_on(const uint32_t *word, uint32_t value, unsigned key)
{
	(void)key;
	/* Relaxed: the caller re-reads with its own ordering. */
	if (__atomic_load_n(word, __ATOMIC_RELAXED) == value)
		port_wait_long();
}

static inline void port_wake(const uint32_t *word, uint32_t keys)
{
	(void)word;
	(void)keys;
}

static inline int port_wake_one(const uint32_t *word)
{
	(void)word;
	return 0;
}

static inline bool port_fence_heavy(void)
{
	return false; /* no hart fenced: the caller must not sleep unbounded */
}

static inline bool port_fence_heavy_works(void)
{
	return false;
}
#endif

/*
 * PORT_HART_DATA_INITIAL: 1 if port_hart_data() returns, before a hart's
 * first port_set_hart_data(), the pointer `void *port_hart_data_initial(void)`
 * gave at boot instead of NULL. The port defines that function weak,
 * returning NULL; a library that links a strong one (percpu: an idle hart
 * record with no magazines) then never sees NULL, and its fast paths need
 * no NULL test. Default 0: NULL before the first store.
 */
#ifndef PORT_HART_DATA_INITIAL
#define PORT_HART_DATA_INITIAL 0
#endif
void *port_hart_data_initial(void);

/*
 * PORT_HART_DATA_AT_TP: 1 if port_hart_data() is not a stored pointer but
 * this hart's own area of PORT_HART_DATA_BYTES bytes at the thread pointer
 * (the RISC-V port), so the layer above keeps its per-hart record there and
 * reaches its fields with tp-relative loads. port_set_hart_data() then does
 * nothing; `void *port_hart_data_of(unsigned hart)` is hart's area (for
 * other harts' statistics and flush requests; all zeros for a hart that
 * is not there); and before any hart runs kernel code the port fills each
 * present hart's area with the PORT_HART_DATA_BYTES bytes at
 * port_hart_data_initial() (zeros if that is NULL), which the layer above
 * must make that long. Default 0: a pointer slot.
 */
#ifndef PORT_HART_DATA_AT_TP
#define PORT_HART_DATA_AT_TP 0
#endif

/*
 * port_irq_save_brief / port_irq_restore_brief: port_irq_save/restore for a
 * short straight-line section that calls nothing, takes no trap and writes
 * no other interrupt or status state (percpu's magazine hit paths). The
 * restore may then write back the saved status word whole instead of
 * masking out the one enable bit (RISC-V: one instruction less on each
 * side). A port that has such a pair defines PORT_IRQ_BRIEF 1 and both
 * functions in its port_impl.h; the default is the plain pair.
 */
#ifndef PORT_IRQ_BRIEF
#define PORT_IRQ_BRIEF 0

static inline port_irqflags_t port_irq_save_brief(void)
{
	return port_irq_save();
}

static inline void port_irq_restore_brief(port_irqflags_t flags)
{
	port_irq_restore(flags);
}
#endif

/*
 * port_alone(): true only while no other hart (thread) of this program can
 * touch memory the caller shares, so a lock may be taken with a plain load
 * and store instead of an atomic RMW (<platform/ticket_lock.h>). Another
 * hart may start later, but only through a call that orders everything the
 * caller wrote before it (the host: pthread_create), and the port then
 * answers false before that hart runs. The host reads glibc's
 * __libc_single_threaded (which pthread_create clears first; glibc's own
 * malloc skips its atomics on it, SINGLE_THREAD_P). A port that can say
 * defines PORT_KNOWS_ALONE 1 and port_alone() in its port_impl.h; the
 * default is false: the RISC-V ports run every hart from boot.
 */
#ifndef PORT_KNOWS_ALONE
#define PORT_KNOWS_ALONE 0

static inline bool port_alone(void)
{
	return false;
}
#endif

/*
 * Out-of-line hooks, linked from the port (the RISC-V kernel implements them
 * in kernel/, the M-mode port in platform/riscv_mmode, the host port in
 * platform/host):
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
 * C's memcpy, memmove and memset, supplied by the port: GCC requires a
 * freestanding environment to provide them (it emits calls to them for
 * struct copies and zeroing), so the library uses them too rather than
 * keeping copies of its own. Any context, no lock. The RISC-V ports' are
 * word-wise (platform/riscv_common/string.c), the host port's the C
 * library's.
 */
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

/*
 * Supplied by the library's formatter (kernel/fmt.c; inside the
 * amalgamation unless built with -DSMPHEAP_NO_FORMATTER), or by the port.
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
 * host a no-op (PORT_KICK_INTERRUPTS 0: harts poll). The handler is global,
 * set once by percpu_init through port_set_kick_handler; a kick may be
 * coalesced with another, and may arrive with nothing to do (the handler
 * checks its own flag and returns). The kick shares the kernel's IPI: the
 * port's IPI handler calls the kick handler and then the kernel's own IPI
 * work (or the other way round), each tolerating calls meant for the other;
 * it does not take the IPI over.
 */
void port_kick_hart(unsigned hart);

/*
 * Microseconds from a monotonic clock shared by all harts (any start).
 * For bounding waits on slow paths by time rather than by rounds, which
 * last very different times on QEMU, a busy host and real hardware. RISC-V:
 * the `time` CSR (S-mode needs mcounteren.TM from M-mode) or the CLINT's
 * mtime register (M-mode), divided by the timebase (QEMU virt: 10 MHz, the
 * DTB's /cpus/timebase-frequency). Any interrupt context.
 */
uint64_t port_time_us(void);

/*
 * 64 bits that differ from boot to boot, for the heap's per-boot secret
 * (HEAP_HARDENING >= 2: canaries and free-list link encoding). Not a
 * cryptographic generator: it only has to be unknown to code that can
 * overwrite heap memory but not read the secret. Host: getrandom(2), else
 * the clock and addresses. RISC-V: the timer (and, in M-mode, the cycle
 * counter) since reset, mixed with an address; under QEMU's icount the
 * timer is deterministic, so the value is too. Called once, at kheap_init.
 */
uint64_t port_entropy(void);
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
