// SPDX-License-Identifier: BSD-2-Clause
/*
 * The DTB readers of the S-mode port (platform/riscv/fdt.c) and, built with
 * FDT_TEST_MMODE, of the M-mode port (platform/riscv_mmode/fdt.c) on the
 * host, fed blobs built here: what it must read (bootargs absent, empty, at the
 * limit; /cpus/timebase-frequency; /memory with cells of 1 and 2, several
 * nodes) and what it must refuse by name with exit 2 (bootargs past the
 * limit; a truncated blob, offsets and sizes that lie, a walk that ends
 * without FDT_END). Each blob sits in a buffer of exactly its totalsize,
 * so the sanitized twins catch any read past it.
 *
 * fdt.c is included whole, with the few platform calls it makes stubbed:
 * platform_exit() (port_panic() in the M-mode port) jumps back here with
 * the exit code, and the console text is kept to be matched.
 */
/* fdt.c's internal.h: the stubs below instead */
#define PLATFORM_RISCV_INTERNAL_H
#define PLATFORM_RISCV_MMODE_INTERNAL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <testing/check.h>

#define PORT_EXIT_PANIC 2

static char console[4096];
static size_t console_len;
static jmp_buf exit_jmp;

/* Unused by the M-mode reader, whose port_panic() below writes console. */
__attribute__((unused)) static void uart_putc(char c)
{
	if (console_len < sizeof(console) - 1)
		console[console_len++] = c;
	console[console_len] = 0;
}

