/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kmalloc: per-hart size-class magazines and depots in front of the global
 * heap (Bonwick & Adams, "Magazines and Vmem", USENIX 2001).
 *
 * The path of one kmalloc(size):
 *   1. size -> class with one byte-table load (size_class.h).
 *   2. With local interrupts masked, pop a block from this hart's loaded
 *      magazine for the class: no lock, no atomic RMW, no shared line.
 *   3. Loaded empty and previous full: swap them. Otherwise trade the empty
 *      previous magazine for a full one at the class's depot (ticket lock).
 *   4. Depot has no full magazine: refill one magazine from the global heap
 *      with kheap_alloc_batch (one heap lock acquisition).
 *   5. size > PERCPU_MAX_SMALL (32 KiB), or an alignment the classes do not
 *      serve (kmalloc_aligned): straight to the global heap. Sizes above
 *      5 KiB use classes and magazines too, but through the slow paths.
 *   6. Heap exhausted: its reclaim hook (ours) returns every cached block to
 *      it (this hart's at once, the depots', other harts' on request), and
 *      only then does the heap report OOM.
 * kfree runs the same path in reverse; a block freed on another hart goes
 * into the freeing hart's magazine, except a hart's first free of a class
 * it has never had a magazine for, which goes to the heap (Hoard's passive
 * false sharing: see percpu_cpu.seen in percpu_internal.h). Each depot
 * keeps at most PERCPU_DEPOT_MAX_FULL full magazines per class and returns
 * the excess to the heap, so no hart hoards without bound.
 *
 * Blocks cached in a magazine carry the heap's "cached" state in their tag,
 * so kfree of a block that is already sitting in a magazine is reported as
 * a double free (PORT_EXIT_MISUSE) by the heap. A block a magazine hands out
 * carries its size class in the tag's state lane instead (plain byte stores
 * by the owner, see <heap/heap_tag.h>), which is how kfree finds its slot.
 *
 * Cost of a hit: the kmalloc+kfree pair's RV64 instruction budget at the
 * default hardening level is PERCPU_HIT_PAIR_BUDGET in <percpu/config.h>,
 * which //percpu:hit_pair_budget_test enforces; README.md, "Hardening",
 * gives the count at each level.
 * Fast frees are not counted on the fast path; percpu_get_stats derives them.
 *
 * Every function may be called from any hart, in interrupt context too.
 */
#ifndef PERCPU_KMALLOC_H
#define PERCPU_KMALLOC_H

#include <heap/kheap.h>
#include <percpu/size_class.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum percpu_mode {
	PERCPU_MAGAZINES, /* the caches described above */
	PERCPU_BYPASS,    /* every request goes to the locked global heap */
};

/*
 * Call once, after kheap_init and before any other hart calls kmalloc.
 * Before kheap_init it is misuse, HEAP_ERR_UNINIT through the heap's
 * handler ("heap: use before init: ... (percpu_init before kheap_init)");
 * if the handler returns, percpu stays uninitialised. A second call is
 * misuse, HEAP_ERR_DOUBLE_INIT ("percpu_init"), and changes nothing.
 * Registers the heap's reclaim hook and OOM report extra, and the port's
 * kick handler (PERCPU_MAGAZINES only).
 */
void percpu_init(enum percpu_mode mode);

/* Panics with the heap's OOM report if the memory really is not there. */
void *kmalloc(size_t size);
/* The same, but returns NULL instead of panicking. */
void *kmalloc_try(size_t size);
/*
 * align: a power of two (0 means 16). align <= 16 is plain kmalloc; up to
 * 4096, with size + align - 16 <= PERCPU_MAX_SMALL and the pad align - 16
 * at most PERCPU_ALIGN_PAD_ANY or a PERCPU_ALIGN_PAD_DIV-th of size
 * (<percpu/config.h>), a class block of size + align - 16 is returned at
 * its first aligned address (an "offset tag" word below it leads kfree,
 * ksize, krealloc and kfree_sized back to the block; see aligned.c), so it
 * too hits the magazines; anything else goes to the heap. Any
 * other alignment (e.g. 12) is reported as misuse ("bad alignment", naming
 * the function called).
 * Panics on OOM. krealloc of an aligned block keeps only 16-byte alignment
 * (unless it stays in place), as the heap's does; krealloc_aligned keeps
 * align.
 */
