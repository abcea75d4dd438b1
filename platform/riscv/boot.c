// SPDX-License-Identifier: BSD-2-Clause
/*
 * Platform bring-up: the boot hart probes which hart ids exist (SBI HSM
 * hart_get_status, so no DTB walk of /cpus is needed), numbers them densely,
 * and hands over to kernel_main(). Secondary harts arrive through
 * _secondary_entry with tp already at their data area.
 */
#include "internal.h"
#include "sbi.h"

#include <platform/fault.h>

_Static_assert(__builtin_offsetof(struct hart_local, index) == HART_LOCAL_INDEX,
	       "entry.S and port_hart_id() expect the index first");
_Static_assert(__builtin_offsetof(struct hart_local, stack_top) == HART_LOCAL_STACK_TOP,
	       "entry.S loads sp from HART_LOCAL_STACK_TOP below tp");
_Static_assert(__builtin_offsetof(struct hart_local, parked) == HART_LOCAL_PARKED,
	       "trap.S sets parked at HART_LOCAL_PARKED below tp");

/*
 * tp points at this block's data between _start and the hart probe:
 * port_hart_id() reads 0.
 */
struct hart_block platform_early_block;

static struct hart_block hart_blocks[PORT_MAX_HARTS];
static unsigned nharts;
static unsigned boot_index;

bool riscv_has_sstc;
volatile int riscv_probing_csr;
volatile int riscv_probe_faulted;

extern char __stacks_start[], __stacks_end[], __stack_size[], __max_harts[];
extern void _start(void);
extern void _secondary_entry(void);
/* entry.S: harts OpenSBI let into _start after the boot hart (see there). */
extern uint64_t late_arrived[RISCV_MAX_HARTS];
extern void *late_hart_tp[RISCV_MAX_HARTS];
_Static_assert(RISCV_MAX_HARTS == PORT_MAX_HARTS, "entry.S sizes its arrays by RISCV_MAX_HARTS");
extern void trap_vector(void);

void platform_boot(unsigned long hartid, const void *dtb);
void platform_secondary_boot(void);

/* Weak: a library that keeps per-hart data links its own (<platform/port.h>). */
__attribute__((weak)) void *port_hart_data_initial(void)
{
	return NULL;
}

static _Noreturn void early_fatal(const char *msg)
{
	uart_puts("PANIC early boot: ");
	uart_puts(msg);
	uart_puts("\n");
	platform_exit(PORT_EXIT_PANIC);
}

static void put_hex(uint64_t v)
{
	uart_puts("0x");
	for (int sh = 60; sh >= 0; sh -= 4)
		if (v >> sh || !sh)
			uart_putc("0123456789abcdef"[v >> sh & 15]);
}

/*
 * The heap is fixed at link time (kernel.ld): RAM that ends below it ended
 * the run with a store access fault in kheap_init, named as a trap.
 */
static void check_memory(void)
{
	uint64_t lo = (uintptr_t)_start, hi = (uintptr_t)eheap;

	if (fdt_mem_holds(lo, hi))
		return;
	uart_puts("PANIC early boot: memory: no /memory range holds ");
	put_hex(lo);
	uart_puts("..");
	put_hex(hi);
	uart_puts(" (the kernel and its heap): give QEMU more RAM (-m)\n");
	platform_exit(PORT_EXIT_PANIC);
}

static void set_tp(struct hart_block *b)
{
	/* "memory": nothing may read port_hart_id() across the switch. */
	__asm__ volatile("mv tp, %0" : : "r"(b->data) : "memory");
}

void *port_hart_data_of(unsigned hart)
{
	return hart_blocks[hart].data;
}

/* Reads stimecmp once; if OpenSBI left menvcfg.STCE clear, that traps. */
static bool probe_sstc(void)
{
	riscv_probe_faulted = 0;
	riscv_probing_csr = 1;
	(void)csr_read(0x14d);
	riscv_probing_csr = 0;
	return !riscv_probe_faulted;
}

/* What every hart does before it runs kernel code. */
static void hart_init(struct hart_local *hl)
{
	csr_write(stvec, (unsigned long)trap_vector);
	csr_clear(sip, SIP_SSIP);
	riscv_tick_init(&hl->tick);
	riscv_tick_program(UINT64_MAX);
	/*
	 * Both sources stay enabled in sie for good: wfi in port_wait_long()
	 * wakes on them even while sstatus.SIE masks the trap itself.
	 */
	csr_write(sie, SIE_STIE | SIE_SSIE);
	/* Ticks may have been set up before this hart started. */
	riscv_tick_resync(&hl->tick);
}

