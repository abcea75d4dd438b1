#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Builds global_alloc.rs with Debian's rustc (tools/install-deps) against
# libsmpheap_rust.so and runs it: a Rust #[global_allocator] over smp-heap.
# Usage: rust_global_alloc_test.sh LIBSMPHEAP_RUST_SO GLOBAL_ALLOC_RS
set -eu
so=$1
src=$2
if ! command -v rustc >/dev/null; then
	echo "rust_global_alloc_test: no rustc (tools/install-deps installs it)" >&2
	exit 1
fi
dir=$(cd "$(dirname "$so")" && pwd)
out=${TEST_TMPDIR:-$(mktemp -d)}/global_alloc
rustc --version
rustc --edition 2021 -O -o "$out" "$src" -L "$dir" -l dylib=smpheap_rust \
	-C link-arg=-Wl,-rpath,"$dir"
rc=0
"$out" > "$out.log" 2>&1 || rc=$?
cat "$out.log"
[ "$rc" -eq 0 ] && grep -q '^rust_global_alloc: PASS' "$out.log"
