#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Runs host_stress with the given options; passes on exit 0 with a PASS line.
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q '^host_stress: PASS ' 
