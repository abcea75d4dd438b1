// SPDX-License-Identifier: BSD-2-Clause
/*
 * Where magazines come from and go to: the heap side (blocks and magazines
 * handed back to the heap, new magazines charged to the budget) and each
 * class's depot of full and empty magazines under its ticket lock, with
 * Bonwick's working-set reaping.
 */
#include "percpu/percpu_internal.h"

#include <platform/fault.h>

/*
 * A magazine's bytes: the header, cap rounds and one spare word, where
 * percpu_mag_destroy puts the magazine itself so that it goes back to the
 * heap in the same batch (one lock) as its rounds.
 */
static size_t mag_bytes(unsigned cap)
{
	return sizeof(struct percpu_magazine) + (cap + 1u) * sizeof(void *);
}

/* ---- the heap side ------------------------------------------------------ */

#if FAULT == FAULT_DROP_BLOCK
/*
 * Test-only fault FAULT_DROP_BLOCK (<platform/fault.h>): the 1000th block
 * handed back to the heap is silently dropped, a leak that the drain check
 * (percpu_check_drained) and the QEMU stress test must notice.
 */
static uint64_t percpu_fault_returned; /* relaxed: a count, orders nothing */

static void fault_drop_block(void **blocks, size_t n)
{
	uint64_t before = __atomic_fetch_add(&percpu_fault_returned, n, __ATOMIC_RELAXED);
	if (before < FAULT_DROP_BLOCK_AT && before + n >= FAULT_DROP_BLOCK_AT)
		blocks[FAULT_DROP_BLOCK_AT - 1 - before] = NULL; /* batch free skips NULL */
}
#endif

void percpu_heap_return(struct percpu_cpu *c, void **blocks, size_t n, void *also)
{
	if (!n && !also)
		return;
#if FAULT == FAULT_DROP_BLOCK
	fault_drop_block(blocks, n);
#endif
	blocks[n] = also; /* NULL: the batch skips it */
	kheap_free_batch(blocks, n + 1); /* takes cached blocks as they are */
	STAT_ADD(&cold(c)->heap_frees, 1);
	if (n) {
		STAT_ADD(&cold(c)->returns, 1);
		STAT_ADD(&cold(c)->return_blocks, n);
	}
}

static struct percpu_magazine *spare_keep(struct percpu_cpu *c, struct percpu_magazine *m);

/*
 * Gives back m's charge and its first `rounds` rounds, and m itself unless
 * `keep` and it becomes a spare shell; their bytes.
 */
static size_t mag_release(struct percpu_cpu *c, struct percpu_magazine *m,
			  size_t rounds, bool keep)
{
	if (!m)
		return 0;
	size_t bytes = rounds * percpu_class_size[m->cls];
	percpu_uncharge(percpu_mag_charge(m->cls, m->cap));
	/*
	 * rounds <= cap <= room: the spare word after them holds what goes
	 * back with them (mag_bytes), even in a kept shell. m may be gone after.
	 */
	percpu_heap_return(c, m->rounds, rounds, keep ? spare_keep(c, m) : m);
	return bytes;
}

size_t percpu_mag_destroy(struct percpu_cpu *c, struct percpu_magazine *m,
			  size_t rounds)
{
	return mag_release(c, m, rounds, false);
}

size_t percpu_mag_retire(struct percpu_cpu *c, struct percpu_magazine *m,
			 size_t rounds)
{
	return mag_release(c, m, rounds, true);
}

/*
 * A new magazine array of `room` rounds from the heap, or NULL. Calls no
 * heap hooks (a batch of one), so it never reclaims under a slow path.
 */
