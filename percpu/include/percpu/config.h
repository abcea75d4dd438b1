/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * percpu's build options (Pigweed's config.h style): each has its default
 * here, and a build overrides it with a define, e.g. copts or defines
 * ["PERCPU_HARDEN=0"] on a cc_library, or --copt=-DPERCPU_HARDEN=0.
 */
#ifndef PERCPU_CONFIG_H
#define PERCPU_CONFIG_H

#include <heap/hardening.h>

/*
 * What kfree's fast path checks follows HEAP_HARDENING (<heap/hardening.h>,
 * `--define hardening=N`); PERCPU_HARDEN is that level, kept as percpu's
 * name for it.
 *
 *   0  The state byte alone (p - 7): a class value sends the block into the
 *      magazine. A foreign pointer (stack, global) or an interior pointer
 *      whose byte at p - 7 happens to be a class value (about 1 random byte
 *      in 9) is cached silently instead of reported.
 *   1  (default) First p inside the heap's filter, kheap_bounds_'s [lo,
 *      lo + span) (the first region and those claimed right above it),
 *      before any load through p (NULL is outside too): a wild or foreign
 *      pointer goes to the slow path, which takes a block of another
 *      region (kheap_in_regions) and sends the rest to the heap, which
 *      names it.
 *   2  Also the top bit of the check lane, set in every valid tag: an
 *      interior pointer passes only if its fake tag has a class value and
 *      the top bit set (about 1 in 18 random interior pointers); and the
 *      state lane is exchanged atomically, so of two harts freeing one
 *      pointer at once exactly one caches it.
 *
 * The hit pair's budget, in RV64 instructions at the default level, as
 * shipped (the linked S-mode kernel, gcc 12 -O2): //percpu:hit_pair_budget_test
 * counts kmalloc's and kfree's hit paths in //tools/bench/qemu:bench_kernel
 * and fails above it. The count at each level: README.md, "Hardening".
 */
#ifndef PERCPU_HARDEN
#define PERCPU_HARDEN HEAP_HARDENING
#endif
#define PERCPU_HIT_PAIR_BUDGET 40

/*
 * The caches' budget (budget.c): everything that magazines and depots hold,
 * their round arrays included, stays under PERCPU_CACHE_BUDGET_PCT percent
 * of the heap's claimed bytes (kheap_capacity(), so it grows with
 * kheap_claim), at any hart count. 5% of the 16 MiB kernel heap is about
 * 820 KiB: past the depots' slice (PERCPU_DEPOT_BUDGET_PCT), 154 KiB a
 * hart at 4 harts, 4.8 KiB at 128 (budget.c, hart_share).
 * percpu_set_cache_budget() overrides it at run time. Cached runs leave
 * holes behind when the reclaim flushes them: talc's heap-efficiency
 * workload through kmalloc filled a 32 MiB heap to 96.40% at 6%, 96.53%
 * at 5%, 96.77% at 4%, 96.99% at 3% (the core alone: 97.35%; issue 14
 * asks for 96.5%). Measured before the
 * growing refills and krealloc's hand-over past 32 KiB; today's figure is
 * in tools/bench/README.md.
 */
#ifndef PERCPU_CACHE_BUDGET_PCT
#define PERCPU_CACHE_BUDGET_PCT 5
#endif

/*
 * The depots' slice of the budget, in percent: full magazines a depot would
 * keep past it go back to the heap. The harts share the rest.
 */
#ifndef PERCPU_DEPOT_BUDGET_PCT
#define PERCPU_DEPOT_BUDGET_PCT 25
#endif

/*
 * A hart's fair share of the budget is (what the depots' slice leaves) /
 * active harts; one new
 * magazine is charged at most share / PERCPU_MAG_SHARE_DIV (and at most half
 * of what the share has left), so a hart's share spreads over the classes it
 * uses instead of going to the first few. Both ways cost: the default
 * `bazel run //tests:qemu_smp` took 70.6 s and 1.33 M heap-lock
 * acquisitions at 4 (fewer, bigger magazines: more LRU evictions) against
 * 42.4 s and 818 k at 16, and ran out of 106 KB blocks at 32 (more classes
 * cached: their blocks pin more places in the heap).
 */
#ifndef PERCPU_MAG_SHARE_DIV
#define PERCPU_MAG_SHARE_DIV 16
#endif

/*
 * A hart's share is the harts' budget divided by at least this many harts:
 * one hart caching the whole budget fragments the heap more than the same
 * bytes spread over harts (//tests:host_stress at 1 and 2 harts, fill 50%,
 * ran out of 128 KiB blocks with a share of 768 KiB and passes at 192 KiB).
 */
