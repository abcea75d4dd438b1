// SPDX-License-Identifier: BSD-2-Clause
/*
 * alloc_bench: multi-threaded malloc workloads for comparing allocators.
 *
 * Only plain malloc/free/realloc/posix_memalign/aligned_alloc calls, so the
 * allocator under test is whatever the dynamic linker resolves them to: glibc
 * by default, or a library given with LD_PRELOAD (our shim, jemalloc, ...).
 *
 *   alloc_bench -w WORKLOAD [-t THREADS] [-d SECONDS] [-s SEED] [-m MAX]
 *               [-n ACTIONS]
 *
 * Workloads (each thread runs its own loop until the time is up):
 *   random      talc's "random actions": batches of 100 actions, realloc 1 in
 *               7, else alloc while fewer than 300 blocks live or 3 in 7,
 *               else free a random block; size rand(4..rand(16..max)),
 *               alignment 8 << (ctz(rand16) / 2); the time is split evenly
 *               over max = 200, 1000, 3000, 10000, 30000 (-m MAX: that max
 *               alone, for one phase's figure). op = one action. -n ACTIONS:
 *               each thread runs that many actions per phase instead, and
 *               the time is what they took: the live set random-walks, so
 *               only equal action counts compare allocators' peak RSS.
 *   hitpair     malloc(64) + free in a loop: the fast path. op = one pair.
 *   prodcons    xmalloc-test's shape: thread i mallocs batches of 64 blocks
 *               (16..512 bytes) and passes them to thread i+1 (a ring of
 *               SPSC queues), which frees them: every free is remote with 2+
 *               threads. op = one block allocated and freed.
 *   larson      Larson & Krishnan: a thread keeps 1000 live blocks (16..512),
 *               frees a random one and mallocs a new one; after 20000 such
 *               rounds it starts a successor thread, hands it its live set and
 *               exits, so the successor frees blocks another thread allocated.
 *               op = one free + malloc. Thread create/exit is in the time.
 *   cachescratch  Hoard's cache-scratch (passive false sharing): the main
 *               thread mallocs one 8-byte object per thread, each thread frees
 *               its object, then loops malloc(8), 100 writes, free. If the
 *               allocator hands a thread a block in another thread's cache
 *               line, the writes ping-pong the line. op = one malloc+writes+free.
 *   bigloop     malloc(1 MiB) (-m MAX: that size), memset, free, in a loop:
 *               what giving freed pages back costs a program that reuses
 *               one big buffer (tools/shim/README.md, "Memory given back").
 *               op = one malloc+memset+free.
 *
 * The loops of random, hitpair, prodcons and larson are <bench/workloads.h>'s
 * (bench_kernel runs the same ones on QEMU); this file keeps the threads,
 * the clock and the report.
 *
 * Output, one line on stdout:
 *   alloc_bench: workload=W threads=N ops=... secs=... mops=... maxrss_kb=...
 * Exit 0 on success, 1 when an allocation failed or data was corrupted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bench/workloads.h>

#define MAX_THREADS 256
#define CACHE_LINE 64

static atomic_int g_stop;
static atomic_int g_failed;
static atomic_ulong g_misaligned;
static double g_duration = 1.0;
static unsigned g_threads = 1;
static unsigned long g_seed = 12345;
/* -m: random runs only this max for the whole time (0: talc's five phases). */
static size_t g_max;
/* -n: random runs this many actions per thread and phase, untimed (0: -d). */
static uint64_t g_actions;

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(const char *what, size_t size)
{
	if (atomic_exchange(&g_failed, 1) == 0)
		fprintf(stderr, "alloc_bench: FAIL %s (size %zu)\n", what, size);
	atomic_store(&g_stop, 1);
}

/* Per thread (or larson chain): seed and index mixed, then splitmix64. */
static void rng_seed(uint64_t *r, unsigned long seed, unsigned idx)
{
	*r = (seed + 1) * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)(idx + 1) << 32);
}

/* Start line: every worker waits here, then the clock starts. */
static pthread_barrier_t g_start;

struct worker {
	unsigned idx;
	pthread_t th;
	uint64_t ops;
	uint64_t rng;
	char pad[CACHE_LINE];
};

