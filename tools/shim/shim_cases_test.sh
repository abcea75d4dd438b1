#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Issue 10's cases (tools/shim/shim_cases.c), each run on glibc first (the
# reference: it must pass there) and then under LD_PRELOAD=the shim.
# Ends with "N passed, N failed".
set -uo pipefail

here="${TEST_SRCDIR:-$0.runfiles}/${TEST_WORKSPACE:-smp_heap}/tools/shim"
shim="$here/libsmpheap_malloc.so"
cases="$here/shim_cases"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
[[ -f "$shim" && -x "$cases" ]] || { echo "shim_cases_test: missing $shim or $cases"; exit 1; }

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [[ -n "${2:-}" ]] && sed 's/^/    /' "$2" | tail -20; }

# Run before each case's program (both runs): e.g. prlimit with its limits.
under=()
run_case() { # name, extra env...
	local c="$1"
	shift
	if timeout 300 "${under[@]}" "$cases" "$c" >"$tmp/$c.glibc" 2>&1; then
		ok "$c on glibc: $(grep -v 'PASS$' "$tmp/$c.glibc" | tail -1)"
	else
		bad "$c on glibc (the reference)" "$tmp/$c.glibc"
	fi
	if env "$@" LD_PRELOAD="$shim" timeout 300 "${under[@]}" "$cases" "$c" >"$tmp/$c.shim" 2>&1; then
		ok "$c on the shim: $(grep -v 'PASS$' "$tmp/$c.shim" | tail -1)"
	else
		bad "$c on the shim (exit $?)" "$tmp/$c.shim"
	fi
}

# case, least, pass, fail: the case's stats line (SMPHEAP_STATS=1) must show
# an alloc hit rate above least.
check_alloc_hits() {
	if awk -v c="$1" -v least="$2" '/^smpheap: allocs/ { for (i = 1; i < NF; i++)
		if ($i == "hits") { split($(i + 1), h, "/"); r = h[1] } }
		END { printf "%s: alloc hit rate %s\n", c, r > "/dev/stderr"; exit !(r > least) }' \
		"$tmp/$1.shim"; then
		ok "$1: $3"
	else
		bad "$1: $4" "$tmp/$1.shim"
	fi
}

run_case huge
run_case ulimit
under=(prlimit --as=$((800 << 20)) --)
run_case rlimit
under=(prlimit --data=$((2 << 20)) --)
run_case tinydata
under=()
run_case regions SMPHEAP_REGION_MB=4
run_case alignfree
run_case exitleak SMPHEAP_STATS=1
# Ids come back at thread exit, frees after the key destructors included.
if grep -q '^smpheap: ids_in_use=1$' "$tmp/exitleak.shim"; then
	ok "exitleak: one id in use at exit"
else
	bad "exitleak: ids leaked at thread exit" "$tmp/exitleak.shim"
fi
run_case crowd
run_case fork
run_case atfork
run_case forknohart
run_case earlyatfork
run_case blocked SMPHEAP_REGION_MB=8
under=(prlimit --as=$((800 << 20)) --)
run_case failfast
under=()
# The big classes (above 5 KiB) are cached (//tools/shim:percpu_for_shim's magazine
# sizes): about 1 depot lock per 87 operations (magazines of 4..16 rounds);
# fewer than 1 per 40 passes. With magazines of 2..8 rounds, 1 per 19;
# uncached, each operation took 1.5 on average, and the heap lock.
run_case bigclass SMPHEAP_STATS=1
if awk '/^smpheap: allocs/ { for (i = 1; i < NF; i++) { if ($i == "allocs") a = $(i + 1);
	if ($i == "frees") f = $(i + 1); if ($i == "locks") l = $(i + 1) } }
	END { printf "bigclass: %d depot locks for %d operations\n", l, a + f > "/dev/stderr";
	      exit !(a + f > 0 && l * 40 < a + f) }' "$tmp/bigclass.shim"; then
	ok "bigclass: the magazines serve the big classes"
else
	bad "bigclass: the big classes go to the locks" "$tmp/bigclass.shim"
