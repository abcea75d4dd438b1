#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Boots a kernel ELF on QEMU virt under OpenSBI and reports how it ended.
#
#   run_qemu.sh --kernel ELF [--smp N] [--max-smp N] [--timeout S]
#               [--timeout-per-hart S] [--silence S] [--icount] [--log FILE]
#               [--bios opensbi|none] [--mem SIZE]
#               [--expect-exit N] [--expect REGEX]... [--expect-last REGEX]
#               [--KEY VALUE]...
#
# --bios none boots without firmware: every hart starts in M-mode at
# 0x80000000 (the M-mode port, platform/riscv_mmode). The default boots the
# S-mode kernel under OpenSBI.
#
# --mem sets QEMU's RAM (-m: 256M, or 1G above 32 harts, by default);
# a test gives less to see a kernel refuse RAM that does not hold it.
#
# --smp above what the firmware boots (OpenSBI 1.1: 128 harts; QEMU virt
# alone: 512) or above --max-smp (the kernel's own limit, PORT_MAX_HARTS) is
# refused with exit code 2 before QEMU starts: past it the harts beyond the
# limit would sit parked while the kernel reported a pass for fewer.
#
# Unknown `--KEY VALUE` pairs become kernel bootargs `KEY=VALUE` (for example
# `--ops 100000 --seed 7`; a key given twice takes its last value, in the
# kernel as here). Any option may also be written `--KEY=VALUE`. Without
# expectations the script exits with QEMU's exit code (the kernel's,
# through the sifive_test device); a hung kernel is
# killed by the watchdog and reported with exit code 6 (--timeout seconds, or
# --timeout-per-hart x the hart count if that is more, for runs whose time
# grows with --smp; a --timeout given after it wins), or by the silence
# watchdog (--silence S: no console output for S seconds; 0, the default,
# is off), which lets a long run that keeps reporting progress go on while
# a hang still ends soon. Before either watchdog kills QEMU, it asks QEMU's
# monitor where every hart is: one `run_qemu: cpu N: pc ... FUNCTION <- ra
# ... FUNCTION` line per hart (symbols from the kernel ELF), then how many
# harts are in each function. With --expect-* the
# script is a test: it exits 0 only if every expectation holds; --expect-last
# matches the kernel's last console line.
set -u

kernel="" smp=4 max_smp=0 mem= timeout_s=300 per_hart_s=0 silence_s=0 icount=0 log="" bootargs="" firmware=opensbi
expect_exit="" expect_last=""
expects=()
while [ $# -gt 0 ]; do
	# --KEY=VALUE is --KEY VALUE: --smp=8 set the bootarg smp=8 and ran the
	# default 4 harts, --timeout=60 left the watchdog as it was.
	case "$1" in
	--*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
	esac
	# Every option but these takes a value: one given none is refused here,
	# not left to `set -u`, whose exit 1 would read as the kernel's FAIL.
	case "$1" in
	--icount|--help|-h) ;;
	--*) [ $# -ge 2 ] || { echo "run_qemu: $1 needs a value" >&2; exit 2; } ;;
	esac
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--max-smp) max_smp=$2; shift 2 ;;
	--timeout) timeout_s=$2; per_hart_s=0; shift 2 ;;
	--timeout-per-hart) per_hart_s=$2; shift 2 ;;
	--silence) silence_s=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--log) log=$2; shift 2 ;;
	--bios) firmware=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--expect-exit) expect_exit=$2; shift 2 ;;
	--expect) expects+=("$2"); shift 2 ;;
	--expect-last) expect_last=$2; shift 2 ;;
	--help|-h) sed -n '3,/^set -u$/{/^set -u$/!p}' "$0"; exit 0 ;;
	--*)
		# The kernel splits its bootargs at blanks: --ops '1 000' ran
		# ops=1, --ops '2000 fill=90' set fill as well.
		case "$1$2" in *[[:space:]]*)
			echo "run_qemu: $1 '$2': a bootarg holds no blank (the kernel would read more than one)" >&2
			exit 2 ;;
		esac
		bootargs="$bootargs ${1#--}=$2"; shift 2 ;;
	*) echo "run_qemu: unexpected argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[ -n "$kernel" ] && [ -f "$kernel" ] || { echo "run_qemu: no kernel ELF '$kernel'" >&2; exit 2; }
