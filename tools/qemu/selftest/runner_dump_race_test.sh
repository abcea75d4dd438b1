#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A kernel that exits by itself while the watchdog asks QEMU where its harts
# are keeps its own exit code: the runner marked the run as killed before
# the dump, and a kernel ending during it was reported as a watchdog kill
# (exit 6). The dump is made slow on purpose (an nm that sleeps 12 s first),
# so the kernel's exit (7, 5 s after boot) always falls inside it. The 4 s
# between the watchdog (1 s) and that exit cover python's start and the
# monitor's answer on a loaded machine: with the exit at 2 s, the kernel
# ended before the dump reached nm under a loaded `bazel test`.
# $1: a runner for that kernel, with a 1 s watchdog.
set -u
real_nm=$(command -v riscv64-unknown-elf-nm) || {
	echo "runner_dump_race_test: FAIL riscv64-unknown-elf-nm not found"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/riscv64-unknown-elf-nm" <<NM
#!/bin/sh
: >"$dir/dump_started"
sleep 12
exec "$real_nm" "\$@"
NM
chmod +x "$dir/riscv64-unknown-elf-nm"

out=$(PATH="$dir:$PATH" "$1" 2>&1)
rc=$?
printf '%s\n' "$out"
fail=0
if [ ! -e "$dir/dump_started" ]; then
	echo "runner_dump_race_test: FAIL the watchdog never started its dump (the kernel ended first)"
	fail=1
fi
if [ "$rc" -ne 7 ]; then
	echo "runner_dump_race_test: FAIL runner exit $rc, the kernel's was 7"
	fail=1
fi
if printf '%s\n' "$out" | grep -q 'WATCHDOG'; then
	echo "runner_dump_race_test: FAIL a kernel that ended by itself reported as killed"
	fail=1
fi
[ "$fail" = 0 ] && echo "runner_dump_race_test: PASS"
exit "$fail"
