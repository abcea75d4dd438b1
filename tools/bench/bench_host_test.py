# SPDX-License-Identifier: BSD-2-Clause
"""bench_host.paired_ratio on made-up runs: the VM's speed streaks must not
move a ratio, rounds where one run failed must not count, and no pair means
no ratio; bench_host.pinned_cpus. Run by bench_host_test.sh."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_host  # noqa: E402

OURS = bench_host.OURS


def runs(mops_by_round):
    return [{"round": r, "mops": m} for r, m in mops_by_round.items()]


class PairedRatio(unittest.TestCase):
    def test_streaks_cancel(self):
        # Ours is 10% faster in every round; the VM runs slow in rounds 0, 1
        # and 4 and fast in 2 and 3, and in round 4 it sped up between ours
        # and the rival's run. The ratio of the medians says 110 / 180.
        res = {
            ("w", 2, OURS): runs({0: 110, 1: 110, 2: 198, 3: 198, 4: 110}),
            ("w", 2, "tcmalloc"): runs({0: 100, 1: 100, 2: 180, 3: 180, 4: 180}),
        }
        self.assertAlmostEqual(bench_host.paired_ratio(res, ("w", 2), "tcmalloc"), 1.1)

    def test_only_rounds_with_both(self):
        # Round 1's rival run failed (not recorded): its fast run of ours
        # must not be set against anything.
        res = {
            ("w", 1, OURS): runs({0: 90, 1: 300, 2: 95}),
            ("w", 1, "jemalloc"): runs({0: 100, 2: 100}),
        }
        self.assertAlmostEqual(bench_host.paired_ratio(res, ("w", 1), "jemalloc"), 0.925)

    def test_no_pair(self):
        res = {("w", 1, OURS): runs({0: 90}), ("w", 1, "mimalloc"): runs({1: 100})}
        self.assertIsNone(bench_host.paired_ratio(res, ("w", 1), "mimalloc"))
        self.assertIsNone(bench_host.paired_ratio(res, ("w", 1), "glibc"))

    def test_other_numerator(self):
        # bench_threads' --also builds: another build of ours over a rival.
        res = {("w", 1, "before"): runs({0: 50, 1: 90}),
               ("w", 1, "glibc"): runs({0: 100, 1: 180})}
        self.assertAlmostEqual(
            bench_host.paired_ratio(res, ("w", 1), "glibc", "before"), 0.5)


class WorstPaired(unittest.TestCase):
    def test_rival_ours_trails_most(self):
        # tcmalloc has the lower median, but ours trails mimalloc more within rounds.
        res = {("w", 1, "smpheap"): runs({0: 100, 1: 100}),
               ("w", 1, "mimalloc"): runs({0: 125, 1: 125}),
               ("w", 1, "tcmalloc"): runs({0: 110, 1: 120}),
               ("w", 1, "jemalloc"): runs({})}
        ratio, rival = bench_host.worst_paired(res, ("w", 1), ["jemalloc", "mimalloc", "tcmalloc"])
        self.assertEqual(rival, "mimalloc")
        self.assertAlmostEqual(ratio, 0.8)

    def test_no_rival_ran(self):
        res = {("w", 1, "smpheap"): runs({0: 100})}
        self.assertIsNone(bench_host.worst_paired(res, ("w", 1), ["mimalloc"]))


class Schedule(unittest.TestCase):
    def firsts(self, reps, workloads, threads, allocs):
        """{(workload, threads): [the allocator that ran first, by round]}."""
        out, seen = {}, set()
        for r, w, t, a in bench_host.schedule(reps, workloads, threads, allocs):
            if (r, w, t) not in seen:
                seen.add((r, w, t))
                out.setdefault((w, t), []).append(a)
        return out

    def test_every_run_once(self):
        runs = list(bench_host.schedule(3, ["a", "b"], [1, 2], ["x", "y", "z"]))
        self.assertEqual(len(runs), 3 * 2 * 2 * 3)
        self.assertEqual(len(set(runs)), len(runs))

    def test_order_rotates_every_round(self):
        # README: "Allocators alternate (the order rotates every step)". An
        # A/B of two allocators over the default 1,2 threads has an even
        # number of (workload, threads) a round: each one must still see
        # each allocator run first in turn, not the same one every round.
        for workloads in (["random"], bench_host.WORKLOADS):
            for allocs in (["glibc", OURS], ["glibc", OURS, "bypass"],
                           ["glibc", OURS, "b", "c", "d", "e"]):
                n = len(allocs)
                for key, firsts in self.firsts(n, workloads, [1, 2], allocs).items():
                    self.assertEqual(sorted(firsts), sorted(allocs),
                                     "%s with %s: first by round %s" % (key, allocs, firsts))


class PinnedCpus(unittest.TestCase):
    def test_first_cpus_allowed(self):
        self.assertEqual(bench_host.pinned_cpus(1, {3, 1, 2}), {1})
        self.assertEqual(bench_host.pinned_cpus(2, {0, 1}), {0, 1})
        self.assertEqual(bench_host.pinned_cpus(8, {0, 1}), {0, 1})
        self.assertIsNone(bench_host.pinned_cpus(1, None))  # --no-pin


if __name__ == "__main__":
    unittest.main()
