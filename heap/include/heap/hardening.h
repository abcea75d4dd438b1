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
 *   2  (hardened) Also: kfree's fast path wants the check lane's top bit;
 *      two harts freeing one pointer at once are told apart by an atomic
 *      exchange of the state lane (the loser gets "double free"); blocks
 *      parked in a magazine are poisoned and checked when handed out again
 *      ("write after free"); a canary word after each small block is checked
 *      at free ("overflow"); the heap's free-list links are stored encoded
 *      with a per-boot secret, so an overwritten link is reported
 *      ("corrupted free-list link"), not followed.
 *   3  (paranoid) Also: the whole-heap validator after every kheap
 *      operation.
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