/* ---------------- the allocator: libc's calls ---------------- */

static void *plain_alloc(void *ctx, size_t size, size_t align)
{
	(void)ctx, (void)align; /* align 0: malloc's own */
	return malloc(size);
}

static void plain_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static void *plain_realloc(void *ctx, void *p, size_t old, size_t size, size_t align)
{
	(void)ctx, (void)old, (void)align;
	return realloc(p, size);
}

/* hitpair, prodcons, larson: malloc, free. */
static const struct bench_allocator plain = { plain_alloc, plain_free, plain_realloc, NULL };

/*
 * Random actions: malloc when 8 is enough, else aligned_alloc or
 * posix_memalign by a coin drawn after the alignment (ctx: the worker's RNG).
 */
static void *talc_alloc(void *ctx, size_t size, size_t align)
{
	uint64_t *r = ctx;
	void *p;
	if (align == 8) {
		/* malloc promises only what the size needs: 8 for tiny blocks. */
		p = malloc(size);
	} else if (bench_rand(r) & 1) {
		/* C11 aligned_alloc: size a multiple of align. */
		p = aligned_alloc(align, (size + align - 1) & ~(align - 1));
	} else if (posix_memalign(&p, align, size) != 0) {
		p = NULL;
	}
	if (p && ((uintptr_t)p & (align - 1))) {
		/* Counted, not fatal: Debian's mimalloc 2.0.9 gets 256..1024 wrong. */
		if (atomic_fetch_add(&g_misaligned, 1) == 0)
			fprintf(stderr, "alloc_bench: misaligned block %p for align %zu size %zu\n",
				p, align, size);
	}
	return p;
}

/* ---------------- random actions (talc) ---------------- */

/* The live array doubles when full. */
static bool ra_grow(struct talc_live *l)
{
	struct bench_block *v = realloc(l->v, 2 * l->cap * sizeof(*v));
	if (!v)
		return false;
	l->v = v;
	l->cap *= 2;
	return true;
}

/* What each failed step says (alloc_bench's messages before the loop moved). */
static const char *const ra_why[] = {
	[BENCH_ALLOC_NULL] = "alloc returned NULL",
	[BENCH_REALLOC_NULL] = "realloc returned NULL",
	[BENCH_REALLOC_LOST] = "realloc lost data",
	[BENCH_CORRUPT] = "block corrupted",
	[BENCH_NO_ROOM] = "realloc of the live array",
};

static void *w_random(void *arg)
{
	struct worker *w = arg;
	const struct bench_allocator a = { talc_alloc, plain_free, plain_realloc, &w->rng };
	struct talc_live l = { .cap = 4096, .budget = SIZE_MAX, .grow = ra_grow };
	uint64_t ops = 0;
	l.v = calloc(l.cap, sizeof(*l.v));
	if (!l.v) {
		fail("calloc", l.cap * sizeof(*l.v));
		return NULL;
	}
	pthread_barrier_wait(&g_start);
	double t0 = now_sec();
	unsigned phases = g_max ? 1 : TALC_NMAX;
	for (unsigned ph = 0; ph < phases && !atomic_load(&g_stop); ph++) {
		size_t max = g_max ? g_max : talc_maxes[ph];
		double end = t0 + g_duration * (ph + 1) / phases;
		uint64_t phase_ops = 0;
		while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
			for (int i = 0; i < TALC_BATCH; i++) {
				enum bench_result r = talc_step(&a, &l, &w->rng, max, BENCH_CHECK);
				if (r > BENCH_SKIPPED) {
					fail(ra_why[r], r == BENCH_NO_ROOM ? l.cap : l.size);
					goto out;
				}
			}
			ops += TALC_BATCH;
			phase_ops += TALC_BATCH;
			if (g_actions ? phase_ops >= g_actions : now_sec() >= end)
				break;
		}
		/* Each phase starts from an empty live set. */
		talc_free_all(&a, &l);
	}
out:
	talc_free_all(&a, &l);
	free(l.v);
	w->ops = ops;
	return NULL;
}

/* ---------------- hit pair ---------------- */

