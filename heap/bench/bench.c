// SPDX-License-Identifier: BSD-2-Clause
/*
 * Host benchmark: this heap's core against glibc malloc, side by side in one
 * process, alternating, so both see the same machine at the same moment.
 *  1. talc's random actions (talc benches/src/random_actions.rs): for max in
 *     200..30000, actions in a fixed time (HEAP_BENCH_MS, 200 ms as talc):
 *     1 in 7 a realloc of a random live block to rand(1..3 max), else an
 *     alloc of rand(4..rand(16..max)) bytes at alignment 8 << ctz(u16) / 2
 *     when fewer than 300 are live or 3 in 7, else a free of a random live
 *     block. The median of 3 alternating repetitions, a fresh 128 MiB heap
 *     (talc's HEAP_SIZE) each time. The loop also runs with no allocator
 *     (`loop`), so each allocator's time per action past the loop's is
 *     shown too (`net`): at max 200 the loop is about half of the core's.
 *  2. talc's microbenchmark (benches/src/microbench.rs): rdtscp ticks of each
 *     alloc (rand(4..rand(16..64 KiB)), the same alignments) and of each
 *     free (8 random live blocks when more than 50 are live 1 in 10 times,
 *     or more than 600); the figure is alloc p50 + free p50, as talc sums
 *     its quartiles.
 *  3. alloc+free pair latency, on a heap holding a random set of blocks.
 *  4. the heap-efficiency figure (tests/efficiency.h).
 * Each workload also runs on the core behind the project's ticket lock
 * (ticket_lock_irqsave around every call, as kheap takes it), so what the
 * lock adds is measured in the same run (issue 14: at most 40 ticks on the
 * microbenchmark's p50); the microbenchmark also behind a pthread spinlock
 * (`h+spin`), a yardstick for what any lock with a locked RMW adds here,
 * and both locks' uncontended acquire + release is timed alone.
 * The last line is machine-readable: the ratio to glibc of every max size
 * (and net_ratio_max*=, the same past the loop's time), random_actions_max200_ops=,
 * microbench_p50= and the locks' figures.
 */
#include "efficiency.h"

#include <bench/workloads.h>
#include <platform/ticket_lock.h>

