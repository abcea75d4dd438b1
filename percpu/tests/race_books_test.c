// SPDX-License-Identifier: BSD-2-Clause
/*
 * Racing double frees and the books (percpu_stats: allocs - frees is the
 * blocks the caller holds). HARTS threads free the same NBLK blocks at the
 * same moment, ROUNDS times for each kind of block that kfree hands to the
 * heap rather than to a magazine: exactly one free of each block takes it
 * back, every other is named "double free", and only the one that took it
 * may be counted. Built at level 2, where the claim picks that one.
 *
 * The kinds: a block too big for any class (LARGE), a block of no class's
 * size (NOCLASS: a large block krealloc shrank in place), a block of a
 * class that is not cached (UNCACHED: 48 bytes, with a cache budget of one
 * byte, so free_slow sends it to the heap), and an aligned pointer into
 * such a block (ALIGNED: the offset tag's claim picks the freer of the
 * block, which goes to the heap). Built twice: with magazines
 * (race_books_test) and in bypass mode (race_books_bypass_test), where
 * every block goes to the heap as a large one does.
 *
 * Before the fix such a free was counted before the heap's claim (the
 * aligned one's block too, where its offset tag was made live again for
 * kheap_free), so both racers could count it: allocs - frees fell 73 to
 * 2,168 below the blocks held per kind, and an aligned pointer was
 * sometimes named an interior pointer instead of a double free.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>

#define HARTS 2
#define NBLK 16
#define ROUNDS 1000 /* per kind */
#define HEAP_BYTES (16u << 20)

enum kind { LARGE, NOCLASS, UNCACHED, ALIGNED, NKINDS };
static const char *const kind_name[NKINDS] = { "large", "no class's size", "uncached class",
					       "aligned" };

static void *alloc_kind(enum kind k)
{
	switch (k) {
	case LARGE:
		return kmalloc(40000); /* above PERCPU_MAX_SMALL */
	case NOCLASS: {
		void *p = kmalloc(64 << 10), *q = krealloc(p, 1100);
		CHECK(q == p); /* shrunk in place: 1104 usable bytes, no class */
		return q;
	}
	case UNCACHED:
		return kmalloc(48);
	default:
		return kmalloc_aligned(48, 64);
	}
}

static void *blocks[NBLK];
static atomic_int double_frees, other_misuses, go;
static pthread_barrier_t bar;
static long long books_off[NKINDS]; /* each kind's allocs - frees (0 held) */
static int reports[NKINDS];         /* double frees named in each kind */

static void count_misuse(enum heap_error e, void *p, size_t size, const char *where)
{
	(void)size;
	if (e == HEAP_ERR_DOUBLE_FREE)
		atomic_fetch_add(&double_frees, 1);
	else if (atomic_fetch_add(&other_misuses, 1) < 8)
		fprintf(stderr, "race_books_test: other report: %s, %p (%s)\n",
			heap_error_name(e), p, where);
}

/*
 * Each round hart 0 allocates, then every hart frees every block at once;
 * after each kind hart 0 reads the books, every hart quiet.
 */
static void *hart(void *arg)
{
	unsigned h = (unsigned)(uintptr_t)arg;
	int round = 0;
	port_host_become_hart(h);
	for (int k = 0; k < NKINDS; k++) {
		for (int r = 0; r < ROUNDS; r++, round++) {
			if (h == 0)
				for (int i = 0; i < NBLK; i++)
					blocks[i] = alloc_kind((enum kind)k);
			pthread_barrier_wait(&bar);
			/* Spin to the start together: a sleeping barrier spreads them out. */
			atomic_fetch_add(&go, 1);
			while (atomic_load(&go) < (round + 1) * HARTS)
				;
			for (int i = 0; i < NBLK; i++)
				kfree(blocks[i]);
			pthread_barrier_wait(&bar);
		}
		if (h == 0) {
			struct percpu_stats s;
			percpu_sum_stats(&s);
			static long long before; /* the earlier kinds' error, if any */
			books_off[k] = (long long)(s.allocs - s.frees) - before;
			before += books_off[k];
			reports[k] = atomic_exchange(&double_frees, 0);
			printf("race_books_test: %s: allocs - frees %lld (want 0; large "
			       "frees %llu, free hits %llu), %d double frees named (want %d)\n",
			       kind_name[k], books_off[k], (unsigned long long)s.large_frees,
			       (unsigned long long)s.free_hits, reports[k],
			       (HARTS - 1) * NBLK * ROUNDS);
		}
		pthread_barrier_wait(&bar);
	}
	return NULL;
}

int main(void)
{
	test_heap_init(HEAP_BYTES);
#ifdef RACE_BOOKS_BYPASS
	percpu_init(PERCPU_BYPASS);
#else
	percpu_init(PERCPU_MAGAZINES);
	percpu_set_cache_budget(1); /* no class cached: UNCACHED, ALIGNED */
#endif
	port_host_become_hart(0);
	kheap_set_misuse_handler(count_misuse);
	pthread_barrier_init(&bar, NULL, HARTS);
	test_run_harts(HARTS, hart);
	for (int k = 0; k < NKINDS; k++) {
		CHECK_EQ(books_off[k], 0);
		CHECK_EQ(reports[k], (HARTS - 1) * NBLK * ROUNDS);
	}
	CHECK_EQ(atomic_load(&other_misuses), 0);
	test_check_books("race_books_test", "every race", 0);
	printf("race_books_test: PASS\n");
	return 0;
}
