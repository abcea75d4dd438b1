// SPDX-License-Identifier: BSD-2-Clause
/*
 * libsmpheap_malloc.so: the C library's malloc family over percpu/ + heap/,
 * for LD_PRELOAD on Linux. Host only; this is how the benchmark runs real
 * programs (and alloc_bench) on our allocator.
 *
 * Memory. The heap starts on one big anonymous mapping (1 GiB reserved,
 * PROT_READ|PROT_WRITE, MAP_NORESERVE: pages cost nothing until touched).
 * When it runs out, the heap's OOM hook maps another region (at least
 * 1 GiB, twice the request, and the heap so far: the regions double) and
 * claims it, and the heap retries. Where the address space is limited
 * (RLIMIT_AS), a region that does not fit is asked for at half the size,
 * down to the request's need (the first one down to 64 KiB). Fresh
 * pages of the first region are faulted in ahead of the refills that carve
 * them, outside the heap lock (prefault.c).
 *
 * Threads are harts. percpu/ indexes its magazines by port_hart_id(), so two
 * threads must never use one id at the same time. The PORT_MAX_HARTS ids
 * are split in two:
 *  - EXCLUSIVE_IDS (64): the first 64 threads to call in (SMPHEAP_EXCLUSIVE=N
 *    sets fewer, at least 8), each get an id of their
 *    own (one CAS on a bitmap word) and become that hart, with percpu's
 *    lock-free hit paths. A pthread key's destructor gives the hart's
 *    magazines back (percpu_hart_exit) and returns the id.
 *  - SHARED_IDS (64): every later thread borrows, for each call, an id of
 *    the CPU it runs on (2 per CPU; SMPHEAP_SHARED=N changes it), under
 *    that id's lock, as tcmalloc's per-CPU caches do; if the lock is busy
 *    (the holder was preempted), that CPU's other id. So the caches
 *    scale with CPUs, not threads (1,000 threads with a cache each held
 *    15x glibc's peak RSS), and no single lock serves every thread.
 * After its key's destructor a thread never takes an id again: what it
 * frees or allocates later (other keys' destructors, glibc's
 * __libc_thread_freeres) goes to the locked heap (kheap_*), so no id leaks
 * at thread exit.
 *
 * Init. The shim's constructor (shim_load), or an earlier call from any
 * thread, initialises everything; others spin until it is done. Nothing on
 * that path calls malloc (mmap, getenv and
 * pthread_key_create do not); pthread_atfork, which may, runs after the heap
 * is ready. A call that still arrives while this thread is initialising is
 * served from a small static bootstrap arena (never freed).
 *
 * Pointers we did not hand out (before the preload took over, e.g. from the
 * dynamic loader's own minimal malloc) are ignored by free and realloc'd by
 * copying at most what is known to be safe: nothing (realloc to 0: NULL, as
 * for our blocks). malloc_usable_size says 0. They are rare.
 *
 * Environment:
 *   SMPHEAP_MODE=bypass   percpu_init(PERCPU_BYPASS): every request goes to
 *                         the one locked heap (the baseline design).
 *   SMPHEAP_REGION_MB=N   size of the first region and the least of each later one
 *                         (default 1024; small values exercise the OOM hook).
 *   SMPHEAP_CACHE_KB=N    the caches' budget (percpu_set_cache_budget), in
 *                         KiB; by default 5% of the heap's claimed bytes,
 *                         which on the 1 GiB reservation never binds.
 *   SMPHEAP_PURGE_KB=N    freed blocks of N KiB and up give their pages
 *                         back to the kernel (purge.c; default 128, rising
 *                         as glibc's threshold does; 0 never).
 *   SMPHEAP_STATS=1       at exit, print percpu's summed counters to stderr
 *                         (slow-path rates: swaps, depot trades, refills),
 *                         the heap's high water, the caches' most, the
 *                         bytes faulted in ahead (prefault.c), the bytes
 *                         given back (purge.c) and the busiest depots.
 *   SMPHEAP_EXCLUSIVE=N   exclusive ids (8..64), SMPHEAP_SHARED=N shared
 *                         ids per CPU (1..64 / CPUs; 2).
 * A number out of its range is named on stderr and clamped to it; one that
 * is not a number, or another SMPHEAP_MODE, is named and the default
 * taken (env_size).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <heap/kheap.h>
#include <percpu/kmalloc.h>
#include <platform/port.h>
#include <platform/ticket_lock.h>

/*
 * percpu's hit paths (//percpu:percpu_internal), so malloc and free are each
 * one function with kmalloc_hit/kfree_hit inlined: no call, no hart_enter()
 * or ours() on a hit. Its likely/unlikely are the same as ours below.
 */
#include "percpu/percpu_internal.h"
#include "tools/shim/prefault.h"
#include "tools/shim/purge.h"
#undef likely
#undef unlikely

#define SHIM_EXPORT __attribute__((visibility("default")))
#define SHIM_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define MIN_ALIGN 16 /* every heap block */
#define DEFAULT_REGION_MB 1024
#define DEFAULT_PURGE_KB 128 /* glibc's M_MMAP_THRESHOLD */
/*
 * The biggest region the heap takes (one block spans at most 64 GiB - 16:
 * its size lane is 32 bits of 16-byte units), with room for its headers.
 * A request (size + alignment + slack) that cannot fit one fails with
 * ENOMEM at once: the heap would call it misuse (size overflow).
 */
