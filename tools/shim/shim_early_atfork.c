// SPDX-License-Identifier: BSD-2-Clause
/*
 * libshim_early_atfork.so, for shim_cases earlyatfork: preloaded after the
 * shim, so its constructor runs before the shim's, and registers
 * EARLY_HANDLERS fork handlers before the process's first malloc. glibc
 * keeps the first 48 in its list's own storage; the 49th grows the list
 * with malloc, inside __register_atfork and under its lock: that malloc
 * is the one that starts the shim. The prepare handlers malloc (glibc
 * allows it), the parent's and child's free.
 */
#include <pthread.h>
#include <stdlib.h>

#define EARLY_HANDLERS 64

/* Read by shim_cases through dlsym: each handler's calls. */
__attribute__((visibility("default"))) unsigned shim_early_prepared, shim_early_parented,
	shim_early_childed;
static void *blocks[EARLY_HANDLERS];

static void prepare(void)
{
	blocks[shim_early_prepared++ % EARLY_HANDLERS] = malloc(1000);
}

static void parent(void)
{
	free(blocks[shim_early_parented++ % EARLY_HANDLERS]);
}

static void child(void)
{
	free(blocks[shim_early_childed++ % EARLY_HANDLERS]);
}

__attribute__((constructor)) static void early_register(void)
{
	for (int i = 0; i < EARLY_HANDLERS; i++)
		if (pthread_atfork(prepare, parent, child) != 0)
			abort();
}
