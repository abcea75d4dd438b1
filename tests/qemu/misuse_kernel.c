// SPDX-License-Identifier: BSD-2-Clause
/*
 * qemu_misuse: one small program per bug class (as hardened_malloc's test
 * suite does), picked with the bootarg case=NAME. Each case commits one
 * mistake a kernel could make and must end in the heap's (or percpu's) named
 * misuse report, `PANIC hart=H: heap: <error name>: ...`, exit code 5. If it
 * comes back instead, the kernel prints `qemu_misuse: FAIL case=NAME: not
 * detected` and exits 1.
 *
 * The mistakes happen on hart 0 (hart 1 too for the cross-hart case), so the
 * tests can name the hart; the others idle in wfi and are stopped by the
 * panic. The kmalloc/kfree cases go through percpu as a kernel would; the
 * *_kheap and *_large cases go through kheap_* or the large-block path, where
 * the way to the check differs.
 */
#include <heap/kheap.h>
#include <kernel/kernel.h>
#include <percpu/kmalloc.h>

static char which[32];

static bool is_case(const char *name)
{
	const char *a = which, *b = name;
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static bool starts_with(const char *prefix)
{
	for (const char *a = which; *prefix; a++, prefix++)
		if (*a != *prefix)
			return false;
	return true;
}

/* Forces the compiler to keep (and not reason about) a pointer. */
static void *opaque(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

static void setup(void)
{
	if (!kernel_arg_str("case", which, sizeof(which)))
		panic("qemu_misuse: no case= bootarg");
	kprintf("qemu_misuse: case=%s\n", which);
	/* The use-before-init cases make their mistake before (some) init. */
	if (starts_with("uninit"))
		return;
	kheap_init(sheap, eheap);
	percpu_init(PERCPU_MAGAZINES);
}

static _Alignas(16) char global_buf[256];

/* Two blocks a and b with b's tag right behind a's last usable byte. */
static bool adjacent_pair(void **blk, unsigned n, void **a, void **b)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < n; j++)
			if ((char *)blk[j] == (char *)blk[i] + ksize(blk[i]) + sizeof(uintptr_t)) {
				*a = blk[i];
				*b = blk[j];
				return true;
			}
	return false;
}

