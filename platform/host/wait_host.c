// SPDX-License-Identifier: BSD-2-Clause
/*
 * Host port: port_wait_on / port_wake (the contract is in <platform/port.h>)
 * over a Linux futex. FUTEX_WAIT_BITSET puts the thread to sleep only if the
 * word still holds the value (checked by the kernel under the futex bucket
 * lock, so a waker that changed the word first cannot be missed), and
 * records the waiter's bit; FUTEX_WAKE_BITSET wakes only the sleepers whose
 * bit is in the waker's mask. The ticket lock keys its sleepers by ticket
 * number mod 32, so an unlock wakes the next holder, not every waiter.
 * Private futexes: the word never lives in memory shared between processes.
 *
 * Every system call here leaves errno as it found it: these run inside the
 * shim's malloc and free (tools/shim), whose callers may read errno after
 * a call that succeeded (POSIX 2024: free never changes it), and in a
 * constructor, before main, where it must read 0 (C11 7.5). A waiter for a
 * lock whose word moved on before it slept (EAGAIN) changed it: shim_cases
 * errnowait, some tens of mallocs a run.
 */
#include <platform/port.h>

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

void port_wait_on(const uint32_t *word, uint32_t value, unsigned key)
{
	/*
	 * EAGAIN (the word moved on), EINTR (a signal) and a wake all return:
	 * the caller re-reads the word either way.
	 */
	int saved = errno;
	syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, value,
		NULL, NULL, (uint32_t)1 << (key & 31));
	errno = saved;
}

void port_wake(const uint32_t *word, uint32_t keys)
{
	if (!keys)
		return;
	int saved = errno;
	syscall(SYS_futex, word, FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL,
		keys);
	errno = saved;
}

int port_wake_one(const uint32_t *word)
{
	int saved = errno;
	long woken = syscall(SYS_futex, word, FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG, 1, NULL,
			     NULL, FUTEX_BITSET_MATCH_ANY);
	errno = saved;
	/* An error woke nobody: the caller must not count on a sleeper. */
	return woken > 0;
}

/*
 * membarrier's private expedited command IPIs every CPU that runs one of our
 * threads and fences it (a descheduled thread's switch fenced it already);
 * it needs a registration once per process, done here on first use.
 * Registered: 1; unsupported (kernel before 4.14, a seccomp filter): -1.
 * Relaxed: a flag that two threads may both set to the same value; the
 * membarrier calls order what needs ordering.
 */
#ifdef PORT_HOST_NO_FENCE_HEAVY
/* Test-only: a host without membarrier, as an old kernel or a seccomp filter. */
static int fence_heavy_registered = -1;
#else
static int fence_heavy_registered;
#endif

static int fence_heavy_register(void)
{
	int reg = __atomic_load_n(&fence_heavy_registered, __ATOMIC_RELAXED);
	if (reg == 0) {
		int saved = errno; /* ENOSYS, EPERM: unsupported */
		reg = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0,
			      0) == 0 ? 1 : -1;
		errno = saved;
		__atomic_store_n(&fence_heavy_registered, reg, __ATOMIC_RELAXED);
	}
	return reg;
}

/*
 * Registered at load time, while the program most likely has one thread:
 * Linux then only marks the process. Registering with threads running
 * waits for every CPU to pass a grace period or answer an IPI: 8.9 ms,
 * measured at thread_bench's first contended lock at 2 threads (perf trace),
 * a fifth of that run. A library loaded later registers at its first
 * sleeper, as before.
 */
__attribute__((constructor)) static void fence_heavy_register_early(void)
{
	(void)fence_heavy_register();
}

bool port_fence_heavy(void)
{
	if (fence_heavy_register() <= 0)
		return false;
	int saved = errno;
	bool ok = syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
	errno = saved;
	return ok;
}

bool port_fence_heavy_works(void)
{
	return __atomic_load_n(&fence_heavy_registered, __ATOMIC_RELAXED) > 0;
}
