// SPDX-License-Identifier: BSD-2-Clause
/*
 * The kmalloc family: kmalloc's and kfree's fast paths (the hit paths that
 * count_fastpath.sh counts), their slow paths through the magazines, the
 * depot and the heap, and kzalloc, kcalloc, kfree_sized, ksize, krealloc,
 * krealloc_aligned.
 *
 * Reentrancy. Slow paths run with interrupts masked and call only heap
 * functions that call no hooks (the batches, kheap_free), so nothing
 * reclaims this hart's slots under them; and they are "busy" (slow_enter),
 * so a flush request seen while they wait for a lock (port_wait_long calls
 * the kick handler) is left for their own percpu_answer_flush at a point
 * where the slots are consistent. The reclaim runs only from kheap_alloc &
 * co., which a slow path calls after it has let its slots go.
 */
#include "percpu/percpu_internal.h"

/* ---- slow paths --------------------------------------------------------- */

/*
 * Pops a round of slot si (it has one), marked live as class cls. Interrupts
 * masked.
 */
static void *slot_pop(struct percpu_cpu *c, unsigned cls)
{
	unsigned si = PERCPU_SLOT(cls);
	void *p = c->top[si][-1];
	STORE_RELAXED(&c->top[si], c->top[si] - 1);
	poison_check(p);
	heap_tag_set_state(p, class_state(cls));
	STAT_ADD(&cold(c)->slow_pops, 1);
	return p;
}

/*
 * Refills magazine m (empty, detached) from the heap with the slot's refill
 * count (PERCPU_REFILL_FIRST_ROUNDS, then twice what the last refill got)
 * and loads it; false if the heap had nothing (m is then given back). A
 * refill the heap could not fill (it is nearly out) does not grow the next
 * one: a cache should not grow fastest when the heap has least.
 */
static bool refill(struct percpu_cpu *c, unsigned cls, struct percpu_magazine *m)
{
	unsigned si = PERCPU_SLOT(cls);
	size_t cap = m->cap, want = c->refill_rounds[si];
	if (!want)
		want = PERCPU_REFILL_FIRST_ROUNDS;
	if (want > cap)
		want = cap;
	size_t n = kheap_alloc_batch(percpu_class_size[cls], 0, m->rounds, want);
	c->refill_rounds[si] = (uint8_t)(2 * n < cap ? 2 * n : cap);
	STAT_ADD(&cold(c)->refills, 1);
	STAT_ADD(&cold(c)->refill_blocks, n);
	if (!n) {
		percpu_depot_put_empty(c, cls, m);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		heap_tag_mark_cached(m->rounds[i]);
		poison_block(m->rounds[i]);
	}
	slot_load(c, cls, m, n);
	STAT_ADD(&cold(c)->mag_in, n);
	return true;
}

/*
 * A block from the class cache, or NULL (the class has no room in the
 * budget, or the heap has no batch); the heap's hooks are not called.
 * Bonwick's allocation path: loaded, previous, a full magazine from the
 * depot, a refill from the heap.
 */
static PERCPU_SLOW void *alloc_slow(unsigned cls)
{
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	unsigned si = PERCPU_SLOT(cls);
	void *p = NULL;

	slow_enter(c);
	c->seen[si] = 1;
	slot_touch(c, si);
	STAT_ADD(&cold(c)->slow_allocs, 1);
	percpu_answer_flush(c);
	if (c->base[si] && c->top[si] != c->base[si]) {
		p = slot_pop(c, cls);
	} else if (slot_prev_full(c, si)) {
		slot_swap(c, cls);
		STAT_ADD(&cold(c)->swaps, 1);
		p = slot_pop(c, cls);
	} else {
		/*
		 * Loaded empty or absent, previous empty or absent: a full
		 * magazine from the depot, which takes the empty previous in
		 * exchange when there is a loaded one to become the previous.
		 */
		struct percpu_magazine *loaded = slot_loaded(c, si);
		struct percpu_magazine *got = NULL;
		if (!loaded && !c->prev[si] && percpu_class_uncached(cls)) {
			/* Not cached at this share: a round from the depot. */
			p = percpu_depot_alloc(c, cls);
			goto out;
		}
		/*
		 * The empty previous leaves its slot before the depot may take
		 * it (and another hart free it): the slot's charge is read from
		 * the magazine going out. It comes back if the depot has none.
		 */
		struct percpu_magazine *empty = loaded ? c->prev[si] : NULL;
		if (empty)
			slot_set_prev(c, cls, NULL, 0);
		got = percpu_depot_get_full(c, cls, empty);
		if (!got && empty)
			slot_set_prev(c, cls, empty, 0);
		if (got) {
			if (loaded)
				slot_set_prev(c, cls, loaded, 0);
			slot_load(c, cls, got, got->held);
			STAT_ADD(&cold(c)->mag_in, got->held);
			p = slot_pop(c, cls);
		} else {
			/* No full magazine anywhere: refill one from the heap. */
			struct percpu_magazine *m = loaded;
			slot_load(c, cls, NULL, 0); /* detached over heap calls */
			if (!m)
				m = percpu_depot_put_full(c, cls, NULL); /* an empty one */
			if (!m)
				m = percpu_mag_create(c, cls);
			if (m && refill(c, cls, m))
				p = slot_pop(c, cls);
		}
	}
out:
	slow_exit(c);
	port_irq_restore(f);
	return p;
}

