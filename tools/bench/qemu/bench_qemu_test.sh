#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs bench_qemu_test.py (the QEMU driver's verdicts, no boot) with python3.
set -euo pipefail
here="${TEST_SRCDIR:-$0.runfiles}/smp_heap/tools/bench/qemu"
[[ -f "$here/bench_qemu_test.py" ]] || here="$(cd "$(dirname "$0")" && pwd)"
exec python3 "$here/bench_qemu_test.py" -v
