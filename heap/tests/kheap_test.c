// SPDX-License-Identifier: BSD-2-Clause
/*
 * The locked global heap: use before init, every misuse through a recording
 * handler, the default handler and the OOM panic in child processes (exit
 * code and text), the reclaim and OOM hooks (called unlocked, in order), the
 * batch hook, the release hook (big blocks offered before their free or
 * move, misused ones not), frees while the lock is held elsewhere (deferred to its
 * holder), and harts (threads) hammering it concurrently.
 */
#include "test_util.h"

#include <heap/kheap.h>
#include <platform/port.h>
#include <platform/ticket_lock.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARENA (1u << 20)

/* ---- recording misuse handler ---------------------------------------- */

static enum heap_error last_err;
static void *last_ptr;
static const char *last_where;
static int misuses;
static unsigned errs_seen; /* bit e: error e reported since EXPECT_MISUSE began */

static int deferred_reports; /* reports from a deferred free's drain */
static size_t last_size;

static void record(enum heap_error err, void *ptr, size_t size, const char *where)
{
	last_size = size;
	deferred_reports += strcmp(where, "kheap_free (deferred)") == 0;
	last_err = err;
	last_ptr = ptr;
	last_where = where;
	errs_seen |= 1u << err;
	misuses++;
}

/*
 * One report, err. At HEAP_HARDENING 3 the validator that runs at every
 * release of the heap lock names standing damage too ("corrupted tag",
 * reported before the call's own): there one of the reports must be err.
 */
#define EXPECT_MISUSE(call, err)                                                  \
	do {                                                                      \
		int before_ = misuses;                                            \
		last_err = HEAP_OK;                                               \
		errs_seen = 0;                                                    \
		call;                                                             \
		if (HEAP_HARDENING >= 3 && misuses > before_ + 1) {               \
			CHECK(errs_seen & (1u << (err)));                         \
		} else {                                                          \
			CHECK_EQ(misuses, before_ + 1);                           \
			CHECK_EQ(last_err, err);                                  \
		}                                                                 \
	} while (0)

/* ---- child processes ------------------------------------------------- */

static void expect_child(void (*fn)(void *), void *arg, int code, const char *text)
{
	char out[8192];
	int got = test_run_child(fn, arg, out, sizeof(out));
	if (got != code || !strstr(out, text)) {
		fprintf(stderr, "child: exit %d (want %d), output:\n%s\nwanted \"%s\"\n",
			got, code, out, text);
		exit(1);
	}
}

static void child_alloc(void *arg)
{
	(void)arg;
	kheap_alloc(16, 0);
}

/* ---- tests ----------------------------------------------------------- */

static void test_before_init(void)
{
	int x;
	/* Default handler: a panic with the named message and exit code 5. */
	expect_child(child_alloc, NULL, PORT_EXIT_MISUSE, "heap: use before init");

	kheap_set_misuse_handler(record);
	EXPECT_MISUSE(CHECK(kheap_alloc(16, 0) == NULL), HEAP_ERR_UNINIT);
	EXPECT_MISUSE(CHECK(kheap_try_alloc(16, 0) == NULL), HEAP_ERR_UNINIT);
	EXPECT_MISUSE(kheap_free(&x), HEAP_ERR_UNINIT);
	EXPECT_MISUSE(kheap_free_sized(&x, 4), HEAP_ERR_UNINIT);
	EXPECT_MISUSE(CHECK(kheap_realloc(&x, 4) == NULL), HEAP_ERR_UNINIT);
	EXPECT_MISUSE(CHECK(kheap_calloc(1, 4) == NULL), HEAP_ERR_UNINIT);
	EXPECT_MISUSE(CHECK(kheap_usable_size(&x) == 0), HEAP_ERR_UNINIT);
	EXPECT_MISUSE(kheap_claim(&x, &x + 1), HEAP_ERR_UNINIT);
	void *v[1];
	EXPECT_MISUSE(CHECK(kheap_alloc_batch(16, 0, v, 1) == 0), HEAP_ERR_UNINIT);
	EXPECT_MISUSE(kheap_free_batch(v, 1), HEAP_ERR_UNINIT);
	EXPECT_MISUSE(CHECK(kheap_validate(NULL, NULL) == 1), HEAP_ERR_UNINIT);
	CHECK(strcmp(last_where, "kheap_validate") == 0);
}