/*
 * At PERCPU_HARDEN >= 2, claims p (a live block) for a free that hands it
 * to the heap, as a free that caches it does, before the free is counted:
 * false if another free of p won (the caller names this one and leaves p
 * alone), else *was is the live state the claim replaced, for
 * kheap_free_claimed. Counted first and claimed by kheap_free after, both
 * of two racing frees were counted though one was named a double free
 * (//percpu:race_books_test). Below level 2 nothing claims: true.
 */
static inline bool claim_for_heap(void *p, unsigned *was)
{
#if PERCPU_HARDEN >= 2
	return heap_tag_claim(p, HEAP_CLAIM_ANY_LIVE, HEAP_STATE_CACHED, was);
#else
	(void)p;
	*was = 0;
	return true;
#endif
}

/*
 * Caches p (a live block of class cls): PERCPU_FREE_CACHED; or
 * PERCPU_FREE_HEAP if it must go to the heap (a hart's first free of a
 * class, or no room in the budget), claimed (claim_for_heap, *was); or
 * PERCPU_FREE_LOST (PERCPU_HARDEN >= 2) if another free of p won the
 * claim: the caller names it and leaves p alone. Bonwick's free path:
 * loaded, previous, an empty magazine from the depot for the full
 * previous, a new magazine.
 */
static PERCPU_SLOW enum percpu_free_result free_slow(void *p, unsigned cls, unsigned *was)
{
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	unsigned si = PERCPU_SLOT(cls);
	enum percpu_free_result r = PERCPU_FREE_CACHED;

	slow_enter(c);
	slot_touch(c, si);
	STAT_ADD(&cold(c)->slow_frees, 1);
	if (unlikely(!c->seen[si])) {
		c->seen[si] = 1;
		if (!c->base[si] && !c->prev[si]) {
			r = PERCPU_FREE_HEAP; /* See percpu_cpu.seen: the heap takes it. */
			goto out;
		}
	}
	percpu_answer_flush(c);
	if (heap_tag_prev_free(p) || (!c->base[si] && !c->prev[si] && percpu_class_uncached(cls))) {
		/*
		 * Next to a free block, or not cached at this share: the heap,
		 * where the block merges with its free neighbours at once.
		 *
		 * Next to a free block: cached, it would be handed out again
		 * where it lies, a small live island in a hole that could have
		 * merged, pinned for the new block's whole life however small
		 * the cache. Such islands piled up in the live set: the 4-hart
		 * stress at fill 60% ran out of 104-119 KB blocks in 3 seeds of
		 * 44 (7 MB free in 1,295 holes; the smallest largest free block
		 * 85-690 KiB). With this test: 0.52-1.47 MB over the same seeds
		 * (//tests:qemu_smp_4_fill60_test), lock-free calls and
		 * heap-lock acquisitions as before. The same test on the hit
		 * path too gave 0.9-2.1 MB (no magazines at all: 1.5-2.2 MB),
		 * but cost one instruction per hit pair and 3 points of
		 * lock-free calls (62% -> 59%) at the default job.
		 *
		 * Not cached: the depot's loose magazine serves allocations
		 * only: rounds that frees put back there were handed out again
		 * where they lay, and those islands cost the 16-hart stress its
		 * 128 KiB holes (see PERCPU_LOOSE_DIV).
		 */
		r = PERCPU_FREE_HEAP;
		goto out;
	}
	if (c->base[si] && c->top[si] != c->limit[si])
		goto push;
	if (slot_prev_empty(c, si)) {
		slot_swap(c, cls); /* loaded full or absent, previous empty */
		STAT_ADD(&cold(c)->swaps, 1);
		goto push;
	}
	/*
	 * Loaded full or absent, previous full or absent. A loaded full one
	 * becomes the previous; the full previous it replaces goes to the
	 * depot, which gives an empty magazine back if it has one.
	 */
	struct percpu_magazine *loaded = slot_loaded(c, si), *full = NULL;
	if (loaded) {
		full = c->prev[si];
		STAT_ADD(&cold(c)->mag_out, full ? full->cap : 0);
		slot_set_prev(c, cls, loaded, loaded->cap);
		slot_load(c, cls, NULL, 0);
	}
	struct percpu_magazine *empty = percpu_depot_put_full(c, cls, full);
	if (!empty)
		empty = percpu_mag_create(c, cls);
	if (!empty) {
		r = PERCPU_FREE_HEAP;
		goto out;
	}
	slot_load(c, cls, empty, 0);
push:
	if (!state_claim(p, HEAP_CLAIM_ANY_LIVE)) {
		r = PERCPU_FREE_LOST;
		goto out;
	}
	poison_block(p);
	*c->top[si] = p;
	STORE_RELAXED(&c->top[si], c->top[si] + 1);
	STAT_ADD(&cold(c)->slow_pushes, 1);
out:
	if (r == PERCPU_FREE_HEAP && !claim_for_heap(p, was))
		r = PERCPU_FREE_LOST;
	if (r == PERCPU_FREE_LOST) /* another freer won: this free took nothing back */
		STAT_ADD(&cold(c)->slow_frees, (uint64_t)-1);
	slow_exit(c);
	port_irq_restore(f);
	return r;
}

