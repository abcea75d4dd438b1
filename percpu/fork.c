// SPDX-License-Identifier: BSD-2-Clause
/*
 * fork on hosted ports (see <percpu/kmalloc.h>): the depot locks are taken
 * before fork and released in the parent, reset in the child; the child
 * drops every other hart's slots (see forget_slots).
 */
#include "percpu/percpu_internal.h"

static port_irqflags_t percpu_fork_flags;

void percpu_fork_prepare(void)
{
	port_irqflags_t f = port_irq_save();
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		ticket_lock(&percpu_depots[cls].lock);
	percpu_fork_flags = f;
}

void percpu_fork_parent(void)
{
	for (unsigned cls = PERCPU_NCLASSES; cls-- > 0;)
		ticket_unlock(&percpu_depots[cls].lock);
	port_irq_restore(percpu_fork_flags);
}

/*
 * Another hart's slots in the child: its thread is gone, and it may have
 * been anywhere in a slow path when fork copied memory (slot_load and
 * slot_swap store base, top, limit and prev one at a time, under no lock the
 * prepare hook takes), so its slots may be torn. They are dropped, never
 * used: the blocks they cached stay allocated in the child (a bounded leak,
 * at most what that thread cached), which is safe, where loading a torn
 * magazine could hand out a block twice.
 */
static void forget_slots(struct percpu_cpu *c)
{
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++) {
		/*
		 * Each pointer alone is valid (only their combination may be
		 * torn): give the budget back their charge, so the child's
		 * caches keep their room. Once for a magazine in both places:
		 * halfway through moving one between them (slot_swap; free_slow
		 * making a full loaded one the previous) both name it, and it
		 * was charged once; a second refund drove the charge below
		 * zero after the child's drain (//percpu:fork_swap_charge_test).
		 * A magazine that was in a dead slow path's locals then keeps
		 * its charge: a bounded loss of room, never a budget overrun.
		 */
		struct percpu_magazine *m[2] = { slot_loaded(c, PERCPU_SLOT(cls)),
						 c->prev[PERCPU_SLOT(cls)] };
		if (m[1] == m[0])
			m[1] = NULL;
		for (int i = 0; i < 2; i++)
			if (m[i])
				percpu_uncharge(percpu_mag_charge(m[i]->cls, m[i]->cap));
		slot_load(c, cls, NULL, 0);
		slot_set_prev(c, cls, NULL, 0);
	}
	/* The spare shells too: their charge is one word, whatever the list. */
	percpu_uncharge(c->spare_charge);
	c->spares = NULL;
	c->spare_charge = 0;
	/* Torn with the slots too, perhaps: they are empty now. */
	c->slots_charge = 0;
	memset(c->seen, 0, sizeof(c->seen));
	/*
	 * No slow path runs on it any more (fork may have caught one inside,
	 * waiting for a depot lock the prepare hook held), and no request
	 * stands: a thread of the child that takes this hart id later must
	 * answer the next request (a busy hart never does) and be asked it
	 * (flush_ask asks no hart whose last request is unanswered).
	 */
	c->busy = 0;
	STORE_RELAXED(&c->flush_pending, 0ul);
	__atomic_store_n(&c->flush_done, __atomic_load_n(&c->flush_req, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	STORE_RELAXED(&c->active, 0u);
}

void percpu_fork_child(void)
{
	unsigned me = port_hart_id();
	/* Reset, not unlock: tickets taken by the parent's other threads are void. */
	for (unsigned cls = PERCPU_NCLASSES; cls-- > 0;)
		ticket_lock_init(&percpu_depots[cls].lock);
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++)
		if (h != me) {
			/*
			 * The rounds dropped leave the magazines, as a flush's
			 * do: counted out, so the fast frees percpu_get_stats
			 * derives from the block flow stay as they were (else
			 * allocs - frees said the caller held them). By the
			 * index, not cold(): most records were never set up.
			 */
			STAT_ADD(&percpu_cold[h].mag_out, percpu_cached_rounds(h));
			forget_slots(percpu_record(h));
		}
	percpu_budget_fork_child(LOAD_RELAXED(&percpu_record(me)->active));
	percpu_flush_fork_child();
	port_irq_restore(percpu_fork_flags);
}
