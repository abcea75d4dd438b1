// SPDX-License-Identifier: BSD-2-Clause
/*
 * kmalloc_aligned from the classes (offset tags, see aligned.c): every
 * alignment 32..4096 is honoured and served without the heap (no large
 * allocs), ksize/krealloc/kfree_sized follow the tag to the block,
 * krealloc_aligned keeps the alignment (also past the classes), and the
 * misuses are still named: double free, interior pointer, sized free with
 * a size the block cannot hold. Ends drained, with a clean heap.
 */
#include "test_util.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>


int main(void)
{
	test_percpu_init_as_hart0(8u << 20);
	static void *b[4096];
	static size_t sz[4096], al[4096];
	unsigned n = 0;
	uint64_t x = 12345;

	for (unsigned round = 0; round < 4; round++) {
		for (size_t align = 32; align <= 4096; align <<= 1) {
			for (unsigned k = 0; k < 40; k++) {
				x = x * 6364136223846793005u + 1442695040888963407u;
				size_t size = 1 + (x >> 33) % (align < 1024 ? 3000 : 20000);
				void *p = (x >> 20) & 1 ? kmalloc_aligned(size, align)
							: kmalloc_aligned_try(size, align);
				CHECK(p && ((uintptr_t)p & (align - 1)) == 0);
				CHECK(ksize(p) >= size);
				memset(p, (int)(size & 0xff), size);
				b[n] = p;
				al[n] = align;
				sz[n++] = size;
			}
		}
		/* Resize a third, free a third, keep the rest for a while. */
		for (unsigned i = round % 3; i < n; i += 3) {
			/* Odd ones keep their alignment, some past the classes. */
			bool aligned = i & 1;
			size_t ns = aligned && i % 7 == 1 ? 40000 + i : sz[i] / 2 + 1 + (i % 5) * 700;
			if (!aligned)
				al[i] = 16;
			unsigned char *q = aligned ? krealloc_aligned(b[i], ns, al[i]) : krealloc(b[i], ns);
			CHECK(q && ((uintptr_t)q & (al[i] - 1)) == 0);
			CHECK(ksize(q) >= ns);
			size_t keep = ns < sz[i] ? ns : sz[i];
			for (size_t j = 0; j < keep; j += 97)
				CHECK(q[j] == (unsigned char)(sz[i] & 0xff));
			memset(q, (int)(ns & 0xff), ns);
			b[i] = q;
			sz[i] = ns;
		}
		for (unsigned i = (round + 1) % 3; i < n; i += 3) {
			if (i & 1)
				kfree_sized(b[i], sz[i]);
			else
				kfree(b[i]);
			b[i] = b[--n];
			sz[i] = sz[n];
			al[i] = al[n];
		}
	}
	CHECK(test_heap_validate() == 0);
	struct percpu_stats st;
	percpu_sum_stats(&st);
	/*
	 * Both ways were taken: a padded class block while the pad is at most
	 * a quarter of the request (PERCPU_ALIGN_PAD_DIV) or PERCPU_ALIGN_PAD_ANY
	 * bytes, else the heap's.
	 */
	CHECK(st.large_allocs > 0 && st.large_allocs < st.allocs);
	CHECK(st.allocs == st.frees + n);
	for (unsigned i = 0; i < n; i++)
		kfree(b[i]);

	/* Past the classes: the heap's own aligned block, freed by kfree too. */
	size_t large_before = st.large_allocs;
	void *big = kmalloc_aligned(40000, 4096);
	CHECK(((uintptr_t)big & 4095) == 0);
	kfree(big);
	percpu_sum_stats(&st);
	CHECK(st.large_allocs == large_before + 1);

	/*
	 * A pad of at most a quarter, or of at most PERCPU_ALIGN_PAD_ANY bytes
	 * (8 bytes at 128: a pad of 112, 14 times the request): the class;
	 * more: the heap, exactly.
	 */
	void *padded = kmalloc_aligned(1000, 64);
	void *line = kmalloc_aligned(8, 128);
	percpu_sum_stats(&st);
	CHECK(((uintptr_t)padded & 63) == 0 && ((uintptr_t)line & 127) == 0);
	CHECK(st.large_allocs == large_before + 1);
	void *exact = kmalloc_aligned(100, 4096);
	void *exact_line = kmalloc_aligned(8, 256);
	percpu_sum_stats(&st);
	CHECK(((uintptr_t)exact_line & 255) == 0);
	CHECK(((uintptr_t)exact & 4095) == 0 && st.large_allocs == large_before + 3);
	kfree(padded);
	kfree(line);
	kfree(exact);
	kfree(exact_line);

	/* Misuse, with a recording handler: each is named, nothing is freed. */
	kheap_set_misuse_handler(record_misuse);
	/*
	 * Blocks that happen to be aligned already carry no offset tag: keep
	 * them until one that is not turns up (a freed one would come back).
	 */
	void *p = NULL, *held[64];
	int nheld = 0;
	for (int i = 0; i < 64 && !p; i++) {
		void *q = kmalloc_aligned(100, 256);
		/* Class 384 (100 + 240), usable 392: less means an offset tag. */
		if (ksize(q) < 384)
			p = q;
		else
			held[nheld++] = q;
	}
	while (nheld)
		kfree(held[--nheld]);
	CHECK(p);
	kfree(p);
	CHECK(misuses == 0);
	kfree(p);
	CHECK(misuses == 1 && last_misuse == HEAP_ERR_DOUBLE_FREE);

	/*
	 * A second free after the first one's block went on to the heap,
	 * where a free block's first two payload words hold links: the freed
	 * tag is still there (every offset the placement picks, with and
	 * without room above b + 16), and the free is named "double free"
	 * once. (With tags at b + 8, a link took the tag's place: the free was
	 * misnamed, or cached when the link's state byte read as a class; the
	 * fuzzer's finding.)
	 */
	enum { TWICE = 256 };
	static void *twice[TWICE];
	static bool tagged[TWICE];
	int ntagged = 0;
	for (int i = 0; i < TWICE; i++) {
		twice[i] = kmalloc_aligned(512 + (size_t)(i % 7) * 16, (size_t)32 << (i % 3));
		tagged[i] = kheap_offset_of(twice[i]) != 0;
		ntagged += tagged[i];
	}
	CHECK(ntagged > TWICE / 4);
	for (int i = 0; i < TWICE; i++)
		kfree(twice[i]);
	percpu_drain(); /* the blocks leave the magazines for the heap */
	int before = misuses;
	for (int i = 0; i < TWICE; i++) {
		/* At HEAP_HARDENING >= 2 the magazine poisoned the block, tag too. */
		if (tagged[i] && HEAP_HARDENING < 2)
			CHECK(heap_tag_state(twice[i]) == KHEAP_STATE_OFFSET_FREED &&
			      kheap_offset_of(twice[i]) != 0);
		kfree(twice[i]);
		CHECK(misuses == before + i + 1 && last_misuse == HEAP_ERR_DOUBLE_FREE);
	}
	misuses = before; /* the counts below go on from the first double free */
	CHECK(test_heap_validate() == 0);

	p = kmalloc_aligned(1000, 64);
	memset(p, 0, 1000);
	kfree((char *)p + 64);
	CHECK(misuses == 2 && last_misuse == HEAP_ERR_INTERIOR_PTR);
	kfree_sized(p, ksize(p) + 1);
	CHECK(misuses == 3 && last_misuse == HEAP_ERR_SIZE_MISMATCH);
	kfree_sized(p, 1000);
	CHECK(misuses == 3);
	/* A bad alignment for krealloc_aligned: named, the block untouched. */
	unsigned char *keep = kmalloc_aligned(300, 64);
	memset(keep, 0x5a, 300);
	CHECK(krealloc_aligned(keep, 600, 48) == NULL);
	CHECK(misuses == 4 && last_misuse == HEAP_ERR_BAD_ALIGN);
	/* Named for the call made, with its pointer. */
	CHECK(last_misuse_ptr == keep && !strcmp(last_misuse_where, "krealloc_aligned"));
	CHECK(keep[0] == 0x5a && keep[299] == 0x5a);
	CHECK(kmalloc_aligned_try(64, 48) == NULL);
	CHECK(misuses == 5 && last_misuse_ptr == NULL &&
	      !strcmp(last_misuse_where, "kmalloc_aligned_try"));
	kfree(keep);
	kheap_set_misuse_handler(NULL);

	CHECK(test_heap_validate() == 0);
	CHECK(percpu_check_drained(0));
	printf("aligned_test: PASS\n");
	return 0;
}
