/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * port_wait_on / port_wake for ports whose waits are bounded (both RISC-V
 * ports): port_wait_on is port_wait_long's short wfi wait, so no hart sleeps
 * for good and port_wake has nothing to do (see <platform/port.h>). A port's
 * port_impl.h includes this after declaring port_wait_long.
 */
#ifndef PLATFORM_WAIT_ON_BOUNDED_H
#define PLATFORM_WAIT_ON_BOUNDED_H

#include <stdint.h>

#define PORT_WAIT_ON_WAKES 0

static inline void port_wait_on(const uint32_t *word, uint32_t value, unsigned key)
{
	(void)key;
	/* Relaxed: the caller re-reads with its own ordering. */
	if (__atomic_load_n(word, __ATOMIC_RELAXED) == value)
		port_wait_long();
}

static inline void port_wake(const uint32_t *word, uint32_t keys)
{
	(void)word;
	(void)keys;
}

#endif /* PLATFORM_WAIT_ON_BOUNDED_H */
