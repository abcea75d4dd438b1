// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench_kernel: allocator benchmarks on QEMU virt, magazines vs baseline.
 *
 * Every workload is measured as a whole run, all harts together:
 *
 *   prepare (each hart, unmeasured: warm-up, initial live set)
 *   barrier; boot hart reads the counter and the lock stats; barrier
 *   run (each hart)
 *   barrier; boot hart reads again; cleanup (unmeasured); drain; barrier
 *
 * Under `-icount shift=0` QEMU runs the harts in turn on one host thread and
 * the counters (instret, cycle: both read QEMU's virtual instruction clock,
 * 1 ns per instruction) advance with every instruction of every hart, M-mode
 * firmware included, so (after - before) / ops is the instructions per
 * operation summed over harts. The one thing that is not an instruction is
 * time all harts spend halted in wfi at once (QEMU warps the clock then); the
 * waits below wake their peer with an IPI so that never lasts. Without
 * icount (MTTCG, harts are host threads) the same run reports wall time from
 * rdtime instead.
 *
 * Bootargs:
 *   mode=magazines|baseline|null   percpu_init(PERCPU_MAGAZINES or
 *              PERCPU_BYPASS), or no allocator at all (see null_mode)
 *   workload=all|hitpair|random|prodcons|larson (default all)
 *   max=N      random actions' max size; 0 (default) runs 200, 1000, 3000,
 *              10000 and 30000 in turn
 *   ops=N      operations per hart per workload (default 20000; the hit
 *              pair runs 10x as many)
 *   seed=N     (default 1)
 *   counter=instret|cycle|time   what "insns" reads (default instret)
 *
 * One line per measurement:
 *   bench: wl=W max=M harts=H mode=X ops=N insns=I ipo_milli=.. lock_acq=..
 *          lock_spins=.. ipis=.. wall_us=..
 * and last: `bench_kernel: DONE harts=H mode=X results=K`.
 *
 * The workloads' loops are <bench/workloads.h>'s (alloc_bench runs the same
 * ones on the host); this file keeps the harts, the waits and the counting.
 */
#include <bench/workloads.h>
#include <heap/kheap.h>
#include <kernel/kernel.h>
#include <percpu/kmalloc.h>

enum counter { CTR_INSTRET, CTR_CYCLE, CTR_TIME };

static enum counter counter_kind;
static bool baseline;
/*
 * mode=null: no allocator, the harness alone (RNG, bookkeeping, touching the
 * blocks, the loops): a per-hart bump pointer that wraps around its slice of
 * the heap, free does nothing, realloc bumps without copying. Its
 * instructions per op, subtracted from the others, leave the allocator's.
 */
static bool null_mode;
static uint64_t ops_per_hart, seed, only_max;
static char workload[16];
static size_t heap_bytes;
static unsigned results;

static uint64_t read_counter(void)
{
	switch (counter_kind) {
	case CTR_CYCLE:
		return csr_read(cycle);
	case CTR_TIME:
		return platform_time();
	default:
		return csr_read(instret);
	}
}

static const char *mode_name(void)
{
	return null_mode ? "null" : baseline ? "baseline" : "magazines";
}

static const char *counter_name(void)
{
	return counter_kind == CTR_CYCLE ? "cycle" :
	       counter_kind == CTR_TIME  ? "time" : "instret";
}

/* ---- per-hart state ------------------------------------------------------ */

#define HITPAIR_SCALE 10  /* the pair is cheap: 10x the ops */
#define RANDOM_CAP 1024   /* live slots per hart in random actions */
#define LARSON_SLOTS 512  /* a larson live set */
#define LARSON_ROUND 1000 /* replacements between hand-overs */
#define RING_SIZE 1024    /* prodcons SPSC ring (power of two) */

struct hart_state {
	uint64_t rng;
	struct talc_live live;
	struct bench_block blocks[RANDOM_CAP];
	uint64_t ipis_sent;
	/* prodcons: this hart's outgoing ring, consumed by hart + 1. */
	void *ring_slot[RING_SIZE];
	struct bench_ring ring;
	unsigned waiting __attribute__((aligned(PORT_CACHE_LINE)));
} __attribute__((aligned(PORT_CACHE_LINE)));