/*
 * Counts an allocation (alloc) or a free that goes to the heap as it is (a
 * large request, a class only the heap serves, bypass mode), on this hart's
 * cold stats, which only the hart writes, inside slow_enter. It answers no
 * flush request: the kick does (an IPI on RISC-V; on the host, the thread's
 * next fast free or slow path), and a requester waits at most the flush
 * wait. A test of flush_pending here cost bypass mode 4 instructions a call.
 */
static PERCPU_SLOW void count_large(bool alloc)
{
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	slow_enter(c);
	uint64_t *n = alloc ? &cold(c)->large_allocs : &cold(c)->large_frees;
	STAT_ADD(n, 1);
	slow_exit(c);
	port_irq_restore(f);
}

/*
 * The call the kernel made, for the heap's OOM panic and misuse reports:
 * only kmalloc_aligned and kmalloc_aligned_try ask for an alignment here.
 */
static inline const char *entry_name(size_t align, bool must)
{
	if (align)
		return must ? "kmalloc_aligned" : "kmalloc_aligned_try";
	return must ? "kmalloc" : "kmalloc_try";
}

/*
 * A class request alloc_slow (which counts it on entry) could not serve:
 * one block of the size asked for from the heap, with the reclaim. If the
 * heap has none either (a _try form's NULL), nothing was handed out and the
 * count is taken back: allocs - frees is the blocks the caller holds.
 */
static PERCPU_SLOW void *class_from_heap(size_t size, size_t align, bool must)
{
	void *p = kheap_alloc_named(size, align, must, entry_name(align, must));
	if (likely(p != NULL))
		return p;
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	slow_enter(c);
	STAT_ADD(&cold(c)->slow_allocs, (uint64_t)-1);
	slow_exit(c);
	port_irq_restore(f);
	return NULL;
}

/* kmalloc's path past the fast path: every size, every mode. */
PERCPU_SLOW void *percpu_kmalloc_slow(size_t size, size_t align, bool must)
{
	percpu_check_ready();
	if (percpu_mode_ == PERCPU_MAGAZINES && size <= PERCPU_MAX_SMALL &&
	    align <= HEAP_MIN_ALIGN && !(align & (align - 1)) &&
	    !percpu_class_heap_only[percpu_size_class(size)]) {
		void *p = alloc_slow(percpu_size_class(size));
		if (p)
			return p;
		/*
		 * Not cached, or no batch: one block of the size asked for,
		 * not the class's, with the reclaim. Its free gives it back to
		 * the heap unless it is a class's size (percpu_usable_class).
		 */
		return class_from_heap(size, align, must);
	}
	/*
	 * Large, aligned, bypass, or a class no magazine ever holds:
	 * alloc_slow would only have found the heap, after its masking and
	 * bookkeeping (random actions at max 30000, kernel heap, 1 hart:
	 * 714 -> 649 allocator instructions per operation). Counted once the
	 * heap gave it: a _try form's NULL handed nothing out.
	 */
	void *p = kheap_alloc_named(size, align, must, entry_name(align, must));
	if (p)
		count_large(true);
	return p;
}

