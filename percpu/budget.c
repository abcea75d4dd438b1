// SPDX-License-Identifier: BSD-2-Clause
/*
 * The caches' budget: what every magazine (rounds and array) may cost
 * together, and the capacity of each new magazine.
 *
 * Every magazine is charged cap * max(class size + one pointer, the round
 * floor) plus its header and spare word (PERCPU_MAG_OVERHEAD)
 * from the moment it is made until it is destroyed, whether it sits in a
 * slot, in a depot or on the orphan list, full or empty. The charge is taken
 * only if it fits (percpu_charge), so the bytes the caches can hold never
 * exceed the budget: a hard bound, whatever the hart count. When nothing
 * fits, the class is simply not cached on that hart for now (its requests
 * go to the heap), and the depot reaping and the reclaim give charges back.
 *
 * Capacity is fair rather than first-come: a hart's share is what the
 * depots' slice leaves of the budget, divided by the active harts (at least
 * PERCPU_SHARE_MIN_HARTS of them), and one magazine gets at most share /
 * PERCPU_MAG_SHARE_DIV (and PERCPU_MAG_BYTES of blocks, a big class
 * PERCPU_BIG_MAG_CAP_BYTES) and half of what the
 * hart's slots leave of the share (Bonwick sizes magazines per cache; SLUB
 * caps what a CPU holds). A class whose magazine would hold fewer than
 * percpu_useful_rounds is not cached at that share; a hart crowded out
 * by its own classes gives up its least recently used one. Magazines keep
 * the capacity they were made with; as harts come and go, new ones follow
 * the new share.
 *
 * A class that is not cached on a hart is not sent to the heap lock for
 * every allocation: each depot keeps one loose magazine, at most
 * PERCPU_LOOSE_DIV-th of the depots' slice, that hands out single rounds
 * under the class's own lock (percpu_loose_cap); the frees go to the heap.
 */
#include "percpu/percpu_internal.h"

#include <platform/fault.h>

static struct {
	size_t charged;     /* bytes charged now: atomic, see percpu_charge */
	size_t charged_max; /* its high water: atomic, a statistic */
	size_t override;    /* percpu_set_cache_budget; 0: derived */
	unsigned active;    /* harts active (slow_enter .. hart_exit): atomic */
} budget __attribute__((aligned(PORT_CACHE_LINE)));

size_t percpu_budget(void)
{
	/* Relaxed: knobs and sizes; the charge's CAS is what must be exact. */
	size_t o = __atomic_load_n(&budget.override, __ATOMIC_RELAXED);
	if (o)
		return o;
	return kheap_capacity() / 100 * PERCPU_CACHE_BUDGET_PCT;
}

void percpu_set_cache_budget(size_t bytes)
{
	__atomic_store_n(&budget.override, bytes, __ATOMIC_RELAXED);
}

size_t percpu_depot_budget(void)
{
	return percpu_budget() / 100 * PERCPU_DEPOT_BUDGET_PCT;
}

/*
 * The least a round is charged (see PERCPU_ROUND_CHARGE_MIN): fixed once at
 * init, so a magazine's charge and its refund are the same number even if
 * the heap grows in between. Written before any other hart runs.
 */
static size_t round_floor;

size_t percpu_round_charge[PERCPU_NCLASSES];
uint8_t percpu_useful_rounds_of[PERCPU_NCLASSES];
/*
 * The least hart share at which class cls is cached (SIZE_MAX: at none):
 * percpu_class_uncached's answer without fair_rounds' divisions, on every
 * uncached class's slow paths (the kernel's big classes at any hart
 * count). Fixed by percpu_budget_init, as the charges it derives from.
 */
static size_t cached_from_share[PERCPU_NCLASSES];
uint8_t percpu_class_heap_only[PERCPU_NCLASSES];

static unsigned fair_rounds(unsigned cls, size_t share);

