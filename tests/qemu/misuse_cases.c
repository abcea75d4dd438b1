// SPDX-License-Identifier: BSD-2-Clause
/*
 * The misuse cases of qemu_misuse, one row each in misuse_cases[]: the
 * mistake (a function run on hart 0, or on every hart for the cross-hart
 * cases) and the exact report it must end in, the tested contract of the
 * heap's and percpu's misuse messages. tests/qemu/misuse_test.sh checks
 * the console against the row's message ("<ptr>" stands for the block's
 * address, "<function>" for any function name). To add a case: a function
 * here, a row below, and its name in MISUSE_CASES of tests/BUILD
 * (//tests:qemu_misuse_cases_test fails while the two lists differ).
 */
#include "misuse_cases.h"

#include <heap/kheap.h>
#include <kernel/kernel.h>
#include <percpu/kmalloc.h>

/* The heap's misuse report (heap/kheap.c), as the console shows it. */
#define HEAP(hart, error, size, where) \
	"PANIC hart=" #hart ": heap: " error ": ptr <ptr> size " size " (" where ")"
#define ANY_FUNCTION "<function>"
/* percpu's report for kmalloc/kfree before percpu_init (percpu/kmalloc.c). */
#define PERCPU_UNINIT "PANIC hart=0: percpu: use before init (kmalloc/kfree before percpu_init)"

/* Forces the compiler to keep (and not reason about) a pointer. */
static void *opaque(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

static _Alignas(16) char global_buf[256];

/*
 * Bytes from p to the next block's payload: p's usable bytes, its canary
 * (HEAP_HARDENING >= 2) and the next block's tag. Writing that many from p
 * overwrites the tag.
 */
static size_t to_next_payload(void *p)
{
	return ksize(p) + HEAP_CANARY_BYTES + sizeof(uintptr_t);
}

/* Two blocks a and b with b's tag right behind a's last usable byte (and canary). */
static bool adjacent_pair(void **blk, unsigned n, void **a, void **b)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < n; j++)
			if ((char *)blk[j] == (char *)blk[i] + to_next_payload(blk[i])) {
				*a = blk[i];
				*b = blk[j];
				return true;
			}
	return false;
}

#define OVERFLOW_BLOCKS_MAX 16

/*
 * The overflow cases' setup: n blocks of `size` (from kheap_alloc if
 * from_heap, else kmalloc), two adjacent ones a and b among them, and a
 * filled with `fill` up to b's payload, so b's tag is overwritten. Returns a
 * (*b_out: b); the other blocks stay allocated.
 */
static void *overflow_into_next(size_t size, unsigned n, bool from_heap, int fill, void **b_out)
{
	void *blk[OVERFLOW_BLOCKS_MAX], *a;

	if (n > OVERFLOW_BLOCKS_MAX)
		panic("qemu_misuse: at most %u blocks", OVERFLOW_BLOCKS_MAX);
	for (unsigned i = 0; i < n; i++)
		blk[i] = from_heap ? kheap_alloc(size, 0) : kmalloc(size);
	if (!adjacent_pair(blk, n, &a, b_out))
		panic("qemu_misuse: no two adjacent %zu-byte blocks", size);
	kprintf("qemu_misuse: a=%p (usable %zu) b=%p: writing %zu bytes into a\n",
		a, ksize(a), *b_out, to_next_payload(a));
	memset(a, fill, to_next_payload(a));
	return a;
}

/* ---- the mistakes made on hart 0 alone ---------------------------------- */

static void uninit_kmalloc(void)
{
	void *p;

	/* Neither kheap_init nor percpu_init: the first thing Comix warns of. */
	p = kmalloc(64);
	kprintf("qemu_misuse: kmalloc before init returned %p\n", p);
}

static void uninit_percpu(void)
{
	void *p;

	/* The heap is up, the magazine layer is not. */
	kheap_init(sheap, eheap);
	p = kmalloc(64);
	kprintf("qemu_misuse: kmalloc before percpu_init returned %p\n", p);
}

static void uninit_kfree(void)
{
	void *p;

	kheap_init(sheap, eheap);
	p = kheap_alloc(64, 0);
	kfree(p);
}

