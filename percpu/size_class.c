// SPDX-License-Identifier: BSD-2-Clause
/*
 * The size-class tables described in <percpu/size_class.h>, all computed
 * at compile time from one rule (CLASS_SIZE: 16-byte steps to 128, then
 * four per power of two to 32 KiB); the rounds from the knobs of
 * <percpu/config.h>. size_class_test checks every table entry by a search
 * of the class sizes, so an edit that breaks the rule or a table fails it.
 */
#include <percpu/size_class.h>

/*
 * The rule, once: classes 0..7 are 16 * (c + 1); from class 8 up, four per
 * power of two p = 2^(7 + (c - 8) / 4), at p + (1 + (c - 8) % 4) * p / 4.
 */
#define CLASS_SIZE(c) ((c) < 8 ? 16u * ((c) + 1) : (5u + ((c) - 8) % 4) << (((c) - 8) / 4 + 5))
#define FOR4_(M, i) M(i), M((i) + 1), M((i) + 2), M((i) + 3)
#define FOR8_(M, i) FOR4_(M, i), FOR4_(M, (i) + 4)
#define FOR40_(M) FOR8_(M, 0), FOR8_(M, 8), FOR8_(M, 16), FOR8_(M, 24), FOR8_(M, 32)

const uint16_t percpu_class_size[PERCPU_NCLASSES] = { FOR40_(CLASS_SIZE) };
_Static_assert(CLASS_SIZE(PERCPU_NCLASSES - 1) == PERCPU_MAX_SMALL &&
		       CLASS_SIZE(PERCPU_NFAST - 1) == PERCPU_MAX_FAST,
	       "the last class and the last fast class are where size_class.h says");

#define CLAMP(v, lo, hi) ((v) < (lo) ? (lo) : (v) > (hi) ? (hi) : (v))
/*
 * Rounds of a magazine of sz-byte blocks (<percpu/config.h>). The cast is
 * safe (the clamps keep it <= 255, asserted below) and keeps clang from
 * warning about the unchosen arm's value.
 */
#define ROUNDS(sz)                                                              \
	(uint8_t)((sz) <= PERCPU_MAX_FAST                                       \
		 ? CLAMP(PERCPU_MAG_BYTES / (sz), PERCPU_MAG_MIN_ROUNDS,         \
			 PERCPU_MAG_MAX_ROUNDS)                                  \
		 : CLAMP(PERCPU_BIG_MAG_BYTES / (sz), PERCPU_BIG_MAG_MIN_ROUNDS, \
			 PERCPU_BIG_MAG_MAX_ROUNDS))

_Static_assert(PERCPU_MAG_MAX_ROUNDS <= 255 && PERCPU_BIG_MAG_MAX_ROUNDS <= 255,
	       "a round count is a uint8_t");
_Static_assert(PERCPU_MAG_MIN_ROUNDS >= 1 && PERCPU_BIG_MAG_MIN_ROUNDS >= 1,
	       "a magazine holds at least one block");

#define CLASS_ROUNDS_(c) ROUNDS(CLASS_SIZE(c))
const uint8_t percpu_class_rounds[PERCPU_NCLASSES] = { FOR40_(CLASS_ROUNDS_) };

/*
 * Both tables from CLASS_SIZE's rule, as constant expressions. Above 128
 * bytes the classes in (2^L, 2^(L + 1)] are 2^L + k * 2^(L - 2), classes
 * 4 * L - 21 + k for k = 1..4. So the smallest class of at least s bytes
 * has k = ((s - 1) >> (L - 2)) - 3 with L = log2(s - 1), and the largest of
 * at most s bytes k = (s >> (L - 2)) - 4 (k = 0: 2^L itself) with L = log2(s).
 */
#define LOG2_(x) (((x) >= 2) + ((x) >= 4) + ((x) >= 8) + ((x) >= 16) + ((x) >= 32) + \
		  ((x) >= 64) + ((x) >= 128) + ((x) >= 256) + ((x) >= 512) +         \
		  ((x) >= 1024) + ((x) >= 2048) + ((x) >= 4096) + ((x) >= 8192) +    \
		  ((x) >= 16384) + ((x) >= 32768))