static struct hart_state hs_[8];
static struct hart_state *hs[PORT_MAX_HARTS];

/* Larson live sets: hart h works on set (h + round) % nharts. */
static void *larson_sets[PORT_MAX_HARTS][LARSON_SLOTS];

/* The null allocator: hart h bumps through its 1/16 of the upper half. */
static char *bump_base[PORT_MAX_HARTS], *bump_cur[PORT_MAX_HARTS];
static size_t bump_slice;

static void *bump(size_t size, size_t align)
{
	unsigned h = smp_this_hart();
	uintptr_t p = ((uintptr_t)bump_cur[h] + align - 1) & ~(uintptr_t)(align - 1);
	if (p + size > (uintptr_t)bump_base[h] + bump_slice)
		p = ((uintptr_t)bump_base[h] + align - 1) & ~(uintptr_t)(align - 1);
	bump_cur[h] = (char *)(p + size);
	return (void *)p;
}

/*
 * The allocator the workloads call: kmalloc_aligned, kfree, krealloc, or in
 * mode=null the bump pointer. The mode is looked up at each call, as the
 * loops did before they moved to <bench/workloads.h>, and the calls inline
 * there, so the loops compile much as they did when written out here.
 */
static inline void *b_alloc(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	return null_mode ? bump(size, align) : kmalloc_aligned(size, align);
}

static inline void b_free(void *ctx, void *p)
{
	(void)ctx;
	if (!null_mode)
		kfree(p);
}

static inline void *b_realloc(void *ctx, void *p, size_t old, size_t size, size_t align)
{
	(void)ctx, (void)old, (void)align;
	return null_mode ? bump(size, 16) : krealloc(p, size);
}

static const struct bench_allocator bench_ops = { b_alloc, b_free, b_realloc, NULL };

/* The hit pair's: kmalloc and kfree themselves (never in mode=null). */
static inline void *hit_alloc(void *ctx, size_t size, size_t align)
{
	(void)ctx, (void)align;
	return kmalloc(size);
}

static inline void hit_free(void *ctx, void *p)
{
	(void)ctx;
	kfree(p);
}

static const struct bench_allocator hit_ops = { hit_alloc, hit_free, b_realloc, NULL };

/*
 * mode=null's hit pair: the same loop with an allocator that does nothing (a
 * block that is always ctx, no free), so the pair's allocator-only figure
 * (magazines minus null) subtracts exactly the loop.
 */
static inline void *null_hit_alloc(void *ctx, size_t size, size_t align)
{
	(void)size, (void)align;
	return ctx;
}

static inline void null_free(void *ctx, void *p)
{
	(void)ctx, (void)p;
}

static char null_block[64];
static const struct bench_allocator null_hit_ops = { null_hit_alloc, null_free, b_realloc,
						     null_block };

/* ---- waiting without idling every hart at once ---------------------------- */

/*
 * Waits a little for a peer. The peer wakes us with an IPI when it makes
 * progress (wake()), so under icount the clock never warps over a time when
 * every hart sleeps; wfi's short timeout bounds a lost wakeup.
 */
static void wait_for_peer(struct hart_state *me)
{
	__atomic_store_n(&me->waiting, 1, __ATOMIC_SEQ_CST);
	port_wait_long();
	__atomic_store_n(&me->waiting, 0, __ATOMIC_RELAXED);
}

static void wake(struct hart_state *me, unsigned peer)
{
	if (__atomic_load_n(&hs[peer]->waiting, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&hs[peer]->waiting, 0, __ATOMIC_RELAXED);
		platform_send_ipi(peer);
		me->ipis_sent++;
	}
}

/* ---- workloads ------------------------------------------------------------ */

struct workload {
	const char *name;
	void (*prepare)(unsigned hart, size_t max);
	void (*run)(unsigned hart, size_t max);
	void (*cleanup)(unsigned hart, size_t max);
};