void *kmalloc_aligned(size_t size, size_t align);
/* The same, but returns NULL instead of panicking. */
void *kmalloc_aligned_try(size_t size, size_t align);
void *kzalloc(size_t size);
/* n * size zeroed bytes; an overflowing product is reported as misuse. */
void *kcalloc(size_t n, size_t size);
/*
 * Resizes; krealloc(NULL, s) == kmalloc(s), krealloc(p, 0) frees p and
 * returns NULL. Returns NULL (p untouched) if the memory is not there.
 */
void *krealloc(void *p, size_t size);
/*
 * krealloc with the result aligned to align (kmalloc_aligned's rules; up to
 * 16 is krealloc): p stays when it is aligned and big enough, and not more
 * than twice what is asked; a heap block grows in place when it can. NULL p
 * allocates, size 0 frees; NULL (p untouched) if the memory is not there.
 */
void *krealloc_aligned(void *p, size_t size, size_t align);
void kfree(void *p);
/* size: what was asked for; a size larger than the block is misuse. */
void kfree_sized(void *p, size_t size);
/* Usable bytes of an allocated block (>= the size asked for). */
size_t ksize(const void *p);

/*
 * Returns everything cached to the global heap: this hart's magazines at
 * once, every depot, and every other active hart's magazines on request
 * (bounded wait; an active hart that never calls in keeps its cache).
 */
void percpu_drain(void);
/*
 * The same without the wait: this hart's magazines and every depot go back
 * at once, the other active harts are asked to flush theirs at their next
 * call (the shim's malloc_trim, which must not wait for idle threads).
 */
void percpu_trim(void);
/*
 * Drains, then checks that the heap's live block count equals caller_live
 * (the blocks the caller still holds) and that percpu_depot_bytes() is 0.
 * Prints the counts on a mismatch.
 */
bool percpu_check_drained(size_t caller_live);
/* Honours a pending flush request for this hart. Cheap when none is. */
void percpu_poll(void);
/*
 * This hart stops using kmalloc (host thread exit): its magazines that hold
 * rounds go to the depot while it has room (the next hart to use the class
 * takes them there), the rest back to the heap, and no other hart waits
 * for it.
 * It may call kmalloc again later.
 */
void percpu_hart_exit(void);

/*
 * fork() on a hosted port, around kheap's hooks (see <heap/kheap.h>):
 *   prepare: percpu_fork_prepare(), then kheap_fork_prepare()
 *   parent:  kheap_fork_parent(),  then percpu_fork_parent()
 *   child:   kheap_fork_child(),   then percpu_fork_child()
 * (the order of pthread_atfork in tools/bench/malloc_shim.c). prepare takes
 * every depot lock in class order, which is the order any path takes them
 * in (a path holds at most one, and never the heap lock with it); parent
 * releases them in reverse; child resets them and marks every other hart
 * inactive (its thread is gone: nobody waits for it to answer a flush) and
 * drops its slots, which may have been torn mid-update by the fork: their
 * blocks leak in the child, and the budget charges only the magazines the
 * child can reach (fork.c): its own slots, the depots, the orphan list.
 */
void percpu_fork_prepare(void);
void percpu_fork_parent(void);
void percpu_fork_child(void);

/*
 * The OOM report's lines from percpu (through kheap_set_report_extra):
 *   "  percpu: hart H caches N bytes"   for every active hart, 0 bytes too
 *   "  percpu: depots cache N bytes, harts N bytes, orphans N bytes; budget
 *    N bytes, charged N (most N)"
 *   "  percpu: hart H's last reclaim got back N bytes: N own, N from depots,
 *    N from other harts: A B"
 *   "  percpu: hart H's last flush request timed out; not answered by harts A B"
 *   (or "...: every active hart answered"; no line if H never asked)
 */

