/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The declarations of xv6-riscv's kernel/defs.h that matter here, as xv6
 * writes them (printf takes char *), but for the change PORTING.md section
 * 10 asks for: memset/memmove/memcmp take uint64 (= size_t) lengths, not
 * uint, so that they agree with <platform/port.h>'s.
 */
struct cpu;
struct pipe;
struct spinlock;

void *kalloc(void);
void kfree(void *);
void kinit(void);
void printf(char *, ...);
void panic(char *) __attribute__((noreturn));
int cpuid(void);
struct cpu *mycpu(void);
void push_off(void);
void pop_off(void);
int memcmp(const void *, const void *, uint64);
void *memmove(void *, const void *, uint64);
void *memset(void *, int, uint64);