/* (1) The magazine hit pair: kmalloc(64) + kfree, warmed up. */
static void hitpair_loop(uint64_t n)
{
	if (null_mode)
		bench_hitpair(&null_hit_ops, n, 64, 0);
	else
		bench_hitpair(&hit_ops, n, 64, 0);
}

static void hitpair_prepare(unsigned hart, size_t max)
{
	(void)hart, (void)max;
	hitpair_loop(1000);
}

static void hitpair_run(unsigned hart, size_t max)
{
	(void)hart, (void)max;
	hitpair_loop(ops_per_hart * HITPAIR_SCALE);
}

/*
 * (2) talc's random actions: batches of 100; realloc 1 in 7, else alloc
 * when fewer than 300 are live or 3 in 7, else free a random block; size
 * rand(4..rand(16..max)), alignment 8 << (ctz(rand16) / 2). Bounded by
 * RANDOM_CAP live blocks and a per-hart byte budget (heap / (2 * max(harts,
 * 4)), the same at 1, 2 and 4 harts): over either, the action is a free.
 */
static size_t random_budget(void)
{
	unsigned n = smp_nharts() < 4 ? 4 : smp_nharts();
	return heap_bytes / (2 * n);
}

static void random_actions(unsigned hart, size_t max, uint64_t n)
{
	struct hart_state *s = hs[hart];

	s->live.budget = random_budget();
	for (uint64_t done = 0; done < n; done += TALC_BATCH) {
		for (unsigned a = 0; a < TALC_BATCH; a++) {
			enum bench_result r = talc_step(&bench_ops, &s->live, &s->rng, max,
							TALC_BOUNDED | BENCH_TOUCH);
			kassert(r <= BENCH_SKIPPED);
		}
	}
}

static void random_prepare(unsigned hart, size_t max)
{
	random_actions(hart, max, 1000);
}

static void random_run(unsigned hart, size_t max)
{
	random_actions(hart, max, ops_per_hart);
}

static void random_cleanup(unsigned hart, size_t max)
{
	struct hart_state *s = hs[hart];
	(void)max;
	/* Random blocks, drawn: the next measurement's RNG goes on from here. */
	while (s->live.n)
		talc_free_one(&bench_ops, &s->live, &s->rng, BENCH_TOUCH);
}

/*
 * (3) Producer/consumer, xmalloc-test's shape: hart i allocates blocks of
 * 16..512 bytes and passes them through an SPSC ring to hart i + 1, which
 * frees them, so at 2+ harts every free is remote. One op = one block
 * (allocated here, freed there).
 */
static void prodcons_run(unsigned hart, size_t max)
{
	unsigned n = smp_nharts();
	unsigned next = (hart + 1) % n, prev = (hart + n - 1) % n;
	struct hart_state *me = hs[hart], *in = hs[prev];
	uint64_t produced = 0, consumed = 0;
	(void)max;

	while (produced < ops_per_hart || consumed < ops_per_hart) {
		bool progress = false;
		/* Produce a batch of up to 64 into our ring. */
		size_t at = bench_ring_put_at(&me->ring);
		size_t room = bench_ring_room(&me->ring, at);
		unsigned k = 0;
		while (k < 64 && produced < ops_per_hart && k < room) {
			bench_ring_fill(&me->ring, at + k,
					bench_pc_new(&bench_ops, &me->rng, 16, 0x5a, BENCH_TOUCH));
			produced++, k++;
		}
		if (k) {
			bench_ring_put_to(&me->ring, at + k);
			wake(me, next);
			progress = true;
		}
		/* Free everything the previous hart has passed us. */
		size_t end = bench_ring_ready(&in->ring);
		size_t take = bench_ring_take_at(&in->ring);
		if (end != take) {
			while (take != end) {
				bench_pc_free(&bench_ops, bench_ring_get(&in->ring, take), 0x5a,
					      BENCH_TOUCH);
				take++, consumed++;
			}
			bench_ring_taken(&in->ring, take);
			wake(me, prev);
			progress = true;
		}
		if (!progress)
			wait_for_peer(me);
	}
}

