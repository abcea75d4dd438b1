// SPDX-License-Identifier: BSD-2-Clause
/*
 * The exact cases of issue 10, each a subcommand run under
 * LD_PRELOAD=libsmpheap_malloc.so by shim_cases_test.sh (every case also
 * passes on glibc, which the script runs first as the reference):
 *
 *   huge        malloc(64 GiB), malloc(36 GiB), malloc(1 TiB),
 *               calloc(1<<20, 1<<17), aligned_alloc(1<<40, 16),
 *               posix_memalign(1<<40), memalign(1<<40), valloc(1 TiB),
 *               realloc(p, 1 TiB): NULL with ENOMEM (or, where the system
 *               lends that much address space, a usable block), never an
 *               abort; posix_memalign returns ENOMEM; p stays intact; a
 *               failed request leaves no new mapping behind. Then
 *               malloc(36 GiB), and aligned requests of 32 GiB at 32 GiB,
 *               40 GiB at 32 GiB, 58 GiB at 16 GiB (each part fits a
 *               region, not both): NULL with ENOMEM or a block.
 *   ulimit      under RLIMIT_AS = now + 2.5 GiB: realloc(40 KB block,
 *               3 GiB) is NULL with ENOMEM and the block is untouched;
 *               malloc(3 GiB) the same, and maps nothing it keeps;
 *               malloc(1.5 GiB) succeeds and leaves errno 0 (before:
 *               ENOMEM, from the region of 3 GiB the shim tried first).
 *   rlimit      started under RLIMIT_AS = 800 MiB (the script: prlimit):
 *               malloc(1000), then a block of half the address space left,
 *               written at both ends (before: the shim died at start, its
 *               first region 1 GiB, and a big request asked for a region
 *               twice its size and failed with room left). errno is 0 at
 *               main and after that malloc (before: ENOMEM, from the
 *               shim's mmaps that did not fit).
 *   tinydata    started under RLIMIT_DATA = 2 MiB (the script: prlimit):
 *               200 blocks of 1000 bytes, then malloc and realloc of 16
 *               MiB are NULL with ENOMEM, the blocks intact (before: the
 *               shim, whose first region went down to 4 MiB and no
 *               further, ended the process at start: "cannot map the
 *               heap", exit 127).
 *   regions     with 4 MiB regions, 200 blocks of 16 MiB live at once
 *               (before: each growth mapped 34 MiB, 2 such blocks, and the
 *               64th region was the last: 126 blocks, then NULL).
 *   alignfree   140 (then 460) threads hold their ids; a new thread frees
 *               8 blocks from posix_memalign(64, 100) made by main; and a
 *               pthread key destructor that runs after the shim's frees
 *               aligned blocks (the locked-heap path past thread exit).
 *   exitleak    300 threads, each ending with frees after the key
 *               destructors (strerror of an unknown errno: glibc frees its
 *               buffer in __libc_thread_freeres) and a destructor of its
 *               own that mallocs; the stats line at exit must show one id
 *               in use (main's).
 *   crowd       1,000 threads x 2,000 random malloc/free (1..5000 bytes,
 *               64 live each). Before: > 10 minutes on 2 cores.
 *   fork        2 threads churn every size while main forks 30 times;
 *               each child allocates on every size, starts a thread, and
 *               exits 0.
 *   calloc      a 32 MiB calloc holds under 5% of its pages until they
 *               are touched (glibc: a fresh mapping; before, the shim
 *               wrote every byte: all of them), and reads as zeros; so
 *               does a 4 MiB calloc carved from freed, written blocks
 *               whose pages stayed (each below the purge threshold).
 *   forknohart  a thread that never called malloc forks, while main's
 *               64-byte magazine holds a block it just freed; the child's
 *               malloc(64) on that thread must not return it (before: the
 *               child kept main's slots, which main may have been halfway
 *               through changing: 5 children in 14,627 forks handed out
 *               overlapping blocks).
 *   atfork      fork handlers that malloc and free (glibc allows it: it
 *               takes its own locks inside fork, after the prepare
 *               handlers), registered by main before its first malloc;
 *               one fork, whose child allocates: both must finish (before:
 *               the prepare handler hung, the shim's locks held).
 *   earlyatfork this program again, with a library preloaded after the
 *               shim (libshim_early_atfork.so), whose constructor runs
 *               before the shim's and registers 64 fork handlers (that
 *               malloc and free) before the process's first malloc; one
 *               fork, whose child allocates: all must finish (before: the
 *               49th registration's malloc, made by glibc under its
 *               atfork lock, started the shim, whose own pthread_atfork
 *               waited for that lock: a hang before main).
 *   blocked     a thread blocked in read(); 4 heap growths (8 MiB regions)
 *               must take well under 1 s (before: 1 s each, the reclaim
 *               waited for the blocked thread).
 *   failfast    (the script runs it under RLIMIT_AS = 800 MiB) a thread
 *               that allocated is blocked in read(); 5 mallocs of 2 GiB,
 *               which cannot fit, must each be NULL with ENOMEM at once, as
 *               glibc's are: in well under 0.5 s all told (before: 1 s
 *               each, the reclaim waiting for the blocked thread to answer
 *               its flush request).
 *   bigclass    one thread, 200,000 random malloc/free of 5,121..32,768
 *               bytes over 64 slots (the big classes); the script
 *               reads the shim's stats line: the magazines must serve them
 *               (under 1 depot lock per 40 operations), not the locked heap.
 *   bigalign    bigclass's operations, allocating with posix_memalign,
 *               aligned_alloc and memalign at alignment 16 and calloc in
 *               turn; the script reads the stats line: most must be
 *               magazine hits (they take malloc's hit paths).
 *   bigrealloc  one thread, 64 blocks of the big classes, then 200,000
 *               reallocs of a random one to 5,121..32,768 bytes; the script
 *               reads the stats line: most new blocks must be magazine hits
 *               (krealloc's moves take the big classes' hit paths).
 *   prefault    4,000 mallocs of 1,000 bytes; prints how many of the 16
 *               pages below the lowest block are in memory (the script
 *               asks the shim for 8 or more: fresh pages are faulted in
 *               ahead of the carving, outside the heap lock), or that
 *               the kernel cannot (before Linux 5.14).
 *   giveback    freed memory goes back to the kernel, as glibc's does:
 *               an 8 MiB block written and shrunk by realloc to 64 KiB
 *               keeps its first 64 KiB and less than 5% of the pages past
 *               them (glibc shrinks its mapping); 64 blocks of 1 MiB
 *               written and freed keep less than 5% of their pages in
 *               memory (mincore; glibc unmaps them); a
 *               4 MiB block that realloc moves to 8 MiB (a 4 MiB block
 *               above it stops it growing in place) keeps less than 5% of
 *               its old pages, and its bytes moved; and 200 rounds of
 *               malloc + write + free of 1 MiB keep the last block's pages
 *               (the threshold rose after a few: no page faults each
 *               round, as glibc's rises); 1.5 s later (the shim's raised
 *               threshold decays after 1 s) 16 blocks of 1 MiB written and
 *               freed keep less than 5% of their pages again.
 *   trim        malloc_trim(0) after 8,192 blocks of 4,000 bytes are
 *               written and freed leaves under 10% of their pages in
 *               memory.
 *   errno       free of a 256 KiB block whose pages the program locked
 *               (mlock), then a calloc of 256 KiB: errno stays 0 (before:
 *               EINVAL, from the shim's MADV_DONTNEED of locked pages).
 *   errnowait   4 threads malloc and free blocks of 40..50 KB (the heap's,
 *               under its lock) while another frees thousands of them and
 *               calls malloc_trim (which holds the heap lock for long):
 *               errno, set before each call, is unchanged after it
 *               (before: EAGAIN, from the futex a waiter for the heap
 *               lock slept on, some tens of times a run).
 *   nofence     starts `shim_cases nofence2` under a seccomp filter that
 *               fails membarrier (ENOSYS), as a kernel before 4.14 or a
 *               container's filter does; nofence2 checks errno is 0 at
 *               main (before: ENOSYS, from the host port's constructor,
 *               which registers for membarrier) and that 8 threads work
 *               (the locks poll instead of sleeping).
 *   libc        glibc's exported names of its malloc family (__libc_malloc,
 *               __libc_free, __libc_realloc, __libc_calloc, __libc_memalign,
 *               __libc_valloc, __libc_pvalloc) mixed with malloc, free and
 *               realloc: contents kept, sizes and alignments right (before:
 *               glibc's free of a shim block aborted the program).
 *   mallinfo    mallinfo2, mallinfo (and __libc_mallinfo), malloc_stats
 *               and malloc_info count a live 10 MiB block in use, mallinfo2 and malloc_info no
 *               longer after its free (before: glibc's unused heap
 *               answered, 0 throughout); malloc_info(1, f) is EINVAL.
 *   foreign     under the shim only (glibc aborts on them): a pointer from
 *               outside its regions (a static buffer, as the dynamic
 *               loader's early blocks are) is never freed, and realloc to
 *               0 answers as for the shim's own blocks and glibc's: NULL
 *               (before: a new block of malloc(0)); realloc to 100 bytes
 *               a new block; malloc_usable_size 0. On both: realloc(p, 0)
 *               of a malloc block is NULL.
 *   env         run by the script with bad SMPHEAP_* values (too big for
 *               strtoul, past their ranges, wrapping the shim's arithmetic,
 *               not numbers): errno is 0 at main (before: ERANGE, from
 *               strtoul), and 200 threads (most on shared ids) x 20,000
 *               random malloc/free work (before: SMPHEAP_REGION_MB=99..9
 *               panicked at start, "bad region"; SMPHEAP_SHARED=2^63 on an
 *               even number of CPUs wrapped the ids per CPU to 0, and a
 *               busy id sent a thread past the shared ids: "hart 130 >=
 *               128"). The script asks the shim to name each value.
 * Exit 0 and "shim_cases: <case> PASS ..." on success.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/shim/prefault.h" /* MADV_POPULATE_WRITE */

