// SPDX-License-Identifier: BSD-2-Clause
/*
 * The caches' budget (budget.c): whatever the harts do, the bytes cached
 * (harts + depots + orphans) never exceed what is charged, and the charge
 * never exceeds the budget; the budget follows the heap's size (kheap_claim);
 * and at a small share the big classes are not cached at all.
 */
#include "test_util.h"

#include <percpu/config.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#define HEAP (16u << 20)
#define HARTS 16
#define OPS 40000

static int stop;              /* 1: the sampler stops */
static int release;           /* 1: churners may exit (and give back) */
static int done;              /* churners that finished their ops */
static size_t worst_excess;   /* cached - charged or charged - budget, max */
static unsigned long samples;

static void *churn(void *arg)
{
	unsigned hart = (unsigned)(uintptr_t)arg;
	port_host_become_hart(hart);
	void *slot[64] = { 0 };
	uint64_t x = hart * 0x9E3779B97F4A7C15ULL + 1;
	for (int op = 0; op < OPS; op++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		void **s = &slot[x % 64];
		if (*s) {
			kfree(*s);
			*s = NULL;
		} else {
			/* Every class, the big ones too: 16 B .. 32 KiB. */
			*s = kmalloc(16 + (x >> 20) % 32768);
		}
	}
	for (int i = 0; i < 64; i++)
		kfree(slot[i]);
	/* Keep this hart's magazines until every wave has run. */
	__atomic_fetch_add(&done, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&release, __ATOMIC_ACQUIRE))
		sched_yield();
	percpu_hart_exit();
	return NULL;
}

static void *sample(void *arg)
{
	(void)arg;
	port_host_become_hart(HARTS);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		struct percpu_cache_stats cs;
		percpu_get_cache_stats(&cs);
		/* A racy snapshot: charged is read first, cached after. */
		size_t over = cs.charged > cs.budget ? cs.charged - cs.budget : 0;
		if (over > worst_excess)
			worst_excess = over;
		samples++;
	}
	return NULL;
}

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	struct percpu_cache_stats cs;
	percpu_get_cache_stats(&cs);
	/* The budget is derived from the heap's size. */
	CHECK_EQ(cs.budget, (size_t)HEAP / 100 * PERCPU_CACHE_BUDGET_PCT);

	/*
	 * Two waves: 4 harts take the large shares of a few active harts and
	 * keep their magazines; then 12 more come, whose fair shares alone
	 * would take the total past the budget: the charge's hard bound must
	 * hold them (without it this test sees the excess).
	 */
	pthread_t t[HARTS], s;
	CHECK(pthread_create(&s, NULL, sample, NULL) == 0);
	for (unsigned h = 0; h < HARTS; h++) {
		CHECK(pthread_create(&t[h], NULL, churn, (void *)(uintptr_t)h) == 0);
		if (h == 3)
			while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < 4)
				sched_yield();
	}
	while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < HARTS)
		sched_yield();
	percpu_get_cache_stats(&cs);
	printf("all harts holding: charged %zu of %zu\n", cs.charged, cs.budget);
	__atomic_store_n(&release, 1, __ATOMIC_RELEASE);
	for (unsigned h = 0; h < HARTS; h++)
		pthread_join(t[h], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(s, NULL);

	percpu_get_cache_stats(&cs);
	printf("budget %zu, most charged %zu (%zu%%), %lu samples\n", cs.budget,
	       cs.charged_max, cs.charged_max * 100 / cs.budget, samples);
	CHECK(samples > 0);
	CHECK_EQ(worst_excess, 0);
	CHECK(cs.charged_max <= cs.budget);
	CHECK(cs.charged_max > cs.budget / 4); /* the caches were used */
	/* Exited harts left full magazines in the depots, within budget. */
	CHECK(cs.cached_bytes <= cs.charged);

	/*
	 * A share as tight as 16 harts get on this heap (a quarter of the
	 * budget, over the 4 harts a share is divided by at least): a
	 * magazine may be charged a sixteenth of 38 KiB, two rounds at the
	 * 1 KiB floor. That caches the small classes (their useful minimum is
	 * PERCPU_MAG_USEFUL_ROUNDS_SMALL); at 4 none was cached from about 12
	 * harts up. A 2 KiB class, charged above the floor, needs
	 * PERCPU_MAG_USEFUL_ROUNDS and stays uncached.
	 */
	port_host_become_hart(0);
	percpu_set_cache_budget(cs.budget / 4);
	kfree(kmalloc(64));
	CHECK(percpu_cached_bytes(0) >= 64);
	kfree(kmalloc(2048));
	CHECK(percpu_cached_bytes(0) < 2048);
	percpu_set_cache_budget(0);

	/*
	 * One active hart gets a quarter of 75% of the budget (192 KiB, see
	 * PERCPU_SHARE_MIN_HARTS), 12 KiB a magazine: one 8 KiB round, under
	 * the PERCPU_MAG_USEFUL_ROUNDS worth caching, so no refill. (With
	 * these knobs PERCPU_MAG_BYTES caps an 8 KiB magazine below them at
	 * any share: the class is heap-only, see //percpu:budget_table_test.)
	 */
	struct percpu_stats before, after;
	percpu_get_stats(0, &before);
	void *big = kmalloc(8192);
	kfree(big);
	percpu_get_stats(0, &after);
	CHECK_EQ(after.refills, before.refills);
	CHECK(percpu_cached_bytes(0) < 8192);

	/* The budget follows the heap: a claim of 16 MiB more doubles it. */
	void *more = aligned_alloc(64, HEAP);
	kheap_claim(more, (char *)more + HEAP);
	percpu_get_cache_stats(&cs);
	CHECK(cs.budget >= (size_t)2 * HEAP / 100 * PERCPU_CACHE_BUDGET_PCT - 1024);

	CHECK(percpu_check_drained(0));
	CHECK(test_heap_validate() == 0);
	printf("budget_test: PASS\n");
	return 0;
}