#ifndef PERCPU_SHARE_MIN_HARTS
#define PERCPU_SHARE_MIN_HARTS 4
#endif

/*
 * The fewest rounds worth a magazine (or the class's table size if that is
 * less): a class whose fair magazine would be smaller is not cached at that
 * share, rather than take the room of small classes that hit far more per
 * byte. PERCPU_MAG_USEFUL_ROUNDS for a class whose rounds are charged more
 * than the floor (PERCPU_ROUND_CHARGE_MIN: above about 1 KiB on 16 MiB);
 * PERCPU_MAG_USEFUL_ROUNDS_SMALL for one charged the floor, where a round
 * costs the budget the same whatever the class.
 *
 * Small classes at 2, not 4: at 16 harts on the 16 MiB kernel heap a
 * magazine may be charged about 2.4 KiB (a sixteenth of the share), two
 * rounds at the floor, so at 4 no class was cached from about 12 harts
 * up. `qemu_smp --smp 16` (fill 50 and 60): calls served without a lock
 * 1-2% -> 45%, heap-lock acquisitions 921 k -> 690 k, depot exchanges
 * 498 k -> 52 k; every N from 9 to 18 harts 43-53% (fill 50 and 60
 * passed); 1 to 8 harts unchanged (their fair magazines hold 4 or more),
 * 20 harts and up too (a sixteenth of their share is under 2 rounds).
 * Every class at 2 cost heap efficiency through the magazines
 * (tools/bench:heap_efficiency, mag32 96.60% -> 96.17%; issue 14 asks for
 * 96.5%): a big class's rounds pin more of the heap each. Every class at
 * 1: a depot exchange every other miss. Figures: tools/bench/README.md,
 * "Caching at 9-18 harts".
 */
#ifndef PERCPU_MAG_USEFUL_ROUNDS
#define PERCPU_MAG_USEFUL_ROUNDS 4
#endif
#ifndef PERCPU_MAG_USEFUL_ROUNDS_SMALL
#define PERCPU_MAG_USEFUL_ROUNDS_SMALL 2
#endif

/*
 * The depots' loose magazines (depot.c): a class that harts do not cache
 * at their share (big classes at 4 harts, most classes at 128 on 16 MiB)
 * is allocated one round at a time from its depot's loose magazine, under
 * the class's lock, refilled from the heap in runs: 40 class locks and one
 * heap call per run instead of the heap lock for every allocation. Its
 * frees go to the heap, one by one: when they went back into the loose
 * magazine, its rounds were handed out again wherever they lay, small
 * live islands in holes that would have merged, and the 16-hart stress at
 * fill 60% ran out of 128 KiB blocks in 3-5 runs of 8 (the smallest
 * largest free block 0.1-1.6 MB; 0 of 8 and 2.3-3.1 MB with frees to the
 * heap, like the 2.7-3.6 MB of no magazines at all; 1.0 million heap-lock
 * acquisitions against 0.4-0.7 million, 3.2-5.6 s against 2.4-3.8 s at 16
 * to 64 harts). One loose magazine costs at most the depots' slice /
 * PERCPU_LOOSE_DIV (charged to the budget like any magazine); a class
 * whose loose magazine would hold fewer than PERCPU_LOOSE_MIN_ROUNDS goes
 * to the heap.
 */
#ifndef PERCPU_LOOSE_DIV
#define PERCPU_LOOSE_DIV 4
#endif
/*
 * Only classes up to this size have a loose magazine: big blocks parked in
 * a shared magazine pin holes that large requests need (host stress at 4
 * harts, fill 50%: loose magazines of the 4..28 KiB classes ran the heap
 * out of 110 KiB blocks in every seed; up to 4 KiB, //tools/bench:frag's
 * fill_ratio_8h fell to 0.85). At 1 KiB they serve only where
 * harts cache little (16 harts and up on 16 MiB), and above it an
 * uncached class goes to the heap.
 */
#ifndef PERCPU_LOOSE_MAX_SIZE
#define PERCPU_LOOSE_MAX_SIZE 1024
#endif
#ifndef PERCPU_LOOSE_MIN_ROUNDS
#define PERCPU_LOOSE_MIN_ROUNDS 2
#endif