static void *w_hitpair(void *arg)
{
	struct worker *w = arg;
	uint64_t ops = 0;
	pthread_barrier_wait(&g_start);
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		if (bench_hitpair(&plain, 1024, 64, BENCH_TOUCH) < 1024) {
			fail("malloc(64)", 64);
			break;
		}
		ops += 1024;
	}
	w->ops = ops;
	return NULL;
}

/* ---------------- big blocks reused ---------------- */

#define BIG_LOOP_DEFAULT ((size_t)1 << 20)

static void *w_bigloop(void *arg)
{
	struct worker *w = arg;
	size_t size = g_max ? g_max : BIG_LOOP_DEFAULT;
	uint64_t ops = 0;
	pthread_barrier_wait(&g_start);
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		char *volatile p = malloc(size);
		if (!p) {
			fail("malloc(big)", size);
			break;
		}
		memset(p, (int)ops, size);
		free(p);
		ops++;
	}
	w->ops = ops;
	return NULL;
}

/* ---------------- producer/consumer ring ---------------- */

#define PC_BATCH 64
#define PC_QLEN 64 /* power of two */
#define PC_TAG 0x5a

/* What a ring slot carries: one malloc'd batch of blocks. */
struct batch {
	void *blk[PC_BATCH];
};

/* Thread i-1 pushes into queue i, thread i pops from it. */
struct pc_queue {
	struct bench_ring ring;
	void *slot[PC_QLEN];
};

static struct pc_queue *g_q;

static uint64_t pc_consume(struct bench_ring *in)
{
	struct batch *b;
	uint64_t freed = 0;
	while ((b = bench_ring_pop(in))) {
		for (int i = 0; i < PC_BATCH; i++) {
			if (bench_pc_free(&plain, b->blk[i], PC_TAG, BENCH_CHECK) != BENCH_DONE) {
				fail("block corrupted in transit", 0);
				return freed;
			}
		}
		free(b);
		freed += PC_BATCH;
	}
	return freed;
}

static void *w_prodcons(void *arg)
{
	struct worker *w = arg;
	struct bench_ring *in = &g_q[w->idx].ring;
	struct bench_ring *out = &g_q[(w->idx + 1) % g_threads].ring;
	uint64_t ops = 0;
	pthread_barrier_wait(&g_start);
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		struct batch *b = malloc(sizeof(*b));
		if (!b) {
			fail("malloc(batch)", sizeof(*b));
			break;
		}
		for (int i = 0; i < PC_BATCH; i++) {
			b->blk[i] = bench_pc_new(&plain, &w->rng, 0, PC_TAG, BENCH_CHECK);
			if (!b->blk[i]) {
				fail("malloc", 0);
				break;
			}
		}
		/*
		 * A full queue: free our own input meanwhile, so the ring moves;
		 * if nothing moves, the consumer is not running (a busy host):
		 * yield instead of burning its CPU.
		 */
		unsigned idle = 0;
		while (!bench_ring_push(out, b)) {
			if (++idle % 64 == 0)
				sched_yield();
			if (atomic_load(&g_stop)) {
				/* The consumer may have left: free this batch here. */
				for (int i = 0; i < PC_BATCH; i++)
					free(b->blk[i]);
				free(b);
				goto done;
			}
			ops += pc_consume(in);
			if (atomic_load(&g_failed))
				goto done;
		}
		ops += pc_consume(in);
	}
done:
	/* Nobody produces after this barrier; then drain what is left. */
	pthread_barrier_wait(&g_start);
	ops += pc_consume(in);
	w->ops = ops;
	return NULL;
}

/* ---------------- larson ---------------- */

#define LA_SLOTS 1000
#define LA_ROUNDS 20000

struct la_chain {
	void **slot;
	uint64_t rng;
	uint64_t ops;
	atomic_uint generations;
	pthread_t last;
	atomic_int done;
	char pad[CACHE_LINE];
};

struct la_arg {
	struct la_chain *c;
	pthread_t prev;
	int has_prev;
};

static atomic_uint g_la_done;

