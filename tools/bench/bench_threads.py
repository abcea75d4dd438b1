# SPDX-License-Identifier: BSD-2-Clause
"""Thread scaling (issue 10): thread_bench at 1, 2, 8, 64, 256 and 1,000
threads under glibc, jemalloc, mimalloc, tcmalloc and ours (LD_PRELOAD),
alternating allocators, repeated; the median throughput and peak RSS per
(threads, allocator). Each run is pinned to the first CPUs allowed and the
throughput ratios are paired within rounds, as bench_host.py's are (its
pinned_cpus and paired_ratio). Writes results/bench_threads/<stamp>.csv
(every run), <stamp>_summary.csv and <stamp>.png; the last line on stdout is

  bench_threads: vs_glibc_min=R (@N) vs_best_min=R (@N) rss_vs_glibc_max=R (@N)

(ours / glibc throughput, ours / the best of jemalloc, mimalloc, tcmalloc
(the rival whose paired ratio is lowest), our peak RSS / glibc's (of the
medians); the worst thread count in brackets).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The rivals' shared objects, and bench_host's answers to this VM's vCPUs
# running at different speeds (tools/bench/README.md, "Reading the output"):
# each run pinned to the same CPUs for every allocator, ratios paired within
# a round.
from bench_host import (find_lib, paired_ratio, pin_to, pinned_cpus,  # noqa: E402
                        pinning_line, worst_paired)
import results  # noqa: E402  (folders, CSV, charts)

THREADS = [1, 2, 8, 64, 256, 1000]
OURS = "smpheap"
RIVALS = ["jemalloc", "mimalloc", "tcmalloc"]
LINE = re.compile(r"thread_bench: (.*)$", re.M)


def run_one(bench, preload, threads, ops, cpus=None):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    try:
        p = subprocess.run([bench, str(threads), str(ops)], env=env,
                           capture_output=True, text=True, timeout=300,
                           preexec_fn=pin_to(cpus))
    except subprocess.TimeoutExpired:
        return None, "timeout"
    m = LINE.search(p.stdout)
    if p.returncode != 0 or not m:
        return None, "exit %d %s" % (p.returncode, p.stderr.strip()[-200:])
    kv = dict(x.split("=", 1) for x in m.group(1).split())
    return {"mops": float(kv["mops"]), "rss": int(kv["maxrss_kb"]),
            "secs": float(kv["secs"])}, None


def fmt(ratio):
    return "%.2f" % ratio if ratio else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ops", type=int, default=4000000)
    ap.add_argument("--threads", default=",".join(map(str, THREADS)))
    ap.add_argument("--out", default=None)
    ap.add_argument("--also", action="append", default=[], metavar="NAME=SO",
                    help="another build of the shim (e.g. before a change), "
                    "run in the same rounds; not counted as a rival")
    ap.add_argument("--no-pin", action="store_true",
                    help="leave each run's CPUs to the scheduler (see "
                    "bench_host.pinned_cpus)")
    a = ap.parse_args()
    threads = [int(x) for x in a.threads.split(",")]
    allowed = None if a.no_pin else os.sched_getaffinity(0)
    print("bench_threads: " + pinning_line(threads, allowed), flush=True)
    table = {"glibc": None, OURS: os.path.abspath(a.shim)}
    for r in RIVALS:
        lib = find_lib(r)
        if lib:
            table[r] = lib
        else:
            print("bench_threads: %s not found, skipped" % r)
    for extra in a.also:
        name, so = extra.split("=", 1)
        table[name] = os.path.abspath(so)
    allocs = list(table)
    outdir = results.out_dir(a.out, "bench_threads")
    stamp = results.stamp()
    rows, runs = [], {}
    for rep in range(a.reps):
        for t in threads:
            order = allocs[rep % len(allocs):] + allocs[:rep % len(allocs)]
            for al in order:
                r, err = run_one(a.bench, table[al], t, a.ops, pinned_cpus(t, allowed))
                if err:
                    print("bench_threads: %s at %d threads: %s" % (al, t, err))
                    continue
                r["round"] = rep
                runs.setdefault((t, al), []).append(r)
                rows.append([rep, t, al, r["mops"], r["rss"], r["secs"]])
        print("bench_threads: round %d of %d done" % (rep + 1, a.reps), flush=True)
    results.write_rows(os.path.join(outdir, stamp + ".csv"),
                       ["rep", "threads", "allocator", "mops", "maxrss_kb", "secs"], rows)
    med = {k: (statistics.median(x["mops"] for x in v),
               statistics.median(x["rss"] for x in v)) for k, v in runs.items()}
    # paired_ratio's (workload, threads, allocator) keys; no workload here.
    res = {(None, t, al): v for (t, al), v in runs.items()}

    def paired(t, num):  # num / glibc, num / the rival it compares worst against
        worst = worst_paired(res, (None, t), RIVALS, num)
        return paired_ratio(res, (None, t), "glibc", num), worst[0] if worst else None

    print("ours/glibc and ours/best are paired within rounds (bench_host.py's "
          "paired_ratio); rss is of the medians")
    print("%7s " % "threads" + "".join("%22s" % al for al in allocs) +
          "   ours/glibc  ours/best  rss ours/glibc")
    summary, worst = [], {"g": (9e9, 0), "b": (9e9, 0), "r": (0, 0)}
    for t in threads:
        cells, m = [], {}
        for al in allocs:
            if (t, al) in med:
                m[al] = med[(t, al)]
                cells.append("%9.2f Mops %7d KB" % m[al])
            else:
                cells.append("%22s" % "-")
        if OURS not in m or "glibc" not in m:
            print("%7d " % t + "".join(cells))
            continue
        vg, vb = paired(t, OURS)
        rg = m[OURS][1] / m["glibc"][1]
        if vg:
            worst["g"] = min(worst["g"], (vg, t))
        if vb:
            worst["b"] = min(worst["b"], (vb, t))
        worst["r"] = max(worst["r"], (rg, t))
        print("%7d " % t + "".join(cells) + "   %10s %10s %14.2f" % (fmt(vg), fmt(vb), rg))
        for extra in a.also:
            name = extra.split("=", 1)[0]
            if name in m:
                eg, eb = paired(t, name)
                print("%7d   %s: ours/glibc %s ours/best %s rss/glibc %.2f" % (
                    t, name, fmt(eg), fmt(eb), m[name][1] / m["glibc"][1]))
        summary.append([t] + [m.get(al, (None, None))[0] for al in allocs] +
                       [m.get(al, (None, None))[1] for al in allocs] + [vg, vb, rg])
    results.write_rows(os.path.join(outdir, stamp + "_summary.csv"),
                       ["threads"] + ["mops_" + al for al in allocs] +
                       ["maxrss_kb_" + al for al in allocs] +
                       ["ours_vs_glibc", "ours_vs_best", "rss_vs_glibc"], summary)
    plt = results.pyplot()
    if plt:
        fig, ax = results.grid(plt, 2, 2, 5.5, 4)
        for al in allocs:
            pts = [(t, med[(t, al)]) for t in threads if (t, al) in med]
            style = "-o" if al == OURS else "--s"
            ax[0].plot([p[0] for p in pts], [p[1][0] for p in pts], style, label=al)
            ax[1].plot([p[0] for p in pts], [p[1][1] / 1024 for p in pts], style, label=al)
        for x, yl in zip(ax, ["Mops/s (median)", "peak RSS MiB (median)"]):
            x.set_xscale("log")
            x.set_xticks(threads)
            x.set_xticklabels([str(t) for t in threads])
            x.set_xlabel("threads")
            x.set_ylabel(yl)
            x.grid(alpha=0.3)
        ax[0].legend()
        fig.suptitle("thread_bench (%s)" % stamp)
        results.save(plt, fig, os.path.join(outdir, stamp + ".png"))
    else:
        print("bench_threads: no matplotlib: no chart")
    print("bench_threads: results in %s/%s*" % (outdir, stamp))
    # A placeholder never replaced (ours, glibc or every rival failed at
    # every thread count) is no figure: NA, not 9e9 that reads as met.
    def at(k):
        return "NA" if worst[k][1] == 0 else "%.2f (@%d)" % worst[k]

    print("bench_threads: vs_glibc_min=%s vs_best_min=%s rss_vs_glibc_max=%s" % (
        at("g"), at("b"), at("r")))


if __name__ == "__main__":
    main()