#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
/* rdtscp between compiler fences, as talc's microbench reads it. */
static inline uint64_t ticks(void)
{
	unsigned aux;
	__asm__ __volatile__("" ::: "memory");
	uint64_t t = __rdtscp(&aux);
	__asm__ __volatile__("" ::: "memory");
	return t;
}
#else
static inline uint64_t ticks(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
#endif

#define HEAP_BYTES (512u << 20)
#define TALC_HEAP_BYTES ((size_t)1 << 27) /* talc's benches HEAP_SIZE */
#define RA_LIVE_MAX 100000                 /* talc's Vec::with_capacity */
#define RA_REALLOC_MULTI 3
#define RA_REPS 3
#define MB_MAX_LIVE 600
#define MB_SAMPLES (1u << 24)
#define MB_ROUNDS 5
#define MB_SECS 1.0 /* per allocator, as talc */

/*
 * One allocator under test; align is always a power of two. realloc keeps
 * align: what Rust's GlobalAlloc::realloc promises.
 */
struct ops {
	const char *name;
	struct bench_allocator a;
	void (*reset)(void *ctx); /* a fresh heap (or nothing) */
};

struct core_ctx {
	struct heap h;
	char *mem;
	size_t bytes;
};

static void *h_alloc(void *c, size_t s, size_t a) { return heap_alloc(c, s, a, NULL); }
static void h_free(void *c, void *p) { heap_free(c, p); }
/* Keeps the alignment, in place when it can, as talc's realloc does. */
static void *h_realloc(void *c, void *p, size_t old, size_t s, size_t a)
{
	(void)old;
	return heap_realloc_aligned(c, p, s, a, NULL);
}
static void h_reset(void *c)
{
	struct core_ctx *k = c;
	CHECK_EQ(heap_init(&k->h, k->mem, k->mem + k->bytes), HEAP_OK);
}

static void *g_alloc(void *c, size_t s, size_t a)
{
	(void)c;
	return a <= 16 ? malloc(s) : memalign(a, s);
}
static void g_free(void *c, void *p) { (void)c; free(p); }
static void *g_realloc(void *c, void *p, size_t old, size_t s, size_t a)
{
	(void)c;
	if (a <= 16)
		return realloc(p, s);
	void *q = memalign(a, s);
	if (q) {
		memcpy(q, p, old < s ? old : s);
		free(p);
	}
	return q;
}
static void g_reset(void *c) { (void)c; }

/*
 * No allocator: one buffer for every request, nothing freed. The random
 * actions never touch their blocks, so this times talc's loop alone (its
 * random numbers, its live set, the indirect calls); subtracted from each
 * allocator's time per action, it leaves what the allocator took.
 */
static char null_block[64];
static void *n_alloc(void *c, size_t s, size_t a)
{
	(void)c, (void)s, (void)a;
	return null_block;
}
static void n_free(void *c, void *p) { (void)c, (void)p; }
static void *n_realloc(void *c, void *p, size_t old, size_t s, size_t a)
{
	(void)c, (void)old, (void)s, (void)a;
	return p;
}

/* The core behind the ticket lock, with local interrupts "masked". */
static ticket_lock_t bench_lock = TICKET_LOCK_INIT;

static void *l_alloc(void *c, size_t s, size_t a)
{
	port_irqflags_t f = ticket_lock_irqsave(&bench_lock, NULL);
	void *p = heap_alloc(c, s, a, NULL);
	ticket_unlock_irqrestore(&bench_lock, f);
	return p;
}
static void l_free(void *c, void *p)
{
	port_irqflags_t f = ticket_lock_irqsave(&bench_lock, NULL);
	heap_free(c, p);
	ticket_unlock_irqrestore(&bench_lock, f);
}
static void *l_realloc(void *c, void *p, size_t old, size_t s, size_t a)
{
	(void)old;
	port_irqflags_t f = ticket_lock_irqsave(&bench_lock, NULL);
	void *q = heap_realloc_aligned(c, p, s, a, NULL);
	ticket_unlock_irqrestore(&bench_lock, f);
	return q;
}

/* The core behind a pthread spinlock (the microbenchmark only). */
static pthread_spinlock_t bench_spin;

static void *s_alloc(void *c, size_t s, size_t a)
{
	pthread_spin_lock(&bench_spin);
	void *p = heap_alloc(c, s, a, NULL);
	pthread_spin_unlock(&bench_spin);
	return p;
}
static void s_free(void *c, void *p)
{
	pthread_spin_lock(&bench_spin);
	heap_free(c, p);
	pthread_spin_unlock(&bench_spin);
}

/*
 * Mean ticks of one uncontended acquire + release, timed over a tight loop
 * (no rdtscp step in it): what the lock itself costs, beside what it adds
 * to the microbenchmark, where its locked RMW also waits for the previous
 * call's stores to drain.
 */
#define LOCK_PAIRS 10000000
static inline void ticket_pair(void)
{
	port_irqflags_t f = ticket_lock_irqsave(&bench_lock, NULL);
	__asm__ __volatile__("" ::: "memory");
	ticket_unlock_irqrestore(&bench_lock, f);
}

static inline void spin_pair(void)
{
	pthread_spin_lock(&bench_spin);
	__asm__ __volatile__("" ::: "memory");
	pthread_spin_unlock(&bench_spin);
}

/* Always inlined, so `pair` is a direct call the compiler inlines too. */
static inline __attribute__((always_inline)) double pair_ticks(void (*pair)(void))
{
	uint64_t t0 = ticks();
	for (int i = 0; i < LOCK_PAIRS; i++)
		pair();
	return (double)(ticks() - t0) / LOCK_PAIRS;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct live {
	void *p;
	size_t size, align;
};

/*
 * Actions done in `secs`: talc's random_actions() for one max size, the
 * step from <bench/workloads.h> (a realloc to rand(1..3 max), each block's
 * alignment kept for it). A NULL counts for nothing and changes nothing.
 */
static uint64_t random_actions(const struct ops *o, size_t max, double secs, uint64_t seed)
{
	static struct bench_block v[RA_LIVE_MAX];
	static size_t align[RA_LIVE_MAX];
	struct talc_live l = { .v = v, .align = align, .cap = RA_LIVE_MAX };
	uint64_t rng = seed, score = 0;

	o->reset(o->a.ctx);
	double t0 = now();
	while (now() - t0 < secs) {
		for (int i = 0; i < TALC_BATCH; i++)
			score += talc_step(&o->a, &l, &rng, max,
					   TALC_REALLOC_WIDE | TALC_KEEP_ALIGN) == BENCH_DONE;
	}
	talc_free_all(&o->a, &l);
	return score;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t t[3] = { a, b, c };
	qsort(t, 3, sizeof(t[0]), cmp_u64);
	return t[1];
}

/* talc's quartiles(): p1, p25, p50, p75, p99 of sorted data. */
static void quartiles(uint64_t *t, size_t n, uint64_t q[5])
{
	qsort(t, n, sizeof(t[0]), cmp_u64);
	q[0] = t[n / 100];
	q[1] = t[n / 4];
	q[2] = t[n / 2];
	q[3] = t[3 * n / 4];
	q[4] = t[99 * n / 100];
}

/* Samples of talc's microbench for one allocator, over several rounds. */
struct mb_samples {
	uint64_t at[MB_SAMPLES], ft[MB_SAMPLES];
	size_t na, nf;
};

/* One round of talc's microbench for `secs`: appends alloc and free ticks. */
static void microbench_round(const struct ops *o, double secs, struct mb_samples *m)
{
	static struct live act[MB_MAX_LIVE + 2];
	size_t n = 0;
	uint64_t rng = 42 + m->na;

	o->reset(o->a.ctx);
	for (size_t i = 1; i < 10000; i++) { /* warm up */
		volatile char *p = o->a.alloc(o->a.ctx, i * 8, 8);
		CHECK(p != NULL);
		(void)*p;
		o->a.free(o->a.ctx, (void *)p);
	}
	double t0 = now();
	for (size_t i = 0;; i++) {
		if (i % 256 == 0 &&
		    (now() - t0 > secs || m->na == MB_SAMPLES || m->nf + 8 > MB_SAMPLES))
			break;
		size_t s = talc_size(&rng, 0x10000), a = talc_align(&rng);
		uint64_t c0 = ticks();
		void *p = o->a.alloc(o->a.ctx, s, a);
		uint64_t c1 = ticks();
		if (!p) {
			while (n > 50)
				o->a.free(o->a.ctx, act[--n].p);
			continue;
		}
		m->at[m->na++] = c1 - c0;
		act[n++] = (struct live){ p, s, a };
		if ((n > 50 && bench_below(&rng, 0, 10) == 0) || n > MB_MAX_LIVE) {
			for (int k = 0; k < 8; k++) {
				size_t j = bench_below(&rng, 0, n);
				void *f = act[j].p;
				act[j] = act[--n];
				c0 = ticks();
				o->a.free(o->a.ctx, f);
				m->ft[m->nf++] = ticks() - c0;
			}
		}
	}
	while (n)
		o->a.free(o->a.ctx, act[--n].p);
}

/* talc's figure: per-quartile alloc ticks + free ticks in q. */
static void microbench_quartiles(struct mb_samples *m, uint64_t q[5])
{
	uint64_t qa[5], qf[5];
	quartiles(m->at, m->na, qa);
	quartiles(m->ft, m->nf, qf);
	for (int i = 0; i < 5; i++)
		q[i] = qa[i] + qf[i];
}

#define LAT_N 200000
/* Percentiles of one alloc+free pair, with 2000 random blocks live around it. */
static void latency(const struct ops *o, uint64_t pct[5])
{
	static uint64_t t[LAT_N];
	static void *bg[2000];
	uint64_t rng = 7;
	o->reset(o->a.ctx);
	for (int i = 0; i < 2000; i++)
		bg[i] = o->a.alloc(o->a.ctx, (size_t)test_range(&rng, 16, 2000), 16);
	for (int i = 0; i < 2000; i += 2)
		o->a.free(o->a.ctx, bg[i]);
	for (int i = 0; i < LAT_N; i++) {
		size_t s = (size_t)test_range(&rng, 8, 512);
		uint64_t c0 = ticks();
		void *p = o->a.alloc(o->a.ctx, s, 16);
		o->a.free(o->a.ctx, p);
		t[i] = ticks() - c0;
	}
	for (int i = 1; i < 2000; i += 2)
		o->a.free(o->a.ctx, bg[i]);
	quartiles(t, LAT_N, pct);
}

static void print_q(const char *name, const uint64_t q[5])
{
	printf("  %-6s %6llu %6llu %6llu %6llu %6llu\n", name, (unsigned long long)q[0],
	       (unsigned long long)q[1], (unsigned long long)q[2], (unsigned long long)q[3],
	       (unsigned long long)q[4]);
}

/* One figure's title and its three rows, in the order the README lists them. */
static void print_q3(const char *title, const uint64_t heap[5], const uint64_t locked[5],
		     const uint64_t glibc[5])
{
	printf("%s (p1 p25 p50 p75 p99):\n", title);
	print_q("heap", heap);
	print_q("h+lock", locked);
	print_q("glibc", glibc);
}

/* " KEY_maxM=R" for each of talc's max sizes: num / den, two decimals. */
static void print_ratios(const char *key, const uint64_t *num, const uint64_t *den)
{
	for (unsigned i = 0; i < TALC_NMAX; i++)
		printf(" %s_max%zu=%.2f", key, talc_maxes[i], (double)num[i] / (double)den[i]);
}

int main(int argc, char **argv)
{
	double secs = (double)test_param(argc, argv, 1, "HEAP_BENCH_MS", 200) / 1000;
	static struct core_ctx core;
	char *mem = test_map(HEAP_BYTES);
	/* talc touches its whole heap first: no page faults in the timings. */
	for (size_t i = 0; i < TALC_HEAP_BYTES; i += 1024)
		((volatile char *)mem)[i] = (char)0xab;
	core.mem = mem;
	core.bytes = TALC_HEAP_BYTES;
	struct ops mine = { "heap", { h_alloc, h_free, h_realloc, &core }, h_reset };
	struct ops locked = { "heap+lock", { l_alloc, l_free, l_realloc, &core }, h_reset };
	struct ops glibc = { "glibc", { g_alloc, g_free, g_realloc, NULL }, g_reset };
	struct ops spin = { "heap+spin", { s_alloc, s_free, NULL, &core }, h_reset };
	struct ops loop = { "loop", { n_alloc, n_free, n_realloc, NULL }, g_reset };
	CHECK_EQ(pthread_spin_init(&bench_spin, PTHREAD_PROCESS_PRIVATE), 0);
	const size_t *maxes = talc_maxes;
	enum { NMAX = TALC_NMAX };
	uint64_t ra[NMAX], ral[NMAX], rag[NMAX], ran[NMAX];
	double net[NMAX];
	double log_ratio = 0;

	printf("talc random actions (ops in %.0f ms, median of %d alternating runs; loop: no\n"
	       "allocator, talc's loop alone; net: ns per action past the loop's):\n",
	       secs * 1000, RA_REPS);
	printf("  %-6s %11s %11s %11s %11s %6s %6s %9s %9s %6s\n", "max", "heap", "heap+lock",
	       "glibc", "loop", "ratio", "lock", "heap net", "glibc net", "net");
	for (unsigned i = 0; i < NMAX; i++) {
		uint64_t a[RA_REPS], l[RA_REPS], g[RA_REPS], n[RA_REPS];
		for (int r = 0; r < RA_REPS; r++) {
			uint64_t seed = 100 + i * 10 + (uint64_t)r;
			(void)random_actions(&mine, maxes[i], 0.002, seed); /* talc's warm-up */
			a[r] = random_actions(&mine, maxes[i], secs, seed);
			(void)random_actions(&glibc, maxes[i], 0.002, seed);
			g[r] = random_actions(&glibc, maxes[i], secs, seed);
			(void)random_actions(&locked, maxes[i], 0.002, seed);
			l[r] = random_actions(&locked, maxes[i], secs, seed);
			n[r] = random_actions(&loop, maxes[i], secs, seed);
		}
		ra[i] = median3(a[0], a[1], a[2]);
		ral[i] = median3(l[0], l[1], l[2]);
		rag[i] = median3(g[0], g[1], g[2]);
		ran[i] = median3(n[0], n[1], n[2]);
		double loop_ns = secs * 1e9 / (double)ran[i];
		double heap_ns = secs * 1e9 / (double)ra[i] - loop_ns;
		double glibc_ns = secs * 1e9 / (double)rag[i] - loop_ns;
		net[i] = glibc_ns / heap_ns;
		printf("  %-6zu %11llu %11llu %11llu %11llu %6.2f %6.2f %9.1f %9.1f %6.2f\n", maxes[i],
		       (unsigned long long)ra[i], (unsigned long long)ral[i],
		       (unsigned long long)rag[i], (unsigned long long)ran[i],
		       (double)ra[i] / (double)rag[i], (double)ral[i] / (double)rag[i], heap_ns,
		       glibc_ns, net[i]);
		log_ratio += __builtin_log((double)ra[i] / (double)rag[i]);
	}
	double ratio = __builtin_exp(log_ratio / NMAX);

	/* Alternating rounds, so a change in the machine's load hits all four. */
	static struct mb_samples sh, sl, sg, ss;
	uint64_t mh[5], ml[5], mg[5], ms[5];
	for (int r = 0; r < MB_ROUNDS; r++) {
		microbench_round(&mine, MB_SECS / MB_ROUNDS, &sh);
		CHECK_EQ(heap_validate(&core.h, NULL, NULL), 0);
		microbench_round(&glibc, MB_SECS / MB_ROUNDS, &sg);
		microbench_round(&locked, MB_SECS / MB_ROUNDS, &sl);
		CHECK_EQ(heap_validate(&core.h, NULL, NULL), 0);
		microbench_round(&spin, MB_SECS / MB_ROUNDS, &ss);
		CHECK_EQ(heap_validate(&core.h, NULL, NULL), 0);
	}
	microbench_quartiles(&sh, mh);
	microbench_quartiles(&sl, ml);
	microbench_quartiles(&sg, mg);
	microbench_quartiles(&ss, ms);
	print_q3("talc microbench, alloc + free rdtscp ticks", mh, ml, mg);
	print_q("h+spin", ms);

	double ticket_ticks = pair_ticks(ticket_pair), spin_ticks = pair_ticks(spin_pair);
	printf("uncontended acquire + release, mean ticks: ticket lock %.1f, pthread spinlock %.1f\n",
	       ticket_ticks, spin_ticks);

	uint64_t lh[5], ll[5], lg[5];
	latency(&mine, lh);
	latency(&glibc, lg);
	latency(&locked, ll);
	print_q3("alloc+free pair, ticks", lh, ll, lg);

	double eff = 0;
	for (int t = 0; t < 10; t++)
		eff += efficiency_trial(mem, 32u << 20, 1000 + (uint64_t)t);
	eff /= 10;
	printf("heap efficiency (talc workload, 32 MiB, 10 trials): %.2f%%\n", eff * 100);
	printf("heap_bench: efficiency_pct=%.2f random_actions_vs_glibc=%.2f", eff * 100, ratio);
	print_ratios("ratio", ra, rag);
	print_ratios("lock_ratio", ral, rag);
	for (unsigned i = 0; i < NMAX; i++)
		printf(" net_ratio_max%zu=%.2f", talc_maxes[i], net[i]);
	printf(" p50_cycles=%llu glibc_p50_cycles=%llu random_actions_max200_ops=%llu "
	       "glibc_random_actions_max200_ops=%llu microbench_p50=%llu "
	       "glibc_microbench_p50=%llu lock_microbench_p50=%llu lock_adds_p50=%lld "
	       "spin_adds_p50=%lld lock_pair_ticks=%.1f spin_pair_ticks=%.1f\n",
	       (unsigned long long)lh[2], (unsigned long long)lg[2], (unsigned long long)ra[0],
	       (unsigned long long)rag[0], (unsigned long long)mh[2], (unsigned long long)mg[2],
	       (unsigned long long)ml[2], (long long)ml[2] - (long long)mh[2],
	       (long long)ms[2] - (long long)mh[2], ticket_ticks, spin_ticks);
	return 0;
}
