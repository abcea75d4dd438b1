# SPDX-License-Identifier: BSD-2-Clause
"""Runs alloc_bench under several malloc implementations and compares them.

Each allocator is switched in with LD_PRELOAD (glibc: none). Runs alternate
allocators (the order rotates every round), repeat, and report the median
throughput per (workload, threads, allocator) with the ratio of ours to each.
A ratio is paired: the median over rounds of ours / theirs within a round,
where the two runs are seconds apart (see paired_ratio); the ratio of the
medians is printed too. Writes results/bench_host/<timestamp>.csv (every
run), <timestamp>_summary.csv (the medians) and PNG charts; the last line on
stdout is machine-readable:

  bench_host: vs_glibc_min=R (w@t) vs_best_min=R (w@t) ... efficiency=E
"""

import argparse
import csv
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results  # noqa: E402  (folders, CSV, charts: shared with the other drivers)

WORKLOADS = ["random", "hitpair", "prodcons", "larson", "cachescratch"]
OURS = "smpheap"
BYPASS = "smpheap-global"  # the same shim with the magazines bypassed
OTHERS = ["jemalloc", "mimalloc", "tcmalloc"]

SONAMES = {
    "jemalloc": ["libjemalloc.so.2", "libjemalloc.so"],
    "mimalloc": ["libmimalloc.so.2", "libmimalloc.so"],
    "tcmalloc": ["libtcmalloc_minimal.so.4", "libtcmalloc_minimal.so"],
}


def lib_dirs():
    dirs = []
    try:
        ma = subprocess.run(["gcc", "-print-multiarch"], capture_output=True,
                            text=True, check=False).stdout.strip()
    except OSError:
        ma = ""
    for m in filter(None, [ma, os.uname().machine + "-linux-gnu"]):
        dirs += ["/usr/lib/" + m, "/lib/" + m, "/usr/local/lib/" + m]
    dirs += ["/usr/lib64", "/usr/lib", "/usr/local/lib", "/lib64", "/lib"]
    seen, out = set(), []
    for d in dirs:
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out


def find_lib(name):
    for d in lib_dirs():
        for so in SONAMES[name]:
            p = os.path.join(d, so)
            if os.path.exists(p):
                return p
    return None


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except OSError:
        return -1.0


LINE = re.compile(r"alloc_bench: (.*)$", re.M)


def pinned_cpus(threads, allowed):
    """The CPUs a run of `threads` threads is pinned to: the first `threads`
    of those allowed (all of them when there are fewer), so every
    allocator's run of a (workload, threads) gets the same ones. Unpinned, a
    1-thread run measured whichever vCPU the scheduler gave it, and this
    VM's two have run 1.7x apart in speed (tools/bench/README.md, "Reading
    the output")."""
    return set(sorted(allowed)[:threads]) if allowed else None


def pin_to(cpus):
    """subprocess.run's preexec_fn that pins the child to `cpus` (None:
    leave it to the scheduler)."""
    return (lambda: os.sched_setaffinity(0, cpus)) if cpus else None


def pinning_line(threads, allowed):
    """What a driver prints about its runs' CPUs, for each thread count."""
    if allowed is None:
        return "runs not pinned"
    return "each run pinned: " + ", ".join(
        "%d thread(s) to CPU %s" % (t, ",".join(map(str, sorted(pinned_cpus(t, allowed)))))
        for t in threads)


def run_one(bench, preload, env_extra, workload, threads, duration, seed, cpus=None):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    env.update(env_extra)
    cmd = [bench, "-w", workload, "-t", str(threads), "-d", str(duration),
           "-s", str(seed)]
    timeout = duration * 20 + 30
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=timeout, preexec_fn=pin_to(cpus))
    except subprocess.TimeoutExpired:
        return {"ok": False, "err": "timeout after %ds" % timeout}
    m = LINE.search(p.stdout)
    if p.returncode != 0 or not m:
        err = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
        return {"ok": False, "err": "exit %d: %s" % (p.returncode, err)}
    kv = dict(x.split("=", 1) for x in m.group(1).split() if "=" in x)
    return {"ok": True, "ops": int(kv["ops"]), "secs": float(kv["secs"]),
            "mops": float(kv["mops"]), "cpu_secs": float(kv["cpu_secs"]),
            "maxrss_kb": int(kv["maxrss_kb"]),
            "misaligned": int(kv.get("misaligned", 0))}