static struct percpu_magazine *shell_new(struct percpu_cpu *c, unsigned room)
{
	void *p = NULL;
	if (!kheap_alloc_batch(mag_bytes(room), 0, &p, 1))
		return NULL;
	STAT_ADD(&cold(c)->shells_made, 1);
	/*
	 * Marked cached, as rounds are: the heap frees it only in a batch.
	 * The array may sit where a block was freed a moment ago (the heap
	 * reuses the lowest best fit first), and a late racing kfree of that
	 * block, or any stale one, then finds a cached block and is named a
	 * double free instead of freeing the array under the magazine's
	 * feet (//percpu:race_double_free_uncached_test_asan, 8 copies at
	 * once: 8 runs of 24 crashed or reported corrupted tags while arrays
	 * were live blocks).
	 */
	heap_tag_mark_cached(p);
	struct percpu_magazine *m = p;
	m->room = (uint8_t)room;
	return m;
}

/* An empty magazine of class cls with cap rounds in shell m. */
static void mag_init(struct percpu_magazine *m, unsigned cls, unsigned cap)
{
	m->cls = (uint16_t)cls;
	m->cap = (uint8_t)cap;
	m->held = 0;
	m->orphan_from = 0;
	m->next = NULL;
}

/* ---- spare shells (percpu_cpu.spares) --------------------------------- */

/* The owner's update of spare_charge: relaxed, see percpu_hart_holds. */
static void spare_charge_add(struct percpu_cpu *c, size_t bytes)
{
	STORE_RELAXED(&c->spare_charge, c->spare_charge + bytes);
}

/* Unlinks the spare *pp and gives back its charge. */
static struct percpu_magazine *spare_unlink(struct percpu_cpu *c,
					    struct percpu_magazine **pp)
{
	struct percpu_magazine *m = *pp;
	*pp = m->next;
	spare_charge_add(c, 0 - mag_bytes(m->room));
	percpu_uncharge(mag_bytes(m->room));
	return m;
}

/* Takes a spare shell with room for cap rounds, or NULL. */
static struct percpu_magazine *spare_take(struct percpu_cpu *c, unsigned cap)
{
	for (struct percpu_magazine **pp = &c->spares; *pp; pp = &(*pp)->next)
		if ((*pp)->room >= cap)
			return spare_unlink(c, pp);
	return NULL;
}

/*
 * Keeps shell m as a spare if the list has room (and the budget its bytes),
 * or in place of a spare with a smaller array. Returns the shell that goes
 * back to the heap instead: NULL, that smaller spare, or m.
 */
static struct percpu_magazine *spare_keep(struct percpu_cpu *c, struct percpu_magazine *m)
{
	size_t bytes = mag_bytes(m->room);
	struct percpu_magazine *out = NULL, **smallest = NULL;
	unsigned n = 0;
	for (struct percpu_magazine **pp = &c->spares; *pp; pp = &(*pp)->next, n++)
		if (!smallest || (*pp)->room < (*smallest)->room)
			smallest = pp;
	if (n >= PERCPU_SPARE_SHELLS && (!smallest || (*smallest)->room >= m->room))
		return m; /* full of arrays at least as big (or no spares at all) */
	if (!percpu_charge(bytes))
		return m;
	if (n >= PERCPU_SPARE_SHELLS)
		out = spare_unlink(c, smallest);
	m->next = c->spares;
	c->spares = m;
	spare_charge_add(c, bytes);
	return out;
}

struct percpu_magazine *percpu_spares_detach(struct percpu_cpu *c)
{
	struct percpu_magazine *list = c->spares;
	for (struct percpu_magazine *m = list; m; m = m->next) {
		size_t bytes = mag_bytes(m->room);
		/* Charged from now on as a magazine of no rounds, which its destroy refunds. */
		m->cls = 0;
		m->cap = 0;
		m->held = 0;
		spare_charge_add(c, 0 - bytes);
		percpu_uncharge(bytes - percpu_mag_charge(0, 0));
	}
	c->spares = NULL;
	return list;
}

