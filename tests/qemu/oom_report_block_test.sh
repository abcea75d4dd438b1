#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs a qemu_oom scenario (the qemu_run script given as $1, then its extra
# runner arguments) and checks that the OOM report is one unbroken block:
# from the `PANIC hart=H: heap: out of memory on hart H:` line to the
# `hartid=... exit=4` line, every line is a line of the report (heap stats,
# percpu cache lines, blank), none from another hart's kprintf.
set -u
run=$1; shift
log=${TEST_TMPDIR:-/tmp}/oom_report.log
"$run" --log "$log" "$@" >/dev/null 2>&1
rc=$?
[ "$rc" = 4 ] || { echo "FAIL: exit code $rc, expected 4 (OOM)"; cat "$log"; exit 1; }
tr -d '\r' <"$log" | awk '
	/^PANIC hart=[0-9]+: heap: out of memory on hart [0-9]+: [0-9]+ bytes, align [0-9]+ \(/ {
		inside = 1; start = NR; next
	}
	inside && /^  hartid=[0-9]+ harts=[0-9]+ parked=[0-9]+ exit=4$/ { done = 1; inside = 0; next }
	inside && !/^heap: / && !/^  percpu: / && !/^$/ {
		printf "FAIL: line %d inside the report is not part of it: %s\n", NR, $0
		bad = 1
	}
	END {
		if (!start) { print "FAIL: no full OOM report"; exit 1 }
		if (!done) { print "FAIL: the report does not end with the panic trailer"; exit 1 }
		if (bad) exit 1
		printf "OK: the OOM report is one block (from line %d)\n", start
	}' || { cat "$log"; exit 1; }
