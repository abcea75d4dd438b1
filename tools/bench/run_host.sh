#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# `bazel run //tools/bench:host [-- --quick ...]`: finds the built files in
# the runfiles and runs the driver with a python3 that has matplotlib.
set -euo pipefail
here="${RUNFILES_DIR:-$0.runfiles}/smp_heap/tools/bench"
[[ -d "$here" ]] || here="$(cd "$(dirname "$0")" && pwd)"
py=""
for c in /usr/bin/python3 python3; do
	if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import matplotlib' 2>/dev/null; then
		py="$c"
		break
	fi
done
if [[ -z "$py" ]]; then
	py="$(command -v python3 || true)"
	[[ -n "$py" ]] || { echo "run_host: no python3" >&2; exit 1; }
	echo "run_host: no python3 with matplotlib: no charts (apt-get install python3-matplotlib)" >&2
fi
eff=()
[[ -x "$here/heap_efficiency" ]] && eff=(--efficiency "$here/heap_efficiency")
exec "$py" "$here/bench_host.py" --bench "$here/alloc_bench" \
	--shim "$here/../shim/libsmpheap_malloc.so" "${eff[@]}" "$@"
