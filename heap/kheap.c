// SPDX-License-Identifier: BSD-2-Clause
/*
 * The locked global heap: the core behind one ticket lock (irqsave), a
 * use-before-init check, the reclaim and OOM hooks, and misuse reporting.
 * The policy is stated in <heap/kheap.h>. Hooks and handlers always run with
 * the lock released; the lock only ever covers calls into the core.
 */
#include <heap/hardening.h>
#include <heap/kheap.h>
#include <platform/fault.h>
#include <platform/port.h>
#include <platform/ticket_lock.h>

#include "heap_internal.h"

static struct {
	ticket_lock_t lock;
	struct heap heap;             /* under lock */
	unsigned long acquisitions;   /* under lock */
	unsigned long spins;          /* under lock (added after acquiring) */
	kheap_oom_hook_t oom;         /* hooks: under lock, called outside it */
	void *oom_ctx;
	kheap_reclaim_hook_t reclaim;
	void *reclaim_ctx;
	kheap_batch_hook_t batch;
	void *batch_ctx;
	kheap_report_extra_fn extra;
	unsigned long deferred_frees; /* under lock: frees left to a holder */
	enum heap_error deferred_err; /* under lock: a drain's first failure, */
	void *deferred_err_ptr;       /* its block, */
	size_t deferred_errs;         /* and how many failed: for unlock() */
} g = { .lock = TICKET_LOCK_INIT };

/*
 * Set once by kheap_init, read without the lock on every call. Release in
 * init / acquire in the check: a hart that sees it set also sees the heap
 * that was built before it (the lock then orders everything after).
 */
static bool inited;

static void default_misuse(enum heap_error err, void *ptr, size_t size, const char *where);
/* Read and written with relaxed atomics: only the pointer value matters. */
static kheap_misuse_fn misuse_handler = default_misuse;

/*
 * On RISC-V in the small-data section, next to __global_pointer$: the
 * linker's relaxation then turns each of kfree's two loads of it from
 * auipc + ld into one gp-relative ld (kernels set gp at boot, as Linux does).
 */
#if defined(__riscv)
__attribute__((section(".sdata.kheap_bounds")))
#endif
struct kheap_bounds kheap_bounds_;
/* heap_bytes, for kheap_capacity: written under the lock, read relaxed. */
static size_t capacity;

/*
 * The claimed regions, for in_hull's test before any load through a
 * pointer: the core's list (current region first), its head published here
 * after every init and claim. The hull alone is not enough: between two
 * regions it covers memory that is nobody's, maybe unmapped or a device.
 * kheap never extends or truncates a region, so a region's header, once
 * published, never changes, and a reader that loads the head with acquire
 * may walk the list with plain loads.
 */
static struct heap_region *regions_pub;
/*
 * The hull's end, for in_hull: kheap_bounds_ keeps hull_lo and hull_span,
 * and a claim below every region moves hull_lo down and hull_span up, so a
 * hart that loads the pair between the two stores gets the new hull_lo
 * with the old hull_span, a hull that misses the top of the old regions: a
 * good block there was named "double free" (level 2's claim) or,
 * offset-tagged, an interior pointer. hull_lo only ever goes down and this
 * end only up (kheap never truncates), so any mix of old and new values of
 * these two covers every region the caller can know of.
 */
static uintptr_t hull_hi;

/*
 * kheap_bounds_'s filter, [filter_lo, filter_hi): the first region from its
 * second word, grown by every region claimed right at its end. Under the
 * lock.
 */
static uintptr_t filter_lo, filter_hi;

/* Under the lock, after the regions changed: see <heap/kheap.h>. */
static void publish_bounds(void)
{
	/* Release: the headers of every region are written before the head. */
	__atomic_store_n(&regions_pub, g.heap.regions, __ATOMIC_RELEASE);
	uintptr_t lo = g.heap.lo, hi = g.heap.hi;
	__atomic_store_n(&kheap_bounds_.hull_lo, lo, __ATOMIC_RELAXED);
	__atomic_store_n(&kheap_bounds_.hull_span, hi > lo ? hi - lo : 0, __ATOMIC_RELAXED);
	/* Relaxed: a filter as the pair; the regions' head above is the release. */
	__atomic_store_n(&hull_hi, hi, __ATOMIC_RELAXED);
	/*
	 * The filter: the first region's (the only one on the list when
	 * filter_hi is still 0), then on over the regions that start where it
	 * ends. lo is stored once, before the first nonzero span; after that
	 * only span grows. Not the hull, which may cover gaps: a kfree of a
	 * pointer in one faulted on its tag's load (//percpu:wild_gap_test).
	 */
	struct heap_region *r = g.heap.regions;
	if (!filter_hi && r) {
		filter_lo = (uintptr_t)r + W;
		filter_hi = r->end;
		__atomic_store_n(&kheap_bounds_.lo, filter_lo, __ATOMIC_RELAXED);
	}
	for (bool grew = true; grew;) {
		grew = false;
		for (r = g.heap.regions; r; r = r->next)
			if ((uintptr_t)r == filter_hi) {
				filter_hi = r->end;
				grew = true;
			}
	}
	/*
	 * Relaxed: a reader pairing the old lo (0) with this first span
	 * could only happen during the first claim, when no block exists.
	 */
	__atomic_store_n(&kheap_bounds_.span, filter_hi - filter_lo, __ATOMIC_RELAXED);
	/* Relaxed: a size for budgets; it orders nothing. */
	__atomic_store_n(&capacity, g.heap.st.heap_bytes, __ATOMIC_RELAXED);
}

size_t kheap_capacity(void)
{
	return __atomic_load_n(&capacity, __ATOMIC_RELAXED);
}

const void *kheap_lock_id(void)
{
	return &g.lock;
}

/*
 * Deferred frees. A kheap_free that finds the heap lock taken does not wait
 * for it: it claims its block (state HEAP_STATE_CACHED, so a second free of
 * it is named a double free, as for a block in a magazine), pushes it on
 * this lock-free stack, linked through the block's first payload word, and
 * returns. Whoever takes the lock next frees them all first (lock()), so
 * every heap operation, stats and reports included, sees them freed; the
 * frees cost the holder a list walk instead of a lock handover each.
 * The block's second payload word keeps the state the claim replaced (and
 * the offset of the offset-tagged pointer freed, if that was one), for a
 * free that fails (a tag or canary damaged meanwhile): the block then
 * stays allocated, with that state (and the pointer's live offset tag)
 * back, and unlock() names it.
 */
