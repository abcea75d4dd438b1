// SPDX-License-Identifier: BSD-2-Clause
/* Error names and the per-boot secret. */
#include "heap_internal.h"

static const char *const names[HEAP_ERR_COUNT] = {
	[HEAP_OK] = "ok",
	[HEAP_ERR_UNINIT] = "use before init",
	[HEAP_ERR_FOREIGN_PTR] = "free of foreign pointer",
	[HEAP_ERR_INTERIOR_PTR] = "free of interior pointer",
	[HEAP_ERR_DOUBLE_FREE] = "double free",
	[HEAP_ERR_CORRUPT_TAG] = "corrupted tag",
	[HEAP_ERR_SIZE_OVERFLOW] = "size overflow",
	[HEAP_ERR_BAD_ALIGN] = "bad alignment",
	[HEAP_ERR_OOM] = "out of memory",
	[HEAP_ERR_BAD_REGION] = "bad region",
	[HEAP_ERR_SIZE_MISMATCH] = "sized free with wrong size",
	[HEAP_ERR_DOUBLE_INIT] = "double init",
	[HEAP_ERR_WRITE_AFTER_FREE] = "write after free",
	[HEAP_ERR_CORRUPT_LINK] = "corrupted free-list link",
	[HEAP_ERR_CANARY] = "buffer overflow (canary)",
};

const char *heap_error_name(enum heap_error err)
{
	if ((unsigned)err >= HEAP_ERR_COUNT || !names[err])
		return "unknown heap error";
	return names[err];
}

#if HEAP_HARDENING >= 2
/*
 * Written before the first heap_init only (heap_set_secret), read after:
 * whatever published the heap to other harts (kheap_init's release of
 * `inited`) publishes the secret too. A nonzero default for programs that
 * never set it (host tests of the bare core): the links are then keyed by
 * their addresses alone.
 */
#if defined(__riscv)
__attribute__((section(".sdata.heap_secret")))
#endif
uintptr_t heap_secret_ = (uintptr_t)0x5bd1e9955bd1e995u;
bool heap_secret_sealed_;
#endif

void heap_set_secret(uint64_t secret)
{
#if HEAP_HARDENING >= 2
	/* Zero would leave canaries and links keyed by the address alone. */
	if (!heap_secret_sealed_ && secret)
		heap_secret_ = (uintptr_t)secret;
#else
	(void)secret;
#endif
}

uintptr_t heap_take_link_error(struct heap *h)
{
#if HEAP_HARDENING >= 2
	uintptr_t a = h->bad_link;
	h->bad_link = 0;
	return a;
#else
	(void)h;
	return 0;
#endif
}

