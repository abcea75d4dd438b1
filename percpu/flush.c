// SPDX-License-Identifier: BSD-2-Clause
/*
 * Giving cached blocks back: a hart's own flush, flush requests to other
 * harts (the reclaim before OOM, the kick handler, percpu_poll), the orphan
 * list, full drains and hart exit.
 *
 * Flush requests. Before the heap reports OOM it calls percpu_reclaim(),
 * which returns this hart's cache and the depots at once and asks every
 * other active hart to give up its cache: it bumps the hart's flush_req,
 * raises its flush_pending word and kicks it. The owner answers wherever it
 * passes: the kick handler (an IPI on RISC-V), every lock wait and idle wait
 * (the RISC-V port_wait_long calls the kick handler, so a hart spinning for a
 * lock with interrupts masked still answers), every slow path, percpu_poll,
 * and, on ports whose kick cannot interrupt (the host), one relaxed load on
 * its fast free. Answering takes no lock and calls no heap function: the
 * owner detaches its magazines onto the orphan list and publishes flush_done
 * = the flush_req it saw. The requester returns the orphans to the heap as
 * they arrive, so what a hart gave back is used even if other harts never
 * answer.
 *
 * Levels (<heap/kheap.h>): KHEAP_RECLAIM_QUICK asks and takes what is there
 * without waiting; KHEAP_RECLAIM_WAIT, which the heap calls only after its
 * OOM hook could not grow the heap, waits up to the flush wait for the
 * answers.
 */
#include "percpu/percpu_internal.h"

#include <platform/fault.h>

static bool percpu_remote_flush = true; /* testing switch */
/* Another cache's reclaim (e.g. pages_reclaim): set once at init. */
static bool (*reclaim_extra)(void);

void percpu_set_reclaim_extra(bool (*fn)(void))
{
	reclaim_extra = fn;
}
/* Relaxed: a knob; a requester reads it once per wait. */
static uint64_t flush_wait_us = PERCPU_FLUSH_WAIT_US;
/* Bytes on the orphan list: atomic, a statistic for the budget's tests. */
static size_t orphan_bytes;
/*
 * Orphan magazines returned to the heap so far, by any hart (their rounds,
 * or only the array of an empty one or a spare shell: memory either way):
 * a reclaim whose requests were answered while another hart's reclaim (or
 * trim) took the orphans must still have its allocation retried
 * (percpu_reclaim).
 * Release add after the heap calls that freed them / acquire load: a
 * reclaim that sees the count grow then takes the heap lock after those
 * frees released it, so its retry finds the blocks.
 */
static uint64_t orphans_returned;
/*
 * free_orphans calls that have taken a list and not yet counted it in
 * orphans_returned. A waiting reclaim whose answers another hart took
 * must not report nothing while that hart is still returning them: it saw
 * every answer, its own look at the list found none, and orphans_returned
 * had not moved yet (tests/models/flush.pml found it;
 * //percpu:orphans_in_flight_test), so the allocation failed with the
 * memory on its way into the heap. It waits (bounded) for this to reach 0.
 * Relaxed add before the list's exchange, whose release publishes it: a
 * hart whose acquire look at the list reads that exchange (or a later
 * one) sees the taker counted. Release sub after orphans_returned's add:
 * the waiter's acquire load that reads 0 sees the count moved.
 */
static unsigned orphans_taking;

void percpu_set_flush_wait_us(uint64_t us)
{
	__atomic_store_n(&flush_wait_us, us, __ATOMIC_RELAXED);
}

size_t percpu_orphan_bytes(void)
{
	return __atomic_load_n(&orphan_bytes, __ATOMIC_RELAXED);
}

/* Bytes cached in the first `rounds` rounds of a magazine of class cls. */
static size_t rounds_bytes(unsigned cls, size_t rounds)
{
	return rounds * percpu_class_size[cls];
}

/* ---- the orphan list ---------------------------------------------------- */