static void *w_larson(void *arg)
{
	struct la_arg a = *(struct la_arg *)arg;
	struct la_chain *c = a.c;
	free(arg);
	if (a.has_prev)
		pthread_join(a.prev, NULL);
	uint64_t ops = 0;
	switch (bench_larson_round(&plain, c->slot, LA_SLOTS, &c->rng, LA_ROUNDS, 0, BENCH_CHECK,
				   &ops)) {
	case BENCH_DONE:
		break;
	case BENCH_ALLOC_NULL:
		fail("malloc", 0);
		break;
	default:
		fail("larson block corrupted", 0);
	}
	c->ops += ops;
	atomic_fetch_add(&c->generations, 1);
	if (!atomic_load(&g_stop)) {
		struct la_arg *na = malloc(sizeof(*na));
		if (na) {
			na->c = c;
			na->prev = pthread_self();
			na->has_prev = 1;
			pthread_t t;
			if (pthread_create(&t, NULL, w_larson, na) == 0)
				return NULL;
			free(na);
		}
		fail("pthread_create for the successor", 0);
	}
	c->last = pthread_self();
	atomic_store(&c->done, 1);
	atomic_fetch_add(&g_la_done, 1);
	return NULL;
}

static int run_larson(uint64_t *ops_out, double *secs_out)
{
	struct la_chain *ch = calloc(g_threads, sizeof(*ch));
	if (!ch)
		return 1;
	for (unsigned t = 0; t < g_threads; t++) {
		ch[t].slot = malloc(LA_SLOTS * sizeof(void *));
		rng_seed(&ch[t].rng, g_seed, t);
		if (bench_larson_fill(&plain, ch[t].slot, LA_SLOTS, &ch[t].rng, 0, BENCH_CHECK) !=
		    BENCH_DONE)
			return 1;
	}
	double t0 = now_sec();
	for (unsigned t = 0; t < g_threads; t++) {
		struct la_arg *a = malloc(sizeof(*a));
		a->c = &ch[t];
		a->has_prev = 0;
		pthread_t th;
		if (pthread_create(&th, NULL, w_larson, a) != 0)
			return 1;
	}
	struct timespec d = { (time_t)g_duration,
			      (long)((g_duration - (double)(time_t)g_duration) * 1e9) };
	nanosleep(&d, NULL);
	atomic_store(&g_stop, 1);
	while (atomic_load(&g_la_done) < g_threads)
		usleep(100);
	double t1 = now_sec();
	uint64_t ops = 0;
	for (unsigned t = 0; t < g_threads; t++) {
		pthread_join(ch[t].last, NULL);
		ops += ch[t].ops;
		for (size_t i = 0; i < LA_SLOTS; i++)
			free(ch[t].slot[i]);
		free(ch[t].slot);
	}
	free(ch);
	*ops_out = ops;
	*secs_out = t1 - t0;
	return 0;
}

/* ---------------- cache-scratch ---------------- */

#define CS_WRITES 100
#define CS_OBJ 8

static void **g_cs_obj;

static void *w_cachescratch(void *arg)
{
	struct worker *w = arg;
	uint64_t ops = 0;
	/* The object the main thread allocated: freed here, likely reused next. */
	free(g_cs_obj[w->idx]);
	pthread_barrier_wait(&g_start);
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		for (int i = 0; i < 64; i++) {
			volatile char *p = malloc(CS_OBJ);
			if (!p) {
				fail("malloc(8)", CS_OBJ);
				break;
			}
			for (int j = 0; j < CS_WRITES; j++)
				p[j & (CS_OBJ - 1)] = (char)(p[j & (CS_OBJ - 1)] + 1);
			free((void *)p);
		}
		ops += 64;
	}
	w->ops = ops;
	return NULL;
}

