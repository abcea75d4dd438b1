// SPDX-License-Identifier: BSD-2-Clause
/*
 * qemu_oom: out-of-memory on purpose, to check the heap's OOM report (and
 * that it is not given too early). One kernel, the scenario picked with the
 * bootarg case=NAME:
 *
 *   exhaust       hart oom_hart (default 1) takes 64 KiB blocks until the heap
 *                 runs out, while every other hart keeps allocating and
 *                 freeing small blocks (kmalloc_try, so only oom_hart reports).
 *                 Expect exit 4 and the report naming oom_hart.
 *   exhaust_all   every hart takes 64 KiB blocks with kmalloc: several harts
 *                 run out at once, and one full report must still come out.
 *   huge          hart 0 asks for 32 MiB of the 16 MiB heap (Comix's documented
 *                 "heap overflow" mistake): the same report, at once.
 *   huge_aligned  the same through kmalloc_aligned(32 MiB, 4096): the report
 *                 shows the alignment.
 *   nofalse       no false OOM (issue #4): hart A = 1 fills its magazines and
 *                 the depot, then idles in wfi; hart B = 0 asks for a block that
 *                 only fits once A's cache is back in the heap. The flush
 *                 request reaches A by IPI (port_kick_hart). Expect exit 0 and
 *                 `qemu_oom: PASS case=nofalse ...` with the figures.
 *                 remote_flush=0 (percpu_test_set_remote_flush(false)) must end
 *                 in the OOM report instead (exit 4): the flush is needed.
 *   late_free     memory freed while the reclaim waits: hart A = 1 (one
 *                 small magazine cached, so a flush request asks it) holds
 *                 a 1 MiB block and answers no interrupt (masked, as a hart
 *                 on a loaded host does not answer in time); hart B = 0 asks
 *                 for 512 KiB, more than the largest free block, and waits
 *                 for A's answer; A frees its block to the heap after 200
 *                 ms, and answers only after B's flush wait ran out, so
 *                 nothing came back through the flush. The request must get
 *                 that block: expect exit 0 and
 *                 `qemu_oom: PASS case=late_free ...`.
 *
 * Every scenario needs at least 2 harts. The OOM report itself is the heap's
 * (heap/kheap.c oom_panic + percpu's report-extra lines), printed by
 * port_panic after every other hart stopped.
 */
#include <heap/kheap.h>
#include <kernel/kernel.h>
#include <percpu/kmalloc.h>
#include <platform/ticket_lock.h>

#define KIB ((size_t)1024)
#define MIB (1024 * KIB)

static char which[32];
static unsigned oom_hart;
/* Set by the hart that finished its part; others spin or wfi on it. */
static unsigned done;

