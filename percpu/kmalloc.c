// SPDX-License-Identifier: BSD-2-Clause
/*
 * The kmalloc family: kmalloc's and kfree's fast paths (the hit paths that
 * count_fastpath.sh counts), their slow paths through the magazines, the
 * depot and the heap, and kzalloc, kcalloc, kfree_sized, ksize, krealloc.
 *
 * Reentrancy. Slow paths run with interrupts masked and call only heap
 * functions that call no hooks (the batches, kheap_free), so nothing
 * reclaims this hart's slots under them; and they are "busy" (slow_enter),
 * so a flush request seen while they wait for a lock (port_wait_long calls
 * the kick handler) is left for their own percpu_honour_flush at a point
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
	heap_tag_set_state(p, class_state(cls));
	STAT_ADD(&cold(c)->slow_pops, 1);
	return p;
}

/*
 * Refills magazine m (empty, detached) from the heap and loads it; false if
 * the heap had nothing (m is then given back).
 */
static bool refill(struct percpu_cpu *c, unsigned cls, struct percpu_magazine *m)
{
	size_t n = kheap_alloc_batch(percpu_class_size[cls], 0, m->rounds, m->cap);
	STAT_ADD(&cold(c)->refills, 1);
	STAT_ADD(&cold(c)->refill_blocks, n);
	if (!n) {
		percpu_depot_put_empty(c, cls, m);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		heap_tag_mark_cached(m->rounds[i]);
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
	percpu_honour_flush(c);
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
		struct percpu_magazine *got =
			percpu_depot_get_full(c, cls, loaded ? c->prev[si] : NULL);
		if (got) {
			if (loaded)
				slot_set_prev(c, cls, loaded, 0);
			slot_load(c, cls, got, got->cap);
			STAT_ADD(&cold(c)->mag_in, got->cap);
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
	slow_exit(c);
	port_irq_restore(f);
	return p;
}

/*
 * Caches p (a live block of class cls); false if it must go to the heap (a
 * hart's first free of a class, or no room in the budget). Bonwick's free
 * path: loaded, previous, an empty magazine from the depot for the full
 * previous, a new magazine.
 */
static PERCPU_SLOW bool free_slow(void *p, unsigned cls)
{
	port_irqflags_t f = port_irq_save();
	struct percpu_cpu *c = this_cpu();
	unsigned si = PERCPU_SLOT(cls);
	bool cached = true;

	slow_enter(c);
	slot_touch(c, si);
	STAT_ADD(&cold(c)->slow_frees, 1);
	if (unlikely(!c->seen[si])) {
		c->seen[si] = 1;
		if (!c->base[si] && !c->prev[si]) {
			cached = false; /* See percpu_cpu.seen: the heap takes it. */
			goto out;
		}
	}
	percpu_honour_flush(c);
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
		cached = false;
		goto out;
	}
	slot_load(c, cls, empty, 0);
push:
	*c->top[si] = p;
	STORE_RELAXED(&c->top[si], c->top[si] + 1);
	heap_tag_mark_cached(p);
	STAT_ADD(&cold(c)->slow_pushes, 1);
out:
	slow_exit(c);
	port_irq_restore(f);
	return cached;
}

/* kmalloc's path past the fast path: every size, every mode. */
PERCPU_SLOW void *percpu_kmalloc_slow(size_t size, size_t align, bool must)
{
	percpu_check_ready();
	void *p = NULL;
	if (percpu_mode_ == PERCPU_MAGAZINES && size <= PERCPU_MAX_SMALL &&
	    align <= HEAP_MIN_ALIGN && !(align & (align - 1))) {
		p = alloc_slow(percpu_size_class(size));
		if (p)
			return p;
		/*
		 * Not cached, or no batch: one block of the size asked for,
		 * not the class's, with the reclaim. Its free caches it in the
		 * class its usable size holds (percpu_usable_class).
		 */
	} else {
		port_irqflags_t f = port_irq_save();
		struct percpu_cpu *c = this_cpu();
		slow_enter(c);
		STAT_ADD(&cold(c)->large_allocs, 1);
		slow_exit(c);
		port_irq_restore(f);
	}
	p = must ? kheap_alloc(size, align) : kheap_try_alloc(size, align);
	return p;
}

/*
 * A fast-path miss on a hart with magazines: the slot state `st` names the
 * class (see PERCPU_SLOT), so the request's exact size is not needed.
 */
static PERCPU_SLOW void *kmalloc_miss(unsigned st, bool must)
{
	unsigned cls = (st >> 3) - 2;
	void *p = alloc_slow(cls);
	if (p)
		return p;
	/* The cache could not get a batch: one block, with the reclaim. */
	size_t size = percpu_class_size[cls];
	return must ? kheap_alloc(size, 0) : kheap_try_alloc(size, 0);
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
 * kfree hit: one byte load of the block's state lane: a block handed out by
 * a magazine carries its slot's offset there, anything else (cached, free,
 * straight from the heap, garbage) lands in a slot that never has a
 * magazine; at PERCPU_HARDEN >= 1 the check lane's top bit and the heap's
 * hull must agree too (kfree_filter); push the round, store "cached". Fast
 * frees are not counted: percpu_get_stats derives them from the magazines'
 * block flow.
 *
 * RV64 instruction counts of the hit paths, `riscv64-unknown-elf-objdump -d`
 * of bazel-bin/percpu/_objs/percpu/kmalloc.o after
 * `bazel build --config=riscv //percpu:percpu` (gcc 12, -O2):
 *   kmalloc hit 22, kfree hit 18, pair 40 at PERCPU_HARDEN=0 (before this
 *   layout: 39 + 46 = 85); kfree hit 26, pair 48 at PERCPU_HARDEN=1.
 *   (csrrci+andi / csrs for the interrupt mask are 3 of each.)
 * The QEMU icount benchmark in tools/bench measures them at run time.
 */
static inline __attribute__((always_inline)) void *kmalloc_fast(size_t size, bool must)
{
	size_t idx = (size - 1) >> 4; /* size 0 wraps: the slow path */
	if (likely(idx < (PERCPU_MAX_FAST >> 4))) {
		port_irqflags_t f = port_irq_save();
		struct percpu_cpu *c = port_hart_data();
		if (likely(c != NULL)) {
			unsigned st = c->size_state[idx];
			void *p = magazine_pop(c, st);
			if (likely(p != NULL)) {
				port_irq_restore(f);
				return p;
			}
			port_irq_restore(f);
			/* The class is known: size is not needed (no register kept). */
			return kmalloc_miss(st, must);
		}
		port_irq_restore(f);
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
	if (size && n > (size_t)-1 / size)
		return kheap_calloc(n, size); /* the heap names the overflow */
	return kzalloc(n * size);
}

/*
 * PERCPU_HARDEN >= 1 (<percpu/config.h>): does p look enough like a heap
 * block for the fast path? The check lane's top bit (set in every valid tag)
 * and p inside the heap's hull. A miss only means the slow path decides.
 */
static inline __attribute__((always_inline)) bool kfree_filter(const void *p)
{
#if PERCPU_HARDEN >= 1
	uintptr_t off = (uintptr_t)p - LOAD_RELAXED(&kheap_bounds_.lo);
	/* Each test likely() on its own: GCC does not spread one over an &&. */
	return likely(heap_tag_check_top(p)) &&
	       likely(off < LOAD_RELAXED(&kheap_bounds_.span));
#else
	(void)p;
	return true;
#endif
}

/*
 * A big block (above PERCPU_MAX_FAST) is cached only if the tag behind it
 * still has its check lane's top bit, as the heap's own free would insist:
 * an overflow into the next block is then named at the culprit's kfree, as
 * it was when these sizes went to the heap. While p is live the next tag
 * stays where it is and any tag the heap writes there has the bit, so one
 * racy byte load suffices (a miss only means the heap decides, under its
 * lock). Not under TSan, for which the heap's plain store is a race.
 */
static bool next_tag_plausible(const void *p)
{
#if defined(__SANITIZE_THREAD__)
	(void)p;
	return true;
#else
	size_t usable = heap_block_size(p);
	if (usable <= PERCPU_MAX_FAST)
		return true;
	return heap_tag_check_top((const char *)p + usable + sizeof(uintptr_t));
#endif
}

static PERCPU_SLOW void free_slow_path(void *p)
{
	percpu_check_ready();
	unsigned st = heap_tag_state(p);
	if (st == PERCPU_STATE_OFFSET || st == PERCPU_STATE_OFFSET_FREED) {
		percpu_free_offset(p);
		return;
	}
	/*
	 * Aligned, live and a matching check first: then the size is real.
	 * Hardened: inside the heap too, so a forged tag outside it (even one
	 * with a matching check) reaches the heap, which names it.
	 */
	if (percpu_mode_ == PERCPU_MAGAZINES && heap_tag_plausible_live(p) &&
	    (PERCPU_HARDEN < 1 || kfree_filter(p)) &&
	    (heap_block_size(p) >> 4) < PERCPU_TABLE_ENTRIES &&
	    next_tag_plausible(p)) {
		unsigned cls = percpu_usable_class(heap_block_size(p));
		if (cls < PERCPU_NCLASSES && free_slow(p, cls))
			return;
	} else {
		port_irqflags_t f = port_irq_save();
		struct percpu_cpu *c = this_cpu();
		slow_enter(c);
		STAT_ADD(&cold(c)->large_frees, 1);
		slow_exit(c);
		port_irq_restore(f);
	}
	/* Large, bypass, or not a plausible live block: the heap decides. */
	kheap_free(p);
}

PERCPU_FAST void kfree(void *p)
{
	if (unlikely(!p))
		return;
	unsigned st = heap_tag_state(p);
	if (likely((st & 7) == 0 && kfree_filter(p))) {
		port_irqflags_t f = port_irq_save();
		struct percpu_cpu *c = port_hart_data();
		if (likely(c != NULL) && likely(magazine_push(c, p, st))) {
			port_irq_restore(f);
			return;
		}
		port_irq_restore(f);
	}
	free_slow_path(p);
}

void kfree_sized(void *p, size_t size)
{
	void *b;
	if (p && is_offset(p) && (b = percpu_offset_block(p)) != NULL) {
		size_t off = (size_t)((char *)p - (char *)b);
		if (size > heap_block_size(b) - off) {
			/* The heap names it, for the block and offset + size. */
			kheap_free_sized(b, size > (size_t)-1 - off ? (size_t)-1 : size + off);
			return;
		}
	} else if (p && size > heap_block_size(p) && !heap_tag_is_cached(p)) {
		kheap_free_sized(p, size); /* the heap names the mismatch */
		return;
	}
	kfree(p);
}

size_t ksize(const void *p)
{
	if (!p)
		return 0;
	if (unlikely(is_offset(p))) {
		const void *b = percpu_offset_block(p);
		if (b)
			return heap_block_size(b) - (size_t)((const char *)p - (const char *)b);
	}
	return heap_block_size(p);
}

void *krealloc(void *p, size_t size)
{
	if (!p)
		return kmalloc_try(size);
	if (!size) {
		kfree(p);
		return NULL;
	}
	size_t old = ksize(p);
	/* The heap's try form: NULL on OOM with p untouched, at every size. */
	if (is_offset(p)) {
		if (!percpu_offset_block(p))
			return kheap_try_realloc(p, size); /* the heap names it */
	} else if (heap_tag_is_cached(p) || old > PERCPU_MAX_SMALL) {
		return kheap_try_realloc(p, size); /* misuse or in-place resize */
	}
	if (size <= old && size > old / 2)
		return p;
	void *q = kmalloc_try(size);
	if (!q)
		return NULL;
	memcpy(q, p, size < old ? size : old);
	kfree(p);
	return q;
}
