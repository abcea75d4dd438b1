/* SPDX-License-Identifier: BSD-2-Clause */
/* The shape of xv6-riscv's kernel/memlayout.h. */
#define KERNBASE 0x80000000L
#define PHYSTOP (KERNBASE + 128 * 1024 * 1024)
