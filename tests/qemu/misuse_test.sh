#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# qemu_misuse's tests, the expected reports taken from the kernel's table
# (tests/qemu/misuse_cases.c):
#
#   misuse_test.sh RUN CASE          boots the qemu_misuse run script RUN with
#       case=CASE; passes if the console has the case's line, the report the
#       kernel announced (`qemu_misuse: expect: ...`, "<ptr>" standing for
#       0x and hex digits, "<function>" for a function name) as a whole line,
#       the stop line of 2 harts, and the exit code the kernel announced
#       (`qemu_misuse: exit: N`: 5, PORT_EXIT_MISUSE, but for a wild free at
#       hardening level 0, 3, a trap) in both the stop line and the run's.
#   misuse_test.sh RUN --list NAME...  passes if the table's cases are
#       exactly NAME... (the test targets tests/BUILD declares), in order.
set -u
run=$1 case=$2
shift 2
log=${TEST_TMPDIR:-/tmp}/misuse_$case.log

if [ "$case" = --list ]; then
	"$run" --case list --timeout 60 --log "$log" >/dev/null 2>&1
	rc=$?
	have=$(sed -n 's/^qemu_misuse: case \([a-z0-9_]*\).*$/\1/p' "$log" | tr -d '\r')
	want=$(printf '%s\n' "$@")
	if [ "$rc" != 0 ] || [ "$have" != "$want" ]; then
		echo "FAIL: the table (exit $rc) and tests/BUILD's MISUSE_CASES differ:"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$have")
		exit 1
	fi
	echo "PASS: $(printf '%s\n' "$have" | wc -l) cases, the same in the table and in tests/BUILD"
	exit 0
fi

"$run" --case "$case" --timeout 60 --log "$log" >/dev/null 2>&1
rc=$?
cat "$log"
tr -d '\r' <"$log" >"$log.txt"
fail() {
	echo "FAIL: $*"
	exit 1
}
grep -qE "^qemu_misuse: case=$case[[:space:]]*$" "$log.txt" || fail "no line 'qemu_misuse: case=$case'"
want=$(sed -n 's/^qemu_misuse: exit: \([0-9]*\)[[:space:]]*$/\1/p' "$log.txt" | head -1)
[ -n "$want" ] || fail "the kernel announced no exit code"
[ "$rc" = "$want" ] || fail "exit code $rc, want $want"
expect=$(sed -n 's/^qemu_misuse: expect: //p' "$log.txt" | head -1)
[ -n "$expect" ] || fail "the kernel announced no expected report"
# The announced report as an extended regex: every character literal but the
# placeholders.
re=$(printf '%s' "$expect" | sed -e 's/[][\.*^$+?(){}|/]/\\&/g' \
	-e 's/<ptr>/0x[0-9a-f]+/g' -e 's/<function>/[a-z_]+/g')
grep -qE "^$re[[:space:]]*$" "$log.txt" || fail "no line matches the expected report: $expect"
grep -qE "hartid=[0-9]+ harts=2 parked=1 exit=$want" "$log.txt" || fail "no stop line 'hartid=.. harts=2 parked=1 exit=$want'"
echo "PASS: case=$case: $expect"
