/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The tag word below every payload and the owner-lane contract: what a
 * block's owner (percpu's magazines, kheap's offset tags) may read and
 * write there without the heap lock, and what the heap promises to leave
 * alone. The block layout around the tag, and the heap core itself, are in
 * <heap/heap_core.h>, which includes this header; a layer above the heap
 * that only owns blocks needs this one (and <heap/kheap.h>).
 *
 * Every payload p is HEAP_MIN_ALIGN-aligned and its tag is the word at
 * p - 8.
 *
 *   tag word (lp64, little-endian): four lanes, each with one writer at a
 *   time, so the heap (under its lock) and a block's owner (without it)
 *   never store to the same bytes:
 *
 *     byte  0      1       2    3    4    5    6    7
 *         +------+-------+---------+-------------------+
 *         | flags| state |  check  |    size / 16      |
 *         | u8   | u8    |  u16    |    u32            |
 *         +------+-------+---------+-------------------+
 *   flags  A (bit 0) allocated (clear: the block is free, and has a footer)
 *          P (bit 1) the previous block is free: its footer sits just below
 *          this tag, so freeing this block can find it and coalesce (no
 *          footer needed in allocated blocks). Heap-owned: written only
 *          under the heap lock, also in allocated blocks (when a neighbour
 *          is freed or allocated), with a relaxed atomic byte store there,
 *          for the block's owner reads P without the lock
 *          (heap_tag_prev_free).
 *   state  the owner's lane: HEAP_STATE_CACHED (0): allocated but parked in
 *          a per-hart magazine, heap_free() of it is a double free,
 *          heap_free_batch() accepts it; a nonzero multiple of 8: live (the
 *          heap writes HEAP_STATE_LIVE, an owner may keep bits 3..7 for
 *          itself: percpu stores its size class there); HEAP_STATE_FREE in
 *          free blocks. The block's owner writes it without the lock (plain
 *          byte store); the heap writes it only while it owns the block
 *          (allocating, freeing, resizing it under the lock) and reads it
 *          only in blocks handed to it (free, usable_size) or free ones.
 *   check  15 bits of a hash of (block address, size) with the top bit
 *          forced to 1, XORed with HEAP_TAG_CHECK_ALLOC_FLIP when A is set
 *          (never of P or state). Footers, small integers and
 *          user-space pointers rarely have it, so a free of an interior
 *          pointer almost never finds a plausible tag below it.
 *   size   block bytes / 16: blocks up to 64 GiB - 16; a request beyond that
 *          is HEAP_ERR_SIZE_OVERFLOW. Written with check and A, only while
 *          the heap owns the block.
 *
 *   Every access goes through a lane accessor (u8/u16/u32 at the lane's own
 *   offset, through may_alias types). A whole-word store is used only for a
 *   block nobody else can see (new, being freed, or free). So no two parties
 *   ever store to overlapping bytes concurrently: no atomic read-modify-write
 *   is needed. The one lane read while another party may store it, an
 *   allocated block's flags (P), is loaded and stored relaxed-atomically,
 *   so there is no C11 data race. At HEAP_HARDENING >= 2 the claim's
 *   compare-and-swap (heap_tag_claim) also rewrites flags and check, as it
 *   read them, while the heap may load them: relaxed there too
 *   (heap_internal.h, LANE_LOAD). The lanes assume lp64 and
 *   little-endian byte order (static_assert below).
 */
#ifndef HEAP_HEAP_TAG_H
#define HEAP_HEAP_TAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <heap/hardening.h>

#define HEAP_MIN_ALIGN 16

/* The tag's lanes; see the drawing above. */
#if !(UINTPTR_MAX > 0xffffffffu) || !defined(__BYTE_ORDER__) || \
	__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "heap: the tag lanes are laid out for lp64 little-endian targets"
#endif
_Static_assert(sizeof(uintptr_t) == 8, "heap tag: one 64-bit word");