#define MAX_REGION ((size_t)63 << 30)
#define REGION_SLACK ((size_t)1 << 20)
#define MAX_REQUEST (MAX_REGION - 2 * REGION_SLACK)
/*
 * Where the address space is short (RLIMIT_AS, `ulimit -v`; RLIMIT_DATA,
 * which counts every private writable mapping), a region that does not
 * fit is asked for again at half the size, down to what the request
 * needs, and the first region down to MIN_REGION: glibc's heap then still
 * works, and so must ours (before, the program died at start under
 * `ulimit -v 800000`, and malloc(1200 MiB) failed with 1.4 GiB left; and
 * with a first region of at least 4 MiB, under RLIMIT_DATA = 2 MiB, where
 * glibc runs the program: shim_cases tinydata). Below REGION_SLACK the
 * halves are multiples of MIN_REGION.
 */
#define MIN_REGION ((size_t)64 << 10)
#define REGION_ROUND(b) (((b) + REGION_SLACK - 1) & ~(REGION_SLACK - 1))
#define HALF_REGION(b)                                                        \
	((b) / 2 >= REGION_SLACK ? REGION_ROUND((b) / 2)                      \
				 : ((b) / 2 + MIN_REGION - 1) & ~(MIN_REGION - 1))

/* ---------------- regions ---------------- */

#define MAX_REGIONS 64
static struct {
	uintptr_t lo, hi;
} regions[MAX_REGIONS];
static atomic_uint nregions;
static size_t region_bytes;
static pthread_mutex_t region_lock = PTHREAD_MUTEX_INITIALIZER;
/*
 * The first region, [fast_lo, fast_lo + fast_span): free's hit path takes a
 * pointer only from there (exactly ours(), one compare). Set once, before
 * state becomes ST_READY; 0 until then (every pointer misses). Blocks of
 * later regions take free's slow path.
 */
static uintptr_t fast_lo, fast_span;

static void *map_region(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * A region of `want` bytes, else of half as many, and so on down to
 * `least` (both multiples of MIN_REGION; want of REGION_SLACK too); its
 * size in *got. NULL when not even `least` fits.
 */
static void *map_region_fit(size_t want, size_t least, size_t *got)
{
	/*
	 * The sizes that did not fit set errno (ENOMEM); the one that did
	 * serves a malloc that succeeds, or the constructor, before main,
	 * where errno must still read 0 (C11 7.5): errno as it was.
	 */
	int saved = errno;
	for (size_t b = want;; b = HALF_REGION(b) > least ? HALF_REGION(b) : least) {
		void *p = map_region(b);
		if (p) {
			errno = saved;
			*got = b;
			return p;
		}
		if (b <= least)
			return NULL;
	}
}

static void add_region(void *p, size_t bytes)
{
	unsigned n = atomic_load_explicit(&nregions, memory_order_relaxed);
	regions[n].lo = (uintptr_t)p;
	regions[n].hi = (uintptr_t)p + bytes;
	atomic_store_explicit(&nregions, n + 1, memory_order_release);
}

/* Did p come from one of our regions? Lock-free: regions are only added. */
static inline bool ours(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	unsigned n = atomic_load_explicit(&nregions, memory_order_acquire);
	for (unsigned i = 0; i < n; i++)
		if (a >= regions[i].lo && a < regions[i].hi)
			return true;
	return false;
}

/* Forgets the last region added (it was never claimed). region_lock held. */
static void drop_last_region(void)
{
	unsigned n = atomic_load_explicit(&nregions, memory_order_relaxed);
	atomic_store_explicit(&nregions, n - 1, memory_order_release);
}

/*
 * The heap's OOM hook: runs without the heap lock. Maps a region big enough
 * for the request and claims it; the heap then retries. A region the heap
 * refuses is unmapped again, and the allocation fails (ENOMEM).
 */
static kheap_oom_action_t shim_oom_hook(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	if (size > MAX_REQUEST || align > MAX_REQUEST ||
	    size + align > MAX_REQUEST)
		return KHEAP_OOM_FAIL;
	size_t need = REGION_ROUND(size + align + REGION_SLACK);
	size_t bytes = region_bytes;
	if (bytes < 2 * need)
		bytes = 2 * need;
	/*
	 * At least the heap so far: the regions double, so MAX_REGIONS of them
	 * reach far past what the machine has (at a fixed 1 GiB they stopped
	 * at 64 GiB), in few region-table entries for ours() to look at.
	 */
	if (bytes < kheap_capacity())
		bytes = kheap_capacity();
	if (bytes > MAX_REGION)
		bytes = MAX_REGION;
	bytes = REGION_ROUND(bytes);
	pthread_mutex_lock(&region_lock);
	kheap_oom_action_t rc = KHEAP_OOM_FAIL;
	if (atomic_load(&nregions) < MAX_REGIONS) {
		void *p = map_region_fit(bytes, need, &bytes);
		if (p) {
			/* Published first, so a block from it is ours() at once. */
			add_region(p, bytes);
			if (kheap_try_claim(p, (char *)p + bytes) == HEAP_OK) {
				rc = KHEAP_OOM_RETRY;
			} else {
				drop_last_region();
				munmap(p, bytes);
			}
		}
	}
	pthread_mutex_unlock(&region_lock);
	return rc;
}

/* ---------------- bootstrap arena ---------------- */

static _Alignas(64) unsigned char boot_arena[64 * 1024];
static atomic_size_t boot_used;

static void *boot_alloc(size_t size, size_t align)
{
	if (align < MIN_ALIGN)
		align = MIN_ALIGN;
	size_t want = (size + 15) & ~(size_t)15;
	for (;;) {
		size_t u = atomic_load(&boot_used);
		size_t start = (u + align - 1) & ~(align - 1);
		if (start + want > sizeof(boot_arena) || start + want < start)
			return NULL;
		if (atomic_compare_exchange_weak(&boot_used, &u, start + want))
			return boot_arena + start;
	}
}

static inline bool is_boot(const void *p)
{
	return (const unsigned char *)p >= boot_arena &&
	       (const unsigned char *)p < boot_arena + sizeof(boot_arena);
}

/* ---------------- init ---------------- */

enum { ST_NONE, ST_INITIALIZING, ST_READY };
static atomic_int state;
static bool bypass;
static SHIM_TLS bool initializing_thread;

static void hart_release_key(void *arg);
static pthread_key_t hart_key;
/* The shared ids' locks and the exclusive-id limit (see the top). */
static void shared_locks_init(void);
static void shared_config_init(void);
static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

/* Writes s to stderr: no stdio, which may malloc (init must not). */
static void say(const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = write(2, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void say_size(size_t v)
{
	char b[24], *e = b + sizeof(b);
	*--e = 0;
	do
		*--e = (char)('0' + v % 10);
	while (v /= 10);
	say(e);
}

/* "libsmpheap_malloc: NAME=VALUE: why" and the rest of the line. */
static void say_env(const char *name, const char *value, const char *why)
{
	say("libsmpheap_malloc: ");
	say(name);
	say("=");
	say(value);
	say(why);
}

/*
 * The environment variable `name`: decimal digits, in [lo, hi]; unset or
 * empty, dflt. A value that is not a number is named on stderr and dflt
 * taken; one out of range (past SIZE_MAX too) is named and clamped to the
 * range. Before, strtoul read them: its ERANGE stayed in errno at main
 * (C11 7.5: 0 there), a sign or a value past ULONG_MAX came back as a
 * huge number, and the shifts to bytes wrapped it: a 64 TiB first region
 * (the heap panicked at start), a 1 KiB cache budget, 0 shared ids per
 * CPU (a busy id sent a thread past them: "hart 130 >= 128"), all silent.
 */
static size_t env_size(const char *name, size_t dflt, size_t lo, size_t hi)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return dflt;
	size_t v = 0;
	const char *c = s;
	for (; *c >= '0' && *c <= '9'; c++)
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (size_t)(*c - '0'), &v))
			v = SIZE_MAX; /* saturates: out of range anyway */
	if (*c) {
		say_env(name, s, ": not a number, using ");
		say_size(dflt);
		say("\n");
		return dflt;
	}
	if (v >= lo && v <= hi)
		return v;
	say_env(name, s, ": out of range ");
	say_size(lo);
	say("..");
	say_size(hi);
	say(", using ");
	say_size(v < lo ? lo : hi);
	say("\n");
	return v < lo ? lo : hi;
}

