// SPDX-License-Identifier: BSD-2-Clause
/* Host port: the out-of-line half of the port contract for Linux. */
#include <platform/mix64.h>
#include <platform/port.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

_Thread_local unsigned port_host_hart PORT_HOST_TLS;
_Thread_local void *port_host_hart_data PORT_HOST_TLS;

void port_host_become_hart(unsigned hart)
{
	if (hart >= PORT_MAX_HARTS)
		port_panic(PORT_EXIT_PANIC, "port_host_become_hart: hart %u >= %u",
			   hart, (unsigned)PORT_MAX_HARTS);
	port_host_hart = hart;
	/* A new hart: its port_hart_data() starts out NULL. */
	port_host_hart_data = NULL;
}

uint64_t port_time_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

uint64_t port_entropy(void)
{
	uint64_t v = 0;
	/* errno as it was: see wait_host.c (kheap_init calls this in the shim's constructor). */
	int saved = errno;
	ssize_t got = getrandom(&v, sizeof(v), GRND_NONBLOCK);
	errno = saved;
	if (got == (ssize_t)sizeof(v))
		return v;
	/* No getrandom (old kernel, seccomp): the clock and ASLR'd addresses. */
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	v = (uint64_t)t.tv_nsec ^ ((uint64_t)t.tv_sec << 30) ^ (uint64_t)(uintptr_t)&v ^
	    ((uint64_t)(uintptr_t)&port_entropy << 17);
	return port_mix64(v);
}

void port_wait_long(void)
{
	sched_yield();
}

void port_kick_hart(unsigned hart)
{
	(void)hart; /* host harts poll for requests at their next operation */
}

void port_set_kick_handler(void (*handler)(void))
{
	(void)handler;
}

void port_exit(int code)
{
	fflush(stdout);
	exit(code);
}

void port_vprintf(const char *fmt, va_list ap)
{
	/* stdio locks the stream per call, so one call's text stays whole. */
	vprintf(fmt, ap);
}

int port_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	/* glibc's allocates nothing for the conversions the contract lists. */
	return vsnprintf(buf, size, fmt, ap);
}

int port_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void port_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	port_vprintf(fmt, ap);
	va_end(ap);
}

/*
 * port_panic's claim: the first caller prints the one report and ends the
 * run; a second caller on another thread stops (the contract's "just
 * stops"), so its report neither splices into the first (each stdio call
 * locks stderr alone) nor ends the run with its own exit code. A nested
 * call on the thread that holds the claim exits at once, as the kernel's.
 *
 * The claim holds the claiming process's id, not a flag: a fork child
 * inherits the word, but not the thread that claimed it (one of the
 * parent's, which forked on another thread while that one was printing its
 * report). With a flag, the child's own panic stopped for ever, a hung
 * child instead of a dead one (//platform:port_panic_fork_test); a claim
 * made by another process is void here, and the child takes it.
 */
static pid_t panic_claimed;
static _Thread_local bool panicking PORT_HOST_TLS;

void port_panic(int exit_code, const char *fmt, ...)
{
	va_list ap;
	pid_t me = getpid(), owner = 0;
	exit_code = exit_code ? exit_code : PORT_EXIT_PANIC;
	if (panicking) {
		/* write(2): this thread may be inside stdio, mid-report. */
		static const char nested[] = "\nPANIC (nested panic on the same thread)\n";
		ssize_t w = write(2, nested, sizeof(nested) - 1);
		(void)w;
		_Exit(exit_code);
	}
	/*
	 * Relaxed: the claim publishes nothing (the loser prints nothing and
	 * touches nothing); it only picks the one caller that reports. A
	 * failed CAS leaves the holder's id in owner: another process's (a
	 * parent's, before our fork) is taken over by the next try.
	 */
	while (!__atomic_compare_exchange_n(&panic_claimed, &owner, me, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		if (owner == me)
			for (;;)
				pause(); /* until the first caller's _Exit ends the process */
	panicking = true;
	fflush(stdout);
	fprintf(stderr, "PANIC on hart %u: ", port_hart_id());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_Exit(exit_code);
}
