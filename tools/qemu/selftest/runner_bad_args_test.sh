#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The runner's own options, given a bad value or none: refused with exit 2
# and the option named, before QEMU starts. Exit 1 is the kernel's "a test
# failed", and a watchdog that cannot parse its seconds is no watchdog.
# $1: a runner for a kernel that passes.
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
		echo "runner_bad_args_test: FAIL '${*:2}': exit $got (want $rc), '$pattern' $(
			printf '%s\n' "$out" | grep -q -- "$pattern" && echo found || echo missing)"
		fail=1
	fi
}

expect 2 'run_qemu: --timeout wants a number' "$1" --timeout abc
expect 2 'run_qemu: --timeout wants a number' "$1" --timeout 1.5
expect 2 'run_qemu: --timeout wants a number' "$1" --timeout ''
expect 2 'run_qemu: --timeout-per-hart wants a number' "$1" --timeout-per-hart x
# QEMU's refusal of a bad -m exits 1, which read as the kernel's FAIL.
expect 2 'run_qemu: --mem 1x6M: wants a size' "$1" --mem 1x6M
expect 2 'run_qemu: --mem M: wants a size' "$1" --mem M
# An option that takes a value, last on the line.
for opt in --smp --timeout --timeout-per-hart --silence --max-smp --kernel --log \
	   --bios --mem --expect-exit --expect --expect-last; do
	expect 2 "run_qemu: $opt needs a value" "$1" "$opt"
done
# --OPTION=VALUE is --OPTION VALUE for the runner's own options too, not a
# bootarg `smp=129` beside a run on the default 4 harts.
expect 2 'run_qemu: --smp 129: wants 1..128' "$1" --smp=129
expect 2 'run_qemu: --timeout wants a number' "$1" --timeout=abc
# A bootarg value with a space is two words to the kernel: --ops '1 000'
# ran ops=1 (and a stray word 000), --ops '2000 fill=90' set fill too.
expect 2 "run_qemu: --ops '1 000': a bootarg holds no blank" "$1" --ops '1 000'
expect 2 "run_qemu: --ops '2000 fill=90': a bootarg holds no blank" "$1" --ops '2000 fill=90'
expect 2 "run_qemu: --ops ' 5': a bootarg holds no blank" "$1" --ops=' 5'
# Good values still run the kernel.
expect 0 'tiny kernel: hello' "$1" --timeout 30 --timeout-per-hart 10
# Decimal with a leading zero, not an octal error.
expect 0 'tiny kernel: hello' "$1" --timeout 030
expect 0 'run_qemu: exit=0 .* smp=2$' "$1" --smp=2 --ops=5
expect 0 '-append smp=2 ops=5 ' "$1" --smp=2 --ops=5
[ "$fail" -eq 0 ] && echo "runner_bad_args_test: PASS"
exit "$fail"