void percpu_spares_free(struct percpu_cpu *c)
{
	while (c->spares) {
		/* The head's array lists the others it has room for. */
		struct percpu_magazine *head = spare_unlink(c, &c->spares);
		size_t n = 0;
		while (c->spares && n < head->room)
			head->rounds[n++] = spare_unlink(c, &c->spares);
		head->rounds[n] = head;
		kheap_free_batch(head->rounds, n + 1); /* in order: head last */
		STAT_ADD(&cold(c)->heap_frees, 1);
	}
}

/*
 * Gives up the magazines of this hart's least recently used class other
 * than `keep` (which may be in the caller's locals); false if it has none.
 *
 * The churn this makes when a hart uses more classes than its share holds
 * (the stress: an eviction every 8 operations at 2 to 18 harts) is what
 * keeps cached rounds from pinning the same holes for long. Measured and
 * not taken: evicting only a class idle for 128-1024 of the hart's slow
 * paths cut evictions 85-99% and heap-lock acquisitions 6-20%
 * (//tests:host_stress, 2 to 16 harts), but at --fill 60 it ran out of
 * memory at 1, 2 and 4 harts: 8 of 9 runs at 1024, 3 of 6 at 256, 1 of 6
 * at 128 (as it is, all passed, the smallest largest free block 865 KiB).
 */
static bool evict_lru(struct percpu_cpu *c, unsigned keep)
{
	unsigned victim = PERCPU_NCLASSES;
	uint32_t oldest = 0;
	/* Only the classes with a magazine in a slot (a shift, no ctz: no Zbb). */
	uint64_t held = c->classes_held & ~(1ull << keep);
	for (unsigned cls = 0; held; cls++, held >>= 1) {
		if (!(held & 1))
			continue;
		/* Unsigned distance from now: correct across clock wrap. */
		uint32_t age = c->slot_clock - c->slot_used[PERCPU_SLOT(cls)];
		if (victim == PERCPU_NCLASSES || age > oldest) {
			victim = cls;
			oldest = age;
		}
	}
	if (victim == PERCPU_NCLASSES)
		return false;
	percpu_flush_class(c, victim);
	STAT_ADD(&cold(c)->evictions, 1);
	return true;
}

/*
 * The capacity whose charge fits: the fair one, halved while it does not
 * (the global budget is nearly spent), never below a useful size.
 */
static unsigned charge_cap(struct percpu_cpu *c, unsigned cls, bool *crowded)
{
	unsigned cap = percpu_mag_cap(c, cls, crowded);
	unsigned useful = percpu_useful_rounds(cls);
	useful = cap < useful ? cap : useful;
	while (cap >= useful && cap && !percpu_charge(percpu_mag_charge(cls, cap)))
		cap /= 2;
	if (cap < useful) {
		*crowded = true;
		return 0;
	}
	return cap;
}

static bool reap_idle_depots(struct percpu_cpu *c);

/*
 * A new empty magazine for class cls on hart c, sized by the budget, in a
 * spare shell if one has room; NULL when the budget has no room (the class
 * goes uncached for now) or the heap has no memory. Calls no heap hooks,
 * so it never reclaims under a slow path.
 */
struct percpu_magazine *percpu_mag_create(struct percpu_cpu *c, unsigned cls)
{
	bool crowded;
	unsigned cap = charge_cap(c, cls, &crowded);
	/* No room: first what depots nobody needed lately are charged. */
	if (!cap && reap_idle_depots(c))
		cap = charge_cap(c, cls, &crowded);
	/* Crowded out: make room from the classes this hart used least lately. */
	for (int i = 0; !cap && crowded && i < (int)PERCPU_EVICT_TRIES; i++) {
		if (!evict_lru(c, cls))
			break;
		cap = charge_cap(c, cls, &crowded);
	}
	if (!cap)
		return NULL;
	struct percpu_magazine *m = spare_take(c, cap);
	if (m)
		STAT_ADD(&cold(c)->shells_reused, 1);
	else
		m = shell_new(c, cap);
	if (!m) {
		percpu_uncharge(percpu_mag_charge(cls, cap));
		return NULL;
	}
	mag_init(m, cls, cap);
	return m;
}

