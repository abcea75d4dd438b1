#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Boots a kernel ELF on QEMU virt under OpenSBI and reports how it ended.
#
#   run_qemu.sh --kernel ELF [--smp N] [--timeout S] [--timeout-per-hart S]
#               [--silence S] [--icount] [--log FILE] [--bios opensbi|none]
#               [--expect-exit N] [--expect REGEX]... [--expect-last REGEX]
#               [--KEY VALUE]...
#
# --bios none boots without firmware: every hart starts in M-mode at
# 0x80000000 (the M-mode port, platform/riscv_mmode). The default boots the
# S-mode kernel under OpenSBI.
#
# Unknown `--KEY VALUE` pairs become kernel bootargs `KEY=VALUE` (for example
# `--ops 100000 --seed 7`). Without expectations the script exits with QEMU's
# exit code (the kernel's, through the sifive_test device); a hung kernel is
# killed by the watchdog and reported with exit code 6 (--timeout seconds, or
# --timeout-per-hart x the hart count if that is more, for runs whose time
# grows with --smp; a --timeout given after it wins), or by the silence
# watchdog (--silence S: no console output for S seconds; 0, the default,
# is off), which lets a long run that keeps reporting progress go on while
# a hang still ends soon. With --expect-* the
# script is a test: it exits 0 only if every expectation holds; --expect-last
# matches the kernel's last console line.
set -u

kernel="" smp=4 timeout_s=300 per_hart_s=0 silence_s=0 icount=0 log="" bootargs="" firmware=opensbi
expect_exit="" expect_last=""
expects=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--timeout) timeout_s=$2; per_hart_s=0; shift 2 ;;
	--timeout-per-hart) per_hart_s=$2; shift 2 ;;
	--silence) silence_s=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--log) log=$2; shift 2 ;;
	--bios) firmware=$2; shift 2 ;;
	--expect-exit) expect_exit=$2; shift 2 ;;
	--expect) expects+=("$2"); shift 2 ;;
	--expect-last) expect_last=$2; shift 2 ;;
	--help|-h) sed -n '3,24p' "$0"; exit 0 ;;
	--*=*) kv=${1#--}; bootargs="$bootargs $kv"; shift ;;
	--*)
		[ $# -ge 2 ] || { echo "run_qemu: $1 needs a value" >&2; exit 2; }
		bootargs="$bootargs ${1#--}=$2"; shift 2 ;;
	*) echo "run_qemu: unexpected argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[ -n "$kernel" ] && [ -f "$kernel" ] || { echo "run_qemu: no kernel ELF '$kernel'" >&2; exit 2; }
case "$smp" in ''|*[!0-9]*) echo "run_qemu: --smp wants a number" >&2; exit 2 ;; esac
case "$silence_s" in ''|*[!0-9]*) echo "run_qemu: --silence wants a number" >&2; exit 2 ;; esac
bootargs="smp=$smp$bootargs"
[ $((per_hart_s * smp)) -gt "$timeout_s" ] && timeout_s=$((per_hart_s * smp))

qemu=$(command -v qemu-system-riscv64) || {
	echo "run_qemu: qemu-system-riscv64 not found; run tools/install-deps" >&2; exit 2; }

# Debian's opensbi package; else the firmware QEMU ships.
bios=default
case "$firmware" in
opensbi)
	for f in /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin \
		 /usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin; do
		[ -f "$f" ] && { bios=$f; break; }
	done ;;
none) bios=none ;;
*) echo "run_qemu: --bios wants opensbi or none" >&2; exit 2 ;;
esac

if [ -z "$log" ]; then
	dir=${TEST_UNDECLARED_OUTPUTS_DIR:-${TMPDIR:-/tmp}}
	log="$dir/$(basename "$kernel")-smp$smp.log"
fi

# Without icount the harts run as parallel host threads (MTTCG): real
# concurrency. With -icount shift=0 they run in turn and rdinstret is exact.
if [ "$icount" = 1 ]; then
	accel=(-icount shift=0)
else
	accel=(-accel tcg,thread=multi)
fi
mem=256M
[ "$smp" -gt 32 ] && mem=1G

# -name makes this QEMU findable by the silence watchdog, and by it only.
name="run_qemu-$$-$RANDOM"
cmd=("$qemu" -name "$name" -machine virt -cpu rv64 -smp "$smp" -m "$mem" -nographic
	-bios "$bios" -kernel "$kernel" -append "$bootargs" "${accel[@]}")
echo "run_qemu: ${cmd[*]}"
echo "run_qemu: console log: $log"
start=$(date +%s.%N)
silent="$log.silent"
rm -f "$silent"
: >"$log"
# The silence watchdog: once a second, has the console log grown?
watch_silence() {
	local last=-1 quiet=0 size
	while sleep 1; do
		size=$(stat -c %s "$log" 2>/dev/null || echo 0)
		if [ "$size" = "$last" ]; then quiet=$((quiet + 1)); else quiet=0 last=$size; fi
		if [ "$quiet" -ge "$silence_s" ]; then
			: >"$silent"
			pkill -TERM -f -- "-name $name " || true
			return
		fi
	done
}
watcher=""
if [ "$silence_s" -gt 0 ]; then
	watch_silence &
	watcher=$!
fi
# The console goes to the terminal and the log; stdin is closed so QEMU's
# monitor never waits for input.
timeout --foreground -k 5 "$timeout_s" "${cmd[@]}" </dev/null 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
[ -n "$watcher" ] && { kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null; }
end=$(date +%s.%N)
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
# The kernel's last line, before the runner adds its own below.
last=$(tr -d '\r' <"$log" | grep -v '^[[:space:]]*$' | tail -n 1)
# The runner's verdict goes to the log as well, so expectations can match it.
say() { echo "run_qemu: $*" | tee -a "$log"; }
if [ -e "$silent" ]; then
	rm -f "$silent"
	say "WATCHDOG: no console output for ${silence_s}s, killed"
	rc=6
elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	say "WATCHDOG: kernel still running after ${timeout_s}s, killed"
	rc=6
fi
say "exit=$rc wall=${wall}s smp=$smp"

[ -n "$expect_exit$expect_last" ] || [ ${#expects[@]} -gt 0 ] || exit "$rc"

fail=0
if [ -n "$expect_exit" ] && [ "$rc" != "$expect_exit" ]; then
	echo "run_qemu: FAIL: exit code $rc, expected $expect_exit"; fail=1
fi
for re in "${expects[@]}"; do
	grep -Eq -- "$re" "$log" || { echo "run_qemu: FAIL: console lacks /$re/"; fail=1; }
done
if [ -n "$expect_last" ]; then
	echo "$last" | grep -Eq -- "$expect_last" ||
		{ echo "run_qemu: FAIL: last line '$last' does not match /$expect_last/"; fail=1; }
fi
[ "$fail" = 0 ] && echo "run_qemu: all expectations met"
exit "$fail"