static void *deferred; /* atomic: the stack's top */

/*
 * A free of the offset-tagged pointer b + off (off 0: none) failed and left
 * b its owner's: so is the pointer, for the owner's own free later.
 */
static void offset_unfree(void *b, size_t off)
{
	if (off)
		heap_tag_set_state((char *)b + off, KHEAP_STATE_OFFSET);
}

/* The claimed block p (its state was `was`; freed as p + off) goes on the stack. */
static void defer(void *p, unsigned was, size_t off)
{
	void **words = p;
	words[1] = (void *)((uintptr_t)was | (uintptr_t)off << 8);
	/* Relaxed load; the CAS below publishes both words (release). */
	void *top = __atomic_load_n(&deferred, __ATOMIC_RELAXED);
	do
		words[0] = top;
	while (!__atomic_compare_exchange_n(&deferred, &top, p, true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED));
}

/*
 * Under the lock: frees every deferred block. Takes the whole stack at once
 * (acquire: pairs with the pushes' release, so their links and claims are
 * seen); no pop of single nodes, so no ABA. The first failure and the
 * number of them are kept for unlock() to report.
 */
static __attribute__((noinline, cold)) void drain_deferred(void)
{
	void *p = __atomic_exchange_n(&deferred, NULL, __ATOMIC_ACQUIRE);
	while (p) {
		void **words = p;
		void *next = words[0];
		uintptr_t undo = (uintptr_t)words[1];
		enum heap_error e = heap_free_claimed(&g.heap, p);
		if (e != HEAP_OK) {
			heap_tag_set_state(p, undo & 0xffu); /* not freed: its state back */
			offset_unfree(p, undo >> 8);
			if (!g.deferred_errs++) {
				g.deferred_err = e;
				g.deferred_err_ptr = p;
			}
		}
		g.deferred_frees++;
		p = next;
	}
}

/*
 * Just after taking the lock: counted, and the deferred frees done. Inline,
 * with the drain out of line: every heap call passes here, and as one
 * function it was not inlined and cost a frame of 7 saved registers
 * (26 RV64 instructions) per lock (//tools/bench:qemu, baseline hit pair
 * 690 -> 789 instructions).
 */
static inline void acquired(void)
{
	g.acquisitions++;
	/* Relaxed: a hint; drain_deferred's exchange is what orders. */
	if (__atomic_load_n(&deferred, __ATOMIC_RELAXED))
		drain_deferred();
}

static inline port_irqflags_t lock(void)
{
	port_irqflags_t f = ticket_lock_irqsave(&g.lock, &g.spins);
	acquired();
	return f;
}

static void misuse(enum heap_error err, void *ptr, size_t size, const char *where);

/*
 * unlock()'s rare path, out of line for the same reason as the drain:
 * releases the lock, then names the first deferred free that failed, with
 * how many did as the size.
 */
static __attribute__((noinline, cold)) void unlock_naming_deferred(port_irqflags_t f)
{
	size_t failed = g.deferred_errs;
	enum heap_error err = g.deferred_err;
	void *ptr = g.deferred_err_ptr;
	g.deferred_errs = 0;
	ticket_unlock_irqrestore(&g.lock, f);
	misuse(err, ptr, failed, "kheap_free (deferred)");
}

/*
 * HEAP_HARDENING >= 3 (paranoid, Zephyr's extreme level): the whole-heap
 * validator runs before every release of the heap lock, so a corruption is
 * named at the first heap operation after it (the per-hart caches' hits do
 * not take the lock), as "corrupted tag" with the number of errors as the
 * size and where "kheap (paranoid validation)", instead of being followed.
 * O(heap) per operation: for finding a bug, not for shipping.
 */
static inline void unlock(port_irqflags_t f)
{
#if HEAP_HARDENING >= 3
	size_t errors = heap_validate(&g.heap, NULL, NULL);
#endif
#if HEAP_HARDENING >= 2
	/* A free-list link the operation found corrupted (and did not follow). */
	uintptr_t bad_link = heap_take_link_error(&g.heap);
#endif
	if (__builtin_expect(g.deferred_errs != 0, 0))
		unlock_naming_deferred(f); /* a deferred free failed */
	else
		ticket_unlock_irqrestore(&g.lock, f);
#if HEAP_HARDENING >= 3
	if (errors)
		misuse(HEAP_ERR_CORRUPT_TAG, NULL, errors, "kheap (paranoid validation)");
#endif
#if HEAP_HARDENING >= 2
	if (bad_link)
		misuse(HEAP_ERR_CORRUPT_LINK, (void *)bad_link, 0, "kheap (free-list link)");
#endif
}

/* ---- misuse ---------------------------------------------------------- */

static void default_misuse(enum heap_error err, void *ptr, size_t size, const char *where)
{
	port_panic(PORT_EXIT_MISUSE, "heap: %s: ptr %p size %zu (%s)",
		   heap_error_name(err), ptr, size, where);
}

static void misuse(enum heap_error err, void *ptr, size_t size, const char *where)
{
	kheap_misuse_fn fn = __atomic_load_n(&misuse_handler, __ATOMIC_RELAXED);
	fn(err, ptr, size, where);
}

void kheap_report_misuse(enum heap_error err, void *ptr, size_t size, const char *where)
{
	misuse(err, ptr, size, where);
}

kheap_misuse_fn kheap_set_misuse_handler(kheap_misuse_fn fn)
{
	return __atomic_exchange_n(&misuse_handler, fn ? fn : default_misuse,
				   __ATOMIC_RELAXED);
}

/* False (after reporting) if kheap_init has not run. */
static bool ready(const char *where)
{
	/* Acquire: pairs with the release in kheap_init. */
	if (__atomic_load_n(&inited, __ATOMIC_ACQUIRE))
		return true;
	misuse(HEAP_ERR_UNINIT, NULL, 0, where);
	return false;
}

/* ---- regions --------------------------------------------------------- */

