// SPDX-License-Identifier: BSD-2-Clause
/*
 * Threads as harts: random sizes, pattern-checked contents, about half the
 * blocks freed by another hart (handed over through per-hart queues). At the
 * end: drain, validate the heap, zero live blocks.
 */
#include "test_util.h"

#include <pthread.h>
#include <string.h>

#define HARTS 6
#define OPS 60000
#define QLEN 256

struct queue {
	pthread_mutex_t mu;
	void *items[QLEN];
	size_t sizes[QLEN];
	int n;
};

static struct queue q[HARTS];
static int bad;

static void fill(void *p, size_t size)
{
	memset(p, (int)(((uintptr_t)p >> 4) ^ size) & 0xff, size);
}

static void verify_and_free(void *p, size_t size)
{
	unsigned char want = (unsigned char)((((uintptr_t)p >> 4) ^ size) & 0xff);
	for (size_t i = 0; i < size; i++)
		if (((unsigned char *)p)[i] != want) {
			__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
			break;
		}
	if (size & 1)
		kfree_sized(p, size);
	else
		kfree(p);
}

static void *worker(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	port_host_become_hart(me);
	unsigned long rng = 0x9e3779b97f4a7c15ul * (me + 1);
	void *own[64] = { 0 };
	size_t own_size[64];
	for (int op = 0; op < OPS; op++) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		unsigned k = (unsigned)(rng >> 20) % 64;
		if (own[k]) {
			if (rng & 0x100) {
				verify_and_free(own[k], own_size[k]);
			} else {
				/* Hand it to another hart to free. */
				struct queue *t = &q[(me + (rng >> 40) % (HARTS - 1)) % HARTS];
				pthread_mutex_lock(&t->mu);
				if (t->n < QLEN) {
					t->items[t->n] = own[k];
					t->sizes[t->n++] = own_size[k];
					own[k] = NULL;
				}
				pthread_mutex_unlock(&t->mu);
				if (own[k])
					verify_and_free(own[k], own_size[k]);
			}
			own[k] = NULL;
		} else {
			size_t size = (rng >> 8) % 8 == 0 ? (rng >> 24) % 9000 + 1
							  : (rng >> 24) % 512 + 1;
			own[k] = (rng & 0x200) ? kmalloc(size)
					       : kmalloc_aligned(size, 64);
			own_size[k] = size;
			fill(own[k], size);
		}
		if (op % 16 == 0) {
			struct queue *mq = &q[me - 1]; /* harts are 1..HARTS */
			pthread_mutex_lock(&mq->mu);
			while (mq->n) {
				mq->n--;
				verify_and_free(mq->items[mq->n], mq->sizes[mq->n]);
			}
			pthread_mutex_unlock(&mq->mu);
		}
	}
	for (int k = 0; k < 64; k++)
		if (own[k])
			verify_and_free(own[k], own_size[k]);
	percpu_hart_exit();
	return NULL;
}

int main(void)
{
	test_heap_init(16u << 20);
	percpu_init(PERCPU_MAGAZINES);
	pthread_t t[HARTS];
	for (int i = 0; i < HARTS; i++)
		pthread_mutex_init(&q[i].mu, NULL);
	for (int i = 0; i < HARTS; i++)
		CHECK(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0);
	for (int i = 0; i < HARTS; i++)
		pthread_join(t[i], NULL);
	/* Leftovers in queues are freed by the main hart (cross-hart again). */
	for (int i = 0; i < HARTS; i++)
		while (q[i].n) {
			q[i].n--;
			verify_and_free(q[i].items[q[i].n], q[i].sizes[q[i].n]);
		}
	CHECK(bad == 0);
	struct percpu_stats s;
	percpu_sum_stats(&s);
	printf("allocs %lu hits %lu frees %lu hits %lu swaps %lu depot %lu refills %lu returns %lu locks %lu spins %lu\n",
	       (unsigned long)s.allocs, (unsigned long)s.alloc_hits,
	       (unsigned long)s.frees, (unsigned long)s.free_hits,
	       (unsigned long)s.swaps, (unsigned long)s.depot_exchanges,
	       (unsigned long)s.refills, (unsigned long)s.returns,
	       (unsigned long)s.lock_acquisitions, (unsigned long)s.lock_spins);
	CHECK(s.allocs == s.frees);
	CHECK(s.alloc_hits > s.allocs / 4); /* half the allocs ask align 64 */
	CHECK(s.depot_exchanges > 0);
	CHECK(percpu_check_drained(0));
	CHECK(test_heap_validate() == 0);
	printf("stress_test: PASS\n");
	return 0;
}
