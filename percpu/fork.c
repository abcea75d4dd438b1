// SPDX-License-Identifier: BSD-2-Clause
/*
 * fork on hosted ports (see <percpu/kmalloc.h>): the depot locks are taken
 * before fork and released in the parent, reset in the child.
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

void percpu_fork_child(void)
{
	unsigned me = port_hart_id();
	/* Reset, not unlock: tickets taken by the parent's other threads are void. */
	for (unsigned cls = PERCPU_NCLASSES; cls-- > 0;)
		ticket_lock_init(&percpu_depots[cls].lock);
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++)
		if (h != me)
			STORE_RELAXED(&percpu_cpus[h].active, 0u);
	percpu_budget_fork_child();
	port_irq_restore(percpu_fork_flags);
}
