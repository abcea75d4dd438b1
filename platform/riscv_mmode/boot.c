// SPDX-License-Identifier: BSD-2-Clause
/*
 * Boot: the words entry.S uses, the stacks and hart-data slots, the hand-off
 * to the kernel's mmode_boot_main / mmode_secondary_main, and the release
 * of the secondaries.
 */
#include "internal.h"

/* In .data, not .bss: read before the boot hart has zeroed .bss. */
__attribute__((section(".data"))) unsigned mmode_boot_lottery = 0;
__attribute__((section(".data"))) unsigned mmode_released = 0;

/* Stacks live outside .bss: the boot hart zeroes .bss while on its own. */
__attribute__((section(".stacks"), aligned(16)))
char mmode_stacks[PORT_MAX_HARTS][MMODE_STACK_SIZE];

struct port_mmode_slot port_mmode_slots[PORT_MAX_HARTS];
struct mmode_hart mmode_harts[PORT_MAX_HARTS];

static unsigned boot_hart;

unsigned mmode_boot_hart(void)
{
	return boot_hart;
}

/* No deadline yet; then the timer interrupt may be enabled. */
static void hart_timer_init(void)
{
	riscv_tick_init(&mmode_harts[port_hart_id()].tick);
	mmode_timer_program(UINT64_MAX);
	__asm__ volatile("csrs mie, %0" : : "r"((unsigned long)MIE_MTIE));
}

extern char _start[], eheap[];

_Noreturn void mmode_boot_entry(const void *dtb);
_Noreturn void mmode_boot_entry(const void *dtb)
{
	/*
	 * First, before any check of them (a trap's, a panic's) and before
	 * any other hart runs on its stack: every stack's, the harts that
	 * never start included, so none reads as overrun. Ours is far below
	 * our frames.
	 */
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++)
		*mmode_stack_guard(h) = PLATFORM_STACK_GUARD;
	boot_hart = port_hart_id();
	hart_timer_init();
	mmode_fdt_scan(dtb);
	/*
	 * The heap is fixed at link time (kernel.ld): RAM that ends below it
	 * ended the run with a store access fault, named as a trap.
	 */
	if (!mmode_mem_holds((uintptr_t)_start, (uintptr_t)eheap))
		port_panic(PORT_EXIT_PANIC, "memory: no /memory range holds %p..%p "
			   "(the kernel and its heap): give QEMU more RAM (-m)",
			   (void *)_start, (void *)eheap);
	mmode_boot_main(dtb);
}

_Noreturn void mmode_secondary_entry(void);
_Noreturn void mmode_secondary_entry(void)
{
	/* The release's wake-up: clear it, or the first unmask would trap. */
	*(volatile uint32_t *)MMODE_CLINT_MSIP(port_hart_id()) = 0;
	/*
	 * The clear also took a panic's stop IPI, if one came since the
	 * release: that hart stopped nowhere and the panic waited its whole
	 * second for it. So look for a panic as the IPI would have. The fence
	 * orders the clear (a device write) before the load: a panic that
	 * sets mmode_stopping after the load sends its IPI after the clear,
	 * and that one waits for the unmask.
	 */
	__asm__ volatile("fence iorw, iorw" ::: "memory");
	if (__atomic_load_n(&mmode_stopping, __ATOMIC_RELAXED))
		mmode_park();
	hart_timer_init();
	mmode_secondary_main();
}

void mmode_release_harts(void)
{
	unsigned n = mmode_nharts();

	/* Release: everything the boot hart set up, .bss zeroing included. */
	__atomic_store_n(&mmode_released, 1, __ATOMIC_RELEASE);
	for (unsigned h = 0; h < n && h < PORT_MAX_HARTS; h++)
		if (h != boot_hart)
			mmode_send_ipi(h);
}

void mmode_irq_enable(void)
{
	__asm__ volatile("csrs mstatus, %0" : : "r"(PORT_MMODE_MSTATUS_MIE) : "memory");
}
