#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# `bazel run //tools/bench:frag [-- --seeds 3 --ops 800000]`: bench_frag.py
# over the built host stress.
set -euo pipefail
root="${RUNFILES_DIR:-$0.runfiles}/smp_heap"
py=/usr/bin/python3
[[ -x "$py" ]] || py="$(command -v python3)"
exec "$py" "$root/tools/bench/bench_frag.py" --stress "$root/tests/host_stress" "$@"
