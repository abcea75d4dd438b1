#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Counts the RV64 instructions of the kmalloc and kfree hit paths: from each
# function's entry to its first `ret` (the hit path is the fall-through
# layout, thanks to likely()), in the riscv build of //percpu:percpu.
# Run from the workspace root:  [PERCPU_HARDEN=N] sh percpu/count_fastpath.sh [max_total]
# PERCPU_HARDEN=N builds at that level (<percpu/config.h>; unset: the
# default, 1). Fails if the pair exceeds max_total (default 48, level 1's).
set -eu
max=${1:-48}
bazel build --config=riscv ${PERCPU_HARDEN:+--copt=-DPERCPU_HARDEN=$PERCPU_HARDEN} //percpu:percpu >/dev/null 2>&1
obj=bazel-bin/percpu/_objs/percpu/kmalloc.o
count() {
	riscv64-unknown-elf-objdump -d --no-show-raw-insn "$obj" | awk -v fn="<$1>:" '
		$2 == fn { on = 1; next }
		on && /^[0-9a-f]+ <[a-z_]+>:$/ { exit }
		on && /^ +[0-9a-f]+:\t/ { n++; if ($2 == "ret") { print n; exit } }'
}
a=$(count kmalloc)
f=$(count kfree)
echo "kmalloc hit: $a, kfree hit: $f, pair: $((a + f)) (max $max)"
[ $((a + f)) -le "$max" ]
