/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared between the files of platform/riscv; not for the kernel. */
#ifndef PLATFORM_RISCV_INTERNAL_H
#define PLATFORM_RISCV_INTERNAL_H

#include <platform/riscv.h>

#define CSR_STIMECMP 0x14d

extern bool riscv_has_sstc;
extern uint64_t riscv_timebase_hz;

/*
 * The tick (riscv_tick.h) runs on riscv_tick_program(), which arms this
 * hart's timer for an absolute deadline through Sstc or SBI.
 */

/*
 * Copies /chosen/bootargs and /cpus/timebase-frequency out of the DTB and
 * notes its /memory ranges.
 */
void fdt_scan(const void *dtb);
/*
 * True if the DTB's /memory ranges (adjacent ones joined) hold [lo, hi),
 * or if the DTB told nothing this reader can check it by.
 */
bool fdt_mem_holds(uint64_t lo, uint64_t hi);

/* The trap code, while the boot hart probes for Sstc. */
extern volatile int riscv_probing_csr;
extern volatile int riscv_probe_faulted;

#endif