static char *arena;

static void test_basic(void)
{
	arena = test_map(ARENA);
	kheap_init(arena, arena + ARENA);
	EXPECT_MISUSE(kheap_init(arena, arena + ARENA), HEAP_ERR_DOUBLE_INIT);

	char *p = kheap_alloc(100, 64);
	CHECK(p && (uintptr_t)p % 64 == 0);
	CHECK(kheap_usable_size(p) >= 100);
	memset(p, 7, 100);
	char *q = kheap_realloc(p, 5000);
	CHECK(q && q[99] == 7);
	char *z = kheap_calloc(10, 10);
	for (int i = 0; i < 100; i++)
		CHECK(z[i] == 0);
	kheap_free_sized(z, 100);
	kheap_free(q);
	kheap_free(NULL);
	CHECK(kheap_realloc(NULL, 10) != NULL);

	void *v[64];
	CHECK_EQ(kheap_alloc_batch(48, 0, v, 64), 64);
	for (int i = 0; i < 64; i += 2)
		heap_tag_mark_cached(v[i]);
	kheap_free_batch(v, 64);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);

	struct kheap_stats st;
	kheap_get_stats(&st);
	CHECK_EQ(st.heap.live_allocs, 1);
	CHECK(st.lock_acquisitions >= 10);
	CHECK_EQ(misuses, 12);
}

/*
 * The batch hook: after the lock (it allocates, which would deadlock under
 * it), with the lowest block of the batch, only when the batch gave some.
 */
static void *hook_lowest;
static int hook_calls;

static void batch_hook(void *ctx, void *lowest)
{
	CHECK(ctx == &hook_calls);
	hook_calls++;
	hook_lowest = lowest;
	kheap_free(kheap_alloc(16, 0)); /* takes the lock */
}

static void test_batch_hook(void)
{
	void *v[16];
	kheap_set_batch_hook(batch_hook, &hook_calls);
	CHECK_EQ(kheap_alloc_batch(200, 0, v, 16), 16);
	CHECK_EQ(hook_calls, 1);
	void *lowest = v[0];
	for (int i = 1; i < 16; i++)
		lowest = (uintptr_t)v[i] < (uintptr_t)lowest ? v[i] : lowest;
	CHECK(hook_lowest == lowest);
	kheap_free_batch(v, 16);
	CHECK_EQ(kheap_alloc_batch(ARENA, 0, v, 1), 0); /* nothing to tell */
	CHECK_EQ(hook_calls, 1);
	kheap_set_batch_hook(NULL, NULL);
	CHECK_EQ(kheap_alloc_batch(200, 0, v, 1), 1);
	CHECK_EQ(hook_calls, 1);
	kheap_free(v[0]);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
}

/* The release hook's calls: the block offered, its usable bytes, and its tag then. */
static int release_calls;
static void *released;
static size_t released_usable;
static bool released_allocated;

static void release_hook(void *ctx, void *p, size_t usable)
{
	CHECK(ctx == &release_calls);
	release_calls++;
	released = p;
	released_usable = usable;
	/* Offered before its free: still allocated, and the lock is free. */
	released_allocated = heap_tag_plausible_allocated(p);
	struct kheap_stats st;
	kheap_get_stats(&st);
	/* Its bytes are dead: what madvise(MADV_DONTNEED) leaves, but not zero. */
	memset(p, 0xdd, usable);
}

/*
 * The release hook sees every block of at least its minimum that goes back
 * to the heap through kheap_free or a realloc's move, before the free (the
 * tag still allocated), without the lock (the hook takes it), and the tail
 * of one that a realloc shrinks in place; not smaller blocks or tails,
 * sized frees, nor a double free. It spoils what it is offered, as the
 * shim's madvise does, and nothing kept may change.
 */