case "$smp" in ''|*[!0-9]*) echo "run_qemu: --smp wants a number" >&2; exit 2 ;; esac
case "$max_smp" in ''|*[!0-9]*) echo "run_qemu: --max-smp wants a number" >&2; exit 2 ;; esac
# Seconds, whole: sleep and $(( )) below take nothing else (an empty one
# would leave no watchdog at all).
case "$timeout_s" in ''|*[!0-9]*) echo "run_qemu: --timeout wants a number" >&2; exit 2 ;; esac
case "$per_hart_s" in ''|*[!0-9]*) echo "run_qemu: --timeout-per-hart wants a number" >&2; exit 2 ;; esac
# Decimal, as for --smp below: 08 is 8 to $(( )), not a bad octal number.
timeout_s=$((10#$timeout_s)) per_hart_s=$((10#$per_hart_s))
case "$firmware" in
opensbi) limit=128 why="OpenSBI 1.1 boots at most 128 harts" ;;
*) limit=512 why="QEMU virt has at most 512 harts" ;;
esac
if [ "$max_smp" -gt 0 ] && [ "$max_smp" -lt "$limit" ]; then
	limit=$max_smp why="the kernel's PORT_MAX_HARTS is $max_smp"
fi
# Without leading zeros (008 is 8, not a bad octal number to $(( ))); four
# digits or more are past every limit, and past what [ ] can compare.
smp=${smp#"${smp%%[!0]*}"} smp=${smp:-0}
if [ "${#smp}" -gt 3 ] || [ "$smp" -lt 1 ] || [ "$smp" -gt "$limit" ]; then
	echo "run_qemu: --smp $smp: wants 1..$limit ($why)" >&2
	exit 2
fi
case "$silence_s" in ''|*[!0-9]*) echo "run_qemu: --silence wants a number" >&2; exit 2 ;; esac
# Checked here: QEMU's own refusal of a bad -m exits 1, which reads as a FAIL.
mem_digits=${mem%[KMG]}
case "$mem_digits" in ''|*[!0-9]*)
	[ -z "$mem" ] || { echo "run_qemu: --mem $mem: wants a size such as 256M or 1G" >&2; exit 2; } ;;
esac
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
# sleep=off: when every hart waits in wfi, the virtual clock jumps to the
# next timer at once instead of following the host's clock while QEMU
# sleeps, so those waits count the same in every run whatever the host's
# load (with sleep=on, three 4-hart runs of bench_qemu's hit pair gave 42.3,
# 52.3 and 42.5 instructions per pair; with sleep=off 42.6 three times).
if [ "$icount" = 1 ]; then
	accel=(-icount shift=0,sleep=off)
else
	accel=(-accel tcg,thread=multi)
fi
if [ -z "$mem" ]; then
	mem=256M
	[ "$smp" -gt 32 ] && mem=1G
fi

# -name makes this QEMU findable by the watchdogs, and by them only. The
# monitor socket (a short path: sun_path holds 108 bytes) lets them ask
# where the harts are before they kill it.
name="run_qemu-$$-$RANDOM"
monitor=$(mktemp -u /tmp/run_qemu.XXXXXX.mon)
cmd=("$qemu" -name "$name" -machine virt -cpu rv64 -smp "$smp" -m "$mem" -nographic
	-bios "$bios" -kernel "$kernel" -append "$bootargs" "${accel[@]}"
	-monitor "unix:$monitor,server,nowait")
echo "run_qemu: ${cmd[*]}"
echo "run_qemu: console log: $log"
start=$(date +%s.%N)
silent="$log.silent" timedout="$log.timedout" harts="$log.harts"
rm -f "$silent" "$timedout" "$harts"
: >"$log"

