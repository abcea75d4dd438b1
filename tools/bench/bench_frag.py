#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench_frag: how much of the heap stays usable with the per-hart caches.

Runs //tests:host_stress (the SMP stress on host threads, the kernel's 16 MiB
heap and size mix: 70% 1-512 B, 20% 512 B-4 KiB, 9% 4-64 KiB, 1% 64-128 KiB)
and measures, side by side in one run:
  (a) the highest fill (live set, % of the heap) each configuration sustains
      for the whole run without running out of memory: the locked heap
      alone at 1 hart ("core"), magazines at 1, 2, 4, 8 and 16 harts, and the
      baseline (no caches) at 8 harts;
  (b) the 8-hart high water with magazines over the same run without them,
      at the default fill;
  (c) the most the caches were charged, as a share of the heap.
Prints a table, writes results/bench_frag.csv and .png, and ends with
  bench_frag: core_fill_pct=.. percpu_8h_fill_pct=.. fill_ratio_8h=..
  highwater_ratio_8h=.. cached_max_pct=..
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results  # noqa: E402  (folders, CSV, charts)

FILLS = [50, 55, 60, 65, 70, 75, 80, 85]
CONFIGS = [("core", 1, True)] + [("magazines", n, False) for n in (1, 2, 4, 8, 16)] + \
          [("baseline", 8, True)]


def run(stress, harts, baseline, fill, ops, seed):
    cmd = [stress, "--harts", str(harts), "--fill", str(fill), "--ops", str(ops // harts),
           "--seed", str(seed), "--validate_every", "0"]
    if baseline:
        cmd += ["--baseline", "1"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r"^host_stress: (PASS|FAIL) (.*)$", p.stdout, re.M)
    if p.returncode != 0 or not m or m.group(1) != "PASS":
        return None
    return dict(kv.split("=", 1) for kv in m.group(2).split() if "=" in kv)


def sustained(stress, harts, baseline, ops, seeds):
    """The highest fill in FILLS that passes with every seed (0 if none)."""
    best = 0
    for fill in FILLS:
        if all(run(stress, harts, baseline, fill, ops, s) for s in seeds):
            best = fill
        else:
            break
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stress", required=True)
    ap.add_argument("--ops", type=int, default=400000, help="operations per run, all harts")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--out", default=None, help="results folder (default <workspace>/results)")
    a = ap.parse_args()
    seeds = list(range(1, a.seeds + 1))
    rows = []
    for name, harts, baseline in CONFIGS:
        fill = sustained(a.stress, harts, baseline, a.ops, seeds)
        rows.append((name, harts, fill))
        print(f"{name:10s} {harts:3d} harts: sustains fill {fill}%", flush=True)
    core = rows[0][2]
    mag8 = next(f for n, h, f in rows if n == "magazines" and h == 8)
    mags = run(a.stress, 8, False, 50, a.ops, 1)
    base = run(a.stress, 8, True, 50, a.ops, 1)
    if not mags or not base:
        print("bench_frag: the 8-hart runs at fill 50% failed", file=sys.stderr)
        return 1
    hw_ratio = int(mags["high_water_kib"]) / int(base["high_water_kib"])
    cached = max(int(run(a.stress, n, False, 50, a.ops, 1)["cached_max_pct"])
                 for n in (1, 2, 4, 8, 16))

    print()
    print("| configuration | harts | fill sustained | vs core |")
    print("|---|---|---|---|")
    for name, harts, fill in rows:
        print(f"| {name} | {harts} | {fill}% | {fill / core if core else 0:.2f} |")
    print(f"\n8 harts, fill 50%: high water {mags['high_water_kib']} KiB with magazines, "
          f"{base['high_water_kib']} KiB baseline: {hw_ratio:.2f}x; lockless "
          f"{mags['lockless_pct']}%; caches charged at most {cached}% of the heap")

    out = results.out_dir(a.out, "")
    results.write_rows(os.path.join(out, "bench_frag.csv"),
                       ["configuration", "harts", "fill_sustained_pct"], rows)
    plt = results.pyplot()
    if plt:
        fig, (ax,) = results.grid(plt, 1, 1, 8, 4)
        ax.bar([f"{n}\n{h}h" for n, h, _ in rows], [f for _, _, f in rows])
        ax.set_ylabel("fill sustained, % of the 16 MiB heap")
        ax.set_title("Live set the heap sustains under churn (host_stress)")
        results.save(plt, fig, os.path.join(out, "bench_frag.png"), dpi=100)
    print(f"bench_frag: core_fill_pct={core} percpu_8h_fill_pct={mag8} "
          f"fill_ratio_8h={mag8 / core if core else 0:.2f} highwater_ratio_8h={hw_ratio:.2f} "
          f"cached_max_pct={cached}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