static void test_release_hook(void)
{
	const size_t min = 4096;
	kheap_set_release_hook(release_hook, &release_calls, min);
	char *big = kheap_alloc(min, 0), *small = kheap_alloc(min - 64, 0);
	char *fence = kheap_alloc(64, 0);
	CHECK(big && small && fence);
	size_t usable = kheap_usable_size(big);
	kheap_free(small);
	CHECK_EQ(release_calls, 0);
	kheap_free(big);
	CHECK_EQ(release_calls, 1);
	CHECK(released == big && released_usable == usable && released_allocated);
	EXPECT_MISUSE(kheap_free(big), HEAP_ERR_DOUBLE_FREE);
	CHECK_EQ(release_calls, 1);

	/* A move offers the old block after the copy; growing in place does not. */
	char *a = kheap_alloc(min, 0), *above = kheap_alloc(64, 0);
	CHECK(a && above);
	memset(a, 7, min);
	char *b = kheap_realloc(a, 2 * min);
	CHECK(b && b != a && b[0] == 7 && b[min - 1] == 7);
	CHECK_EQ(release_calls, 2);
	CHECK(released == a);
	char *c = kheap_realloc(b, 2 * min + 16); /* room above b: in place */
	CHECK(c == b);
	CHECK_EQ(release_calls, 2);

	/* A sized free is not offered: a wrong size leaves the block as it was. */
	kheap_free_sized(c, 2 * min + 16);
	CHECK_EQ(release_calls, 2);

	/*
	 * A shrink in place offers its tail past the bytes kept, before the
	 * heap takes it back; a tail below the minimum is not offered.
	 */
	const size_t kept = min / 2;
	char *s = kheap_alloc(4 * min, 0), *fence2 = kheap_alloc(64, 0);
	CHECK(s && fence2);
	memset(s, 9, 4 * min);
	size_t su = kheap_usable_size(s);
	char *t = kheap_realloc(s, kept);
	CHECK(t == s && t[0] == 9 && t[kept - 1] == 9);
	CHECK_EQ(release_calls, 3);
	CHECK(released == s + kept && released_usable == su - kept);
	CHECK(kheap_usable_size(t) < kept + 64);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	t = kheap_realloc(t, kept - 64);
	CHECK(t == s && t[kept - 65] == 9);
	CHECK_EQ(release_calls, 3);
	kheap_free(t); /* below the minimum */
	CHECK_EQ(release_calls, 3);
	kheap_free(fence2);

	kheap_set_release_hook(NULL, NULL, 0);
	char *d = kheap_alloc(min, 0);
	kheap_free(d);
	CHECK_EQ(release_calls, 3);
	kheap_free(above);
	kheap_free(fence);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
}

static void spoil_free(void *ctx, void *start, size_t len)
{
	*(size_t *)ctx += len;
	memset(start, 0xdd, len); /* what the shim's madvise may leave */
}

/*
 * kheap_trim offers the free blocks' bytes under the lock (the callback
 * cannot take it: kheap_get_stats would deadlock, so it is not called);
 * the heap stays valid with them spoiled and serves them again.
 */
static void test_trim(void)
{
	char *a = kheap_alloc(5000, 0), *b = kheap_alloc(5000, 0), *c = kheap_alloc(64, 0);
	CHECK(a && b && c);
	memset(b, 3, 5000);
	kheap_free(a);
	size_t bytes = 0;
	CHECK(kheap_trim(spoil_free, &bytes) >= 1);
	CHECK(bytes >= 5000 - 64);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	CHECK(b[0] == 3 && b[4999] == 3);
	a = kheap_alloc(5000, 0);
	CHECK(a != NULL);
	kheap_free(a);
	kheap_free(b);
	kheap_free(c);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
}

/*
 * The lock acquisitions so far, this call's own included (kheap_get_stats
 * takes the lock): between two of them, the calls made took n2 - n1 - 1.
 */
static unsigned long acquisitions(void)
{
	struct kheap_stats st;
	kheap_get_stats(&st);
	return st.lock_acquisitions;
}

/*
 * kheap_realloc's lock acquisitions: one when the heap resizes in place, two
 * when it moves the block (the resize that finds no room also takes the new
 * block; then the free of the old one). The copy is made between them.
 */
