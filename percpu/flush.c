// SPDX-License-Identifier: BSD-2-Clause
/*
 * Giving cached blocks back: a hart's own flush, flush requests to other
 * harts (reclaim before OOM, the kick handler, percpu_poll), full drains and
 * hart exit.
 *
 * Flush requests. Before the heap reports OOM it calls percpu_reclaim(),
 * which returns this hart's cache and the depots at once and then asks every
 * other active hart to return its cache: it bumps the hart's flush_req,
 * raises its flush_pending word and kicks it. The owner sees flush_pending
 * in the kick handler (an IPI on RISC-V), on every slow path (a hart that
 * only allocates or only frees takes one every <= 255 operations), in
 * percpu_poll, and, on ports whose kick cannot interrupt (the host), with
 * one relaxed load on its fast free; it flushes, and publishes flush_done = the flush_req it saw.
 * The requester waits a bounded time for flush_done to catch up, honouring
 * its own pending request while it waits, so two harts that hit OOM at once
 * do not wait on each other.
 */
#include "percpu/percpu_internal.h"

/*
 * How long a flush requester waits for the others, in microseconds. Long
 * enough for an idle hart's IPI at 64 harts on 2 host cores, or a preempted
 * host thread; short enough that a hart stuck with interrupts masked only
 * delays the OOM report.
 */
#ifndef PERCPU_FLUSH_WAIT_US
#define PERCPU_FLUSH_WAIT_US 1000000
#endif

static bool percpu_remote_flush = true; /* testing switch */

/*
 * Empties this hart's slots. to_depot: full magazines go to the depot (hart
 * exit), else everything goes to the heap. Returns the blocks given back.
 */
static size_t flush_local(struct percpu_cpu *c, bool to_depot)
{
	size_t blocks = 0;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++) {
		unsigned si = PERCPU_SLOT(cls);
		struct percpu_magazine *m[2] = { slot_loaded(c, si), c->prev[si] };
		size_t r[2] = { m[0] ? slot_loaded_rounds(c, si) : 0, c->prev_rounds[si] };
		slot_load(c, cls, NULL, 0);
		slot_set_prev(c, cls, NULL, 0);
		STAT_ADD(&percpu_cold[c - percpu_cpus].mag_out, r[0] + r[1]);
		for (int i = 0; i < 2; i++) {
			if (!m[i])
				continue;
			if (to_depot && r[i] == percpu_class_rounds[cls]) {
				struct percpu_depot *d = &percpu_depots[cls];
				port_irqflags_t f = percpu_depot_lock(c, d);
				if (d->nfull < PERCPU_DEPOT_MAX_FULL) {
					m[i]->next = d->full;
					d->full = m[i];
					STORE_RELAXED(&d->nfull, d->nfull + 1);
					m[i] = NULL;
				}
				ticket_unlock_irqrestore(&d->lock, f);
				if (!m[i])
					continue;
			}
			percpu_heap_return(c, m[i]->rounds, r[i]);
			blocks += r[i];
			if (to_depot) {
				percpu_depot_put_empty(c, cls, m[i]);
			} else {
				kheap_free(m[i]);
				blocks++;
			}
		}
	}
	STAT_ADD(&percpu_cold[c - percpu_cpus].flushes, 1);
	return blocks;
}

/*
 * Honours a pending flush request (interrupts masked). The seq_cst pair
 * "requester: flush_req++ then flush_pending = 1" / "owner: flush_pending =
 * 0 then read flush_req" guarantees that either the owner reads the new
 * flush_req here, or flush_pending stays 1 and the next check flushes again.
 */
size_t percpu_honour_flush(struct percpu_cpu *c)
{
	if (!LOAD_RELAXED(&c->flush_pending))
		return 0;
	__atomic_store_n(&c->flush_pending, 0, __ATOMIC_SEQ_CST);
	uint64_t req = __atomic_load_n(&c->flush_req, __ATOMIC_SEQ_CST);
	size_t blocks = flush_local(c, false);
	/*
	 * Release: the requester's acquire load of flush_done sees our heap
	 * frees done (the heap lock orders them too; this is for the reader).
	 */
	__atomic_store_n(&c->flush_done, req, __ATOMIC_RELEASE);
	return blocks;
}

