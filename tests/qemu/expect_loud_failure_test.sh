#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Fault injection: runs a qemu_run script ($1, then its extra runner
# arguments) on a kernel built with a fault, and passes only if the run fails
# loudly: exit code 1..5 (FAIL, PANIC, TRAP, OOM, MISUSE) and a `FAIL` or
# `PANIC` line on the console. A hang (watchdog, 6) or a silent non-zero exit
# fails the test. A run that passes (exit 0: the race did not bite this time)
# is retried, up to ATTEMPTS runs; only if all pass does the test fail.
#
# Env: ATTEMPTS (default 3), EXPECT_RE (an extra regex the failing run's
# console must contain, e.g. "leaked=[1-9]").
set -u
run=$1; shift
attempts=${ATTEMPTS:-3}
for i in $(seq 1 "$attempts"); do
	log=${TEST_TMPDIR:-/tmp}/fault_run$i.log
	"$run" --log "$log" "$@" >/dev/null 2>&1
	rc=$?
	echo "attempt $i: exit $rc"
	if [ "$rc" = 0 ]; then
		grep -a 'qemu_smp: PASS' "$log"
		continue
	fi
	grep -aE '^PANIC|FAIL' "$log" | head -5
	if [ "$rc" -lt 1 ] || [ "$rc" -gt 5 ]; then
		echo "FAIL: exit $rc is not a loud failure (1..5)"; tail -20 "$log"; exit 1
	fi
	grep -aqE '^PANIC|FAIL' "$log" ||
		{ echo "FAIL: exit $rc without a FAIL or PANIC line"; tail -20 "$log"; exit 1; }
	if [ -n "${EXPECT_RE:-}" ] && ! grep -aqE -- "$EXPECT_RE" "$log"; then
		echo "FAIL: console lacks /$EXPECT_RE/"; tail -20 "$log"; exit 1
	fi
	echo "OK: the fault was caught (exit $rc)"
	exit 0
done
echo "FAIL: $attempts runs passed: the stress did not notice the fault"
exit 1
