#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A bootarg given twice takes its last value in both kernels, as the
# runner's own options do: `bazel run //tests:X -- --ops 3000` puts the
# command line's ops=3000 after the target's own ops=2000, and the kernel
# took the first and ran the target's job instead.
# $1: the S-mode stress runner (qemu_smp), $2: the M-mode one (mmode_smp).
set -u
fail=0
for run in "$1" "$2"; do
	out=$("$run" --smp 1 --timeout 120 --tick_us 0 --ops 2000 --ops 3000 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || ! printf '%s\n' "$out" | grep -q ', 1 harts, 3000 ops per hart'; then
		printf '%s\n' "$out" | grep -E 'ops per hart|PASS|FAIL|PANIC|exit='
		echo "bootarg_last_wins_test: FAIL $(basename "$run"): exit $rc, want 0 and 3000 ops per hart"
		fail=1
	fi
done
[ "$fail" = 0 ] && echo "bootarg_last_wins_test: PASS"
exit "$fail"
