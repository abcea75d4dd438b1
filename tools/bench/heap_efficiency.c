// SPDX-License-Identifier: BSD-2-Clause
/*
 * Heap efficiency of the core (talc's method), for the benchmark report:
 * the mean over trials of live requested bytes / heap size at the first
 * failed request on a fixed 16 MiB heap. The workload itself is heap/'s own
 * (heap/tests/efficiency.h, as efficiency_test runs it), not a second copy.
 *
 * Prints: heap_efficiency: efficiency=0.xxxx min=0.xxxx trials=N heap_mib=16
 */
#include "efficiency.h"

#define HEAP_BYTES (16u << 20)
#define TRIALS 20

int main(void)
{
	char *mem = test_map(HEAP_BYTES);
	double min, mean = efficiency_mean(mem, HEAP_BYTES, TRIALS, &min);
	printf("heap_efficiency: efficiency=%.4f min=%.4f trials=%d heap_mib=%u\n",
	       mean, min, TRIALS, HEAP_BYTES >> 20);
	return 0;
}