static int failures;
/* Opaque to the compiler, which would fold or reject the constants. */
static volatile size_t GiB = (size_t)1 << 30;
/* Through a pointer: gcc would warn about the block's use after a failed realloc. */
static void *(*volatile realloc_fn)(void *, size_t) = realloc;
/* The same for a look at a freed block's pages (giveback). */
static void (*volatile free_fn)(void *) = free;
/* And for errno after a malloc (rlimit). */
static void *(*volatile malloc_fn)(size_t) = malloc;
/* errno as main found it (rlimit). */
static int errno_at_start;

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			failures++;                                         \
			fprintf(stderr, "shim_cases: FAIL line %d: %s\n",   \
				__LINE__, #cond);                           \
		}                                                           \
	} while (0)

/* Marsaglia's xorshift64: the cases' random sequences (s never 0). */
static uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* malloc + write + free that the compiler cannot elide (it drops free(malloc(n))). */
static void churn_one(size_t n)
{
	char *volatile p = malloc(n);
	if (p) {
		p[0] = 1;
		free(p);
	}
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Bytes of address space mapped now (VmSize). */
static size_t vm_size(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;
	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* NULL with ENOMEM, or a usable block (then freed). Never an abort. */
static void want_null_or_usable(void *p, size_t size, int line)
{
	if (!p) {
		if (errno != ENOMEM) {
			failures++;
			fprintf(stderr, "shim_cases: FAIL line %d: errno %d, not ENOMEM\n",
				line, errno);
		}
		return;
	}
	((volatile char *)p)[0] = 1;
	((volatile char *)p)[size - 1] = 1;
	free(p);
}
#define NULL_OR_USABLE(expr, size) do { errno = 0; void *p_ = (expr); \
		want_null_or_usable(p_, (size), __LINE__); } while (0)

/*
 * 1 TiB, read at run time: clang rejects a constant alignment above 4 GiB
 * (-Wbuiltin-assume-aligned-alignment, an error under -Werror).
 */
static volatile size_t huge_align = (size_t)1 << 40;

static void case_huge(void)
{
	char *keep = malloc(40000);
	memset(keep, 0x5a, 40000);
	size_t vm0 = vm_size();
	errno = 0;
	void *p = malloc(64 * GiB);
	CHECK(!p && errno == ENOMEM);
	errno = 0;
	p = malloc(1024 * GiB);
	CHECK(!p && errno == ENOMEM);
	errno = 0;
	p = calloc((size_t)1 << 20, (size_t)1 << 17);
	CHECK(!p && errno == ENOMEM);
	errno = 0;
	p = aligned_alloc(huge_align, 16);
	CHECK(!p && errno == ENOMEM);
	errno = 0;
	p = memalign(huge_align, 16);
	CHECK(!p && errno == ENOMEM);
	errno = 0;
	p = valloc(1024 * GiB);
	CHECK(!p && errno == ENOMEM);
	p = (void *)1;
	CHECK(posix_memalign(&p, huge_align, 16) == ENOMEM);
	errno = 0;
	p = realloc_fn(keep, 1024 * GiB);
	CHECK(!p && errno == ENOMEM);
	/* Nothing kept mapped by the failures (1 MiB of slack for stdio). */
	CHECK(vm_size() <= vm0 + (1u << 20));
	/* 36 GiB: the system may lend it (overcommit), or not; no abort. */
	NULL_OR_USABLE(malloc(36 * GiB), 36 * GiB);
	/*
	 * An alignment and a size each below the biggest region but not
	 * together: NULL with ENOMEM, or a block (before: the heap's "size
	 * overflow" panic, exit 5).
	 */
	void *a = (void *)1;
	int rc = posix_memalign(&a, 32 * GiB, 40 * GiB);
	CHECK(rc == ENOMEM ? a == (void *)1 : rc == 0);
	if (rc == 0)
		free(a);
	NULL_OR_USABLE(memalign(16 * GiB, 58 * GiB), 58 * GiB);
	NULL_OR_USABLE(aligned_alloc(32 * GiB, 32 * GiB), 32 * GiB);
	for (int i = 0; i < 40000; i++)
		CHECK(keep[i] == 0x5a);
	free(keep);
}

static void case_ulimit(void)
{
	char *b = malloc(40000);
	memset(b, 0x33, 40000);
	struct rlimit rl = { vm_size() + 5 * GiB / 2, RLIM_INFINITY };
	CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
	size_t vm0 = vm_size();
	errno = 0;
	void *q = realloc_fn(b, 3 * GiB);
	CHECK(!q && errno == ENOMEM);
	for (int i = 0; i < 40000; i++)
		if (b[i] != 0x33) {
			CHECK(b[i] == 0x33);
			break;
		}
	errno = 0;
	q = malloc(3 * GiB);
	CHECK(!q && errno == ENOMEM);
	void *r = (void *)1;
	CHECK(posix_memalign(&r, 64, 3 * GiB) == ENOMEM);
	CHECK(vm_size() <= vm0 + (1u << 20));
	/* Small requests still work. */
	void *s = malloc(100);
	CHECK(s != NULL);
	free(s);
	/*
	 * 1.5 GiB fits what is left (the shim's region of twice the request
	 * does not, half of that does): a success, errno left alone.
	 */
	errno = 0;
	s = malloc_fn(3 * GiB / 2);
	CHECK(s != NULL && errno == 0);
	free(s);
	free(b);
}

/* ---- alignfree ---- */

static pthread_barrier_t hold_bar;
static void *holder(void *arg)
{
	(void)arg;
	churn_one(32); /* takes an id */
	pthread_barrier_wait(&hold_bar); /* ids taken */
	pthread_barrier_wait(&hold_bar); /* until the case is done */
	return NULL;
}

static void *free_blocks(void *arg)
{
	void **b = arg;
	for (int i = 0; i < 8; i++) {
		CHECK(((uintptr_t)b[i] & 63) == 0);
		CHECK(((char *)b[i])[99] == (char)i);
		free(b[i]);
	}
	return NULL;
}

static pthread_key_t late_key;
static void late_destructor(void *arg)
{
	/* Runs after the shim's own key (created first): aligned frees. */
	free_blocks(arg);
	free(arg);
}

static void *late_thread(void *arg)
{
	(void)arg;
	void **b = malloc(8 * sizeof(void *));
	for (int i = 0; i < 8; i++) {
		CHECK(posix_memalign(&b[i], 64, 100) == 0);
		((char *)b[i])[99] = (char)i;
	}
	pthread_setspecific(late_key, b);
	return NULL;
}

static void aligned_free_with(unsigned holders)
{
	pthread_t *h = malloc(holders * sizeof(pthread_t));
	pthread_barrier_init(&hold_bar, NULL, holders + 1);
	for (unsigned i = 0; i < holders; i++)
		CHECK(pthread_create(&h[i], NULL, holder, NULL) == 0);
	pthread_barrier_wait(&hold_bar);
	void *b[8];
	for (int i = 0; i < 8; i++) {
		CHECK(posix_memalign(&b[i], 64, 100) == 0);
		((char *)b[i])[99] = (char)i;
	}
	pthread_t t;
	CHECK(pthread_create(&t, NULL, free_blocks, b) == 0);
	pthread_join(t, NULL);
	pthread_barrier_wait(&hold_bar);
	for (unsigned i = 0; i < holders; i++)
		pthread_join(h[i], NULL);
	pthread_barrier_destroy(&hold_bar);
	free(h);
}

static void case_alignfree(void)
{
	aligned_free_with(140);
	aligned_free_with(460);
	CHECK(pthread_key_create(&late_key, late_destructor) == 0);
	for (int i = 0; i < 4; i++) {
		pthread_t t;
		CHECK(pthread_create(&t, NULL, late_thread, NULL) == 0);
		pthread_join(t, NULL);
	}
}

/* ---- exitleak ---- */

static pthread_key_t after_key;
static void after_destructor(void *arg)
{
	free(arg);
	churn_one(200); /* after the shim's destructor */
}

static void *exiting(void *arg)
{
	(void)arg;
	churn_one(64);
	pthread_setspecific(after_key, malloc(50));
	/* An unknown errno: glibc's strerror mallocs a per-thread buffer. */
	volatile const char *s = strerror(100000 + (int)(uintptr_t)arg);
	(void)s;
	return NULL;
}

static void case_exitleak(void)
{
	CHECK(pthread_key_create(&after_key, after_destructor) == 0);
	for (int i = 0; i < 300; i++) {
		pthread_t t;
		CHECK(pthread_create(&t, NULL, exiting, (void *)(uintptr_t)i) == 0);
		pthread_join(t, NULL);
	}
	/* The stats line at exit (SMPHEAP_STATS=1) says how many ids are held. */
}

/* ---- crowd ---- */

static void *crowd_thread(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
	void *live[64] = { 0 };
	size_t sz[64] = { 0 };
	for (int i = 0; i < 2000; i++) {
		xorshift64(&s);
		unsigned k = (unsigned)(s % 64);
		if (live[k]) {
			if (((unsigned char *)live[k])[sz[k] - 1] != (unsigned char)sz[k])
				__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
			free(live[k]);
		}
		sz[k] = 1 + (size_t)((s >> 20) % 5000);
		live[k] = malloc(sz[k]);
		if (!live[k]) {
			__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
			break;
		}
		((unsigned char *)live[k])[sz[k] - 1] = (unsigned char)sz[k];
	}
	for (int k = 0; k < 64; k++)
		free(live[k]);
	return NULL;
}

static void case_crowd(void)
{
	enum { N = 1000 };
	static pthread_t t[N];
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 128 << 10);
	double t0 = now();
	for (uintptr_t i = 0; i < N; i++)
		CHECK(pthread_create(&t[i], &a, crowd_thread, (void *)i) == 0);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	printf("shim_cases: crowd 1000 threads x 2000 ops: %.2f s\n", now() - t0);
}

