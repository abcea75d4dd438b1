#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The build without Bazel, end to end: amalgamate.py makes smpheap.{c,h,mk}
# with --prefix smpheap_, plain make + riscv64-unknown-elf-gcc build the
# M-mode stress kernel from it (tools/amalgamate/example/Makefile, with an
# xv6-style kfree of its own next to the heap's), QEMU boots it with -bios
# none at 4 harts, and the stress must PASS with exit code 0. Then the same
# as a port without IPIs (-DPORT_MMODE_NO_IPI: kicks do nothing, the kernel
# calls percpu_poll from its tick and idle loop), which must pass too.
# Before that, without QEMU: the #line markers name existing files,
# smpheap.mk's tree list exists, and smpheap.c builds -Werror under gcc
# and clang, at -O2 and -O3, at every HEAP_HARDENING with no unprefixed
# global symbol.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$root/tools/amalgamate/amalgamate.py" ] || root=$PWD
tmp=${TEST_TMPDIR:-$(mktemp -d)}
gen=$tmp/gen out=$tmp/out compat=$tmp/compat
mkdir -p "$gen" "$out" "$out/noipi" "$compat/platform" "$compat/heap" "$compat/percpu"

# The symbol list comes from the cross compiler and this port: no host port needed.
CC=riscv64-unknown-elf-gcc NM=riscv64-unknown-elf-nm SMPHEAP_PORT_INCLUDE="$root/platform/riscv_mmode/include:$root/platform/riscv_common/include" \
	python3 "$root/tools/amalgamate/amalgamate.py" --root "$root" --out "$gen" --prefix smpheap_

# Diagnostics must name the original files: every #line marker's file
# exists in the tree (--prefix renames symbols, not paths such as
# heap/heap_validate.c, whose stem is also a function's name).
if grep -ho '^#line [0-9]* "[^"]*"' "$gen/smpheap.c" "$gen/smpheap.h" | sed 's/.*"\(.*\)"/\1/' | sort -u |
	while read -r f; do [ -f "$root/$f" ] || echo "$f"; done | grep .; then
	echo "amalgamation_test: FAIL: #line markers above name files that do not exist"; exit 1
fi

# smpheap.mk's list of the tree's sources, with SMPHEAP_ROOT set after the
# include (as SMPHEAP_PORT_CPPFLAGS may be): every file must exist.
printf 'include %s/smpheap.mk\nSMPHEAP_ROOT := %s\nlist:\n\t@echo $(SMPHEAP_TREE_SRCS)\n' "$gen" "$root" >"$tmp/list.mk"
for f in $(make -s -f "$tmp/list.mk" list); do
	[ -f "$f" ] || { echo "amalgamation_test: FAIL: smpheap.mk lists $f, which does not exist"; exit 1; }
done

# The unprefixed names must be gone from the library's symbols at every
# hardening level (some globals exist only at some: the heap's secret at 2
# and 3), and the amalgamation must build warning-free under gcc and clang
# (which warns about an unused static inline function of the main file:
# the inlined internal headers' helpers are in it now), at -O2 and at -O3
# (whose deeper inlining made gcc 12 warn of a struct "maybe
# uninitialized" in realloc and of a store through NULL in the pages).
for level in 0 1 2 3; do
	for cc in riscv64-unknown-elf-gcc "clang --target=riscv64-unknown-elf"; do
		for opt in -O2 -O3; do
			$cc -march=rv64gc -mabi=lp64d -mcmodel=medany -DPORT_MAX_HARTS=8 \
				-DHEAP_HARDENING=$level -std=gnu11 -ffreestanding $opt -Wall -Wextra -Werror \
				-I"$gen" -I"$root/platform/riscv_mmode/include" \
				-I"$root/platform/riscv_common/include" -c "$gen/smpheap.c" -o "$tmp/check.o"
			if riscv64-unknown-elf-nm -g --defined-only "$tmp/check.o" | awk '{print $3}' |
				grep -Ev '^(smpheap_|port_v?snprintf$)'; then
				echo "amalgamation_test: FAIL: global symbols above lack the prefix" \
					"(${cc%% *} $opt, HEAP_HARDENING=$level)"
				exit 1
			fi
		done
	done
done

# Code written against the tree's headers builds unchanged through these.
for h in platform/port.h platform/ticket_lock.h heap/kheap.h percpu/kmalloc.h percpu/pages.h; do
	echo '#include "smpheap_names.h"' >"$compat/$h"
done
# The test-only fault names (macros) and the M-mode port's splitmix64
# finaliser (static inline) define no symbols: the tree's own.
cp "$root/platform/include/platform/fault.h" "$compat/platform/fault.h"
cp "$root/platform/include/platform/mix64.h" "$compat/platform/mix64.h"

make -s -C "$root/tools/amalgamate/example" GEN="$gen" ROOT="$root" OUT="$out" COMPAT="$compat"
make -s -C "$root/tools/amalgamate/example" GEN="$gen" ROOT="$root" OUT="$out/noipi" \
	COMPAT="$compat" EXTRA=-DPORT_MMODE_NO_IPI
echo "amalgamation_test: built $out/kernel and $out/noipi/kernel without Bazel"

run() {
	local kernel=$1 kicks=$2
	"$root/tools/qemu/run_qemu.sh" --bios none --kernel "$kernel" --smp 4 --timeout 120 \
		--ops 20000 --expect-exit 0 \
		--expect "kicks $kicks" \
		--expect '^xv6 kalloc: 256 pages from [0-9]+ runs, all back \(runs left 0\)' \
		--expect 'boot: 4 harts up' \
		--expect-last '^mmode_smp: PASS harts=4 .*corrupt=0 leaked=0'
}
run "$out/kernel" "by IPI"
run "$out/noipi/kernel" "polled \(no IPI\)"