static void test_realloc_locks(void)
{
	char *a = kheap_alloc(200, 0), *fence = kheap_alloc(200, 0);
	CHECK(a && fence && fence > a);
	memset(a, 5, 200);
	unsigned long n0 = acquisitions();
	char *b = kheap_realloc(a, 100); /* shrinks in place */
	unsigned long n1 = acquisitions();
	CHECK(b == a);
	CHECK_EQ(n1 - n0 - 1, 1);
	b = kheap_realloc(a, 4000); /* the fence above: moves */
	unsigned long n2 = acquisitions();
	CHECK(b && b != a && b[0] == 5 && b[99] == 5);
	CHECK_EQ(n2 - n1 - 1, 2);
	kheap_free(b);
	kheap_free(fence);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
}

static void test_misuse_recorded(void)
{
	static char other[64] __attribute__((aligned(16)));
	char *a = kheap_alloc(200, 0), *b = kheap_alloc(200, 0);

	EXPECT_MISUSE(kheap_free(other), HEAP_ERR_FOREIGN_PTR);
	CHECK(last_ptr == other && strcmp(last_where, "kheap_free") == 0);
	EXPECT_MISUSE(kheap_free(a + 32), HEAP_ERR_INTERIOR_PTR);
	EXPECT_MISUSE(kheap_free_sized(a, 5000), HEAP_ERR_SIZE_MISMATCH);
	EXPECT_MISUSE(CHECK(kheap_alloc(SIZE_MAX, 0) == NULL), HEAP_ERR_SIZE_OVERFLOW);
	EXPECT_MISUSE(CHECK(kheap_try_alloc(SIZE_MAX - 4, 0) == NULL), HEAP_ERR_SIZE_OVERFLOW);
	EXPECT_MISUSE(CHECK(kheap_calloc(SIZE_MAX / 4, 8) == NULL), HEAP_ERR_SIZE_OVERFLOW);
	EXPECT_MISUSE(CHECK(kheap_alloc(16, 48) == NULL), HEAP_ERR_BAD_ALIGN);
	void *v[1];
	EXPECT_MISUSE(CHECK(kheap_alloc_batch(16, 12, v, 1) == 0), HEAP_ERR_BAD_ALIGN);
	EXPECT_MISUSE(kheap_claim(arena + 4096, arena + 8192), HEAP_ERR_BAD_REGION);
	EXPECT_MISUSE(CHECK(kheap_usable_size(a + 16) == 0), HEAP_ERR_INTERIOR_PTR);

	kheap_free(b);
	EXPECT_MISUSE(kheap_free(b), HEAP_ERR_DOUBLE_FREE);
	EXPECT_MISUSE(CHECK(kheap_realloc(b, 10) == NULL), HEAP_ERR_DOUBLE_FREE);
	heap_tag_mark_cached(a);
	EXPECT_MISUSE(kheap_free(a), HEAP_ERR_DOUBLE_FREE);
	void *batch[2] = { a, other };
	EXPECT_MISUSE(kheap_free_batch(batch, 2), HEAP_ERR_FOREIGN_PTR);
	CHECK(last_ptr == other);
	EXPECT_MISUSE(kheap_free(a), HEAP_ERR_DOUBLE_FREE); /* the batch freed a */

	char *c = kheap_alloc(40, 0), *d = kheap_alloc(40, 0);
	uintptr_t saved = ((uintptr_t *)d)[-1];
	/* c's canary (HEAP_HARDENING >= 2) is overwritten on the way. */
	uintptr_t *canary = (uintptr_t *)(c + kheap_usable_size(c));
	uintptr_t csaved = HEAP_CANARY_BYTES ? *canary : 0;
	memset(c, 'x', 48 + 3 + 2 * HEAP_CANARY_BYTES); /* overflows into d's tag */
	EXPECT_MISUSE(kheap_free(d), HEAP_ERR_CORRUPT_TAG);
	EXPECT_MISUSE(kheap_free(c), HEAP_ERR_CORRUPT_TAG);
	((uintptr_t *)d)[-1] = saved;
	if (HEAP_CANARY_BYTES) {
		EXPECT_MISUSE(kheap_free(c), HEAP_ERR_CANARY);
		*canary = csaved;
	}
	kheap_free(c);
	kheap_free(d);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
}

/* Each misuse with the default handler: exit code 5 and the named text. */
struct death {
	int kind;
	const char *text;
};

