// SPDX-License-Identifier: BSD-2-Clause
/*
 * The page allocator (<percpu/pages.h>) on the host port:
 *  - pages until the first failure from a 16 MiB heap: at least 97% of the
 *    heap comes back as distinct, aligned, writable pages;
 *  - every order up to PAGES_MAX_ORDER: alignment, no overlap, a random
 *    mix against a shadow of who owns which page;
 *  - every misuse gets its named error and changes nothing;
 *  - threads as harts allocate and free at once, handing pages over;
 *  - after freeing everything and pages_reclaim, the heap has every byte
 *    back but the directory and the run descriptors.
 */
#include <percpu/pages.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <testing/check.h>

#include "misuse_recorder.h"

#define HEAP_BYTES ((size_t)16 << 20)
#define TARGET_PERMILLE 970

static size_t heap_free_bytes(void)
{
	struct kheap_stats st;
	kheap_get_stats(&st);
	return st.heap.bytes_free;
}

static uint64_t stamp(void *p)
{
	return (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ULL;
}

/* Writes the first and last word of every page of an allocation. */
static void fill(void *p, unsigned order)
{
	for (size_t k = 0; k < ((size_t)1 << order); k++) {
		uint64_t *w = (uint64_t *)((char *)p + k * PAGES_SIZE);
		w[0] = stamp(p) + k;
		w[PAGES_SIZE / 8 - 1] = ~(stamp(p) + k);
	}
}

static void check_fill(void *p, unsigned order)
{
	for (size_t k = 0; k < ((size_t)1 << order); k++) {
		uint64_t *w = (uint64_t *)((char *)p + k * PAGES_SIZE);
		CHECK(w[0] == stamp(p) + k);
		CHECK(w[PAGES_SIZE / 8 - 1] == ~(stamp(p) + k));
	}
}

static void *pages_until_failure(void **out, size_t max, size_t *n)
{
	*n = 0;
	while (*n < max) {
		void *p = alloc_page();
		if (!p)
			break;
		CHECK(((uintptr_t)p & (PAGES_SIZE - 1)) == 0);
		fill(p, 0);
		out[(*n)++] = p;
	}
	return NULL;
}

static void test_until_failure(size_t initial_free)
{
	size_t max = HEAP_BYTES / PAGES_SIZE, n;
	void **pages = malloc(max * sizeof(*pages));
	struct pages_stats st;

	CHECK(pages);
	pages_until_failure(pages, max, &n);
	/* Distinct and intact: every page still holds its own stamp. */
	for (size_t i = 0; i < n; i++)
		check_fill(pages[i], 0);
	pages_get_stats(&st);
	printf("pages_test: %zu pages of %zu (%.1f%% of the 16 MiB heap) until the first failure; "
	       "%zu runs, directory %zu bytes\n",
	       n, max, 100.0 * (double)n / (double)max, st.runs, st.directory_bytes);
	CHECK(n * 1000 >= max * TARGET_PERMILLE);
	CHECK_EQ(st.used_pages, n);
	for (size_t i = 0; i < n; i++)
		free_page(pages[i]);
	CHECK(pages_reclaim());
	pages_get_stats(&st);
	CHECK_EQ(st.runs, 0);
	CHECK_EQ(st.used_pages, 0);
	/* Everything back but the descriptors, which are kept as spares. */
	CHECK(heap_free_bytes() + st.runs_carved * 128 >= initial_free);
	free(pages);
}

#define SHADOW 512

static void test_orders(void)
{
	struct {
		void *p;
		unsigned order;
	} live[SHADOW] = { { 0, 0 } };
	uint64_t rng = 42;
	struct pages_stats st;

	for (unsigned order = 0; order <= PAGES_MAX_ORDER; order++) {
		void *p = alloc_pages(order);
		CHECK(p && ((uintptr_t)p & (PAGES_SIZE - 1)) == 0);
		fill(p, order);
		check_fill(p, order);
		free_pages(p, order);
	}
	for (int step = 0; step < 200000; step++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		unsigned slot = (unsigned)(rng >> 33) % SHADOW;
		if (live[slot].p) {
			check_fill(live[slot].p, live[slot].order);
			free_pages(live[slot].p, live[slot].order);
			live[slot].p = NULL;
		} else {
			live[slot].order = (unsigned)(rng >> 20) % (PAGES_MAX_ORDER + 1);
			live[slot].p = alloc_pages(live[slot].order);
			CHECK(live[slot].p);
			fill(live[slot].p, live[slot].order);
		}
	}
	for (unsigned i = 0; i < SHADOW; i++)
		if (live[i].p) {
			check_fill(live[i].p, live[i].order);
			free_pages(live[i].p, live[i].order);
		}
	pages_reclaim();
	pages_get_stats(&st);
	CHECK_EQ(st.runs, 0);
	CHECK(st.cache_hits > 0);
}

static void expect_misuse(enum heap_error e)
{
	CHECK_EQ(misuses, 1);
	CHECK_EQ(last_misuse, e);
	misuses = 0;
}

static void test_misuse(void)
{
	void *p = alloc_page(), *q = alloc_pages(2), *r;
	uint64_t on_stack[PAGES_SIZE / 8 * 2];
	struct pages_stats before, after;

	pages_set_misuse_handler(record_misuse);
	pages_get_stats(&before);
	free_page(p);
	free_page(p);
	expect_misuse(HEAP_ERR_DOUBLE_FREE);
	free_pages(q, 1);
	expect_misuse(HEAP_ERR_SIZE_MISMATCH);
	free_page((char *)q + PAGES_SIZE);
	expect_misuse(HEAP_ERR_INTERIOR_PTR);
	free_pages((char *)q + 16, 2);
	expect_misuse(HEAP_ERR_INTERIOR_PTR);
	free_page((void *)(((uintptr_t)on_stack + PAGES_SIZE) & ~(uintptr_t)(PAGES_SIZE - 1)));
	expect_misuse(HEAP_ERR_FOREIGN_PTR);
	CHECK(alloc_pages(PAGES_MAX_ORDER + 1) == NULL);
	expect_misuse(HEAP_ERR_BAD_ALIGN);
	pages_init();
	expect_misuse(HEAP_ERR_DOUBLE_INIT);
	free_pages(q, 2);
	free_pages(q, 2);
	expect_misuse(HEAP_ERR_DOUBLE_FREE);
	/* Nothing above changed the books: p and q went back once each. */
	pages_get_stats(&after);
	CHECK_EQ(after.used_pages, 0);
	CHECK_EQ(after.frees, before.frees + 2);
	r = alloc_page();
	CHECK(r);
	free_page(r);
	pages_set_misuse_handler(NULL);
}

static size_t last_misuse_size;

static void record_misuse_size(enum heap_error e, void *p, size_t size, const char *where)
{
	record_misuse(e, p, size, where);
	last_misuse_size = size;
}

/*
 * The default report of alloc_pages(order) in a child: its exit code and
 * whether its stderr names `want`.
 */
static int default_report_names(unsigned order, const char *want)
{
	int fds[2], status = 0;
	char out[512] = { 0 };
	size_t len = 0;
	ssize_t got;
	pid_t pid;

	CHECK(pipe(fds) == 0);
	fflush(stdout); /* the child must not print the parent's buffer again */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		pages_set_misuse_handler(NULL);
		alloc_pages(order);
		_Exit(0); /* the default handler panics: never here */
	}
	close(fds[1]);
	while (len < sizeof(out) - 1 && (got = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)got;
	close(fds[0]);
	CHECK(waitpid(pid, &status, 0) == pid);
	printf("pages_test: alloc_pages(%u): %s", order, out);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == PORT_EXIT_MISUSE);
	return strstr(out, want) != NULL;
}