/* ---- depots ------------------------------------------------------------- */

/* Relaxed: a knob, read once per depot unlock. 0: no reaping. */
static uint64_t reap_us = PERCPU_DEPOT_REAP_US;

void percpu_set_depot_reap_us(uint64_t us)
{
	__atomic_store_n(&reap_us, us, __ATOMIC_RELAXED);
}

static port_irqflags_t depot_lock(struct percpu_cpu *c, struct percpu_depot *d)
{
	unsigned long spins = 0;
	port_irqflags_t f = ticket_lock_irqsave(&d->lock, &spins);
	STAT_ADD(&cold(c)->lock_acquisitions, 1);
	STAT_ADD(&cold(c)->lock_spins, spins);
	STAT_ADD(&d->acquisitions, 1); /* under d's lock: one writer at a time */
	STAT_ADD(&d->spins, spins);
	return f;
}

static void push(struct percpu_magazine **list, struct percpu_magazine *m)
{
	m->next = *list;
	*list = m;
}

static struct percpu_magazine *pop(struct percpu_magazine **list)
{
	struct percpu_magazine *m = *list;
	if (m)
		*list = m->next;
	return m;
}

/*
 * The bytes of rounds the depots hold, full magazines and loose rounds:
 * what depot_takes weighs against the depots' slice. One counter, not a
 * sum over the PERCPU_NCLASSES depots, which read 40 cache lines, each
 * written by the harts that trade at its class, inside the depot's lock
 * (figures: tools/bench/README.md, "The depots' byte count"). Each depot
 * publishes its full_rounds into it (depot_publish) when a magazine comes
 * or goes and when its loose magazine is refilled, not when it hands out
 * a loose round: that path, every small allocation once harts cache no
 * magazines (from about 20 harts on the 16 MiB heap), then writes no line
 * but its depot's. So a depot is counted at most the loose rounds it
 * handed out since its last refill too high, never too low. Relaxed
 * atomic adds: a bound and a statistic (percpu_depot_bytes); it orders
 * nothing.
 */
static size_t depot_bytes_all __attribute__((aligned(PORT_CACHE_LINE)));

size_t percpu_depot_bytes(void)
{
	return __atomic_load_n(&depot_bytes_all, __ATOMIC_RELAXED);
}

/* depot_bytes_all counts d's full_rounds as they are now. Under d's lock. */
static void depot_publish(struct percpu_depot *d)
{
	size_t was = d->published_rounds;
	if (d->full_rounds == was)
		return;
	d->published_rounds = d->full_rounds;
	/* A decrease wraps: modular arithmetic subtracts it. */
	__atomic_fetch_add(&depot_bytes_all,
			   (d->full_rounds - was) * percpu_class_size[d - percpu_depots],
			   __ATOMIC_RELAXED);
}

/*
 * Depot d of class cls takes a magazine of `rounds` rounds: it holds fewer
 * than PERCPU_DEPOT_MAX_FULL, and all depots' full magazines stay within
 * their slice of the budget (depot_bytes_all, which other depots' harts
 * change meanwhile: a bound that may be a moment stale, which only moves
 * one magazine's decision). Under d's lock.
 */
static bool depot_takes(const struct percpu_depot *d, unsigned cls, size_t rounds)
{
	size_t bytes = percpu_depot_bytes() + rounds * percpu_class_size[cls];
	return d->nfull < PERCPU_DEPOT_MAX_FULL && bytes <= percpu_depot_budget();
}

/* m with its first `rounds` rounds (cap, or fewer from an exiting hart). */
static void put_full(struct percpu_depot *d, struct percpu_magazine *m, size_t rounds)
{
	m->held = (uint8_t)rounds;
	push(&d->full, m);
	STORE_RELAXED(&d->nfull, d->nfull + 1);
	d->full_rounds += rounds;
	depot_publish(d);
}