static void uninit_kheap(void)
{
	void *p;

	p = kheap_alloc(64, 0);
	kprintf("qemu_misuse: kheap_alloc before kheap_init returned %p\n", p);
}

static void double_free(void)
{
	void *p;

	p = kmalloc(64);
	kfree(p);
	kfree(opaque(p)); /* the block sits in this hart's magazine */
}

static void double_free_drained(void)
{
	void *p;

	/* The second free finds the block back in the heap, free. */
	p = kmalloc(64);
	kfree(p);
	percpu_drain();
	kfree(opaque(p));
}

static void double_free_large(void)
{
	void *p;

	p = kmalloc(64 * 1024); /* past the classes: the heap's own block */
	kfree(p);
	kfree(opaque(p));
}

static void double_free_kheap(void)
{
	void *p;

	p = kheap_alloc(64, 0);
	kheap_free(p);
	kheap_free(opaque(p));
}

static void free_stack(void)
{
	_Alignas(16) char buf[128];
	for (unsigned i = 0; i < sizeof(buf); i++)
		((volatile char *)buf)[i] = (char)i;
	kfree(opaque(buf + 64));
}

static void free_stack_kheap(void)
{
	_Alignas(16) char buf[128] = { 0 };
	kheap_free(opaque(buf + 64));
}

static void free_global(void)
{
	kfree(opaque(global_buf + 64));
}

static void free_global_kheap(void)
{
	kheap_free(opaque(global_buf + 64));
}

static void free_interior(void)
{
	void *p;

	p = kmalloc(256);
	memset(p, 0, 256);
	kfree((char *)p + 64);
}

static void free_interior_large(void)
{
	void *p;

	p = kmalloc(64 * 1024);
	memset(p, 0x5a, 64 * 1024);
	kfree((char *)p + 4096);
}

static void overflow_free_victim(void)
{
	void *p, *q;

	/*
	 * Write 8 bytes past the end of a small block (and its canary, at
	 * HEAP_HARDENING >= 2): that is the tag of the block behind it.
	 * kfree(a) (the overflowing block) is not checked against its
	 * neighbour on the magazine path, so it goes unseen (at level 2 its
	 * canary sends it to the heap, which names the same damage);
	 * kfree(b) (the victim) finds its tag damaged.
	 */
	p = overflow_into_next(64, 16, false, 0x41, &q);
	kfree(p);
	kprintf("qemu_misuse: kfree(a) passed unseen (magazine path)\n");
	kfree(q);
}

/*
 * Who names overflow_drain's damage: the drain, or at HEAP_HARDENING >= 2
 * the culprit's own kfree, which finds its canary broken and hands the
 * block to the heap instead of the magazine.
 */
#if HEAP_HARDENING >= 2
#define OVERFLOW_DRAIN_FINDER "kheap_free"
#else
#define OVERFLOW_DRAIN_FINDER "kheap_free_batch"
#endif

/*
 * The report of an overflow into the next block's tag, found by `where`.
 * At the paranoid level (HEAP_HARDENING >= 3) the release of the heap lock
 * validates the whole heap before the operation reports anything: the
 * validator names the damage first, with the errors it counted (the
 * broken tag, and the block it no longer finds where that tag said).
 */
#if HEAP_HARDENING >= 3
#define OVERFLOW_REPORT(where) HEAP(0, "corrupted tag", "2", "kheap (paranoid validation)")
#else
#define OVERFLOW_REPORT(where) HEAP(0, "corrupted tag", "0", where)
#endif

static void overflow_drain(void)
{
	void *p, *q;

	/*
	 * As overflow_free_victim, but the victim is never freed: the
	 * damage is found when the culprit's magazine goes back to the
	 * heap (percpu_drain -> kheap_free_batch checks every block).
	 */
	p = overflow_into_next(64, 16, false, 0x41, &q);
	kfree(p);
	kprintf("qemu_misuse: kfree(a) passed unseen; draining the caches\n");
	percpu_drain();
}

