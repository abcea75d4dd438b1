# SPDX-License-Identifier: BSD-2-Clause
"""bench_qemu's verdicts on made-up figures (no boot). Run by
bench_qemu_test.sh."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_qemu  # noqa: E402


class ScalingVerdict(unittest.TestCase):
    # Issue 6's target (tools/bench/README.md): random 200 at 4 harts within
    # 1.2x of 1 hart.
    def test_judged_on_4_over_1(self):
        self.assertEqual(bench_qemu.scaling_verdict([1, 2, 4], 1.1), "met")
        self.assertEqual(bench_qemu.scaling_verdict([1, 4], 1.3), "NOT met")

    def test_no_verdict_without_1_and_4_harts(self):
        # --harts 4: the figure is 4 harts over themselves, 1.0 whatever the
        # allocator does; --harts 2,4 and 1,2 are other ratios than the target's.
        for harts, scaling in (([4], 1.0), ([2, 4], 1.1), ([1, 2], 1.05)):
            v = bench_qemu.scaling_verdict(harts, scaling)
            self.assertNotIn("met", v, "--harts %s: %r" % (harts, v))


if __name__ == "__main__":
    unittest.main()