void percpu_budget_init(void)
{
	size_t f = kheap_capacity() >> PERCPU_ROUND_CHARGE_HEAP_SHIFT;
	round_floor = f < PERCPU_ROUND_CHARGE_MIN ? f : PERCPU_ROUND_CHARGE_MIN;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++) {
		size_t c = sizeof(void *) + percpu_class_size[cls];
		percpu_round_charge[cls] = c < round_floor ? round_floor : c;
		/* A round charged the floor costs the same in every class. */
		unsigned useful = percpu_round_charge[cls] <= round_floor
					  ? PERCPU_MAG_USEFUL_ROUNDS_SMALL
					  : PERCPU_MAG_USEFUL_ROUNDS;
		percpu_useful_rounds_of[cls] = (uint8_t)(percpu_class_rounds[cls] < useful
								 ? percpu_class_rounds[cls]
								 : useful);
		/*
		 * fair_rounds reaches the useful rounds once share /
		 * PERCPU_MAG_SHARE_DIV pays for a magazine of that many, unless
		 * the byte cap alone keeps it below (then at no share).
		 */
		unsigned want = percpu_useful_rounds(cls);
		cached_from_share[cls] =
			fair_rounds(cls, SIZE_MAX) < want
				? SIZE_MAX
				: PERCPU_MAG_SHARE_DIV * percpu_mag_charge(cls, want);
		/*
		 * Then no hart makes a magazine of the class, so its depot
		 * never holds one; without a loose one either, alloc_slow and
		 * free_slow would only find the heap.
		 */
		percpu_class_heap_only[cls] =
			cached_from_share[cls] == SIZE_MAX && !percpu_loose_class(cls);
	}
}

/* Rounds of class cls that `bytes` of charge pay for (table-capped). */
static unsigned rounds_for(unsigned cls, size_t bytes)
{
	if (bytes <= PERCPU_MAG_OVERHEAD)
		return 0;
	size_t cap = (bytes - PERCPU_MAG_OVERHEAD) / percpu_round_charge[cls];
	return cap < percpu_class_rounds[cls] ? (unsigned)cap : percpu_class_rounds[cls];
}

/* A hart's fair share of the budget now. */
static size_t hart_share(void)
{
	/* Relaxed: a count to divide by; a stale one only skews one size. */
	unsigned harts = __atomic_load_n(&budget.active, __ATOMIC_RELAXED);
	return percpu_budget() / 100 * (100 - PERCPU_DEPOT_BUDGET_PCT) /
	       (harts > PERCPU_SHARE_MIN_HARTS ? harts : PERCPU_SHARE_MIN_HARTS);
}

/* One magazine's fair capacity of class cls at `share`. */
static unsigned fair_rounds(unsigned cls, size_t share)
{
	unsigned fair = rounds_for(cls, share / PERCPU_MAG_SHARE_DIV);
	size_t most = cls < PERCPU_NFAST ? PERCPU_MAG_BYTES : PERCPU_BIG_MAG_CAP_BYTES;
	if (fair > most / percpu_class_size[cls])
		fair = most / percpu_class_size[cls]; /* locality */
	return fair;
}

bool percpu_class_uncached(unsigned cls)
{
	/* fair_rounds(cls, hart_share()) < percpu_useful_rounds(cls), tabled. */
	return hart_share() < cached_from_share[cls];
}

unsigned percpu_loose_cap(unsigned cls)
{
	if (!percpu_loose_class(cls))
		return 0;
	unsigned cap = rounds_for(cls, percpu_depot_budget() / PERCPU_LOOSE_DIV);
	return cap < PERCPU_LOOSE_MIN_ROUNDS ? 0 : cap;
}