static void child_misuse(void *arg)
{
	const struct death *d = arg;
	static char other[64] __attribute__((aligned(16)));
	kheap_set_misuse_handler(NULL);
	char *p = kheap_alloc(64, 0), *q = kheap_alloc(64, 0);
	switch (d->kind) {
	case 0: kheap_free(p); kheap_free(p); break;
	case 1: kheap_free(other); break;
	case 2: kheap_free(p + 16); break;
	case 3: memset(p, 0, 80); kheap_free(q); break;
	case 4: kheap_alloc(SIZE_MAX, 0); break;
	case 5: kheap_alloc(64, 3); break;
	case 6: heap_tag_mark_cached(p); kheap_free(p); break;
	}
}

static void test_default_handler(void)
{
	static const struct death deaths[] = {
		{ 0, "heap: double free" },
		{ 1, "heap: free of foreign pointer" },
		{ 2, "heap: free of interior pointer" },
		{ 3, "heap: corrupted tag" },
		{ 4, "heap: size overflow" },
		{ 5, "heap: bad alignment" },
		{ 6, "heap: double free" },
	};
	for (unsigned i = 0; i < sizeof(deaths) / sizeof(deaths[0]); i++)
		expect_child(child_misuse, (void *)&deaths[i], PORT_EXIT_MISUSE,
			     deaths[i].text);
	/* The pointer and the entry point are in the message too. */
	expect_child(child_misuse, (void *)&deaths[0], PORT_EXIT_MISUSE, "(kheap_free)");
}

/* ---- OOM hooks ------------------------------------------------------- */

static char calls[16];
static int ncalls;
static void *stash[256];
static size_t nstash;
static char *extra_region;

static bool reclaim(void *ctx, size_t size, size_t align, enum kheap_reclaim_level level)
{
	(void)size;
	(void)align;
	CHECK(ctx == &nstash);
	calls[ncalls++] = level == KHEAP_RECLAIM_QUICK ? 'r' : 'w';
	struct kheap_stats st;
	kheap_get_stats(&st); /* takes the lock: would deadlock if held */
	if (!nstash)
		return false;
	kheap_free_batch(stash, nstash); /* like a magazine flush */
	nstash = 0;
	return true;
}

static kheap_oom_action_t oom_claim(void *ctx, size_t size, size_t align)
{
	(void)align;
	CHECK(ctx == &extra_region);
	calls[ncalls++] = 'o';
	if (extra_region)
		return KHEAP_OOM_FAIL;
	extra_region = test_map(4 * ARENA);
	CHECK(size < 4 * ARENA);
	kheap_claim(extra_region, extra_region + 4 * ARENA); /* takes the lock */
	return KHEAP_OOM_RETRY;
}

static kheap_oom_action_t oom_fail(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	(void)size;
	(void)align;
	calls[ncalls++] = 'f';
	return KHEAP_OOM_FAIL;
}

static void extra_lines(kheap_print_fn print)
{
	print("percpu: hart %u caches %zu bytes\n", 0u, (size_t)12345);
}

static void test_oom_hooks(void)
{
	/* Fill the heap with a stash of "cached" blocks. */
	while (nstash < 256 && kheap_try_alloc(1, 0) != NULL) {
		void *p = kheap_try_alloc(3000, 0);
		if (!p)
			break;
		heap_tag_mark_cached(p);
		stash[nstash++] = p;
	}
	for (size_t sz = 3000; sz >= 16; sz /= 3)
		while (kheap_try_alloc(sz, 0))
			;
	kheap_set_reclaim_hook(reclaim, &nstash);
	kheap_set_oom_hook(oom_claim, &extra_region);

	/* Reclaim alone is enough for a small block. */
	ncalls = 0;
	CHECK(kheap_alloc(2000, 0) != NULL);
	CHECK_EQ(ncalls, 1);
	CHECK(calls[0] == 'r');
	/* A big one: reclaim has nothing left, the OOM hook claims, retry works. */
	char *big = kheap_alloc(2 * ARENA, 0);
	CHECK(big >= extra_region && big < extra_region + 4 * ARENA);
	CHECK_EQ(ncalls, 3);
	CHECK(calls[1] == 'r' && calls[2] == 'o');
	/*
	 * try_alloc: quick reclaim, growth, then the waiting reclaim (last, so
	 * a heap that can grow never waits on other harts), then NULL.
	 */
	ncalls = 0;
	CHECK(kheap_try_alloc(8 * ARENA, 0) == NULL);
	CHECK_EQ(ncalls, 3);
	CHECK(calls[0] == 'r' && calls[1] == 'o' && calls[2] == 'w');
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	/* Reports from now on carry the magazine layer's lines. */
	kheap_set_report_extra(extra_lines);
}

