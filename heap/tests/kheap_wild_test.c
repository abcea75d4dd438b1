// SPDX-License-Identifier: BSD-2-Clause
/*
 * Wild pointers (README.md's hardening table: a free of a wild pointer,
 * unmapped or a device, is "free of foreign pointer", with no load through
 * it, from level 1; the heap's own calls at every level): an unmapped page
 * outside the heap, handed to kheap_free_sized, and to kheap_free while
 * another hart holds the heap lock (the free then takes the lock's slow
 * way); and an unmapped page between two claimed regions, inside their
 * hull (kheap_bounds_) but in neither, handed to every call that takes a
 * pointer. Each must be named, never loaded through.
 */
#include "test_util.h"

#include <heap/kheap.h>
#include <platform/ticket_lock.h>
#include <pthread.h>
#include <unistd.h>

#define MIB (1u << 20)

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

#define EXPECT_FOREIGN(call)                              \
	do {                                              \
		int before_ = misuses;                    \
		call;                                     \
		CHECK_EQ(misuses, before_ + 1);           \
		CHECK_EQ(last_err, HEAP_ERR_FOREIGN_PTR); \
	} while (0)

static int held; /* atomic: the other hart holds the heap lock */

static void *hold_lock(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	ticket_lock_t *l = (ticket_lock_t *)kheap_lock_id(); /* this test alone takes it */
	port_irqflags_t f = ticket_lock_irqsave(l, NULL);
	__atomic_store_n(&held, 1, __ATOMIC_RELEASE);
	usleep(100 * 1000);
	ticket_unlock_irqrestore(l, f);
	return NULL;
}

int main(void)
{
	char *mem = test_map(4 * MIB);
	kheap_set_misuse_handler(record);
	kheap_init(mem, mem + MIB);
	CHECK(munmap(mem + MIB, 3 * MIB) == 0); /* above the heap: unmapped */
	char *wild = mem + MIB + 4096;

	EXPECT_FOREIGN(kheap_free_sized(wild, 64));

	pthread_t t;
	CHECK(pthread_create(&t, NULL, hold_lock, NULL) == 0);
	while (!__atomic_load_n(&held, __ATOMIC_ACQUIRE))
		sched_yield();
	EXPECT_FOREIGN(kheap_free(wild)); /* the lock is taken: not deferred */
	pthread_join(t, NULL);

	/* A second region two MiB up: the gap between is in the hull. */
	char *second = mmap(mem + 3 * MIB, MIB, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK(second == mem + 3 * MIB);
	kheap_claim(second, second + MIB);
	char *gap = mem + 2 * MIB;
	EXPECT_FOREIGN(kheap_free(gap));
	EXPECT_FOREIGN(kheap_free_sized(gap, 64));
	EXPECT_FOREIGN((void)kheap_usable_size(gap));
	EXPECT_FOREIGN((void)kheap_realloc(gap, 64));
	/* Both regions still serve. */
	void *a = kheap_alloc(768 * 1024, 0), *b = kheap_alloc(768 * 1024, 0);
	CHECK((char *)a < mem + MIB || (char *)b < mem + MIB);
	CHECK((char *)a >= second || (char *)b >= second);
	kheap_free(a);
	kheap_free(b);

	CHECK_EQ(kheap_validate(NULL, NULL), 0);
	printf("kheap_wild_test: PASS\n");
	return 0;
}
