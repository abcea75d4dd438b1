// SPDX-License-Identifier: BSD-2-Clause
/*
 * splitmix64 (Steele, Lea and Flood, 2014), written once: the ports'
 * port_entropy whiten their raw sources with its finaliser, and host tests
 * draw their numbers with the whole generator. Header-only and
 * freestanding (<stdint.h> only), so any port or test can take it.
 */
#ifndef PLATFORM_MIX64_H
#define PLATFORM_MIX64_H

#include <stdint.h>

/* The finaliser: every input bit reaches every output bit. */
static inline uint64_t port_mix64(uint64_t v)
{
	v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9u;
	v = (v ^ (v >> 27)) * 0x94d049bb133111ebu;
	return v ^ (v >> 31);
}

/* The generator: any state (0 too) is a good one; advances *state. */
static inline uint64_t port_splitmix64(uint64_t *state)
{
	return port_mix64(*state += 0x9e3779b97f4a7c15u);
}

#endif /* PLATFORM_MIX64_H */
