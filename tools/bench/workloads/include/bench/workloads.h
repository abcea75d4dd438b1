// SPDX-License-Identifier: BSD-2-Clause
/*
 * The benchmark workloads' per-thread (per-hart) loops, written once:
 * talc's random actions, the hit pair, the producer/consumer ring and a
 * larson round. //tools/bench:alloc_bench (host threads, LD_PRELOAD),
 * //tools/bench/qemu:bench_kernel (QEMU harts) and //heap:bench (random
 * actions) call them with their own allocator (struct bench_allocator) and
 * RNG state; threading, timing, waiting and reporting stay in each harness.
 *
 * Freestanding and header-only: <stddef.h>, <stdint.h>, <stdbool.h> and
 * <stdatomic.h> (the compiler's, not libc's), so the riscv kernel build
 * (-ffreestanding -nostdlib) takes it as the host builds do. Every function
 * is always inlined: a harness passes the address of a static const
 * allocator, so the compiler resolves the calls to its functions and the
 * loop costs what it cost when each harness wrote it out (bench_kernel
 * counts the harness's instructions; its mode=null subtracts them).
 *
 * Where the harnesses drew their random numbers in different orders, the
 * flags keep each order, so a seed gives the operation sequence it gave
 * before this file existed.
 */
#ifndef BENCH_WORKLOADS_H
#define BENCH_WORKLOADS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bench/talc.h>

#define BENCH_INLINE static inline __attribute__((always_inline))
#define BENCH_CACHE_LINE 64

/*
 * The allocator under test. align is a power of two, or 0 for "no
 * alignment asked" (malloc's, kmalloc's: the hit pair measures that call).
 * realloc gets the block's old size and, with TALC_KEEP_ALIGN, the alignment
 * it was allocated at (//heap:bench moves an over-aligned block by hand, as
 * Rust's realloc), else 0.
 */
struct bench_allocator {
	void *(*alloc)(void *ctx, size_t size, size_t align);
	void (*free)(void *ctx, void *p);
	void *(*realloc)(void *ctx, void *p, size_t old, size_t size, size_t align);
	void *ctx;
};

/* What a harness asks of the blocks besides allocating them. */
enum bench_flags {
	/* Write a tag into each new block's first and last byte (through a
	 * volatile pointer, so the stores stay): the block is touched. */
	BENCH_TOUCH = 1u << 0,
	/* Touch and, before a realloc or free, check the tag in the first
	 * byte (and the last, where the size is known). */
	BENCH_CHECK = 1u << 1 | BENCH_TOUCH,
	/* Random actions, bench_kernel's order and bounds: the size and
	 * alignment are drawn for every action before it is carried out; the
	 * live set is bounded by its capacity and its byte budget: over
	 * either, an alloc frees instead and a realloc does not grow; a
	 * realloc with nothing live allocates. Without it (alloc_bench,
	 * //heap:bench, as talc): each draw is made by the action that needs
	 * it, a realloc with nothing live is skipped, an alloc at capacity
	 * grows the set (talc_live.grow) or else frees. */
	TALC_BOUNDED = 1u << 2,
	/* Random actions: a realloc's new size is rand(1..3 max), talc's
	 * random_actions (//heap:bench); else talc_size(max). */
	TALC_REALLOC_WIDE = 1u << 3,
	/* Random actions: keep each block's alignment (talc_live.align) and
	 * give it to realloc (//heap:bench); else realloc gets 0. A separate
	 * array, not a field of bench_block: a third word there costs
	 * bench_kernel's loop 5.6 instructions per action. */
	TALC_KEEP_ALIGN = 1u << 4,
};

/* How one step went; all but BENCH_DONE and BENCH_SKIPPED are failures,
 * after which the live set still holds every block (freeable). */
enum bench_result {
	BENCH_DONE,          /* the action was carried out */
	BENCH_SKIPPED,       /* nothing to do (a realloc or free, nothing live) */
	BENCH_ALLOC_NULL,    /* alloc returned NULL */
	BENCH_REALLOC_NULL,  /* realloc returned NULL (the block is kept) */
	BENCH_REALLOC_LOST,  /* realloc's copy lost the tag */
	BENCH_CORRUPT,       /* a block's tag changed while it was live */
	BENCH_NO_ROOM,       /* the live set could not grow */
};

BENCH_INLINE void bench_tag(void *p, size_t size, unsigned char tag)
{
	volatile unsigned char *b = p;
	b[0] = tag;
	b[size - 1] = tag;
}