void platform_boot(unsigned long hartid, const void *dtb)
{
	csr_write(stvec, (unsigned long)trap_vector);
	if ((unsigned long)__max_harts != PORT_MAX_HARTS)
		early_fatal("kernel.ld MAX_HARTS != PORT_MAX_HARTS");
	fdt_scan(dtb);
	check_memory();

	boot_index = PORT_MAX_HARTS;
	for (unsigned long id = 0; id < PORT_MAX_HARTS; id++) {
		struct sbiret r = sbi_hart_get_status(id);
		struct hart_local *hl;

		if (r.error != SBI_SUCCESS)
			continue;
		hl = &hart_blocks[nharts].local;
		hl->index = nharts;
		hl->hartid = id;
		hl->stack_top = (unsigned long)__stacks_start +
				(nharts + 1) * (unsigned long)__stack_size;
		if (id == hartid)
			boot_index = nharts;
		nharts++;
	}
	if (boot_index == PORT_MAX_HARTS)
		early_fatal("boot hart id not found by hart_get_status (>= PORT_MAX_HARTS?)");
	/*
	 * Before any hart runs kernel code: the data areas' first contents
	 * (PORT_HART_DATA_AT_TP, <platform/port.h>), for the harts there are;
	 * .bss zeros without an image.
	 */
	const void *initial = port_hart_data_initial();
	for (unsigned i = 0; initial && i < nharts; i++)
		memcpy(hart_blocks[i].data, initial, PORT_HART_DATA_BYTES);
	hart_blocks[boot_index].local.stack_top = (unsigned long)__stacks_end;
	/* Before any hart runs on its stack; the boot stack is far above. */
	for (unsigned i = 0; i < nharts; i++)
		*(volatile unsigned long *)platform_stack_guard(i) = PLATFORM_STACK_GUARD;
	hart_blocks[boot_index].local.started = 1;
	set_tp(&hart_blocks[boot_index]);

	riscv_has_sstc = probe_sstc();
	hart_init(this_hart_local());
	kernel_main();
	platform_park();
}

void platform_secondary_boot(void)
{
	hart_init(this_hart_local());
	kernel_secondary_main();
	platform_park();
}

/* Where a started hart begins; see FAULT_LATE_START. */
static unsigned long start_address(unsigned index)
{
#if FAULT == FAULT_LATE_START
	/* Test-only: the last hart comes in at _start, as a stray one would. */
	if (index == nharts - 1)
		return (unsigned long)_start;
#else
	(void)index;
#endif
	return (unsigned long)_secondary_entry;
}

long platform_start_hart(unsigned index)
{
	struct hart_local *hl = &hart_blocks[index].local;
	void *tp = hart_blocks[index].data;
	struct sbiret r;

	if (index >= nharts || index == boot_index)
		return SBI_ERR_INVALID_PARAM;
	/*
	 * A hart that OpenSBI sends to _start instead (see entry.S) waits
	 * there for this; one that comes in at _secondary_entry never reads
	 * it. Release: its hart_local is complete before it sees the pointer.
	 */
	__atomic_store_n(&late_hart_tp[hl->hartid], tp, __ATOMIC_RELEASE);
	/*
	 * "Already available": OpenSBI let this hart into _start already
	 * (seen under heavy host load), or it is still on its way there, so
	 * look for it for 2 s.
	 */
	for (uint64_t deadline = platform_time() + 2 * riscv_timebase_hz;;) {
		r = sbi_hart_start(hl->hartid, start_address(index),
				   (unsigned long)tp);
		if (r.error != SBI_ERR_ALREADY_AVAILABLE)
			break;
		/* Acquire: pairs with the release fence in _start_late. */
		if (__atomic_load_n(&late_arrived[hl->hartid], __ATOMIC_ACQUIRE)) {
			r.error = SBI_SUCCESS;
			break;
		}
		if (platform_time() > deadline)
			break;
		port_wait_long();
	}
	if (r.error == SBI_SUCCESS)
		hl->started = 1;
	return r.error;
}

unsigned platform_nharts(void)
{
	return nharts;
}

unsigned platform_boot_hart(void)
{
	return boot_index;
}

struct hart_local *platform_hart_local(unsigned index)
{
	return &hart_blocks[index].local;
}

const volatile unsigned long *platform_stack_guard(unsigned index)
{
	if (index >= nharts)
		return NULL;
	return (const volatile unsigned long *)(hart_blocks[index].local.stack_top -
						(unsigned long)__stack_size);
}

unsigned long platform_hartid(unsigned index)
{
	return hart_blocks[index].local.hartid;
}

bool platform_has_sstc(void)
{
	return riscv_has_sstc;
}

void platform_irq_enable(void)
{
	csr_set(sstatus, SSTATUS_SIE);
}
