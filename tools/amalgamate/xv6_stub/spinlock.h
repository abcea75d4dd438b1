/* SPDX-License-Identifier: BSD-2-Clause */
/* The shape of xv6-riscv's kernel/spinlock.h (no include guard). */
struct spinlock {
	uint locked;
	char *name;
	struct cpu *cpu;
};
