// SPDX-License-Identifier: BSD-2-Clause
/*
 * Test-only faults: every fault point of the project, named in one place.
 *
 * A build has at most one fault, chosen by the single define FAULT, which a
 * test's transition sets for the whole build of that test (host_test's or
 * variant_test's `fault`, qemu_test's `fault`: tools/testing/host_test.bzl,
 * tools/qemu/qemu.bzl), e.g. -DFAULT=FAULT_BROKEN_LOCK. Shipping builds have
 * FAULT == FAULT_NONE. The tests that select a fault must fail loudly: they
 * prove that the checks (the lock torture, the drain check, the stress's
 * validator) notice the bug.
 */
#ifndef PLATFORM_FAULT_H
#define PLATFORM_FAULT_H

#define FAULT_NONE 0

/* platform/ticket_lock.c: `lock` does not wait for its ticket, so the lock
 * does not exclude (heap, depots, kernel console: every lock of the build). */
#define FAULT_BROKEN_LOCK 1

/* percpu/depot.c: the FAULT_DROP_BLOCK_AT-th block handed back to the heap
 * is silently dropped, a leak. */
#define FAULT_DROP_BLOCK 2
#define FAULT_DROP_BLOCK_AT 1000

/* platform/riscv/boot.c: the boot hart starts its last hart at _start, as
 * OpenSBI has been seen to do under load, so entry.S's adoption path runs. */
#define FAULT_LATE_START 3

/* tests/stress/heap_stress.c: at its FAULT_STUCK_LOCK_AT-th operation hart 1
 * takes its inbox's lock and never lets go, so the harts that send to it
 * stop: the stall report must name that lock. */
#define FAULT_STUCK_LOCK 4
#define FAULT_STUCK_LOCK_AT 1000

/* percpu/budget.c: every FAULT_LEAK_CHARGE_EVERY-th percpu_uncharge gives
 * nothing back, so the caches stay charged after the drain. */
#define FAULT_LEAK_CHARGE 5
#define FAULT_LEAK_CHARGE_EVERY 50

/* percpu/flush.c: every FAULT_LOSE_ORPHAN_EVERY-th orphan magazine (a flush
 * answer's) taken off the orphan list is dropped, rounds and charge. */
#define FAULT_LOSE_ORPHAN 6
#define FAULT_LOSE_ORPHAN_EVERY 10

/* heap/kheap.c: the copy of kheap's realloc of an offset-tagged block
 * (realloc_offset) is one word short. */
#define FAULT_SHORT_REALLOC_COPY 7

#ifndef FAULT
#define FAULT FAULT_NONE
#endif

#endif