/* ---- fork ---- */

#ifndef FORKS
#define FORKS 30
#endif
#define CHURNERS 2
static int churn_stop;
static void *churner(void *arg)
{
	uint64_t s = 0x2545f4914f6cdd1dull * ((uintptr_t)arg + 1);
	void *set[128] = { 0 };
	while (!__atomic_load_n(&churn_stop, __ATOMIC_RELAXED)) {
		xorshift64(&s);
		unsigned i = (unsigned)(s % 128);
		free(set[i]);
		size_t size = (s >> 8) % 8 ? 1 + (s >> 16) % 4096 : 1 + (s >> 16) % 65536;
		set[i] = (s >> 40) % 16 ? malloc(size) : aligned_alloc(256, size);
		if (set[i])
			*(volatile char *)set[i] = 1;
	}
	for (unsigned i = 0; i < 128; i++)
		free(set[i]);
	return NULL;
}

static void *child_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		churn_one((size_t)i * 37 + 1);
	return NULL;
}

static void case_fork(void)
{
	pthread_t t[CHURNERS];
	for (uintptr_t i = 0; i < CHURNERS; i++)
		CHECK(pthread_create(&t[i], NULL, churner, (void *)i) == 0);
	for (int n = 0; n < FORKS && !failures; n++) {
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			alarm(20);
			/* Every class, over several magazines, on the forking id. */
			void *blocks[2000];
			for (int i = 0; i < 2000; i++) {
				size_t n = (size_t)(i % 400) * 90 + 1;
				blocks[i] = malloc(n);
				if (!blocks[i])
					_exit(3);
				((char *)blocks[i])[0] = ((char *)blocks[i])[n - 1] = 1;
			}
			for (int i = 0; i < 2000; i++)
				free(blocks[i]);
			pthread_t c;
			if (pthread_create(&c, NULL, child_thread, NULL))
				_exit(4);
			pthread_join(c, NULL);
			_exit(0);
		}
		int status;
		CHECK(waitpid(pid, &status, 0) == pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "shim_cases: fork %d: child status 0x%x\n", n, status);
			failures++;
		}
	}
	__atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < CHURNERS; i++)
		pthread_join(t[i], NULL);
}

/* ---- rlimit, regions ---- */