/*
 * A fast-path miss: the slot state `st` names the class (see PERCPU_SLOT);
 * a hart with no record yet, or a size in a class only the heap serves (st
 * PERCPU_STATE_IDLE, see percpu_cpu_init), takes the full slow path. It
 * takes the size index, not the size, so the hit path need not keep the
 * size alive (one instruction of the hit pair): the request rounded up to
 * 16, (idx + 1) << 4, is in the same class.
 */
static PERCPU_SLOW void *kmalloc_miss(unsigned st, size_t idx, bool must)
{
	size_t size = (idx + 1) << 4;
	if (unlikely(st == PERCPU_STATE_IDLE)) /* no record yet, or heap-only */
		return percpu_kmalloc_slow(size, 0, must);
	void *p = alloc_slow((st >> 3) - 2);
	if (p)
		return p;
	/*
	 * Not cached, or no batch: one block of the size asked for (rounded
	 * up to 16), as percpu_kmalloc_slow's, not the class's. With the class
	 * size, an uncached 5 KiB class took 5120 bytes for every 4097: talc's
	 * efficiency test through the magazines (`bazel run -c opt
	 * //tools/bench:heap_efficiency`) fell from mag32 96.79% to 96.63%;
	 * rounded, 96.70% (mag16 95.74% -> 95.89%). The exact size would cost
	 * the hit path an instruction.
	 */
	return class_from_heap(size, 0, must);
}

/* ---- the public API ------------------------------------------------------ */

/*
 * The fast paths. Each touches only this hart's data (its struct percpu_cpu
 * and its magazine) and the block's own tag lanes: no lock, no atomic
 * read-modify-write, no function call.
 *
 * kmalloc hit: size -> slot offset with one byte load from the hart's own
 * table, interrupts masked, pop a round (an empty magazine pops NULL: the
 * word below its rounds), store the slot's state (its class) in the
 * block's state lane, count the hit.
 *
 * kfree hit: at PERCPU_HARDEN >= 1 first p against the heap's filter
 * (kheap_bounds_), before any load through p (kfree_range); then one byte load of the block's state
 * lane: a block handed out by a magazine carries its slot's offset there,
 * anything else (cached, free, straight from the heap, garbage) lands in a
 * slot that never has a magazine; at PERCPU_HARDEN >= 2 the check lane's top
 * bit too (kfree_filter) and an atomic claim of the state lane; push the
 * round, store "cached". Fast frees are not counted: percpu_get_stats
 * derives them from the magazines' block flow.
 *
 * Their instruction count is a test: //percpu:hit_pair_budget_test.
 */
static inline __attribute__((always_inline)) void *kmalloc_fast(size_t size, bool must)
{
	size_t idx = (size - 1) >> 4; /* size 0 wraps: the slow path */
	if (likely(idx < (PERCPU_MAX_FAST >> 4))) {
		port_irqflags_t f = port_irq_save_brief();
		struct percpu_cpu *c = port_hart_data();
		if (likely(hart_data_ok(c))) {
			unsigned st = c->size_state[idx];
			void *p = magazine_pop(c, st);
			if (likely(p != NULL)) {
				port_irq_restore_brief(f);
				return p;
			}
			port_irq_restore_brief(f);
			return kmalloc_miss(st, idx, must);
		}
		port_irq_restore_brief(f);
	}
	return percpu_kmalloc_slow(size, 0, must);
}

PERCPU_FAST void *kmalloc(size_t size)
{
	return kmalloc_fast(size, true);
}

PERCPU_FAST void *kmalloc_try(size_t size)
{
	return kmalloc_fast(size, false);
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);
	if (p) /* NULL if a misuse handler returned */
		memset(p, 0, size);
	return p;
}

void *kcalloc(size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size) {
		kheap_report_misuse(HEAP_ERR_SIZE_OVERFLOW, NULL, size, "kcalloc");
		return NULL; /* a misuse handler returned */
	}
	return kzalloc(n * size);
}

/*
 * kfree's first test, before any load through p. PERCPU_HARDEN >= 1
 * (<percpu/config.h>): p inside the heap's filter (NULL is outside), so a
 * wild pointer is never dereferenced; level 0: p not NULL. A block of a
 * region outside the filter takes the same hit in free_slow_path, after
 * kheap_in_regions.
 */
