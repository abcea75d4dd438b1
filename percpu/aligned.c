// SPDX-License-Identifier: BSD-2-Clause
/*
 * kmalloc_aligned and kmalloc_aligned_try from the size classes: a padded
 * class block with an offset tag below the aligned pointer, and the way
 * back from such a pointer to its block.
 */
#include "percpu/percpu_internal.h"

/*
 * Aligned blocks from the classes. A request (size, align), 16 < align <=
 * PERCPU_MAX_ALIGN, size + align - 16 <= PERCPU_MAX_SMALL, takes a block b
 * of the class for size + align - 16. If b is aligned it is returned as it
 * is. Otherwise the caller gets q, the first aligned address at least
 * KHEAP_OFFSET_MIN above b (kheap_offset_place: a tag lower down would sit
 * where the heap's free-list links go once b is free), and the word below
 * q, inside b's payload, becomes an offset tag. When b + 16 is aligned and
 * b has not 32 bytes to spare, b goes back for one of size + align + 16,
 * where q always fits. The heap owns that encoding (<heap/kheap.h>:
 * kheap_offset_tag_write, kheap_offset_block), so kheap_free and
 * kheap_realloc of q work too (a thread without a hart id in the shim).
 * percpu_offset_block() follows a tag back to b only if the check matches,
 * the offset is in range and b is a plausible live block that holds q + 1
 * byte; then kfree, ksize, krealloc and kfree_sized act on b. kfree of q
 * turns the tag's state into PERCPU_STATE_OFFSET_FREED, so a second kfree of
 * q is named: b cached -> the heap's "double free" of b. Anything else that
 * fails goes to the heap as q itself, which names it (interior, foreign, ...).
 */
#define PERCPU_MAX_ALIGN 4096
_Static_assert(PERCPU_MAX_ALIGN + KHEAP_OFFSET_MIN - HEAP_MIN_ALIGN < KHEAP_OFFSET_MAX,
	       "every offset kheap_offset_place picks has a tag");

_Static_assert(PERCPU_STATE_OFFSET == KHEAP_STATE_OFFSET &&
	       PERCPU_STATE_OFFSET_FREED == KHEAP_STATE_OFFSET_FREED,
	       "percpu's offset-tag states are the heap's");

static inline void offset_tag_write(void *q, size_t off)
{
	kheap_offset_tag_write(q, off);
}

/* The offset of q's offset tag if it looks valid (any state), else 0. */
static size_t offset_of(const void *q)
{
	return kheap_offset_of(q);
}

/*
 * q carries a live offset tag (state PERCPU_STATE_OFFSET): its block, if
 * the tag checks out and the block is live and holds q, else NULL.
 */
void *percpu_offset_block(const void *q)
{
	return kheap_offset_block(q);
}

PERCPU_COLD void *percpu_bad_align(void *p, size_t size, const char *where)
{
	kheap_report_misuse(HEAP_ERR_BAD_ALIGN, p, size, where);
	return NULL;
}

static PERCPU_SLOW void *kmalloc_aligned_slow(size_t size, size_t align, bool must)
{
	if (align & (align - 1))
		return percpu_bad_align(NULL, size, must ? "kmalloc_aligned" : "kmalloc_aligned_try");
	/*
	 * Size 0 gets a byte, so q lies inside its block: at the block's very
	 * end its offset tag names no block, ksize read past it, and kfree(q)
	 * was a "double free" that leaked it (hardening level 2).
	 */
	size = size ? size : 1;
	if (percpu_mode_ == PERCPU_MAGAZINES && align <= PERCPU_MAX_ALIGN &&
	    size <= PERCPU_MAX_SMALL + HEAP_MIN_ALIGN - align &&
	    (align - HEAP_MIN_ALIGN <= PERCPU_ALIGN_PAD_ANY ||
	     (align - HEAP_MIN_ALIGN) * PERCPU_ALIGN_PAD_DIV <= size)) {
		char *b = kmalloc_try(size + align - HEAP_MIN_ALIGN), *q = NULL;
		if (b && !(q = kheap_offset_place(b, heap_block_size(b), size, align))) {
			/* b + 16 aligned, no room above: a block where q fits. */
			char *roomy = kmalloc_try(size + align + KHEAP_OFFSET_MIN - HEAP_MIN_ALIGN);
			kfree(b);
			b = roomy;
			if (b)
				q = kheap_offset_place(b, heap_block_size(b), size, align);
		}
		if (q) {
			if (q != b)
				offset_tag_write(q, (size_t)(q - b));
			return q;
		}
		/* No memory for the padded block: the heap's own aligned one. */
	}
	/* Too big, or bypass. */
	return percpu_kmalloc_slow(size, align, must);
}