/* The smallest class of at least s bytes (s a multiple of 16, 0 < s). */
#define CLASS_AT_LEAST_(s) \
	((s) <= 128 ? (s) / 16 - 1 : 4 * LOG2_((s) - 1) - 24 + (((s) - 1) >> (LOG2_((s) - 1) - 2)))
/* The largest class of at most s bytes (s a multiple of 16, 16 <= s). */
#define CLASS_AT_MOST_(s) \
	((s) <= 128 ? (s) / 16 - 1 : 4 * LOG2_(s) - 25 + ((s) >> (LOG2_(s) - 2)))
/* Entry u: sizes 16 * u - 15 .. 16 * u (size 0 too, for u = 0). */
#define SIZE_ENTRY_(u) (uint8_t)((u) == 0 ? 0 : CLASS_AT_LEAST_(16u * (u)))
/* s (a multiple of 16, 16 <= s) is a class's size. */
#define IS_CLASS_(s) (CLASS_AT_LEAST_(s) == CLASS_AT_MOST_(s))
/*
 * Entry u: usable sizes 16 * u .. 16 * u + 15; under 16 bytes, none. The
 * class of size 16 * u or 16 * u - 16, the two entries a block made for a
 * class can land in (usable: the class + 8, or + 24 with a granule the
 * heap could not split off; the canary's level, the class + 0 or + 16),
 * else none: a round is charged its class's bytes, and a bigger block
 * cached under the largest class it holds was up to 25% more than that
 * (//percpu:charge_covers_test). (u ? u : 1) and (u > 1 ? u - 1 : 1) keep
 * the arms that are not chosen free of a shift by -2.
 */
#define USABLE_ENTRY_(u)                                                     \
	(uint8_t)((u) == 0 ? PERCPU_NCLASSES                                 \
		  : IS_CLASS_(16u * ((u) ? (u) : 1)) ? CLASS_AT_MOST_(16u * ((u) ? (u) : 1)) \
		  : (u) > 1 && IS_CLASS_(16u * ((u) > 1 ? (u) - 1 : 1))           \
			  ? CLASS_AT_MOST_(16u * ((u) > 1 ? (u) - 1 : 1))           \
			  : PERCPU_NCLASSES)
#define FOR16_(M, i) FOR8_(M, i), FOR8_(M, (i) + 8)
#define FOR256_(M, i) FOR16_(M, i), FOR16_(M, (i) + 16), FOR16_(M, (i) + 32), \
	FOR16_(M, (i) + 48), FOR16_(M, (i) + 64), FOR16_(M, (i) + 80),      \
	FOR16_(M, (i) + 96), FOR16_(M, (i) + 112), FOR16_(M, (i) + 128),    \
	FOR16_(M, (i) + 144), FOR16_(M, (i) + 160), FOR16_(M, (i) + 176),   \
	FOR16_(M, (i) + 192), FOR16_(M, (i) + 208), FOR16_(M, (i) + 224),   \
	FOR16_(M, (i) + 240)
#define FOR_TABLE_(M) FOR256_(M, 0), FOR256_(M, 256), FOR256_(M, 512), FOR256_(M, 768), \
	FOR256_(M, 1024), FOR256_(M, 1280), FOR256_(M, 1536), FOR256_(M, 1792), M(2048u)
_Static_assert(PERCPU_TABLE_ENTRIES == 2049, "FOR_TABLE_ lists 2049 entries");

/* Index (size + 15) >> 4. */
const uint8_t percpu_size_class_table[PERCPU_TABLE_ENTRIES] = { FOR_TABLE_(SIZE_ENTRY_) };

/* Index usable >> 4: the last class's next entry too (PERCPU_USABLE_ENTRIES). */
const uint8_t percpu_usable_class_table[PERCPU_USABLE_ENTRIES] = {
	FOR_TABLE_(USABLE_ENTRY_), USABLE_ENTRY_(2049u)
};