/* ---------------- driver ---------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: alloc_bench -w random|hitpair|prodcons|larson|cachescratch|bigloop\n"
		"                   [-t threads] [-d seconds] [-s seed] [-m max]\n"
		"                   [-n actions (random: per thread and phase, untimed)]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *wl = NULL;
	int c;
	while ((c = getopt(argc, argv, "w:t:d:s:m:n:h")) != -1) {
		switch (c) {
		case 'w': wl = optarg; break;
		case 't': g_threads = (unsigned)atoi(optarg); break;
		case 'd': g_duration = atof(optarg); break;
		case 's': g_seed = strtoul(optarg, NULL, 0); break;
		case 'm': g_max = strtoul(optarg, NULL, 0); break;
		case 'n': g_actions = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	/* talc's sizes are rand(4..rand(16..max)): a max of 16 or less has none. */
	if (!wl || g_threads < 1 || g_threads > MAX_THREADS || g_duration <= 0 ||
	    (g_max && g_max <= 16) || (g_actions && strcmp(wl, "random")))
		usage();

	void *(*fn)(void *) = NULL;
	if (!strcmp(wl, "random"))
		fn = w_random;
	else if (!strcmp(wl, "hitpair"))
		fn = w_hitpair;
	else if (!strcmp(wl, "prodcons"))
		fn = w_prodcons;
	else if (!strcmp(wl, "cachescratch"))
		fn = w_cachescratch;
	else if (!strcmp(wl, "bigloop"))
		fn = w_bigloop;
	else if (strcmp(wl, "larson"))
		usage();

	uint64_t ops = 0;
	double secs = 0;
	if (!fn) {
		if (run_larson(&ops, &secs))
			fail("larson setup", 0);
	} else {
		struct worker *w = calloc(g_threads, sizeof(*w));
		if (fn == w_prodcons) {
			if (posix_memalign((void **)&g_q, CACHE_LINE,
					   g_threads * sizeof(*g_q)))
				return 1;
			for (unsigned t = 0; t < g_threads; t++)
				bench_ring_init(&g_q[t].ring, g_q[t].slot, PC_QLEN);
		}
		if (fn == w_cachescratch) {
			g_cs_obj = malloc(g_threads * sizeof(void *));
			for (unsigned t = 0; t < g_threads; t++)
				g_cs_obj[t] = malloc(CS_OBJ);
		}
		pthread_barrier_init(&g_start, NULL, g_threads + 1);
		for (unsigned t = 0; t < g_threads; t++) {
			w[t].idx = t;
			rng_seed(&w[t].rng, g_seed, t);
			if (pthread_create(&w[t].th, NULL, fn, &w[t])) {
				fprintf(stderr, "alloc_bench: pthread_create failed\n");
				return 1;
			}
		}
		pthread_barrier_wait(&g_start);
		double t0 = now_sec(), t1 = t0;
		if (!g_actions) {
			struct timespec d = { (time_t)g_duration,
					      (long)((g_duration - (double)(time_t)g_duration) * 1e9) };
			nanosleep(&d, NULL);
			atomic_store(&g_stop, 1);
			t1 = now_sec();
		}
		if (fn == w_prodcons)
			pthread_barrier_wait(&g_start);
		for (unsigned t = 0; t < g_threads; t++) {
			pthread_join(w[t].th, NULL);
			ops += w[t].ops;
		}
		if (g_actions)
			t1 = now_sec(); /* the workers' own time: they stopped by count */
		secs = t1 - t0;
		if (fn == w_prodcons)
			free(g_q);
		if (fn == w_cachescratch)
			free(g_cs_obj);
		free(w);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	/* ru_maxrss survives exec (it would show the parent's); VmHWM does not. */
	long hwm_kb = -1;
	FILE *st = fopen("/proc/self/status", "r");
	if (st) {
		char line[256];
		while (fgets(line, sizeof(line), st))
			if (sscanf(line, "VmHWM: %ld", &hwm_kb) == 1)
				break;
		fclose(st);
	}
	if (hwm_kb < 0)
		hwm_kb = ru.ru_maxrss;
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
		     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
	printf("alloc_bench: workload=%s threads=%u ops=%llu secs=%.4f mops=%.3f "
	       "cpu_secs=%.4f maxrss_kb=%ld misaligned=%lu%s\n",
	       wl, g_threads, (unsigned long long)ops, secs, (double)ops / secs / 1e6,
	       cpu, hwm_kb, (unsigned long)atomic_load(&g_misaligned),
	       atomic_load(&g_failed) ? " FAILED" : "");
	return atomic_load(&g_failed) ? 1 : 0;
}