void *kmalloc_aligned(size_t size, size_t align)
{
	/*
	 * Every class block is 16-aligned, so a power of two up to 16 is the
	 * plain class path; bigger ones are kmalloc_aligned_slow's.
	 */
	if (likely(align <= HEAP_MIN_ALIGN && !(align & (align - 1))))
		return kmalloc(size);
	return kmalloc_aligned_slow(size, align, true);
}

void *kmalloc_aligned_try(size_t size, size_t align)
{
	if (likely(align <= HEAP_MIN_ALIGN && !(align & (align - 1))))
		return kmalloc_try(size);
	return kmalloc_aligned_slow(size, align, false);
}

PERCPU_FAST void kfree(void *p);

/*
 * kfree of a pointer whose tag had the offset-tag state `seen` when kfree
 * looked (see the top of this file).
 */
PERCPU_SLOW void percpu_free_offset(void *q, unsigned seen)
{
	void *b;
	if (is_offset(q) && (b = percpu_offset_block(q)) != NULL) {
#if PERCPU_HARDEN >= 2
		/*
		 * Of racing frees of q, the one whose CAS turns the offset tag
		 * freed frees b (heap_tag_claim says what it orders); the
		 * others are named and leave b alone.
		 */
		if (!heap_tag_claim(q, PERCPU_STATE_OFFSET, PERCPU_STATE_OFFSET_FREED, NULL)) {
			percpu_free_lost(q);
			return;
		}
#else
		heap_tag_set_state(q, PERCPU_STATE_OFFSET_FREED);
#endif
		percpu_free_offset_block(b, q);
		return;
	}
	/*
	 * Another state now than when kfree looked: a racing free or realloc
	 * of q turned the tag freed, and b may be free, merged or another's
	 * by now, so nothing found through q can be trusted. This free is the
	 * double one (//percpu:race_double_free_uncached_test, where b goes
	 * straight to the heap). Freed when kfree looked and rewritten since:
	 * b reached the heap and the memory under q's tag was handed out
	 * again; the heap would name q an interior pointer of the new block
	 * (1 run of 24 of that test, 8 copies at once, before this check).
	 */
	if (heap_tag_state(q) != seen) {
		percpu_free_lost(q);
		return;
	}
#if PERCPU_HARDEN >= 2
	/*
	 * Freed already, named without looking at b, which may be another's
	 * by now: the offset tag says so and still checks out (kheap_free(q)
	 * names it the same way), or b has been cached since and its poison
	 * covers the tag. A racing free that won turns the tag freed, then
	 * frees b, which poisons it: this free saw an offset state a moment
	 * ago (its caller's look), so one of the two is what it finds unless b
	 * went on to the heap, which then names q (a pointer into free
	 * memory: a double free).
	 */
	if ((heap_tag_state(q) == PERCPU_STATE_OFFSET_FREED && offset_of(q)) ||
	    *((const percpu_pword_t *)q - 1) == PERCPU_POISON) {
		percpu_free_lost(q);
		return;
	}
#endif
	/*
	 * Freed already (the tag says so and still checks out): the heap
	 * names what became of its block b. Still cached, or free with its
	 * own tag: "double free" of b. Its tag gone (b merged into the free
	 * block below it, or swallowed by a bigger block since): the heap's
	 * walk finds b inside a free block ("double free") or a live one
	 * ("interior pointer"); that is the fuzzer's finding, which used to
	 * reach the heap as q and be named "corrupted tag" (the offset tag's
	 * size is no block size). Live with its own tag again (handed out
	 * anew): q, which the heap names, and nothing of the new owner's is
	 * freed.
	 */
	size_t off = offset_of(q);
	b = (char *)q - off;
	if (off && (!heap_tag_check_top(b) || heap_tag_state(b) == HEAP_STATE_CACHED ||
		    heap_tag_state(b) == HEAP_STATE_FREE))
		kheap_free(b);
	else
		kheap_free(q);
}
