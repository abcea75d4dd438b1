/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Size classes of the per-hart magazines, and their tunables.
 *
 * 40 classes, 16 B .. 32 KiB: 16-byte steps up to 128, then four classes per
 * power of two (steps of a quarter of the lower power):
 *
 *   class  0..7 :   16   32   48   64   80   96  112  128   (step  16)
 *   class  8..11:  160  192  224  256                       (step  32)
 *   class 12..15:  320  384  448  512                       (step  64)
 *   class 16..19:  640  768  896 1024                       (step 128)
 *   class 20..23: 1280 1536 1792 2048                       (step 256)
 *   class 24..27: 2560 3072 3584 4096                       (step 512)
 *   class 28..31: 5120 6144 7168 8192                       (step 1 KiB)
 *   class 32..35: 10240 12288 14336 16384                   (step 2 KiB)
 *   class 36..39: 20480 24576 28672 32768                   (step 4 KiB)
 *
 * Classes 0..28 (up to PERCPU_MAX_FAST, 5 KiB) are the fast classes:
 * kmalloc's and kfree's hit paths serve them. The big classes 29..39 are
 * served by the slow paths from the same magazines and depots (no heap lock
 * on a hit), and their magazines hold about PERCPU_BIG_MAG_BYTES (64 KiB,
 * 2..8 rounds; the shim's are bigger), at most PERCPU_BIG_MAG_CAP_BYTES
 * (<percpu/config.h>). 29 is as many as the state byte can name
 * (percpu_internal.h, "Slots"). The 29th, 5120, takes the sizes
 * 4097..5120, one request in five of issue 10's thread benchmark (1..5,000
 * bytes): as a big class, whose path the hit paths choose by a test on the
 * size and on the state byte that the branch predictor cannot learn in
 * such a mix, thread_bench at 1
 * thread ran 1.5x as long as with every size in a fast class
 * (tools/bench/README.md, "Thread scaling").
 *
 * Worst-case internal waste (class size minus request):
 *   size <= 128: at most 15 bytes, which the heap's 16-byte granule wastes
 *                anyway (every block is a multiple of 16 bytes).
 *   size  > 128: a request of s lands in a class c < s * 5/4 (c - step < s,
 *                step = lower power / 4 <= (c - step) / 4), so the waste is
 *                below 25% of the request and 20% of the block; the worst
 *                cases are one byte over a class: 129 -> 160 (31 B), 257 ->
 *                320 (63 B), ... 2049 -> 2560 (511 B).
 * The heap's own header word comes on top of this and is the same for every
 * path. A request above PERCPU_MAX_SMALL, or with an alignment above 16, is
 * not served by a class; it goes to the global heap.
 *
 * size -> class is one byte load: percpu_size_class_table[(size + 15) >> 4]
 * (2049 entries; size 0 maps to class 0). kfree maps a block's usable size
 * (from the heap tag, >= the class size it was allocated for) to its class
 * with percpu_usable_class_table[usable >> 4] (2050 entries: a last-class
 * block may hold 32768 + 24 bytes): the largest class not above
 * it, if the block is no more than a class block of it (usable within 32
 * bytes of the class: a round is charged its class's bytes), else
 * PERCPU_NCLASSES, a slot that never has a magazine: the block goes back
 * to the heap (a heap block of another size, or under 16 bytes: a corrupt
 * tag, which the slow path reports).
 */
#ifndef PERCPU_SIZE_CLASS_H
#define PERCPU_SIZE_CLASS_H

#include <percpu/config.h>
#include <stddef.h>
#include <stdint.h>

#define PERCPU_NCLASSES 40
#define PERCPU_MAX_SMALL 32768
/* The fast classes: sizes up to PERCPU_MAX_FAST, classes below PERCPU_NFAST. */
#define PERCPU_MAX_FAST 5120
#define PERCPU_NFAST 29
#define PERCPU_TABLE_ENTRIES ((PERCPU_MAX_SMALL >> 4) + 1)
/*
 * The usable table has one entry more: the last class's blocks land in its
 * entry or the next, as every class's do (usable 32768 + 24 with a granule
 * the heap could not split off).
 */
#define PERCPU_USABLE_ENTRIES (PERCPU_TABLE_ENTRIES + 1)

/* The magazines' sizes and the depots' bounds: <percpu/config.h>. */

/* Bytes of each class, ascending. */
extern const uint16_t percpu_class_size[PERCPU_NCLASSES];
/* Rounds per magazine of each class. */
extern const uint8_t percpu_class_rounds[PERCPU_NCLASSES];
/* (size + 15) >> 4 -> smallest class whose size >= size. */
extern const uint8_t percpu_size_class_table[PERCPU_TABLE_ENTRIES];
/* usable >> 4 -> the class a block of usable bytes is a block of (PERCPU_NCLASSES: none). */
extern const uint8_t percpu_usable_class_table[PERCPU_USABLE_ENTRIES];

/* The class serving size bytes; size must be <= PERCPU_MAX_SMALL. */
static inline unsigned percpu_size_class(size_t size)
{
	return percpu_size_class_table[(size + 15) >> 4];
}

/* The class a block of `usable` bytes can be cached in; usable >> 4 < PERCPU_USABLE_ENTRIES. */
static inline unsigned percpu_usable_class(size_t usable)
{
	return percpu_usable_class_table[usable >> 4];
}

#endif /* PERCPU_SIZE_CLASS_H */
