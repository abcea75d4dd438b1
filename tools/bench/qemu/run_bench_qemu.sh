#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Entry point of //tools/bench/qemu:qemu (and of bench_kernel_test): finds the
# runfiles tree, where the qemu_run script and its kernel live, and starts the
# driver there. Options: see bench_qemu.py --help.
set -eu
here=$(pwd)
if [ -f tools/bench/qemu/bench_qemu.py ]; then
	:  # already in the runfiles tree (bazel run, bazel test)
elif [ -d "${RUNFILES_DIR:-$0.runfiles}/smp_heap" ]; then
	cd "${RUNFILES_DIR:-$0.runfiles}/smp_heap"
fi
# Relative --out paths mean the caller's directory (or the workspace).
export BENCH_QEMU_CALLER_DIR=${BUILD_WORKSPACE_DIRECTORY:-$here}
# The system python3 has python3-matplotlib; a pyenv shim first in PATH may not.
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
exec "$py" tools/bench/qemu/bench_qemu.py "$@"
