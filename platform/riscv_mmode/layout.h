/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Constants shared by entry.S and the C files of the M-mode port (kernel.ld
 * has its own copy of the load address: 0x80000000, where QEMU's reset
 * vector jumps when there is no firmware).
 */
#ifndef PLATFORM_RISCV_MMODE_LAYOUT_H
#define PLATFORM_RISCV_MMODE_LAYOUT_H

#ifndef PORT_MAX_HARTS
#error "the M-mode port is built with -DPORT_MAX_HARTS=N (its BUILD sets 8)"
#endif

#define MMODE_STACK_SIZE 16384
#define MSTATUS_FS_INITIAL 0x2000
#define MIE_MSIE 0x8
#define MIE_MTIE 0x80

#endif
