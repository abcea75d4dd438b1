/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * percpu's build options (Pigweed's config.h style): each has its default
 * here, and a build overrides it with a define, e.g. copts or defines
 * ["PERCPU_HARDEN=0"] on a cc_library, or --copt=-DPERCPU_HARDEN=0.
 */
#ifndef PERCPU_CONFIG_H
#define PERCPU_CONFIG_H

/*
 * PERCPU_HARDEN: what kfree's fast path checks before it caches a block.
 *
 *   0  The state byte alone (p - 7): a class value sends the block into the
 *      magazine. A foreign pointer (stack, global) or an interior pointer
 *      whose byte at p - 7 happens to be a class value (about 1 random byte
 *      in 9) is cached silently instead of reported.
 *      RV64 hit pair: kmalloc 22 + kfree 18 = 40 instructions.
 *   1  (default) Also the top bit of the check lane, set in every valid tag,
 *      and the heap's address range, [lowest region start, highest region
 *      end) from kheap_bounds_ (one shared read-mostly line). A block that
 *      fails either goes to the slow path, where the heap names the error.
 *      Still passes: a pointer into the heap whose fake tag has a class
 *      value and the top bit set (about 1 in 18 random interior pointers).
 *      RV64 hit pair: kmalloc 22 + kfree 26 = 48 instructions (the
 *      filter: lb + bgez for the bit; auipc + ld twice, sub, bgeu for the
 *      range).
 *
 * Counted with `[PERCPU_HARDEN=N] sh percpu/count_fastpath.sh 100` (gcc 12
 * -O2, the --config=riscv build).
 */
#ifndef PERCPU_HARDEN
#define PERCPU_HARDEN 1
#endif
#if PERCPU_HARDEN != 0 && PERCPU_HARDEN != 1
#error "PERCPU_HARDEN must be 0 or 1"
#endif

#endif /* PERCPU_CONFIG_H */