static unsigned ids_in_use(void);

/* percpu's report lines, on stderr after the shim's prefix. */
static void print_report_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("smpheap: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static void print_stats(void)
{
	struct percpu_stats s;
	percpu_sum_stats(&s);
	double ops = (double)(s.allocs + s.frees);
	if (ops < 1)
		ops = 1;
	fprintf(stderr,
		"smpheap: allocs %llu frees %llu hits %.4f/%.4f swaps/op %.5f "
		"depot_exchanges/op %.5f refills/op %.5f (blocks %llu) returns/op %.5f "
		"(blocks %llu) large %llu/%llu locks %llu spins %llu\n",
		(unsigned long long)s.allocs, (unsigned long long)s.frees,
		s.allocs ? (double)s.alloc_hits / (double)s.allocs : 0.0,
		s.frees ? (double)s.free_hits / (double)s.frees : 0.0,
		(double)s.swaps / ops, (double)s.depot_exchanges / ops,
		(double)s.refills / ops, (unsigned long long)s.refill_blocks,
		(double)s.returns / ops, (unsigned long long)s.return_blocks,
		(unsigned long long)s.large_allocs, (unsigned long long)s.large_frees,
		(unsigned long long)s.lock_acquisitions, (unsigned long long)s.lock_spins);
	/* Where the resident bytes went: the heap's high water, the caches' most. */
	struct kheap_stats hs;
	struct percpu_cache_stats cs;
	kheap_get_stats(&hs);
	percpu_get_cache_stats(&cs);
	fprintf(stderr,
		"smpheap: heap_high_water_kb %zu cache_budget_kb %zu cache_charged_max_kb %zu "
		"active_harts %u regions %zu prefaulted_kb %zu purged_kb %zu "
		"purge_threshold_kb %zu\n",
		hs.heap.high_water >> 10, cs.budget >> 10, cs.charged_max >> 10,
		cs.active_harts, hs.heap.regions, prefault_bytes() >> 10, purge_bytes() >> 10,
		purge_threshold() == SIZE_MAX ? 0 : purge_threshold() >> 10);
	/* Threads may still run at exit: the two counts need not agree here. */
	(void)percpu_report_depots(print_report_line);
	/* Exclusive hart ids held at exit: 1 (this thread's) unless some leaked. */
	fprintf(stderr, "smpheap: ids_in_use=%u\n", ids_in_use());
}

static void __attribute__((noinline)) shim_init_slow(void)
{
	int expect = ST_NONE;
	if (!atomic_compare_exchange_strong(&state, &expect, ST_INITIALIZING)) {
		while (atomic_load_explicit(&state, memory_order_acquire) != ST_READY)
			port_cpu_relax();
		return;
	}
	initializing_thread = true;
	/*
	 * Nothing here fails in a way the program could see (the heap or
	 * _exit), yet getenv's and sysconf's callees may set errno, before
	 * main where it must read 0 (C11 7.5), or in a malloc that succeeds:
	 * errno as it was.
	 */
	int saved_errno = errno;
	const char *mode = getenv("SMPHEAP_MODE");
	bypass = mode && !strcmp(mode, "bypass");
	if (mode && *mode && !bypass)
		say_env("SMPHEAP_MODE", mode, ": not bypass, using the magazines\n");
	region_bytes = REGION_ROUND(env_size("SMPHEAP_REGION_MB", DEFAULT_REGION_MB, 1,
					     MAX_REGION >> 20)
				    << 20);
	size_t first = 0;
	void *p = map_region_fit(region_bytes, MIN_REGION, &first);
	if (!p) {
		static const char msg[] = "libsmpheap_malloc: cannot map the heap\n";
		ssize_t r = write(2, msg, sizeof(msg) - 1);
		(void)r;
		_exit(127);
	}
	kheap_init(p, (char *)p + first);
	add_region(p, first);
	fast_lo = (uintptr_t)p;
	fast_span = first;
	kheap_set_oom_hook(shim_oom_hook, NULL);
	prefault_init(fast_lo, fast_lo + fast_span);
	/* 0 keeps every page; blocks of PURGE_MAX and up are always dropped. */
	purge_init(env_size("SMPHEAP_PURGE_KB", DEFAULT_PURGE_KB, 0, PURGE_MAX >> 10));
	percpu_init(bypass ? PERCPU_BYPASS : PERCPU_MAGAZINES);
	/*
	 * A malloc that fails does not wait for other threads' caches, as
	 * glibc's does not: it still asks every thread to give its cache
	 * back, and takes what has come back so far. A thread answers only
	 * at its next call, and one blocked in a syscall never does: waiting
	 * the kernel's flush wait (1 s) cost every failing malloc a second
	 * while any thread that had allocated sat in read() or
	 * pthread_join (shim_cases failfast).
	 */
	percpu_set_flush_wait_us(0);
	/* 0: the derived budget, as unset. */
	size_t cache_kb = env_size("SMPHEAP_CACHE_KB", 0, 0, SIZE_MAX >> 10);
	if (cache_kb)
		percpu_set_cache_budget(cache_kb << 10);
	shared_config_init();
	shared_locks_init();
	pthread_key_create(&hart_key, hart_release_key);
	atomic_store_explicit(&state, ST_READY, memory_order_release);
	initializing_thread = false;
	/* May call malloc: the heap is ready now. */
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	const char *st = getenv("SMPHEAP_STATS");
	if (st && *st && *st != '0')
		atexit(print_stats);
	errno = saved_errno;
}

/*
 * Init when the shim is loaded, not at the program's first malloc, so the
 * shim's fork handlers are registered before the program's own: before a
 * fork, pthread_atfork runs the prepare handlers newest first, and after
 * it the parent and child handlers oldest first. The program's handlers
 * then run while the shim's locks are free, and may malloc and free, as
 * glibc lets them (it takes its own locks inside fork, after the prepare
 * handlers). Registered at the first malloc, after a handler the program
 * registered in main, the shim's prepare ran first, and that handler's
 * malloc waited for the locks its own thread held: the fork hung
 * (shim_cases atfork).
 */
__attribute__((constructor)) static void shim_load(void)
{
	if (atomic_load_explicit(&state, memory_order_acquire) != ST_READY && !initializing_thread)
		shim_init_slow();
}

/*
 * glibc's pthread_atfork (libc_nonshared.a, linked into each caller) calls
 * __register_atfork, which holds glibc's atfork lock while it grows its
 * handler list with malloc (past the 48 it keeps in place). Where that
 * malloc was the process's first (a library's constructor, which runs
 * before the shim's), it started the shim, whose own pthread_atfork then
 * waited for the lock its thread held: a hang before main (shim_cases
 * earlyatfork). So the shim answers to that name too: it starts first,
 * outside glibc's lock (and so registers its handlers before the caller's,
 * whose prepare handlers then run before the shim's, and may malloc), and
 * passes the call on to glibc's.
 */
typedef int (*register_atfork_fn)(void (*)(void), void (*)(void), void (*)(void), void *);

SHIM_EXPORT int __register_atfork(void (*prepare)(void), void (*parent)(void),
				  void (*child)(void), void *dso_handle)
{
	/* Relaxed: every thread that looks it up stores the same pointer. */
	static _Atomic(register_atfork_fn) next;
	if (atomic_load_explicit(&state, memory_order_acquire) != ST_READY && !initializing_thread)
		shim_init_slow(); /* registers the shim's handlers, through here */
	register_atfork_fn fn = atomic_load_explicit(&next, memory_order_relaxed);
	if (!fn) {
		/* The heap is ready: dlsym may malloc. */
		fn = (register_atfork_fn)dlsym(RTLD_NEXT, "__register_atfork");
		if (!fn)
			return ENOMEM;
		atomic_store_explicit(&next, fn, memory_order_relaxed);
	}
	return fn(prepare, parent, child, dso_handle);
}

/* ---------------- hart ids ---------------- */

/* Ids lent per call, by CPU (see the top); the rest can be exclusive. */
#define SHARED_IDS 64
#define EXCLUSIVE_IDS (PORT_MAX_HARTS - SHARED_IDS)
_Static_assert(EXCLUSIVE_IDS >= 8, "PORT_MAX_HARTS leaves too few exclusive ids");

#define ID_WORDS ((EXCLUSIVE_IDS + 63) / 64)
static atomic_uint_fast64_t id_free[ID_WORDS]; /* bit set: id taken */
/*
 * Exclusive ids handed out at most (set at init): all of them, 8..64 with
 * SMPHEAP_EXCLUSIVE. It was 4 per CPU while the host lock handed over in
 * FIFO order and more harts with slow paths meant more convoys; with the
 * barging lock, thread_bench on 2 CPUs ran 80-105 Mops at 8 threads with
 * 16+ ids against 59 with 8 (the bench's main thread takes one too), 59-61
 * at 64 threads with 64 against 23-35 with 8, and 1,000 threads 25-27
 * against 20-24, peak RSS within 15% either way.
 */
static unsigned exclusive_limit = 8;
/*
 * Shared ids (set at init): shared_per_cpu (2) for each of shared_cpus
 * CPUs; CPU c's are c, c + shared_cpus, c + 2 * shared_cpus, ...
 */
static unsigned shared_cpus = 1, shared_per_cpu = 2;

/*
 * One lock per shared id, each on its own line: the host's barging lock,
 * whose uncontended pair is one locked CAS and a plain store (a pthread
 * mutex's unlock is a second locked RMW, and every call on a shared id
 * takes one): thread_bench's medians of 5 alternating runs, 256 threads
 * 29.4 Mops against 28.4 with pthread mutexes, 1,000 threads 21.9 against
 * 20.8.
 */
static struct {
	ticket_lock_t m;
} __attribute__((aligned(64))) shared_lock[SHARED_IDS];

enum {
	HART_NONE = -1,    /* no id yet */
	HART_HEAP = -2,    /* the locked heap directly (past thread exit) */
	HART_BOOT = -3,    /* re-entered from init: the bootstrap arena */
	HART_SHARED = -5,  /* borrows a shared id per call */
};

static SHIM_TLS int my_hart = HART_NONE;
static SHIM_TLS unsigned my_shared; /* the shared id borrowed by this call */

static int id_take(void)
{
	for (unsigned w = 0; w < ID_WORDS; w++) {
		uint_fast64_t v = atomic_load(&id_free[w]);
		for (;;) {
			uint_fast64_t avail = ~v;
			if (exclusive_limit <= w * 64)
				break;
			if (exclusive_limit - w * 64 < 64)
				avail &= ((uint_fast64_t)1 << (exclusive_limit - w * 64)) - 1;
			if (!avail)
				break;
			unsigned b = (unsigned)__builtin_ctzll(avail);
			if (atomic_compare_exchange_weak(&id_free[w], &v,
							 v | ((uint_fast64_t)1 << b)))
				return (int)(w * 64 + b);
		}
	}
	return -1;
}

static unsigned ids_in_use(void)
{
	unsigned n = 0;
	for (unsigned w = 0; w < ID_WORDS; w++)
		n += (unsigned)__builtin_popcountll(atomic_load(&id_free[w]));
	return n;
}

static void id_give(int id)
{
	atomic_fetch_and(&id_free[id / 64], ~((uint_fast64_t)1 << (id % 64)));
}

/* Slow path of every call: init, then make this thread a hart. */
static int __attribute__((noinline)) hart_enter_slow(void)
{
	if (atomic_load_explicit(&state, memory_order_acquire) != ST_READY) {
		if (initializing_thread)
			return HART_BOOT;
		shim_init_slow();
	}
	/* HART_HEAP after our key's destructor: never an id again (no leak). */
	if (my_hart != HART_NONE)
		return my_hart;
	int id = id_take();
	if (id >= 0) {
		port_host_become_hart((unsigned)id);
		my_hart = id;
	} else {
		/* Hart data stays NULL outside a call: the hit paths miss. */
		my_hart = HART_SHARED;
	}
	/* Any non-NULL value: the destructor runs at thread exit. */
	pthread_setspecific(hart_key, (void *)(uintptr_t)1);
	return my_hart;
}

/* >= 0: an exclusive hart; else one of the HART_* values. */
static inline int hart_enter(void)
{
	int h = my_hart;
	if (likely(h >= 0))
		return h;
	return hart_enter_slow();
}

/*
 * A call on a shared id: under its lock, with this thread's hart data set
 * to the id's percpu data for the call only (so percpu's own fast paths
 * hit), and NULL again after it (so malloc's and free's inlined hit paths,
 * which take no lock, always miss on this thread).
 */
static void shared_locks_init(void)
{
	for (unsigned i = 0; i < SHARED_IDS; i++)
		ticket_lock_init(&shared_lock[i].m);
}

/*
 * The ids' split, at init only (a fork's child keeps its parent's, and
 * does not name a bad value again). Ids per CPU: 1 to as many as the
 * shared ids allow (by default 2, or that many); a count past them was
 * multiplied by the CPUs, wrapped to 0, and shared_begin then probed past
 * the last shared id.
 */
static void shared_config_init(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	exclusive_limit = (unsigned)env_size("SMPHEAP_EXCLUSIVE", EXCLUSIVE_IDS, 8, EXCLUSIVE_IDS);
	size_t ncpu = cpus > 0 ? (size_t)cpus : 1;
	shared_cpus = ncpu > SHARED_IDS ? SHARED_IDS : (unsigned)ncpu;
	unsigned most = SHARED_IDS / shared_cpus;
	shared_per_cpu = (unsigned)env_size("SMPHEAP_SHARED", most < 2 ? most : 2, 1, most);
}

static inline void shared_begin(void)
{
	int cpu = sched_getcpu();
	unsigned k0 = cpu < 0 ? 0 : (unsigned)cpu % shared_cpus, k = k0;
	/*
	 * This CPU's first id; a busy one (its holder was preempted): this
	 * CPU's others, then wait for the first. Only this CPU's: probing the
	 * other CPUs' ids bounced their locks' lines between the CPUs (40%
	 * of thread_bench's time at 64 threads in trylock and unlock). The
	 * ids per CPU (2) bound how many caches fill up: probing all 64 gave
	 * every id a cache.
	 */
	for (unsigned i = 1; !ticket_trylock(&shared_lock[k].m); i++) {
		if (i == shared_per_cpu) {
			k = k0;
			ticket_lock(&shared_lock[k].m);
			break;
		}
		k = k0 + i * shared_cpus;
	}
	my_shared = EXCLUSIVE_IDS + k;
	port_host_become_hart(my_shared);
	if (!bypass)
		port_set_hart_data(percpu_cpu_of(my_shared));
}

static inline void shared_end(void)
{
	port_set_hart_data(NULL);
	ticket_unlock(&shared_lock[my_shared - EXCLUSIVE_IDS].m);
}

static void hart_release_key(void *arg)
{
	(void)arg;
	int id = my_hart;
	my_hart = HART_HEAP; /* from now on: the locked heap (see the top) */
	if (id < 0)
		return; /* shared (its id's magazines serve the others) or none */
	percpu_hart_exit();
	/* malloc's and free's hit paths key on it: not a hart any more. */
	port_set_hart_data(NULL);
	id_give(id);
}

/* ---------------- fork ---------------- */

/*
 * A child of fork has one thread; the allocator's locks must not be held by
 * a thread that does not exist there. The heap and percpu layers provide the
 * lock-all/unlock-all hooks (the heap's weak here, so the shim still links before they
 * land: then fork is only safe while no other thread is inside malloc).
 */
extern void kheap_fork_prepare(void) __attribute__((weak));
extern void kheap_fork_parent(void) __attribute__((weak));
extern void kheap_fork_child(void) __attribute__((weak));

/*
 * The forking thread's hart id before fork_prepare, when it has no
 * exclusive one: it forks as the first shared id (see fork_prepare).
 */
static unsigned fork_saved_hart;

static void fork_prepare(void)
{
	/* Shared ids first: a thread holding one may take any lock below. */
	for (unsigned i = 0; i < SHARED_IDS; i++)
		ticket_lock(&shared_lock[i].m);
	/*
	 * percpu_fork_child keeps the slots of the forking thread's id alone:
	 * every other hart may have been halfway through changing its own.
	 * A thread with no exclusive id still answers to one (hart 0, a
	 * thread's default, or the last shared id it borrowed), which may be
	 * a live thread's: the child kept that thread's slots, torn perhaps,
	 * and handed out overlapping blocks (5 children in 14,627 forks from a
	 * thread that never called malloc while main did). It forks as the
	 * first shared id instead, whose slots no thread is changing: we hold
	 * its lock.
	 */
	if (my_hart < 0) {
		fork_saved_hart = port_hart_id();
		port_host_become_hart(EXCLUSIVE_IDS);
	}
	pthread_mutex_lock(&region_lock);
	percpu_fork_prepare(); /* depot locks, in class order */
	if (kheap_fork_prepare)
		kheap_fork_prepare(); /* then the heap lock */
}

static void fork_parent(void)
{
	if (kheap_fork_parent)
		kheap_fork_parent();
	percpu_fork_parent();
	pthread_mutex_unlock(&region_lock);
	if (my_hart < 0)
		port_host_become_hart(fork_saved_hart); /* as it was (no hart data) */
	for (unsigned i = SHARED_IDS; i-- > 0;)
		ticket_unlock(&shared_lock[i].m);
}

static void fork_child(void)
{
	if (kheap_fork_child)
		kheap_fork_child();
	percpu_fork_child();
	pthread_mutex_init(&region_lock, NULL);
	shared_locks_init();
	/*
	 * Only this thread survives: every other id is free again. The dead
	 * threads' slots were dropped by percpu_fork_child (they may have been
	 * halfway through changing them).
	 */
	for (unsigned w = 0; w < ID_WORDS; w++)
		atomic_store(&id_free[w], 0);
	if (my_hart >= 0)
		atomic_fetch_or(&id_free[my_hart / 64], (uint_fast64_t)1 << (my_hart % 64));
}

/* ---------------- the malloc family ---------------- */

static inline void *alloc_any(size_t size, size_t align)
{
	/*
	 * The sum too (no overflow: each part is at most MAX_REQUEST): the
	 * heap calls an aligned request whose size and alignment together
	 * pass its biggest block misuse, and panicked on posix_memalign(32
	 * GiB, 40 GiB) where glibc returns ENOMEM.
	 */
	if (unlikely(size > MAX_REQUEST || align > MAX_REQUEST ||
		     size + align > MAX_REQUEST)) {
		errno = ENOMEM;
		return NULL;
	}
	purge_note_alloc(size);
	int h = hart_enter();
	void *p;
	if (likely(h >= 0)) {
		if (likely(align <= MIN_ALIGN))
			p = kmalloc_try(size);
		else
			p = kmalloc_aligned_try(size, align);
	} else if (h == HART_SHARED) {
		shared_begin();
		p = align <= MIN_ALIGN ? kmalloc_try(size) : kmalloc_aligned_try(size, align);
		shared_end();
	} else if (h == HART_HEAP) {
		p = kheap_try_alloc(size, align < MIN_ALIGN ? MIN_ALIGN : align);
	} else {
		p = boot_alloc(size, align);
	}
	if (unlikely(!p))
		errno = ENOMEM;
	return p;
}

/*
 * The hit paths key on port_hart_data(): non-NULL only on a thread that is a
 * hart with magazines (percpu sets it on the hart's first slow path after
 * port_host_become_hart cleared it; hart_release_key clears it; bypass mode
 * never sets it), so a miss of any kind, a new thread included, takes the
 * full path.
 */
static void *__attribute__((noinline)) shim_malloc_slow(size_t size)
{
	return alloc_any(size, 0);
}

/*
 * malloc's path, inlined into every entry point that needs no more than
 * MIN_ALIGN. 4..32 KiB: the big classes' magazines, also without a call (a
 * call and its frame for these sizes cost thread_bench, where they are 18%
 * of the requests, a third of its time in the allocator).
 */
static inline __attribute__((always_inline)) void *malloc_inline(size_t size)
{
	void *p = kmalloc_hit(size);
	if (likely(p != NULL))
		return p;
	p = kmalloc_big_hit(size);
	if (likely(p != NULL))
		return p;
	return shim_malloc_slow(size);
}

SHIM_EXPORT void *malloc(size_t size)
{
	return malloc_inline(size);
}

/* An aligned request: malloc's path when every block has the alignment. */
static inline __attribute__((always_inline)) void *aligned_any(size_t size, size_t align)
{
	return align <= MIN_ALIGN ? malloc_inline(size) : alloc_any(size, align);
}

static void __attribute__((noinline)) shim_free_slow(void *p);

SHIM_EXPORT void free(void *p)
{
	if (likely(p != NULL) && likely(kfree_hit(p, fast_lo, fast_span)))
		return;
	if (likely(p != NULL) && likely(kfree_big_hit(p, fast_lo, fast_span)))
		return; /* a block of the big classes, into its magazine */
	shim_free_slow(p);
}

static void __attribute__((noinline)) shim_free_slow(void *p)
{
	if (unlikely(!p))
		return;
	int h = hart_enter();
	if (unlikely(!ours(p)))
		return; /* boot arena or foreign: never freed */
	if (likely(h >= 0)) {
		kfree(p);
	} else if (h == HART_SHARED) {
		shared_begin();
		kfree(p);
		shared_end();
	} else if (h == HART_HEAP) {
		kheap_free(p); /* offset tags too: the heap owns them */
	}
}

SHIM_EXPORT void cfree(void *p)
{
	free(p);
}

SHIM_EXPORT void *calloc(size_t n, size_t size)
{
	size_t total;
	if (unlikely(__builtin_mul_overflow(n, size, &total))) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = malloc_inline(total);
	if (likely(p != NULL))
		purge_calloc_zero(p, total);
	return p;
}

SHIM_EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (is_boot(p) || !ours(p))
		return 0;
	return ksize(p);
}

