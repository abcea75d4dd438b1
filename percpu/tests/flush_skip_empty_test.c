// SPDX-License-Identifier: BSD-2-Clause
/*
 * A flush request asks only harts that hold something (percpu_hart_holds):
 * hart 1, active but holding nothing (its trim gave its cache back) and
 * parked (it answers nothing), is not asked by hart 0's drain, which then
 * does not wait out the flush wait for it; a parked hart 1 that holds a
 * magazine still is. Before, both were asked, and every drain, trim and
 * OOM reclaim waited for harts with nothing to give (from 19 harts on the
 * 16 MiB heap, all of them): hart 0's flush requests rose by 1 here too.
 * Built with FLUSH_SKIP_HOLD (flush_skip_held_test): hart 1 holds a magazine.
 */
#include "fork_util.h"

#ifdef FLUSH_SKIP_HOLD
#define HOLD true
#else
#define HOLD false
#endif

/* Hart 1: a magazine, then (unless HOLD) everything back to the heap. */
static void cache_then_trim(void)
{
	fork_cache_some();
	if (!HOLD)
		percpu_trim(); /* its own slots and spares to the heap */
}

int main(void)
{
	bool hold = HOLD;
	test_percpu_init_as_hart0(16u << 20);
	percpu_set_flush_wait_us(300000); /* 0.3 s: hart 1 is parked */

	pthread_t t = fork_park_hart1(cache_then_trim);
	size_t held = percpu_cached_bytes(1);
	struct percpu_stats s0, s1;
	percpu_get_stats(0, &s0);
	percpu_drain();
	percpu_get_stats(0, &s1);
	uint64_t asked = s1.flush_requests - s0.flush_requests;
	printf("flush_skip_empty_test: hart 1 %s, caches %zu bytes; hart 0's drain asked %llu "
	       "hart(s)\n", hold ? "holds a magazine" : "holds nothing", held,
	       (unsigned long long)asked);
	CHECK_EQ(held != 0, hold);
	CHECK_EQ(asked, (uint64_t)(hold ? 1 : 0));
	fork_unpark_hart1(t);
	printf("flush_skip_empty_test: PASS\n");
	return 0;
}