#define HEAP_LANE_FLAGS 0 /* u8: A, P (heap lock) */
#define HEAP_LANE_STATE 1 /* u8: owner state */
#define HEAP_LANE_CHECK 2 /* u16: check */
#define HEAP_LANE_SIZE 4  /* u32: size / 16 */

/* Flag bits (flags lane, which is also bits 0..7 of the word). */
#define HEAP_TAG_ALLOC ((uintptr_t)1)
#define HEAP_TAG_PREV_FREE ((uintptr_t)2)
/* The size lane as bits of the whole word. */
#define HEAP_TAG_SIZE_SHIFT 32
#define HEAP_TAG_SIZE_MASK ((uintptr_t)0xffffffff00000000u)
#define HEAP_TAG_CHECK_SHIFT 16

/* State lane values. */
#define HEAP_STATE_CACHED 0x00u /* allocated, parked in a magazine */
#define HEAP_STATE_LIVE 0x08u   /* allocated, as the heap hands it out */
#define HEAP_STATE_FREE 0xf5u   /* free (any value with bits 0..2 set) */
/* A live state: a nonzero multiple of 8; bits 3..7 are the owner's. */
static inline int heap_state_is_live(unsigned s)
{
	return s != 0 && (s & 7u) == 0;
}

/*
 * The tag is read through may_alias types: a free of a bad pointer reads
 * whatever user data sits below it.
 */
typedef uintptr_t __attribute__((__may_alias__)) heap_tag_t;
typedef uint8_t __attribute__((__may_alias__)) heap_lane8_t;
typedef uint16_t __attribute__((__may_alias__)) heap_lane16_t;
typedef uint32_t __attribute__((__may_alias__)) heap_lane32_t;

/*
 * Tag access for the magazine layer; p is the payload of a block from this
 * heap that the caller owns. Each is one plain load or store of one lane
 * (lbu/sb, lwu on RISC-V): the heap never writes the state lane of a block
 * it does not own, and never touches size or check of an allocated block
 * except while resizing it for its owner, so there is nothing to lose and
 * nothing to order. The block's hand-over between harts (magazine, depot
 * lock, the user's own synchronisation) orders these accesses.
 */
static inline unsigned heap_tag_state(const void *p)
{
	return *((const heap_lane8_t *)p - 8 + HEAP_LANE_STATE);
}

static inline void heap_tag_set_state(void *p, unsigned state)
{
	*((heap_lane8_t *)p - 8 + HEAP_LANE_STATE) = (uint8_t)state;
}

/*
 * P in the tag of p, an allocated block the caller owns: the block below it
 * is free. One relaxed byte load of the flags lane, which the heap may be
 * storing at the same moment (under its lock, when the block below is
 * freed or allocated): the answer may be a moment old.
 */
static inline bool heap_tag_prev_free(const void *p)
{
	return __atomic_load_n((const heap_lane8_t *)p - 8 + HEAP_LANE_FLAGS, __ATOMIC_RELAXED) &
	       HEAP_TAG_PREV_FREE;
}

/* Block bytes / 16 (the size lane). */
static inline uint32_t heap_tag_size16(const void *p)
{
	return *(const heap_lane32_t *)((const heap_lane8_t *)p - 8 + HEAP_LANE_SIZE);
}

/*
 * HEAP_HARDENING >= 2: the last word of every allocated block is a canary,
 * heap_canary_of(block address), written when the heap hands the block out
 * and checked at every free (the heap's, and percpu's before caching): an
 * overflow past the usable size is named "buffer overflow (canary)" at the
 * culprit's free. It mixes the per-boot secret (heap_set_secret) with the
 * address, so a canary copied from another block does not pass. Classes
 * that are multiples of 16 had 8 bytes of slack there anyway: only other
 * sizes pay 16 more bytes. Below level 2: no canary, no cost.
 */
#if HEAP_HARDENING >= 2
#define HEAP_CANARY_BYTES ((size_t)sizeof(uintptr_t))
/* Read-only after the first heap_init (heap_set_secret). */
extern uintptr_t heap_secret_;