/*
 * (4) Larson-like: each hart keeps a live set of 512 blocks (16..512 bytes)
 * and replaces random ones (kfree + kmalloc = one op); every 1000 ops the
 * live sets move one hart on, so a hart frees what another allocated.
 */
static void larson_prepare(unsigned hart, size_t max)
{
	struct hart_state *s = hs[hart];
	enum bench_result r;
	(void)max;
	r = bench_larson_fill(&bench_ops, larson_sets[hart], LARSON_SLOTS, &s->rng, 16,
			      BENCH_TOUCH);
	kassert(r == BENCH_DONE);
}

static void larson_run(unsigned hart, size_t max)
{
	struct hart_state *s = hs[hart];
	unsigned n = smp_nharts();
	uint64_t rounds = (ops_per_hart + LARSON_ROUND - 1) / LARSON_ROUND;
	(void)max;

	for (uint64_t r = 0; r < rounds; r++) {
		void **set = larson_sets[(hart + r) % n];
		uint64_t done;
		enum bench_result res = bench_larson_round(&bench_ops, set, LARSON_SLOTS, &s->rng,
							   LARSON_ROUND, 16, BENCH_TOUCH, &done);
		kassert(res == BENCH_DONE);
		/* Hand this set to the next hart. */
		barrier();
	}
}

static void larson_cleanup(unsigned hart, size_t max)
{
	(void)max;
	for (unsigned i = 0; i < LARSON_SLOTS; i++)
		b_free(NULL, larson_sets[hart][i]);
}

static const struct workload workloads[] = {
	{ "hitpair", hitpair_prepare, hitpair_run, 0 },
	{ "random", random_prepare, random_run, random_cleanup },
	{ "prodcons", 0, prodcons_run, 0 },
	{ "larson", larson_prepare, larson_run, larson_cleanup },
};

/* ---- measuring ------------------------------------------------------------ */

struct snapshot {
	uint64_t ctr, time, lock_acq, lock_spins, ipis;
};

static void snap(struct snapshot *s)
{
	struct percpu_stats p;
	struct kheap_stats k;

	percpu_sum_stats(&p);
	kheap_get_stats(&k);
	s->lock_acq = p.lock_acquisitions + k.lock_acquisitions;
	s->lock_spins = p.lock_spins + k.lock_spins;
	s->ipis = 0;
	for (unsigned h = 0; h < smp_nharts(); h++)
		s->ipis += hs[h]->ipis_sent;
	s->time = platform_time();
	/* Last: the counter covers the run and as little else as possible. */
	s->ctr = read_counter();
}

static struct snapshot before;

/* Every hart: one measurement of workload w. */
static void measure(unsigned hart, const struct workload *w, size_t max)
{
	bool boot = hart == smp_boot_hart();

	if (w->prepare)
		w->prepare(hart, max);
	barrier();
	if (boot)
		snap(&before);
	barrier();
	w->run(hart, max);
	barrier();
	if (boot) {
		struct snapshot after;
		uint64_t ops = ops_per_hart * smp_nharts();
		if (w->run == larson_run)
			ops = (ops_per_hart + LARSON_ROUND - 1) / LARSON_ROUND *
			      LARSON_ROUND * smp_nharts();
		if (w->run == hitpair_run)
			ops *= HITPAIR_SCALE;
		if (w->run == random_run)
			ops = (ops_per_hart + 99) / 100 * 100 * smp_nharts();
		snap(&after);
		uint64_t insns = after.ctr - before.ctr;
		kprintf("bench: wl=%s max=%zu harts=%u mode=%s ops=%llu insns=%llu "
			"ipo_milli=%llu lock_acq=%llu lock_spins=%llu ipis=%llu "
			"wall_us=%llu counter=%s\n",
			w->name, max, smp_nharts(), mode_name(),
			(unsigned long long)ops, (unsigned long long)insns,
			(unsigned long long)(insns * 1000 / ops),
			(unsigned long long)(after.lock_acq - before.lock_acq),
			(unsigned long long)(after.lock_spins - before.lock_spins),
			(unsigned long long)(after.ipis - before.ipis),
			(unsigned long long)ticks_to_us(after.time - before.time),
			counter_name());
		results++;
	}
	if (w->cleanup)
		w->cleanup(hart, max);
	barrier();
	percpu_drain();
	barrier();
}