/* True when hart h has answered every request made of it so far. */
static bool flush_answered(struct percpu_cpu *h)
{
	/* Acquire: pairs with the owner's release store in honour_flush. */
	uint64_t done = __atomic_load_n(&h->flush_done, __ATOMIC_ACQUIRE);
	return done >= __atomic_load_n(&h->flush_req, __ATOMIC_SEQ_CST) ||
	       !LOAD_RELAXED(&h->active);
}

/*
 * Asks every other active hart to flush, then waits (bounded) for them,
 * honouring our own pending request meanwhile. Interrupts masked.
 */
static void flush_remote(struct percpu_cpu *self)
{
	unsigned me = (unsigned)(self - percpu_cpus);
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++) {
		struct percpu_cpu *c = &percpu_cpus[h];
		if (h == me || !LOAD_RELAXED(&c->active))
			continue;
		/* seq_cst: see honour_flush for the pairing. */
		__atomic_fetch_add(&c->flush_req, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&c->flush_pending, 1, __ATOMIC_SEQ_CST);
		port_kick_hart(h);
		STAT_ADD(&percpu_cold[me].flush_requests, 1);
	}
	STAT_ADD(&percpu_cold[me].flush_asked, 1);
	bool all = false;
	uint64_t deadline = port_time_us() + PERCPU_FLUSH_WAIT_US;
	for (;;) {
		all = true;
		for (unsigned h = 0; h < PORT_MAX_HARTS && all; h++)
			if (h != me)
				all = flush_answered(&percpu_cpus[h]);
		if (all || port_time_us() > deadline)
			break;
		percpu_honour_flush(self);
		port_wait_long();
	}
	/* Timed out: remember who did not answer, for the OOM report. */
	for (unsigned w = 0; w < (PORT_MAX_HARTS + 63) / 64; w++) {
		uint64_t bits = 0;
		for (unsigned h = w * 64; !all && h < PORT_MAX_HARTS && h < w * 64 + 64; h++)
			if (h != me && !flush_answered(&percpu_cpus[h]))
				bits |= (uint64_t)1 << (h % 64);
		STORE_RELAXED(&percpu_cold[me].unanswered[w], bits);
	}
}

static size_t drain_depots(struct percpu_cpu *c)
{
	size_t blocks = 0;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		blocks += percpu_depot_drain(c, cls);
	return blocks;
}

/*
 * The heap's reclaim hook: runs on the hart whose allocation is failing,
 * without the heap lock. True if anything went back to the heap.
 */
bool percpu_reclaim(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	(void)size;
	(void)align;
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	size_t blocks = flush_local(c, false) + drain_depots(c);
	if (percpu_remote_flush) {
		flush_remote(c);
		/* Harts that exited meanwhile left full magazines in the depots. */
		blocks += drain_depots(c);
		blocks++; /* the others' flushes freed memory we cannot count */
	}
	port_irq_restore(f);
	return blocks != 0;
}

void percpu_poll(void)
{
	struct percpu_cpu *c = this_cpu();
	if (likely(!LOAD_RELAXED(&c->flush_pending)))
		return;
	port_irqflags_t f = port_irq_save();
	percpu_honour_flush(this_cpu());
	port_irq_restore(f);
}

void percpu_kick_handler(void)
{
	percpu_poll();
}

void percpu_drain(void)
{
	percpu_check_ready();
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	flush_local(c, false);
	drain_depots(c);
	flush_remote(c);
	drain_depots(c);
	port_irq_restore(f);
}

bool percpu_check_drained(size_t caller_live)
{
	percpu_drain();
	struct kheap_stats st;
	kheap_get_stats(&st);
	if (st.heap.live_allocs != caller_live) {
		port_printf("percpu: after drain the heap has %zu live blocks, "
			    "the caller holds %zu\n", st.heap.live_allocs, caller_live);
		return false;
	}
	return true;
}

void percpu_hart_exit(void)
{
	if (!percpu_ready)
		return;
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	percpu_honour_flush(c);
	flush_local(c, true);
	/* The next thread on this hart starts afresh (see percpu_cpu.seen). */
	percpu_bytes_zero(c->seen, sizeof(c->seen));
	/* Relaxed: a requester that still asks just finds us answered. */
	STORE_RELAXED(&c->active, 0u);
	port_irq_restore(f);
}

void percpu_test_set_remote_flush(bool enabled)
{
	percpu_remote_flush = enabled;
}
