#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# `bazel run //tools/bench:threads [-- --reps 1 ...]`: the thread-scaling
# benchmark (bench_threads.py) over the built thread_bench and shim.
set -euo pipefail
here="${RUNFILES_DIR:-$0.runfiles}/smp_heap/tools/bench"
[[ -d "$here" ]] || here="$(cd "$(dirname "$0")" && pwd)"
py=/usr/bin/python3
[[ -x "$py" ]] || py="$(command -v python3)"
exec "$py" "$here/bench_threads.py" --bench "$here/thread_bench" \
	--shim "$here/../shim/libsmpheap_malloc.so" "$@"
