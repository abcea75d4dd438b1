// SPDX-License-Identifier: BSD-2-Clause
/*
 * The tag that ends a region (its sentinel: allocated, size 0, a valid
 * check) is no block. A pointer just above it, p = sentinel + 8, is a
 * misuse to name, not a live block: that is where a region touching this
 * one from above keeps its header, or past the region's end. Two touching
 * regions put that p inside the heap's hull.
 */
#include "test_util.h"

#include <heap/kheap.h>
#include <platform/port.h>
#include <platform/ticket_lock.h>
#include <pthread.h>
#include <unistd.h>

#define ARENA (64u << 10)

static enum heap_error last_err;
static int misuses;

static void record(enum heap_error err, void *ptr, size_t size, const char *where)
{
	(void)ptr;
	(void)size;
	(void)where;
	last_err = err;
	misuses++;
}

static int offers;
static size_t offered_usable;

static void release_hook(void *ctx, void *p, size_t usable)
{
	(void)ctx;
	(void)p;
	offers++;
	offered_usable = usable;
}

static void *free_on_other_hart(void *p)
{
	port_host_become_hart(2);
	kheap_free(p);
	return NULL;
}

int main(void)
{
	char *m = test_map(2 * ARENA);
	kheap_set_misuse_handler(record);
	kheap_init(m, m + ARENA);
	kheap_claim(m + ARENA, m + 2 * ARENA); /* touches the first from above */
	CHECK_EQ(misuses, 0);
	void *p = m + ARENA; /* the second region's header; below it, the first's sentinel */

	/* heap_tag_plausible_allocated: "looks like the payload of an allocated block". */
	CHECK(!heap_tag_plausible_allocated(p));
	CHECK(!heap_tag_plausible_live(p));

	/* Its free is named, and offers no pages (a size-0 "block" has 2^64 - 8). */
	kheap_set_release_hook(release_hook, NULL, 0);
	kheap_free(p);
	CHECK_EQ(misuses, 1);
	CHECK_EQ(last_err, HEAP_ERR_INTERIOR_PTR);
	CHECK_EQ(offers, 0);
	kheap_set_release_hook(NULL, NULL, 0);

	/*
	 * While another hart holds the lock: not left on the deferred stack,
	 * whose links would be written over the second region's header.
	 */
	ticket_lock_t *lock = (ticket_lock_t *)kheap_lock_id();
	port_irqflags_t f = ticket_lock_irqsave(lock, NULL);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, free_on_other_hart, p) == 0);
	usleep(20000);
	ticket_unlock_irqrestore(lock, f);
	pthread_join(t, NULL);
	struct kheap_stats st;
	kheap_get_stats(&st); /* the lock: a deferred free is done by now */
	CHECK_EQ(misuses, 2);
	CHECK_EQ(last_err, HEAP_ERR_INTERIOR_PTR);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	CHECK_EQ(st.heap.regions, 2);
	void *q = kheap_try_alloc(ARENA / 2, 0); /* only the second region holds it */
	CHECK(q != NULL && (char *)q > m + ARENA);
	kheap_free(q);
	CHECK_EQ(misuses, 2);
	printf("kheap_sentinel_test: PASS\n");
	return 0;
}
