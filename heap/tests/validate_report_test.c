// SPDX-License-Identifier: BSD-2-Clause
/*
 * kheap_validate calls its report callback with the heap lock released
 * (issue 12): a callback that allocates and frees must not deadlock. The
 * validation runs in a child with an alarm, so the old behaviour (a
 * self-deadlock on the heap lock) fails the test instead of hanging it.
 */
#include "test_util.h"

#include <heap/kheap.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t calls, allocs;

/*
 * At HEAP_HARDENING 3 every release of the heap lock validates the heap, so
 * the callback's allocation names the damage too: counted here, not a panic.
 */
static size_t paranoid_reports;
static void count_misuse(enum heap_error err, void *ptr, size_t size, const char *where)
{
	(void)err;
	(void)ptr;
	(void)size;
	(void)where;
	paranoid_reports++;
}

static void report_and_allocate(void *ctx, const char *msg, void *addr)
{
	(void)ctx;
	(void)addr;
	printf("  validator: %s\n", msg);
	calls++;
	void *p = kheap_try_alloc(64, 0); /* takes the heap lock */
	if (p) {
		allocs++;
		kheap_free(p);
	}
}

int main(void)
{
	size_t bytes = 1u << 20;
	char *mem = test_map(bytes);
	kheap_init(mem, mem + bytes);
	uintptr_t *a = kheap_alloc(100, 0), *b = kheap_alloc(100, 0);
	CHECK(kheap_validate(report_and_allocate, NULL) == 0 && calls == 0);

	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(10);
		if (HEAP_HARDENING >= 3)
			kheap_set_misuse_handler(count_misuse);
		uintptr_t saved = b[-1];
		b[-1] = 0x4141414141414141u; /* an overflow from a into b's tag */
		size_t n = kheap_validate(report_and_allocate, NULL);
		b[-1] = saved;
		/* One error, reported once, and the callback could allocate. */
		_exit(n == 1 && calls == 1 && allocs == 1 &&
			      (HEAP_HARDENING >= 3) == (paranoid_reports > 0) ? 0 : 1);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status))
		printf("validate_report_test: child killed by signal %d (deadlock?)\n",
		       WTERMSIG(status));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	kheap_free(a);
	kheap_free(b);
	CHECK(kheap_validate(NULL, NULL) == 0);
	printf("validate_report_test: PASS\n");
	return 0;
}
