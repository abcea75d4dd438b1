#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Real programs under LD_PRELOAD=libsmpheap_malloc.so: each must succeed with
# the same output as without it. Ends with "N passed, N failed".
set -uo pipefail

here="${TEST_SRCDIR:-$0.runfiles}/${TEST_WORKSPACE:-smp_heap}/tools/shim"
shim="$here/libsmpheap_malloc.so"
check="$here/shim_api_check"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
[[ -f "$shim" ]] || { echo "shim_test: no $shim"; exit 1; }
py=/usr/bin/python3
[[ -x "$py" ]] || py="$(command -v python3)"

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [[ -n "${2:-}" ]] && sed 's/^/    /' "$2" | tail -20; }

pre() { LD_PRELOAD="$shim" "$@"; }

# 1. the shim is really in use (its symbols resolve first)
if pre grep libsmpheap_malloc /proc/self/maps >"$tmp/sym" 2>&1; then
	ok "preload active"
else
	bad "preload active" "$tmp/sym"
fi

# 2. the C API contract, including fork, thread exit and the OOM hook
if SMPHEAP_REGION_MB=8 pre "$check" >"$tmp/api" 2>&1; then
	ok "api check (8 MiB regions: OOM hook claims more) $(tail -1 "$tmp/api")"
else
	bad "api check" "$tmp/api"
fi
if SMPHEAP_MODE=bypass pre "$check" >"$tmp/api2" 2>&1; then
	ok "api check, SMPHEAP_MODE=bypass"
else
	bad "api check, SMPHEAP_MODE=bypass" "$tmp/api2"
fi

# 3. sort a generated file (~200k lines), serial and parallel
awk 'BEGIN { srand(7); for (i = 0; i < 200000; i++) printf "%08d %s\n", int(rand() * 1e8), i }' >"$tmp/in"
LC_ALL=C sort "$tmp/in" >"$tmp/expect"
for par in 1 2; do
	if LC_ALL=C pre sort --parallel=$par -S 16M "$tmp/in" >"$tmp/got" 2>"$tmp/err" &&
		cmp -s "$tmp/got" "$tmp/expect"; then
		ok "sort --parallel=$par (200k lines)"
	else
		bad "sort --parallel=$par" "$tmp/err"
	fi
done

# 4. ls -la /usr/lib
if ls -la /usr/lib >"$tmp/ls_expect" 2>&1 && pre ls -la /usr/lib >"$tmp/ls_got" 2>&1 &&
	cmp -s "$tmp/ls_got" "$tmp/ls_expect"; then
	ok "ls -la /usr/lib"
else
	bad "ls -la /usr/lib" "$tmp/ls_got"
fi

# 5. gzip | gunzip round trip
if pre gzip -c "$tmp/in" | pre gunzip -c >"$tmp/gz" 2>"$tmp/err" && cmp -s "$tmp/gz" "$tmp/in"; then
	ok "gzip | gunzip"
else
	bad "gzip | gunzip" "$tmp/err"
fi

# 6. python3 with threads (threads start, allocate, exit; a dict shared)
cat >"$tmp/t.py" <<'EOF'
import threading, hashlib, json, subprocess, sys
out = {}
def work(i):
    d = {str(k): [k] * (k % 50) for k in range(20000)}
    s = json.dumps(d)
    out[i] = hashlib.sha256(s.encode()).hexdigest()
for rnd in range(3):
    ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
assert len(set(out.values())) == 1, out
# fork + exec from a threaded process
r = subprocess.run([sys.executable, "-c", "print(sum(range(10**6)))"],
                   capture_output=True, text=True, check=True)
print(list(out.values())[0][:16], r.stdout.strip())
EOF
if "$py" "$tmp/t.py" >"$tmp/py_expect" 2>&1 && pre "$py" "$tmp/t.py" >"$tmp/py_got" 2>&1 &&
	cmp -s "$tmp/py_got" "$tmp/py_expect"; then
	ok "python3 threads + subprocess"
else
	bad "python3 threads + subprocess" "$tmp/py_got"
fi

# 7. python3 big and aligned-ish allocations across small regions (OOM hook)
if SMPHEAP_REGION_MB=4 pre "$py" -c '
b = [bytearray(3 << 20) for _ in range(20)]
s = sum(len(x) for x in b); del b
print(s)' >"$tmp/big" 2>&1 && grep -q '^62914560$' "$tmp/big"; then
	ok "python3 60 MiB over 4 MiB regions"
else
	bad "python3 60 MiB over 4 MiB regions" "$tmp/big"
fi

# 8. cc -O2 compiles a generated file (400 functions) to the same object
# code as without the shim: a compiler's many small objects and reallocs (a
# realloc that damaged one small moved block in 5,000 made cc1 crash here)
awk 'BEGIN {
	print "struct s { int a; double b; char c[16]; };"
	print "static int f0(int x, struct s *p) { return x + p->a; }"
	for (i = 1; i < 400; i++)
		printf "static int f%d(int x, struct s *p) { int y = x * %d; for (int k = 0; k < %d; k++) y += p->a ^ (k << %d); if (y > %d) p->b += y * 0.5; else p->c[%d] = (char)y; return y + f%d(x - 1, p) * (x > 0); }\n", i, i % 97 + 1, i % 8 + 2, i % 6, i * 7 % 900 + 100, i % 16, i - 1
	printf "int entry(int x, struct s *p) { return f0(x, p)"
	for (i = 7; i < 400; i += 7)
		printf " + f%d(x, p)", i
	print "; }"
}' >"$tmp/gen.c"
if cc -O2 -c "$tmp/gen.c" -o "$tmp/gen_expect.o" 2>"$tmp/cc_err" &&
	pre cc -O2 -c "$tmp/gen.c" -o "$tmp/gen_got.o" 2>"$tmp/cc_err" &&
	cmp -s "$tmp/gen_got.o" "$tmp/gen_expect.o"; then
	ok "cc -O2 (400 generated functions, same object code)"
else
	bad "cc -O2 (400 generated functions)" "$tmp/cc_err"
fi

echo "shim_test: $pass passed, $fail failed"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