static inline __attribute__((always_inline)) bool kfree_range(const void *p)
{
#if PERCPU_HARDEN >= 1
	return percpu_in_hull(p);
#else
	return p != NULL;
#endif
}

/*
 * PERCPU_HARDEN >= 2: the check lane's top bit, set in every valid tag, is
 * loaded after the state byte says "a class". A miss only means the slow
 * path decides.
 */
static inline __attribute__((always_inline)) bool kfree_filter(const void *p)
{
	return PERCPU_HARDEN < 2 || heap_tag_check_top(p);
}

/*
 * At PERCPU_HARDEN >= 2 a free that kfree counts goes to the heap claimed
 * (claim_for_heap, kheap_free_claimed): of a hart freeing p to the heap and
 * another caching it, or freeing it to the heap, at the same moment only
 * the one that won the claim counts it and the other is named at once.
 * What the heap is to name, or krealloc's move of a block it then frees,
 * is kheap_free's, which at HEAP_HARDENING >= 2 claims the block itself
 * (see claim() in heap/kheap.c). (PERCPU_HARDEN is HEAP_HARDENING but for
 * harden0_test's lower percpu.)
 */
#if PERCPU_HARDEN >= 2 && HEAP_HARDENING < 2
#error "PERCPU_HARDEN >= 2 relies on the heap's claim: HEAP_HARDENING >= 2"
#endif
static void free_to_heap(void *p)
{
	kheap_free(p);
}

/* A free that lost the claim race: the winner has p, this one is named. */
PERCPU_COLD void percpu_free_lost(void *p)
{
	kheap_report_misuse(HEAP_ERR_DOUBLE_FREE, p, 0, "kfree");
}

#if PERCPU_HARDEN >= 2
/* A block handed out of a magazine had a word that is not the poison. */
PERCPU_COLD void percpu_poison_damaged(void *p)
{
	size_t usable = heap_block_size(p);
	kheap_report_misuse(HEAP_ERR_WRITE_AFTER_FREE, p, usable, "kmalloc");
	poison_block(p); /* reported once; the block is handed out as it is */
}
#endif

#ifdef PERCPU_TEST_FREE_WINDOW
/*
 * Test builds only (//percpu:race_double_free_test): called where a timer
 * interrupt could free p again, between the state load and the mask.
 */
void percpu_test_free_window(void *p);
#endif

/*
 * kfree's hit path past its range test: p's state byte names a class (and
 * at PERCPU_HARDEN >= 2 the check bit is set): into this hart's magazine.
 * True if cached, or a lost race named; false leaves p to free_slow_path.
 */
static inline __attribute__((always_inline)) bool kfree_hit_in_range(void *p)
{
	unsigned st = heap_tag_state(p);
	if (likely((st & 7) == 0) && likely(kfree_filter(p))) {
#ifdef PERCPU_TEST_FREE_WINDOW
		percpu_test_free_window(p);
#endif
		if (likely(hit_push(p, st, st)))
			return true;
	}
	return false;
}

/*
 * Will the heap take back p, a plausible live block of `usable` bytes, if
 * the free hands it there? Not with the tag above it damaged (an overflow
 * into it: "corrupted tag", as the heap's lookup checks it: A and P, the
 * check of its size) or at HEAP_HARDENING >= 2 its canary ("buffer
 * overflow (canary)"): the heap names the block and leaves it allocated,
 * so if the misuse handler returns the caller still holds it, and counting
 * the free put allocs - frees one below the blocks held
 * (//percpu:canary_books_test, next_tag_books_test); caching it hid the
 * overflow. Both are loaded only where they lie in a region: the size of a
 * tag whose check matches is not proof enough for a load that far. The tag
 * above with one relaxed load: while p is live the heap rewrites it only
 * whole (one word, under its lock) or its flags byte, and its owner the
 * state byte, none of which a sound tag fails on. Not under TSan, for
 * which the heap's plain stores are a race (next_tag_plausible).
 */
