/* SPDX-License-Identifier: BSD-2-Clause */
/* The shape of xv6-riscv's kernel/types.h, for porting_example_test. */
typedef unsigned int uint;
typedef unsigned short ushort;
typedef unsigned char uchar;
typedef unsigned int uint32;
typedef unsigned long uint64;