static struct percpu_magazine *get_full(struct percpu_depot *d)
{
	struct percpu_magazine *m = pop(&d->full);
	if (m) {
		STORE_RELAXED(&d->nfull, d->nfull - 1);
		d->full_rounds -= m->held;
		depot_publish(d);
		if (d->nfull < d->low_full)
			d->low_full = d->nfull;
	}
	return m;
}

static struct percpu_magazine *get_empty(struct percpu_depot *d)
{
	struct percpu_magazine *m = pop(&d->empty);
	if (m) {
		STORE_RELAXED(&d->nempty, d->nempty - 1);
		if (d->nempty < d->low_empty)
			d->low_empty = d->nempty;
	}
	return m;
}

/* Detaches the loose magazine; *rounds gets its rounds. Under lock. */
static struct percpu_magazine *take_loose(struct percpu_depot *d, size_t *rounds)
{
	struct percpu_magazine *m = d->loose;
	*rounds = d->loose_n;
	d->full_rounds -= d->loose_n;
	depot_publish(d);
	STORE_RELAXED(&d->loose, (struct percpu_magazine *)NULL);
	d->loose_n = 0;
	return m;
}

/*
 * Releases the depot lock. Once per PERCPU_DEPOT_REAP_US it first detaches
 * what the depot did not need during the interval (its low-water marks,
 * and a loose magazine nobody used): *full_out and *empty_out (a loose one
 * among the full ones), each with its rounds in `held`, for the caller to
 * destroy after the unlock.
 */
static void depot_unlock(struct percpu_depot *d, port_irqflags_t f,
			 struct percpu_magazine **full_out,
			 struct percpu_magazine **empty_out)
{
	uint64_t interval = __atomic_load_n(&reap_us, __ATOMIC_RELAXED);
	uint64_t now = interval ? port_time_us() : 0;
	*full_out = *empty_out = NULL;
	if (interval && now >= d->reap_at) {
		for (size_t i = d->low_full; i > 0; i--)
			push(full_out, get_full(d));
		for (size_t i = d->low_empty; i > 0; i--)
			push(empty_out, get_empty(d));
		if (d->loose && !d->loose_used) {
			size_t n;
			struct percpu_magazine *m = take_loose(d, &n);
			m->held = (uint8_t)n;
			push(n ? full_out : empty_out, m);
		}
		d->loose_used = false;
		d->low_full = d->nfull;
		d->low_empty = d->nempty;
		d->reap_at = now + interval;
	}
	ticket_unlock_irqrestore(&d->lock, f);
}

/*
 * Destroys what depot_unlock reaped (or any list of full / empty
 * magazines), each with the rounds it holds.
 */
static size_t destroy_lists(struct percpu_cpu *c, struct percpu_magazine *full,
			    struct percpu_magazine *empty)
{
	size_t bytes = 0;
	for (struct percpu_magazine *m; (m = pop(&full)) != NULL;)
		bytes += percpu_mag_destroy(c, m, m->held);
	for (struct percpu_magazine *m; (m = pop(&empty)) != NULL;)
		percpu_mag_destroy(c, m, 0);
	return bytes;
}

/* Unlocks, then destroys what the unlock reaped plus `full` and `empty`. */
static void unlock_and_destroy(struct percpu_cpu *c, struct percpu_depot *d,
			       port_irqflags_t f, struct percpu_magazine *full,
			       struct percpu_magazine *empty)
{
	struct percpu_magazine *rf, *re;
	depot_unlock(d, f, &rf, &re);
	if (full)
		push(&rf, full);
	if (empty)
		push(&re, empty);
	destroy_lists(c, rf, re);
}