static char report_buf[4096];
static size_t report_len;

static void capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void capture(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_len += (size_t)vsnprintf(report_buf + report_len,
					sizeof(report_buf) - report_len, fmt, ap);
	va_end(ap);
}

static void test_report(void)
{
	report_len = 0;
	kheap_report(capture);
	CHECK(strstr(report_buf, "regions"));
	CHECK(strstr(report_buf, "largest free block"));
	CHECK(strstr(report_buf, "acquisitions"));
	CHECK(strstr(report_buf, "percpu: hart 0 caches 12345 bytes"));

	char small[16];
	/* The port's formatter, which the OOM report is built with: it truncates. */
	CHECK_EQ(port_snprintf(small, sizeof(small), "%s=%zu %d %lx %p %%",
			       "abc", (size_t)42, -7, 255ul, (void *)0x10), 19);
	CHECK(strcmp(small, "abc=42 -7 ff 0x") == 0);
}

static void child_oom(void *arg)
{
	(void)arg;
	kheap_set_oom_hook(oom_fail, NULL);
	kheap_alloc(64 * ARENA, 4096);
}

static void child_oom_default_align(void *arg)
{
	(void)arg;
	kheap_set_oom_hook(oom_fail, NULL);
	kheap_alloc(64 * ARENA, 0);
}

static void test_oom_panic(void)
{
	expect_child(child_oom, NULL, PORT_EXIT_OOM,
		     "heap: out of memory on hart 0: 67108864 bytes, align 4096 (kheap_alloc)");
	expect_child(child_oom, NULL, PORT_EXIT_OOM, "allocations");
	expect_child(child_oom, NULL, PORT_EXIT_OOM, "percpu: hart 0 caches 12345 bytes");
	/* Align 0: the report says which alignment the heap used. */
	expect_child(child_oom_default_align, NULL, PORT_EXIT_OOM,
		     "heap: out of memory on hart 0: 67108864 bytes, align 0 (16) (kheap_alloc)");
	expect_child(child_oom, NULL, PORT_EXIT_OOM, "\nheap: heap size ");
	/* One block: the report's last line is followed by port_panic's newline only. */
	char out[8192];
	CHECK_EQ(test_run_child(child_oom, NULL, out, sizeof(out)), PORT_EXIT_OOM);
	CHECK(strstr(out, "\n\n") == NULL);
	CHECK(strstr(out, "caches 12345 bytes\n") != NULL);
}

/* ---- deferred frees: kheap_free while another holds the lock ---------- */

static ticket_lock_t *heap_lock(void)
{
	return (ticket_lock_t *)kheap_lock_id(); /* this test alone takes it */
}

#if HEAP_HARDENING < 2
static void *free_on_other_hart(void *p)
{
	port_host_become_hart(2);
	kheap_free(p);
	return NULL;
}
#endif

