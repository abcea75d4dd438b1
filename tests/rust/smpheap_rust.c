// SPDX-License-Identifier: BSD-2-Clause
/*
 * The C side of a Rust #[global_allocator] over smp-heap on the host port
 * (global_alloc.rs): GlobalAlloc's alloc, realloc and dealloc are
 * kmalloc_aligned_try, krealloc_aligned and kfree_sized, so a layout's
 * alignment is kept through realloc (what a Rust kernel's adapter over this
 * heap does; talc's users write one). The heap is set up on first use; each
 * thread becomes a hart of its own and gives its magazines back when it
 * exits.
 */
#include <heap/kheap.h>
#include <percpu/kmalloc.h>
#include <platform/port.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define RUST_HEAP_BYTES ((size_t)64 << 20)

static pthread_once_t heap_once = PTHREAD_ONCE_INIT;
static pthread_key_t hart_key;
/* Relaxed: only hands out distinct numbers; the first caller gets 0. */
static atomic_uint next_hart;
static _Thread_local int have_hart;

static void hart_exit(void *unused)
{
	(void)unused;
	percpu_hart_exit();
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

/* The heap is up and the calling thread has a hart id. */
static void enter(void)
{
	if (have_hart)
		return;
	pthread_once(&heap_once, heap_setup);
	have_hart = 1;
	unsigned h = atomic_fetch_add_explicit(&next_hart, 1, memory_order_relaxed);
	if (h >= PORT_MAX_HARTS) {
		fprintf(stderr, "smpheap_rust: more than %u threads\n", PORT_MAX_HARTS);
		abort();
	}
	port_host_become_hart(h);
	pthread_setspecific(hart_key, &have_hart); /* hart_exit at thread exit */
}

void *smpheap_rust_alloc(size_t size, size_t align)
{
	enter();
	return kmalloc_aligned_try(size, align);
}

void *smpheap_rust_realloc(void *p, size_t size, size_t align)
{
	enter();
	return krealloc_aligned(p, size, align);
}

void smpheap_rust_free(void *p, size_t size)
{
	enter();
	kfree_sized(p, size);
}

/* The heap validator's error count. */
size_t smpheap_rust_validate(void)
{
	enter();
	return kheap_validate(NULL, NULL);
}