static bool heap_takes_back(const void *p, size_t usable)
{
	const heap_tag_t *above = (const heap_tag_t *)((const char *)p + usable + HEAP_CANARY_BYTES);
	if (!percpu_in_heap(above) || !heap_canary_ok(p))
		return false;
#if PERCPU_TSAN
	return true;
#else
	uintptr_t t = LOAD_RELAXED(above);
	return (t & ~(uintptr_t)HEAP_TAG_ALLOC & 0xffu) == 0 &&
	       (uint16_t)(t >> HEAP_TAG_CHECK_SHIFT) ==
		       heap_tag_check_of((uintptr_t)above, (uint32_t)(t >> HEAP_TAG_SIZE_SHIFT),
					 (unsigned)(t & HEAP_TAG_ALLOC));
#endif
}

/*
 * p (the block behind q, or q NULL) to the heap, uncounted: kheap_free
 * names what it does not take back. q: an offset pointer into p whose tag
 * the caller turned freed; live again, it is the pointer freed, so a free
 * the heap refuses leaves q (and p) their owner's (kheap's offset_unfree).
 * kfree(p) there left q's tag freed over a live p: the owner's next
 * kfree(q) was named a double free, and p leaked
 * (//percpu:aligned_damaged_test).
 */
static void offset_to_heap(void *p, void *q)
{
	if (q) {
		heap_tag_set_state(q, PERCPU_STATE_OFFSET); /* ours: the caller claimed it */
		p = q;
	}
	free_to_heap(p);
}

/*
 * p (and q, as offset_to_heap's), a free counted and claimed by
 * claim_for_heap (its state was `was`), to the heap.
 */
static void counted_to_heap(void *p, unsigned was, void *q)
{
#if PERCPU_HARDEN >= 2
	kheap_free_claimed(p, was, q ? (size_t)((char *)q - (char *)p) : 0);
#else
	(void)was;
	offset_to_heap(p, q);
#endif
}

/* p (and q, as offset_to_heap's), large or bypass: claimed, counted, to the heap. */
static void large_to_heap(void *p, void *q)
{
	unsigned was;
	if (!claim_for_heap(p, &was)) {
		percpu_free_lost(p);
		return;
	}
	count_large(false);
	counted_to_heap(p, was, q);
}

/*
 * kfree's slow path for p, a pointer into a region that is no offset
 * pointer (q NULL), or the block behind the offset pointer q, whose tag
 * the caller turned freed: p cached, or counted and to the heap (large,
 * bypass, no room), or a free that lost the claim race named; or, a
 * damaged block or not a plausible live block, uncounted to the heap,
 * which names it.
 */
static inline __attribute__((always_inline)) void free_past_hit(void *p, void *q)
{
	/*
	 * Aligned, live and a matching check first: then the size is real.
	 * (p is inside a region: a forged tag outside them, even one with a
	 * matching check, went to the heap above.)
	 */
	size_t usable;
	if (percpu_mode_ == PERCPU_MAGAZINES && cacheable_size(p, &usable)) {
		unsigned cls = percpu_usable_class(usable);
		/*
		 * A block the heap will not take back is neither cached nor
		 * counted: the heap names it. A block of no class's size (a
		 * heap block sized to its request, or grown in place) or of
		 * a class only the heap serves goes there as a large block
		 * does.
		 */
		if (!heap_takes_back(p, usable)) {
			/* the heap names it */
		} else if (cls >= PERCPU_NCLASSES || percpu_class_heap_only[cls]) {
			large_to_heap(p, q);
			return;
		} else {
			unsigned was;
			enum percpu_free_result r = free_slow(p, cls, &was);
			if (r == PERCPU_FREE_LOST)
				percpu_free_lost(p);
			else if (r == PERCPU_FREE_HEAP)
				counted_to_heap(p, was, q);
			return;
		}
	} else if (heap_tag_plausible_live(p) && heap_takes_back(p, heap_block_size(p))) {
		/*
		 * Only a block the heap will take back counts as a free: a
		 * freed one (a double free, the heap's or a magazine's tag)
		 * or one with a broken canary is named there, and if a
		 * handler returns nothing came back, so allocs - frees stays
		 * the blocks the caller holds.
		 */
		large_to_heap(p, q);
		return;
	}
	offset_to_heap(p, q);
}

