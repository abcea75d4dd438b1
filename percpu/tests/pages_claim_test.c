// SPDX-License-Identifier: BSD-2-Clause
/*
 * The page allocator and regions claimed after pages_init (<percpu/pages.h>:
 * "pages come only from the heap's bounds at this moment"): each case in a
 * child of its own, on a fresh heap.
 *  - below_adjacent: a region claimed just below the first, ending inside
 *    the page where the directory starts (the first region not page
 *    aligned): a run the heap cuts there ends exactly at the directory's
 *    first page, and is still not the directory's to index.
 *  - room_inside: a region claimed elsewhere, bigger than the first's
 *    room; the heap cuts the first run it is asked for there, but the
 *    first region still has room for smaller runs: alloc_pages serves
 *    every order from it rather than fail.
 */
#include <percpu/pages.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <testing/check.h>

#define KIB ((size_t)1 << 10)

static void report(void *ctx, const char *msg, void *addr)
{
	(void)ctx;
	printf("validate: %s at %p\n", msg, addr);
}

/* Every page an allocation covers is in [lo, hi). */
static void check_inside(void *p, unsigned order, const char *lo, const char *hi)
{
	CHECK((const char *)p >= lo && (const char *)p + (PAGES_SIZE << order) <= hi);
}

static void below_adjacent(char *mem)
{
	char *x = mem + 2048 * KIB; /* page aligned */
	char *a = x + 2048, *a_end = x + 1024 * KIB;
	void *p;

	kheap_init(a, a_end);
	pages_init();
	/* The first region keeps less than a run free: the heap looks below. */
	CHECK(kheap_try_alloc(1024 * KIB - 200 * KIB, 16));
	kheap_claim(x - 256 * KIB - 64, a);
	p = alloc_page();
	if (p)
		check_inside(p, 0, a, a_end);
	CHECK(kheap_validate(report, NULL) == 0);
}

static void room_inside(char *mem)
{
	char *a = mem + 2048 * KIB, *a_end = a + 1024 * KIB;
	void *p[PAGES_MAX_ORDER + 1];

	kheap_init(a, a_end);
	pages_init();
	/*
	 * About 250 KiB left: not a run of PAGES_RUN_PAGES, but one of half
	 * that and, after it, one of a quarter (PAGES_MAX_ORDER's).
	 */
	CHECK(kheap_try_alloc(1024 * KIB - 250 * KIB, 16));
	kheap_claim(mem, mem + 1024 * KIB);
	for (unsigned order = 0; order <= PAGES_MAX_ORDER; order++) {
		p[order] = alloc_pages(order);
		CHECK(p[order]);
		check_inside(p[order], order, a, a_end);
	}
	for (unsigned order = 0; order <= PAGES_MAX_ORDER; order++)
		free_pages(p[order], order);
	pages_reclaim();
	CHECK(kheap_validate(report, NULL) == 0);
}

static const struct {
	const char *name;
	void (*run)(char *mem);
} cases[] = {
	{ "below_adjacent", below_adjacent },
	{ "room_inside", room_inside },
};

int main(void)
{
	int failed = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status = 0;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			char *mem = aligned_alloc(PAGES_SIZE, 4096 * KIB);
			CHECK(mem);
			cases[i].run(mem);
			_Exit(0);
		}
		CHECK(waitpid(pid, &status, 0) == pid);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("pages_claim_test: %s: ok\n", cases[i].name);
			continue;
		}
		printf("pages_claim_test: %s: FAILED (%s %d)\n", cases[i].name,
		       WIFSIGNALED(status) ? "signal" : "exit",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		failed++;
	}
	CHECK_EQ(failed, 0);
	printf("pages_claim_test: PASS\n");
	return 0;
}
