// SPDX-License-Identifier: BSD-2-Clause
/*
 * The validator, and the error-path walk that tells an interior pointer from
 * a corrupted tag. Both only read the heap, so they are safe on a corrupted
 * one: every address they follow is first checked to lie inside its region.
 */
#include "heap_internal.h"

enum heap_error heap_classify_bad_ptr(const struct heap_region *r, uintptr_t p)
{
	uintptr_t b = p - W, blk = region_first(r), sent = r->sentinel;

	while (blk < sent) {
		uintptr_t t = tag_load(blk), s = tag_size(t);
		/* A bad tag on the way (or at p itself) means corruption. */
		if (!tag_ok(blk, t) || s < MIN_BLOCK || s > sent - blk)
			return HEAP_ERR_CORRUPT_TAG;
		/* p is a real block start, so what failed was a neighbour's tag. */
		if (blk == b)
			return HEAP_ERR_CORRUPT_TAG;
		if (b > blk && b - blk < s)
			return (t & HEAP_TAG_ALLOC) ? HEAP_ERR_INTERIOR_PTR
						    : HEAP_ERR_DOUBLE_FREE;
		blk += s;
	}
	return HEAP_ERR_INTERIOR_PTR;
}

struct vctx {
	void (*report)(void *ctx, const char *msg, void *addr);
	void *ctx;
	size_t errors;
	/*
	 * A walk that had to stop early has not seen everything: comparing its
	 * totals would report the same fault again under other names.
	 */
	bool incomplete;
};

static void bad(struct vctx *v, const char *msg, uintptr_t addr)
{
	v->errors++;
	if (v->report)
		v->report(v->ctx, msg, (void *)addr);
}

/* Walks one region's blocks; adds up what it saw. */
static void walk_region(struct vctx *v, const struct heap_region *r, size_t *used,
			size_t *freeb, size_t *nfree, size_t *nlive)
{
	uintptr_t blk = region_first(r), sent = r->sentinel;
	bool prev_free = false;

	if (sent < blk || sent + W > r->end || (sent & (GRAIN - 1)) != W) {
		bad(v, "region sentinel out of place", (uintptr_t)r);
		v->incomplete = true;
		return;
	}
	while (blk < sent) {
		uintptr_t t = tag_load(blk), s = tag_size(t);
		if (!tag_ok(blk, t)) {
			bad(v, "tag check mismatch", blk);
			v->incomplete = true;
			return; /* the size cannot be trusted: stop this region */
		}
		if (s < MIN_BLOCK || s > sent - blk) {
			bad(v, "block size out of region", blk);
			v->incomplete = true;
			return;
		}
		if (((t & HEAP_TAG_PREV_FREE) != 0) != prev_free)
			bad(v, "prev-free bit disagrees with the block below", blk);
		if (t & HEAP_TAG_ALLOC) {
			if (!canary_ok(blk, s))
				bad(v, "canary overwritten (buffer overflow)", blk);
			*used += s;
			(*nlive)++;
			prev_free = false;
		} else {
			if (prev_free)
				bad(v, "two adjacent free blocks", blk);
			/* Free blocks are the heap's: their state lane too. */
			if (state_load(blk) != HEAP_STATE_FREE)
				bad(v, "free block not marked free", blk);
			if (footer_get(blk + s) != s)
				bad(v, "footer disagrees with header", blk);
			*freeb += s;
			(*nfree)++;
			prev_free = true;
		}
		blk += s;
	}
	uintptr_t st = tag_load(sent);
	if (!tag_ok(sent, st) || tag_size(st) != 0 || !(st & HEAP_TAG_ALLOC))
		bad(v, "sentinel tag corrupted", sent);
	else if (((st & HEAP_TAG_PREV_FREE) != 0) != prev_free)
		bad(v, "sentinel prev-free bit wrong", sent);
}

/* A block's links as stored, decoded but not checked (read-only: no h->bad_link). */
static uintptr_t link_peek(struct heap_free_block *const *slot)
{
#if HEAP_HARDENING >= 2
	return link_raw(slot);
#else
	return (uintptr_t)*slot;
#endif
}

