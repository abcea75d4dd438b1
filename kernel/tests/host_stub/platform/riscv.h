/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host tests of the kernel's console (kernel/console.c): the two things of
 * <platform/riscv.h> that <kernel/kernel.h> and the console use, the
 * UART write supplied by the test itself.
 */
#ifndef KERNEL_TESTS_HOST_STUB_RISCV_H
#define KERNEL_TESTS_HOST_STUB_RISCV_H

#include <stddef.h>
#include <stdint.h>

uint64_t platform_timebase_hz(void);
void uart_write(const char *s, size_t n);

#endif
