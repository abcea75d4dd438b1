// SPDX-License-Identifier: BSD-2-Clause
/*
 * The OOM hook (<heap/kheap.h>):
 *  - an allocation calls it KHEAP_OOM_MAX_RETRIES times at most, and
 *    exactly that many when it keeps answering RETRY, whether or not a
 *    reclaim hook gave something back first;
 *  - the hook may allocate: an allocation it makes while the heap is still
 *    full does not call it again, nested (a stack without end in a
 *    kernel), but fails; the outer allocation then goes on after the
 *    hook's RETRY;
 *  - a block kheap_free left on the deferred stack (the heap lock was
 *    taken) while an allocation was running out is seen by that
 *    allocation before it gives up: no OOM with the memory it wants
 *    freed and waiting for the lock's next holder;
 *  - after the hook's FAIL it is not called again for that allocation.
 */
#include "test_util.h"

#include <heap/kheap.h>
#include <platform/ticket_lock.h>

#define ARENA (1u << 20)

static int oom_calls;
static kheap_oom_action_t oom_retry(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	(void)size;
	(void)align;
	oom_calls++;
	return KHEAP_OOM_RETRY; /* as if memory were coming: it never does */
}

static bool gave_some(void *ctx, size_t size, size_t align, enum kheap_reclaim_level level)
{
	(void)ctx;
	(void)size;
	(void)align;
	(void)level;
	return true; /* something, not enough */
}

static void test_max_retries(void)
{
	kheap_set_oom_hook(oom_retry, NULL);
	CHECK(kheap_try_alloc(4 * ARENA, 0) == NULL);
	CHECK_EQ(oom_calls, KHEAP_OOM_MAX_RETRIES);
	oom_calls = 0;
	kheap_set_reclaim_hook(gave_some, NULL);
	CHECK(kheap_try_alloc(4 * ARENA, 0) == NULL);
	CHECK_EQ(oom_calls, KHEAP_OOM_MAX_RETRIES);
	kheap_set_reclaim_hook(NULL, NULL);
	kheap_set_oom_hook(NULL, NULL);
}

static kheap_oom_action_t oom_fail(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	(void)size;
	(void)align;
	oom_calls++;
	return KHEAP_OOM_FAIL;
}

/*
 * FAIL is the hook's last word for the allocation: not called again after
 * the waiting reclaim gave something back (not enough), though retries
 * are left.
 */
static void test_fail_is_final(void)
{
	oom_calls = 0;
	kheap_set_oom_hook(oom_fail, NULL);
	kheap_set_reclaim_hook(gave_some, NULL);
	CHECK(kheap_try_alloc(4 * ARENA, 0) == NULL);
	CHECK_EQ(oom_calls, 1);
	kheap_set_reclaim_hook(NULL, NULL);
	kheap_set_oom_hook(NULL, NULL);
}

static char *extra;
static int depth, max_depth;
static void *from_hook;

/* Records the region it is about to claim, before claiming it. */
static kheap_oom_action_t oom_allocating(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	(void)size;
	(void)align;
	if (++depth > max_depth)
		max_depth = depth;
	CHECK(depth < 100); /* nested without end otherwise: stop here */
	from_hook = kheap_try_alloc(64, 0);
	if (!extra) {
		extra = test_map(4 * ARENA);
		CHECK_EQ(kheap_try_claim(extra, extra + 4 * ARENA), HEAP_OK);
	}
	depth--;
	return KHEAP_OOM_RETRY;
}

static void test_hook_allocates(void)
{
	for (size_t sz = 65536; sz >= 16; sz /= 2)
		while (kheap_try_alloc(sz, 0))
			;
	kheap_set_oom_hook(oom_allocating, NULL);
	char *p = kheap_alloc(1000, 0);
	CHECK(p >= extra && p < extra + 4 * ARENA);
	CHECK_EQ(max_depth, 1);
	CHECK(from_hook == NULL); /* made while the heap was full */
}

static char *deferred_victim;
static int deferring_calls;

/*
 * Another hart frees the victim while a third holds the heap lock (taken
 * here for it), so the free is deferred to the lock's next holder; then
 * the lock is let go. This hook itself gives nothing back: false.
 */
static bool free_deferred_meanwhile(void *ctx, size_t size, size_t align,
				    enum kheap_reclaim_level level)
{
	(void)ctx;
	(void)size;
	(void)align;
	(void)level;
	if (deferring_calls++ == 0) {
		ticket_lock_t *l = (ticket_lock_t *)kheap_lock_id(); /* this test alone */
		port_irqflags_t f = ticket_lock_irqsave(l, NULL);
		kheap_free(deferred_victim);
		ticket_unlock_irqrestore(l, f);
	}
	return false;
}

static void test_deferred_free_during_oom(void)
{
	enum { BIG = ARENA / 4, MAXFILL = 256 };
	static void *fill[MAXFILL];
	int n = 0;
	struct kheap_stats before, after;
	kheap_get_stats(&before);
	deferred_victim = kheap_alloc(BIG, 0);
	for (size_t sz = 65536; sz >= 16; sz /= 2)
		while (n < MAXFILL && (fill[n] = kheap_try_alloc(sz, 0)) != NULL)
			n++;
	CHECK(n < MAXFILL);
	kheap_set_reclaim_hook(free_deferred_meanwhile, NULL);
	char *p = kheap_try_alloc(BIG, 0);
	CHECK_EQ(deferring_calls, 2); /* quick and wait: both found nothing */
	kheap_set_reclaim_hook(NULL, NULL);
	/* The victim's block came back before the allocation gave up. */
	CHECK(p != NULL);
	kheap_free(p);
	for (int i = 0; i < n; i++)
		kheap_free(fill[i]);
	kheap_get_stats(&after);
	CHECK_EQ(after.heap.live_allocs, before.heap.live_allocs);
}

int main(void)
{
	char *arena = test_map(ARENA);
	kheap_init(arena, arena + ARENA);
	test_max_retries();
	test_fail_is_final();
	test_deferred_free_during_oom();
	test_hook_allocates();
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	printf("kheap_oom_hook_test: passed\n");
	return 0;
}