def paired_ratio(res, key, a, ours=OURS):
    """Ours (or the allocator named `ours`) / allocator a on one (workload,
    threads): the median over rounds of the two runs' ratio within a round.
    A round runs every allocator on a configuration back to back, a few
    seconds in all, while this VM's speed moves in streaks that last minutes
    (tools/bench/README.md, "Reading the output"): a ratio of two medians can
    set one allocator's fast runs against the other's slow ones; a pair
    within a round sees the same streak. None if no round has both runs."""
    w, t = key
    mine = {x["round"]: x["mops"] for x in res.get((w, t, ours), [])}
    theirs = {x["round"]: x["mops"] for x in res.get((w, t, a), [])}
    pairs = [mine[r] / theirs[r] for r in mine if theirs.get(r)]
    return statistics.median(pairs) if pairs else None


def worst_paired(res, key, rivals, ours=OURS):
    """(ratio, rival): the rival `ours` compares worst against by
    paired_ratio, the "best" allocator of a row; None if no rival ran."""
    paired = [(paired_ratio(res, key, a, ours), a) for a in rivals]
    paired = [x for x in paired if x[0]]
    return min(paired) if paired else None


def schedule(reps, workloads, threads, allocs):
    """The runs in the order they are made: (round, workload, threads,
    allocator). A round runs every allocator on each (workload, threads)
    back to back; the order rotates each time so no allocator always runs
    first (warm caches, turbo, a neighbour's build). The shift is the round
    plus the configuration's place in the round, so each configuration's
    first allocator moves on by one every round. (A running count over all
    configurations moved it on by their number: with 2 allocators and the
    default 1,2 threads that is even, and every round had run the same
    allocator first on each configuration.)"""
    configs = [(w, t) for w in workloads for t in threads]
    for r in range(reps):
        for i, (w, t) in enumerate(configs):
            rot = (r + i) % len(allocs)
            for a in allocs[rot:] + allocs[:rot]:
                yield r, w, t, a