struct percpu_magazine *percpu_depot_get_full(struct percpu_cpu *c, unsigned cls,
					      struct percpu_magazine *empty)
{
	struct percpu_depot *d = &percpu_depots[cls];
	struct percpu_magazine *excess = NULL;
	port_irqflags_t f = depot_lock(c, d);
	struct percpu_magazine *got = get_full(d);
	if (got && empty) {
		if (d->nempty < PERCPU_DEPOT_MAX_EMPTY) {
			push(&d->empty, empty);
			STORE_RELAXED(&d->nempty, d->nempty + 1);
		} else {
			excess = empty;
		}
	}
	unlock_and_destroy(c, d, f, NULL, excess);
	if (got)
		STAT_ADD(&cold(c)->depot_exchanges, 1);
	return got;
}

struct percpu_magazine *percpu_depot_put_full(struct percpu_cpu *c, unsigned cls,
					      struct percpu_magazine *full)
{
	struct percpu_depot *d = &percpu_depots[cls];
	struct percpu_magazine *excess = NULL;
	port_irqflags_t f = depot_lock(c, d);
	if (full && !depot_takes(d, cls, full->cap)) {
		excess = full; /* past the depot's count or the depots' slice */
	} else if (full) {
		put_full(d, full, full->cap);
		STAT_ADD(&cold(c)->depot_exchanges, 1);
	}
	struct percpu_magazine *empty = get_empty(d);
	unlock_and_destroy(c, d, f, NULL, NULL);
	if (excess) {
		/* Its rounds go back; the magazine itself is the empty one we need. */
		percpu_heap_return(c, excess->rounds, excess->cap, NULL);
		if (!empty)
			empty = excess;
		else
			percpu_mag_destroy(c, excess, 0);
	}
	return empty;
}

void percpu_depot_put_empty(struct percpu_cpu *c, unsigned cls,
			    struct percpu_magazine *m)
{
	struct percpu_depot *d = &percpu_depots[cls];
	if (!m)
		return;
	port_irqflags_t f = depot_lock(c, d);
	if (d->nempty < PERCPU_DEPOT_MAX_EMPTY) {
		push(&d->empty, m);
		STORE_RELAXED(&d->nempty, d->nempty + 1);
		m = NULL;
	}
	unlock_and_destroy(c, d, f, NULL, m);
}

bool percpu_depot_park(struct percpu_cpu *c, unsigned cls, struct percpu_magazine *m,
		       size_t rounds)
{
	struct percpu_depot *d = &percpu_depots[cls];
	port_irqflags_t f = depot_lock(c, d);
	bool taken = depot_takes(d, cls, rounds);
	if (taken)
		put_full(d, m, rounds);
	unlock_and_destroy(c, d, f, NULL, NULL);
	return taken;
}

size_t percpu_depot_drain(struct percpu_cpu *c, unsigned cls)
{
	struct percpu_depot *d = &percpu_depots[cls];
	port_irqflags_t f = depot_lock(c, d);
	size_t loose_n;
	struct percpu_magazine *loose = take_loose(d, &loose_n);
	struct percpu_magazine *full = d->full, *empty = d->empty;
	d->drains++;
	d->full = d->empty = NULL;
	STORE_RELAXED(&d->nfull, (size_t)0);
	d->full_rounds = 0;
	depot_publish(d);
	STORE_RELAXED(&d->nempty, (size_t)0);
	d->low_full = d->low_empty = 0;
	ticket_unlock_irqrestore(&d->lock, f);
	return destroy_lists(c, full, empty) + percpu_mag_destroy(c, loose, loose_n);
}

/* ---- the loose magazine ------------------------------------------------- */

/*
 * Gives the depot a loose magazine: an empty one it holds, else a new one
 * of percpu_loose_cap(cls) rounds (halved while the budget refuses it);
 * false if neither. Under the depot lock: the heap call nests the heap lock
 * inside the class's (no path takes them the other way round).
 */