static void case_rlimit(void)
{
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_AS, &rl) == 0);
	CHECK(rl.rlim_cur != RLIM_INFINITY);
	/* C11 7.5: errno is 0 at startup (the shim starts before main). */
	CHECK(errno_at_start == 0);
	void *volatile small = malloc(1000);
	CHECK(small != NULL);
	size_t used = vm_size();
	CHECK(rl.rlim_cur > used);
	size_t left = rl.rlim_cur - used, request = left / 2;
	errno = 0;
	char *big = malloc_fn(request);
	CHECK(big != NULL && errno == 0); /* a success leaves errno alone */
	if (big) {
		big[0] = big[request - 1] = 1;
		free(big);
	}
	free(small);
	printf("rlimit: malloc(%zu MiB) with %zu MiB of address space left\n", request >> 20,
	       left >> 20);
}

/*
 * Started under RLIMIT_DATA = 2 MiB (the script: prlimit), where every
 * private writable mapping counts: small blocks work, and what does not
 * fit is NULL with ENOMEM.
 */
static void case_tinydata(void)
{
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_DATA, &rl) == 0);
	CHECK(rl.rlim_cur != RLIM_INFINITY);
	CHECK(errno_at_start == 0);
	enum { SMALL = 200 };
	static char *small[SMALL];
	for (int i = 0; i < SMALL; i++) {
		small[i] = malloc(1000);
		CHECK(small[i] != NULL);
		if (small[i])
			memset(small[i], i, 1000);
	}
	errno = 0;
	char *big = malloc_fn(16u << 20);
	CHECK(big == NULL && errno == ENOMEM);
	errno = 0;
	char *grown = realloc_fn(small[0], 16u << 20);
	CHECK(grown == NULL && errno == ENOMEM);
	for (int i = 0; i < SMALL; i++)
		if (small[i]) {
			CHECK(small[i][999] == (char)i);
			free(small[i]);
		}
	printf("tinydata: RLIMIT_DATA %llu KiB: %d blocks of 1000 bytes, 16 MiB NULL\n",
	       (unsigned long long)rl.rlim_cur >> 10, SMALL);
}

#define REGION_BLOCKS 200
static void case_regions(void)
{
	static char *b[REGION_BLOCKS];
	for (int i = 0; i < REGION_BLOCKS; i++) {
		b[i] = malloc(16u << 20);
		CHECK(b[i] != NULL);
		if (!b[i])
			return;
		b[i][0] = (char)i; /* one page each */
	}
	for (int i = 0; i < REGION_BLOCKS; i++) {
		CHECK(b[i][0] == (char)i);
		free(b[i]);
	}
	printf("regions: %d blocks of 16 MiB live at once\n", REGION_BLOCKS);
}

/* ---- forknohart ---- */

static void *cached_block; /* freed by main, on top of its magazine */

static void *fork_without_malloc(void *arg)
{
	(void)arg;
	pid_t pid = fork();
	if (pid == 0)
		_exit(malloc(64) == cached_block ? 3 : 0);
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return (void *)1;
	return (void *)(uintptr_t)(WIFEXITED(status) ? WEXITSTATUS(status) : 4);
}

static void case_forknohart(void)
{
	void *warm[8];
	for (int i = 0; i < 8; i++) /* the class's magazine on main's hart */
		warm[i] = malloc(64);
	for (int i = 0; i < 8; i++)
		free(warm[i]);
	cached_block = malloc(64);
	free(cached_block);
	pthread_t t;
	void *rc = NULL;
	CHECK(pthread_create(&t, NULL, fork_without_malloc, NULL) == 0);
	CHECK(pthread_join(t, &rc) == 0);
	printf("forknohart: the child's malloc(64) %s\n",
	       rc ? "returned main's cached block" : "took a block of its own");
	CHECK(rc == NULL);
}

/* ---- atfork ---- */

static void *atfork_block;
static void atfork_prepare(void)
{
	atfork_block = malloc(200000);
}

static void atfork_parent(void)
{
	free(atfork_block);
}

static void atfork_child(void)
{
	free(atfork_block);
	free(malloc(300000));
}

/* The first thing its process does: no malloc may come before it. */
static void case_atfork(void)
{
	CHECK(pthread_atfork(atfork_prepare, atfork_parent, atfork_child) == 0);
	void *volatile first = malloc(100); /* the program's first malloc: after it */
	free(first);
	alarm(20); /* a hang ends in SIGALRM */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		void *p = malloc(50);
		_exit(p && atfork_block ? 0 : 3);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	alarm(0);
	printf("atfork: fork with handlers that malloc, child exit 0\n");
}

/* ---- earlyatfork ---- */

/*
 * This program again, as earlyatfork2, with libshim_early_atfork.so (built
 * next to it) preloaded after the shim: that library's constructor runs
 * before the shim's and registers 64 fork handlers before the process's
 * first malloc, which glibc makes inside __register_atfork, its lock held.
 */
static void case_earlyatfork(void)
{
	static char exe[4096], lib[4200], pre[8400];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(n > 0);
	if (n <= 0)
		return;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	snprintf(lib, sizeof(lib), "%.*s/libshim_early_atfork.so", (int)(slash - exe), exe);
	const char *was = getenv("LD_PRELOAD");
	snprintf(pre, sizeof(pre), "%s%s%s", was ? was : "", was && *was ? " " : "", lib);
	CHECK(setenv("LD_PRELOAD", pre, 1) == 0);
	fflush(stdout);
	alarm(20); /* kept across exec: a hang before main ends in SIGALRM */
	execl(exe, "shim_cases", "earlyatfork2", (char *)NULL);
	CHECK(!"exec");
}

static void case_earlyatfork2(void)
{
	unsigned *prepared = dlsym(RTLD_DEFAULT, "shim_early_prepared");
	unsigned *parented = dlsym(RTLD_DEFAULT, "shim_early_parented");
	unsigned *childed = dlsym(RTLD_DEFAULT, "shim_early_childed");
	CHECK(prepared && parented && childed);
	if (!prepared || !parented || !childed)
		return;
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		void *p = malloc(50);
		_exit(p && *childed == 64 ? 0 : 3);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(*prepared == 64 && *parented == 64);
	alarm(0);
	printf("earlyatfork: 64 handlers registered before the first malloc, fork: child exit 0\n");
}

/* ---- blocked ---- */

static int pipefd[2];
static void *reader(void *arg)
{
	(void)arg;
	churn_one(100); /* an active hart with magazines */
	char c;
	ssize_t r = read(pipefd[0], &c, 1); /* blocked until the end */
	(void)r;
	return NULL;
}

static void case_blocked(void)
{
	CHECK(pipe(pipefd) == 0);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, reader, NULL) == 0);
	usleep(100000);
	/* The shim runs with 8 MiB regions: each of these grows the heap. */
	void *big[4];
	double t0 = now();
	for (int i = 0; i < 4; i++) {
		big[i] = malloc(12u << 20);
		CHECK(big[i] != NULL);
	}
	double dt = now() - t0;
	CHECK(write(pipefd[1], "x", 1) == 1);
	pthread_join(t, NULL);
	for (int i = 0; i < 4; i++)
		free(big[i]);
	printf("shim_cases: blocked: 4 growths with a thread in read(): %.3f s\n", dt);
	CHECK(dt < 0.5);
}

