#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Builds a libFuzzer target with clang-14 (Debian's libclang-rt-14-dev) and
# runs it. Bazel's host toolchain is gcc, which has no libFuzzer, so the
# target is compiled here, from the sources Bazel hands over as data.
#   fuzz.sh test NAME RUNS  -- CFLAGS... -- SOURCES...   bounded run (a test)
#   fuzz.sh run  NAME SECS  -- CFLAGS... -- SOURCES... [-- [SECONDS] [LIBFUZZER FLAGS...]]
#                                          run for SECS seconds, or SECONDS when
#                                          given (`bazel run //pkg:NAME -- 3600`)
# The committed seed corpus is the directory of the first source that is a
# directory. `run` grows a corpus in $FUZZ_CORPUS (default /tmp/NAME-corpus)
# and prints libFuzzer's final stats (executions, exec/s).
set -euo pipefail

mode=$1 name=$2 amount=$3
shift 3
[ "$1" = -- ] && shift
cflags=()
while [ "$1" != -- ]; do cflags+=("$1"); shift; done
shift
srcs=() seeds=""
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	if [ -d "$1" ]; then seeds=$1; else srcs+=("$1"); fi
	shift
done
# What `bazel run ... -- ARGS` added: a duration first, then libFuzzer flags.
[ $# -gt 0 ] && shift
case ${1:-} in
[0-9]*) amount=$1; shift ;;
esac
extra=("$@")
# A seed corpus is passed as its files; find their directory.
if [ -z "$seeds" ]; then
	for f in "${srcs[@]}"; do
		case $f in */corpus/*) seeds=$(dirname "$f") ;; esac
	done
fi
c=()
for f in "${srcs[@]}"; do
	case $f in *.c) c+=("$f") ;; esac
done
command -v clang-14 >/dev/null || { echo "fuzz: clang-14 not found (tools/install-deps)"; exit 1; }
out=$(mktemp -d "${TEST_TMPDIR:-/tmp}/fuzz.XXXXXX")
sanitize=-fsanitize=fuzzer,address,undefined
[ "$mode" = run ] && [ "${FUZZ_FAST:-0}" = 1 ] && sanitize=-fsanitize=fuzzer
# tools/fuzz/coverage_ignore.txt (data of every fuzz_target) names the
# sources left out of coverage; the path is relative to the runfiles root.
clang-14 -g -O1 -w $sanitize -fno-sanitize-recover=all \
	-fsanitize-coverage-ignorelist="$PWD/tools/fuzz/coverage_ignore.txt" \
	"${cflags[@]}" "${c[@]}" -o "$out/$name"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
if [ "$mode" = test ]; then
	# The seeds, then RUNS mutated inputs; any crash or assertion fails.
	work=$out/corpus
	mkdir -p "$work"
	[ -n "$seeds" ] && cp "$seeds"/* "$work"/ 2>/dev/null || true
	cd "$out"
	"./$name" -runs="$amount" -seed=1 -max_len=512 -print_final_stats=1 "$work" 2>&1 | tail -15
	exit "${PIPESTATUS[0]}"
fi
corpus=${FUZZ_CORPUS:-/tmp/$name-corpus}
mkdir -p "$corpus"
[ -n "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
cd "$corpus/.."
echo "fuzz: $name for $amount s, corpus $corpus"
exec "$out/$name" -max_total_time="$amount" -max_len=512 -print_final_stats=1 "${extra[@]}" "$corpus"
