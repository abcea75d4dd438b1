// SPDX-License-Identifier: BSD-2-Clause
/*
 * A double free of a block still sitting in a magazine is caught: with a
 * misuse handler it is misuses as HEAP_ERR_DOUBLE_FREE; by default (in a
 * forked child) the run exits PORT_EXIT_MISUSE with "double free" on stderr.
 */
#include "test_util.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>


int main(void)
{
	test_percpu_init_as_hart0(1u << 20);

	/* Default handler, in a child: exit code 5 and the message. */
	int fd[2];
	CHECK(pipe(fd) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], 2);
		void *p = kmalloc(48);
		kfree(p);
		kfree(p);
		_exit(0);
	}
	close(fd[1]);
	char buf[512] = { 0 };
	size_t n = 0;
	ssize_t r;
	while ((r = read(fd[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == PORT_EXIT_MISUSE);
	CHECK(strstr(buf, "double free") != NULL);

	/* Recorded: the first free left the block in a magazine. */
	kheap_set_misuse_handler(record_misuse);
	void *p = kmalloc(48);
	kfree(p);
	CHECK(heap_tag_is_cached(p));
	kfree(p);
	CHECK(misuses == 1 && last_misuse == HEAP_ERR_DOUBLE_FREE);
	kfree_sized(p, 48);
	CHECK(misuses == 2 && last_misuse == HEAP_ERR_DOUBLE_FREE);
	/* The block is still cached once, and still usable. */
	CHECK(percpu_check_drained(0));
	CHECK(test_heap_validate() == 0);
	printf("double_free_test: PASS\n");
	return 0;
}