static void case_failfast(void)
{
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_AS, &rl) == 0);
	CHECK(rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 2 * GiB);
	CHECK(pipe(pipefd) == 0);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, reader, NULL) == 0);
	usleep(100000);
	int nulls = 0, enomem = 0;
	double t0 = now();
	for (int i = 0; i < 5; i++) {
		errno = 0;
		void *p = malloc_fn(2 * GiB);
		nulls += p == NULL;
		enomem += p == NULL && errno == ENOMEM;
		free(p);
	}
	double dt = now() - t0;
	CHECK(write(pipefd[1], "x", 1) == 1);
	pthread_join(t, NULL);
	printf("shim_cases: failfast: 5 failing mallocs with a thread in read(): %.3f s, "
	       "%d NULL, %d ENOMEM\n", dt, nulls, enomem);
	CHECK(nulls == 5 && enomem == 5);
	CHECK(dt < 0.5);
}

/*
 * bigclass and bigrealloc: the big classes, PERCPU_MAX_FAST + 1 ..
 * PERCPU_MAX_SMALL (<percpu/size_class.h>), over BIG_SLOTS live blocks.
 */
enum { BIG_SLOTS = 64, BIG_OPS = 200000, BIG_LO = 5121, BIG_HI = 32768 };

/*
 * Fresh memory faulted in ahead of the carving (tools/shim/prefault.c):
 * 4,000 blocks of 1,000 bytes, then how many of the 16 pages below the
 * lowest of them are in memory (mincore). The script asks the shim for at
 * least 8 (half the first window); without the prefaulting 4 were (other
 * carves below the lowest block).
 */
#define FRESH_BLOCKS 4000
#define FRESH_PAGES 16

static void case_prefault(void)
{
	static void *p[FRESH_BLOCKS];
	uintptr_t lowest = UINTPTR_MAX;
	/* A kernel before 5.14 cannot: the shim then leaves the faults be. */
	static char probe[8192] __attribute__((aligned(4096)));
	if (madvise(probe, 4096, MADV_POPULATE_WRITE) != 0) {
		printf("prefault: unsupported by this kernel (no MADV_POPULATE_WRITE)\n");
		return;
	}
	for (unsigned i = 0; i < FRESH_BLOCKS; i++) {
		p[i] = malloc(1000);
		CHECK(p[i] != NULL);
		if (!p[i])
			return;
		lowest = (uintptr_t)p[i] < lowest ? (uintptr_t)p[i] : lowest;
	}
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t below = (lowest & ~(page - 1)) - FRESH_PAGES * page;
	unsigned char in[FRESH_PAGES];
	unsigned resident = 0;
	/* Unmapped (ENOMEM): glibc's heap may start right there. None in memory. */
	if (mincore((void *)below, FRESH_PAGES * page, in) == 0) {
		for (unsigned i = 0; i < FRESH_PAGES; i++)
			resident += in[i] & 1;
	} else {
		CHECK(errno == ENOMEM);
	}
	for (unsigned i = 0; i < FRESH_BLOCKS; i++)
		free(p[i]);
	printf("prefault: %u of %u pages below the lowest block in memory\n", resident,
	       FRESH_PAGES);
}

/* The allocations of bigclass and bigalign, by operation number. */
static void *big_malloc(unsigned i, size_t n)
{
	(void)i;
	return malloc(n);
}

/*
 * posix_memalign, aligned_alloc and memalign at alignment 16, and calloc, in
 * turn (calloc's block must come zeroed: its first and last bytes are).
 */
static void *big_not_malloc(unsigned i, size_t n)
{
	void *p = NULL;
	switch (i % 4) {
	case 0:
		return posix_memalign(&p, 16, n) ? NULL : p;
	case 1:
		return aligned_alloc(16, n);
	case 2:
		return memalign(16, n);
	default:
		p = calloc(1, n);
		CHECK(!p || (((unsigned char *)p)[0] == 0 && ((unsigned char *)p)[n - 1] == 0));
		return p;
	}
}

/* BIG_OPS frees and allocations (alloc) over BIG_SLOTS, of the big classes. */
static void big_churn(const char *name, void *(*alloc)(unsigned i, size_t n))
{
	unsigned char *live[BIG_SLOTS] = { 0 };
	size_t sz[BIG_SLOTS] = { 0 };
	uint64_t s = 0x2545f4914f6cdd1dull;
	for (unsigned i = 0; i < BIG_OPS; i++) {
		xorshift64(&s);
		unsigned k = (unsigned)(s % BIG_SLOTS);
		if (live[k]) {
			CHECK(live[k][sz[k] - 1] == (unsigned char)sz[k]);
			free(live[k]);
		}
		sz[k] = BIG_LO + (size_t)((s >> 20) % (BIG_HI - BIG_LO + 1));
		live[k] = alloc(i, sz[k]);
		CHECK(live[k] != NULL);
		CHECK(((uintptr_t)live[k] & 15) == 0);
		if (!live[k])
			return;
		live[k][sz[k] - 1] = (unsigned char)sz[k];
	}
	for (unsigned k = 0; k < BIG_SLOTS; k++)
		free(live[k]);
	printf("%s: %u operations of %u..%u bytes\n", name, BIG_OPS, (unsigned)BIG_LO, (unsigned)BIG_HI);
}

static void case_bigclass(void)
{
	big_churn("bigclass", big_malloc);
}

static void case_bigalign(void)
{
	big_churn("bigalign", big_not_malloc);
}

static void case_bigrealloc(void)
{
	unsigned char *live[BIG_SLOTS];
	size_t sz[BIG_SLOTS];
	uint64_t s = 0x9e3779b97f4a7c15ull;
	for (unsigned k = 0; k < BIG_SLOTS; k++) {
		sz[k] = BIG_LO + (size_t)k * ((BIG_HI - BIG_LO) / BIG_SLOTS);
		live[k] = malloc(sz[k]);
		CHECK(live[k] != NULL);
		if (!live[k])
			return;
		live[k][0] = live[k][sz[k] - 1] = (unsigned char)k;
	}
	for (unsigned i = 0; i < BIG_OPS; i++) {
		xorshift64(&s);
		unsigned k = (unsigned)(s % BIG_SLOTS);
		size_t n = BIG_LO + (size_t)((s >> 20) % (BIG_HI - BIG_LO + 1));
		unsigned char *q = realloc_fn(live[k], n);
		CHECK(q != NULL);
		if (!q)
			return;
		/* The first byte moved with the block; the last is rewritten. */
		CHECK(q[0] == (unsigned char)k);
		live[k] = q;
		sz[k] = n;
		q[n - 1] = (unsigned char)k;
	}
	for (unsigned k = 0; k < BIG_SLOTS; k++) {
		CHECK(live[k][sz[k] - 1] == (unsigned char)k);
		free(live[k]);
	}
	printf("bigrealloc: %u reallocs to %u..%u bytes\n", BIG_OPS, (unsigned)BIG_LO, (unsigned)BIG_HI);
}

#define GIVEBACK_BLOCKS 64 /* at most 64 MiB looked at in one mincore */
#define GIVEBACK_BYTES ((size_t)1 << 20)
#define GIVEBACK_ROUNDS 200
#define GIVEBACK_LATER 16
#define GIVEBACK_SHRINK_FROM ((size_t)8 << 20)
#define GIVEBACK_SHRINK_TO ((size_t)64 << 10)

/*
 * Pages of [p, p + n) in memory, of those wholly inside it; unmapped
 * (glibc's unmapped blocks: ENOMEM) counts as none.
 */
