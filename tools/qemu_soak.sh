#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The soak: the QEMU SMP heap stress for 100 million operations (4 harts x
# 25 million by default), a quarter of every hart's blocks freed by other
# harts, timer-interrupt allocations on. Not in CI: it takes hours on QEMU.
#   tools/qemu_soak.sh [HARTS] [OPS_PER_HART] [SEED]
# Passes when the stress prints PASS with corrupt=0 and leaked=0.
set -euo pipefail
harts=${1:-4} ops=${2:-25000000} seed=${3:-1}
cd "$(dirname "$0")/.."
log=$(mktemp /tmp/qemu_soak.XXXXXX.log)
echo "qemu_soak: $harts harts x $ops ops, seed $seed; log $log"
set +e
bazel run //tests:qemu_smp -- --smp "$harts" --ops "$ops" --seed "$seed" \
	--timeout 86400 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
line=$(grep -E '^qemu_smp: (PASS|FAIL)' "$log" | tail -1 || true)
echo "qemu_soak: exit $rc: ${line:-no result line}"
case $line in
*PASS*corrupt=0*leaked=0*) exit 0 ;;
*) exit 1 ;;
esac