static inline uintptr_t heap_canary_of(uintptr_t b)
{
	return heap_secret_ ^ (b * (uintptr_t)0x9e3779b97f4a7c15u);
}
#else
#define HEAP_CANARY_BYTES ((size_t)0)
#endif

/* Usable bytes of the block at p (the canary excluded). */
static inline size_t heap_block_size(const void *p)
{
	return ((size_t)heap_tag_size16(p) << 4) - sizeof(uintptr_t) - HEAP_CANARY_BYTES;
}

/* p's canary is intact (always at levels below 2); p as for heap_block_size. */
static inline bool heap_canary_ok(const void *p)
{
#if HEAP_HARDENING >= 2
	uintptr_t b = (uintptr_t)p - sizeof(uintptr_t);
	return *(const heap_tag_t *)(b + ((uintptr_t)heap_tag_size16(p) << 4) - sizeof(uintptr_t)) ==
	       heap_canary_of(b);
#else
	(void)p;
	return true;
#endif
}

/*
 * The top bit of the check lane, set in every valid tag (one lb + sign
 * test): a cheap first filter against pointers that have no tag below them.
 */
static inline bool heap_tag_check_top(const void *p)
{
	return (int8_t)*((const heap_lane8_t *)p - 8 + HEAP_LANE_CHECK + 1) < 0;
}

static inline void heap_tag_mark_cached(void *p)
{
	heap_tag_set_state(p, HEAP_STATE_CACHED);
}

static inline void heap_tag_mark_live(void *p)
{
	heap_tag_set_state(p, HEAP_STATE_LIVE);
}

static inline bool heap_tag_is_cached(const void *p)
{
	return heap_tag_state(p) == HEAP_STATE_CACHED;
}

/*
 * What A does to the check: an allocated block's check is its free check
 * XORed with this (15 bits, the top bit clear). So a block that keeps its
 * size while A flips (freed with no free neighbour, or allocated whole
 * from an exact bin) gets its new check with one XOR, not a hash; and a
 * flags byte whose A was cleared behind the heap's back (an off-by-one NUL
 * lands on the next tag's flags) still fails the check.
 */
#define HEAP_TAG_CHECK_ALLOC_FLIP 0x5b2du

/*
 * The check from the hash's input, b ^ (size16 << 21) (heap_tag_check_of;
 * the heap's own callers form it from the size in bytes), as a word below
 * 2^16: callers that shift it into a tag need no zero extension.
 */
static inline uint64_t heap_tag_check_mix(uint64_t in, unsigned alloc)
{
	uint64_t x = in * 0x9e3779b97f4a7c15u;
	return ((x >> 49) | 0x8000u) ^ ((alloc & 1u) * (uint64_t)HEAP_TAG_CHECK_ALLOC_FLIP);
}

/*
 * The check of a tag at block address b (the payload minus 8) for block
 * size16 * 16 and the A bit `alloc`: 15 hash bits, the top bit set.
 */
static inline uint16_t heap_tag_check_of(uintptr_t b, uint32_t size16, unsigned alloc)
{
	return (uint16_t)heap_tag_check_mix((uint64_t)b ^ ((uint64_t)size16 << 21), alloc);
}

/*
 * True if p looks like the payload of an allocated block (live or cached):
 * 16-aligned, a size a block can have, and a check that matches its
 * address and size. Reads only the owner's lanes and the ones the heap
 * leaves alone while the block is allocated (no lock needed); the heap's
 * free still decides. The sentinel that ends every region is a valid
 * allocated tag of size 0 (heap_core.h): the pointer above it (the next
 * region's header, or past the region's end) is no block, and
 * heap_block_size would give it 2^64 - 8 bytes.
 */
static inline bool heap_tag_plausible_allocated(const void *p)
{
	uintptr_t b = (uintptr_t)p - sizeof(uintptr_t);
	if ((uintptr_t)p & 15)
		return false;
	uint32_t s16 = heap_tag_size16(p);
	uint16_t chk = *(const heap_lane16_t *)((const heap_lane8_t *)p - 8 + HEAP_LANE_CHECK);
	return s16 >= 2 && chk == heap_tag_check_of(b, s16, 1); /* blocks: 32 bytes up */
}