__attribute__((unused)) static void uart_puts(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

#ifdef FDT_TEST_MMODE
static _Noreturn void port_panic(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	console_len += (size_t)vsnprintf(console + console_len, sizeof(console) - console_len,
					 fmt, ap);
	va_end(ap);
	longjmp(exit_jmp, code + 1);
}

#include "platform/riscv_mmode/fdt.c"

#define fdt_scan mmode_fdt_scan
#define fdt_mem_holds mmode_mem_holds
#define platform_bootargs mmode_bootargs
#else
static _Noreturn void platform_exit(int code)
{
	longjmp(exit_jmp, code + 1);
}

#include "platform/riscv/fdt.c"
#endif

/* ---- a small blob builder ---- */

static uint8_t st[8192], strs[1024];
static size_t st_len, strs_len;

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void tok(uint32_t t)
{
	put32(st + st_len, t);
	st_len += 4;
}

static void begin(const char *name)
{
	size_t n = strlen(name) + 1;

	tok(FDT_BEGIN_NODE);
	memset(st + st_len, 0, (n + 3) & ~(size_t)3);
	memcpy(st + st_len, name, n);
	st_len += (n + 3) & ~(size_t)3;
}

static void end(void)
{
	tok(FDT_END_NODE);
}

static uint32_t name_off(const char *name)
{
	for (size_t o = 0; o < strs_len; o += strlen((char *)strs + o) + 1)
		if (!strcmp((char *)strs + o, name))
			return (uint32_t)o;
	memcpy(strs + strs_len, name, strlen(name) + 1);
	strs_len += strlen(name) + 1;
	return (uint32_t)(strs_len - strlen(name) - 1);
}

static void prop(const char *name, const void *val, uint32_t len)
{
	tok(FDT_PROP);
	tok(len);
	tok(name_off(name));
	memset(st + st_len, 0, (len + 3) & ~3u);
	memcpy(st + st_len, val, len);
	st_len += (len + 3) & ~3u;
}

static void prop_str(const char *name, const char *s)
{
	prop(name, s, (uint32_t)strlen(s) + 1);
}

/* Cells (big-endian 32-bit words), n of them. */
static void prop_cells(const char *name, int n, ...)
{
	uint8_t v[64];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		put32(v + 4 * i, va_arg(ap, uint32_t));
	va_end(ap);
	prop(name, v, 4 * (uint32_t)n);
}

static void blob_start(void)
{
	st_len = strs_len = 0;
}

/* The blob, in a buffer of exactly its totalsize (the caller frees it). */
static uint8_t *blob_finish(size_t *size)
{
	size_t total = 40 + 16 + st_len + strs_len;
	uint8_t *b = calloc(1, total);

	put32(b, FDT_MAGIC);
	put32(b + 4, (uint32_t)total);
	put32(b + 8, 56);                          /* off_dt_struct */
	put32(b + 12, (uint32_t)(56 + st_len));    /* off_dt_strings */
	put32(b + 16, 40);                         /* off_mem_rsvmap */
	put32(b + 20, 17);                         /* version */
	put32(b + 24, 16);                         /* last_comp_version */
	put32(b + 32, (uint32_t)strs_len);         /* size_dt_strings */
	put32(b + 36, (uint32_t)st_len);           /* size_dt_struct */
	memcpy(b + 56, st, st_len);
	memcpy(b + 56 + st_len, strs, strs_len);
	*size = total;
	return b;
}

/* QEMU virt's shape: root cells 2/2, /chosen, /memory, /cpus. */
static uint8_t *virt_blob(const char *bootargs, size_t *size)
{
	blob_start();
	begin("");
	prop_cells("#address-cells", 1, 2u);
	prop_cells("#size-cells", 1, 2u);
	begin("chosen");
	if (bootargs)
		prop_str("bootargs", bootargs);
	end();
	begin("memory@80000000");
	prop_str("device_type", "memory");
	prop_cells("reg", 4, 0u, 0x80000000u, 0u, 0x10000000u);
	end();
	begin("cpus");
	prop_cells("#address-cells", 1, 1u);
	prop_cells("#size-cells", 1, 0u);
	prop_cells("timebase-frequency", 1, 10000000u);
	begin("cpu@0");
	prop_cells("reg", 1, 0u);
	end();
	begin("cpu-map");
	end();
	end();
	end();
	tok(FDT_END);
	return blob_finish(size);
}

/* ---- running the reader ---- */

static int scan(const uint8_t *b)
{
	int code;

	memset(bootargs, 0x55, sizeof(bootargs));
	bootargs[0] = 0;
#ifdef FDT_TEST_MMODE
	nharts = 1;
#else
	riscv_timebase_hz = 10000000;
#endif
	memory.n = 0;
	memory.overflow = false;
	console_len = 0;
	console[0] = 0;
	code = setjmp(exit_jmp);
	if (code)
		return code - 1;
	fdt_scan(b);
	return -1; /* returned: accepted */
}

/* fdt_scan refuses the blob with exit 2 and a console line containing want. */
static void check_refused(const uint8_t *b, const char *want, int line)
{
	int code = scan(b);

	if (code != PORT_EXIT_PANIC || !strstr(console, want)) {
		fprintf(stderr, "line %d: expected exit 2 and \"%s\"; got %s %d, console \"%s\"\n",
			line, want, code < 0 ? "accepted," : "exit", code, console);
		exit(1);
	}
}
#define CHECK_REFUSED(b, want) check_refused(b, want, __LINE__)

static void test_good(void)
{
	size_t n;
	uint8_t *b = virt_blob("ops=5 seed=3", &n);

	CHECK_EQ(scan(b), -1);
	CHECK(!strcmp(platform_bootargs(), "ops=5 seed=3"));
#ifdef FDT_TEST_MMODE
	CHECK_EQ(mmode_nharts(), 1); /* cpu@0, not cpu-map */
#else
	CHECK_EQ(platform_timebase_hz(), 10000000);
#endif
	free(b);
}

static void test_bootargs(void)
{
	char s[600];
	size_t n;
	uint8_t *b;

	b = virt_blob(NULL, &n); /* absent */
	CHECK_EQ(scan(b), -1);
	CHECK(!strcmp(platform_bootargs(), ""));
	free(b);
	b = virt_blob("", &n); /* empty */
	CHECK_EQ(scan(b), -1);
	CHECK(!strcmp(platform_bootargs(), ""));
	free(b);
	memset(s, 'x', 511); /* at the limit: 511 bytes and the NUL */
	s[511] = 0;
	b = virt_blob(s, &n);
	CHECK_EQ(scan(b), -1);
	CHECK_EQ(strlen(platform_bootargs()), 511);
	free(b);
	s[511] = 'x', s[512] = 0; /* one past */
	b = virt_blob(s, &n);
	CHECK_REFUSED(b, "bootargs: 512 bytes, at most 511");
	free(b);
	/*
	 * 512 bytes with no NUL: not a string. Taken as one, its last byte
	 * was cut for the NUL in silence (ops=20000 ran ops=2000).
	 */
	blob_start();
	begin("");
	begin("chosen");
	memset(s, 'x', 507);
	memcpy(s + 507, "=2000", 5);
	prop("bootargs", s, 512);
	end();
	end();
	tok(FDT_END);
	b = blob_finish(&n);
	CHECK_REFUSED(b, "DTB: /chosen/bootargs is not a string");
	free(b);
}

/* Truncated: every cut of the blob, its header kept (totalsize lies). */
static void test_truncated(void)
{
	size_t n;
	uint8_t *b = virt_blob("ops=5", &n);

	for (size_t cut = 40; cut < n; cut += 4) {
		uint8_t *c = malloc(cut);

		memcpy(c, b, cut);
		put32(c + 4, (uint32_t)cut);
		CHECK_REFUSED(c, "DTB: ");
		free(c);
	}
	free(b);
}

/* Header fields that lie about the blocks. */
static void test_lying_header(void)
{
	size_t n;
	uint8_t *b = virt_blob("ops=5", &n);
	uint32_t st_size = fdt_be32(b + 36);

	/* size_dt_struct too small: /chosen lies past it. */
	put32(b + 36, 16);
	CHECK_REFUSED(b, "DTB: a property runs past the structure block");
	put32(b + 36, 8);
	CHECK_REFUSED(b, "DTB: the structure block ends without FDT_END");
	/* ... and past totalsize. */
	put32(b + 36, 0x100000);
	CHECK_REFUSED(b, "DTB: a block runs past totalsize");
	put32(b + 36, st_size);
	/* off_dt_strings far past the blob. */
	put32(b + 12, 0x7fffff00);
	CHECK_REFUSED(b, "DTB: a block runs past totalsize");
	put32(b + 12, (uint32_t)(56 + st_size));
	/* off_dt_struct near 2^32: an offset that must not wrap a pointer. */
	put32(b + 8, 0xfffffff0);
	CHECK_REFUSED(b, "DTB: a block runs past totalsize");
	put32(b + 8, 56);
	CHECK_EQ(scan(b), -1); /* restored: accepted */
	put32(b, 0x12345678);
	CHECK_REFUSED(b, "DTB: no FDT magic");
	free(b);
}

/* Structure-block contents that lie. */
static void test_lying_structure(void)
{
	size_t n;
	uint8_t *b;

	/* A property length past the block (the bootargs copy read past it). */
	b = virt_blob("ops=5", &n);
	for (size_t o = 56; o + 4 <= n; o += 4) {
		if (!memcmp(b + o, "ops=5", 5)) {
			put32(b + o - 8, 500);
			break;
		}
	}
	CHECK_REFUSED(b, "DTB: a property runs past the structure block");
	free(b);

	/* A property name offset past the strings block. */
	blob_start();
	begin("");
	tok(FDT_PROP);
	tok(4);
	tok(0x10000);
	tok(0);
	end();
	tok(FDT_END);
	b = blob_finish(&n);
	CHECK_REFUSED(b, "DTB: a property name lies outside the strings block");
	free(b);

	/* No FDT_END: the walk ended early and nothing said so. */
	blob_start();
	begin("");
	begin("chosen");
	end();
	end();
	b = blob_finish(&n);
	CHECK_REFUSED(b, "DTB: the structure block ends without FDT_END");
	free(b);

	/* A garbage token. */
	blob_start();
	begin("");
	tok(0x77);
	end();
	tok(FDT_END);
	b = blob_finish(&n);
	CHECK_REFUSED(b, "DTB: an unknown token");
	free(b);

	/* A node name with no NUL before the block ends. */
	blob_start();
	tok(FDT_BEGIN_NODE);
	memset(st + st_len, 'n', 8);
	st_len += 8;
	b = blob_finish(&n);
	CHECK_REFUSED(b, "DTB: a node name runs past the structure block");
	free(b);
}

/* /memory: cells of 1 and 2, several nodes, adjacent ranges joined. */
static void test_memory(void)
{
	size_t n;
	uint8_t *b;

	b = virt_blob(NULL, &n); /* 0x80000000 + 256 MiB */
	CHECK_EQ(scan(b), -1);
	CHECK(fdt_mem_holds(0x80200000, 0x81500000));
	CHECK(!fdt_mem_holds(0x80200000, 0x90000001));
	free(b);

	/* Cells of 1: 20 MiB ends below a 16 MiB heap at 0x804ed000. */
	blob_start();
	begin("");
	prop_cells("#address-cells", 1, 1u);
	prop_cells("#size-cells", 1, 1u);
	begin("memory@80000000");
	prop_cells("reg", 2, 0x80000000u, 0x1400000u);
	end();
	end();
	tok(FDT_END);
	b = blob_finish(&n);
	CHECK_EQ(scan(b), -1);
	CHECK(fdt_mem_holds(0x80200000, 0x81400000));
	CHECK(!fdt_mem_holds(0x80200000, 0x814ed000));
	free(b);

	/* Two NUMA nodes back to back, listed high first; one reg of two pairs. */
	blob_start();
	begin("");
	prop_cells("#address-cells", 1, 2u);
	prop_cells("#size-cells", 1, 2u);
	begin("memory@88000000");
	prop_cells("reg", 4, 0u, 0x88000000u, 0u, 0x8000000u);
	end();
	begin("memory@80000000");
	prop_cells("reg", 8, 0u, 0x80000000u, 0u, 0x4000000u, 0u, 0x84000000u, 0u, 0x4000000u);
	end();
	end();
	tok(FDT_END);
	b = blob_finish(&n);
	CHECK_EQ(scan(b), -1);
	CHECK(fdt_mem_holds(0x80200000, 0x8fffffff));
	CHECK(!fdt_mem_holds(0x80200000, 0x90000001));
	free(b);

	/* No /memory at all: nothing to check by. */
	blob_start();
	begin("");
	end();
	tok(FDT_END);
	b = blob_finish(&n);
	CHECK_EQ(scan(b), -1);
	CHECK(fdt_mem_holds(0x80200000, 0x81500000));
	free(b);
}

#ifndef FDT_TEST_MMODE
/* A blob whose /cpus (or, at depth 3, cpu@0) holds the given property. */
static uint8_t *timebase_blob(bool in_cpu_node, const void *val, uint32_t len, size_t *size)
{
	blob_start();
	begin("");
	begin("cpus");
	if (!in_cpu_node)
		prop("timebase-frequency", val, len);
	begin("cpu@0");
	if (in_cpu_node)
		prop("timebase-frequency", val, len);
	end();
	end();
	end();
	tok(FDT_END);
	return blob_finish(size);
}

/*
 * /cpus/timebase-frequency: a <u32> or a <u64> (the devicetree spec), or
 * in each cpu node instead; 0 is refused (every time in ticks divides by it).
 */
static void test_timebase(void)
{
	uint8_t v[8];
	size_t n;
	uint8_t *b;

	put32(v, 0), put32(v + 4, 24000000);
	b = timebase_blob(false, v, 8, &n);
	CHECK_EQ(scan(b), -1);
	CHECK_EQ(platform_timebase_hz(), 24000000);
	free(b);
	b = timebase_blob(true, v + 4, 4, &n);
	CHECK_EQ(scan(b), -1);
	CHECK_EQ(platform_timebase_hz(), 24000000);
	free(b);
	put32(v, 0);
	b = timebase_blob(false, v, 4, &n);
	CHECK_REFUSED(b, "DTB: timebase-frequency is 0");
	free(b);
}

#endif

int main(void)
{
	test_good();
	test_bootargs();
	test_truncated();
	test_lying_header();
	test_lying_structure();
	test_memory();
#ifndef FDT_TEST_MMODE
	test_timebase();
#endif
	printf("riscv_fdt_test: all passed\n");
	return 0;
}
