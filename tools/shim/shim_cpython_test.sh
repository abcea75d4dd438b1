#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CPython's own threading and memory tests (Debian's libpython3.11-testsuite)
# run once on glibc and once under LD_PRELOAD=the shim; the shim run must pass
# every test the glibc run passes. Bounded: about a minute per run on 2 cores.
# Ends with "N passed, N failed".
set -uo pipefail

here="${TEST_SRCDIR:-$0.runfiles}/${TEST_WORKSPACE:-smp_heap}/tools/shim"
shim="$here/libsmpheap_malloc.so"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
py=/usr/bin/python3
[[ -f "$shim" ]] || { echo "shim_cpython_test: no $shim"; exit 1; }
if ! "$py" -c 'import test.test_threading' 2>/dev/null; then
	echo "shim_cpython_test: CPython's test suite is missing (tools/install-deps installs libpython3.11-testsuite)"
	exit 1
fi

# Threads (start, exit, locals, locks, queues), memory (bytes, dicts, lists,
# and the cyclic GC).
tests=(test_thread test_threading test_threading_local test_queue
	test_bytes test_dict test_list test_gc)

run() { # log, env...
	local log="$1"
	shift
	env "$@" timeout 600 "$py" -m test -j0 --timeout 300 "${tests[@]}" >"$log" 2>&1
	echo $?
}
summary() { grep -E "^(Total duration|Result|== Tests result)" "$1" | tr '\n' ' '; }

pass=0
fail=0
verdict() { # label, log, condition...: PASS, or FAIL with the log's tail
	local label="$1" log="$2"
	shift 2
	if "$@"; then
		pass=$((pass + 1))
		echo "PASS $label"
	else
		fail=$((fail + 1))
		echo "FAIL $label"
		tail -30 "$log"
	fi
}

rc_glibc=$(run "$tmp/glibc.log")
rc_shim=$(run "$tmp/shim.log" LD_PRELOAD="$shim")
echo "glibc: exit $rc_glibc $(summary "$tmp/glibc.log")"
echo "shim:  exit $rc_shim $(summary "$tmp/shim.log")"
verdict "CPython tests on glibc (the reference)" "$tmp/glibc.log" test "$rc_glibc" -eq 0
# The shim's run counts only beside a passing reference.
verdict "CPython tests under the shim: ${tests[*]}" "$tmp/shim.log" test "$rc_shim" -eq 0 -a "$rc_glibc" -eq 0
echo "shim_cpython_test: $pass passed, $fail failed"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