/*
 * Orders past the largest, up to ones whose byte count no size_t holds
 * (PAGES_SIZE << 52 and up) and past the word's bits (64: no shift by
 * that): each is misuse, the handler is told the bytes when a size_t holds
 * them (SIZE_MAX when not), and the default report names the order asked.
 */
static void test_huge_orders(void)
{
	static const unsigned orders[] = { PAGES_MAX_ORDER + 1, 51, 52, 63, 64, 65, 200, UINT_MAX };
	const unsigned word_orders = sizeof(size_t) * CHAR_BIT - PAGES_SHIFT;
	void *q = alloc_pages(1);

	CHECK(q);
	CHECK(default_report_names(5, "order 5 (alloc_pages"));
	CHECK(default_report_names(52, "order 52 (alloc_pages"));
	CHECK(default_report_names(64, "order 64 (alloc_pages"));
	pages_set_misuse_handler(record_misuse_size);
	for (size_t k = 0; k < sizeof(orders) / sizeof(orders[0]); k++) {
		unsigned order = orders[k];
		size_t want = order < word_orders ? PAGES_SIZE << order : SIZE_MAX;
		CHECK(alloc_pages(order) == NULL);
		expect_misuse(HEAP_ERR_BAD_ALIGN);
		CHECK_EQ(last_misuse_size, want);
		free_pages(q, order);
		expect_misuse(HEAP_ERR_BAD_ALIGN);
		CHECK_EQ(last_misuse_size, want);
	}
	pages_set_misuse_handler(NULL);
	free_pages(q, 1);
}