/* size 0: only the first byte is known to hold the tag. */
BENCH_INLINE bool bench_tagged(const void *p, size_t size, unsigned char tag)
{
	const volatile unsigned char *b = p;
	return b[0] == tag && (!size || b[size - 1] == tag);
}

/* ---- the hit pair ---------------------------------------------------------- */

/*
 * n times alloc(size) and free, nothing else live: the allocator's fast
 * path. BENCH_TOUCH writes a byte of each block and stops at a NULL;
 * without it the loop is the bare pair (bench_kernel counts its
 * instructions): the block only escapes, and a NULL goes to free.
 * Returns the pairs done.
 */
BENCH_INLINE uint64_t bench_hitpair(const struct bench_allocator *a, uint64_t n, size_t size,
				    unsigned flags)
{
	for (uint64_t i = 0; i < n; i++) {
		void *p = a->alloc(a->ctx, size, 0);
		if (flags & BENCH_TOUCH) {
			if (!p)
				return i;
			*(volatile char *)p = 1;
		} else {
			/* The block escapes, so the pair is not optimised away. */
			__asm__ volatile("" : : "r"(p) : "memory");
		}
		a->free(a->ctx, p);
	}
	return n;
}

/* ---- talc's random actions ------------------------------------------------- */

struct bench_block {
	void *p;
	size_t size;
};

/* One thread's live set. */
struct talc_live {
	struct bench_block *v;
	size_t *align; /* TALC_KEEP_ALIGN: align[i] is v[i]'s alignment */
	size_t n, cap;
	size_t bytes;  /* the live blocks' sizes, summed */
	size_t budget; /* TALC_BOUNDED: the most bytes live */
	/* Unbounded: makes room for more than cap blocks (false: it could
	 * not); NULL: the capacity is fixed and an alloc at it frees. */
	bool (*grow)(struct talc_live *l);
	size_t size; /* BENCH_CHECK: the last action's size, for a failure's message */
};

/* Frees live block i (swapping the last into its place). */
BENCH_INLINE enum bench_result talc_free_at(const struct bench_allocator *a, struct talc_live *l,
					    size_t i, unsigned flags)
{
	struct bench_block *b = &l->v[i];
	if ((flags & BENCH_CHECK) == BENCH_CHECK)
		l->size = b->size;
	if ((flags & BENCH_CHECK) == BENCH_CHECK &&
	    !bench_tagged(b->p, b->size, (unsigned char)b->size))
		return BENCH_CORRUPT;
	a->free(a->ctx, b->p);
	l->bytes -= b->size;
	*b = l->v[--l->n];
	if (flags & TALC_KEEP_ALIGN)
		l->align[i] = l->align[l->n];
	return BENCH_DONE;
}

/* Frees a random live block (draws its index: bench_kernel's cleanup does
 * this too, so its RNG goes on where it did). */
BENCH_INLINE enum bench_result talc_free_one(const struct bench_allocator *a, struct talc_live *l,
					     uint64_t *rng, unsigned flags)
{
	return talc_free_at(a, l, bench_below(rng, 0, l->n), flags);
}

/* Frees every live block, last first, with no draws. */
BENCH_INLINE void talc_free_all(const struct bench_allocator *a, struct talc_live *l)
{
	while (l->n) {
		l->n--;
		a->free(a->ctx, l->v[l->n].p);
	}
	l->bytes = 0;
}

/*
 * One of talc's random actions (talc_action()) on the live set, with
 * blocks of at most max bytes: realloc, alloc or free a random block.
 */
