// SPDX-License-Identifier: BSD-2-Clause
/*
 * A deferred free that failed is named once, by the process whose fork
 * prepare hook found it: kheap_fork_prepare takes the heap lock, which
 * first frees the deferred blocks; one whose tag was damaged meanwhile
 * fails, and kheap_fork_parent's unlock names it ("kheap_free
 * (deferred)"). The child inherited that pending report with the heap:
 * its first heap call, an allocation that had nothing to do with it,
 * named the parent's failed free again (with the default handler, a panic
 * of the child at an innocent malloc). As a fork child starts with no
 * pending signal, it now starts with no pending report.
 */
#include "test_util.h"

#include <heap/kheap.h>
#include <platform/ticket_lock.h>
#include <heap/hardening.h>
#include <string.h>
#include <sys/wait.h>

#define ARENA (1u << 20)

static int misuses;
static enum heap_error last_err;
static const char *last_where;

/*
 * At hardening level 3 the validator at every release of the heap lock
 * names the damaged tag too ("kheap (paranoid validation)"), in the parent
 * and at the child's every call: the damage is still in the heap, theirs
 * both, and naming it is that level's job. Counted are the reports this
 * test is about: the failed deferred free's.
 */
static void record(enum heap_error e, void *p, size_t size, const char *where)
{
	(void)p;
	(void)size;
	if (HEAP_HARDENING >= 3 && strcmp(where, "kheap (paranoid validation)") == 0)
		return;
	misuses++;
	last_err = e;
	last_where = where;
}

int main(void)
{
	char *mem = test_map(ARENA);
	kheap_init(mem, mem + ARENA);
	kheap_set_misuse_handler(record);
	uintptr_t *p = kheap_alloc(100, 0);
	CHECK(p != NULL);

	/* Freed while the heap lock is taken: deferred. Then its tag is damaged. */
	ticket_lock_t *l = (ticket_lock_t *)kheap_lock_id(); /* this test alone */
	port_irqflags_t f = ticket_lock_irqsave(l, NULL);
	kheap_free(p);
	uintptr_t tag = p[-1];
	p[-1] = tag ^ ((uintptr_t)1 << 45);
	ticket_unlock_irqrestore(l, f);
	CHECK_EQ(misuses, 0);

	fflush(stdout);
	kheap_fork_prepare(); /* takes the lock: the deferred free fails */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		kheap_fork_child();
		void *q = kheap_alloc(64, 0); /* the child's own, innocent call */
		printf("child: %d misuse report(s) at its first allocation (want 0)%s%s\n",
		       misuses, misuses ? ", last: " : "", misuses ? last_where : "");
		fflush(stdout);
		kheap_free(q);
		_exit(q && misuses == 0 ? 0 : 1);
	}
	kheap_fork_parent();
	printf("parent: %d misuse report(s): %s (%s)\n", misuses,
	       misuses ? heap_error_name(last_err) : "-", misuses ? last_where : "-");
	CHECK_EQ(misuses, 1);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	printf("kheap_fork_deferred_test: PASS\n");
	return 0;
}
