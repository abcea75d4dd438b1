#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs bench_host_test.py (the host driver's paired ratios) with python3.
set -euo pipefail
here="${TEST_SRCDIR:-$0.runfiles}/smp_heap/tools/bench"
[[ -f "$here/bench_host_test.py" ]] || here="$(cd "$(dirname "$0")" && pwd)"
exec python3 "$here/bench_host_test.py" -v