/* As heap_tag_plausible_allocated, and live: a live state, not cached. */
static inline bool heap_tag_plausible_live(const void *p)
{
	return heap_tag_plausible_allocated(p) && heap_state_is_live(heap_tag_state(p));
}

/*
 * Claims (HEAP_HARDENING >= 2): how one of several harts freeing the same
 * pointer at once wins it. heap_tag_claim moves p's state lane from `from`
 * (a state, or HEAP_CLAIM_ANY_LIVE: any live state) to `to` with one atomic
 * compare-and-swap of the tag's low 32-bit word (flags, state, check: the
 * state lane alone is a byte, and GCC 12 has no inline byte CAS for RV64),
 * and returns true (*was: the state it replaced) only to the caller whose
 * CAS made the move. Every free path at level 2 claims a live block before
 * it caches it or hands it to the heap (percpu's magazines and depot, kheap's
 * free and realloc), so of racing freers exactly one wins and every other
 * finds the lane no longer live: it names a double free and touches nothing
 * else, for by then the block may be in another hart's magazine, in the
 * heap's free lists, or handed out again.
 *
 * Relaxed: the RMWs on one word are totally ordered, which is all the choice
 * of a winner needs; the block's contents are ordered by whatever handed p
 * to the freers (and for the winner, by the lock or magazine it then puts
 * the block in). The heap may store the flags byte (P) of this allocated
 * block meanwhile, under its lock: the CAS then fails and retries with the
 * new flags as long as the state is still one `from` accepts. Reads p's tag:
 * the caller has checked p is inside the heap (a plausible tag below it).
 */
#define HEAP_CLAIM_ANY_LIVE 0x100u

static inline bool heap_tag_claim(void *p, unsigned from, unsigned to, unsigned *was)
{
	typedef uint32_t __attribute__((__may_alias__)) word32_t;
	word32_t *w = (word32_t *)((char *)p - sizeof(uintptr_t));
	const unsigned sh = 8 * HEAP_LANE_STATE;
	uint32_t old = __atomic_load_n(w, __ATOMIC_RELAXED);
	unsigned s;
	do {
		s = (old >> sh) & 0xffu;
		if (from == HEAP_CLAIM_ANY_LIVE ? !heap_state_is_live(s) : s != from)
			return false;
	} while (!__atomic_compare_exchange_n(w, &old, (old & ~(0xffu << sh)) | ((uint32_t)to << sh),
					      true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	if (was)
		*was = s;
	return true;
}

/*
 * True if p looks like the payload of a block that is not live any more:
 * cached (allocated, state HEAP_STATE_CACHED: in a magazine, or claimed by a
 * freer on its way to the heap) or free, with a check that matches. A free
 * of such a p is a double free; at level 2 it is named without the heap
 * lock, as the block may change hands before the lock is had. The lanes are
 * read without the lock: a tag the heap is rewriting at that moment reads as
 * neither, and the heap then decides under its lock.
 */
static inline bool heap_tag_plausible_dead(const void *p)
{
	uintptr_t b = (uintptr_t)p - sizeof(uintptr_t);
	const heap_lane8_t *t = (const heap_lane8_t *)p - 8;
	if ((uintptr_t)p & 15)
		return false;
	unsigned st = t[HEAP_LANE_STATE], a;
	if (st == HEAP_STATE_CACHED)
		a = 1;
	else if (st == HEAP_STATE_FREE && !(t[HEAP_LANE_FLAGS] & HEAP_TAG_ALLOC))
		a = 0;
	else
		return false;
	uint16_t chk = *(const heap_lane16_t *)(t + HEAP_LANE_CHECK);
	return chk == heap_tag_check_of(b, heap_tag_size16(p), a);
}

#endif /* HEAP_HEAP_TAG_H */