static void test_deferred_frees(void)
{
	enum { N = 8 };
	struct kheap_stats before, after;
	char *v[N];
	kheap_get_stats(&before);
	for (int i = 0; i < N; i++)
		v[i] = kheap_alloc(64 + 48 * (size_t)i, 0);

	/* Held: every free returns at once (waiting would deadlock here). */
	port_irqflags_t f = ticket_lock_irqsave(heap_lock(), NULL);
	for (int i = 0; i < N; i++)
		kheap_free(v[i]);
	/* A second free of a block that waits on the deferred stack. */
#if HEAP_HARDENING >= 2
	EXPECT_MISUSE(kheap_free(v[3]), HEAP_ERR_DOUBLE_FREE); /* the claim: no wait */
	ticket_unlock_irqrestore(heap_lock(), f);
#else
	/* Not plausible live any more: it waits for the lock, then is named. */
	pthread_t t;
	int before_misuses = misuses;
	CHECK(pthread_create(&t, NULL, free_on_other_hart, v[3]) == 0);
	usleep(20000);
	CHECK_EQ(misuses, before_misuses);
	ticket_unlock_irqrestore(heap_lock(), f);
	pthread_join(t, NULL);
	CHECK_EQ(misuses, before_misuses + 1);
	CHECK_EQ(last_err, HEAP_ERR_DOUBLE_FREE);
#endif
	kheap_get_stats(&after); /* the lock: the deferred frees are done */
	CHECK_EQ(after.deferred_frees - before.deferred_frees, N);
	CHECK_EQ(after.heap.live_allocs, before.heap.live_allocs);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);

	/* Damaged while it waits: the next holder names it, and keeps it. */
	char *bad = kheap_alloc(100, 0);
	uintptr_t saved = ((uintptr_t *)bad)[-1];
	f = ticket_lock_irqsave(heap_lock(), NULL);
	kheap_free(bad);
	((unsigned char *)bad - 8 + HEAP_LANE_CHECK)[0] ^= 1;
	ticket_unlock_irqrestore(heap_lock(), f);
	deferred_reports = 0;
	EXPECT_MISUSE(kheap_get_stats(&after), HEAP_ERR_CORRUPT_TAG);
	CHECK_EQ(deferred_reports, 1);
	CHECK_EQ(after.heap.live_allocs, before.heap.live_allocs + 1);
	((uintptr_t *)bad)[-1] = saved; /* repaired: an ordinary free again */
	kheap_free(bad);
	kheap_get_stats(&after);
	CHECK_EQ(after.heap.live_allocs, before.heap.live_allocs);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);

	/*
	 * Two damaged: one report, after the drain, naming the first free it
	 * met (the stack's top: the last deferred) with how many failed as
	 * the size; the next holder's unlock reports nothing more.
	 */
	char *d1 = kheap_alloc(100, 0), *d2 = kheap_alloc(100, 0);
	uintptr_t saved1 = ((uintptr_t *)d1)[-1], saved2 = ((uintptr_t *)d2)[-1];
	f = ticket_lock_irqsave(heap_lock(), NULL);
	kheap_free(d1);
	kheap_free(d2);
	((unsigned char *)d1 - 8 + HEAP_LANE_CHECK)[0] ^= 1;
	((unsigned char *)d2 - 8 + HEAP_LANE_CHECK)[0] ^= 1;
	ticket_unlock_irqrestore(heap_lock(), f);
	deferred_reports = 0;
	EXPECT_MISUSE(kheap_get_stats(&after), HEAP_ERR_CORRUPT_TAG);
	CHECK_EQ(deferred_reports, 1);
	if (HEAP_HARDENING < 3) { /* there the validator reports last */
		CHECK(last_ptr == d2);
		CHECK_EQ(last_size, 2);
	}
	((uintptr_t *)d1)[-1] = saved1;
	((uintptr_t *)d2)[-1] = saved2;
	int quiet = misuses;
	kheap_get_stats(&after);
	CHECK_EQ(misuses, quiet);
	kheap_free(d1);
	kheap_free(d2);
	kheap_get_stats(&after);
	CHECK_EQ(after.heap.live_allocs, before.heap.live_allocs);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
}

/* ---- harts ----------------------------------------------------------- */

#define HARTS 4
#define HART_OPS 20000

static void *hart(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint64_t rng = id * 7919u + 1;
	void *live[64] = { 0 };
	port_host_become_hart(id);
	for (int i = 0; i < HART_OPS; i++) {
		unsigned k = (unsigned)(test_rand(&rng) % 64);
		if (live[k]) {
			CHECK(*(unsigned *)live[k] == id);
			kheap_free(live[k]);
			live[k] = NULL;
		} else {
			live[k] = kheap_alloc((size_t)test_range(&rng, 4, 2000), 0);
			*(unsigned *)live[k] = id;
		}
	}
	for (int k = 0; k < 64; k++)
		kheap_free(live[k]);
	return NULL;
}