/*
 * 1: a loose magazine's run from the heap is taken with its depot unlocked
 * (the other harts that want the class meanwhile go to the heap); 0: under
 * the depot's lock, so they wait for the run. Where lock waiters poll (the
 * RISC-V ports: PORT_WAIT_ON_WAKES 0, <platform/port.h>), every hart
 * queued on the class's lock behind a holder that waits for the heap lock
 * holds a CPU the holders may need: unlocked, `qemu_smp` ran faster at 32
 * to 128 harts. Where waiters sleep (the host's futex) a waiter costs
 * nothing and the run serves it: unlocked, the host ran slower. Figures:
 * tools/bench/README.md ("Later, the same date").
 */
#ifndef PERCPU_LOOSE_REFILL_UNLOCKED
#define PERCPU_LOOSE_REFILL_UNLOCKED (!PORT_WAIT_ON_WAKES)
#endif

/*
 * A hart with no room in its share for a new magazine gives up the
 * magazines of its least recently used class, at most this many classes
 * per new magazine, before it leaves the class uncached for now.
 */
#ifndef PERCPU_EVICT_TRIES
#define PERCPU_EVICT_TRIES 2
#endif

/*
 * Spare magazine shells a hart keeps from its evictions for its next new
 * magazines (percpu_cpu.spares). An eviction and the magazine that takes
 * its room then cost the heap lock once, for the rounds, instead of also
 * once for the new array (//tests:host_stress at 4 harts: 153 k of 605 k
 * heap-lock acquisitions were new arrays). Each is charged as its array's
 * bytes; a flush to the heap frees them in one call.
 */
#ifndef PERCPU_SPARE_SHELLS
#define PERCPU_SPARE_SHELLS 2
#endif

/*
 * Depot working-set interval (Bonwick's kmem_depot_ws_reap): magazines a
 * depot did not need during one interval go back to the heap.
 */
#ifndef PERCPU_DEPOT_REAP_US
#define PERCPU_DEPOT_REAP_US 100000
#endif

/*
 * How long a flush requester waits for the others (KHEAP_RECLAIM_WAIT), in
 * microseconds; percpu_set_flush_wait_us() changes it at run time. Long
 * enough for an idle hart's IPI at 64 harts on 2 host cores, or a preempted
 * host thread; short enough that a hart stuck with interrupts masked only
 * delays the OOM report.
 */
#ifndef PERCPU_FLUSH_WAIT_US
#define PERCPU_FLUSH_WAIT_US 1000000
#endif

/*
 * The largest magazine of each class (percpu_class_rounds, size_class.c
 * computes it from these; the budget may make a magazine smaller): about
 * PERCPU_MAG_BYTES of blocks for the fast classes, at least
 * PERCPU_MAG_MIN_ROUNDS, at most PERCPU_MAG_MAX_ROUNDS (a round count is a
 * uint8_t). Classes <= 256 bytes get 64..255 rounds: a hart trades at the
 * depot once per 64..255 operations instead of every 16..64 (host prodcons,
 * 2 threads: see the commit that set it). budget.c also caps a magazine's
 * blocks at PERCPU_MAG_BYTES (a big class's: PERCPU_BIG_MAG_CAP_BYTES).
 */
#ifndef PERCPU_MAG_BYTES
#define PERCPU_MAG_BYTES 16384
#endif
#ifndef PERCPU_MAG_MIN_ROUNDS
#define PERCPU_MAG_MIN_ROUNDS 8
#endif
#ifndef PERCPU_MAG_MAX_ROUNDS
#define PERCPU_MAG_MAX_ROUNDS 255
#endif

/*
 * A hart's first refill of a class takes this many rounds from the heap (or
 * the magazine's capacity, if smaller), and each refill of the class after
 * it twice the last, up to the capacity; emptying the class's slot (a flush
 * or an eviction) starts it again. A class a hart uses a little so carves
 * a few blocks, not a whole magazine of memory nobody touches, while one it
 * keeps missing reaches whole magazines after a few refills (jemalloc's
 * thread caches grow their fill counts with misses in the same way).
 *
 * 2 for the kernel. On the 16 MiB heap a hart that uses many classes
 * evicts one to cache another (depot.c, evict_lru), and each class then
 * starts again: at 16 its first refill was a whole magazine for most
 * classes above 1 KiB, carved and soon given back. With 2, in
 * `bazel run //tools/bench:qemu` at 1 hart, the magazines ran 29% fewer
 * instructions per random action at max 1000, 26% at 3000, 21% on larson
 * and 14% on producer/consumer (random at max 200 +1%, the hit pair the
 * same); wall clock (MTTCG, 1 hart) +46% at max 1000 and +36% at 3000.
 * 4 gave about two thirds of that, 8 little. The shim keeps 16
 * (tools/shim/BUILD): measured with the thread benchmark
 * (tools/shim/README.md), 16 cut its peak RSS at 1 to 8 threads by a
 * fifth to a half at the same speed; 4 and 8 cut a little more but cost
 * 2-6% (more loaded/previous swaps in the classes of 8 rounds).
 */
