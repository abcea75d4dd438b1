// SPDX-License-Identifier: BSD-2-Clause
/*
 * Where magazines come from and go to: the heap side (blocks and magazines
 * handed back to the heap, new magazines) and each class's depot of full and
 * empty magazines under its ticket lock.
 */
#include "percpu/percpu_internal.h"

static size_t mag_bytes(unsigned cls)
{
	return sizeof(struct percpu_magazine) +
	       percpu_class_rounds[cls] * sizeof(void *);
}

/* ---- the heap side ------------------------------------------------------ */

#ifdef PERCPU_FAULT_DROP_BLOCK
/*
 * Test-only fault (//percpu:percpu_fault_drop_for_test): the 1000th block
 * handed back to the heap is silently dropped, a leak that the drain check
 * (percpu_check_drained) and the QEMU stress test must notice.
 */
#define PERCPU_FAULT_DROP_AT 1000
static uint64_t percpu_fault_returned; /* relaxed: a count, orders nothing */

static void fault_drop_block(void **blocks, size_t n)
{
	uint64_t before = __atomic_fetch_add(&percpu_fault_returned, n, __ATOMIC_RELAXED);
	if (before < PERCPU_FAULT_DROP_AT && before + n >= PERCPU_FAULT_DROP_AT)
		blocks[PERCPU_FAULT_DROP_AT - 1 - before] = NULL; /* batch free skips NULL */
}
#endif

void percpu_heap_return(struct percpu_cpu *c, void **blocks, size_t n)
{
	if (!n)
		return;
#ifdef PERCPU_FAULT_DROP_BLOCK
	fault_drop_block(blocks, n);
#endif
	kheap_free_batch(blocks, n); /* takes cached blocks as they are */
	STAT_ADD(&percpu_cold[c - percpu_cpus].returns, 1);
	STAT_ADD(&percpu_cold[c - percpu_cpus].return_blocks, n);
}

/* Returns a magazine's rounds and the magazine itself to the heap. */
static void mag_destroy(struct percpu_cpu *c, struct percpu_magazine *m,
			size_t rounds)
{
	if (!m)
		return;
	percpu_heap_return(c, m->rounds, rounds);
	kheap_free(m);
}

struct percpu_magazine *percpu_mag_create(unsigned cls)
{
	struct percpu_magazine *m = kheap_try_alloc(mag_bytes(cls), 0);
	if (m)
		m->next = NULL;
	return m;
}

/* ---- depots ------------------------------------------------------------- */

port_irqflags_t percpu_depot_lock(struct percpu_cpu *c, struct percpu_depot *d)
{
	unsigned long spins = 0;
	port_irqflags_t f = ticket_lock_irqsave(&d->lock, &spins);
	STAT_ADD(&percpu_cold[c - percpu_cpus].lock_acquisitions, 1);
	STAT_ADD(&percpu_cold[c - percpu_cpus].lock_spins, spins);
	return f;
}

/* Gives an empty magazine back: to the depot, or to the heap past the cap. */
void percpu_depot_put_empty(struct percpu_cpu *c, unsigned cls,
			    struct percpu_magazine *m)
{
	struct percpu_depot *d = &percpu_depots[cls];
	if (!m)
		return;
	port_irqflags_t f = percpu_depot_lock(c, d);
	if (d->nempty < PERCPU_DEPOT_MAX_EMPTY) {
		m->next = d->empty;
		d->empty = m;
		d->nempty++;
		m = NULL;
	}
	ticket_unlock_irqrestore(&d->lock, f);
	if (m)
		kheap_free(m);
}

/* Returns every magazine the depot holds (and their rounds) to the heap. */
size_t percpu_depot_drain(struct percpu_cpu *c, unsigned cls)
{
	struct percpu_depot *d = &percpu_depots[cls];
	port_irqflags_t f = percpu_depot_lock(c, d);
	struct percpu_magazine *full = d->full, *empty = d->empty;
	d->full = d->empty = NULL;
	STORE_RELAXED(&d->nfull, (size_t)0);
	d->nempty = 0;
	ticket_unlock_irqrestore(&d->lock, f);

	size_t blocks = 0;
	while (full) {
		struct percpu_magazine *next = full->next;
		mag_destroy(c, full, percpu_class_rounds[cls]);
		blocks += percpu_class_rounds[cls] + 1;
		full = next;
	}
	while (empty) {
		struct percpu_magazine *next = empty->next;
		kheap_free(empty);
		blocks++;
		empty = next;
	}
	return blocks;
}