#define THREADS 4
#define THREAD_ROUNDS 20000

/* Each thread hands its oldest page to the next thread through a mailbox. */
static struct {
	pthread_mutex_t mu;
	void *p[64];
	unsigned n;
} mailbox[THREADS];

static void *thread_main(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	void *mine[32] = { 0 };
	uint64_t rng = me + 1;

	port_host_become_hart(me);
	for (int i = 0; i < THREAD_ROUNDS; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		unsigned s = (unsigned)(rng >> 33) % 32;
		if (mine[s]) {
			check_fill(mine[s], 0);
			unsigned to = (me + 1) % THREADS;
			pthread_mutex_lock(&mailbox[to].mu);
			if (mailbox[to].n < 64) {
				mailbox[to].p[mailbox[to].n++] = mine[s];
				mine[s] = NULL;
			}
			pthread_mutex_unlock(&mailbox[to].mu);
			if (mine[s])
				free_page(mine[s]);
			mine[s] = NULL;
		} else {
			mine[s] = alloc_page();
			CHECK(mine[s]);
			fill(mine[s], 0);
		}
		pthread_mutex_lock(&mailbox[me].mu);
		while (mailbox[me].n) {
			void *p = mailbox[me].p[--mailbox[me].n];
			check_fill(p, 0);
			free_page(p);
		}
		pthread_mutex_unlock(&mailbox[me].mu);
	}
	for (unsigned s = 0; s < 32; s++)
		if (mine[s])
			free_page(mine[s]);
	pages_reclaim();
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[THREADS];
	struct pages_stats st;

	for (unsigned i = 0; i < THREADS; i++)
		pthread_mutex_init(&mailbox[i].mu, NULL);
	for (unsigned i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, thread_main, (void *)(uintptr_t)i) == 0);
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	/* Mailboxes filled after their owner's last look. */
	for (unsigned i = 0; i < THREADS; i++)
		while (mailbox[i].n)
			free_page(mailbox[i].p[--mailbox[i].n]);
	pages_reclaim();
	pages_get_stats(&st);
	CHECK_EQ(st.used_pages, 0);
	CHECK_EQ(st.runs, 0);
}

static int churn_stop;

/* Hart 1 fills and empties its page cache, so batches cross to the runs. */
static void *churn_main(void *arg)
{
	void *p[PAGES_CACHE_MAX + PAGES_CACHE_BATCH];

	(void)arg;
	port_host_become_hart(1);
	while (!__atomic_load_n(&churn_stop, __ATOMIC_ACQUIRE)) {
		for (unsigned i = 0; i < sizeof(p) / sizeof(p[0]); i++)
			CHECK((p[i] = alloc_page()));
		for (unsigned i = 0; i < sizeof(p) / sizeof(p[0]); i++)
			free_page(p[i]);
	}
	pages_reclaim();
	return NULL;
}

/*
 * pages_get_stats while another hart's cache trades batches with the runs:
 * the snapshot may be stale, but its counts must still describe pages
 * (used_pages, a difference, never wraps past run_pages).
 */
static void test_stats_while_busy(void)
{
	pthread_t t;
	struct pages_stats st;
	unsigned bad = 0, samples = 0;
	uint64_t t0 = port_time_us();

	CHECK(pthread_create(&t, NULL, churn_main, NULL) == 0);
	while (port_time_us() - t0 < 500000 && bad == 0) {
		pages_get_stats(&st);
		samples++;
		if (st.used_pages > st.run_pages || st.cached_pages > st.run_pages) {
			printf("pages_test: sample %u: used %zu, cached %zu, free %zu of %zu run pages\n",
			       samples, st.used_pages, st.cached_pages, st.free_pages, st.run_pages);
			bad++;
		}
	}
	__atomic_store_n(&churn_stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CHECK_EQ(bad, 0);
}

int main(void)
{
	void *mem = aligned_alloc(PAGES_SIZE, HEAP_BYTES);
	size_t initial_free;

	CHECK(mem);
	kheap_init(mem, (char *)mem + HEAP_BYTES);
	pages_set_misuse_handler(record_misuse);
	CHECK(alloc_page() == NULL);
	expect_misuse(HEAP_ERR_UNINIT);
	pages_set_misuse_handler(NULL);
	pages_init();
	initial_free = heap_free_bytes();
	test_until_failure(initial_free);
	test_orders();
	test_misuse();
	test_huge_orders();
	test_threads();
	test_stats_while_busy();
	/* A second fill after all that churn reaches the same figure. */
	test_until_failure(initial_free);
	printf("pages_test: PASS\n");
	return 0;
}
