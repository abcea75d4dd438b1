// SPDX-License-Identifier: BSD-2-Clause
/* Error names. */
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
};

const char *heap_error_name(enum heap_error err)
{
	if ((unsigned)err >= HEAP_ERR_COUNT || !names[err])
		return "unknown heap error";
	return names[err];
}
