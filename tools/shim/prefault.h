/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Page faults out of the heap lock: the shim faults in fresh pages of its
 * first region ahead of the carving that will use them (prefault.c).
 */
#ifndef SHIM_PREFAULT_H
#define SHIM_PREFAULT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older headers lack it */
#endif

/*
 * Installs the heap's batch hook for the region [lo, hi) (page-aligned,
 * the heap's first), if this kernel can fault pages in without writing
 * them (MADV_POPULATE_WRITE, Linux 5.14); else does nothing.
 */
void prefault_init(uintptr_t lo, uintptr_t hi);

/*
 * Bytes asked to be faulted in ahead so far (the SMPHEAP_STATS line); a
 * window the carving had already reached in part counts whole.
 */
size_t prefault_bytes(void);

#endif /* SHIM_PREFAULT_H */