static size_t resident_pages(uintptr_t p, size_t n, size_t *pages)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = (p + page - 1) & ~(page - 1);
	uintptr_t hi = (p + n) & ~(page - 1);
	static unsigned char in[(GIVEBACK_BLOCKS * GIVEBACK_BYTES) / 4096];
	size_t count = hi > lo ? (hi - lo) / page : 0, resident = 0;
	*pages = count;
	CHECK(count <= sizeof(in));
	if (count > sizeof(in))
		return count;
	if (mincore((void *)lo, hi - lo, in) != 0) {
		CHECK(errno == ENOMEM); /* unmapped */
		return 0;
	}
	for (size_t i = 0; i < count; i++)
		resident += in[i] & 1;
	return resident;
}

/* Writes, frees and looks at n blocks of `bytes`: their pages still in memory. */
static size_t burst_resident(unsigned n, size_t bytes, size_t *total)
{
	/* Addresses, not pointers: the pages of freed blocks are looked at. */
	static uintptr_t blk[GIVEBACK_BLOCKS];
	size_t pages = 0, resident = 0;
	*total = 0;
	CHECK(n <= GIVEBACK_BLOCKS);
	for (unsigned i = 0; i < n && i < GIVEBACK_BLOCKS; i++) {
		char *b = malloc(bytes);
		CHECK(b != NULL);
		if (!b)
			return 0;
		memset(b, (int)i + 1, bytes);
		blk[i] = (uintptr_t)b;
	}
	for (unsigned i = 0; i < n && i < GIVEBACK_BLOCKS; i++)
		free_fn((void *)blk[i]);
	for (unsigned i = 0; i < n && i < GIVEBACK_BLOCKS; i++) {
		resident += resident_pages(blk[i], bytes, &pages);
		*total += pages;
	}
	return resident;
}

/*
 * A block shrunk by realloc gives back the pages past what it keeps, and
 * keeps its bytes. First in its case: glibc maps a block this big by
 * itself and shrinks the mapping only while its threshold is low, as it
 * is in a fresh process (it rises to the size of each block unmapped).
 */
static void shrink_giveback(void)
{
	size_t big = GIVEBACK_SHRINK_FROM, kept = GIVEBACK_SHRINK_TO;
	char *s = malloc(big);
	CHECK(s != NULL);
	if (!s)
		return;
	memset(s, 0x6b, big);
	char *t = realloc_fn(s, kept);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(t[0] == 0x6b && t[kept - 1] == 0x6b);
	size_t pages = 0, resident = resident_pages((uintptr_t)s + kept, big - kept, &pages);
	printf("giveback: realloc shrank 8 MiB to 64 KiB%s: %zu of %zu pages past those kept in memory\n",
	       t == s ? " in place" : " (moved)", resident, pages);
	CHECK(pages > 0 && resident * 20 < pages);
	free(t);
}

static void case_giveback(void)
{
	size_t pages = 0, total = 0;

	/* 0. A shrink, first (see shrink_giveback). */
	shrink_giveback();

	/* 1. A burst of big blocks, written, then freed. */
	size_t resident = burst_resident(GIVEBACK_BLOCKS, GIVEBACK_BYTES, &total);
	printf("giveback: %zu of %zu pages of %u freed 1 MiB blocks still in memory\n",
	       resident, total, GIVEBACK_BLOCKS);
	CHECK(total > 0 && resident * 20 < total);

	/* 2. A move: the old block's pages go too, and its bytes come along. */
	size_t old_bytes = 4 * GIVEBACK_BYTES;
	char *p = malloc(old_bytes), *above = malloc(old_bytes);
	CHECK(p != NULL && above != NULL);
	if (!p || !above)
		return;
	memset(p, 0x5a, old_bytes);
	memset(above, 0x33, old_bytes);
	uintptr_t old = (uintptr_t)p;
	char *q = realloc_fn(p, 2 * old_bytes);
	CHECK(q != NULL);
	if (!q)
		return;
	CHECK(q[0] == 0x5a && q[old_bytes - 1] == 0x5a && above[0] == 0x33);
	if ((uintptr_t)q != old) {
		resident = resident_pages(old, old_bytes, &pages);
		printf("giveback: realloc moved 4 MiB to 8 MiB: %zu of %zu old pages in memory\n",
		       resident, pages);
		CHECK(pages > 0 && resident * 20 < pages);
	} else {
		printf("giveback: realloc grew in place\n");
	}
	free(q);
	free(above);

	/* 3. The same size freed and allocated over and over keeps its pages. */
	uintptr_t last = 0;
	for (unsigned r = 0; r < GIVEBACK_ROUNDS; r++) {
		char *b = malloc(GIVEBACK_BYTES);
		CHECK(b != NULL);
		if (!b)
			return;
		memset(b, (int)r, GIVEBACK_BYTES);
		last = (uintptr_t)b;
		free_fn(b);
	}
	resident = resident_pages(last, GIVEBACK_BYTES, &pages);
	printf("giveback: after %u rounds of 1 MiB, %zu of %zu pages of the last in memory\n",
	       GIVEBACK_ROUNDS, resident, pages);
	CHECK(pages > 0 && resident * 2 > pages);

	/* 4. Later, a burst gives its pages back again. */
	struct timespec pause = { 1, 500000000 };
	nanosleep(&pause, NULL);
	resident = burst_resident(GIVEBACK_LATER, GIVEBACK_BYTES, &total);
	printf("giveback: 1.5 s later, %zu of %zu pages of %u freed 1 MiB blocks in memory\n",
	       resident, total, GIVEBACK_LATER);
	CHECK(total > 0 && resident * 20 < total);

}

#define TRIM_BLOCKS 8192
#define TRIM_BYTES 4000

/*
 * malloc_trim gives back the pages of freed small blocks: 8,192 blocks of
 * 4,000 bytes written and freed, then malloc_trim(0); under 10% of the
 * pages they spanned are still in memory (glibc gives its free top back
 * at the frees already; without the shim's malloc_trim, glibc's ran on
 * its own unused heap and every page stayed).
 */
#define CALLOC_BIG ((size_t)32 << 20)
#define DIRTY_BLOCKS 64
#define DIRTY_BYTES ((size_t)100 << 10) /* below the purge threshold (128 KiB) */

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void case_calloc(void)
{
	unsigned char *big = calloc(1, CALLOC_BIG);
	CHECK(big != NULL);
	if (!big)
		return;
	size_t pages;
	size_t resident = resident_pages((uintptr_t)big, CALLOC_BIG, &pages);
	CHECK(all_zero(big, CALLOC_BIG));
	free(big);

	/* Written blocks, freed: they merge into one free block, pages kept. */
	static unsigned char *dirty[DIRTY_BLOCKS];
	for (int i = 0; i < DIRTY_BLOCKS; i++) {
		dirty[i] = malloc(DIRTY_BYTES);
		CHECK(dirty[i] != NULL);
		if (!dirty[i])
			return;
		memset(dirty[i], 0xab, DIRTY_BYTES);
	}
	for (int i = 0; i < DIRTY_BLOCKS; i++)
		free(dirty[i]);
	unsigned char *reused = calloc(4, (size_t)1 << 20);
	CHECK(reused != NULL && all_zero(reused, (size_t)4 << 20));
	free(reused);
	printf("calloc: %zu of %zu pages of a fresh 32 MiB calloc in memory\n", resident, pages);
	CHECK(resident * 20 < pages);
}