/* kfree past its hit path. */
static PERCPU_SLOW void free_slow_path(void *p)
{
	if (!p)
		return;
	percpu_check_ready();
	if (!percpu_in_hull(p)) {
		if (!kheap_in_regions(p)) {
			kheap_free(p); /* no load through p: the heap names it */
			return;
		}
#if PERCPU_HARDEN >= 1
		/* A block of a region outside the filter: its hit path now. */
		if (kfree_hit_in_range(p))
			return;
#endif
	}
#if PERCPU_HARDEN >= 2
	/* Relaxed: the word may be a live tag another hart claims by CAS. */
	if (((uintptr_t)p & 7) == 0 &&
	    __atomic_load_n((const percpu_pword_t *)p - 1, __ATOMIC_RELAXED) == PERCPU_POISON) {
		/* p points into a poisoned (freed, cached) block. */
		kheap_report_misuse(HEAP_ERR_DOUBLE_FREE, p, 0, "kfree");
		return;
	}
#endif
	unsigned st = heap_tag_state(p);
	if (st == PERCPU_STATE_OFFSET || st == PERCPU_STATE_OFFSET_FREED) {
		percpu_free_offset(p, st);
		return;
	}
	/* A class block, large, bypass, or not a plausible live block. */
	free_past_hit(p, NULL);
}

/*
 * kfree's work on b, the live block behind the offset pointer q whose tag
 * the caller has just turned freed (percpu_free_offset, at level 2 by its
 * claim): b cached, or to the heap, where a free that fails (the tag above
 * b or b's canary damaged) leaves b allocated and q's tag live, the
 * owner's (offset_to_heap).
 */
PERCPU_SLOW void percpu_free_offset_block(void *b, void *q)
{
	if (!kfree_hit_in_range(b))
		free_past_hit(b, q);
}

PERCPU_FAST void kfree(void *p)
{
	if (likely(kfree_range(p)) && likely(kfree_hit_in_range(p)))
		return; /* cached, or a lost race named */
	free_slow_path(p);
}

void kfree_sized(void *p, size_t size)
{
	void *b;
	if (p && !percpu_in_heap(p)) {
		kfree(p); /* no load through p: the heap names it */
		return;
	}
	if (p && is_offset(p) && (b = percpu_offset_block(p)) != NULL) {
		size_t off = (size_t)((char *)p - (char *)b);
		if (size > heap_block_size(b) - off) {
			/* The heap names it, for the block and offset + size. */
			kheap_free_sized(b, size > (size_t)-1 - off ? (size_t)-1 : size + off);
			return;
		}
	} else if (p && !((uintptr_t)p & (HEAP_MIN_ALIGN - 1)) && size > heap_block_size(p) &&
		   !heap_tag_is_cached(p)) {
		/*
		 * Only an aligned p has a size lane to read: below a misaligned
		 * one (an interior pointer, which kfree names) it is a
		 * misaligned load, a trap on harts that do not emulate it.
		 */
		kheap_free_sized(p, size); /* the heap names the mismatch */
		return;
	}
	kfree(p);
}

size_t ksize(const void *p)
{
	if (!p)
		return 0;
	if (!percpu_in_heap(p))
		return kheap_usable_size((void *)(uintptr_t)p); /* the heap names it */
	if (unlikely(is_offset(p))) {
		const void *b = percpu_offset_block(p);
		if (b)
			return heap_block_size(b) - (size_t)((const char *)p - (const char *)b);
	}
	/*
	 * Only a live tag that checks out is read for its size. A freed block
	 * (cached, or back in the heap) is named as kfree names it; anything
	 * else (an interior pointer, whose "tag" is the caller's bytes) goes
	 * to the heap, which names it.
	 */
	if (likely(heap_tag_plausible_live(p)))
		return heap_block_size(p);
	if (heap_tag_plausible_dead(p)) {
		kheap_report_misuse(HEAP_ERR_DOUBLE_FREE, (void *)(uintptr_t)p, 0, "ksize");
		return 0;
	}
	return kheap_usable_size((void *)(uintptr_t)p);
}

/*
 * krealloc's moves between classes: the big classes' hit paths first (the
 * shim's malloc and free take them; kmalloc_try and kfree send every block
 * above PERCPU_MAX_FAST to their slow paths), so a move to or from a block
 * of 5..32 KiB takes no slow path while the magazine has a round or room.
 * On talc's random actions at max 30000 (alloc_bench's loop, under the
 * shim) the hit rates went from 74% / 82% (allocs / frees) to 84% / 91%
 * and the throughput up 2%; //tools/shim:shim_cases_test's bigrealloc
 * case, reallocs alone, from none to 78%.
 */
static inline void *class_alloc_try(size_t size)
{
	void *q = size > PERCPU_MAX_FAST ? kmalloc_big_hit(size) : NULL;
	return q ? q : kmalloc_try(size);
}

