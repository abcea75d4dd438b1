#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# PORTING.md section 10's worked example, as written there, must build: its
# three C blocks (the port header, the out-of-line port functions, the
# initialisation and use in main) are compiled with riscv64-unknown-elf-gcc
# -Wall -Wextra -Werror against an amalgamation made with --prefix smpheap_
# and against headers shaped like xv6-riscv's (xv6_stub/: no include
# guards, riscv.h wanting types.h first, defs.h's own declarations), then
# linked with the library and stand-ins for the rest of xv6, so a port
# function the example leaves out shows up as an undefined symbol.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$root/tools/amalgamate/amalgamate.py" ] || root=$PWD
tmp=${TEST_TMPDIR:-$(mktemp -d)}
gen=$tmp/gen ex=$tmp/xv6
mkdir -p "$gen" "$ex/port/platform"
stub=$root/tools/amalgamate/xv6_stub

CC=riscv64-unknown-elf-gcc NM=riscv64-unknown-elf-nm \
	SMPHEAP_PORT_INCLUDE="$root/platform/riscv_mmode/include:$root/platform/riscv_common/include" \
	python3 "$root/tools/amalgamate/amalgamate.py" --root "$root" --out "$gen" --prefix smpheap_ >/dev/null

# The C blocks of section 10, in order.
python3 - "$root/PORTING.md" "$ex" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
sec = text[text.index("## 10."):]
sec = sec[:sec.index("\n## ", 1)]
blocks = re.findall(r"```c\n(.*?)```", sec, re.S)
assert len(blocks) == 3, "section 10 should have three C blocks, has %d" % len(blocks)
out = sys.argv[2]
open(out + "/port/platform/port_impl.h", "w").write(blocks[0])
open(out + "/heapport.c", "w").write(blocks[1])
# The third is the body of xv6's main() (its includes), plus a pipe.c-like
# struct pipe for the "anywhere" lines.
open(out + "/main.c", "w").write(
    '#include "types.h"\n#include "param.h"\n#include "memlayout.h"\n#include "riscv.h"\n'
    '#include "defs.h"\n#include "smpheap.h"\n\nstruct pipe { int nread, nwrite; };\n'
    "static volatile int started;\nvoid heap_main(void);\n\nvoid heap_main(void)\n{\n"
    + blocks[2] + "\n(void)started;\n}\n")
PY

# The rest of xv6, as far as the example and the library call it.
cat >"$ex/xv6_rest.c" <<'C'
#include "types.h"
#include "param.h"
#include "spinlock.h"
#include "proc.h"
#include "defs.h"
struct cpu cpus[NCPU];
char end[1];
int cpuid(void) { int id; __asm__ volatile("mv %0, tp" : "=r"(id)); return id; }
struct cpu *mycpu(void) { return &cpus[cpuid()]; }
void push_off(void) { mycpu()->noff++; }
void pop_off(void) { mycpu()->noff--; }
void printf(char *fmt, ...) { (void)fmt; }
void panic(char *s) { (void)s; for (;;) ; }
void kinit(void) { }
void *kalloc(void) { return 0; }
void kfree(void *pa) { (void)pa; }
void *memset(void *d, int c, uint64 n) { char *p = d; while (n--) *p++ = (char)c; return d; }
void *memmove(void *d, const void *s, uint64 n) { char *p = d; const char *q = s; if (p < q) while (n--) *p++ = *q++; else while (n--) p[n] = q[n]; return d; }
void *memcpy(void *d, const void *s, uint64 n) { return memmove(d, s, n); }
void heap_main(void);
void _start(void) { heap_main(); for (;;) ; }
C

flags=(-march=rv64gc -mabi=lp64d -mcmodel=medany -ffreestanding -fno-builtin -std=gnu11 -O2
	-Wall -Wextra -Werror -DPORT_MAX_HARTS=8 -I"$gen" -I"$ex/port" -I"$stub")
for f in heapport main xv6_rest; do
	riscv64-unknown-elf-gcc "${flags[@]}" -c "$ex/$f.c" -o "$ex/$f.o"
done
riscv64-unknown-elf-gcc "${flags[@]}" -c "$gen/smpheap.c" -o "$ex/smpheap.o"
riscv64-unknown-elf-gcc -march=rv64gc -mabi=lp64d -mcmodel=medany -nostdlib -static \
	-Wl,-Ttext=0x80000000 -o "$ex/kernel" "$ex"/*.o -lgcc
echo "porting_example_test: PORTING.md section 10 builds and links"
