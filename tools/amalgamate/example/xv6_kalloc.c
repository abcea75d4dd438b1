// SPDX-License-Identifier: BSD-2-Clause
/*
 * xv6's page allocator interface, kalloc() and kfree(pa), served by the
 * page API of an amalgamation made with --prefix smpheap_: xv6's kfree and
 * the heap's (smpheap_kfree) link side by side. The stress kernel calls
 * mmode_pages_selftest() after its page phase (pages_init done) when built
 * with -DMMODE_PAGES_SELFTEST.
 */
#include "smpheap.h"

#define NPAGES 256

void *kalloc(void);
void kfree(void *pa);
void mmode_pages_selftest(void);

void *kalloc(void)
{
	return smpheap_alloc_page();
}

void kfree(void *pa)
{
	smpheap_free_page(pa);
}

void mmode_pages_selftest(void)
{
	static void *pages[NPAGES];
	struct pages_stats st;

	for (unsigned i = 0; i < NPAGES; i++) {
		pages[i] = kalloc();
		if (!pages[i] || ((unsigned long)pages[i] & (PAGES_SIZE - 1)))
			port_panic(PORT_EXIT_FAIL, "kalloc: page %u is %p", i, pages[i]);
		*(volatile unsigned long *)pages[i] = i;
	}
	for (unsigned i = 0; i < NPAGES; i++) {
		if (*(volatile unsigned long *)pages[i] != i)
			port_panic(PORT_EXIT_FAIL, "kalloc: page %u overwritten", i);
		kfree(pages[i]);
	}
	smpheap_pages_reclaim();
	smpheap_pages_get_stats(&st);
	port_printf("xv6 kalloc: %u pages from %zu runs, all back (runs left %zu)\n", NPAGES,
		    (size_t)st.runs_carved, st.runs);
	if (st.runs || st.used_pages)
		port_panic(PORT_EXIT_FAIL, "kalloc: %zu runs, %zu pages left", st.runs, st.used_pages);
}