/* The mistakes that need only hart 0. Returns if the misuse went unseen. */
static void hart0_case(void)
{
	void *p, *q;

	if (is_case("uninit_kmalloc")) {
		/* Neither kheap_init nor percpu_init: the first thing Comix warns of. */
		p = kmalloc(64);
		kprintf("qemu_misuse: kmalloc before init returned %p\n", p);
	} else if (is_case("uninit_percpu")) {
		/* The heap is up, the magazine layer is not. */
		kheap_init(sheap, eheap);
		p = kmalloc(64);
		kprintf("qemu_misuse: kmalloc before percpu_init returned %p\n", p);
	} else if (is_case("uninit_kfree")) {
		kheap_init(sheap, eheap);
		p = kheap_alloc(64, 0);
		kfree(p);
	} else if (is_case("uninit_kheap")) {
		p = kheap_alloc(64, 0);
		kprintf("qemu_misuse: kheap_alloc before kheap_init returned %p\n", p);
	} else if (is_case("double_free")) {
		p = kmalloc(64);
		kfree(p);
		kfree(opaque(p)); /* the block sits in this hart's magazine */
	} else if (is_case("double_free_drained")) {
		/* The second free finds the block back in the heap, free. */
		p = kmalloc(64);
		kfree(p);
		percpu_drain();
		kfree(opaque(p));
	} else if (is_case("double_free_large")) {
		p = kmalloc(64 * 1024); /* past the classes: the heap's own block */
		kfree(p);
		kfree(opaque(p));
	} else if (is_case("double_free_kheap")) {
		p = kheap_alloc(64, 0);
		kheap_free(p);
		kheap_free(opaque(p));
	} else if (is_case("free_stack")) {
		_Alignas(16) char buf[128];
		for (unsigned i = 0; i < sizeof(buf); i++)
			((volatile char *)buf)[i] = (char)i;
		kfree(opaque(buf + 64));
	} else if (is_case("free_stack_kheap")) {
		_Alignas(16) char buf[128] = { 0 };
		kheap_free(opaque(buf + 64));
	} else if (is_case("free_global")) {
		kfree(opaque(global_buf + 64));
	} else if (is_case("free_global_kheap")) {
		kheap_free(opaque(global_buf + 64));
	} else if (is_case("free_interior")) {
		p = kmalloc(256);
		memset(p, 0, 256);
		kfree((char *)p + 64);
	} else if (is_case("free_interior_large")) {
		p = kmalloc(64 * 1024);
		memset(p, 0x5a, 64 * 1024);
		kfree((char *)p + 4096);
	} else if (is_case("overflow_free_victim")) {
		/*
		 * Write 8 bytes past the end of a small block: that is the tag of
		 * the block behind it. kfree(a) (the overflowing block) is not
		 * checked against its neighbour on the magazine path, so it goes
		 * unseen; kfree(b) (the victim) finds its tag damaged.
		 */
		void *blk[16];
		for (unsigned i = 0; i < 16; i++)
			blk[i] = kmalloc(64);
		if (!adjacent_pair(blk, 16, &p, &q))
			panic("qemu_misuse: no two adjacent 64-byte blocks");
		kprintf("qemu_misuse: a=%p (usable %zu) b=%p: writing %zu bytes into a\n",
			p, ksize(p), q, ksize(p) + 8);
		memset(p, 0x41, ksize(p) + 8);
		kfree(p);
		kprintf("qemu_misuse: kfree(a) passed unseen (magazine path)\n");
		kfree(q);
	} else if (is_case("overflow_drain")) {
		/*
		 * As overflow_free_victim, but the victim is never freed: the
		 * damage is found when the culprit's magazine goes back to the
		 * heap (percpu_drain -> kheap_free_batch checks every block).
		 */
		void *blk[16];
		for (unsigned i = 0; i < 16; i++)
			blk[i] = kmalloc(64);
		if (!adjacent_pair(blk, 16, &p, &q))
			panic("qemu_misuse: no two adjacent 64-byte blocks");
		memset(p, 0x41, ksize(p) + 8);
		kfree(p);
		kprintf("qemu_misuse: kfree(a) passed unseen; draining the caches\n");
		percpu_drain();
	} else if (is_case("overflow_free_culprit")) {
		/*
		 * The same with blocks the heap frees itself (kheap): freeing the
		 * overflowing block checks that its size lands on a valid tag,
		 * so the overflow is caught at the culprit's own free.
		 */
		void *blk[4];
		for (unsigned i = 0; i < 4; i++)
			blk[i] = kheap_alloc(1000, 0);
		if (!adjacent_pair(blk, 4, &p, &q))
			panic("qemu_misuse: no two adjacent 1000-byte blocks");
		kprintf("qemu_misuse: a=%p (usable %zu) b=%p: writing %zu bytes into a\n",
			p, ksize(p), q, ksize(p) + 8);
		memset(p, 0x41, ksize(p) + 8);
		kheap_free(p);
	} else if (is_case("overflow_free_large")) {
		/* Large blocks through kfree: the heap's free of the culprit. */
		void *blk[4];
		for (unsigned i = 0; i < 4; i++)
			blk[i] = kmalloc(8192);
		if (!adjacent_pair(blk, 4, &p, &q))
			panic("qemu_misuse: no two adjacent 8 KiB blocks");
		kprintf("qemu_misuse: a=%p (usable %zu) b=%p: writing %zu bytes into a\n",
			p, ksize(p), q, ksize(p) + 8);
		memset(p, 0, ksize(p) + 8); /* zeros: a "tag" of 0 */
		kfree(p);
	} else if (is_case("kcalloc_overflow")) {
		p = kcalloc(SIZE_MAX / 8 + 2, 8); /* n * size wraps to 8 */
		kprintf("qemu_misuse: kcalloc(SIZE_MAX/8+2, 8) returned %p\n", p);
	} else if (is_case("kmalloc_max")) {
		p = kmalloc(SIZE_MAX);
		kprintf("qemu_misuse: kmalloc(SIZE_MAX) returned %p\n", p);
	} else if (is_case("kmalloc_try_max")) {
		/* kmalloc_try may fail on OOM, but an impossible size is misuse. */
		p = kmalloc_try(SIZE_MAX - 8);
		kprintf("qemu_misuse: kmalloc_try(SIZE_MAX-8) returned %p\n", p);
	} else if (is_case("kheap_alloc_max")) {
		p = kheap_alloc(SIZE_MAX - 4096, 4096);
		kprintf("qemu_misuse: kheap_alloc(SIZE_MAX-4096, 4096) returned %p\n", p);
	} else if (is_case("bad_align")) {
		p = kmalloc_aligned(64, 48);
		kprintf("qemu_misuse: kmalloc_aligned(64, 48) returned %p\n", p);
	} else if (is_case("bad_align_kheap")) {
		p = kheap_alloc(64, 48);
		kprintf("qemu_misuse: kheap_alloc(64, 48) returned %p\n", p);
	} else if (is_case("bad_align_small")) {
		/* A non-power-of-two below 16: served by the classes today. */
		p = kmalloc_aligned(64, 12);
		kprintf("qemu_misuse: kmalloc_aligned(64, 12) returned %p\n", p);
	} else if (is_case("sized_free_mismatch")) {
		p = kmalloc(64);
		kfree_sized(p, 4096);
	} else if (is_case("free_wild")) {
		/*
		 * A wild pointer (a device-register-like address outside every
		 * region): named before any load through it, never a fault.
		 */
		kfree(opaque((void *)0xdead0000));
	} else if (is_case("free_wild_sized")) {
		kfree_sized(opaque((void *)0xdead0000), 64);
	} else {
		panic("qemu_misuse: unknown case '%s'", which);
	}
}

/*
 * Hart 0 frees a block (it goes to hart 0's magazine), hart 1 frees it again:
 * the cached mark in the tag is seen from any hart.
 */
static void double_free_cross(unsigned hart)
{
	static void *shared;

	if (hart == 0) {
		shared = kmalloc(128);
		kfree(shared);
	}
	barrier();
	if (hart == 1)
		kfree(opaque(shared));
}

/*
 * Hart 0 allocates, hart 1 frees it (legal: it lands in hart 1's magazine),
 * then hart 0 frees it again.
 */
static void double_free_cross_owner(unsigned hart)
{
	static void *shared;

	if (hart == 0)
		shared = kmalloc(128);
	barrier();
	if (hart == 1)
		kfree(shared);
	barrier();
	if (hart == 0)
		kfree(opaque(shared));
}

static void run(unsigned hart)
{
	if (smp_nharts() < 2)
		panic("qemu_misuse needs at least 2 harts");
	if (is_case("double_free_cross"))
		double_free_cross(hart);
	else if (is_case("double_free_cross_owner"))
		double_free_cross_owner(hart);
	else if (hart == 0)
		hart0_case();
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