struct percpu_stats {
	uint64_t allocs;            /* blocks handed out by kmalloc & co. */
	uint64_t frees;             /* blocks taken back by kfree & co. */
	uint64_t alloc_hits;        /* allocs served by the fast path */
	uint64_t free_hits;         /* frees absorbed by the fast path */
	uint64_t swaps;             /* loaded <-> previous exchanges */
	uint64_t depot_exchanges;   /* magazine trades at a depot */
	uint64_t refills;           /* kheap_alloc_batch calls */
	uint64_t refill_blocks;     /* blocks they brought in */
	uint64_t returns;           /* kheap_free_batch calls (excess, flush) */
	uint64_t return_blocks;     /* blocks they gave back */
	uint64_t large_allocs;      /* requests sent straight to the heap */
	uint64_t large_frees;
	uint64_t flushes;           /* this hart emptied its magazines */
	uint64_t flush_requests;    /* flushes this hart asked of other harts */
	uint64_t lock_acquisitions; /* depot locks taken */
	uint64_t lock_spins;        /* spins waiting for them */
	uint64_t evictions;         /* classes given up for room in the budget */
	uint64_t shells_made;       /* magazine arrays from the heap */
	uint64_t shells_reused;     /* spare arrays that evictions left, taken */
};

/* A racy but consistent-enough snapshot of one hart's counters. */
void percpu_get_stats(unsigned hart, struct percpu_stats *out);
/* The sum over all harts. */
void percpu_sum_stats(struct percpu_stats *out);
/* Bytes sitting in hart's magazines (class sizes, a racy snapshot). */
size_t percpu_cached_bytes(unsigned hart);
/*
 * Bytes of the rounds the depots hold (full magazines, loose rounds). A
 * depot's loose rounds handed out since its last refill may still count
 * (depot.c, depot_bytes_all); after a drain it is exact.
 */
size_t percpu_depot_bytes(void);

/*
 * One class's depot, a racy snapshot: how often every hart together took
 * its lock and spun for it (a contended class is one whose magazines are
 * too small for its traffic: Bonwick grows them by this figure), and the
 * full magazines it holds. Summed over the classes, acquisitions and spins
 * are the harts' lock_acquisitions and lock_spins (struct percpu_stats).
 */
struct percpu_depot_stats {
	size_t class_size;
	uint64_t acquisitions;
	uint64_t spins;
	size_t full; /* full magazines held now (not the loose one) */
};
/* False, and *out zeroed, if cls >= PERCPU_NCLASSES. */
bool percpu_get_depot_stats(unsigned cls, struct percpu_depot_stats *out);
/*
 * One line through print: the depots' acquisitions and spins summed over
 * the classes, beside the harts' count of the same, and the three classes
 * whose depots were taken most. True if the two counts agree, as they must
 * while no hart is in percpu.
 */
bool percpu_report_depots(kheap_print_fn print);

/*
 * The caches' budget (<percpu/config.h>, budget.c): every magazine is
 * charged its rounds' class bytes plus its array from creation to
 * destruction, only if the charge fits, so cached_bytes <= charged <=
 * budget at all times (charged_max is the high water of charged).
 */
struct percpu_cache_stats {
	size_t budget;       /* bytes: PERCPU_CACHE_BUDGET_PCT of the heap, or set */
	size_t charged;      /* bytes charged to magazines now */
	size_t charged_max;  /* the most charged at once (percpu_reset_cache_max) */
	size_t cached_bytes; /* blocks cached now: harts + depots + orphans */
	size_t hart_bytes, depot_bytes, orphan_bytes;
	unsigned active_harts;
};
void percpu_get_cache_stats(struct percpu_cache_stats *st);
void percpu_reset_cache_max(void);
/* Overrides the derived budget (bytes; 0: back to the derived one). */
void percpu_set_cache_budget(size_t bytes);
/*
 * How long a reclaim that may wait (KHEAP_RECLAIM_WAIT) waits for other
 * harts to answer, in microseconds (default PERCPU_FLUSH_WAIT_US). 0: ask,
 * take what is there, never wait.
 */
void percpu_set_flush_wait_us(uint64_t us);
/*
 * The depots' working-set interval (default PERCPU_DEPOT_REAP_US): what a
 * depot did not need for that long goes back to the heap. 0: never.
 */
void percpu_set_depot_reap_us(uint64_t us);

/*
 * A second cache over the same heap (the page API's pages_reclaim): percpu's
 * reclaim hook calls fn after its own, at both levels, without the heap lock
 * and with interrupts as the failing allocation had them; true means fn gave
 * memory back. One at a time; set once at init (NULL: none).
 */
void percpu_set_reclaim_extra(bool (*fn)(void));

/*
 * Testing only: false stops the reclaim hook from asking other harts to
 * flush (their caches then stay put), to show that a test needs it.
 */
void percpu_test_set_remote_flush(bool enabled);

#endif /* PERCPU_KMALLOC_H */
