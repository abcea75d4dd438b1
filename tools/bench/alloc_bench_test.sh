#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# alloc_bench -n: a counted random run does exactly N actions per thread and
# phase (whole batches of 100), whatever -d says, on glibc and under the
# shim; -n with another workload is refused (exit 2). Ends with
# "N passed, N failed".
set -uo pipefail
here="${TEST_SRCDIR:-$0.runfiles}/${TEST_WORKSPACE:-smp_heap}"
bench="$here/tools/bench/alloc_bench"
shim="$here/tools/shim/libsmpheap_malloc.so"
pass=0
fail=0

verdict() { # ok, label, detail
	if [[ $1 == yes ]]; then
		pass=$((pass + 1))
		echo "PASS $2"
	else
		fail=$((fail + 1))
		echo "FAIL $2: $3"
	fi
}

expect_ops() { # want, label, command...
	local want="$1" label="$2" out rc got
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	got=$(sed -n 's/.* ops=\([0-9]*\) .*/\1/p' <<<"$out")
	[[ $rc == 0 && $got == "$want" ]] && ok=yes || ok=no
	verdict "$ok" "$label (ops=$got)" "exit $rc, want ops=$want: $out"
}

# Five phases (max 200..30000) of 1,000 actions on each of 2 threads.
expect_ops 10000 "glibc -t 2 -n 1000" "$bench" -w random -t 2 -n 1000
expect_ops 10000 "shim -t 2 -n 1000" env LD_PRELOAD="$shim" "$bench" -w random -t 2 -n 1000
# One phase; 450 rounds up to whole batches; a tiny -d does not cut it short.
expect_ops 500 "glibc -m 30000 -n 450" "$bench" -w random -m 30000 -n 450
expect_ops 1000000 "shim -n 200000 -d 0.001" env LD_PRELOAD="$shim" \
	"$bench" -w random -n 200000 -d 0.001

"$bench" -w hitpair -n 5 >/dev/null 2>&1
rc=$?
[[ $rc == 2 ]] && ok=yes || ok=no
verdict "$ok" "-n refused for hitpair (exit $rc)" "want exit 2"

echo "$pass passed, $fail failed"
[[ $fail == 0 ]]