void kheap_init(void *start, void *end)
{
	if (__atomic_load_n(&inited, __ATOMIC_ACQUIRE)) {
		misuse(HEAP_ERR_DOUBLE_INIT, start, 0, "kheap_init");
		return;
	}
#if HEAP_HARDENING >= 2
	/* The per-boot secret of canaries and free-list links, before any heap. */
	heap_set_secret(port_entropy());
#endif
	port_irqflags_t f = lock();
	enum heap_error e = heap_init(&g.heap, start, end);
	publish_bounds();
	unlock(f);
	/* Release: publishes the initialised heap to harts that check `inited`. */
	__atomic_store_n(&inited, true, __ATOMIC_RELEASE);
	if (e != HEAP_OK)
		misuse(e, start, (size_t)((char *)end - (char *)start), "kheap_init");
}

void kheap_claim(void *start, void *end)
{
	if (!ready("kheap_claim"))
		return;
	port_irqflags_t f = lock();
	enum heap_error e = heap_claim(&g.heap, start, end);
	publish_bounds();
	unlock(f);
	if (e != HEAP_OK)
		misuse(e, start, (size_t)((char *)end - (char *)start), "kheap_claim");
}

enum heap_error kheap_try_claim(void *start, void *end)
{
	if (!ready("kheap_try_claim"))
		return HEAP_ERR_UNINIT;
	port_irqflags_t f = lock();
	enum heap_error e = heap_claim(&g.heap, start, end);
	if (e == HEAP_OK)
		publish_bounds();
	unlock(f);
	return e;
}

/* ---- hooks and reports ----------------------------------------------- */

void kheap_set_oom_hook(kheap_oom_hook_t fn, void *ctx)
{
	port_irqflags_t f = lock();
	g.oom = fn;
	g.oom_ctx = ctx;
	unlock(f);
}

void kheap_set_reclaim_hook(kheap_reclaim_hook_t fn, void *ctx)
{
	port_irqflags_t f = lock();
	g.reclaim = fn;
	g.reclaim_ctx = ctx;
	unlock(f);
}

void kheap_set_batch_hook(kheap_batch_hook_t fn, void *ctx)
{
	port_irqflags_t f = lock();
	g.batch = fn;
	g.batch_ctx = ctx;
	unlock(f);
}

/*
 * The release hook, read without the lock on every free of a block: fn
 * with release in the setter; hook_for reads it relaxed and, only when
 * it is set, again with acquire, so a hart that sees fn also sees its ctx
 * and minimum (written before it, relaxed) and a hart with no hook pays
 * no fence (RISC-V's acquire load is a load and a fence).
 */
static kheap_release_hook_t release_fn;
static void *release_ctx;
static size_t release_min;

void kheap_set_release_hook(kheap_release_hook_t fn, void *ctx, size_t min_usable)
{
	__atomic_store_n(&release_ctx, ctx, __ATOMIC_RELAXED);
	__atomic_store_n(&release_min, min_usable, __ATOMIC_RELAXED);
	__atomic_store_n(&release_fn, fn, __ATOMIC_RELEASE);
}

void kheap_set_report_extra(kheap_report_extra_fn fn)
{
	port_irqflags_t f = lock();
	g.extra = fn;
	unlock(f);
}

void kheap_get_stats(struct kheap_stats *st)
{
	port_irqflags_t f = lock();
	heap_get_stats(&g.heap, &st->heap);
	st->lock_acquisitions = g.acquisitions;
	st->lock_spins = g.spins;
	st->deferred_frees = g.deferred_frees;
	unlock(f);
}

size_t kheap_trim(void (*fn)(void *ctx, void *start, size_t len), void *ctx)
{
	if (!ready("kheap_trim"))
		return 0;
	port_irqflags_t f = lock();
	size_t n = heap_free_spans(&g.heap, fn, ctx);
	unlock(f);
	return n;
}

/*
 * The validator's findings, collected under the lock and reported after it:
 * a report callback may print, allocate or free (issue 12: one that
 * allocated under the lock deadlocked on it).
 */
struct validate_log {
	size_t n; /* findings kept, <= KHEAP_VALIDATE_MAX_REPORTS */
	const char *msg[KHEAP_VALIDATE_MAX_REPORTS]; /* heap_validate's literals */
	void *addr[KHEAP_VALIDATE_MAX_REPORTS];
};

static void validate_collect(void *ctx, const char *msg, void *addr)
{
	struct validate_log *log = ctx;
	if (log->n < KHEAP_VALIDATE_MAX_REPORTS) {
		log->msg[log->n] = msg;
		log->addr[log->n] = addr;
		log->n++;
	}
}

size_t kheap_validate(void (*report)(void *ctx, const char *msg, void *addr), void *ctx)
{
	struct validate_log log;

	if (!ready("kheap_validate"))
		return 1;
	log.n = 0;
	port_irqflags_t f = lock();
	size_t n = heap_validate(&g.heap, report ? validate_collect : NULL, &log);
	unlock(f);
	for (size_t i = 0; report && i < log.n; i++)
		report(ctx, log.msg[i], log.addr[i]);
	return n;
}

void kheap_report(kheap_print_fn print)
{
	struct kheap_stats st;
	kheap_report_extra_fn extra;

	kheap_get_stats(&st);
	port_irqflags_t f = lock();
	extra = g.extra;
	unlock(f);
	print("heap: heap size %zu bytes in %zu regions: %zu bytes in use by %zu "
	      "allocations, %zu bytes free in %zu blocks, largest free block %zu bytes\n",
	      st.heap.heap_bytes, st.heap.regions, st.heap.bytes_in_use,
	      st.heap.live_allocs, st.heap.bytes_free, st.heap.free_blocks,
	      st.heap.largest_free);
	print("heap: high water %zu, %zu allocs and %zu frees so far; "
	      "lock: %lu acquisitions, %lu spins\n",
	      st.heap.high_water, st.heap.total_allocs, st.heap.total_frees,
	      st.lock_acquisitions, st.lock_spins);
	if (extra)
		extra(print);
}

/*
 * The OOM report is built here, then handed to port_panic as one string.
 * The kernel's panic buffer is 8 KiB; this leaves room for its "PANIC
 * hart=H: " prefix. The report itself: 3 heap lines, then percpu's lines
 * (one per active hart, ~45 bytes: about 6 KiB at 128 harts).
 */
