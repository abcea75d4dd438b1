// SPDX-License-Identifier: BSD-2-Clause
/*
 * fork while another hart is halfway through moving a magazine between its
 * loaded and previous positions: the child gives the budget back that
 * magazine's charge once, not twice. Two moments, each made by hand on
 * hart 1's record (hart 1's thread parked) with the very slot operations
 * the slow path runs, as the child would see memory if fork came between
 * them:
 *  - free_slow, loaded full and no previous: slot_set_prev(loaded) done,
 *    slot_load(NULL) not yet: loaded and previous both name L;
 *  - slot_swap (alloc_slow, no loaded, previous full): slot_load(prev) done,
 *    slot_set_prev(old loaded = none) not yet: both name L again.
 * L is charged once. Before, forget_slots uncharged it for each position, so
 * after the child's drain the budget's `charged` went below zero, wrapping
 * to about 2^64 (kmalloc.h: "cached_bytes <= charged <= budget at all
 * times"), and percpu_charge refused every magazine costing less than the
 * overdraft. Reads hart 1's record: one link unit with percpu (no sanitized
 * twins).
 */
#include "fork_util.h"

#include "percpu/percpu_internal.h"

#include <sys/wait.h>

enum { SIZE = 64 };

static void load_one_magazine(void)
{
	kfree(kmalloc(SIZE)); /* the class's first free: the heap */
	void *p = kmalloc(SIZE);
	kfree(p); /* one loaded magazine, no previous */
}

/* Forks with the hooks; the child drains and checks the budget's charge. */
static void fork_and_check(const char *moment)
{
	fflush(stdout);
	fork_hook_prepare();
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		fork_hook_child();
		percpu_drain();
		struct percpu_cache_stats cs;
		percpu_get_cache_stats(&cs);
		printf("child (%s): after drain charged %zu bytes (want 0), budget %zu\n",
		       moment, cs.charged, cs.budget);
		fflush(stdout);
		_exit(cs.charged == 0 ? 0 : 1);
	}
	fork_hook_parent();
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

int main(void)
{
	test_percpu_init_as_hart0(16u << 20);

	pthread_t t = fork_park_hart1(load_one_magazine);

	unsigned cls = percpu_size_class(SIZE), si = PERCPU_SLOT(cls);
	struct percpu_cpu *c = percpu_record(1);
	struct percpu_magazine *l = slot_loaded(c, si);
	CHECK(l != NULL && c->prev[si] == NULL);
	size_t r = slot_loaded_rounds(c, si);
	struct percpu_cache_stats cs;
	percpu_get_cache_stats(&cs);
	printf("parent: hart 1 holds one magazine (%u rounds, charge %zu); charged %zu\n",
	       (unsigned)l->cap, percpu_mag_charge(cls, l->cap), cs.charged);

	/* free_slow: the loaded one becomes the previous... */
	slot_set_prev(c, cls, l, r);
	fork_and_check("free_slow between slot_set_prev and slot_load");
	slot_load(c, cls, NULL, 0); /* ...and leaves the loaded position */

	/* alloc_slow's slot_swap with no loaded magazine: the previous loads... */
	slot_load(c, cls, l, r);
	fork_and_check("slot_swap between slot_load and slot_set_prev");
	slot_set_prev(c, cls, NULL, 0); /* ...and the none that was loaded goes back */

	fork_unpark_hart1(t);
	printf("fork_swap_charge_test: PASS\n");
	return 0;
}
