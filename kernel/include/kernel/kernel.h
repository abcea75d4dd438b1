/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The S-mode SMP test kernel: what a test scenario can call.
 *
 * Boot flow (kernel/main.c): the boot hart starts every other hart, waits
 * for all of them, then every hart runs kernel_scenario.run() between two
 * barrier()s; the boot hart then calls kernel_scenario.finish() and exits
 * QEMU with its return value. Local interrupts are enabled on every hart
 * before run(). Per-hart data: index arrays with smp_this_hart() (tp's area,
 * port_hart_data(), is percpu's).
 *
 * Also available from <platform/riscv.h>: platform_set_tick_hook(),
 * platform_set_ipi_hook(), platform_send_ipi(), platform_time(),
 * platform_timebase_hz(), sheap/eheap.
 */
#ifndef KERNEL_KERNEL_H
#define KERNEL_KERNEL_H

#include <platform/port.h>
#include <platform/riscv.h>
#include <stdbool.h>
#include <stdint.h>

/* One per test kernel binary: exactly one file defines kernel_scenario. */
struct kernel_scenario {
	const char *name;
	/* Boot hart, before the other harts run anything (may be null). */
	void (*setup)(void);
	/* Every hart, concurrently, with interrupts enabled. */
	void (*run)(unsigned hart);
	/* Boot hart, after every run() returned: returns the exit code. */
	int (*finish)(void);
};
extern const struct kernel_scenario kernel_scenario;

/* Harts that are up and run the scenario; indices are 0..smp_nharts()-1. */
unsigned smp_nharts(void);
/* This hart's index (same as port_hart_id()). */
static inline unsigned smp_this_hart(void)
{
	return port_hart_id();
}
/* Index of the hart that booted (not necessarily 0). */
unsigned smp_boot_hart(void);

/*
 * Waits until every hart has called barrier() (the n-th time). Acts as a
 * full memory barrier: writes before it are visible to every hart after it.
 */
void barrier(void);
/*
 * The same, calling idle() (if not NULL) while it waits: a hart that
 * finished early keeps reporting progress, so a long run is not taken for
 * a silent hang (run_qemu --silence).
 */
void barrier_while(void (*idle)(void));

/*
 * printf to the console. Output is gathered per hart and written a whole
 * line at a time under the console lock, so lines never interleave. Safe
 * with interrupts masked and from interrupt handlers.
 */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

/*
 * Stops every other hart, prints `PANIC hart=H: message` and details in one
 * unbroken block straight to the UART, exits QEMU with `code` (never 0; 0
 * becomes PORT_EXIT_PANIC). Same as port_panic().
 */
#define panic(...) port_panic(PORT_EXIT_PANIC, __VA_ARGS__)
#define kassert(cond)                                                       \
	do {                                                                \
		if (!(cond))                                                \
			port_panic(PORT_EXIT_PANIC, "assertion failed: %s (%s:%d)", \
				   #cond, __FILE__, __LINE__);              \
	} while (0)

/*
 * Value of `key=value` in the bootargs (decimal or 0x hex), else def. A
 * bad number, or `key=` with no value, is named and stops the kernel
 * (exit 2), here and in kernel_arg_str: never the default in its place.
 * A key given twice takes its last value, as run_qemu's own options do.
 */
uint64_t kernel_arg_u64(const char *key, uint64_t def);
/*
 * kernel_arg_u64(key, def), a time in units of 1/per_second s (1000000:
 * microseconds), as timebase ticks. A value whose ticks pass 64 bits is
 * named and stops the kernel (exit 2), as a bad number does: wrapped, a
 * tick every 21 days became one every microsecond.
 */
uint64_t kernel_arg_ticks(const char *key, uint64_t def, uint64_t per_second);
/*
 * kernel_arg_u64(key, def) as a hart index (smp_this_hart()'s numbering): one
 * past the harts present is named and stops the kernel (exit 2), not cut to
 * 32 bits or left to pick no hart at all. def must be a hart present.
 */
unsigned kernel_arg_hart(const char *key, unsigned def);
/* Value of `key=value` copied into buf (NUL-terminated); false if absent. */
bool kernel_arg_str(const char *key, char *buf, size_t size);

/* Timebase ticks to microseconds, for reports. */
static inline uint64_t ticks_to_us(uint64_t ticks)
{
	return ticks * 1000000 / platform_timebase_hz();
}

/* Console internals shared with panic.c. */
void console_init(void);

#endif /* KERNEL_KERNEL_H */