static void case_trim(void)
{
	static uintptr_t blk[TRIM_BLOCKS];
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (unsigned i = 0; i < TRIM_BLOCKS; i++) {
		char *b = malloc(TRIM_BYTES);
		CHECK(b != NULL);
		if (!b)
			return;
		memset(b, 0x77, TRIM_BYTES);
		blk[i] = (uintptr_t)b;
		lo = blk[i] < lo ? blk[i] : lo;
		hi = blk[i] + TRIM_BYTES > hi ? blk[i] + TRIM_BYTES : hi;
	}
	for (unsigned i = 0; i < TRIM_BLOCKS; i++)
		free_fn((void *)blk[i]);
	/* Their span, if resident_pages can look at it whole. */
	CHECK(hi - lo <= GIVEBACK_BLOCKS * GIVEBACK_BYTES);
	if (hi - lo > GIVEBACK_BLOCKS * GIVEBACK_BYTES)
		return;
	size_t pages = 0, before = resident_pages(lo, hi - lo, &pages);
	int trimmed = malloc_trim(0);
	size_t after = resident_pages(lo, hi - lo, &pages);
	printf("trim: %zu of %zu pages in memory after the frees, %zu after malloc_trim "
	       "(it returned %d)\n", before, pages, after, trimmed);
	CHECK(pages > 0 && after * 10 < pages);
}

/* ---- errno ---- */

/* Through a pointer, so the compiler reloads errno after the call. */
static void *(*volatile calloc_fn)(size_t, size_t) = calloc;

#define ERRNO_BLOCK ((size_t)256 << 10) /* above the purge threshold */

/*
 * A block the program locked (mlock, as for a key) and freed without
 * munlock: the pages stay locked, and the shim's MADV_DONTNEED of them
 * fails with EINVAL. free must leave errno alone (glibc's has since 2.33;
 * POSIX 2024 requires it), and so must a calloc that succeeds.
 */
static void case_errno(void)
{
	char *b = malloc(ERRNO_BLOCK);
	CHECK(b != NULL);
	if (!b)
		return;
	memset(b, 0x5a, ERRNO_BLOCK);
	if (mlock(b, ERRNO_BLOCK) != 0) {
		printf("errno: mlock refused (%s): not checked\n", strerror(errno));
		free(b);
		return;
	}
	errno = 0;
	free_fn(b);
	CHECK(errno == 0);
	errno = 0;
	void *c = calloc_fn(1, ERRNO_BLOCK);
	CHECK(c != NULL && errno == 0);
	free(c);
	printf("errno: kept by free and calloc of locked pages\n");
}

/* ---- libc ---- */

/* glibc's own names for its malloc family, exported (GLIBC_2.2.5). */
extern void *__libc_malloc(size_t size);
extern void __libc_free(void *p);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

/*
 * A program (a tracing malloc wrapper, a library that calls glibc's
 * names) mixes __libc_malloc and friends with malloc and free: one
 * allocator must serve both names, as on glibc.
 */
static void case_libc(void)
{
	char *a = malloc(100);
	CHECK(a != NULL);
	memset(a, 0x11, 100);
	char *b = __libc_realloc(a, 200000); /* grows what malloc made */
	CHECK(b != NULL && b[0] == 0x11 && b[99] == 0x11);
	__libc_free(b);
	char *c = __libc_malloc(100);
	CHECK(c != NULL);
	memset(c, 0x22, 100);
	CHECK(malloc_usable_size(c) >= 100);
	char *d = realloc(c, 200000); /* grows what __libc_malloc made */
	CHECK(d != NULL && d[0] == 0x22 && d[99] == 0x22);
	free(d);
	unsigned char *z = __libc_calloc(10, 10);
	CHECK(z != NULL && all_zero(z, 100) && malloc_usable_size(z) >= 100);
	free(z);
	long ps = sysconf(_SC_PAGESIZE);
	void *m = __libc_memalign(256, 100), *v = __libc_valloc(100), *pv = __libc_pvalloc(100);
	CHECK(m && ((uintptr_t)m & 255) == 0 && malloc_usable_size(m) >= 100);
	CHECK(v && ((uintptr_t)v & (uintptr_t)(ps - 1)) == 0 && malloc_usable_size(v) >= 100);
	CHECK(pv && malloc_usable_size(pv) >= (size_t)ps);
	free(m);
	free(v);
	free(pv);
	__libc_free(malloc(5000));
	printf("libc: __libc_malloc and malloc serve one heap\n");
}

/* ---- mallinfo ---- */

#define INFO_BLOCK ((size_t)10 << 20)

/* Bytes the program holds, as mallinfo2 counts them (heap + mmapped). */
static size_t held(const struct mallinfo2 *m)
{
	return m->uordblks + m->hblkhd;
}

/* malloc_stats' last "in use bytes" (its total), read back from stderr. */
static size_t malloc_stats_in_use(void)
{
	FILE *t = tmpfile();
	if (!t)
		return 0;
	fflush(stderr);
	int saved = dup(2);
	dup2(fileno(t), 2);
	malloc_stats();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(t);
	char line[128];
	size_t in_use = 0, v;
	while (fgets(line, sizeof(line), t))
		if (sscanf(line, "in use bytes = %zu", &v) == 1)
			in_use = v;
	fclose(t);
	return in_use;
}

/*
 * malloc_info's totals (after its last </heap>) as bytes in use: the system's
 * bytes and the mmapped ones, less the free ones (fast and rest).
 */
static size_t malloc_info_in_use(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return 0;
	int rc = malloc_info(0, f);
	fclose(f);
	size_t in_use = 0;
	const char *t = rc == 0 && buf ? strstr(buf, "</heap>") : NULL;
	size_t n, fast = 0, rest = 0, mmapped = 0, sys = 0;
	if (t && sscanf(t, "</heap>\n<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n"
			   "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
			   "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n"
			   "<system type=\"current\" size=\"%zu\"/>",
			&n, &fast, &n, &rest, &n, &mmapped, &sys) == 7)
		in_use = sys + mmapped - fast - rest;
	free(buf);
	return in_use;
}

/*
 * mallinfo2, mallinfo, malloc_stats and malloc_info describe the heap malloc uses: a live 10 MiB
 * block shows in the bytes in use, and goes at its free (before: the
 * shim left them to glibc, whose unused heap said 0 throughout).
 */
/* Exported by glibc, declared by no header. */
extern struct mallinfo __libc_mallinfo(void);

static void case_mallinfo(void)
{
	struct mallinfo2 m0 = mallinfo2();
	char *p = malloc(INFO_BLOCK);
	CHECK(p != NULL);
	if (!p)
		return;
	memset(p, 1, INFO_BLOCK);
	struct mallinfo2 m1 = mallinfo2();
	/* Deprecated (its int fields wrap past 2 GiB), and still called. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	struct mallinfo o1 = mallinfo();
#pragma GCC diagnostic pop
	/* glibc's second name for it (GLIBC_2.2.5), as __libc_malloc's. */
	struct mallinfo l1 = __libc_mallinfo();
	CHECK(held(&m1) >= held(&m0) + INFO_BLOCK);
	CHECK(m1.arena + m1.hblkhd >= held(&m1)); /* system bytes hold those in use */
	CHECK((size_t)o1.uordblks + (size_t)o1.hblkhd >= INFO_BLOCK);
	CHECK((size_t)l1.uordblks + (size_t)l1.hblkhd >= INFO_BLOCK);
	size_t stats_in_use = malloc_stats_in_use();
	CHECK(stats_in_use >= INFO_BLOCK);
	size_t info1 = malloc_info_in_use();
	CHECK(info1 >= INFO_BLOCK);
	CHECK(malloc_info(1, stdout) == EINVAL); /* no options yet, as glibc */
	free_fn(p);
	struct mallinfo2 m2 = mallinfo2();
	/* 64 KiB of slack: malloc_stats' tmpfile and stdio took some. */
	CHECK(held(&m2) + INFO_BLOCK <= held(&m1) + ((size_t)64 << 10));
	size_t info2 = malloc_info_in_use();
	CHECK(info2 + INFO_BLOCK <= info1 + ((size_t)64 << 10));
	printf("mallinfo: malloc_info in use %zu with 10 MiB, %zu after its free\n", info1, info2);
	printf("mallinfo: in use %zu, %zu with 10 MiB, %zu after its free\n", held(&m0),
	       held(&m1), held(&m2));
}

