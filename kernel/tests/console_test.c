// SPDX-License-Identifier: BSD-2-Clause
/*
 * The kernel's console (kernel/console.c) on the host, threads as harts,
 * the UART a buffer:
 *  - a line longer than the line buffer is cut, and still ends the line:
 *    what the same hart prints next starts a line of its own (the M-mode
 *    port's console ends a cut line with "...\n" too);
 *  - lines that harts build from several kprintf calls at once come out
 *    whole, never spliced into each other.
 */
#define _GNU_SOURCE
#include <kernel/kernel.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <testing/check.h>

static char out[4 << 20];
static size_t out_len;

/* Called under the console lock: no lock of its own. */
void uart_write(const char *s, size_t n)
{
	CHECK(out_len + n <= sizeof(out));
	memcpy(out + out_len, s, n);
	out_len += n;
}

uint64_t platform_timebase_hz(void)
{
	return 10000000;
}

static void test_long_line(void)
{
	char big[700];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	out_len = 0;
	kprintf("%s\n", big);
	kprintf("next\n");
	out[out_len] = '\0';
	fprintf(stderr, "long line then \"next\": %zu bytes, tail \"%s\"\n", out_len,
		out_len > 16 ? out + out_len - 16 : out);
	/* "next" is a line of its own, and the output ends with it. */
	CHECK(out_len >= 6);
	CHECK(strcmp(out + out_len - 6, "\nnext\n") == 0);
	CHECK(out[0] == 'a');
	CHECK(strchr(out, '\n') < out + 512); /* cut at the line buffer */
}

#define HARTS 8
#define LINES 2000

static void *printer(void *arg)
{
	unsigned h = (unsigned)(uintptr_t)arg;
	port_host_become_hart(h);
	for (unsigned i = 0; i < LINES; i++) {
		kprintf("<hart %u", h);
		kprintf(" line %u", i);
		kprintf(" %.*s>\n", (int)(i % 50), "..................................................");
	}
	return NULL;
}

static void test_concurrent_lines(void)
{
	pthread_t t[HARTS];
	out_len = 0;
	for (unsigned h = 0; h < HARTS; h++)
		CHECK(pthread_create(&t[h], NULL, printer, (void *)(uintptr_t)(h + 1)) == 0);
	for (unsigned h = 0; h < HARTS; h++)
		pthread_join(t[h], NULL);
	out[out_len] = '\0';
	unsigned next[HARTS + 1] = { 0 };
	size_t lines = 0;
	for (char *s = out, *e; *s; s = e + 1) {
		e = strchr(s, '\n');
		CHECK(e != NULL);
		*e = '\0';
		unsigned h, i;
		int end = 0;
		CHECK(sscanf(s, "<hart %u line %u %n", &h, &i, &end) == 2 && end > 0);
		/* Then exactly i % 50 dots and the end of the line. */
		CHECK_EQ(strspn(s + end, "."), (size_t)(i % 50));
		CHECK(strcmp(s + end + i % 50, ">") == 0);
		CHECK(h >= 1 && h <= HARTS);
		CHECK_EQ(i, next[h]);
		next[h]++;
		lines++;
	}
	CHECK_EQ(lines, (size_t)HARTS * LINES);
}

int main(void)
{
	console_init();
	test_long_line();
	test_concurrent_lines();
	printf("console_test: PASS\n");
	return 0;
}
