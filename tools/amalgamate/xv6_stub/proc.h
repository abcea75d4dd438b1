/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The shape of xv6-riscv's kernel/proc.h, with the `void *heap` field
 * PORTING.md asks for: needs types.h, param.h and spinlock.h first (no
 * include guard; struct proc embeds a struct spinlock, cpus[] is NCPU).
 */
struct cpu {
	struct proc *proc;
	int noff;
	int intena;
	void *heap;
};

extern struct cpu cpus[NCPU];

struct proc {
	struct spinlock lock;
	int pid;
};