BENCH_INLINE enum bench_result talc_step(const struct bench_allocator *a, struct talc_live *l,
					 uint64_t *rng, size_t max, unsigned flags)
{
	enum talc_action act = talc_action(rng, l->n);
	size_t size = 0, align = 0;
	bool full = false;

	if (flags & TALC_BOUNDED) {
		size = talc_size(rng, max);
		align = talc_align(rng);
		full = l->n == l->cap || l->bytes + size > l->budget;
		if (act == TALC_REALLOC && !l->n)
			act = TALC_ALLOC;
	}
	if (act == TALC_REALLOC) {
		if (!l->n)
			return BENCH_SKIPPED;
		size_t i = bench_below(rng, 0, l->n);
		struct bench_block *b = &l->v[i];
		if (!(flags & TALC_BOUNDED))
			size = flags & TALC_REALLOC_WIDE ?
				       bench_below(rng, 1, max * 3) :
				       talc_size(rng, max);
		else if (size > b->size && full)
			size = b->size;
		if ((flags & BENCH_CHECK) == BENCH_CHECK)
			l->size = size;
		void *q = a->realloc(a->ctx, b->p, b->size, size,
				   flags & TALC_KEEP_ALIGN ? l->align[i] : 0);
		if (!q)
			return BENCH_REALLOC_NULL;
		size_t old = b->size;
		b->p = q;
		b->size = size;
		l->bytes += size - old;
		if ((flags & BENCH_CHECK) == BENCH_CHECK && !bench_tagged(q, 0, (unsigned char)old))
			return BENCH_REALLOC_LOST;
		if (flags & BENCH_TOUCH)
			bench_tag(q, size, (unsigned char)size);
		return BENCH_DONE;
	}
	if (act == TALC_ALLOC) {
		if (!(flags & TALC_BOUNDED) && l->n == l->cap) {
			if (l->grow && !l->grow(l))
				return BENCH_NO_ROOM;
			full = !l->grow;
		}
		if (!full) {
			if (!(flags & TALC_BOUNDED)) {
				size = talc_size(rng, max);
				align = talc_align(rng);
			}
			if ((flags & BENCH_CHECK) == BENCH_CHECK)
				l->size = size;
			void *p = a->alloc(a->ctx, size, align);
			if (!p)
				return BENCH_ALLOC_NULL;
			if (flags & BENCH_TOUCH)
				bench_tag(p, size, (unsigned char)size);
			if (flags & TALC_KEEP_ALIGN)
				l->align[l->n] = align;
			l->v[l->n++] = (struct bench_block){ p, size };
			l->bytes += size;
			return BENCH_DONE;
		}
	}
	if (!l->n)
		return BENCH_SKIPPED;
	return talc_free_one(a, l, rng, flags);
}

/* ---- producer/consumer: a single-producer single-consumer ring ------------ */

/*
 * One producer thread puts pointers in, one consumer takes them out. Each
 * index is written by its side only; the other side reads it to know how
 * far it may go.
 */
struct bench_ring {
	/* Slots filled so far: the producer's. */
	_Alignas(BENCH_CACHE_LINE) atomic_size_t put;
	/* Slots emptied so far: the consumer's. */
	_Alignas(BENCH_CACHE_LINE) atomic_size_t took;
	_Alignas(BENCH_CACHE_LINE) void **slot;
	size_t mask; /* slots - 1, a power of two less one */
};

BENCH_INLINE void bench_ring_init(struct bench_ring *r, void **slot, size_t slots)
{
	atomic_init(&r->put, 0);
	atomic_init(&r->took, 0);
	r->slot = slot;
	r->mask = slots - 1;
}

/* Producer: the index of the next slot to fill (relaxed: only we write it). */
BENCH_INLINE size_t bench_ring_put_at(struct bench_ring *r)
{
	return atomic_load_explicit(&r->put, memory_order_relaxed);
}

/*
 * Producer: how many slots are free from `at` on. Acquire pairs with the
 * consumer's release in bench_ring_taken(): its reads of the slots it gave
 * back happen before we overwrite them.
 */
BENCH_INLINE size_t bench_ring_room(struct bench_ring *r, size_t at)
{
	return r->mask + 1 - (at - atomic_load_explicit(&r->took, memory_order_acquire));
}

BENCH_INLINE void bench_ring_fill(struct bench_ring *r, size_t at, void *p)
{
	r->slot[at & r->mask] = p;
}

/*
 * Producer: the slots before `at` are filled. Release pairs with the
 * consumer's acquire in bench_ring_ready(): the slots' contents (and the
 * blocks they point to) are visible before the index that hands them over.
 */
BENCH_INLINE void bench_ring_put_to(struct bench_ring *r, size_t at)
{
	atomic_store_explicit(&r->put, at, memory_order_release);
}

/* Consumer: the index of the next slot to empty (relaxed: only we write it). */
BENCH_INLINE size_t bench_ring_take_at(struct bench_ring *r)
{
	return atomic_load_explicit(&r->took, memory_order_relaxed);
}

/* Consumer: the end of what is filled. Acquire: see bench_ring_put_to(). */
BENCH_INLINE size_t bench_ring_ready(struct bench_ring *r)
{
	return atomic_load_explicit(&r->put, memory_order_acquire);
}

