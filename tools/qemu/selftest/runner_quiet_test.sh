#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The runner's own output after a passing kernel: its watchdogs stop without
# a word (a killed foreground sleep made bash print "Terminated" after every
# run, between the kernel's last line and the runner's exit line). A short
# run could end before the sleeps started, so it boots several times, with
# both watchdogs (the timeout's and the silence one) running.
set -u
for run in 1 2 3 4 5 6; do
	out=$("$1" --silence 20 2>&1)
	rc=$?
	printf '%s\n' "$out"
	if [ "$rc" -ne 0 ]; then
		echo "runner_quiet_test: FAIL runner exit $rc (run $run)"
		exit 1
	fi
	if printf '%s\n' "$out" | grep -n 'Terminated\|Killed'; then
		echo "runner_quiet_test: FAIL the runner printed a shell job message (run $run)"
		exit 1
	fi
done
echo "runner_quiet_test: PASS"