#ifndef PERCPU_REFILL_FIRST_ROUNDS
#define PERCPU_REFILL_FIRST_ROUNDS 2
#endif

/* The big classes (above PERCPU_MAX_FAST): about this many bytes a
 * magazine, PERCPU_BIG_MAG_MIN_ROUNDS..PERCPU_BIG_MAG_MAX_ROUNDS rounds. */
#ifndef PERCPU_BIG_MAG_BYTES
#define PERCPU_BIG_MAG_BYTES 65536
#endif
#ifndef PERCPU_BIG_MAG_MIN_ROUNDS
#define PERCPU_BIG_MAG_MIN_ROUNDS 2
#endif
#ifndef PERCPU_BIG_MAG_MAX_ROUNDS
#define PERCPU_BIG_MAG_MAX_ROUNDS 8
#endif

/*
 * The most bytes of blocks a big class's magazine holds, whatever its
 * table's rounds (budget.c, fair_rounds; the fast classes' cap is
 * PERCPU_MAG_BYTES). The kernel's default is the fast classes' 16 KiB, so
 * no big class gets a magazine on its heaps (fewer rounds fit than
 * percpu_useful_rounds asks): no fragmentation run has measured big blocks
 * pinned in magazines there. The shim raises it, and PERCPU_BIG_MAG_BYTES
 * (tools/shim/BUILD).
 */
#ifndef PERCPU_BIG_MAG_CAP_BYTES
#define PERCPU_BIG_MAG_CAP_BYTES PERCPU_MAG_BYTES
#endif

/* Full magazines a depot keeps per class; the excess goes back to the heap. */
#ifndef PERCPU_DEPOT_MAX_FULL
#define PERCPU_DEPOT_MAX_FULL 4
#endif
/* Empty magazines a depot keeps per class; the excess is freed. */
#ifndef PERCPU_DEPOT_MAX_EMPTY
#define PERCPU_DEPOT_MAX_EMPTY 8
#endif

/*
 * kmalloc_aligned pads a class block by align - 16 bytes only while the pad
 * is at most 1/PERCPU_ALIGN_PAD_DIV of the request, or at most
 * PERCPU_ALIGN_PAD_ANY bytes whatever the request (alignments up to 128:
 * a cache line or two); beyond that the heap cuts an exactly aligned block
 * (its lock, no waste). Padding every request cost the 8-hart stress about
 * 0.5 MB of a 16 MiB heap (15% of its requests aligned to 16..4096) and,
 * with it, the large free blocks. Small requests at small alignments sent
 * to the heap took its lock for 3% of the allocations of the host's random
 * actions (talc's mix: 6% of them aligned to 32..2048, most small), which at 2
 * threads cost a third of the throughput whenever a lock holder lost its
 * core: `alloc_bench -w random -t 2`, 43 against 66 Mops in one such run.
 */
#ifndef PERCPU_ALIGN_PAD_DIV
#define PERCPU_ALIGN_PAD_DIV 4
#endif
#ifndef PERCPU_ALIGN_PAD_ANY
#define PERCPU_ALIGN_PAD_ANY 112
#endif

/*
 * Every cached round is charged at least heap size >> 14 bytes (its block
 * and pointer, if more), and at most PERCPU_ROUND_CHARGE_MIN: 1024 from a
 * 16 MiB heap up, 256 on a 4 MiB one. A cached block keeps its place in the
 * heap allocated, whatever its size: 400 KB of budget spent on 16..256-byte
 * rounds is some 4,000 such pins spread over a 16 MiB heap, and the stress
 * at fill 50% then ran out of 128 KiB holes (largest free block 60..120 KB
 * with 7+ MB free) at 4 and 8 harts; at 512 a 100-million-operation run
 * still did. At 1024 the 8-hart stress keeps a free block of 3+ MB at all
 * times, as the heap alone does (4.5 MB), and 100 million operations at 4
 * harts pass. Fixed at percpu_init.
 */
#ifndef PERCPU_ROUND_CHARGE_MIN
#define PERCPU_ROUND_CHARGE_MIN 1024
#endif
#ifndef PERCPU_ROUND_CHARGE_HEAP_SHIFT
#define PERCPU_ROUND_CHARGE_HEAP_SHIFT 14
#endif

#endif /* PERCPU_CONFIG_H */