BENCH_INLINE void *bench_ring_get(struct bench_ring *r, size_t at)
{
	return r->slot[at & r->mask];
}

/* Consumer: the slots before `at` are free again. Release: see
 * bench_ring_room(). */
BENCH_INLINE void bench_ring_taken(struct bench_ring *r, size_t at)
{
	atomic_store_explicit(&r->took, at, memory_order_release);
}

/* One pointer in; false when the ring is full. */
BENCH_INLINE bool bench_ring_push(struct bench_ring *r, void *p)
{
	size_t at = bench_ring_put_at(r);
	if (!bench_ring_room(r, at))
		return false;
	bench_ring_fill(r, at, p);
	bench_ring_put_to(r, at + 1);
	return true;
}

/* One pointer out; NULL when the ring is empty. */
BENCH_INLINE void *bench_ring_pop(struct bench_ring *r)
{
	size_t at = bench_ring_take_at(r);
	if (at == bench_ring_ready(r))
		return NULL;
	void *p = bench_ring_get(r, at);
	bench_ring_taken(r, at + 1);
	return p;
}

/* Producer/consumer's and larson's blocks: rand(16..512) bytes. */
#define BENCH_SMALL_MIN 16
#define BENCH_SMALL_END 513

/* A block for producer/consumer, tagged (when asked) for its consumer. */
BENCH_INLINE void *bench_pc_new(const struct bench_allocator *a, uint64_t *rng, size_t align,
				unsigned char tag, unsigned flags)
{
	size_t size = bench_below(rng, BENCH_SMALL_MIN, BENCH_SMALL_END);
	void *p = a->alloc(a->ctx, size, align);
	if (p && (flags & BENCH_TOUCH))
		bench_tag(p, size, tag);
	return p;
}

/* The consumer's side: frees a block, checking its tag when asked. */
BENCH_INLINE enum bench_result bench_pc_free(const struct bench_allocator *a, void *p,
					     unsigned char tag, unsigned flags)
{
	if ((flags & BENCH_CHECK) == BENCH_CHECK && !bench_tagged(p, 0, tag))
		return BENCH_CORRUPT;
	a->free(a->ctx, p);
	return BENCH_DONE;
}

/* ---- larson ---------------------------------------------------------------- */

/*
 * One larson round on a live set of `slots` blocks: `n` times, free a
 * random block and allocate a new one of rand(16..512) bytes in its place
 * (the index is drawn first, then the size). A block is tagged with its
 * slot index, so after hand-overs a check still knows what to expect.
 * Returns the replacements done in *done.
 */
BENCH_INLINE enum bench_result bench_larson_round(const struct bench_allocator *a, void **slot,
						  size_t slots, uint64_t *rng, uint64_t n,
						  size_t align, unsigned flags, uint64_t *done)
{
	for (uint64_t r = 0; r < n; r++) {
		size_t i = bench_below(rng, 0, slots);
		unsigned char tag = (unsigned char)(i & 0xff);
		if ((flags & BENCH_CHECK) == BENCH_CHECK && !bench_tagged(slot[i], 0, tag)) {
			*done = r;
			return BENCH_CORRUPT;
		}
		a->free(a->ctx, slot[i]);
		size_t size = bench_below(rng, BENCH_SMALL_MIN, BENCH_SMALL_END);
		void *p = a->alloc(a->ctx, size, align);
		slot[i] = p;
		if (!p) {
			*done = r;
			return BENCH_ALLOC_NULL;
		}
		if (flags & BENCH_TOUCH)
			bench_tag(p, size, tag);
	}
	*done = n;
	return BENCH_DONE;
}

/* A larson live set's first blocks, tagged as bench_larson_round() expects. */
BENCH_INLINE enum bench_result bench_larson_fill(const struct bench_allocator *a, void **slot,
						 size_t slots, uint64_t *rng, size_t align,
						 unsigned flags)
{
	for (size_t i = 0; i < slots; i++) {
		size_t size = bench_below(rng, BENCH_SMALL_MIN, BENCH_SMALL_END);
		void *p = a->alloc(a->ctx, size, align);
		slot[i] = p;
		if (!p)
			return BENCH_ALLOC_NULL;
		if (flags & BENCH_TOUCH)
			bench_tag(p, size, (unsigned char)(i & 0xff));
	}
	return BENCH_DONE;
}

#endif /* BENCH_WORKLOADS_H */