def fmt_secs(s):
    s = int(max(0, s))
    return "%dm%02ds" % (s // 60, s % 60) if s >= 60 else "%ds" % s


class Progress:
    def __init__(self, total):
        self.total, self.done, self.t0 = total, 0, time.time()
        self.tty = sys.stderr.isatty()
        self.last_pct = -1

    def show(self, what):
        el = time.time() - self.t0
        eta = el / self.done * (self.total - self.done) if self.done else 0
        msg = "[%3d/%d] %-40s elapsed %s eta %s" % (
            self.done + 1, self.total, what, fmt_secs(el), fmt_secs(eta))
        if self.tty:
            sys.stderr.write("\r" + msg.ljust(100)[:100])
            sys.stderr.flush()
        else:
            pct = 10 * self.done // self.total
            if pct != self.last_pct:
                self.last_pct = pct
                sys.stderr.write(msg + "\n")
                sys.stderr.flush()

    def step(self):
        self.done += 1

    def end(self):
        if self.tty:
            sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.flush()


def run_efficiency(path):
    if not path or not os.path.exists(path):
        return None, "heap efficiency: skipped (no heap_efficiency binary)"
    p = subprocess.run([path], capture_output=True, text=True, timeout=600)
    m = re.search(r"efficiency=([0-9.]+)", p.stdout)
    if p.returncode != 0 or not m:
        return None, "heap efficiency: FAILED (exit %d) %s" % (
            p.returncode, (p.stderr or p.stdout).strip()[-300:])
    return float(m.group(1)), p.stdout.strip()


def plot(outdir, stamp, allocs, workloads, threads, med):
    plt = results.pyplot()
    if not plt:
        return [], "charts: skipped (matplotlib not importable by %s)" % sys.executable
    n = len(workloads)
    fig, axes = results.grid(plt, n, 3, 5, 3.8)
    for ax, w in zip(axes, workloads):
        for a in allocs:
            ys = [med.get((w, t, a)) for t in threads]
            pts = [(t, y) for t, y in zip(threads, ys) if y is not None]
            if not pts:
                continue
            style = "-o" if a in (OURS, BYPASS) else "--s"
            lw = 2.5 if a == OURS else 1.2
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, lw=lw,
                    label=a)
        ax.set_title(w)
        ax.set_xlabel("threads")
        ax.set_ylabel("Mops/s (median)")
        ax.set_xticks(threads)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    spare = n < len(axes)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right" if spare else "upper right",
               bbox_to_anchor=(0.98, 0.05) if spare else None)
    fig.suptitle("alloc_bench throughput by thread count (%s)" % stamp)
    return [results.save(plt, fig, os.path.join(outdir, stamp + ".png"))], None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="alloc_bench binary")
    ap.add_argument("--shim", help="libsmpheap_malloc.so (our allocator)")
    ap.add_argument("--efficiency", help="heap_efficiency binary")
    ap.add_argument("--quick", action="store_true",
                    help="about 30 s: 2 rounds of 0.2 s runs")
    ap.add_argument("--threads", default="1,2", help="comma list (default 1,2)")
    ap.add_argument("--reps", type=int, help="rounds (default 5, quick 2)")
    ap.add_argument("--duration", type=float,
                    help="seconds per run (default 0.5, quick 0.2)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--allocators",
                    help="comma list of glibc,smpheap,smpheap-global,jemalloc,"
                         "mimalloc,tcmalloc (default: all found)")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--out", help="results folder (default "
                    "$BUILD_WORKSPACE_DIRECTORY/results/bench_host)")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--no-pin", action="store_true",
                    help="leave each run's CPUs to the scheduler (see pinned_cpus)")
    args = ap.parse_args()

    reps = args.reps or (2 if args.quick else 5)
    allowed = None if args.no_pin else os.sched_getaffinity(0)
    duration = args.duration or (0.2 if args.quick else 0.5)
    threads = [int(x) for x in args.threads.split(",") if x]
    workloads = [w for w in args.workloads.split(",") if w]
    for w in workloads:
        if w not in WORKLOADS:
            sys.exit("bench_host: unknown workload %r (have %s)" % (w, ", ".join(WORKLOADS)))

    # Allocator -> (LD_PRELOAD, extra environment).
    table = {"glibc": (None, {})}
    notes = []
    if args.shim and os.path.exists(args.shim):
        shim = os.path.abspath(args.shim)
        table[OURS] = (shim, {})
        table[BYPASS] = (shim, {"SMPHEAP_MODE": "bypass"})
    else:
        notes.append("smpheap: skipped (no shim given or %s missing)" % args.shim)
    for a in OTHERS:
        p = find_lib(a)
        if p:
            table[a] = (p, {})
        else:
            notes.append("%s: skipped (none of %s in %s)" % (
                a, ", ".join(SONAMES[a]), " ".join(lib_dirs())))
    order = ["glibc", OURS, BYPASS] + OTHERS
    if args.allocators:
        want = [a for a in args.allocators.split(",") if a]
        for a in want:
            if a not in order:
                sys.exit("bench_host: unknown allocator %r" % a)
        order = [a for a in order if a in want]
    allocs = [a for a in order if a in table]
    for n in notes:
        print("bench_host: " + n, file=sys.stderr)

    base = results.out_dir(args.out, "bench_host")
    stamp = results.stamp()
    raw_path = os.path.join(base, stamp + ".csv")

    la0 = loadavg()
    ncpu = os.cpu_count() or 1
    print("bench_host: %d allocators (%s), workloads %s, threads %s, %d rounds "
          "of %.2fs runs; load average %.2f on %d CPUs" % (
              len(allocs), ", ".join(allocs), ",".join(workloads),
              ",".join(map(str, threads)), reps, duration, la0, ncpu))
    print("bench_host: " + pinning_line(threads, allowed))
    for a in allocs:
        print("  %-15s %s%s" % (a, table[a][0] or "(no LD_PRELOAD)",
                               "".join(" %s=%s" % kv for kv in table[a][1].items())))
    if la0 > 0.5 * ncpu:
        print("bench_host: WARNING: the machine is busy (load %.2f): expect noise"
              % la0)
    sys.stdout.flush()

    total = reps * len(workloads) * len(threads) * len(allocs)
    prog = Progress(total)
    res = {}
    fails = {}
    with open(raw_path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["round", "workload", "threads", "allocator", "ok", "ops",
                     "secs", "mops", "cpu_secs", "maxrss_kb", "misaligned",
                     "loadavg", "error"])
        for r, w, t, a in schedule(reps, workloads, threads, allocs):
            prog.show("round %d/%d %s t=%d %s" % (r + 1, reps, w, t, a))
            pre, extra = table[a]
            x = run_one(args.bench, pre, extra, w, t, duration,
                        args.seed + r, pinned_cpus(t, allowed))
            prog.step()
            la = loadavg()
            if x["ok"]:
                x["round"] = r
                res.setdefault((w, t, a), []).append(x)
                wr.writerow([r, w, t, a, 1, x["ops"], x["secs"],
                             x["mops"], x["cpu_secs"], x["maxrss_kb"],
                             x["misaligned"], la, ""])
            else:
                fails.setdefault((w, t, a), []).append(x["err"])
                wr.writerow([r, w, t, a, 0, "", "", "", "", "", "",
                             la, x["err"]])
            f.flush()
    prog.end()

    med = {key: statistics.median(x["mops"] for x in v) for key, v in res.items()}
    rss = {key: statistics.median(x["maxrss_kb"] for x in v) for key, v in res.items()}

    # The table: Mops/s medians, then ours relative to each.
    print()
    hdr = "%-13s %2s " % ("workload", "t") + "".join("%15s" % a for a in allocs)
    if OURS in allocs:
        hdr += "  %10s %9s %9s" % ("ours/glibc", "ours/best", "(medians)")
    print("median throughput, Mops/s (op: see README); ratios >1 mean ours is faster;")
    print("ours/glibc and ours/best are paired within rounds; (medians) is our median")
    print("over the best rival's median")
    print(hdr)
    print("-" * len(hdr))
    ratios_g, ratios_b, ratios_bm = [], [], []
    summary_rows = []
    for w in workloads:
        for t in threads:
            line = "%-13s %2d " % (w, t)
            for a in allocs:
                v = med.get((w, t, a))
                line += "%15s" % ("%.2f" % v if v is not None else "FAIL")
            rg = rb = rbm = None
            if OURS in allocs and med.get((w, t, OURS)) is not None:
                o = med[(w, t, OURS)]
                rg = paired_ratio(res, (w, t), "glibc")
                if rg:
                    ratios_g.append((rg, w, t))
                # The best rival is the one ours compares worst against.
                worst = worst_paired(res, (w, t), OTHERS)
                if worst:
                    rb, ba = worst
                    ratios_b.append((rb, w, t, ba))
                best = [(med[(w, t, a)], a) for a in OTHERS if med.get((w, t, a))]
                if best:
                    bv, bma = max(best)
                    rbm = o / bv
                    ratios_bm.append((rbm, w, t, bma))
                line += "  %10s %9s %9s" % ("%.2f" % rg if rg else "-",
                                            "%.2f" % rb if rb else "-",
                                            "%.2f" % rbm if rbm else "-")
            print(line)
            for a in allocs:
                v = res.get((w, t, a), [])
                summary_rows.append([w, t, a, len(v),
                                     "%.4f" % med[(w, t, a)] if v else "",
                                     "%.4f" % min(x["mops"] for x in v) if v else "",
                                     "%.4f" % max(x["mops"] for x in v) if v else "",
                                     int(rss[(w, t, a)]) if v else "",
                                     "; ".join(fails.get((w, t, a), []))])
    print()
    print("median peak RSS, MiB")
    print("%-13s %2s " % ("workload", "t") + "".join("%15s" % a for a in allocs))
    for w in workloads:
        for t in threads:
            print("%-13s %2d " % (w, t) + "".join(
                "%15s" % ("%.1f" % (rss[(w, t, a)] / 1024) if (w, t, a) in rss else "-")
                for a in allocs))
    for key, errs in sorted(fails.items()):
        print("FAILED %s t=%d %s: %d of %d runs: %s" % (
            key[0], key[1], key[2], len(errs), reps, errs[0]))
    mis = sorted({(k[2]) for k, v in res.items() if any(x["misaligned"] for x in v)})
    for a in mis:
        print("NOTE %s returned misaligned blocks from posix_memalign/aligned_alloc "
              "(counted, not fatal; see the raw CSV)" % a)

    sum_path = results.write_rows(
        os.path.join(base, stamp + "_summary.csv"),
        ["workload", "threads", "allocator", "runs", "median_mops",
         "min_mops", "max_mops", "median_maxrss_kb", "errors"], summary_rows)

    eff, eff_text = run_efficiency(args.efficiency)
    print()
    print(eff_text)

    if not args.no_plot:
        files, note = plot(base, stamp, allocs, workloads, threads, med)
        if note:
            print("bench_host: " + note)
    else:
        files = []
    la1 = loadavg()
    print()
    print("raw runs:  " + raw_path)
    print("medians:   " + sum_path)
    for p in files:
        print("chart:     " + p)
    print("load average %.2f at start, %.2f at end" % (la0, la1))

    kv = []
    # "all" is every (workload, threads): a row with no ratio (ours, or
    # every rival, failed in every round) was not shown to meet the target,
    # so it is not left out of the verdict.
    rows = len(workloads) * len(threads)
    if ratios_g:
        rg, w, t = min(ratios_g)
        kv.append("vs_glibc_min=%.3f vs_glibc_min_at=%s@%d" % (rg, w, t))
        kv.append("faster_than_glibc_all=%s" % (
            "yes" if rg > 1.0 and len(ratios_g) == rows else "no"))
    else:
        kv.append("vs_glibc_min=NA")
    if ratios_b:
        rb, w, t, ba = min(ratios_b)
        kv.append("vs_best_min=%.3f vs_best_min_at=%s@%d(%s)" % (rb, w, t, ba))
        kv.append("within_1.25x_of_best_all=%s" % (
            "yes" if rb >= 0.8 and len(ratios_b) == rows else "no"))
        kv.append("beats_best_on=%s" % (",".join(
            "%s@%d" % (x[1], x[2]) for x in sorted(ratios_b, key=lambda x: (x[1], x[2]))
            if x[0] > 1.0) or "none"))
    else:
        kv.append("vs_best_min=NA")
    if ratios_bm:
        rbm, w, t, ba = min(ratios_bm)
        kv.append("vs_best_min_medians=%.3f vs_best_min_medians_at=%s@%d(%s)" % (rbm, w, t, ba))
    kv.append("efficiency=%s" % ("%.4f" % eff if eff is not None else "NA"))
    kv.append("failed_runs=%d" % sum(len(v) for v in fails.values()))
    kv.append("loadavg=%.2f" % la0)
    kv.append("csv=%s" % raw_path)
    print("bench_host: " + " ".join(kv))
    # Non-zero when a run of ours failed (crash, wrong data, timeout).
    return 1 if any(k[2] in (OURS, BYPASS) for k in fails) else 0


if __name__ == "__main__":
    sys.exit(main())