static char oom_buf[8192 - 256];
static size_t oom_len;
/*
 * "An OOM report is in progress": 0, or the reporting hart's id + 1. The
 * first OOM panicker owns oom_buf and must be the one whose port_panic
 * wins. A word: RV64 has no byte-sized AMOs.
 */
static unsigned oom_busy;
/*
 * Whether the calling context is the one building the report (an OOM in
 * it is nested: an interrupt handler's on its hart, or its extra hook's).
 * Where the port's callers are threads (PORT_THREAD_LOCAL), threads share
 * hart ids (the host's threads that never became a hart are all hart 0),
 * so the owner's hart id says nothing: another thread with that id must
 * wait for the report, not take itself for nested and rebuild it in
 * oom_buf under the owner's feet. There the owner keeps a flag of its own
 * (written only by that thread); else its hart id in oom_busy is the mark.
 */
#ifdef PORT_THREAD_LOCAL
static PORT_THREAD_LOCAL bool oom_reporting_here;
#define OOM_OWNER_IS_ME(owner, me) ((void)(owner), (void)(me), oom_reporting_here)
#define OOM_OWNER_SET() (oom_reporting_here = true)
#else
#define OOM_OWNER_IS_ME(owner, me) ((owner) == (me))
#define OOM_OWNER_SET() ((void)0)
#endif
/* The report being built, for an OOM nested in it on the same hart. */
static size_t oom_outer_size;
static const char *oom_outer_where;