/*
 * glibc's malloc_trim: the caches go back to the heap (this thread's
 * magazines and the depots at once; the other threads' at their next
 * call), then the pages of every free block in the heap (purge.c). pad is
 * ignored: glibc keeps that much at the top of its heap, which grows and
 * shrinks; this heap's region does neither. Returns 1 if pages were given
 * back, as glibc does.
 */
SHIM_EXPORT int malloc_trim(size_t pad)
{
	(void)pad;
	int h = hart_enter();
	if (h == HART_BOOT)
		return 0;
	if (!bypass && h >= 0) {
		percpu_trim();
	} else if (!bypass && h == HART_SHARED) {
		shared_begin();
		percpu_trim();
		shared_end();
	}
	return purge_free_memory() > 0;
}

/*
 * glibc's statistics, of the heap malloc uses: left to glibc, mallinfo2,
 * mallinfo, malloc_stats (and malloc_info, below) described glibc's own
 * heap, which under the shim holds nothing (in use 0 with a 10 MiB block live; shim_cases
 * mallinfo). The blocks the magazines hold are free to the program:
 * fsmblks (glibc's free fastbin bytes, the nearest kind), out of uordblks
 * and into fordblks. Nothing is mmapped on its own (hblks, hblkhd 0);
 * arena is the bytes the heap claimed (its regions, untouched pages too).
 */
