// SPDX-License-Identifier: BSD-2-Clause
/*
 * percpu's shared state (declared in percpu_internal.h) and percpu_init,
 * which sets it up and hooks percpu into the heap (reclaim, OOM report) and
 * the port (kick handler).
 */
#include "percpu/percpu_internal.h"

#if !PORT_HART_DATA_AT_TP
struct percpu_cpu percpu_cpus[PORT_MAX_HARTS];
#endif
void *percpu_no_mag[2];
struct percpu_counters percpu_cold[PORT_MAX_HARTS];
struct percpu_depot percpu_depots[PERCPU_NCLASSES];
struct percpu_orphans percpu_orphans;
enum percpu_mode percpu_mode_;
bool percpu_ready;

/*
 * The record of a hart that has no percpu_cpu yet (PORT_HART_DATA_INITIAL
 * ports hand it out before a hart's first slow path): no slot has a
 * magazine, so every pop reads the NULL word and every push finds
 * top == limit, and every size maps to PERCPU_STATE_IDLE, which sends
 * kmalloc's miss to the full slow path. Read-only: valid from the first
 * instruction, so kmalloc before percpu_init still reaches "use before init".
 */
const struct percpu_cpu percpu_idle = {
	.top = { [0 ... PERCPU_NSLOTS - 1] = PERCPU_NO_ROUNDS },
	.limit = { [0 ... PERCPU_NSLOTS - 1] = PERCPU_NO_ROUNDS },
	.size_state = { [0 ... (PERCPU_MAX_FAST >> 4) - 1] = PERCPU_STATE_IDLE },
};

#if PORT_HART_DATA_AT_TP
_Static_assert(sizeof(struct percpu_cpu) == PORT_HART_DATA_BYTES,
	       "the port copies PORT_HART_DATA_BYTES of percpu_idle into each area");
#endif

#if PORT_HART_DATA_INITIAL
/* Overrides the port's weak one: every hart starts at percpu_idle. */
void *port_hart_data_initial(void)
{
	return (void *)(uintptr_t)&percpu_idle;
}
#endif

/*
 * A hart's slots start without magazines and with its own copy of the size
 * table (so the fast path reads no shared line). Until then the record is
 * all zeros or percpu_idle's copy, which other harts read as "no
 * magazines" (base[] NULL). Top is stored relaxed: they read it for
 * statistics. Where the record is the hart's port_hart_data() (a
 * PORT_HART_DATA_AT_TP port), bypass mode keeps percpu_idle's table, so
 * the fast paths still send every request to the slow path.
 */
void percpu_cpu_init(struct percpu_cpu *c, unsigned h)
{
	for (unsigned i = 0; i < PERCPU_NSLOTS; i++) {
		STORE_RELAXED(&c->top[i], (void **)PERCPU_NO_ROUNDS);
		c->limit[i] = PERCPU_NO_ROUNDS;
	}
	if (!PORT_HART_DATA_AT_TP || percpu_mode_ == PERCPU_MAGAZINES)
		for (unsigned i = 0; i < (PERCPU_MAX_FAST >> 4); i++) {
			unsigned cls = percpu_size_class_table[i + 1];
			/*
			 * A class only the heap serves gets percpu_idle's
			 * state: its misses go straight to percpu_kmalloc_slow,
			 * which sends them to the heap, and no other class's
			 * miss pays a test for it.
			 */
			c->size_state[i] = percpu_class_heap_only[cls]
						   ? (uint8_t)PERCPU_STATE_IDLE
						   : (uint8_t)PERCPU_STATE(cls);
		}
	STORE_RELAXED(&c->index1, h + 1);
}

void percpu_init(enum percpu_mode mode)
{
	/*
	 * Named through the heap's handler, as kheap_init and pages_init name
	 * theirs (a handler that returns: this call changes nothing; going on
	 * would reset depot locks other harts may hold).
	 */
	if (percpu_ready) {
		kheap_report_misuse(HEAP_ERR_DOUBLE_INIT, NULL, 0, "percpu_init");
		return;
	}
	/*
	 * Before kheap_init the heap's capacity is 0, and percpu_budget_init
	 * would fix the rounds' charge floor for that (none: a round costs its
	 * bytes), so the caches could hold several times the blocks the budget
	 * means for the real heap. Named as pages_init names it; a handler
	 * that returns leaves percpu uninitialised (kmalloc then reaches "use
	 * before init"), and percpu_init may be called again in order.
	 */
	if (!kheap_capacity()) {
		kheap_report_misuse(HEAP_ERR_UNINIT, NULL, 0, "percpu_init before kheap_init");
		return;
	}
	percpu_mode_ = mode;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		ticket_lock_init(&percpu_depots[cls].lock);
	percpu_budget_init();
	if (mode == PERCPU_MAGAZINES) {
		kheap_set_reclaim_hook(percpu_reclaim, NULL);
		kheap_set_report_extra(percpu_report_extra);
		port_set_kick_handler(percpu_kick_handler);
	}
	percpu_ready = true;
}
