// SPDX-License-Identifier: BSD-2-Clause
/*
 * qemu_misuse: one small program per bug class (as hardened_malloc's test
 * suite does), picked with the bootarg case=NAME from misuse_cases[]
 * (misuse_cases.c). Each case commits one mistake a kernel could make and
 * must end in the heap's (or percpu's) named misuse report,
 * `PANIC hart=H: heap: <error name>: ...`, exit code 5 (a case may name
 * another: a wild free at hardening level 0 is a trap). Before the mistake
 * the kernel prints the report the case expects (`qemu_misuse: expect: ...`)
 * and the exit code (`qemu_misuse: exit: N`) for tests/qemu/misuse_test.sh.
 * If the mistake comes back instead, the kernel prints
 * `qemu_misuse: FAIL case=NAME: not detected` and exits 1.
 * case=list prints every case's name and exits 0.
 *
 * The mistakes happen on hart 0 (hart 1 too for the cross-hart cases), so the
 * tests can name the hart; the others idle in wfi and are stopped by the
 * panic. The kmalloc/kfree cases go through percpu as a kernel would; the
 * *_kheap and *_large cases go through kheap_* or the large-block path, where
 * the way to the check differs.
 */
#include "misuse_cases.h"

#include <heap/kheap.h>
#include <kernel/kernel.h>
#include <percpu/kmalloc.h>

static char which[32];
static const struct misuse_case *the_case;

static bool same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static bool starts_with(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
		if (*s != *prefix)
			return false;
	return true;
}

static void setup(void)
{
	if (!kernel_arg_str("case", which, sizeof(which)))
		panic("qemu_misuse: no case= bootarg");
	if (same(which, "list")) {
		for (unsigned i = 0; i < misuse_case_count; i++)
			kprintf("qemu_misuse: case %s\n", misuse_cases[i].name);
		port_exit(PORT_EXIT_PASS);
	}
	for (unsigned i = 0; i < misuse_case_count; i++)
		if (same(which, misuse_cases[i].name))
			the_case = &misuse_cases[i];
	if (!the_case)
		panic("qemu_misuse: unknown case '%s'", which);
	kprintf("qemu_misuse: case=%s\n", which);
	kprintf("qemu_misuse: expect: %s\n", the_case->expect);
	kprintf("qemu_misuse: exit: %d\n",
		the_case->exit_code ? the_case->exit_code : PORT_EXIT_MISUSE);
	/* The use-before-init cases make their mistake before (some) init. */
	if (starts_with(which, "uninit"))
		return;
	kheap_init(sheap, eheap);
	percpu_init(PERCPU_MAGAZINES);
}

static void run(unsigned hart)
{
	if (smp_nharts() < 2)
		panic("qemu_misuse needs at least 2 harts");
	if (the_case->on_every_hart)
		the_case->on_every_hart(hart);
	else if (hart == 0)
		the_case->on_hart0();
}

static int finish(void)
{
	kprintf("qemu_misuse: FAIL case=%s: not detected\n", which);
	return PORT_EXIT_FAIL;
}

const struct kernel_scenario kernel_scenario = {
	.name = "qemu_misuse",
	.setup = setup,
	.run = run,
	.finish = finish,
};