static struct mallinfo2 shim_mallinfo2(void)
{
	struct mallinfo2 m;
	memset(&m, 0, sizeof(m));
	if (atomic_load_explicit(&state, memory_order_acquire) != ST_READY)
		return m;
	struct kheap_stats hs;
	struct percpu_cache_stats cs;
	kheap_get_stats(&hs);
	percpu_get_cache_stats(&cs);
	/* Read at different times: the caches may have moved in between. */
	size_t cached = cs.cached_bytes < hs.heap.bytes_in_use ? cs.cached_bytes
							       : hs.heap.bytes_in_use;
	m.arena = hs.heap.heap_bytes;
	m.ordblks = hs.heap.free_blocks;
	m.fsmblks = cached;
	m.uordblks = hs.heap.bytes_in_use - cached;
	m.fordblks = hs.heap.bytes_free + cached;
	return m;
}

SHIM_EXPORT struct mallinfo2 mallinfo2(void)
{
	return shim_mallinfo2();
}

/* The old one: ints, which wrap past 2 GiB as glibc's do. */
SHIM_EXPORT struct mallinfo mallinfo(void)
{
	struct mallinfo2 m = shim_mallinfo2();
	struct mallinfo o;
	o.arena = (int)m.arena;
	o.ordblks = (int)m.ordblks;
	o.smblks = (int)m.smblks;
	o.hblks = (int)m.hblks;
	o.hblkhd = (int)m.hblkhd;
	o.usmblks = (int)m.usmblks;
	o.fsmblks = (int)m.fsmblks;
	o.uordblks = (int)m.uordblks;
	o.fordblks = (int)m.fordblks;
	o.keepcost = (int)m.keepcost;
	return o;
}

