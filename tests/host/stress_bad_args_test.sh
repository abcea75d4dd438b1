#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# host_stress ($1) refuses a bad option (exit 2, the option named) rather
# than run another job than asked: a value that is no number, has junk
# after it, does not fit, is out of the option's range, or is missing.
set -u
bin=$1
fail=0

# refused PATTERN ARGS...: exits 2 before running, saying PATTERN.
refused() {
	local pattern=$1
	shift
	out=$(timeout 60 "$bin" "$@" 2>&1)
	rc=$?
	if [ "$rc" -ne 2 ] || ! printf '%s\n' "$out" | grep -q -- "$pattern"; then
		printf '%s\n' "$out" | tail -3
		echo "stress_bad_args_test: FAIL '$*': exit $rc (want 2), '$pattern' $(
			printf '%s\n' "$out" | grep -q -- "$pattern" && echo found || echo missing)"
		fail=1
	fi
}

refused 'host_stress: --ops: bad number' --harts 1 --ops 1e6
refused 'host_stress: --ops: bad number' --harts 1 --ops abc
refused 'host_stress: --ops: bad number' --harts 1 --ops -1
refused 'host_stress: --ops: bad number' --harts 1 --ops 18446744073709551616
refused 'host_stress: --ops needs a value' --harts 1 --ops
refused 'host_stress: --harts 1..' --harts 4294967297 --ops 100
refused 'host_stress: --fill 0..100' --harts 1 --ops 100 --fill 4294967396
refused 'host_stress: --heap_mib' --harts 1 --ops 10 --heap_mib 17592186044416
refused 'host_stress: --heap_mib' --harts 1 --ops 10 --heap_mib 0
refused 'host_stress: --budget_pct 0..100' --harts 1 --ops 10 --budget_pct 4294967297
refused 'host_stress: unknown option --bogus' --bogus
# Good values still run: 0x hex as the kernel's bootargs take it.
out=$(timeout 60 "$bin" --harts 2 --ops 0x100 --fill 40 2>&1)
printf '%s\n' "$out" | grep -q '^host_stress: PASS harts=2 ops=512 ' ||
	{ printf '%s\n' "$out" | tail -3; echo "stress_bad_args_test: FAIL good options"; fail=1; }
[ "$fail" -eq 0 ] && echo "stress_bad_args_test: PASS"
exit "$fail"