static void test_harts(void)
{
	pthread_t t[HARTS];
	struct kheap_stats before, after;
	kheap_get_stats(&before);
	for (unsigned i = 0; i < HARTS; i++)
		CHECK(pthread_create(&t[i], NULL, hart, (void *)(uintptr_t)(i + 1)) == 0);
	for (unsigned i = 0; i < HARTS; i++)
		pthread_join(t[i], NULL);
	kheap_get_stats(&after);
	/* Every operation took the lock, but frees that found it taken. */
	CHECK(after.lock_acquisitions - before.lock_acquisitions +
		      (after.deferred_frees - before.deferred_frees) >=
	      (unsigned long)HARTS * HART_OPS);
	CHECK_EQ(after.heap.live_allocs, before.heap.live_allocs);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	printf("kheap_test: %d harts x %d ops, %lu lock spins, %lu frees deferred\n", HARTS,
	       HART_OPS, after.lock_spins - before.lock_spins,
	       after.deferred_frees - before.deferred_frees);
}

/* The P/state race between the lanes: //heap:tag_lane_test (also under TSan). */

/*
 * kheap_realloc_aligned: in place while it can (same pointer), else a move
 * to a block aligned anew with the contents kept, never down into the free
 * block below; the same for an offset-tagged block (percpu's aligned class
 * blocks, made here by hand), which stays while its block holds the size
 * at its place, at most twice over; a bad alignment named with p untouched.
 */
static void test_realloc_aligned(void)
{
	char *below = kheap_alloc(4000, 0);
	char *p = kheap_alloc(100, 256), *fence, *gap[8];
	int ngap = 0;
	/* The fence right above p (blocks in the gap below p kept apart). */
	while ((fence = kheap_alloc(200, 0)) != p + kheap_usable_size(p) + HEAP_CANARY_BYTES + 8) {
		CHECK(fence < p && ngap < 8);
		gap[ngap++] = fence;
	}
	CHECK(p && (uintptr_t)p % 256 == 0);
	memset(p, 9, 100);
	CHECK(kheap_realloc_aligned(p, 40, 256) == p);
	kheap_free(below);
	while (ngap)
		kheap_free(gap[--ngap]);
	char *q = kheap_realloc_aligned(p, 3000, 256);
	CHECK(q && q != p && (uintptr_t)q % 256 == 0 && q[0] == 9 && q[39] == 9);
	EXPECT_MISUSE(CHECK(kheap_try_realloc_aligned(q, 10, 24) == NULL), HEAP_ERR_BAD_ALIGN);
	CHECK(kheap_try_realloc_aligned(q, (size_t)1 << 40, 256) == NULL);
	CHECK(q[0] == 9 && q[39] == 9);

	/* An offset-tagged q2 inside a block b, as percpu's kmalloc_aligned. */
	char *b = kheap_alloc(600, 0), *spare = NULL;
	if ((uintptr_t)b % 128 == 0) {
		spare = b; /* b must not be aligned itself: the tag is the point */
		b = kheap_alloc(600, 0);
	}
	char *q2 = kheap_offset_place(b, kheap_usable_size(b), 300, 128);
	CHECK(q2 && q2 != b && (uintptr_t)q2 % 128 == 0);
	kheap_offset_tag_write(q2, (size_t)(q2 - b));
	memset(q2, 4, 300);
	/* Kept: a growth into b's padding, a shrink to just over half. */
	size_t have = kheap_usable_size(b) - (size_t)(q2 - b);
	CHECK(kheap_realloc_aligned(q2, have, 128) == q2);
	CHECK(kheap_realloc_aligned(q2, have / 2 + 1, 64) == q2);
	EXPECT_MISUSE(CHECK(kheap_try_realloc_aligned(q2, 300, 48) == NULL), HEAP_ERR_BAD_ALIGN);
	char *r = kheap_realloc_aligned(q2, 1000, 512);
	CHECK(r && (uintptr_t)r % 512 == 0 && r[0] == 4 && r[299] == 4);
	kheap_free(r);
	kheap_free(spare);
	kheap_free(q);
	kheap_free(fence);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
}

int main(void)
{
	test_before_init();
	test_basic();
	test_batch_hook();
	test_realloc_locks();
	test_release_hook();
	test_trim();
	test_realloc_aligned();
	test_misuse_recorded();
	test_deferred_frees();
	test_default_handler();
	test_oom_hooks();
	test_report();
	test_oom_panic();
	test_harts();
	printf("kheap_test: PASS\n");
	return 0;
}