/* Walks every bin; returns the blocks and bytes found in them. */
static void walk_bins(struct vctx *v, struct heap *h, size_t max_blocks,
		      size_t *nfree, size_t *freeb)
{
	for (unsigned i = 0; i < HEAP_NUM_BINS; i++) {
		bool bit = bin_bit(h, i);
		if (bit != (h->bins[i] != NULL))
			bad(v, "bitmap disagrees with bin", (uintptr_t)h->bins[i]);
		struct heap_free_block *prev = NULL;
		for (struct heap_free_block *fb = h->bins[i]; fb;
		     fb = (struct heap_free_block *)link_peek(&fb->next)) {
			uintptr_t b = (uintptr_t)fb;
			struct heap_region *r = region_of(h, b);
			if (!r || b < region_first(r) || b >= r->sentinel ||
			    (b & (GRAIN - 1)) != W) {
				bad(v, "bin link points outside the heap", b);
				v->incomplete = true;
				break;
			}
			uintptr_t t = tag_load(b);
			if (!tag_ok(b, t) || (t & HEAP_TAG_ALLOC)) {
				bad(v, "bin holds a block that is not free", b);
				v->incomplete = true;
				break;
			}
			if (bin_of(tag_size(t)) != i)
				bad(v, "free block in the wrong bin", b);
			if (link_peek(&fb->prev) != (uintptr_t)prev)
				bad(v, "bin back link broken", b);
			if (++*nfree > max_blocks) {
				bad(v, "bin list longer than the free blocks (cycle?)", b);
				v->incomplete = true;
				return;
			}
			*freeb += tag_size(t);
			prev = fb;
		}
	}
}

size_t heap_validate(struct heap *h,
		     void (*report)(void *ctx, const char *msg, void *addr),
		     void *ctx)
{
	struct vctx v = { report, ctx, 0, false };
	size_t used = 0, freeb = 0, nfree = 0, nlive = 0, bytes = 0, nreg = 0, overhead = 0;
	bool list_ok = true;

	if (h->magic != HEAP_MAGIC) {
		bad(&v, "heap not initialised", (uintptr_t)h);
		return v.errors;
	}
	for (struct heap_region *r = h->regions; r; r = r->next) {
		if (++nreg > h->st.regions) {
			bad(&v, "region list longer than the count", (uintptr_t)r);
			v.incomplete = true;
			list_ok = false;
			break;
		}
		/*
		 * A region's header is in the heap's memory, in reach of an
		 * underflow of its first block; the hull is in struct heap,
		 * out of that reach. A link out of the hull, or not 16-aligned,
		 * is not followed. One that stays in the hull but names no
		 * region still is: nothing else records where regions start.
		 */
		uintptr_t a = (uintptr_t)r;
		if ((a & (GRAIN - 1)) || a < h->lo || a >= h->hi || h->hi - a < REGION_HDR) {
			bad(&v, "region link points outside the heap", a);
			v.incomplete = true;
			list_ok = false;
			break;
		}
		bytes += r->end - (uintptr_t)r;
		overhead += region_overhead(r);
		walk_region(&v, r, &used, &freeb, &nfree, &nlive);
	}
	/*
	 * The bins' checks find each block's region by walking the region
	 * list (region_of): not a list that had to be left, which would send
	 * them through the bad link, or round a cycle forever.
	 */
	if (!list_ok)
		return v.errors;
	size_t bin_blocks = 0, bin_bytes = 0;
	/* The bound stops a cyclic list; an unfinished region walk undercounts. */
	walk_bins(&v, h, v.incomplete ? nfree + h->st.free_blocks : nfree,
		  &bin_blocks, &bin_bytes);
	if (v.incomplete)
		return v.errors;
	if (bin_blocks != nfree || bin_bytes != freeb)
		bad(&v, "free blocks in regions and in bins differ", 0);
	if (used != h->st.bytes_in_use)
		bad(&v, "bytes_in_use disagrees with the blocks", 0);
	/* bytes_free and live_allocs are derived (as heap_get_stats does). */
	if (freeb != h->st.heap_bytes - h->st.bytes_in_use - overhead ||
	    nfree != h->st.free_blocks)
		bad(&v, "free totals disagree with the blocks", 0);
	if (nlive != h->st.total_allocs - h->st.total_frees)
		bad(&v, "live_allocs disagrees with the blocks", 0);
	if (bytes != h->st.heap_bytes || nreg != h->st.regions)
		bad(&v, "heap_bytes disagrees with the regions", 0);
	return v.errors;
}