static void orphan_push(struct percpu_cpu *c, struct percpu_magazine *m, size_t rounds)
{
	m->held = (uint8_t)rounds;
	m->orphan_from = (uint16_t)(c->index1 - 1);
	__atomic_fetch_add(&orphan_bytes, rounds_bytes(m->cls, rounds), __ATOMIC_RELAXED);
	struct percpu_magazine *head = __atomic_load_n(&percpu_orphans.head, __ATOMIC_RELAXED);
	do
		m->next = head;
	/*
	 * Release: the taker's acquire exchange sees the magazine's rounds
	 * and header as we left them.
	 */
	while (!__atomic_compare_exchange_n(&percpu_orphans.head, &head, m, true,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/*
 * Reclaims waiting for answers now (flush_wait): while there is none, a
 * hart that answers a request where it may call the heap (a slow path,
 * percpu_poll, hart exit) returns the orphan list itself, for no one else
 * would until the next reclaim: a trim's or a quick reclaim's answers
 * would sit there, charged to the budget and out of the heap. While one
 * waits, it returns them, counting them as its own reclaim's. Relaxed: a
 * hint; a waiter that starts as an answerer returns its orphans still has
 * its allocation retried (orphans_returned).
 */
static unsigned reclaim_waiters;

static size_t free_orphans(struct percpu_cpu *c, bool record);

void percpu_flush_fork_child(void)
{
	/* The parent's waiting threads are not in the child, nor its takers. */
	__atomic_store_n(&reclaim_waiters, 0u, __ATOMIC_RELAXED);
	__atomic_store_n(&orphans_taking, 0u, __ATOMIC_RELAXED);
	/*
	 * The orphans on the list, only: a dead thread may have counted one
	 * it had not pushed yet (orphan_push), or taken the list to return it
	 * (free_orphans) and left the count of what it had not destroyed.
	 */
	size_t bytes = 0;
	for (const struct percpu_magazine *m = percpu_orphans.head; m; m = m->next)
		bytes += rounds_bytes(m->cls, m->held);
	__atomic_store_n(&orphan_bytes, bytes, __ATOMIC_RELAXED);
}

size_t percpu_free_orphans(struct percpu_cpu *c)
{
	return free_orphans(c, true);
}

/* record: count them in this hart's reclaim record (for the OOM report). */
static size_t free_orphans(struct percpu_cpu *c, bool record)
{
	/*
	 * A plain look first: the list is usually empty, keep its line
	 * shared. Acquire: if another hart's exchange emptied it, we see
	 * that hart in orphans_taking (wait_orphans_taken).
	 */
	if (!__atomic_load_n(&percpu_orphans.head, __ATOMIC_ACQUIRE))
		return 0;
	__atomic_fetch_add(&orphans_taking, 1u, __ATOMIC_RELAXED);
	/*
	 * Acquire: pairs with orphan_push's release. Release: publishes our
	 * orphans_taking count to whoever reads the list after us.
	 */
	struct percpu_magazine *m = __atomic_exchange_n(&percpu_orphans.head, NULL,
							__ATOMIC_ACQ_REL);
	struct percpu_counters *n = cold(c);
	size_t total = 0;
	uint64_t mags = 0;
	while (m) {
		struct percpu_magazine *next = m->next;
		unsigned from = m->orphan_from;
		size_t bytes = rounds_bytes(m->cls, m->held);
		__atomic_fetch_sub(&orphan_bytes, bytes, __ATOMIC_RELAXED);
#if FAULT == FAULT_LOSE_ORPHAN
		/* Test-only (<platform/fault.h>): relaxed, a count that orders nothing. */
		static unsigned fault_orphans;
		if (__atomic_add_fetch(&fault_orphans, 1, __ATOMIC_RELAXED) %
		    FAULT_LOSE_ORPHAN_EVERY == 0) {
			m = next;
			continue;
		}
#endif
		percpu_mag_destroy(c, m, m->held);
		if (record)
			STORE_RELAXED(&n->reclaimed_from[from / 64],
				      n->reclaimed_from[from / 64] | (uint64_t)1 << (from % 64));
		total += bytes;
		mags++;
		m = next;
	}
	if (record)
		STAT_ADD(&n->reclaim_remote_bytes, total);
	if (mags)
		__atomic_fetch_add(&orphans_returned, mags, __ATOMIC_RELEASE);
	__atomic_fetch_sub(&orphans_taking, 1u, __ATOMIC_RELEASE);
	return total;
}

/*
 * Waits (bounded by the flush wait) until no hart is between taking the
 * orphan list and counting it in orphans_returned. Interrupts masked.
 */
static void wait_orphans_taken(void)
{
	uint64_t deadline = port_time_us() + __atomic_load_n(&flush_wait_us, __ATOMIC_RELAXED);
	/* Acquire: pairs with free_orphans' release sub (see orphans_taking). */
	while (__atomic_load_n(&orphans_taking, __ATOMIC_ACQUIRE) && port_time_us() <= deadline)
		port_wait_long();
}

/* ---- a hart's own slots --------------------------------------------------- */

/*
 * Empties this hart's slots (interrupts masked, the slots not in any
 * locals). HEAP: rounds and magazines go back to the heap; DEPOT (hart
 * exit): magazines with rounds, full or not, to the depot while it has
 * room, for the next thread to take there rather than refill from the
 * heap (larson: tools/bench/README.md, "Thread exit"), the rest to the
 * heap; ORPHAN (a flush answer): everything onto the orphan list, no heap
 * call; SPARES (an eviction): the rounds to the heap in one batch where
 * they fit in one array, the arrays to the spare shells. Returns the bytes
 * of the cached blocks it let go.
 */
enum flush_to { FLUSH_TO_HEAP, FLUSH_TO_DEPOT, FLUSH_TO_ORPHANS, FLUSH_TO_SPARES };

static size_t flush_slot(struct percpu_cpu *c, unsigned cls, enum flush_to to)
{
	unsigned si = PERCPU_SLOT(cls);
	struct percpu_magazine *m[2] = { slot_loaded(c, si), c->prev[si] };
	size_t r[2] = { m[0] ? slot_loaded_rounds(c, si) : 0, c->prev_rounds[si] };
	size_t bytes = 0;
	c->refill_rounds[si] = 0; /* the class starts small again */
	if (!m[0] && !m[1])
		return 0;
	slot_load(c, cls, NULL, 0);
	slot_set_prev(c, cls, NULL, 0);
	STAT_ADD(&cold(c)->mag_out, r[0] + r[1]);
	if (to == FLUSH_TO_SPARES && m[0] && m[1] && r[0] + r[1] <= m[0]->room) {
		/* One heap batch: the previous one's rounds after the loaded's. */
		memcpy(&m[0]->rounds[r[0]], m[1]->rounds, r[1] * sizeof(void *));
		r[0] += r[1];
		r[1] = 0;
	}
	for (int i = 0; i < 2; i++) {
		if (!m[i])
			continue;
		bytes += rounds_bytes(cls, r[i]);
		if (to == FLUSH_TO_ORPHANS)
			orphan_push(c, m[i], r[i]);
		else if (to == FLUSH_TO_SPARES)
			percpu_mag_retire(c, m[i], r[i]);
		else if (to == FLUSH_TO_DEPOT && r[i] &&
			 percpu_depot_park(c, cls, m[i], r[i]))
			;
		else
			percpu_mag_destroy(c, m[i], r[i]);
	}
	return bytes;
}

static size_t flush_local(struct percpu_cpu *c, enum flush_to to)
{
	size_t bytes = 0;
	/*
	 * Counted first: a requester that frees our orphans acquires them
	 * after this store, so it sees the flush counted. Counted last, a
	 * requester under TSan had the blocks and read flushes == 0
	 * (//percpu:oom_test_tsan in CI).
	 */
	STAT_ADD(&cold(c)->flushes, 1);
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		bytes += flush_slot(c, cls, to);
	/* Every slot is empty now: slot_load and slot_set_prev kept the sum and the bits. */
	if (unlikely(c->slots_charge || c->classes_held))
		port_panic(PORT_EXIT_PANIC,
			   "percpu: hart %u: empty slots charged %zu bytes, classes held 0x%llx",
			   c->index1 - 1, c->slots_charge, (unsigned long long)c->classes_held);
	if (to != FLUSH_TO_ORPHANS) {
		percpu_spares_free(c);
	} else {
		/*
		 * The spare shells too, as magazines of no rounds: left here,
		 * an answering hart that stays active kept them out of the
		 * heap and charged to the budget through every drain, trim
		 * and OOM reclaim (//percpu:spare_answer_test).
		 */
		for (struct percpu_magazine *m = percpu_spares_detach(c), *next; m; m = next) {
			next = m->next;
			orphan_push(c, m, 0);
		}
	}
	return bytes;
}

size_t percpu_flush_class(struct percpu_cpu *c, unsigned cls)
{
	return flush_slot(c, cls, FLUSH_TO_SPARES);
}

/*
 * Honours a pending flush request (interrupts masked, the slots not in any
 * locals). The seq_cst pair "requester: flush_req++ then flush_pending = 1"
 * / "owner: flush_pending = 0 then read flush_req" guarantees that either
 * the owner reads the new flush_req here, or flush_pending stays 1 and the
 * next check flushes again.
 */
size_t percpu_honour_flush(struct percpu_cpu *c)
{
	if (!LOAD_RELAXED(&c->flush_pending))
		return 0;
	__atomic_store_n(&c->flush_pending, 0, __ATOMIC_SEQ_CST);
	uint64_t req = __atomic_load_n(&c->flush_req, __ATOMIC_SEQ_CST);
	size_t bytes = flush_local(c, FLUSH_TO_ORPHANS);
	/*
	 * Release: a requester whose acquire load sees flush_done sees our
	 * orphans pushed (the push's own release covers their contents).
	 */
	__atomic_store_n(&c->flush_done, req, __ATOMIC_RELEASE);
	return bytes;
}

size_t percpu_answer_flush_pending(struct percpu_cpu *c)
{
	size_t bytes = percpu_honour_flush(c);
	if (!LOAD_RELAXED(&reclaim_waiters))
		free_orphans(c, false);
	return bytes;
}

/* ---- flush requests ------------------------------------------------------ */

/* True when hart h has answered every request made of it so far. */
static bool flush_answered(struct percpu_cpu *h)
{
	/* Acquire: pairs with the owner's release store in honour_flush. */
	uint64_t done = __atomic_load_n(&h->flush_done, __ATOMIC_ACQUIRE);
	return done >= __atomic_load_n(&h->flush_req, __ATOMIC_SEQ_CST) ||
	       !LOAD_RELAXED(&h->active);
}

static void flush_ask(struct percpu_cpu *self)
{
	unsigned me = self->index1 - 1;
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++) {
		struct percpu_cpu *c = percpu_record(h);
		if (h == me || !LOAD_RELAXED(&c->active) || !flush_answered(c))
			continue; /* an unanswered request stands: no second kick */
		if (!percpu_hart_holds(c))
			continue; /* nothing to give back, nothing to wait for */
		/* seq_cst: see honour_flush for the pairing. */
		__atomic_fetch_add(&c->flush_req, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&c->flush_pending, 1, __ATOMIC_SEQ_CST);
		port_kick_hart(h);
		STAT_ADD(&cold(self)->flush_requests, 1);
	}
	STAT_ADD(&cold(self)->flush_asked, 1);
}

static bool all_answered(unsigned me)
{
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++)
		if (h != me && !flush_answered(percpu_record(h)))
			return false;
	return true;
}

/*
 * Waits (bounded) for every other active hart to answer, returning orphans
 * to the heap as they arrive and honouring our own pending request meanwhile
 * (so two harts that hit OOM at once do not wait on each other). Then
 * records who did not answer, for the OOM report. Interrupts masked.
 * Returns the bytes of the orphans it gave back.
 */
static size_t flush_wait(struct percpu_cpu *self)
{
	unsigned me = self->index1 - 1;
	uint64_t deadline = port_time_us() + __atomic_load_n(&flush_wait_us, __ATOMIC_RELAXED);
	size_t bytes = 0;
	bool all;
	while (!(all = all_answered(me)) && port_time_us() <= deadline) {
		percpu_honour_flush(self);
		bytes += percpu_free_orphans(self);
		port_wait_long();
	}
	for (unsigned w = 0; w < (PORT_MAX_HARTS + 63) / 64; w++) {
		uint64_t bits = 0;
		for (unsigned h = w * 64; !all && h < PORT_MAX_HARTS && h < w * 64 + 64; h++)
			if (h != me && !flush_answered(percpu_record(h)))
				bits |= (uint64_t)1 << (h % 64);
		STORE_RELAXED(&cold(self)->unanswered[w], bits);
	}
	return bytes;
}

static size_t drain_depots(struct percpu_cpu *c)
{
	size_t bytes = 0;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		bytes += percpu_depot_drain(c, cls);
	return bytes;
}

/* Starts a reclaim record: what this one gets back, and from whom. */
static void reclaim_record_start(struct percpu_cpu *c)
{
	struct percpu_counters *n = cold(c);
	STORE_RELAXED(&n->reclaims, n->reclaims + 1);
	STORE_RELAXED(&n->reclaim_own_bytes, (uint64_t)0);
	STORE_RELAXED(&n->reclaim_depot_bytes, (uint64_t)0);
	STORE_RELAXED(&n->reclaim_remote_bytes, (uint64_t)0);
	for (unsigned w = 0; w < (PORT_MAX_HARTS + 63) / 64; w++)
		STORE_RELAXED(&n->reclaimed_from[w], (uint64_t)0);
}

/*
 * Everything this hart can get back: its own slots and the depots at once,
 * the other harts' caches on request (waiting for them if `wait`), and the
 * orphans. Interrupts masked. Returns the bytes it got back.
 */
static size_t reclaim_all(struct percpu_cpu *c, bool wait)
{
	struct percpu_counters *n = cold(c);
	size_t own = flush_local(c, FLUSH_TO_HEAP);
	size_t depots = drain_depots(c);
	size_t remote = percpu_free_orphans(c);
	/*
	 * Bypass mode caches nothing, and its harts never answer (no kick
	 * handler, no magazine path): asking them made every drain wait out
	 * the whole flush wait while another hart was active
	 * (//percpu:bypass_test).
	 */
	if (percpu_remote_flush && percpu_mode_ == PERCPU_MAGAZINES) {
		flush_ask(c);
		if (wait) {
			__atomic_fetch_add(&reclaim_waiters, 1u, __ATOMIC_RELAXED);
			remote += flush_wait(c); /* what came back while waiting counts */
			__atomic_fetch_sub(&reclaim_waiters, 1u, __ATOMIC_RELAXED);
		}
		remote += percpu_free_orphans(c);
		/* Harts that exited meanwhile left full magazines in the depots. */
		depots += drain_depots(c);
	}
	STAT_ADD(&n->reclaim_own_bytes, own);
	STAT_ADD(&n->reclaim_depot_bytes, depots);
	return own + depots + remote;
}

/*
 * The heap's reclaim hook: runs on the hart whose allocation is failing,
 * without the heap lock. True if anything went back to the heap.
 */
bool percpu_reclaim(void *ctx, size_t size, size_t align, enum kheap_reclaim_level level)
{
	(void)ctx;
	(void)size;
	(void)align;
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	struct percpu_counters *n = cold(c);
	slow_enter(c);
	if (level == KHEAP_RECLAIM_QUICK) {
		reclaim_record_start(c);
		STORE_RELAXED(&n->reclaim_orphan_mark,
			      __atomic_load_n(&orphans_returned, __ATOMIC_ACQUIRE));
	}
	uint64_t heap_frees = n->heap_frees;
	size_t bytes = reclaim_all(c, level == KHEAP_RECLAIM_WAIT);
	/*
	 * The last level: orphans another hart took are counted before we
	 * look (the quick level's are seen by this one).
	 */
	if (level == KHEAP_RECLAIM_WAIT)
		wait_orphans_taken();
	/*
	 * Arrays count: a reclaim that freed only empty magazines (the depot's,
	 * ours, spare shells) gave the heap room, often what a small request
	 * needs; reported as nothing, a kmalloc_try(16) on a full heap failed
	 * with 2 KiB free after it, every time, as the next call's new
	 * magazine took the room again (//percpu:reclaim_arrays_test).
	 */
	bool gave = n->heap_frees != heap_frees;
	/*
	 * The harts we asked may have answered to another hart's reclaim or
	 * trim, which then gave their orphans back: nothing came back through
	 * us, but the memory is in the heap (acquire: see orphans_returned).
	 * Since this allocation's quick level, so nothing returned between
	 * the two levels (while the OOM hook ran) is missed either.
	 */
	uint64_t returned = __atomic_load_n(&orphans_returned, __ATOMIC_ACQUIRE);
	bool others = returned != n->reclaim_orphan_mark;
	STORE_RELAXED(&n->reclaim_orphan_mark, returned);
	slow_exit(c);
	port_irq_restore(f);
	/* Unmasked and outside our slow path: it may take its own locks. */
	bool extra = reclaim_extra && reclaim_extra();
	return bytes != 0 || gave || others || extra;
}

/*
 * Honours a pending request unless a slow path has the slots in locals.
 * heap: the caller may call the heap (percpu_poll), so the answer goes
 * back to it when no reclaim waits to take it; not the kick handler, which
 * port_wait_long calls in lock waits, the heap lock's too.
 */
static void poll_masked(bool heap)
{
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu(); /* after masking: no migration */
	if (unlikely(LOAD_RELAXED(&c->flush_pending)) && !c->busy) {
		if (heap) {
			/*
			 * Busy over the heap calls (the kick handler in their
			 * lock waits leaves the slots alone), but not
			 * slow_enter: a poll does not make an exited hart
			 * active again.
			 */
			c->busy++;
			percpu_answer_flush(c);
			slow_exit(c);
		} else {
			percpu_honour_flush(c);
		}
	}
	port_irq_restore(f);
}

void percpu_poll(void)
{
	poll_masked(true);
}

void percpu_kick_handler(void)
{
	poll_masked(false);
}

/* percpu_drain (wait) and percpu_trim: reclaim_all on this hart. */
static void reclaim_here(bool wait)
{
	percpu_check_ready();
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	slow_enter(c);
	reclaim_all(c, wait);
	slow_exit(c);
	port_irq_restore(f);
}

void percpu_drain(void)
{
	reclaim_here(true);
}

void percpu_trim(void)
{
	reclaim_here(false);
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
	/* The depots' byte count (depot.c) agrees that they are empty. */
	size_t depot_bytes = percpu_depot_bytes();
	if (depot_bytes) {
		port_printf("percpu: after drain the depots count %zu bytes\n", depot_bytes);
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
	slow_enter(c);
	percpu_answer_flush(c);
	flush_local(c, FLUSH_TO_DEPOT);
	/* The next thread on this hart starts afresh (see percpu_cpu.seen). */
	memset(c->seen, 0, sizeof(c->seen));
	slow_exit(c);
	if (c->active) {
		/* Relaxed: a requester that still asks just finds us answered. */
		STORE_RELAXED(&c->active, 0u);
		percpu_hart_deactivated();
	}
	port_irq_restore(f);
}

void percpu_test_set_remote_flush(bool enabled)
{
	percpu_remote_flush = enabled;
}
