// SPDX-License-Identifier: BSD-2-Clause
/*
 * Statistics: per-hart counters and the fast frees derived from the
 * magazines' block flow, the cached bytes of each hart and of the depots,
 * and percpu's lines in the heap's OOM report.
 */
#include "percpu/percpu_internal.h"

/* The fields of struct percpu_stats that are a hart's counters as they are. */
#define COPIED_COUNTERS(X)                                                      \
	X(swaps) X(depot_exchanges) X(refills) X(refill_blocks) X(returns)     \
	X(return_blocks) X(large_allocs) X(large_frees) X(flushes)             \
	X(flush_requests) X(lock_acquisitions) X(lock_spins) X(evictions)      \
	X(shells_made) X(shells_reused)

void percpu_get_stats(unsigned hart, struct percpu_stats *o)
{
	memset(o, 0, sizeof(*o));
	if (hart >= PORT_MAX_HARTS)
		return;
	const struct percpu_counters *n = &percpu_cold[hart];
	const struct percpu_cpu *c = percpu_record(hart);
	uint64_t fa = LOAD_RELAXED(&c->alloc_hits);
	/*
	 * Fast frees are derived: blocks in the magazines now = loaded from
	 * outside - unloaded + pushes - pops, and pushes = fast + slow frees
	 * into magazines. Exact when the hart is quiet; a snapshot of a busy
	 * hart may be off by a few (clamped at 0).
	 */
	uint64_t pops = fa + LOAD_RELAXED(&n->slow_pops);
	uint64_t in = LOAD_RELAXED(&n->mag_in), out = LOAD_RELAXED(&n->mag_out);
	uint64_t now = percpu_cached_rounds(hart);
	uint64_t pushed = now + out + pops, not_fast = in + LOAD_RELAXED(&n->slow_pushes);
	uint64_t ff = pushed > not_fast ? pushed - not_fast : 0;
	o->allocs = fa + LOAD_RELAXED(&n->slow_allocs) + LOAD_RELAXED(&n->large_allocs);
	o->frees = ff + LOAD_RELAXED(&n->slow_frees) + LOAD_RELAXED(&n->large_frees);
	o->alloc_hits = fa;
	o->free_hits = ff;
#define COPY_COUNTER(field) o->field = LOAD_RELAXED(&n->field);
	COPIED_COUNTERS(COPY_COUNTER)
#undef COPY_COUNTER
}

void percpu_sum_stats(struct percpu_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++) {
		struct percpu_stats s;
		percpu_get_stats(h, &s);
		uint64_t *d = (uint64_t *)sum;
		const uint64_t *a = (const uint64_t *)&s;
		for (size_t i = 0; i < sizeof(s) / sizeof(uint64_t); i++)
			d[i] += a[i];
	}
}

/* Rounds of one slot of hart's: loaded and previous (a racy snapshot). */
static size_t slot_rounds_snapshot(const struct percpu_cpu *c, unsigned cls)
{
	unsigned si = PERCPU_SLOT(cls);
	void **base = LOAD_RELAXED(&c->base[si]), **top = LOAD_RELAXED(&c->top[si]);
	size_t cap = percpu_class_rounds[cls], rounds = 0; /* no magazine holds more */
	/* A snapshot taken mid-swap may not be consistent: clamp it. */
	if (base && top >= base && (size_t)(top - base) <= cap)
		rounds = (size_t)(top - base);
	return rounds + LOAD_RELAXED(&c->prev_rounds[si]);
}

size_t percpu_cached_rounds(unsigned hart)
{
	const struct percpu_cpu *c = percpu_record(hart);
	size_t n = 0;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		n += slot_rounds_snapshot(c, cls);
	return n;
}

size_t percpu_cached_bytes(unsigned hart)
{
	if (hart >= PORT_MAX_HARTS)
		return 0;
	const struct percpu_cpu *c = percpu_record(hart);
	size_t bytes = 0;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++)
		bytes += slot_rounds_snapshot(c, cls) * percpu_class_size[cls];
	return bytes;
}

bool percpu_get_depot_stats(unsigned cls, struct percpu_depot_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (cls >= PERCPU_NCLASSES)
		return false;
	const struct percpu_depot *d = &percpu_depots[cls];
	out->class_size = percpu_class_size[cls];
	out->acquisitions = LOAD_RELAXED(&d->acquisitions);
	out->spins = LOAD_RELAXED(&d->spins);
	out->full = LOAD_RELAXED(&d->nfull);
	return true;
}

