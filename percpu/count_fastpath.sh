#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Counts the RV64 instructions of the kmalloc and kfree hit paths: from each
# function's entry to its first `ret` (the hit path is the fall-through
# layout, thanks to likely()), in a linked kernel ELF (what ships: the
# linker's relaxations included).
#
#   sh percpu/count_fastpath.sh ELF CONFIG_H LEVEL
#     (//percpu:hit_pair_budget_test) fails if LEVEL is 1, the default, and
#     the pair exceeds PERCPU_HIT_PAIR_BUDGET in CONFIG_H; at other levels
#     it prints the count and fails only if it cannot count.
#   sh percpu/count_fastpath.sh --build [N]
#     from the workspace root: builds //tools/bench/qemu:bench_kernel_run
#     at --define hardening=N (default 1) and counts it.
set -eu
if [ "${1:-}" = "--build" ]; then
	level=${2:-1}
	bazel build --define "hardening=$level" //tools/bench/qemu:bench_kernel_run >/dev/null 2>&1
	elf=$(ls -t bazel-out/*/bin/tools/bench/qemu/bench_kernel | head -1)
	exec sh "$0" "$elf" percpu/include/percpu/config.h "$level"
fi
elf=$1 config=$2 level=$3
budget=$(sed -n 's/^#define PERCPU_HIT_PAIR_BUDGET \([0-9][0-9]*\).*/\1/p' "$config")
[ -n "$budget" ] || { echo "no PERCPU_HIT_PAIR_BUDGET in $config"; exit 1; }
count() {
	riscv64-unknown-elf-objdump -d --no-show-raw-insn "$elf" | awk -v fn="<$1>:" '
		$2 == fn { on = 1; next }
		on && /^[0-9a-f]+ <[A-Za-z_.0-9]+>:$/ { exit }
		on && /^ +[0-9a-f]+:\t/ { n++; if ($2 == "ret") { print n; exit } }'
}
a=$(count kmalloc)
f=$(count kfree)
[ -n "$a" ] && [ -n "$f" ] || { echo "kmalloc or kfree not found in $elf"; exit 1; }
echo "hardening $level: kmalloc hit $a, kfree hit $f, pair $((a + f)) (budget $budget at level 1)"
if [ "$level" = 1 ] && [ $((a + f)) -gt "$budget" ]; then
	echo "FAIL: the hit pair is over budget"
	exit 1
fi