static void overflow_free_culprit(void)
{
	void *p, *q;

	/*
	 * The same with blocks the heap frees itself (kheap): freeing the
	 * overflowing block checks that its size lands on a valid tag,
	 * so the overflow is caught at the culprit's own free.
	 */
	p = overflow_into_next(1000, 4, true, 0x41, &q);
	kheap_free(p);
}

static void overflow_free_large(void)
{
	void *p, *q;

	/* Large blocks through kfree: the heap's free of the culprit. */
	p = overflow_into_next(8192, 4, false, 0, &q); /* zeros: a "tag" of 0 */
	kfree(p);
}

static void kcalloc_overflow(void)
{
	void *p;

	p = kcalloc(SIZE_MAX / 8 + 2, 8); /* n * size wraps to 8 */
	kprintf("qemu_misuse: kcalloc(SIZE_MAX/8+2, 8) returned %p\n", p);
}

static void kmalloc_max(void)
{
	void *p;

	p = kmalloc(SIZE_MAX);
	kprintf("qemu_misuse: kmalloc(SIZE_MAX) returned %p\n", p);
}

static void kmalloc_try_max(void)
{
	void *p;

	/* kmalloc_try may fail on OOM, but an impossible size is misuse. */
	p = kmalloc_try(SIZE_MAX - 8);
	kprintf("qemu_misuse: kmalloc_try(SIZE_MAX-8) returned %p\n", p);
}

static void kheap_alloc_max(void)
{
	void *p;

	p = kheap_alloc(SIZE_MAX - 4096, 4096);
	kprintf("qemu_misuse: kheap_alloc(SIZE_MAX-4096, 4096) returned %p\n", p);
}

static void bad_align(void)
{
	void *p;

	p = kmalloc_aligned(64, 48);
	kprintf("qemu_misuse: kmalloc_aligned(64, 48) returned %p\n", p);
}

static void bad_align_kheap(void)
{
	void *p;

	p = kheap_alloc(64, 48);
	kprintf("qemu_misuse: kheap_alloc(64, 48) returned %p\n", p);
}

static void bad_align_small(void)
{
	void *p;

	/* A non-power-of-two below 16: served by the classes today. */
	p = kmalloc_aligned(64, 12);
	kprintf("qemu_misuse: kmalloc_aligned(64, 12) returned %p\n", p);
}

static void bad_align_realloc(void)
{
	void *p = kmalloc_aligned(64, 64), *q;

	q = krealloc_aligned(p, 128, 48);
	kprintf("qemu_misuse: krealloc_aligned(p, 128, 48) returned %p\n", q);
}

static void sized_free_mismatch(void)
{
	void *p;

	p = kmalloc(64);
	kfree_sized(p, 4096);
}

/*
 * What a wild pointer through kfree gets: from level 1 (the default) the
 * pointer is tested against the heap's range before any load through it;
 * level 0's fast path trusts the tag's state byte and loads it first, so
 * the run stops on that load's access fault, named by the trap handler
 * (the README's hardening table says so).
 */
#if HEAP_HARDENING >= 1
#define WILD_FREE_REPORT HEAP(0, "free of foreign pointer", "0", "kheap_free")
#define WILD_FREE_EXIT PORT_EXIT_MISUSE
#else
#define WILD_FREE_REPORT \
	"PANIC hart=0: unexpected trap: scause=0x5 (load access fault) sepc=<ptr> stval=<ptr>"
#define WILD_FREE_EXIT PORT_EXIT_TRAP
#endif

static void free_wild(void)
{
	/*
	 * A wild pointer (a device-register-like address outside every
	 * region): named before any load through it, never a fault.
	 */
	kfree(opaque((void *)0xdead0000));
}

static void free_wild_sized(void)
{
	/* The same through kfree_sized, which hands it to kfree unread. */
	kfree_sized(opaque((void *)0xdead0000), 64);
}

/* ---- the mistakes made by two harts ------------------------------------- */

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

/* ---- the table ---------------------------------------------------------- */