unsigned percpu_mag_cap(const struct percpu_cpu *c, unsigned cls, bool *crowded)
{
	size_t share = hart_share();
	unsigned useful = percpu_useful_rounds(cls);
	unsigned fair = fair_rounds(cls, share);
	*crowded = false;
	if (fair < useful)
		return 0; /* too big a class for this share: not worth caching */
	/*
	 * Less room than a fair magazine (or than PERCPU_MAG_USEFUL_ROUNDS,
	 * if fair is more): evict the least recently used class rather than
	 * make a stunted magazine. With room for 2 enough for a small class,
	 * //percpu:spare_shell_test (24 classes in turn) took 4.35 heap-lock
	 * trips per eviction against 2.83, more arrays made than reused.
	 */
	unsigned want = fair < PERCPU_MAG_USEFUL_ROUNDS ? fair : PERCPU_MAG_USEFUL_ROUNDS;
	size_t used = c->slots_charge;
	unsigned room = used < share ? rounds_for(cls, (share - used) / 2) : 0;
	if (room < want) {
		*crowded = true; /* the hart's other classes fill its share */
		return 0;
	}
	return room < fair ? room : fair;
}

bool percpu_charge(size_t bytes)
{
	size_t limit = percpu_budget();
	/* Relaxed CAS: the count is the only data; it orders nothing else. */
	size_t now = __atomic_load_n(&budget.charged, __ATOMIC_RELAXED);
	do {
		if (now + bytes > limit)
			return false;
	} while (!__atomic_compare_exchange_n(&budget.charged, &now, now + bytes, true,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	size_t max = __atomic_load_n(&budget.charged_max, __ATOMIC_RELAXED);
	while (now + bytes > max &&
	       !__atomic_compare_exchange_n(&budget.charged_max, &max, now + bytes, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return true;
}

#if FAULT == FAULT_LEAK_CHARGE
/* Test-only (<platform/fault.h>): a count of uncharges, relaxed, orders nothing. */
static unsigned fault_uncharges;
#endif

void percpu_uncharge(size_t bytes)
{
#if FAULT == FAULT_LEAK_CHARGE
	if (__atomic_add_fetch(&fault_uncharges, 1, __ATOMIC_RELAXED) % FAULT_LEAK_CHARGE_EVERY == 0)
		return;
#endif
	/* Relaxed: see percpu_charge. */
	__atomic_fetch_sub(&budget.charged, bytes, __ATOMIC_RELAXED);
}

void percpu_hart_activated(void)
{
	/* Relaxed: see percpu_mag_cap. */
	__atomic_fetch_add(&budget.active, 1u, __ATOMIC_RELAXED);
}

void percpu_hart_deactivated(void)
{
	__atomic_fetch_sub(&budget.active, 1u, __ATOMIC_RELAXED);
}

void percpu_budget_fork_child(unsigned forker_active, size_t charged)
{
	/* Only the forking thread lives on: one active hart if it was, else none. */
	__atomic_store_n(&budget.active, forker_active ? 1u : 0u, __ATOMIC_RELAXED);
	__atomic_store_n(&budget.charged, charged, __ATOMIC_RELAXED);
}

void percpu_get_cache_stats(struct percpu_cache_stats *st)
{
	st->budget = percpu_budget();
	st->charged = __atomic_load_n(&budget.charged, __ATOMIC_RELAXED);
	st->charged_max = __atomic_load_n(&budget.charged_max, __ATOMIC_RELAXED);
	st->active_harts = __atomic_load_n(&budget.active, __ATOMIC_RELAXED);
	st->depot_bytes = percpu_depot_bytes();
	st->orphan_bytes = percpu_orphan_bytes();
	st->hart_bytes = 0;
	for (unsigned h = 0; h < PORT_MAX_HARTS; h++)
		st->hart_bytes += percpu_cached_bytes(h);
	st->cached_bytes = st->hart_bytes + st->depot_bytes + st->orphan_bytes;
}

void percpu_reset_cache_max(void)
{
	__atomic_store_n(&budget.charged_max,
			 __atomic_load_n(&budget.charged, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
}