static bool loose_make(struct percpu_cpu *c, struct percpu_depot *d, unsigned cls)
{
	struct percpu_magazine *m = get_empty(d);
	if (!m) {
		unsigned cap = percpu_loose_cap(cls);
		while (cap >= PERCPU_LOOSE_MIN_ROUNDS &&
		       !percpu_charge(percpu_mag_charge(cls, cap)))
			cap /= 2;
		if (cap < PERCPU_LOOSE_MIN_ROUNDS)
			return false;
		m = shell_new(c, cap);
		if (!m) {
			percpu_uncharge(percpu_mag_charge(cls, cap));
			return false;
		}
		mag_init(m, cls, cap);
	}
	m->next = NULL;
	STORE_RELAXED(&d->loose, m);
	d->loose_n = 0;
	return true;
}

static void loose_add(struct percpu_depot *d, size_t n)
{
	d->loose_n += n;
	d->full_rounds += n;
	depot_publish(d);
}

/* Not published: see depot_bytes_all. */
static void loose_sub(struct percpu_depot *d, size_t n)
{
	d->loose_n -= n;
	d->full_rounds -= n;
}

/*
 * Does d hold nothing: no full magazine, no empty one, no loose one?
 * Relaxed loads outside the lock of fields stored relaxed under it; they
 * order nothing, for no block is reached through them: the answer may be
 * a moment old, which sends one allocation to the heap while another hart
 * puts a magazine here, or takes the lock for nothing.
 */
static bool depot_looks_empty(const struct percpu_depot *d)
{
	return !LOAD_RELAXED(&d->nfull) && !LOAD_RELAXED(&d->nempty) &&
	       !LOAD_RELAXED(&d->loose);
}

/*
 * When the next reap_idle_depots may sweep (port_time_us()), for all harts
 * together. Relaxed CAS: it only picks the one hart that sweeps per
 * interval; the depots' own locks order what the sweep touches.
 */
static uint64_t idle_reap_at;

/*
 * A depot reaps itself when a hart unlocks it (depot_unlock), so one whose
 * class nobody uses any more kept its magazines, and their charge, until an
 * OOM reclaim: four harts that exited left 68% of the 16 MiB heap's budget
 * charged to depots of classes no hart touched again, for 1 KiB floors on
 * 16..1024-byte rounds (//percpu:idle_depot_reap_test). A hart whose new
 * magazine the budget refuses takes and unlocks every depot whose interval
 * has passed, at most once per interval over all harts. True if anything
 * went back. c is this hart, in its slow path, holding no depot lock.
 */
