/* SPDX-License-Identifier: BSD-2-Clause */
/* The few SBI calls this port makes (SBI spec v0.2+ extensions). */
#ifndef PLATFORM_RISCV_SBI_H
#define PLATFORM_RISCV_SBI_H

#include <stdint.h>

#define SBI_EXT_TIME 0x54494D45
#define SBI_EXT_IPI 0x735049
#define SBI_EXT_HSM 0x48534D

#define SBI_SUCCESS 0
#define SBI_ERR_INVALID_PARAM (-3)
#define SBI_ERR_ALREADY_AVAILABLE (-6)

/* HSM hart states (hart_get_status). */
#define SBI_HSM_STARTED 0
#define SBI_HSM_STOPPED 1
#define SBI_HSM_START_PENDING 2
#define SBI_HSM_STOP_PENDING 3

struct sbiret {
	long error;
	long value;
};

struct sbiret sbi_hart_start(unsigned long hartid, unsigned long addr,
			     unsigned long opaque);
/* value = state, or error SBI_ERR_INVALID_PARAM if no such hart. */
struct sbiret sbi_hart_get_status(unsigned long hartid);
struct sbiret sbi_send_ipi(unsigned long hart_mask, unsigned long hart_mask_base);
struct sbiret sbi_set_timer(uint64_t deadline);

#endif
