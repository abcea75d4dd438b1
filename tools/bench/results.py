# SPDX-License-Identifier: BSD-2-Clause
"""What the benchmark drivers share once their runs are done: where the
results go (a folder under the workspace, a timestamp per run), the CSV
files, and matplotlib (headless, optional: a machine without it still gets
the tables and the CSV). bench_host.py, bench_threads.py, bench_frag.py and
qemu/bench_qemu.py import it; each BUILD target that runs one lists
//tools/bench:results.py in its data.
"""

import csv
import datetime
import os


def out_dir(out, name, base_env="BUILD_WORKSPACE_DIRECTORY"):
    """The results folder, made: `out` if given (relative: to the caller's
    workspace), else <workspace>/results/<name>. The workspace is $base_env
    (bazel run sets BUILD_WORKSPACE_DIRECTORY), else the current folder."""
    base = os.environ.get(base_env) or os.getcwd()
    path = os.path.join(base, out) if out else os.path.join(base, "results", name)
    os.makedirs(path, exist_ok=True)
    return path


def stamp():
    """This run's name: the local time, sortable."""
    return datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def write_rows(path, header, rows):
    """A CSV file of a header and rows (lists)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_dicts(path, fields, rows):
    """A CSV file of dicts, the given fields in order, other keys left out."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def pyplot():
    """matplotlib.pyplot without a display, or None when it is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def grid(plt, n, cols, width, height):
    """A figure of n charts, `cols` a row, each width x height inches; the
    cells past n are blanked. Returns (fig, axes), axes[i] the i-th chart."""
    cols = max(1, min(cols, n))
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows),
                             squeeze=False)
    cells = [ax for row in axes for ax in row]
    for ax in cells[n:]:
        ax.axis("off")
    return fig, cells


def save(plt, fig, path, dpi=90):
    """Lays the figure out, writes it and frees it."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def ratio(a, b, digits=2):
    """a / b as text, "-" when b is missing or zero."""
    return ("%." + str(digits) + "f") % (a / b) if b else "-"