static bool reap_idle_depots(struct percpu_cpu *c)
{
	uint64_t interval = __atomic_load_n(&reap_us, __ATOMIC_RELAXED);
	if (!interval)
		return false;
	uint64_t now = port_time_us();
	uint64_t at = __atomic_load_n(&idle_reap_at, __ATOMIC_RELAXED);
	if (now < at || !__atomic_compare_exchange_n(&idle_reap_at, &at, now + interval, false,
						     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return false;
	bool any = false;
	for (unsigned cls = 0; cls < PERCPU_NCLASSES; cls++) {
		struct percpu_depot *d = &percpu_depots[cls];
		if (depot_looks_empty(d))
			continue;
		struct percpu_magazine *full, *empty;
		depot_unlock(d, depot_lock(c, d), &full, &empty);
		any |= full || empty;
		destroy_lists(c, full, empty);
	}
	return any;
}

/*
 * Refills d's empty loose magazine with a run from the heap (frees never
 * refill it). Called and returning with d locked; f: the flags to restore
 * at its unlock. With PERCPU_LOOSE_REFILL_UNLOCKED (<percpu/config.h>), d
 * is unlocked over the heap call (the flags returned may then differ from
 * those passed in): meanwhile the magazine is out of the depot and
 * loose_refilling sends the other harts to the heap; if a drain ran
 * meanwhile, or another loose magazine took its place, it goes to *back
 * with its rounds (m->held), for the caller to destroy after the unlock.
 */
static port_irqflags_t loose_refill(struct percpu_cpu *c, struct percpu_depot *d, unsigned cls,
				    port_irqflags_t f, struct percpu_magazine **back)
{
#if PERCPU_LOOSE_REFILL_UNLOCKED
	size_t none;
	struct percpu_magazine *m = take_loose(d, &none); /* empty: loose_n is 0 */
	uint64_t drains = d->drains;
	d->loose_refilling = true;
	unlock_and_destroy(c, d, f, NULL, NULL);
#else
	struct percpu_magazine *m = d->loose;
	(void)back;
#endif
	size_t n = kheap_alloc_batch(percpu_class_size[cls], 0, m->rounds, m->cap);
	for (size_t i = 0; i < n; i++) {
		heap_tag_mark_cached(m->rounds[i]);
		poison_block(m->rounds[i]); /* as refill's: checked by the caller */
	}
	STAT_ADD(&cold(c)->refills, 1);
	STAT_ADD(&cold(c)->refill_blocks, n);
#if PERCPU_LOOSE_REFILL_UNLOCKED
	f = depot_lock(c, d);
	d->loose_refilling = false;
	if (d->drains != drains || d->loose) {
		m->held = (uint8_t)n;
		*back = m;
		return f;
	}
	STORE_RELAXED(&d->loose, m);
#endif
	loose_add(d, n);
	return f;
}

void *percpu_depot_alloc(struct percpu_cpu *c, unsigned cls)
{
	struct percpu_depot *d = &percpu_depots[cls];
	struct percpu_magazine *spent = NULL, *back = NULL;
	void *p = NULL;
	/*
	 * A class above PERCPU_LOOSE_MAX_SIZE gets no new loose magazine: it
	 * is served here only from magazines harts left in its depot. With
	 * none there, nothing to hand out and nothing to reap, the heap
	 * serves the allocation without this lock, which every hart that
	 * does not cache the class would otherwise take for each of them
	 * (talc's random actions at max 30000 through kmalloc on 16 MiB, one
	 * hart: 79,230 lock trips of about 200 instructions for none handed
	 * out).
	 */
	if (!percpu_loose_class(cls) && depot_looks_empty(d))
		return NULL;
	port_irqflags_t f = depot_lock(c, d);
	d->loose_used = true;
	if (!d->loose_n) {
		/* A full magazine some hart left is the next loose one. */
		struct percpu_magazine *full = get_full(d);
		if (full) {
			size_t n;
			spent = take_loose(d, &n); /* empty, or NULL */
			STORE_RELAXED(&d->loose, full);
			loose_add(d, full->held);
		} else if (percpu_loose_class(cls) && !d->loose_refilling &&
			   (d->loose || loose_make(c, d, cls))) {
			f = loose_refill(c, d, cls, f, &back);
		} else if (d->loose) {
			/*
			 * A big class's loose magazine, one a hart left, ran
			 * dry: no heap run refills it (see above). It goes,
			 * so the depot looks empty again and the class's next
			 * allocations skip this lock.
			 */
			size_t n;
			spent = take_loose(d, &n);
		}
	}
	if (d->loose_n) {
		p = d->loose->rounds[d->loose_n - 1];
		loose_sub(d, 1);
	}
	/* A big class's spent one is destroyed, not kept: see above. */
	if (spent && percpu_loose_class(cls) && d->nempty < PERCPU_DEPOT_MAX_EMPTY) {
		push(&d->empty, spent);
		STORE_RELAXED(&d->nempty, d->nempty + 1);
		spent = NULL;
	}
	unlock_and_destroy(c, d, f, back, spent);
	if (p) {
		/*
		 * Ours alone now: no other hart reaches it. Its poison is
		 * checked as slot_pop checks a magazine's rounds: a loose
		 * magazine may be a full one another hart's frees filled
		 * (poisoned there), and a write after free into one of its
		 * rounds went unnamed here. After the unlock: a handler may
		 * take its time, or allocate.
		 */
		poison_check(p);
		heap_tag_set_state(p, class_state(cls));
		STAT_ADD(&cold(c)->depot_exchanges, 1);
	}
	return p;
}