fi
# An alignment of 16 or less is malloc's: posix_memalign, aligned_alloc and
# memalign take its hit paths, and so does calloc: 94 in 100 allocations
# hit, and more than 80 must (each entry point is a quarter of them, so one
# that misses the hit paths brings the rate to about 70); through alloc_any
# and kmalloc_try's slow path, none were.
run_case bigalign SMPHEAP_STATS=1
check_alloc_hits bigalign 0.8 "aligned allocations at 16 and calloc hit the big classes' magazines" \
	"aligned allocations at 16 or calloc miss the magazines"
# krealloc's moves between big classes take their hit paths: about 9 in 10
# new blocks are magazine hits; through kmalloc_try's slow path, none were.
run_case bigrealloc SMPHEAP_STATS=1
check_alloc_hits bigrealloc 0.5 "krealloc's moves hit the big classes' magazines" \
	"krealloc's moves miss the magazines"

# Fresh pages are faulted in ahead of the carving (tools/shim/prefault.c):
# at least half of the 16 pages below the lowest block are in memory.
run_case prefault
if awk '/^prefault:/ { r = $2 } END { exit !(r >= 8 || r == "unsupported") }' "$tmp/prefault.shim"; then
	ok "prefault: $(grep '^prefault:' "$tmp/prefault.shim")"
else
	bad "prefault: fresh pages are not faulted in ahead" "$tmp/prefault.shim"
fi

# Freed big blocks give their pages back (tools/shim/purge.c); a loop of
# one size keeps them. The script requires the move in the shim's run.
run_case giveback
if grep -q '^giveback: realloc moved' "$tmp/giveback.shim"; then
	ok "giveback: realloc moved the block on the shim"
else
	bad "giveback: realloc did not move the block on the shim" "$tmp/giveback.shim"
fi

# malloc_trim gives back the pages of freed small blocks (purge.c).
run_case trim
run_case calloc
run_case errno
run_case errnowait
run_case nofence
run_case libc
run_case mallinfo
run_case foreign

# Bad SMPHEAP_* values: the shim names each on stderr (and clamps it to its
# range, or takes the default for what is not a number), never wraps it
# into another configuration, and leaves errno 0 at main.
env_named() { # names: each must be named in the shim's output of case env
	local n
	for n in "$@"; do
		if grep -q "^libsmpheap_malloc: $n=" "$tmp/env.shim"; then
			ok "env: $n named"
		else
			bad "env: $n not named" "$tmp/env.shim"
		fi
	done
}
big=99999999999999999999999 # past ULONG_MAX: strtoul's ERANGE
run_case env SMPHEAP_PURGE_KB=$big SMPHEAP_CACHE_KB=$big SMPHEAP_EXCLUSIVE=$big \
	SMPHEAP_SHARED=$big
env_named SMPHEAP_PURGE_KB SMPHEAP_CACHE_KB SMPHEAP_EXCLUSIVE SMPHEAP_SHARED
# A 64 TiB first region, which the heap refused at start ("bad region").
run_case env SMPHEAP_REGION_MB=$big
env_named SMPHEAP_REGION_MB
# Values that wrapped: 2^44 + 1 MiB (<< 20: a 1 MiB region), 2^54 + 1 KiB
# (<< 10: a 1 KiB budget), 2^63 ids per CPU (times the CPUs: 0); and 0
# exclusive ids (below 8: read as unset, 64), not numbers, an unknown mode.
run_case env SMPHEAP_REGION_MB=17592186044417 SMPHEAP_CACHE_KB=18014398509481985 \
	SMPHEAP_SHARED=9223372036854775808 SMPHEAP_EXCLUSIVE=0 SMPHEAP_PURGE_KB=12x \
	SMPHEAP_MODE=bypas
env_named SMPHEAP_REGION_MB SMPHEAP_CACHE_KB SMPHEAP_SHARED SMPHEAP_EXCLUSIVE SMPHEAP_PURGE_KB \
	SMPHEAP_MODE

echo "shim_cases_test: $pass passed, $fail failed"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