# Where every hart is, from the monitor's `info registers -a`: pc and ra,
# named from the kernel's symbols; then the harts per function.
dump_harts() {
	python3 - "$monitor" "$kernel" <<'PY' >"$harts" 2>&1 || true
import re, socket, subprocess, sys, time
mon, elf = sys.argv[1:3]
# QEMU may exit mid-dump (the kernel ended, or the last-resort timeout).
sys.excepthook = lambda kind, err, tb: print("run_qemu: hart dump cut short: %s: %s" % (
    kind.__name__, err))
s = socket.socket(socket.AF_UNIX)
s.settimeout(1)
s.connect(mon)

def ask(cmd):
    """The monitor's answer to cmd (None: its greeting), up to the next prompt."""
    if cmd is not None:
        s.sendall(cmd.encode() + b"\n")
    text, deadline = b"", time.time() + 20
    while time.time() < deadline and not text.endswith(b"(qemu) "):
        try:
            chunk = s.recv(1 << 16)
        except socket.timeout:
            continue
        if not chunk:
            break
        text += chunk
    return text.decode(errors="replace")

ask(None)
cpus = re.findall(r"CPU#(\d+)\s.*?\bpc\s+([0-9a-f]+).*?x1/ra\s+([0-9a-f]+)\s.*?x2/sp\s+([0-9a-f]+)",
                  ask("info registers -a"), re.S)

def symbols(addrs):
    if not addrs:
        return []
    out = subprocess.run(["riscv64-unknown-elf-addr2line", "-f", "-e", elf] +
                         ["0x%x" % a for a in addrs], capture_output=True, text=True).stdout
    return out.split("\n")[0:2 * len(addrs):2]

# Only code symbols name callers: a stack also holds data addresses.
nm = subprocess.run(["riscv64-unknown-elf-nm", elf], capture_output=True, text=True).stdout
code = {f[2] for f in (l.split() for l in nm.splitlines()) if len(f) == 3 and f[1] in "tTwW"}
count = {}
for cpu, pc, ra, sp in cpus:
    # Code addresses among the top 48 stack words: the callers, roughly
    # (the kernel runs with paging off, so sp is a physical address).
    words = re.findall(r":\s+((?:0x[0-9a-f]+\s*)+)", ask("xp /48gx 0x" + sp))
    stack = [int(w, 16) for line in words for w in line.split()]
    pc, ra = int(pc, 16), int(ra, 16)
    names = symbols([pc, ra] + stack)
    callers = []
    for n in names[2:]:
        if n in code and (not callers or callers[-1] != n) and n != names[0]:
            callers.append(n)
    print("run_qemu: cpu %s: pc 0x%x %s <- ra 0x%x %s; on its stack: %s" % (
        cpu, pc, names[0], ra, names[1], " < ".join(callers[:8]) or "-"))
    count[names[0]] = count.get(names[0], 0) + 1
print("run_qemu: %d harts by function: %s" % (len(cpus), ", ".join(
    "%d in %s" % (n, f) for f, n in sorted(count.items(), key=lambda kv: -kv[1]))))
PY
}
# Asks where the harts are, marks why QEMU is being killed, kills it. The
# mark comes after the dump: a kernel that ends by itself during the dump
# (it takes a second or more) keeps its own exit code, where a mark made
# first reported it killed (exit 6). TERM is ignored from the mark on: the
# runner, seeing QEMU gone, stops this watchdog, and must find the mark
# only if QEMU was there to kill (pkill found it).
kill_qemu() {
	dump_harts
	trap '' TERM
	: >"$1"
	pkill -TERM -f -- "-name $name " || rm -f "$1"
}
# A watchdog's sleep, in the background so that the TERM the runner sends
# when QEMU is done ends it at once and quietly (a killed foreground sleep
# makes bash print "Terminated" on the console).
nap() {
	sleep "$1" &
	napping=$!
	wait "$napping"
}
stop_quietly() { trap 'kill "$napping" 2>/dev/null; exit 0' TERM; }
# The silence watchdog: once a second, has the console log grown?
watch_silence() {
	local last=-1 quiet=0 size
	stop_quietly
	while nap 1; do
		size=$(stat -c %s "$log" 2>/dev/null || echo 0)
		if [ "$size" = "$last" ]; then quiet=$((quiet + 1)); else quiet=0 last=$size; fi
		if [ "$quiet" -ge "$silence_s" ]; then
			kill_qemu "$silent"
			return
		fi
	done
}
watchers=()
if [ "$silence_s" -gt 0 ]; then
	watch_silence &
	watchers+=($!)
fi
(stop_quietly && nap "$timeout_s" && kill_qemu "$timedout") &
watchers+=($!)
# The console goes to the terminal and the log; stdin is closed so QEMU's
# monitor never waits for input. `timeout` is the last resort, should the
# monitor not answer.
timeout --foreground -k 5 $((timeout_s + 60)) "${cmd[@]}" </dev/null 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
for w in "${watchers[@]}"; do
	kill "$w" 2>/dev/null # stop_quietly: it takes its sleep with it
	wait "$w" 2>/dev/null
done
rm -f "$monitor"
end=$(date +%s.%N)
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
# The kernel's last line, before the runner adds its own below.
last=$(tr -d '\r' <"$log" | grep -v '^[[:space:]]*$' | tail -n 1)
# The runner's verdict goes to the log as well, so expectations can match it.
say() { echo "run_qemu: $*" | tee -a "$log"; }
# The hart dump only with a kill: a kernel that ended by itself is no hang.
if [ -e "$silent" ] || [ -e "$timedout" ]; then
	[ -s "$harts" ] && tee -a "$log" <"$harts"
fi
rm -f "$harts"
if [ -e "$silent" ]; then
	say "WATCHDOG: no console output for ${silence_s}s, killed"
	rc=6
elif [ -e "$timedout" ] || [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	say "WATCHDOG: kernel still running after ${timeout_s}s, killed"
	rc=6
fi
rm -f "$silent" "$timedout"
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