static bool is_case(const char *name)
{
	const char *a = which, *b = name;
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static uint32_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

static void setup(void)
{
	if (!kernel_arg_str("case", which, sizeof(which)))
		memcpy(which, "exhaust", sizeof("exhaust"));
	/* With one hart, run() names the missing second one instead. */
	oom_hart = platform_nharts() < 2 ? 1 : kernel_arg_hart("oom_hart", 1);
	kheap_init(sheap, eheap);
	percpu_init(PERCPU_MAGAZINES);
	if (!kernel_arg_u64("remote_flush", 1))
		percpu_test_set_remote_flush(false);
	kprintf("qemu_oom: case=%s heap %zu bytes at %p, remote_flush=%llu\n", which,
		(size_t)(eheap - sheap), (void *)sheap,
		(unsigned long long)kernel_arg_u64("remote_flush", 1));
}

/*
 * A background hart: a working set of 32 small blocks, each freed and
 * replaced at random, for ever (until the panic parks this hart). kmalloc_try,
 * so that a background hart that finds the heap full does not report first.
 */
static _Noreturn void churn(unsigned hart)
{
	void *set[32] = { 0 };
	uint64_t s = 0x9e3779b97f4a7c15ull * (hart + 1);

	for (;;) {
		uint32_t r = rng_next(&s);
		unsigned i = r % 32;
		kfree(set[i]);
		set[i] = kmalloc_try(16 + (r >> 8) % 1024);
		if (set[i])
			*(volatile char *)set[i] = (char)hart;
	}
}

static void exhaust(unsigned hart)
{
	size_t n = 0;

	if (hart != oom_hart && !is_case("exhaust_all"))
		churn(hart);
	/* Let the others get going first. */
	for (uint64_t t = platform_time() + platform_timebase_hz() / 20;
	     platform_time() < t;)
		port_cpu_relax();
	kprintf("qemu_oom: hart %u takes 64 KiB blocks until the heap runs out\n", hart);
	for (;;) {
		void **p = kmalloc(64 * KIB);
		*p = (void *)n++; /* touch it, and keep it */
	}
}

static void huge(unsigned hart)
{
	if (hart != 0)
		churn(hart);
	kprintf("qemu_oom: hart 0 asks for 32 MiB of the %zu MiB heap\n",
		(size_t)(eheap - sheap) / MIB);
	void *p = is_case("huge_aligned") ? kmalloc_aligned(32 * MIB, 4096)
					  : kmalloc(32 * MIB);
	kprintf("qemu_oom: FAIL case=%s: kmalloc(32 MiB) returned %p\n", which, p);
	port_exit(PORT_EXIT_FAIL);
}

/* ---- late_free -------------------------------------------------------- */

#define LATE_HELD MIB		/* A's block, freed during B's wait */
#define LATE_LEFT (256 * KIB)	/* free once the ballast is in */
#define LATE_REQUEST (512 * KIB)
#define LATE_FREE_MS 200	/* A frees its block this long after B may ask */
/* A answers no interrupt this long: past B's flush wait. */
#define LATE_DEAF_MS (PERCPU_FLUSH_WAIT_US / 1000 + 500)

static void *late_held, *late_ballast;
static unsigned late_a_deaf;

static void late_free(unsigned hart)
{
	const unsigned a = 1, b = 0;
	struct kheap_stats ks;

	if (hart == a) {
		/*
		 * A magazine of its own, so a flush request asks it and waits
		 * for it (one that holds nothing is not asked).
		 */
		kfree(kmalloc(64));
		late_held = kheap_alloc(LATE_HELD, 0);
	}
	barrier();
	if (hart == b) {
		/* The rest of the heap, but LATE_LEFT in one piece after it. */
		kheap_get_stats(&ks);
		late_ballast = kheap_alloc(ks.heap.largest_free - LATE_LEFT, 0);
	}
	barrier();
	if (hart == a) {
		port_irqflags_t f = port_irq_save();
		/* Release: B asks only once A is deaf. */
		__atomic_store_n(&late_a_deaf, 1u, __ATOMIC_RELEASE);
		uint64_t t0 = platform_time(), ms = platform_timebase_hz() / 1000;
		while (platform_time() < t0 + ms * LATE_FREE_MS)
			;
		kheap_free(late_held); /* B waits for our answer meanwhile */
		while (platform_time() < t0 + ms * LATE_DEAF_MS)
			;
		port_irq_restore(f); /* the flush request's IPI: answered now */
	}
	if (hart != b) {
		while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE))
			__asm__ volatile("wfi");
		return;
	}
	/* Acquire: pairs with A's release; A is masked from here on. */
	while (!__atomic_load_n(&late_a_deaf, __ATOMIC_ACQUIRE))
		port_cpu_relax();
	kheap_get_stats(&ks);
	kprintf("qemu_oom: before: largest_free=%zu request=%zu held_by_hart%u=%zu\n",
		ks.heap.largest_free, (size_t)LATE_REQUEST, a, (size_t)LATE_HELD);
	if (ks.heap.largest_free >= LATE_REQUEST) {
		kprintf("qemu_oom: FAIL case=late_free: the request fits at once\n");
		port_exit(PORT_EXIT_FAIL);
	}
	uint64_t t0 = platform_time();
	void *p = kmalloc(LATE_REQUEST); /* the OOM report here if the free is missed */
	kprintf("qemu_oom: PASS case=late_free request=%zu got %p in %llu us\n",
		(size_t)LATE_REQUEST, p, (unsigned long long)ticks_to_us(platform_time() - t0));
	kfree(p);
	kheap_free(late_ballast);
	__atomic_store_n(&done, 1u, __ATOMIC_RELEASE);
	for (unsigned h = 0; h < smp_nharts(); h++)
		if (h != b)
			platform_send_ipi(h);
	port_exit(PORT_EXIT_PASS);
}

