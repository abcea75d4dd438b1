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
 *      a poisoned block is a "double free"; the last word of every
 *      allocated block is a canary checked at every free and realloc and
 *      before percpu caches a block ("buffer overflow (canary)"); the free
 *      lists' links are stored encoded with a per-boot secret
 *      (port_entropy()) and their own address, and one that does not decode
 *      to a block is reported ("corrupted free-list link"), never followed
 *      (Linux's SLAB_FREELIST_HARDENED, glibc's safe-linking).
 *   3  (paranoid) Also: the whole-heap validator at every release of the
 *      heap lock (kheap.c), so damage is named at the next heap operation.
 */
#ifndef HEAP_HARDENING_H
#define HEAP_HARDENING_H

/*
 * -DHEAP_HARDENING=N on the compiler's command line wins (a test fixed at a
 * level for its whole build: host_test's defines); else `--define
 * hardening=N`, which //heap:hardening's select passes as
 * HEAP_HARDENING_FROM_DEFINE; else 1. Two macros, so that a test fixed at
 * one level still builds under `bazel test --define hardening=M //...`
 * (one macro would be defined twice, differently).
 */
#ifndef HEAP_HARDENING
#ifdef HEAP_HARDENING_FROM_DEFINE
#define HEAP_HARDENING HEAP_HARDENING_FROM_DEFINE
#else
#define HEAP_HARDENING 1
#endif
#endif
#if HEAP_HARDENING < 0 || HEAP_HARDENING > 3
#error "HEAP_HARDENING must be 0, 1, 2 or 3"
#endif

#endif /* HEAP_HARDENING_H */
