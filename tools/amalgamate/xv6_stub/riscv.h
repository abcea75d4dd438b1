/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The shape of xv6-riscv's kernel/riscv.h: no include guard, and it uses
 * uint64 from types.h without including it.
 */
static inline uint64 r_tp(void)
{
	uint64 x;
	__asm__ volatile("mv %0, tp" : "=r"(x));
	return x;
}

static inline uint64 r_time(void)
{
	uint64 x;
	__asm__ volatile("csrr %0, time" : "=r"(x));
	return x;
}

static inline void intr_off(void)
{
	__asm__ volatile("csrc sstatus, 2");
}

typedef uint64 *pagetable_t;
#define PGSIZE 4096
#define PGROUNDUP(sz) (((sz) + PGSIZE - 1) & ~(PGSIZE - 1))