const struct misuse_case misuse_cases[] = {
	{ "uninit_kmalloc", PERCPU_UNINIT, .on_hart0 = uninit_kmalloc },
	{ "uninit_percpu", PERCPU_UNINIT, .on_hart0 = uninit_percpu },
	{ "uninit_kfree", PERCPU_UNINIT, .on_hart0 = uninit_kfree },
	{ "uninit_kheap", HEAP(0, "use before init", "0", "kheap_alloc"), .on_hart0 = uninit_kheap },
	{ "double_free", HEAP(0, "double free", "0", "kheap_free"), .on_hart0 = double_free },
	{ "double_free_drained", HEAP(0, "double free", "0", "kheap_free"), .on_hart0 = double_free_drained },
	{ "double_free_large", HEAP(0, "double free", "0", "kheap_free"), .on_hart0 = double_free_large },
	{ "double_free_kheap", HEAP(0, "double free", "0", "kheap_free"), .on_hart0 = double_free_kheap },
	{ "double_free_cross", HEAP(1, "double free", "0", "kheap_free"), .on_every_hart = double_free_cross },
	{ "double_free_cross_owner", HEAP(0, "double free", "0", "kheap_free"), .on_every_hart = double_free_cross_owner },
	{ "free_stack", HEAP(0, "free of foreign pointer", "0", "kheap_free"), .on_hart0 = free_stack },
	{ "free_stack_kheap", HEAP(0, "free of foreign pointer", "0", "kheap_free"), .on_hart0 = free_stack_kheap },
	{ "free_global", HEAP(0, "free of foreign pointer", "0", "kheap_free"), .on_hart0 = free_global },
	{ "free_global_kheap", HEAP(0, "free of foreign pointer", "0", "kheap_free"), .on_hart0 = free_global_kheap },
	{ "free_interior", HEAP(0, "free of interior pointer", "0", "kheap_free"), .on_hart0 = free_interior },
	{ "free_interior_large", HEAP(0, "free of interior pointer", "0", "kheap_free"), .on_hart0 = free_interior_large },
	{ "overflow_free_victim", OVERFLOW_REPORT("kheap_free"), .on_hart0 = overflow_free_victim },
	{ "overflow_drain", OVERFLOW_REPORT(OVERFLOW_DRAIN_FINDER), .on_hart0 = overflow_drain },
	{ "overflow_free_culprit", OVERFLOW_REPORT("kheap_free"), .on_hart0 = overflow_free_culprit },
	{ "overflow_free_large", OVERFLOW_REPORT("kheap_free"), .on_hart0 = overflow_free_large },
	{ "kcalloc_overflow", HEAP(0, "size overflow", "8", "kcalloc"), .on_hart0 = kcalloc_overflow },
	{ "kmalloc_max", HEAP(0, "size overflow", "18446744073709551615", "kmalloc"), .on_hart0 = kmalloc_max },
	{ "kmalloc_try_max", HEAP(0, "size overflow", "18446744073709551607", "kmalloc_try"), .on_hart0 = kmalloc_try_max },
	{ "kheap_alloc_max", HEAP(0, "size overflow", "18446744073709547519", "kheap_alloc"), .on_hart0 = kheap_alloc_max },
	{ "bad_align", HEAP(0, "bad alignment", "64", "kmalloc_aligned"), .on_hart0 = bad_align },
	{ "bad_align_kheap", HEAP(0, "bad alignment", "64", "kheap_alloc"), .on_hart0 = bad_align_kheap },
	{ "bad_align_small", HEAP(0, "bad alignment", "64", "kmalloc_aligned"), .on_hart0 = bad_align_small },
	{ "bad_align_realloc", HEAP(0, "bad alignment", "128", "krealloc_aligned"), .on_hart0 = bad_align_realloc },
	{ "free_wild", WILD_FREE_REPORT, WILD_FREE_EXIT, .on_hart0 = free_wild },
	{ "free_wild_sized", WILD_FREE_REPORT, WILD_FREE_EXIT, .on_hart0 = free_wild_sized },
	{ "sized_free_mismatch", HEAP(0, "sized free with wrong size", "4096", "kheap_free_sized"), .on_hart0 = sized_free_mismatch },
};

const unsigned misuse_case_count = sizeof(misuse_cases) / sizeof(misuse_cases[0]);