/* ---- errnowait ---- */

#define WAIT_BLOCKS 4000
#define WAIT_BLOCK 40000
static char *wait_blk[WAIT_BLOCKS];
static int wait_stop, wait_changed, wait_last;

/* Every other block freed, then malloc_trim: long spells of the heap lock. */
static void *wait_trimmer(void *arg)
{
	(void)arg;
	for (int r = 0; r < 8; r++) {
		for (int i = 0; i < WAIT_BLOCKS; i += 2) {
			wait_blk[i] = malloc(WAIT_BLOCK);
			if (wait_blk[i])
				memset(wait_blk[i], 1, WAIT_BLOCK);
		}
		for (int i = 0; i < WAIT_BLOCKS; i += 2)
			free(wait_blk[i]);
		malloc_trim(0);
	}
	__atomic_store_n(&wait_stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* errno is EDOM before each call and must be after it. */
static void *wait_churn(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
	while (!__atomic_load_n(&wait_stop, __ATOMIC_RELAXED)) {
		size_t n = WAIT_BLOCK + (size_t)(xorshift64(&s) % 10000);
		errno = EDOM;
		char *p = malloc_fn(n);
		int e = errno;
		if (!p) {
			__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
			break;
		}
		p[0] = 1;
		errno = EDOM;
		free_fn(p);
		if (errno != EDOM)
			e = errno;
		if (e != EDOM) {
			__atomic_fetch_add(&wait_changed, 1, __ATOMIC_RELAXED);
			__atomic_store_n(&wait_last, e, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static void case_errnowait(void)
{
	for (int i = 1; i < WAIT_BLOCKS; i += 2) {
		wait_blk[i] = malloc(WAIT_BLOCK);
		CHECK(wait_blk[i] != NULL);
		if (wait_blk[i])
			memset(wait_blk[i], 1, WAIT_BLOCK);
	}
	pthread_t tr, t[4];
	CHECK(pthread_create(&tr, NULL, wait_trimmer, NULL) == 0);
	for (uintptr_t i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, wait_churn, (void *)i) == 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	pthread_join(tr, NULL);
	for (int i = 1; i < WAIT_BLOCKS; i += 2)
		free(wait_blk[i]);
	CHECK(wait_changed == 0);
	printf("errnowait: errno changed by %d successful calls (last %s)\n", wait_changed,
	       wait_changed ? strerror(wait_last) : "-");
}

/* ---- nofence ---- */

static void case_nofence(void)
{
	/* Every system call allowed but membarrier, which fails with ENOSYS. */
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		printf("nofence: no seccomp (%s): not checked\n", strerror(errno));
		return;
	}
	fflush(stdout);
	execl("/proc/self/exe", "shim_cases", "nofence2", (char *)NULL);
	CHECK(!"exec");
}

static void case_nofence2(void)
{
	CHECK(errno_at_start == 0);
	errno = 0;
	CHECK(syscall(SYS_membarrier, 0 /* MEMBARRIER_CMD_QUERY */, 0, 0) == -1 && errno == ENOSYS);
	pthread_t t[8];
	for (uintptr_t i = 0; i < 8; i++)
		CHECK(pthread_create(&t[i], NULL, crowd_thread, (void *)i) == 0);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	printf("nofence: membarrier ENOSYS, errno %d at main\n", errno_at_start);
}

/* ---- foreign ---- */

static void case_foreign(void)
{
	/* glibc's realloc(p, 0) frees p and returns NULL; so does the shim's. */
	void *p = malloc(100);
	CHECK(p != NULL);
	CHECK(realloc_fn(p, 0) == NULL);
	const char *pre = getenv("LD_PRELOAD");
	if (!pre || !strstr(pre, "smpheap")) {
		printf("foreign: glibc (its realloc of a foreign pointer aborts)\n");
		return;
	}
	static _Alignas(16) char outside[4][256];
	free_fn(outside[0]); /* ignored */
	CHECK(malloc_usable_size(outside[1]) == 0);
	errno = 0;
	void *q = realloc_fn(outside[2], 0);
	CHECK(q == NULL);
	CHECK(errno == 0);
	free_fn(q);
	q = realloc_fn(outside[3], 100);
	CHECK(q != NULL && !(q >= (void *)outside && q < (void *)(outside + 4)));
	CHECK(malloc_usable_size(q) >= 100);
	free_fn(q);
	printf("foreign: realloc to 0 NULL, to 100 a new block\n");
}

/* ---- env ---- */

static void *env_thread(void *arg)
{
	for (uintptr_t r = 0; r < 10; r++)
		crowd_thread((void *)((uintptr_t)arg * 10 + r));
	return NULL;
}

static void case_env(void)
{
	enum { N = 200 };
	static pthread_t t[N];
	CHECK(errno_at_start == 0);
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 128 << 10);
	double t0 = now();
	for (uintptr_t i = 0; i < N; i++)
		CHECK(pthread_create(&t[i], &a, env_thread, (void *)i) == 0);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	printf("env: errno %d at main, %d threads x 20000 ops: %.2f s\n", errno_at_start, N,
	       now() - t0);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{ "huge", case_huge }, { "ulimit", case_ulimit },
		{ "rlimit", case_rlimit }, { "tinydata", case_tinydata },
		{ "regions", case_regions },
		{ "alignfree", case_alignfree }, { "exitleak", case_exitleak },
		{ "crowd", case_crowd }, { "fork", case_fork }, { "atfork", case_atfork },
		{ "forknohart", case_forknohart }, { "earlyatfork", case_earlyatfork },
		{ "earlyatfork2", case_earlyatfork2 },
		{ "blocked", case_blocked }, { "failfast", case_failfast },
		{ "bigclass", case_bigclass },
		{ "bigalign", case_bigalign }, { "bigrealloc", case_bigrealloc },
		{ "prefault", case_prefault },
		{ "giveback", case_giveback }, { "trim", case_trim }, { "calloc", case_calloc },
		{ "errno", case_errno }, { "libc", case_libc },
		{ "mallinfo", case_mallinfo }, { "env", case_env },
		{ "foreign", case_foreign }, { "errnowait", case_errnowait },
		{ "nofence", case_nofence }, { "nofence2", case_nofence2 },
	};
	errno_at_start = errno;
	if (argc != 2) {
		fprintf(stderr, "usage: shim_cases CASE\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(argv[1], cases[i].name)) {
			cases[i].fn();
			printf("shim_cases: %s %s\n", argv[1], failures ? "FAIL" : "PASS");
			fflush(stdout);
			return failures ? 1 : 0;
		}
	fprintf(stderr, "shim_cases: no case %s\n", argv[1]);
	return 2;
}
