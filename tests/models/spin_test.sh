#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs one Spin verification and checks its verdict.
#   spin_test.sh MODEL.pml pass|fail "SPIN_DEFINES" "CC_FLAGS" "PAN_FLAGS"
# pass: pan must report "errors: 0" and a search that was not cut short;
# fail: pan must report an error (a seeded bug, or a claim that must be
# refuted), and the counter-example's first line is printed.
set -euo pipefail

model=$1 expect=$2 defs=${3:-} ccflags=${4:-} panflags=${5:-}
for tool in spin gcc; do
	command -v "$tool" >/dev/null || { echo "spin_test: $tool not found (tools/install-deps)"; exit 1; }
done
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/spin.XXXXXX")
cp "$model" "$work/"
cd "$work"
name=$(basename "$model")
# shellcheck disable=SC2086
spin -a $defs "$name" >spin.log 2>&1 || { cat spin.log; exit 1; }
# -O0: gcc -O1 spends 212 s of CPU on flush.pml's 400 KB pan.c (then 3.5 s
# of search), -O0 4 s (then 4.3 s): at -O1 a loaded machine timed the
# flush models out at 900 s.
# shellcheck disable=SC2086
gcc -O0 -w $ccflags -o pan pan.c
start=$(date +%s)
# shellcheck disable=SC2086
./pan $panflags >pan.log 2>&1 || true
echo "spin_test: $name $defs | pan $panflags: $(( $(date +%s) - start )) s"
grep -E "errors:|states, stored|violated|invalid end state \(|acceptance cycle \(|elapsed" pan.log || true

if grep -q "max search depth too small" pan.log; then
	echo "spin_test: FAIL: the search was cut short (raise -m)"
	exit 1
fi
if [ "$expect" = pass ]; then
	grep -q "errors: 0" pan.log || { echo "spin_test: FAIL: expected no error"; cat pan.log; exit 1; }
	echo "spin_test: PASS (no error, as expected)"
else
	grep -qE "errors: [1-9]" pan.log || { echo "spin_test: FAIL: expected Spin to find an error"; cat pan.log; exit 1; }
	echo "spin_test: PASS (Spin found the error, as expected); counter-example:"
	spin -t $defs "$name" 2>&1 | grep -E "assertion violated|text of failed|invalid end|acceptance" | head -3 || true
fi
