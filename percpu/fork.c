// SPDX-License-Identifier: BSD-2-Clause
/*
 * fork on hosted ports (see <percpu/kmalloc.h>): the depot locks are taken
 * before fork and released in the parent, reset in the child; the child
 * drops every other hart's slots (see forget_slots) and charges the budget
 * for the magazines it can still reach (see count_charges).
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
		slot_load(c, cls, NULL, 0);
		slot_set_prev(c, cls, NULL, 0);
	}
	/* The spare shells too (their charge: see count_charges). */
	c->spares = NULL;
	STORE_RELAXED(&c->spare_charge, (size_t)0); /* see percpu_hart_holds */
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

/* The charge of each magazine on a list linked through next. */
static size_t list_charge(const struct percpu_magazine *m)
{
	size_t sum = 0;
	for (; m; m = m->next)
		sum += percpu_mag_charge(m->cls, m->cap);
	return sum;
}

/*
 * What the child's budget has charged: the magazines it can reach, each
 * once (the forking hart's slots and spare shells, the depots' lists and
 * loose magazines, the orphan list), all consistent in the child: the
 * prepare hook held the depot locks, the forking hart was in no slow path,
 * and an orphan is on the list only once its push's CAS is done. Not
 * refunds for what the dropped slots name: a magazine halfway between a
 * hart's loaded and previous positions is named twice
 * (//percpu:fork_swap_charge_test), and one in a dead thread's locals
 * (taken off a slot or a depot, or the whole orphan list taken to be
 * returned, //percpu:fork_orphans_test) is named nowhere: its charge
 * would stay, and could fill the budget, for good.
 */
static size_t count_charges(const struct percpu_cpu *self)
{
	size_t charged = self->slots_charge + self->spare_charge +
			 list_charge(percpu_orphans.head);
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++) {
		const struct percpu_depot *d = &percpu_depots[cls];
		charged += list_charge(d->full) + list_charge(d->empty);
		if (d->loose)
			charged += percpu_mag_charge(d->loose->cls, d->loose->cap);
	}
	return charged;
}

void percpu_fork_child(void)
{
	unsigned me = port_hart_id();
	/*
	 * Reset, not unlock: tickets taken by the parent's other threads are
	 * void. So is a loose magazine's run one of them was taking with its
	 * depot unlocked (PERCPU_LOOSE_REFILL_UNLOCKED): its magazine is in
	 * that thread's locals, named nowhere, and the depot may make another.
	 */
	for (unsigned cls = PERCPU_NCLASSES; cls-- > 0;) {
		ticket_lock_init(&percpu_depots[cls].lock);
		percpu_depots[cls].loose_refilling = false;
	}
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
	percpu_budget_fork_child(LOAD_RELAXED(&percpu_record(me)->active),
				 count_charges(percpu_record(me)));
	percpu_flush_fork_child();
	port_irq_restore(percpu_fork_flags);
}