/* ---- nofalse ---------------------------------------------------------- */

/*
 * 1 KiB blocks: a class the budget caches at this share (its 4 KiB class
 * would get 2 rounds, under the useful minimum, and go uncached).
 * FILL_BLOCKS is coprime with 7 (the scattered free order below).
 */
#define FILL_BLOCKS 300
#define FILL_SIZE 1024
/* What is left free once the ballast is in: room for the fill and a bit. */
#define LEFT_FREE (320 * KIB)
#define REQUEST (256 * KIB)

static struct {
	struct heap_stats before;  /* after A's frees, before B's request */
	size_t cached_a, depot;
	uint64_t a_ipis, a_flushes;
	void *ballast;
} nf;

/*
 * lockwait=1 (issue 12's no-false-OOM hole): B makes its request while it
 * holds lock L (irqsave), and A, instead of idling, waits for L with
 * interrupts masked, so the flush IPI cannot interrupt it: A must answer
 * from inside its lock wait (port_wait_long runs the kick hook).
 */
static ticket_lock_t nf_lock = TICKET_LOCK_INIT;
static unsigned nf_b_holds, nf_a_waits;
/*
 * A has left the barrier and idles: set before its wfi loop, where only the
 * IPI's trap answers (counting the IPI first). Without it, B's request could
 * reach an A still in the barrier's wait: port_wait_long answers from the
 * hook with interrupts masked and takes the trap only after, so B, its
 * request served, could read A's IPI count before it rose (seen once under
 * load at hardening level 3: a_flushed=1 a_ipis=0).
 */
static unsigned nf_a_idles;