/* glibc's layout, one arena. */
SHIM_EXPORT void malloc_stats(void)
{
	struct mallinfo2 m = shim_mallinfo2();
	fprintf(stderr,
		"Arena 0:\nsystem bytes     = %10zu\nin use bytes     = %10zu\n"
		"Total (incl. mmap):\nsystem bytes     = %10zu\nin use bytes     = %10zu\n"
		"max mmap regions = %10d\nmax mmap bytes   = %10lu\n",
		m.arena, m.uordblks, m.arena, m.uordblks, 0, 0ul);
}

/*
 * glibc's XML, one heap (its main arena's form): left to glibc, it
 * described glibc's unused heap (0 bytes, with a 10 MiB block live;
 * shim_cases mallinfo). The same figures as mallinfo2: the cached blocks
 * are "fast" (their count is not kept: 0, as mallinfo2's smblks), the
 * heap's free blocks "rest", nothing mmapped on its own, and the system's
 * bytes the heap's regions, which never shrink (current = max).
 */
SHIM_EXPORT int malloc_info(int options, FILE *fp)
{
	if (options != 0)
		return EINVAL; /* glibc's answer: no options are defined */
	struct mallinfo2 m = shim_mallinfo2();
	size_t rest = m.fordblks - m.fsmblks;
	fprintf(fp,
		"<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n</sizes>\n"
		"<total type=\"fast\" count=\"0\" size=\"%zu\"/>\n"
		"<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
		"<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n"
		"<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n"
		"</heap>\n",
		m.fsmblks, m.ordblks, rest, m.arena, m.arena, m.arena, m.arena);
	fprintf(fp,
		"<total type=\"fast\" count=\"0\" size=\"%zu\"/>\n"
		"<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
		"<total type=\"mmap\" count=\"0\" size=\"0\"/>\n"
		"<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n"
		"<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n"
		"</malloc>\n",
		m.fsmblks, m.ordblks, rest, m.arena, m.arena, m.arena, m.arena);
	return 0;
}

