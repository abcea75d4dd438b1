/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The heap's build options: each has its default here, and a build
 * overrides it with a define (copts, or --copt=-DKHEAP_OOM_WAIT_US=...).
 */
#ifndef HEAP_CONFIG_H
#define HEAP_CONFIG_H

/* How many times an allocation calls the OOM hook (kheap_set_oom_hook)
 * before it reports out of memory. */
#ifndef KHEAP_OOM_MAX_RETRIES
#define KHEAP_OOM_MAX_RETRIES 64
#endif

/*
 * How many more attempts an allocation makes, after its hooks found
 * nothing, while frees other harts left on the deferred stack (the heap
 * lock was taken) wait there: each attempt takes the lock, which frees
 * them first. Bounds a failing allocation under a stream of such frees.
 */
#ifndef KHEAP_OOM_DEFERRED_RETRIES
#define KHEAP_OOM_DEFERRED_RETRIES 4
#endif

/*
 * How long (microseconds) a hart that runs out of memory while another
 * builds the report waits for that report's panic before it panics with
 * the short message itself. The wait ends much sooner: port_wait_long parks
 * the hart as soon as the reporter's port_panic asks every hart to stop.
 * The bound only matters if the reporting hart never gets there (it hangs
 * building the report).
 */
#ifndef KHEAP_OOM_WAIT_US
#define KHEAP_OOM_WAIT_US 5000000
#endif

/* kheap_validate passes the first this many errors to its report callback. */
#ifndef KHEAP_VALIDATE_MAX_REPORTS
#define KHEAP_VALIDATE_MAX_REPORTS 32
#endif

#endif /* HEAP_CONFIG_H */
