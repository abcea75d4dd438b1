// SPDX-License-Identifier: BSD-2-Clause
/*
 * free_pages' two edges (<percpu/pages.h>):
 *  - free_pages(NULL, order) does nothing, as kfree(NULL) and Linux's
 *    free_pages(0, order): alloc_pages' NULL may be handed straight back
 *    on an error path. It was named a foreign pointer (a panic by
 *    default).
 *  - a second free_pages of an allocation whose run has since gone back
 *    to the heap is a double free, as it is while the run is kept; it was
 *    named a foreign pointer.
 */
#include <percpu/pages.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <testing/check.h>

#include "misuse_recorder.h"

#define HEAP ((size_t)4 << 20)

int main(void)
{
	void *mem = aligned_alloc(PAGES_SIZE, HEAP);
	struct pages_stats st;

	CHECK(mem);
	kheap_init(mem, (char *)mem + HEAP);
	pages_init();
	pages_set_misuse_handler(record_misuse);

	for (unsigned order = 0; order <= PAGES_MAX_ORDER; order++)
		free_pages(NULL, order);
	printf("free_pages(NULL, 0..%u): %d report(s)%s%s\n", PAGES_MAX_ORDER, misuses,
	       misuses ? ", last " : "", misuses ? heap_error_name(last_misuse) : "");
	CHECK_EQ(misuses, 0);
	pages_get_stats(&st);
	CHECK_EQ(st.frees, 0);

	/* Order 1: not cached per hart, so its run empties at the free. */
	void *p = alloc_pages(1);
	CHECK(p);
	free_pages(p, 1);
	pages_reclaim(); /* every empty run back to the heap */
	pages_get_stats(&st);
	CHECK_EQ(st.runs, 0);
	free_pages(p, 1);
	printf("free_pages after its run went back: %d report(s), last %s\n", misuses,
	       misuses ? heap_error_name(last_misuse) : "-");
	CHECK_EQ(misuses, 1);
	CHECK_EQ(last_misuse, HEAP_ERR_DOUBLE_FREE);
	CHECK(last_misuse_ptr == p);
	misuses = 0;

	/* A page never handed out is still foreign, in and out of the heap. */
	free_page((char *)mem + HEAP - PAGES_SIZE);
	CHECK_EQ(misuses, 1);
	CHECK_EQ(last_misuse, HEAP_ERR_FOREIGN_PTR);
	misuses = 0;

	/* The memory is the heap's again: a new run there is served as usual. */
	void *q = alloc_pages(1);
	CHECK(q);
	free_pages(q, 1);
	free_pages(q, 1);
	CHECK_EQ(misuses, 1);
	CHECK_EQ(last_misuse, HEAP_ERR_DOUBLE_FREE);
	pages_reclaim();
	pages_get_stats(&st);
	CHECK_EQ(st.used_pages, 0);
	CHECK_EQ(st.frees, 2);
	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	printf("pages_free_test: PASS\n");
	return 0;
}