static void nofalse(unsigned hart)
{
	const unsigned a = 1, b = 0;
	struct kheap_stats ks;
	struct percpu_stats ps;

	if (hart == b) {
		/* Ballast: the heap's free space shrinks to LEFT_FREE, in one piece. */
		kheap_get_stats(&ks);
		nf.ballast = kheap_alloc(ks.heap.largest_free - LEFT_FREE, 0);
	}
	barrier();
	if (hart == a) {
		static void *blk[FILL_BLOCKS];
		for (unsigned i = 0; i < FILL_BLOCKS; i++)
			blk[i] = kmalloc(FILL_SIZE);
		/*
		 * Free in a scattered order (7 is coprime with 300): the blocks
		 * the magazines keep are spread over the filled range, so no
		 * big hole opens unless all of them go back.
		 */
		for (unsigned i = 0; i < FILL_BLOCKS; i++)
			kfree(blk[(i * 7) % FILL_BLOCKS]);
	}
	barrier();
	bool lockwait = kernel_arg_u64("lockwait", 0) != 0;
	if (hart == a && lockwait) {
		/* Acquire: B holds L before A asks for it. */
		while (!__atomic_load_n(&nf_b_holds, __ATOMIC_ACQUIRE))
			;
		__atomic_store_n(&nf_a_waits, 1u, __ATOMIC_RELEASE);
		port_irqflags_t f = ticket_lock_irqsave(&nf_lock, NULL);
		ticket_unlock_irqrestore(&nf_lock, f);
	}
	if (hart == a) {
		/* Idle with interrupts on: only an IPI gets A to flush. */
		if (!lockwait)
			__atomic_store_n(&nf_a_idles, 1u, __ATOMIC_RELEASE); /* B reads it */
		while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE))
			__asm__ volatile("wfi");
		return;
	}
	if (hart != b) {
		while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE))
			__asm__ volatile("wfi");
		return;
	}
	kheap_get_stats(&ks);
	nf.before = ks.heap;
	nf.cached_a = percpu_cached_bytes(a);
	nf.depot = percpu_depot_bytes();
	percpu_get_stats(a, &ps);
	nf.a_flushes = ps.flushes;
	nf.a_ipis = platform_hart_local(a)->ipis;
	kprintf("qemu_oom: before: free=%zu largest_free=%zu free_blocks=%zu "
		"cached_hart%u=%zu depot=%zu request=%zu\n",
		nf.before.bytes_free, nf.before.largest_free, nf.before.free_blocks,
		a, nf.cached_a, nf.depot, (size_t)REQUEST);
	if (nf.before.largest_free >= REQUEST) {
		kprintf("qemu_oom: FAIL case=nofalse: the request fits without a flush "
			"(largest free %zu >= %zu): the test proves nothing\n",
			nf.before.largest_free, (size_t)REQUEST);
		port_exit(PORT_EXIT_FAIL);
	}
	/* Acquire: pairs with A's release; A is past the barrier's waits. */
	while (!lockwait && !__atomic_load_n(&nf_a_idles, __ATOMIC_ACQUIRE))
		port_cpu_relax();
	port_irqflags_t lf = 0;
	if (lockwait) {
		lf = ticket_lock_irqsave(&nf_lock, NULL);
		/* Release/acquire: A asks for L only once B holds it. */
		__atomic_store_n(&nf_b_holds, 1u, __ATOMIC_RELEASE);
		while (!__atomic_load_n(&nf_a_waits, __ATOMIC_ACQUIRE))
			;
		/* Let A get into its wait (masked) before the request. */
		for (uint64_t end = platform_time() + 1000; platform_time() < end;)
			;
	}
	uint64_t t0 = platform_time();
	void *p = kmalloc(REQUEST); /* OOM report here if the flush did not happen */
	uint64_t us = ticks_to_us(platform_time() - t0);
	if (lockwait)
		ticket_unlock_irqrestore(&nf_lock, lf);
	percpu_get_stats(a, &ps);
	struct percpu_stats pb;
	percpu_get_stats(b, &pb);
	kheap_get_stats(&ks);
	kprintf("qemu_oom: after: got %p in %llu us; hart %u flushes %llu -> %llu, "
		"ipis %llu -> %llu; hart %u flush_requests %llu; free=%zu largest_free=%zu\n",
		p, (unsigned long long)us, a, (unsigned long long)nf.a_flushes,
		(unsigned long long)ps.flushes, (unsigned long long)nf.a_ipis,
		(unsigned long long)platform_hart_local(a)->ipis, b,
		(unsigned long long)pb.flush_requests, ks.heap.bytes_free,
		ks.heap.largest_free);
	/* In a masked lock wait A answers without taking the IPI's trap. */
	bool ok = p && ps.flushes > nf.a_flushes &&
		  (lockwait || platform_hart_local(a)->ipis > nf.a_ipis);
	kprintf("qemu_oom: %s case=nofalse request=%zu largest_free_before=%zu "
		"free_before=%zu cached_hart%u=%zu depot=%zu a_flushed=%llu a_ipis=%llu "
		"us=%llu\n",
		ok ? "PASS" : "FAIL", (size_t)REQUEST, nf.before.largest_free,
		nf.before.bytes_free, a, nf.cached_a, nf.depot,
		(unsigned long long)(ps.flushes - nf.a_flushes),
		(unsigned long long)(platform_hart_local(a)->ipis - nf.a_ipis),
		(unsigned long long)us);
	kfree(p);
	kheap_free(nf.ballast);
	__atomic_store_n(&done, 1u, __ATOMIC_RELEASE);
	for (unsigned h = 0; h < smp_nharts(); h++)
		if (h != b)
			platform_send_ipi(h);
	port_exit(ok ? PORT_EXIT_PASS : PORT_EXIT_FAIL);
}

static void run(unsigned hart)
{
	if (smp_nharts() < 2) {
		if (hart == smp_boot_hart())
			panic("qemu_oom needs at least 2 harts");
		return;
	}
	if (is_case("exhaust") || is_case("exhaust_all")) {
		exhaust(hart);
	} else if (is_case("huge") || is_case("huge_aligned")) {
		huge(hart);
	} else if (is_case("nofalse")) {
		nofalse(hart);
	} else if (is_case("late_free")) {
		late_free(hart);
	} else if (hart == smp_boot_hart()) {
		panic("qemu_oom: unknown case '%s'", which);
	}
}

static int finish(void)
{
	kprintf("qemu_oom: FAIL case=%s ended without a verdict\n", which);
	return PORT_EXIT_FAIL;
}

const struct kernel_scenario kernel_scenario = {
	.name = "qemu_oom",
	.setup = setup,
	.run = run,
	.finish = finish,
};
