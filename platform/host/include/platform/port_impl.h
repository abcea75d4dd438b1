/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host port: Linux threads stand in for harts. A thread becomes hart N by
 * calling port_host_become_hart(N); a thread that never does is hart 0.
 * Interrupts do not exist here, so irq save/restore only mark nesting.
 */
#ifndef PLATFORM_HOST_PORT_IMPL_H
#define PLATFORM_HOST_PORT_IMPL_H

#include <sys/single_threaded.h>

/*
 * initial-exec: one %fs-relative load, no __tls_get_addr call, even when the
 * allocator is built into a shared object (the LD_PRELOAD shim, loaded at
 * program start, so static TLS space is there for it).
 */
#define PORT_HOST_TLS __attribute__((tls_model("initial-exec")))

extern _Thread_local unsigned port_host_hart PORT_HOST_TLS;

static inline unsigned port_hart_id(void)
{
	return port_host_hart;
}

/* Threads are the contexts here (see <platform/port.h>). */
#define PORT_THREAD_LOCAL _Thread_local PORT_HOST_TLS

extern _Thread_local void *port_host_hart_data PORT_HOST_TLS;

/* Host kicks are no-ops: harts notice requests when they next poll. */
#define PORT_KICK_INTERRUPTS 0

static inline void *port_hart_data(void)
{
	return port_host_hart_data;
}

static inline void port_set_hart_data(void *data)
{
	port_host_hart_data = data;
}

static inline unsigned long port_irq_save(void)
{
	return 0;
}

static inline void port_irq_restore(unsigned long flags)
{
	(void)flags;
}

static inline void port_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Yields the host CPU (sched_yield), so a preempted lock holder can run. */
void port_wait_long(void);

/*
 * port_wait_on / port_wake: a futex on the word (FUTEX_WAIT_BITSET with
 * bit `key`, FUTEX_WAKE_BITSET with `keys`), so a sleeper costs no CPU and
 * a waker wakes only the sleepers it names. See wait_host.c.
 */
#define PORT_WAIT_ON_WAKES 1
void port_wait_on(const uint32_t *word, uint32_t value, unsigned key);
void port_wake(const uint32_t *word, uint32_t keys);
int port_wake_one(const uint32_t *word);
bool port_fence_heavy(void);
bool port_fence_heavy_works(void);

/*
 * One thread in the process (port_alone, <platform/port.h>): glibc clears
 * __libc_single_threaded in pthread_create before the new thread runs, and
 * documents it as readable without synchronisation (a plain char).
 */
#define PORT_KNOWS_ALONE 1

static inline bool port_alone(void)
{
	return __libc_single_threaded;
}

/* Makes the calling thread hart `hart` (< PORT_MAX_HARTS). */
void port_host_become_hart(unsigned hart);

#endif