/* p: a class block inside a region (krealloc checked both). */
static inline void class_free(void *p)
{
	uintptr_t lo = LOAD_RELAXED(&kheap_bounds_.lo), span = LOAD_RELAXED(&kheap_bounds_.span);
	if (!kfree_big_hit(p, lo, span))
		kfree(p);
}

/*
 * krealloc's and krealloc_aligned's sorting of a non-NULL p: true for a
 * class block (offset-tagged or not) that they resize here, with its usable
 * bytes in *old; false for one the heap's try form takes, NULL on OOM with
 * p untouched: outside the regions, a dead offset tag, a cached block (misuse
 * the heap names) or a block past the classes (resized in place there).
 */
static inline bool class_realloc(void *p, size_t *old)
{
	if (!percpu_in_heap(p))
		return false;
	if (is_offset(p)) {
		const char *b = percpu_offset_block(p);
		if (!b)
			return false; /* a dead offset tag: a double free */
		*old = heap_block_size(b) - (size_t)((const char *)p - b);
		return true;
	}
	/*
	 * A live tag that checks out, as krealloc_hit asks: the bytes below an
	 * interior pointer, or a freed block's tag, were read as a block here
	 * and the pointer kept or copied from, with no report.
	 */
	if (!heap_tag_plausible_live(p))
		return false;
	*old = heap_block_size(p);
	return *old <= PERCPU_MAX_SMALL;
}

void *krealloc(void *p, size_t size)
{
	size_t old;

	if (!p)
		return kmalloc_try(size);
	if (!size) {
		kfree(p);
		return NULL;
	}
	if (!class_realloc(p, &old))
		return kheap_try_realloc(p, size);
	/*
	 * A shrink stays when a move would land in the same class, or when
	 * the request still fills half the block (tcmalloc's hysteresis): half
	 * of talc's random reallocs shrink, and moving every one that changed
	 * class copied a third more bytes than tcmalloc did. Keeping them cost
	 * talc's heap-efficiency workload through the magazines 0.08 of a
	 * point (mag32 96.70% -> 96.62%, `bazel run -c opt
	 * //tools/bench:heap_efficiency`) and gave 3% on random actions at
	 * max 3000 and 30000 (alloc_bench's loop, one max at a time).
	 */
	if (class_realloc_keeps(p, old, size))
		return p;
	/*
	 * Past the classes the new block is the heap's, and so is the old one
	 * once copied: it goes back to the heap, where it merges, not to a
	 * magazine, where it was a hole pinned among live blocks. talc's
	 * heap-efficiency workload through kmalloc (40% reallocs, two thirds
	 * of them past 32 KiB) filled a 32 MiB heap to 96.27% with the old
	 * block cached, 96.75% this way (`bazel run -c opt
	 * //tools/bench:heap_efficiency`); kheap_try_realloc, which can also
	 * grow in place, gave 96.77% and no speed (alloc_bench -w random
	 * -m 30000, 1 and 2 threads, 6 alternating runs: within 3%).
	 */
	bool to_heap = size > PERCPU_MAX_SMALL && !is_offset(p);
	void *q = to_heap ? kheap_try_alloc(size, 0) : class_alloc_try(size);
	if (!q)
		return NULL; /* p untouched */
	memcpy(q, p, size < old ? size : old);
	if (to_heap)
		free_to_heap(p);
	else
		class_free(p);
	return q;
}

/*
 * krealloc keeping an alignment, as Rust's GlobalAlloc::realloc must. A
 * block past the classes is the heap's to resize, in place when it can; a
 * class block (offset-tagged or not) stays when it is aligned and the
 * request still fills half of it (krealloc's hysteresis), else it moves to
 * a kmalloc_aligned_try block. Misuse is named where krealloc names it; a
 * bad alignment here, for krealloc_aligned and p.
 */
void *krealloc_aligned(void *p, size_t size, size_t align)
{
	size_t old;

	if (align & (align - 1))
		return percpu_bad_align(p, size, "krealloc_aligned"); /* p untouched */
	if (align <= HEAP_MIN_ALIGN)
		return krealloc(p, size);
	if (!p)
		return kmalloc_aligned_try(size, align);
	if (!size) {
		kfree(p);
		return NULL;
	}
	if (!class_realloc(p, &old))
		return kheap_try_realloc_aligned(p, size, align);
	if (kheap_realloc_keeps(p, old, size, align))
		return p;
	void *q = kmalloc_aligned_try(size, align);
	if (!q)
		return NULL; /* p untouched */
	memcpy(q, p, size < old ? size : old);
	kfree(p);
	return q;
}