SHIM_EXPORT void *realloc(void *p, size_t size)
{
	if (!p)
		return malloc(size);
	/*
	 * A class block kept, or moved between magazines, without a call
	 * (tools/bench/README.md, "The shim's realloc without a call"); a
	 * miss, size 0 among them, changed nothing: krealloc's path.
	 */
	void *hit = krealloc_hit(p, size, fast_lo, fast_span);
	if (likely(hit != NULL))
		return hit;
	int h = hart_enter();
	if (unlikely(size > MAX_REQUEST)) {
		errno = ENOMEM;
		return NULL;
	}
	if (likely(ours(p)) && h != HART_BOOT) {
		if (unlikely(size == 0)) {
			free(p); /* glibc: realloc(p, 0) frees and returns NULL */
			return NULL;
		}
		purge_note_alloc(size);
		void *q;
		if (likely(h >= 0)) {
			q = krealloc(p, size);
		} else if (h == HART_SHARED) {
			shared_begin();
			q = krealloc(p, size);
			shared_end();
		} else {
			q = kheap_try_realloc(p, size);
		}
		/* NULL: out of memory, p untouched (krealloc's contract). */
		if (unlikely(!q))
			errno = ENOMEM;
		return q;
	}
	/*
	 * Bootstrap or foreign block, never freed (free ignores it). Size 0
	 * answers as for our blocks and glibc's: NULL, the block "freed" (it
	 * was a new malloc(0) block, where a program that takes realloc(p, 0)
	 * to free p expects none). Else a new block, with what the arena
	 * allows copied (size unknown; nothing from a foreign block).
	 */
	if (size == 0)
		return NULL;
	void *q = malloc(size);
	if (q && is_boot(p)) {
		size_t avail = (size_t)(boot_arena + sizeof(boot_arena) - (unsigned char *)p);
		memcpy(q, p, size < avail ? size : avail);
	}
	return q;
}

