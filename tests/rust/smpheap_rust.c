// SPDX-License-Identifier: BSD-2-Clause
/*
 * The C side of a Rust #[global_allocator] over smp-heap on the host port
 * (global_alloc.rs): GlobalAlloc's alloc, realloc and dealloc are
 * kmalloc_aligned_try, krealloc_aligned and kfree_sized, so a layout's
 * alignment is kept through realloc (what a Rust kernel's adapter over this
 * heap does; talc's users write one). The heap is set up on first use.
 *
 * Threads are harts (percpu indexes its magazines by the hart id, so two
 * live threads never share one): a thread takes a free id of the
 * PORT_MAX_HARTS on its first call, and at exit gives its magazines back
 * and the id with them, for the next thread. A thread that finds every id
 * taken, or calls in after its exit (another key's destructor), uses the
 * locked heap (kheap_*) directly, which takes any block back.
 */
#include <heap/kheap.h>
#include <percpu/kmalloc.h>
#include <platform/port.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define RUST_HEAP_BYTES ((size_t)64 << 20)

static pthread_once_t heap_once = PTHREAD_ONCE_INIT;
static pthread_key_t hart_key;

#define ID_WORDS ((PORT_MAX_HARTS + 63) / 64)
/*
 * Bit set: the id is a live thread's. Taking an id (acquire) orders after
 * the release that gave it back, so the new thread sees the old one's
 * percpu_hart_exit done.
 */
static atomic_uint_fast64_t id_taken[ID_WORDS];

enum { HART_NONE = -1, HART_HEAP = -2 }; /* no id yet; the locked heap */
static _Thread_local int my_hart = HART_NONE;
/* A count only, read after the threads are joined: relaxed. */
static atomic_size_t threads_without_id;

static int id_take(void)
{
	for (unsigned w = 0; w < ID_WORDS; w++) {
		uint_fast64_t v = atomic_load_explicit(&id_taken[w], memory_order_relaxed);
		unsigned ids = PORT_MAX_HARTS - w * 64 < 64 ? PORT_MAX_HARTS - w * 64 : 64;
		uint_fast64_t word_ids = ids < 64 ? ((uint_fast64_t)1 << ids) - 1 : ~(uint_fast64_t)0;
		for (uint_fast64_t avail; (avail = ~v & word_ids) != 0;) {
			unsigned bit = (unsigned)__builtin_ctzll(avail);
			if (atomic_compare_exchange_weak_explicit(&id_taken[w], &v,
								  v | ((uint_fast64_t)1 << bit),
								  memory_order_acquire,
								  memory_order_relaxed))
				return (int)(w * 64 + bit);
		}
	}
	return HART_HEAP;
}

static void hart_exit(void *unused)
{
	(void)unused;
	int id = my_hart;
	my_hart = HART_HEAP; /* from now on: the locked heap, never an id */
	if (id < 0)
		return;
	percpu_hart_exit();
	/* Release: the magazines are given back before the id is. */
	atomic_fetch_and_explicit(&id_taken[id / 64], ~((uint_fast64_t)1 << (id % 64)),
				  memory_order_release);
}

static void heap_setup(void)
{
	void *m = mmap(NULL, RUST_HEAP_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		fprintf(stderr, "smpheap_rust: cannot map the heap\n");
		abort();
	}
	kheap_init(m, (char *)m + RUST_HEAP_BYTES);
	percpu_init(PERCPU_MAGAZINES);
	pthread_key_create(&hart_key, hart_exit);
}

/* The heap is up; returns the calling thread's hart id, or HART_HEAP. */
static int enter(void)
{
	if (my_hart != HART_NONE)
		return my_hart;
	pthread_once(&heap_once, heap_setup);
	my_hart = id_take();
	if (my_hart >= 0)
		port_host_become_hart((unsigned)my_hart);
	else
		atomic_fetch_add_explicit(&threads_without_id, 1, memory_order_relaxed);
	pthread_setspecific(hart_key, &my_hart); /* hart_exit at thread exit */
	return my_hart;
}

/*
 * The heap reports a size past its largest block (64 GiB) as misuse, a
 * kernel's bug, and panics; Rust asks for any size up to isize::MAX and
 * expects a failure as NULL (Vec::try_reserve turns it into an error). A
 * block bigger than the whole heap, which never grows here, cannot be
 * served anyway: refused before the heap sees it.
 */
static bool never_fits(size_t size)
{
	return size > kheap_capacity();
}

void *smpheap_rust_alloc(size_t size, size_t align)
{
	int hart = enter();
	if (never_fits(size))
		return NULL;
	if (hart >= 0)
		return kmalloc_aligned_try(size, align);
	return kheap_try_alloc(size, align);
}

void *smpheap_rust_realloc(void *p, size_t size, size_t align)
{
	int hart = enter();
	if (never_fits(size))
		return NULL;
	if (hart >= 0)
		return krealloc_aligned(p, size, align);
	return kheap_try_realloc_aligned(p, size, align);
}

void smpheap_rust_free(void *p, size_t size)
{
	if (enter() >= 0)
		kfree_sized(p, size);
	else
		kheap_free(p); /* any block, a magazine's or an offset-tagged one */
}

/* Threads that found every hart id taken and used the locked heap. */
size_t smpheap_rust_threads_without_id(void)
{
	return atomic_load_explicit(&threads_without_id, memory_order_relaxed);
}

/* How many threads can hold a hart id at once. */
size_t smpheap_rust_max_harts(void)
{
	return PORT_MAX_HARTS;
}

/* The heap validator's error count. */
size_t smpheap_rust_validate(void)
{
	enter();
	return kheap_validate(NULL, NULL);
}
