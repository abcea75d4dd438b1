// SPDX-License-Identifier: BSD-2-Clause
/*
 * No false OOM while another hart is still returning the orphans our
 * request produced (found by tests/models/flush.pml). Hart A's allocation
 * fits only once hart B's magazines are back in the heap. A's waiting
 * reclaim asks B; B answers (its magazines go on the orphan list, which it
 * leaves for the waiting reclaim); hart C's percpu_trim takes the list and
 * is still freeing it to the heap when A's wait ends: A's own look at the
 * list finds nothing, and orphans_returned has not moved yet (C adds after
 * its frees). A must not report "nothing" and fail: the memory is on its
 * way into the heap.
 *
 * Threads as harts; the interleaving is forced by wrapping two calls
 * (linked statically with --wrap): A's first port_wait_long in its flush
 * wait lets B answer and C trim, and C's first heap free pauses until A's
 * allocation has returned (at most PAUSE_MS).
 */
#include "percpu/percpu_internal.h"
#include "test_util.h"

#include <pthread.h>
#include <time.h>

#define HEAP (256u << 10)
#define SZ 2048
#define PAUSE_MS 300

static int go_b, done_b, go_c, c_paused, a_done, armed_a, armed_c;

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };
	nanosleep(&ts, NULL);
}

/* Waits (up to ms) for *flag; true if it was set. */
static bool wait_flag(int *flag, unsigned ms)
{
	for (unsigned i = 0; i < ms; i++) {
		if (__atomic_load_n(flag, __ATOMIC_ACQUIRE))
			return true;
		sleep_ms(1);
	}
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

static void set_flag(int *flag)
{
	__atomic_store_n(flag, 1, __ATOMIC_RELEASE);
}

void __real_port_wait_long(void);
void __wrap_port_wait_long(void)
{
	if (port_host_hart == 0 && __atomic_exchange_n(&armed_a, 0, __ATOMIC_ACQ_REL)) {
		/* A waits for B's answer: B answers, C trims and pauses. */
		set_flag(&go_b);
		CHECK(wait_flag(&done_b, 5000));
		set_flag(&go_c);
		CHECK(wait_flag(&c_paused, 5000));
	}
	__real_port_wait_long();
}

void __real_kheap_free_batch(void **blocks, size_t n);
void __wrap_kheap_free_batch(void **blocks, size_t n)
{
	if (port_host_hart == 2 && __atomic_exchange_n(&armed_c, 0, __ATOMIC_ACQ_REL)) {
		/* C has taken the orphan list: its first heap free waits. */
		set_flag(&c_paused);
		wait_flag(&a_done, PAUSE_MS);
	}
	__real_kheap_free_batch(blocks, n);
}

static void *hart_b(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	CHECK(wait_flag(&go_b, 5000));
	percpu_poll(); /* answers; a reclaim waits, so the orphans stay listed */
	set_flag(&done_b);
	return NULL;
}

static void *hart_c(void *arg)
{
	(void)arg;
	port_host_become_hart(2);
	CHECK(wait_flag(&go_c, 5000));
	percpu_trim(); /* takes B's orphans to the heap */
	return NULL;
}

int main(void)
{
	test_percpu_init_as_hart0(HEAP);
	test_unbounded_caches();
	percpu_set_flush_wait_us(3000000); /* longer than C's pause */

	/* B caches 2 KiB blocks in its slots (and the depot). */
	CHECK(test_hart_fills_cache(1, SZ, 16) >= 8 * SZ);
	/*
	 * The depot's magazine to the heap (C's trim; its request to B stands
	 * unanswered until B's thread answers), and C inactive again: nothing
	 * in the depots or on the orphan list, so C's first free is B's.
	 */
	port_host_become_hart(2);
	percpu_trim();
	percpu_hart_exit();
	port_host_become_hart(0);
	CHECK_EQ(percpu_orphan_bytes(), 0);
	CHECK_EQ(percpu_depot_bytes(), 0);

	/* The setup's heap frees and waits are done: arm the wrappers. */
	set_flag(&armed_a);
	set_flag(&armed_c);
	pthread_t tb, tc;
	CHECK(pthread_create(&tb, NULL, hart_b, NULL) == 0);
	CHECK(pthread_create(&tc, NULL, hart_c, NULL) == 0);

	/* A: everything but B's cache is free; ask for more than that. */
	struct kheap_stats st;
	kheap_get_stats(&st);
	size_t want = st.heap.largest_free + SZ;
	void *p = kmalloc_try(want);
	set_flag(&a_done);
	CHECK(pthread_join(tb, NULL) == 0);
	CHECK(pthread_join(tc, NULL) == 0);
	CHECK(!__atomic_load_n(&armed_a, __ATOMIC_RELAXED)); /* the interleaving ran */
	CHECK(!__atomic_load_n(&armed_c, __ATOMIC_RELAXED));
	CHECK_EQ(percpu_cached_bytes(1), 0); /* B's cache did come back */
	printf("orphans_in_flight: asked %zu bytes, got %p\n", want, p);
	CHECK(p != NULL); /* the memory came back for our request: no OOM */
	kfree(p);
	port_host_become_hart(1);
	percpu_hart_exit();
	port_host_become_hart(2);
	percpu_hart_exit();
	port_host_become_hart(0);
	test_drain_leaves_nothing();
	printf("orphans_in_flight_test: PASS\n");
	return 0;
}
