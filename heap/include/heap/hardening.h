/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HEAP_HARDENING: the one build-time knob for how much the heap and the
 * per-hart caches check, from 0 to 3 (Zephyr's heap hardening levels;
 * Linux's SLAB_FREELIST_HARDENED and slub_debug's poison and red zones).
 * Chosen with `bazel build --define hardening=N ...` (//heap:hardening's
 * select), or -DHEAP_HARDENING=N in other builds; every file of the library
 * must see the same value. What each level catches, the test that proves it
 * and what each costs per kmalloc+kfree hit pair: README.md, "Hardening".
 *
 *   0  The heap's own checks at every free (tags, neighbours, cached and
 *      free states: double free, interior, foreign and overflowed pointers
 *      reaching the heap are named). kfree's fast path trusts the tag's
 *      state byte: a pointer whose byte at p - 7 is a class value is cached.
 *   1  (default) Also: kfree tests p against the heap's address range before
 *      any load through it, so a wild pointer is named "free of foreign
 *      pointer", never a fault; the same on every percpu entry point.
 *   2  (hardened) Also: kfree's fast path wants the check lane's top bit
 *      (interior pointers), and claims the state lane with an atomic
 *      compare-and-swap on every way a free caches a block or hands it to
 *      the heap, so of two harts (or a hart and its own interrupt) freeing
 *      one pointer at once exactly one wins and the other is named "double
 *      free"; blocks parked in a magazine are poisoned and checked when
 *      handed out again ("write after free"), and a free of a pointer into
 *      a poisoned block is a "double free". Planned here, not built yet: a
 *      canary after each block checked at free, free-list links encoded
 *      with a per-boot secret.
 *   3  (paranoid) Also: the whole-heap validator at every release of the
 *      heap lock (kheap.c), so damage is named at the next heap operation.
 */
#ifndef HEAP_HARDENING_H
#define HEAP_HARDENING_H

#ifndef HEAP_HARDENING
#define HEAP_HARDENING 1
#endif
#if HEAP_HARDENING < 0 || HEAP_HARDENING > 3
#error "HEAP_HARDENING must be 0, 1, 2 or 3"
#endif

#endif /* HEAP_HARDENING_H */