static void oom_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void oom_print(const char *fmt, ...)
{
	va_list ap;
	if (oom_len >= sizeof(oom_buf) - 1)
		return;
	va_start(ap, fmt);
	int n = port_vsnprintf(oom_buf + oom_len, sizeof(oom_buf) - oom_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		oom_len += (size_t)n;
	if (oom_len > sizeof(oom_buf) - 1)
		oom_len = sizeof(oom_buf) - 1;
}

static _Noreturn void oom_panic(size_t size, size_t align, const char *where)
{
	/* Acquire CAS: one hart owns the buffer; port_panic stops the rest. */
	unsigned me = port_hart_id() + 1, owner = 0;
	bool nested = false;
	if (!__atomic_compare_exchange_n(&oom_busy, &owner, me, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED)) {
		if (!OOM_OWNER_IS_ME(owner, me)) {
			/*
			 * Another hart is building the full report. Panicking
			 * now would usually win the panic and lose that report,
			 * so wait for it: its port_panic parks us inside
			 * port_wait_long.
			 */
			for (uint64_t end = port_time_us() + KHEAP_OOM_WAIT_US;
			     port_time_us() < end;)
				port_wait_long();
			port_panic(PORT_EXIT_OOM, "heap: out of memory (hart %u; the report "
				   "from another hart did not come)", port_hart_id());
		}
		/*
		 * This hart was building the report when an interrupt handler
		 * on it ran out too (issue 12): the outer report never resumes,
		 * so waiting would only wait for ourselves. Build the whole
		 * report again here, naming both requests.
		 */
		nested = true;
	} else {
		OOM_OWNER_SET();
		oom_outer_size = size;
		oom_outer_where = where;
	}
	oom_len = 0;
	/* The alignment the heap used, when it is not the one asked for. */
	if (align < HEAP_MIN_ALIGN)
		oom_print("heap: out of memory on hart %u: %zu bytes, align %zu (%u) (%s)\n",
			  port_hart_id(), size, align, (unsigned)HEAP_MIN_ALIGN, where);
	else
		oom_print("heap: out of memory on hart %u: %zu bytes, align %zu (%s)\n",
			  port_hart_id(), size, align, where);
	if (nested)
		oom_print("heap: (in an interrupt, while this hart reported running out "
			  "of memory for %zu bytes (%s))\n", oom_outer_size, oom_outer_where);
	kheap_report(oom_print);
	/* port_panic ends the text with its own newline: no blank line. */
	while (oom_len && oom_buf[oom_len - 1] == '\n')
		oom_buf[--oom_len] = '\0';
	port_panic(PORT_EXIT_OOM, "%s", oom_buf);
}

/* ---- fork (hosted ports) --------------------------------------------- */

/* The prepare hook's saved interrupt state, for parent or child to restore. */
static port_irqflags_t fork_flags;

void kheap_fork_prepare(void)
{
	fork_flags = lock();
}

void kheap_fork_parent(void)
{
	unlock(fork_flags);
}

void kheap_fork_child(void)
{
	/*
	 * Not an unlock: other threads of the parent may have taken tickets
	 * while we held the lock, and an unlock would hand the lock to one of
	 * them, which does not exist here. The heap itself is consistent: we
	 * held the lock across the fork. Only this thread runs, so a plain
	 * re-init is enough.
	 */
	ticket_lock_init(&g.lock);
	/*
	 * An OOM report one of the parent's other threads was building is
	 * not in the child, and nobody will finish it: the child's own OOM
	 * must build its report, not wait KHEAP_OOM_WAIT_US for that one and
	 * then lose its own (//heap:kheap_fork_oom_test). This thread is in
	 * fork, not in a report. Relaxed: only this thread runs.
	 */
	__atomic_store_n(&oom_busy, 0u, __ATOMIC_RELAXED);
	/*
	 * Reports pending for the next unlock (a deferred free the prepare
	 * hook's lock() found failed; at HEAP_HARDENING >= 2, a corrupted
	 * free-list link) are the parent's: its kheap_fork_parent names them.
	 * The child would name them again at its first, unrelated heap call
	 * (//heap:kheap_fork_deferred_test); a fork child, as it starts with
	 * no pending signal, starts with no pending report.
	 */
	g.deferred_errs = 0;
#if HEAP_HARDENING >= 2
	(void)heap_take_link_error(&g.heap);
#endif
	port_irq_restore(fork_flags);
}

/* ---- allocation ------------------------------------------------------ */

/*
 * Whether the calling context is inside the OOM hook: an allocation made
 * there (the hook's own, or an interrupt handler's on that hart) that runs
 * out too does not call the hook again, nested on the same stack without
 * end, but goes on as after FAIL. A thread's own flag where the port's
 * callers are threads (PORT_THREAD_LOCAL), else its hart's: written only
 * by that hart (or thread), with interrupts masked around the hart id.
 * The hook runs with interrupts enabled, so a kernel whose threads migrate
 * between harts keeps one on its hart while it handles OOM.
 */
#ifdef PORT_THREAD_LOCAL
static PORT_THREAD_LOCAL bool in_oom_hook_here;
#define OOM_HOOK_FLAG(hart) ((void)(hart), &in_oom_hook_here)
#else
static bool in_oom_hook[PORT_MAX_HARTS];
#define OOM_HOOK_FLAG(hart) (&in_oom_hook[hart])
#endif

/* The OOM hook's answer, or FAIL without a call when nested here. */
static kheap_oom_action_t call_oom_hook(kheap_oom_hook_t oom, void *ctx, size_t size,
					size_t align)
{
	port_irqflags_t f = port_irq_save();
	bool *flag = OOM_HOOK_FLAG(port_hart_id()); /* the context that sets it clears it */
	bool nested = *flag;
	*flag = true;
	port_irq_restore(f);
	if (nested)
		return KHEAP_OOM_FAIL;
	kheap_oom_action_t a = oom(ctx, size, align);
	*flag = false;
	return a;
}

/*
 * One attempt under the lock; on OOM, reclaim then the OOM hook (unlocked)
 * and again. NULL with *err set when it gives up.
 */
static void *alloc_retry(size_t size, size_t align, enum heap_error *err)
{
	/* The next reclaim level to try (one of each per allocation). */
	unsigned reclaim_level = KHEAP_RECLAIM_QUICK;
	bool oom_failed = false;
	unsigned oom_calls = 0; /* at most KHEAP_OOM_MAX_RETRIES per allocation */
	unsigned deferred_retries = 0; /* for deferred frees, at the end */

	for (;;) {
		port_irqflags_t f = lock();
		void *p = heap_alloc(&g.heap, size, align, err);
		kheap_reclaim_hook_t reclaim = g.reclaim;
		void *rctx = g.reclaim_ctx;
		kheap_oom_hook_t oom = g.oom;
		void *octx = g.oom_ctx;
		unlock(f);
		if (p || *err != HEAP_ERR_OOM)
			return p;
		/*
		 * Each reclaim level runs once per allocation: a second call
		 * would find nothing new, and a hook that cannot count what
		 * other harts gave back would otherwise loop for ever. The
		 * quick one first, then growth, then the one that waits.
		 */
		if (reclaim && reclaim_level == KHEAP_RECLAIM_QUICK) {
			reclaim_level = KHEAP_RECLAIM_WAIT;
			if (reclaim(rctx, size, align, KHEAP_RECLAIM_QUICK))
				continue;
		}
		if (!oom_failed && oom && oom_calls++ < KHEAP_OOM_MAX_RETRIES &&
		    call_oom_hook(oom, octx, size, align) == KHEAP_OOM_RETRY)
			continue;
		oom_failed = true;
		if (reclaim && reclaim_level == KHEAP_RECLAIM_WAIT) {
			reclaim_level = KHEAP_RECLAIM_WAIT + 1; /* none left */
			/*
			 * Retried whatever it returns: it waited (up to the
			 * flush wait, a second, for harts that do not answer
			 * in time), and what other harts freed straight to the
			 * heap meanwhile (a large block, a free that found the
			 * lock free) is not its to count. Failed on its "no",
			 * a 512 KiB request that a 1 MiB block freed during the
			 * wait would have served ran out of memory, its report
			 * showing that block free (qemu_oom_late_free_test).
			 */
			(void)reclaim(rctx, size, align, KHEAP_RECLAIM_WAIT);
			continue;
		}
		/*
		 * Frees deferred since our last attempt (one that found the
		 * lock taken, ours among others) wait for the lock's next
		 * holder: nobody may take it soon (the other harts idle, or
		 * the hooks' wait outlasted their work), so take it to look,
		 * rather than fail with the memory freed. Bounded: frees that
		 * keep coming do not keep a failing allocation here. Relaxed:
		 * a hint; lock() drains the stack with its acquire exchange.
		 */
		if (deferred_retries++ < KHEAP_OOM_DEFERRED_RETRIES &&
		    __atomic_load_n(&deferred, __ATOMIC_RELAXED))
			continue;
		return NULL;
	}
}

static void *alloc_common(size_t size, size_t align, bool may_fail, const char *where)
{
	enum heap_error e = HEAP_OK;

	if (!ready(where))
		return NULL;
	void *p = alloc_retry(size, align, &e);
	if (p || (e == HEAP_ERR_OOM && may_fail))
		return p;
	if (e == HEAP_ERR_OOM)
		oom_panic(size, align, where);
	misuse(e, NULL, size, where);
	return NULL;
}

void *kheap_alloc(size_t size, size_t align)
{
	return alloc_common(size, align, false, "kheap_alloc");
}

void *kheap_try_alloc(size_t size, size_t align)
{
	return alloc_common(size, align, true, "kheap_try_alloc");
}

void *kheap_alloc_named(size_t size, size_t align, bool must, const char *where)
{
	return alloc_common(size, align, !must, where);
}

void *kheap_calloc(size_t n, size_t size)
{
	if (!ready("kheap_calloc"))
		return NULL;
	if (size && n > SIZE_MAX / size) {
		misuse(HEAP_ERR_SIZE_OVERFLOW, NULL, size, "kheap_calloc");
		return NULL;
	}
	char *p = alloc_common(n * size, 0, false, "kheap_calloc");
	/* Zero outside the lock: the block is ours alone now. */
	if (p)
		memset(p, 0, (n * size + W - 1) & ~(size_t)(W - 1));
	return p;
}

/*
 * p lies in a claimed region, past its first word (so the word below p,
 * its tag, is the heap's memory): the test before any load through p (a
 * foreign pointer is never read through; NULL is outside). The hull first,
 * which rejects most foreign pointers at once; then the regions, for the
 * hull of several also covers the gaps between them.
 */
static bool in_hull(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	/* Relaxed, and hull_lo with hull_hi, not hull_span: see hull_hi. */
	uintptr_t lo = __atomic_load_n(&kheap_bounds_.hull_lo, __ATOMIC_RELAXED);
	uintptr_t hi = __atomic_load_n(&hull_hi, __ATOMIC_RELAXED);
	if (a >= hi || a < lo || a - lo < W)
		return false;
	/* Acquire: pairs with publish_bounds' release (the headers). */
	for (const struct heap_region *r = __atomic_load_n(&regions_pub, __ATOMIC_ACQUIRE); r;
	     r = r->next)
		if (a - (uintptr_t)r >= W && a - (uintptr_t)r < r->end - (uintptr_t)r)
			return true;
	return false;
}

bool kheap_in_regions(const void *p)
{
	return in_hull(p);
}

/*
 * The release hook when one is set and p's tag is plausible, with p's
 * usable bytes in *usable; else NULL. At level 2 every caller has claimed
 * p first (its state lane now "cached"), so a valid allocated tag will do;
 * below, p must look live, so a block parked in a magazine or already left
 * to the lock's holder (a double free) is not offered. No hook (the
 * kernels): one load and a branch.
 */
static inline kheap_release_hook_t hook_for(void *p, size_t *usable)
{
	if (__builtin_expect(__atomic_load_n(&release_fn, __ATOMIC_RELAXED) == NULL, 1))
		return NULL;
	/* Acquire: pairs with the setter's release (ctx and minimum). */
	kheap_release_hook_t fn = __atomic_load_n(&release_fn, __ATOMIC_ACQUIRE);
	if (!fn)
		return NULL; /* unset meanwhile */
#if HEAP_HARDENING >= 2
	if (!in_hull(p) || !heap_tag_plausible_allocated(p))
		return NULL;
#else
	if (!in_hull(p) || !heap_tag_plausible_live(p))
		return NULL;
#endif
	*usable = heap_block_size(p);
	return fn;
}

/*
 * Offers [p + keep, p + usable) of the block p, its owner's, to the release
 * hook when that is at least the hook's minimum: keep 0 before p goes back
 * to the heap (kheap_free, a realloc's move), the bytes kept before a
 * realloc shrinks p in place (the tail's tag is written after, under the
 * lock).
 */
static inline void offer_pages_from(void *p, size_t keep)
{
	size_t usable = 0;
	kheap_release_hook_t fn = hook_for(p, &usable);
	if (fn && keep < usable &&
	    usable - keep >= __atomic_load_n(&release_min, __ATOMIC_RELAXED))
		fn(__atomic_load_n(&release_ctx, __ATOMIC_RELAXED), (char *)p + keep, usable - keep);
}

static inline void offer_pages(void *p)
{
	offer_pages_from(p, 0);
}

/*
 * p inside the heap's hull with a live offset tag (see <heap/kheap.h>): its
 * block, with *off = p - block; else NULL. The hull test comes first, so a
 * foreign pointer is never read through.
 */
static void *offset_block(const void *p, size_t *off)
{
	if (!in_hull(p))
		return NULL;
	/* The block the tag names must be inside too, before its tag is read. */
	size_t o = heap_tag_state(p) == KHEAP_STATE_OFFSET ? kheap_offset_of(p) : 0;
	if (!o || !in_hull((const char *)p - o))
		return NULL;
	char *b = kheap_offset_block(p);
	if (b)
		*off = (size_t)((const char *)p - b);
	return b;
}

/*
 * Claims (HEAP_HARDENING >= 2; heap_tag_claim in <heap/heap_core.h>). The
 * heap lock orders kheap's own frees, but percpu's harts cache and free
 * blocks without it: a kheap_free that decided under the lock that p is
 * live could free a block another hart's kfree was caching at that moment,
 * and a kfree that lost such a race and then asked the heap to name it
 * could find the block free, merged or handed out again (a crash, or a
 * block handed out twice). So at level 2 a free or realloc first claims p's
 * block, before and without the lock: exactly one of racing freers wins
 * and goes on under the lock; the others name a double free at once and
 * touch nothing else. The heap never frees a block it did not claim.
 */
#if HEAP_HARDENING >= 2
enum claim {
	CLAIM_WON,   /* p's state lane moved from live to cached: ours */
	CLAIM_LOST,  /* live when looked at, not when the CAS came: a racing free won */
	CLAIM_DEAD,  /* cached, free, or a freed offset tag: freed before */
	CLAIM_OTHER, /* none of these (or outside the heap): the heap names it */
};

static enum claim claim(void *p, unsigned *was)
{
	if (!in_hull(p))
		return CLAIM_OTHER; /* no load through p */
	if (heap_tag_plausible_live(p))
		return heap_tag_claim(p, HEAP_CLAIM_ANY_LIVE, HEAP_STATE_CACHED, was) ? CLAIM_WON
										      : CLAIM_LOST;
	if (heap_tag_plausible_dead(p) ||
	    (heap_tag_state(p) == KHEAP_STATE_OFFSET_FREED && kheap_offset_of(p)))
		return CLAIM_DEAD;
	return CLAIM_OTHER;
}

/*
 * The heap's name for a pointer that was neither live nor plainly dead when
 * looked at, under the lock, without freeing anything: live now means it
 * was freed and handed out again meanwhile (a stale pointer), so it is a
 * double free too, and the new owner's block is left alone.
 */
static enum heap_error name_unclaimed(void *p)
{
	enum heap_error e;
	port_irqflags_t f = lock();
	(void)heap_usable_size_err(&g.heap, p, &e);
	unlock(f);
	return e == HEAP_OK ? HEAP_ERR_DOUBLE_FREE : e;
}

/* A claimed block the operation did not take after all: its state back. */
static void unclaim(void *p, unsigned was)
{
	heap_tag_set_state(p, was); /* ours alone since the claim */
}
#endif

/*
 * An offset-tagged p: kept while kheap_realloc_keeps, as krealloc_aligned
 * keeps a class block; else a new block, the copy, and b freed.
 */
static void free_moved(void *p);

static void *realloc_offset(void *p, void *b, size_t off, size_t size, size_t align,
			    bool may_fail)
{
	size_t have = heap_block_size(b) - off;
	/* A bad alignment goes on, to be named. */
	if (!(align & (align - 1)) && kheap_realloc_keeps(p, have, size, align))
		return p;
#if HEAP_HARDENING >= 2
	/* Of racing reallocs / frees of p, one turns its offset tag freed. */
	if (!heap_tag_claim(p, KHEAP_STATE_OFFSET, KHEAP_STATE_OFFSET_FREED, NULL)) {
		misuse(HEAP_ERR_DOUBLE_FREE, p, size, "kheap_realloc");
		return NULL;
	}
#endif
	void *q = alloc_common(size, align, may_fail, "kheap_realloc");
	if (!q) {
#if HEAP_HARDENING >= 2
		heap_tag_set_state(p, KHEAP_STATE_OFFSET); /* p untouched */
#endif
		return NULL;
	}
	/* Whole words: both 16-aligned, have a multiple of W, q holds round(size). */
	size_t n = (size + W - 1) & ~(size_t)(W - 1);
#if FAULT == FAULT_SHORT_REALLOC_COPY
	n = n < have ? n : have; /* test-only (<platform/fault.h>): a word short */
	have = n - W;
#endif
	memcpy(q, p, n < have ? n : have);
	heap_tag_set_state(p, KHEAP_STATE_OFFSET_FREED);
	/* A move, as realloc_common's: neither an allocation nor a free. */
#if HEAP_HARDENING >= 2
	unsigned was;
	if (claim(b, &was) != CLAIM_WON) {
		kheap_free(b); /* not ours to free after all: kheap_free names it */
		return q;
	}
#endif
	free_moved(b);
	return q;
}

/*
 * Frees p, which realloc_common has moved (and at level 2 claimed). As the
 * core's own realloc counts it, the move is neither a new allocation nor a
 * free: its heap_alloc and this free leave the totals as they were.
 */
static void free_moved(void *p)
{
	offer_pages(p);
	port_irqflags_t f = lock();
#if HEAP_HARDENING >= 2
	enum heap_error e = heap_free_claimed(&g.heap, p);
#else
	enum heap_error e = heap_free(&g.heap, p);
#endif
	if (e == HEAP_OK) {
		g.heap.st.total_allocs--;
		g.heap.st.total_frees--;
	}
	unlock(f);
	if (e != HEAP_OK)
		misuse(e, p, 0, "kheap_realloc");
}

/*
 * The heap resizes p under the lock, in place or down into the free block
 * below (heap_resize); every copy, that one's or a move's to a new block,
 * is made outside the lock: a copy of a large block under it would keep
 * every other hart waiting for the heap, interrupts masked, all along.
 */
static void *realloc_common(void *p, size_t size, size_t align, bool may_fail)
{
	enum heap_error e = HEAP_OK;
	size_t off, move = 0;

	if (!ready("kheap_realloc"))
		return NULL;
	if (!p)
		return alloc_common(size, align, may_fail, "kheap_realloc");
	void *b = offset_block(p, &off);
	if (b)
		return realloc_offset(p, b, off, size, align, may_fail);
#if HEAP_HARDENING >= 2
	/* p is claimed for the whole resize (see claim()), given back on failure. */
	unsigned was = 0;
	switch (claim(p, &was)) {
	case CLAIM_WON:
		break;
	case CLAIM_OTHER:
		misuse(name_unclaimed(p), p, size, "kheap_realloc");
		return NULL;
	default:
		misuse(HEAP_ERR_DOUBLE_FREE, p, size, "kheap_realloc");
		return NULL;
	}
#endif
	/*
	 * A shrink in place gives its tail's pages back, as a free would:
	 * before the lock, while the tail is still p's (under it the heap
	 * frees the tail). Only when the shrink cannot fail: a bad alignment
	 * is named, and one p lacks moves p, which may find no room; either
	 * returns NULL with p's bytes as they were (<heap/kheap.h>).
	 */
	if (!(align & (align - 1)) && kheap_meets_align(p, align))
		offer_pages_from(p, size);
	port_irqflags_t f = lock();
#if HEAP_HARDENING >= 2
	void *q = heap_resize_claimed(&g.heap, p, size, align, &move, &e);
#else
	void *q = heap_resize(&g.heap, p, size, align, &move, &e);
#endif
	/*
	 * No room around p: a new block in the same acquisition, so a move
	 * takes the lock twice (this, and free_moved), not three times.
	 */
	void *fresh = NULL;
	if (!q && e == HEAP_ERR_OOM)
		fresh = heap_alloc(&g.heap, size, align, NULL);
	unlock(f);
	if (q && move) {
		memmove(q, p, move); /* the block is ours: no lock */
		return q;
	}
#if HEAP_HARDENING >= 2
	/* Resized in place with its tag kept: still claimed, give it back. */
	if (q == p && heap_tag_state(p) == HEAP_STATE_CACHED)
		unclaim(p, was);
#endif
	if (q)
		return q;
	if (e == HEAP_ERR_OOM) {
		/*
		 * No room around p: the block taken above in the same
		 * acquisition, else one made room for as kheap_alloc does
		 * (reclaim, then the OOM hook).
		 */
		q = fresh ? fresh : alloc_retry(size, align, &e);
		if (q) {
			/* q is bigger, unless p was moved for its alignment. */
			memcpy(q, p, move < size ? move : size);
			free_moved(p);
			return q;
		}
	}
#if HEAP_HARDENING >= 2
	unclaim(p, was); /* p untouched */
#endif
	if (e != HEAP_ERR_OOM)
		misuse(e, p, size, "kheap_realloc");
	else if (!may_fail)
		oom_panic(size, align, "kheap_realloc");
	return NULL;
}

void *kheap_realloc(void *p, size_t size)
{
	return realloc_common(p, size, 0, false);
}

void *kheap_try_realloc(void *p, size_t size)
{
	return realloc_common(p, size, 0, true);
}

void *kheap_realloc_aligned(void *p, size_t size, size_t align)
{
	return realloc_common(p, size, align, false);
}

void *kheap_try_realloc_aligned(void *p, size_t size, size_t align)
{
	return realloc_common(p, size, align, true);
}

#if HEAP_HARDENING >= 2
/*
 * Frees the claimed block p (its state was `was`; freed as p + off, off 0
 * for p itself): offered to the release hook, then freed under the lock,
 * or, if the lock is taken, left on the deferred stack for the holder.
 */
static void free_claimed(void *p, unsigned was, size_t off, const char *where)
{
	offer_pages(p);
	port_irqflags_t f = port_irq_save();
	if (!ticket_trylock(&g.lock)) {
		defer(p, was, off);
		port_irq_restore(f);
		return;
	}
	acquired();
	enum heap_error e = heap_free_claimed(&g.heap, p);
	unlock(f);
	if (e != HEAP_OK) {
		unclaim(p, was); /* not freed (a broken canary or tag) */
		offset_unfree(p, off);
		misuse(e, p, 0, where);
	}
}
#else
/*
 * Below level 2 nothing claims a block before its free. Frees p under the
 * lock if it is free; else claims a plausible live p (a plain store: its
 * owner alone frees it; a second free of it while it waits is then named)
 * and leaves it for the lock's holder. False: p is not plausible, and the
 * locked way must name it.
 */
static bool free_unclaimed(void *p, size_t off, const char *where)
{
	port_irqflags_t f = port_irq_save();
	if (ticket_trylock(&g.lock)) {
		acquired();
		enum heap_error e = heap_free(&g.heap, p);
		unlock(f);
		if (e != HEAP_OK) {
			/* Not freed and still live: its owner's, p + off too. */
			if (in_hull(p) && heap_tag_plausible_live(p))
				offset_unfree(p, off);
			misuse(e, p, 0, where);
		}
		return true;
	}
	bool plausible = in_hull(p) && heap_tag_plausible_live(p);
	if (plausible) {
		unsigned was = heap_tag_state(p);
		heap_tag_set_state(p, HEAP_STATE_CACHED);
		defer(p, was, off);
	}
	port_irq_restore(f);
	return plausible;
}
#endif

static void free_common(void *p, size_t size, bool sized, const char *where)
{
	size_t off = 0; /* q - b when p is an offset pointer q into b */

	if (!ready(where))
		return;
	void *b = offset_block(p, &off), *q = NULL; /* q: p, an offset pointer into b */
	if (b) {
		/* The block's own free names a wrong size, offset included. */
		if (sized)
			size = size > SIZE_MAX - off ? SIZE_MAX : size + off;
#if HEAP_HARDENING >= 2
		/* Of racing frees of p, one turns its offset tag freed (see claim()). */
		if (!heap_tag_claim(p, KHEAP_STATE_OFFSET, KHEAP_STATE_OFFSET_FREED, NULL)) {
			misuse(HEAP_ERR_DOUBLE_FREE, p, size, where);
			return;
		}
#else
		heap_tag_set_state(p, KHEAP_STATE_OFFSET_FREED);
#endif
		q = p;
		p = b;
	}
#if HEAP_HARDENING >= 2
	if (!p)
		return;
	enum heap_error e;
	unsigned was = 0;
	bool kept = false; /* the free failed and left p (b) its owner's */
	switch (claim(p, &was)) {
	case CLAIM_WON: {
		if (!sized) {
			free_claimed(p, was, off, where);
			return;
		}
		/* Not deferred: the size is checked (and named) at the free. */
		port_irqflags_t f = lock();
		e = heap_free_sized_claimed(&g.heap, p, size);
		unlock(f);
		if (e != HEAP_OK) {
			unclaim(p, was); /* not freed (a wrong size, a broken canary) */
			kept = true;
		}
		break;
	}
	case CLAIM_OTHER:
		e = name_unclaimed(p);
		break;
	default: /* lost or dead: the block is another's now, leave it be */
		e = HEAP_ERR_DOUBLE_FREE;
		break;
	}
#else
	if (!sized) {
		offer_pages(p);
		if (free_unclaimed(p, off, where))
			return;
	}
	port_irqflags_t f = lock();
	enum heap_error e = sized ? heap_free_sized(&g.heap, p, size) : heap_free(&g.heap, p);
	unlock(f);
	/* in_hull first: a foreign p, named below, is never read through. */
	bool kept = e != HEAP_OK && in_hull(p) && heap_tag_plausible_live(p);
#endif
	if (e != HEAP_OK) {
		/*
		 * A failed free does nothing: while b is still its owner's (a
		 * wrong size, a broken canary), so is q's offset tag, for the
		 * owner's own free later. (At level 2 only a claim we won says
		 * so: b may be another's otherwise.)
		 */
		if (q && kept)
			heap_tag_set_state(q, KHEAP_STATE_OFFSET);
		misuse(e, p, size, where);
	}
}

void kheap_free(void *p)
{
	free_common(p, 0, false, "kheap_free");
}

void kheap_free_sized(void *p, size_t size)
{
	free_common(p, size, true, "kheap_free_sized");
}

#if HEAP_HARDENING >= 2
void kheap_free_claimed(void *p, unsigned was, size_t off)
{
	if (ready("kheap_free"))
		free_claimed(p, was, off, "kheap_free");
}
#endif

size_t kheap_usable_size(void *p)
{
	enum heap_error e;

	size_t off;

	if (!ready("kheap_usable_size"))
		return 0;
	void *b = offset_block(p, &off);
	if (b)
		return heap_block_size(b) - off;
	port_irqflags_t f = lock();
	size_t n = heap_usable_size_err(&g.heap, p, &e);
	unlock(f);
	if (e != HEAP_OK)
		misuse(e, p, 0, "kheap_usable_size");
	return n;
}

size_t kheap_alloc_batch(size_t size, size_t align, void **out, size_t n)
{
	if (!ready("kheap_alloc_batch"))
		return 0;
	if (align & (align - 1)) {
		misuse(HEAP_ERR_BAD_ALIGN, NULL, size, "kheap_alloc_batch");
		return 0;
	}
	port_irqflags_t f = lock();
	size_t got = heap_alloc_batch(&g.heap, size, align, out, n);
	kheap_batch_hook_t hook = g.batch;
	void *ctx = g.batch_ctx;
	unlock(f);
	if (hook && got) {
		void *lowest = out[0];
		for (size_t i = 1; i < got; i++)
			if ((uintptr_t)out[i] < (uintptr_t)lowest)
				lowest = out[i];
		hook(ctx, lowest);
	}
	return got;
}

void kheap_free_batch(void **ptrs, size_t n)
{
	enum heap_error e = HEAP_OK;
	size_t bad_index = 0;

	if (!ready("kheap_free_batch"))
		return;
	port_irqflags_t f = lock();
	size_t bad = heap_free_batch_err(&g.heap, ptrs, n, &e, &bad_index);
	unlock(f);
	if (bad)
		misuse(e, ptrs[bad_index], 0, "kheap_free_batch");
}
