// SPDX-License-Identifier: BSD-2-Clause
/*
 * fork while another thread is halfway through changing its slots (issue
 * 10). The shim's fork hooks take the region, depot and heap locks, but a
 * hart changes its own slots (slot_load, slot_swap: base, top, limit, prev
 * stored one by one) under none of them, so the child can inherit a torn
 * slot. This test makes that state on purpose, deterministically: hart 1
 * leaves its 64-byte slot with `top` pointing into another array (as if
 * fork came between two of slot_load's stores), whose rounds all name one
 * block the test still holds. Then fork runs the shim's hooks; the child
 * becomes hart 1 and allocates. If the child used hart 1's slots, it would
 * hand out the held block again (or a wild pointer); percpu_fork_child
 * drops every other hart's slots, so every block it gets is new.
 */
#include "percpu/percpu_internal.h"
#include <testing/check.h>

#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define HEAP_BYTES (32u << 20)

static void *held;       /* a live block the child must never get again */
static void *fake[17];   /* the torn slot's rounds: all `held` */
static int torn;         /* atomic: hart 1 has torn its slot */
static uint32_t done;    /* atomic: the parent is finished */

static void *hart1(void *arg)
{
	(void)arg;
	port_host_become_hart(1);
	/* A loaded magazine for the 64-byte class. */
	void *p[8];
	for (int i = 0; i < 8; i++)
		p[i] = kmalloc(64);
	for (int i = 0; i < 8; i++)
		kfree(p[i]);
	struct percpu_cpu *c = percpu_record(1);
	unsigned si = PERCPU_SLOT(percpu_size_class(64));
	CHECK(c->base[si] != NULL);
	/* Torn: top into another array, as if slot_load stopped halfway. */
	for (int i = 1; i < 17; i++)
		fake[i] = held;
	STORE_RELAXED(&c->top[si], &fake[17]);
	__atomic_store_n(&torn, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		port_wait_on(&done, 0, 0);
	/* Mend it before the process ends (the parent never uses it). */
	STORE_RELAXED(&c->top[si], c->base[si]);
	return NULL;
}

int main(void)
{
	char *mem = aligned_alloc(4096, HEAP_BYTES);
	CHECK(mem != NULL);
	kheap_init(mem, mem + HEAP_BYTES);
	percpu_init(PERCPU_MAGAZINES);
	port_host_become_hart(0);
	held = kmalloc(64);

	pthread_t t;
	CHECK(pthread_create(&t, NULL, hart1, NULL) == 0);
	while (!__atomic_load_n(&torn, __ATOMIC_ACQUIRE))
		usleep(1000);

	/* The shim's fork hooks, in its order. */
	percpu_fork_prepare();
	kheap_fork_prepare();
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		kheap_fork_child();
		percpu_fork_child();
		/* The child's next thread on hart 1 (here: this one). */
		port_host_become_hart(1);
		void *got[300];
		for (int i = 0; i < 300; i++) {
			got[i] = kmalloc(64);
			if (got[i] == held)
				_exit(3); /* the torn slot's round handed out again */
		}
		for (int i = 0; i < 300; i++)
			kfree(got[i]);
		_exit(0);
	}
	kheap_fork_parent();
	percpu_fork_parent();
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	port_wake(&done, 1u);
	pthread_join(t, NULL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "shim_fork_torn_test: child status 0x%x\n", status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	kfree(held);
	printf("shim_fork_torn_test: PASS (the child never used hart 1's torn slot)\n");
	return 0;
}
