#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The runner's hart limits: $1 is a kernel declared to run at most 2 harts
# (max_smp = 2), $2 one with no limit of its own (OpenSBI's 128 applies).
set -u
fail=0

# expect RC PATTERN RUNNER ARGS...: the run exits RC and prints PATTERN.
expect() {
	local rc=$1 pattern=$2
	shift 2
	out=$("$@" 2>&1)
	got=$?
	if [ "$got" -ne "$rc" ] || ! printf '%s\n' "$out" | grep -q -- "$pattern"; then
		printf '%s\n' "$out" | tail -5
		echo "runner_max_smp_test: FAIL '${*:2}': exit $got (want $rc), '$pattern' $(
			printf '%s\n' "$out" | grep -q -- "$pattern" && echo found || echo missing)"
		fail=1
	fi
}

expect 2 'run_qemu: --smp 3: wants 1..2 (the kernel.s PORT_MAX_HARTS is 2)' "$1" --smp 3
expect 2 'run_qemu: --smp 0: wants 1..2' "$1" --smp 0
# Past what the shell's [ ] compares: refused, not let through.
expect 2 'run_qemu: --smp 99999999999999999999: wants 1..2' "$1" --smp 99999999999999999999
expect 2 'run_qemu: --smp 129: wants 1..128 (OpenSBI 1.1 boots at most 128 harts)' "$2" --smp 129
# Within the limit the kernel boots as before.
expect 0 'tiny kernel: hello' "$1" --smp 2
[ "$fail" -eq 0 ] && echo "runner_max_smp_test: PASS"
exit "$fail"
