/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The per-hart block's layout, for C and for entry.S (so no C here). Each
 * hart has one struct hart_block (<platform/riscv.h>): its struct
 * hart_local, then the area of the layer above (port_hart_data(),
 * PORT_HART_DATA_BYTES). tp points at that area, not at the hart_local,
 * so percpu's hit paths reach their fields with tp-relative loads and no
 * pointer load first (one instruction off kmalloc's hit path and one off
 * kfree's); the hart_local's fields sit at negative offsets from tp.
 */
#ifndef PLATFORM_RISCV_LAYOUT_H
#define PLATFORM_RISCV_LAYOUT_H

/* Field offsets inside struct hart_local; checked by _Static_assert. */
#define HART_LOCAL_INDEX 0
#define HART_LOCAL_STACK_TOP 16
/* trap.S marks a hart parked that has no stack to call platform_park on. */
#define HART_LOCAL_PARKED 88
/* sizeof(struct hart_local): the distance from it to tp. */
#define HART_LOCAL_BYTES 128
/* The layer above's area per hart: percpu's struct percpu_cpu. */
#define PORT_HART_DATA_BYTES 2112

#endif /* PLATFORM_RISCV_LAYOUT_H */
