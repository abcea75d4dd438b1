/* SPDX-License-Identifier: BSD-2-Clause */
/* The shape of xv6-riscv's kernel/param.h. */
#define NCPU 8
