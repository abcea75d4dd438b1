// SPDX-License-Identifier: BSD-2-Clause
/*
 * PERCPU_LOOSE_REFILL_UNLOCKED (<percpu/config.h>; the RISC-V ports'
 * default, built in here on the host): a depot's loose magazine is refilled
 * from the heap with the depot unlocked. Hart 0 allocates a class it does
 * not cache; inside its refill (the heap's batch hook runs there) hart 1
 * trims, which drains every depot, the class's too. Unlocked, the trim
 * finishes while hart 0 still refills; under the lock it would wait for
 * the whole refill. And the run the trim overtook goes back to the heap:
 * once the allocation returns, no depot caches a byte.
 */
#include "test_util.h"

#include <stdatomic.h>

#define HEAP (16u << 20)
/* Share 12 KiB a hart: no class cached, the loose magazines hold rounds. */
#define BUDGET (64u << 10)
#define SIZE 48
#define KEEP_MAX 64 /* more than the loose magazine's rounds */
/* How long hart 0's refill waits for hart 1's trim (it takes microseconds). */
#define TRIM_WAIT_US 2000000u

static atomic_int refilling;   /* hart 0 is inside its refill's heap call */
static atomic_int trim_done;   /* hart 1's trim returned */
static atomic_int trim_in_time; /* ... before hart 0's refill went on */
static atomic_int hook_calls;
static atomic_int hart0_done;  /* hart 0's allocation returned */

/* Runs in hart 0's refill, after the heap handed out the run. */
static void batch_hook(void *ctx, void *lowest)
{
	(void)ctx;
	(void)lowest;
	if (atomic_fetch_add(&hook_calls, 1))
		return;
	atomic_store(&refilling, 1);
	uint64_t until = port_time_us() + TRIM_WAIT_US;
	while (!atomic_load(&trim_done) && port_time_us() < until)
		sched_yield();
	atomic_store(&trim_in_time, atomic_load(&trim_done));
}

static void *hart_main(void *arg)
{
	unsigned hart = (unsigned)(uintptr_t)arg;
	port_host_become_hart(hart);
	if (hart == 0) {
		void *p = kmalloc(SIZE);
		CHECK(p != NULL);
		kfree(p);
		atomic_store(&hart0_done, 1);
		return NULL;
	}
	while (!atomic_load(&refilling))
		if (atomic_load(&hart0_done))
			return NULL; /* no refill: main's check of hook_calls fails */
		else
			sched_yield();
	percpu_trim(); /* drains every depot: takes each one's lock */
	atomic_store(&trim_done, 1);
	return NULL;
}

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	percpu_set_cache_budget(BUDGET);
	/* Hart 0's first free of the class goes to the heap in any case. */
	kfree(kmalloc(SIZE));
	/*
	 * Empty the loose magazine, rounds taken one by one from the runs that
	 * refill it (this hart alone allocates, so its refill counts tell how
	 * many each run left): hart 0's next allocation then refills it, and
	 * no other heap batch (a new magazine's array) runs the hook.
	 */
	void *keep[KEEP_MAX];
	unsigned kept = 0;
	uint64_t left = 0, runs = 0;
	do {
		uint64_t before = test_hart0_stats().refill_blocks;
		CHECK(kept < KEEP_MAX);
		CHECK((keep[kept++] = kmalloc(SIZE)) != NULL);
		uint64_t run = test_hart0_stats().refill_blocks - before;
		runs += run != 0;
		left = run ? run - 1 : left - 1;
	} while (!runs || left);
	kheap_set_batch_hook(batch_hook, NULL);

	test_run_harts(2, hart_main);
	kheap_set_batch_hook(NULL, NULL);

	printf("refills seen: %d; the trim %s during the refill; depots hold %zu bytes\n",
	       atomic_load(&hook_calls), atomic_load(&trim_in_time) ? "finished" : "waited",
	       percpu_depot_bytes());
	CHECK(atomic_load(&hook_calls) >= 1);
	/* Nothing held the class's lock over the heap call. */
	CHECK(atomic_load(&trim_in_time));
	/* The run the drain overtook was not cached after it. */
	CHECK_EQ(percpu_depot_bytes(), 0);

	port_host_become_hart(0);
	for (unsigned i = 0; i < kept; i++)
		kfree(keep[i]);
	test_drain_leaves_nothing();
	printf("loose_refill_unlocked_test: PASS\n");
	return 0;
}
