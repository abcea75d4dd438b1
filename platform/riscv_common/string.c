// SPDX-License-Identifier: BSD-2-Clause
/*
 * The RISC-V ports' memcpy, memmove and memset (the port contract's, see
 * <platform/port.h>), memcmp and strlen: the functions gcc may emit calls to
 * in freestanding code (struct copies and zeroing, __builtin_mem*), which
 * heap/ and percpu/ call too. No libc here. Word-at-a-time when both
 * pointers share 8-byte alignment, bytes otherwise. The optimize attribute
 * stops gcc from turning the loops back into calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>

#if defined(__clang__)
#define NO_LIBCALL /* clang builds with -fno-builtin, which is enough there */
#else
#define NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif

static inline int both_aligned(const void *a, const void *b)
{
	return (((uintptr_t)a | (uintptr_t)b) & 7) == 0;
}

NO_LIBCALL void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	for (; n && ((uintptr_t)d & 7); n--)
		*d++ = (unsigned char)c;
	if (n >= 8) {
		uint64_t w = 0x0101010101010101ULL * (unsigned char)c;
		for (; n >= 8; n -= 8, d += 8)
			*(uint64_t *)(void *)d = w;
	}
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

/* Forward copy; also right for overlaps with dst below src. */
NO_LIBCALL static void copy_forward(unsigned char *d, const unsigned char *s, size_t n)
{
	if (both_aligned(d, s))
		for (; n >= 8; n -= 8, d += 8, s += 8)
			*(uint64_t *)(void *)d = *(const uint64_t *)(const void *)s;
	while (n--)
		*d++ = *s++;
}

NO_LIBCALL void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	copy_forward(dst, src, n);
	return dst;
}

NO_LIBCALL void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	/* dst below src, or no overlap: forward is right. */
	if ((uintptr_t)d - (uintptr_t)s >= n) {
		copy_forward(d, s, n);
		return dst;
	}
	while (n--)
		d[n] = s[n];
	return dst;
}

NO_LIBCALL int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

NO_LIBCALL size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}
