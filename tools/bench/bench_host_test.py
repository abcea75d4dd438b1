# SPDX-License-Identifier: BSD-2-Clause
"""bench_host.paired_ratio on made-up runs: the VM's speed streaks must not
move a ratio, rounds where one run failed must not count, and no pair means
no ratio; bench_host.pinned_cpus. Run by bench_host_test.sh."""

import os
import subprocess
import sys
import tempfile
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


# A stand-in for alloc_bench: ours (LD_PRELOAD of the fake shim) runs at
# 2 Mops, glibc at 1, and ours fails every larson run.
FAKE_BENCH = """#!/usr/bin/env python3
import os, sys
a = sys.argv
w = a[a.index("-w") + 1]
ours = "fake_shim" in os.environ.get("LD_PRELOAD", "")
if ours and w == "larson":
    sys.exit("alloc_bench: FAIL malloc (size 0)")
mops = 2.0 if ours else 1.0
print("alloc_bench: workload=%s threads=1 ops=100 secs=0.1 mops=%.3f "
      "cpu_secs=0.1 maxrss_kb=1000 misaligned=0" % (w, mops))
"""


class LastLine(unittest.TestCase):
    def last_line(self, workloads, allocators="glibc,smpheap"):
        with tempfile.TemporaryDirectory() as d:
            bench = os.path.join(d, "alloc_bench")
            with open(bench, "w") as f:
                f.write(FAKE_BENCH)
            os.chmod(bench, 0o755)
            shim = os.path.join(d, "fake_shim.so")
            open(shim, "w").close()
            p = subprocess.run(
                [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "bench_host.py"),
                 "--bench", bench, "--shim", shim, "--allocators", allocators,
                 "--workloads", workloads, "--threads", "1", "--reps", "2",
                 "--duration", "0.01", "--no-plot", "--no-pin", "--out", d],
                capture_output=True, text=True)
            lines = p.stdout.strip().splitlines()
            return p.returncode, dict(x.split("=", 1) for x in lines[-1].split()[1:])

    def test_all_rows_judged(self):
        rc, kv = self.last_line("random,hitpair")
        self.assertEqual(rc, 0)
        self.assertEqual(kv["vs_glibc_min"], "2.000")
        self.assertEqual(kv["faster_than_glibc_all"], "yes")

    def test_failed_row_is_not_faster(self):
        # Ours failed on larson in every round: that row has no ratio, and
        # "faster than glibc on all" must not be claimed over the others.
        rc, kv = self.last_line("random,larson")
        self.assertEqual(rc, 1)
        self.assertEqual(kv["failed_runs"], "2")
        self.assertEqual(kv["faster_than_glibc_all"], "no")

    @unittest.skipUnless(bench_host.find_lib("jemalloc"), "no jemalloc here")
    def test_failed_row_is_not_within(self):
        rc, kv = self.last_line("random,larson", "glibc,smpheap,jemalloc")
        self.assertEqual(kv["vs_best_min"], "2.000")
        self.assertEqual(kv["within_1.25x_of_best_all"], "no")

    def test_no_rival_no_best_verdict(self):
        rc, kv = self.last_line("random")
        self.assertEqual(kv["vs_best_min"], "NA")
        self.assertNotIn("within_1.25x_of_best_all", kv)


FAKE_THREAD_BENCH = """#!/usr/bin/env python3
import os, sys
if "fake_shim" in os.environ.get("LD_PRELOAD", ""):
    sys.exit("thread_bench: malloc failed")
print("thread_bench: mops=1.0 maxrss_kb=1000 secs=0.1")
"""


class ThreadsLastLine(unittest.TestCase):
    def test_ours_failed_everywhere(self):
        # bench_threads.py (same folder, same helpers): with no run of ours,
        # the last line must not print its "worst" placeholders as figures.
        with tempfile.TemporaryDirectory() as d:
            bench = os.path.join(d, "thread_bench")
            with open(bench, "w") as f:
                f.write(FAKE_THREAD_BENCH)
            os.chmod(bench, 0o755)
            shim = os.path.join(d, "fake_shim.so")
            open(shim, "w").close()
            p = subprocess.run(
                [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "bench_threads.py"),
                 "--bench", bench, "--shim", shim, "--threads", "1", "--reps", "1",
                 "--no-pin", "--out", d], capture_output=True, text=True)
            last = p.stdout.strip().splitlines()[-1]
            kv = dict(x.split("=", 1) for x in last.split()[1:] if "=" in x)
            self.assertEqual(kv["vs_glibc_min"], "NA", last)
            self.assertEqual(kv["vs_best_min"], "NA", last)


class PinnedCpus(unittest.TestCase):
    def test_first_cpus_allowed(self):
        self.assertEqual(bench_host.pinned_cpus(1, {3, 1, 2}), {1})
        self.assertEqual(bench_host.pinned_cpus(2, {0, 1}), {0, 1})
        self.assertEqual(bench_host.pinned_cpus(8, {0, 1}), {0, 1})
        self.assertIsNone(bench_host.pinned_cpus(1, None))  # --no-pin


if __name__ == "__main__":
    unittest.main()