/* ---- the scenario ---------------------------------------------------------- */

static void setup(void)
{
	char buf[16];
	struct kheap_stats k;

	if (kernel_arg_str("mode", buf, sizeof(buf))) {
		baseline = !memcmp(buf, "baseline", 9);
		null_mode = !memcmp(buf, "null", 5);
	}
	counter_kind = CTR_INSTRET;
	if (kernel_arg_str("counter", buf, sizeof(buf))) {
		if (!memcmp(buf, "cycle", 6))
			counter_kind = CTR_CYCLE;
		else if (!memcmp(buf, "time", 5))
			counter_kind = CTR_TIME;
	}
	if (!kernel_arg_str("workload", workload, sizeof(workload)))
		memcpy(workload, "all", 4);
	ops_per_hart = kernel_arg_u64("ops", 20000);
	if (!ops_per_hart)
		ops_per_hart = 1;
	seed = kernel_arg_u64("seed", 1);
	only_max = kernel_arg_u64("max", 0);

	/* null: the heap keeps the lower half (stats, drains), bumps the upper. */
	kheap_init(sheap, null_mode ? sheap + (eheap - sheap) / 2 : eheap);
	percpu_init(baseline ? PERCPU_BYPASS : PERCPU_MAGAZINES);
	kheap_get_stats(&k);
	heap_bytes = k.heap.heap_bytes;
	bump_slice = (size_t)(eheap - sheap) / 16 & ~(size_t)4095;
	for (unsigned h = 0; h < 8; h++)
		bump_base[h] = bump_cur[h] = sheap + (8 + h) * bump_slice;
}

static bool selected(const char *name)
{
	size_t n = strlen(name);
	return !memcmp(workload, "all", 4) || !memcmp(workload, name, n + 1);
}

static void run(unsigned hart)
{
	struct hart_state *s;

	if (hart == smp_boot_hart()) {
		if (smp_nharts() > sizeof(hs_) / sizeof(hs_[0]))
			panic("bench: at most %zu harts", sizeof(hs_) / sizeof(hs_[0]));
		for (unsigned h = 0; h < smp_nharts(); h++)
			hs[h] = &hs_[h];
		kprintf("bench: %u harts, %s, %llu ops per hart, workload=%s, "
			"counter=%s, heap %zu KiB\n",
			smp_nharts(), mode_name(),
			(unsigned long long)ops_per_hart, workload, counter_name(),
			heap_bytes / 1024);
	}
	barrier();
	s = hs[hart];
	s->live = (struct talc_live){ .v = s->blocks, .cap = RANDOM_CAP };
	bench_ring_init(&s->ring, s->ring_slot, RING_SIZE);
	s->rng = (seed + 1) * 0x9e3779b97f4a7c15ULL + hart * 0x632be59bd9b4e019ULL;

	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		const struct workload *w = &workloads[i];
		if (!selected(w->name))
			continue;
		if (w->run != random_run) {
			measure(hart, w, 0);
			continue;
		}
		bool talcs = false;
		for (size_t m = 0; m < TALC_NMAX; m++) {
			talcs |= only_max == talc_maxes[m];
			if (!only_max || only_max == talc_maxes[m])
				measure(hart, w, talc_maxes[m]);
		}
		if (only_max && !talcs)
			measure(hart, w, only_max);
	}
}

static int finish(void)
{
	kprintf("bench_kernel: DONE harts=%u mode=%s results=%u\n",
		smp_nharts(), mode_name(), results);
	return results ? PORT_EXIT_PASS : PORT_EXIT_FAIL;
}

const struct kernel_scenario kernel_scenario = {
	.name = "bench_qemu",
	.setup = setup,
	.run = run,
	.finish = finish,
};