bool percpu_report_depots(kheap_print_fn print)
{
	enum { BUSIEST = 3 };
	struct percpu_depot_stats top[BUSIEST] = { { 0 } }, d;
	struct percpu_stats harts;
	uint64_t acquisitions = 0, spins = 0;

	for (unsigned cls = 0; percpu_get_depot_stats(cls, &d); cls++) {
		acquisitions += d.acquisitions;
		spins += d.spins;
		for (unsigned i = 0; i < BUSIEST; i++) {
			if (d.acquisitions > top[i].acquisitions) {
				struct percpu_depot_stats out = top[i];
				top[i] = d;
				d = out; /* the one it displaced moves down */
			}
		}
	}
	percpu_sum_stats(&harts);
	char busiest[BUSIEST * 64]; /* " 32768 B <20 digits> (<20 digits> spins)" each */
	size_t len = 0;
	busiest[0] = '\0';
	for (unsigned i = 0; i < BUSIEST && top[i].acquisitions && len < sizeof(busiest); i++)
		len += (size_t)port_snprintf(busiest + len, sizeof(busiest) - len,
					     " %zu B %llu (%llu spins)", top[i].class_size,
					     (unsigned long long)top[i].acquisitions,
					     (unsigned long long)top[i].spins);
	print("depots: %llu lock acquisitions (harts: %llu), %llu spins (harts: %llu); busiest:%s\n",
	      (unsigned long long)acquisitions, (unsigned long long)harts.lock_acquisitions,
	      (unsigned long long)spins, (unsigned long long)harts.lock_spins, busiest);
	return acquisitions == harts.lock_acquisitions && spins == harts.lock_spins;
}

/*
 * " 3 17 42": the harts whose bit is set in bits[], into list (cut short if
 * it does not fit, never past size). Returns how many.
 */
static unsigned format_harts(char *list, size_t size, const uint64_t *bits)
{
	size_t len = 0;
	unsigned n = 0;
	list[0] = '\0';
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++) {
		if (!(LOAD_RELAXED(&bits[h / 64]) & ((uint64_t)1 << (h % 64))))
			continue;
		n++;
		if (len < size)
			len += (size_t)port_snprintf(list + len, size - len, " %u", h);
	}
	return n;
}

/*
 * Lines for the heap's OOM report: where the cached bytes are (every active
 * hart, the ones that cache nothing too: that they do is news), the budget,
 * what this hart's last reclaim got back and from whom, and which harts did
 * not answer its last flush request.
 */
void percpu_report_extra(kheap_print_fn print)
{
	struct percpu_cache_stats cs;
	size_t harts = 0;
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++) {
		size_t b = percpu_cached_bytes(h);
		harts += b;
		if (b || LOAD_RELAXED(&percpu_record(h)->active))
			print("  percpu: hart %u caches %zu bytes\n", h, b);
	}
	/*
	 * The harts' total is the sum of the lines above, not a second
	 * reading: the other harts run on while the report is built, and an
	 * 8-hart OOM report (qemu_smp --fill 100) read "hart 0 caches 7152
	 * bytes" over "harts 2240 bytes" (//percpu:report_sum_test).
	 */
	percpu_get_cache_stats(&cs);
	print("  percpu: depots cache %zu bytes, harts %zu bytes, orphans %zu bytes; "
	      "budget %zu bytes, charged %zu (most %zu)\n", cs.depot_bytes,
	      harts, cs.orphan_bytes, cs.budget, cs.charged, cs.charged_max);

	unsigned me = port_hart_id();
	const struct percpu_counters *n = &percpu_cold[me];
	char list[4 * PORT_MAX_HARTS + 1]; /* " 127" per hart */
	if (LOAD_RELAXED(&n->reclaims)) {
		format_harts(list, sizeof(list), n->reclaimed_from);
		print("  percpu: hart %u's last reclaim got back %llu bytes: %llu own, "
		      "%llu from depots, %llu from other harts%s%s\n", me,
		      (unsigned long long)(LOAD_RELAXED(&n->reclaim_own_bytes) +
					   LOAD_RELAXED(&n->reclaim_depot_bytes) +
					   LOAD_RELAXED(&n->reclaim_remote_bytes)),
		      (unsigned long long)LOAD_RELAXED(&n->reclaim_own_bytes),
		      (unsigned long long)LOAD_RELAXED(&n->reclaim_depot_bytes),
		      (unsigned long long)LOAD_RELAXED(&n->reclaim_remote_bytes),
		      list[0] ? ":" : "", list);
	}
	if (!LOAD_RELAXED(&n->flush_asked))
		return;
	unsigned silent = format_harts(list, sizeof(list), n->unanswered);
	if (silent)
		print("  percpu: hart %u's last flush request timed out; not answered "
		      "by hart%s%s\n", me, silent > 1 ? "s" : "", list);
	else
		print("  percpu: hart %u's last flush request: every active hart "
		      "answered\n", me);
}