static inline bool pow2(size_t a)
{
	return a && !(a & (a - 1));
}

SHIM_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (!pow2(align) || align % sizeof(void *))
		return EINVAL;
	int saved = errno;
	void *p = aligned_any(size, align);
	errno = saved;
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

SHIM_EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (!pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return aligned_any(size, align);
}

SHIM_EXPORT void *memalign(size_t align, size_t size)
{
	if (align <= MIN_ALIGN)
		return malloc_inline(size);
	if (!pow2(align)) {
		/* glibc rounds a non-power-of-two up */
		size_t a = MIN_ALIGN;
		while (a < align && a)
			a <<= 1;
		if (!a) {
			errno = EINVAL;
			return NULL;
		}
		align = a;
	}
	return alloc_any(size, align);
}

static size_t page_size(void)
{
	static size_t ps;
	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

SHIM_EXPORT void *valloc(size_t size)
{
	return alloc_any(size, page_size());
}

SHIM_EXPORT void *pvalloc(size_t size)
{
	size_t ps = page_size();
	size_t r = (size + ps - 1) & ~(ps - 1);
	if (r < size) {
		errno = ENOMEM;
		return NULL;
	}
	return alloc_any(r ? r : ps, ps);
}

/*
 * glibc exports its malloc family under a second name too (__libc_malloc,
 * __libc_free, ..., __libc_mallinfo: GLIBC_2.2.5), which malloc wrappers
 * and some libraries call. Left to glibc, its free of one of our blocks aborted ("free():
 * invalid pointer"), and its blocks reached our realloc as foreign ones,
 * whose bytes it cannot copy: the same functions answer both names here,
 * as jemalloc, mimalloc and tcmalloc do (shim_cases libc). Aliases, not
 * calls: a wrapper's own malloc that calls __libc_malloc must not come
 * back to itself through the PLT.
 */
#if defined(__has_attribute) && __has_attribute(copy)
/* gcc: the target's attributes too (alloc_size, malloc, nothrow, ...). */
#define SHIM_ALIAS(name) SHIM_EXPORT __attribute__((alias(#name), copy(name)))
#else
#define SHIM_ALIAS(name) SHIM_EXPORT __attribute__((alias(#name)))
#endif
SHIM_ALIAS(malloc) void *__libc_malloc(size_t size);
SHIM_ALIAS(free) void __libc_free(void *p);
SHIM_ALIAS(calloc) void *__libc_calloc(size_t n, size_t size);
SHIM_ALIAS(realloc) void *__libc_realloc(void *p, size_t size);
SHIM_ALIAS(memalign) void *__libc_memalign(size_t align, size_t size);
SHIM_ALIAS(valloc) void *__libc_valloc(size_t size);
SHIM_ALIAS(pvalloc) void *__libc_pvalloc(size_t size);
/*
 * Left to glibc, it described glibc's unused heap, as mallinfo did. Naming
 * mallinfo here is no use of the deprecated call.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
SHIM_ALIAS(mallinfo) struct mallinfo __libc_mallinfo(void);
#pragma GCC diagnostic pop
