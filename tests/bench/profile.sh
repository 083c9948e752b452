#!/bin/sh
# profile.sh - where the CPU of each phase goes: full push, push after a 1%
# change, full restore, client and server profiled separately with
# `perf record -e cpu-clock -g` (the VM has no hardware counters), each
# split into cipher, CRC/hashes, zip (minizip, deflate/inflate), user-space
# copies (memcpy), kernel and other.  Not part of make check.
#
#   tests/bench/profile.sh [WORKDIR]     (default /dev/shm/abprof: tmpfs,
#                                          so the disk does not count)
# Environment:
#   PROF_SMALL    small files (default 20000)
#   PROF_BIG_MB   size of each of the 4 big files (default 64)
#   PROF_PHASES   phases to run (default "full inc res")
#   PROF_FREQ     samples per second (default 2000)
#   PROF_KEEP     1: keep the perf.data files (WORKDIR/perf-PHASE-SIDE.data)
#   PROF_BIN      folder holding the autobackup and autobackupd to profile
#                 (default: this tree's), e.g. an older build to compare
# Kernel time is sampled only as root or with kernel.perf_event_paranoid
# at 1 or less; otherwise the kernel columns read 0.
# The dataset is the one of bench.sh (same generator, same seed); the 1%
# change is issue 12's: 1% of the small files overwritten in place (256
# bytes) and appended to, 0.5% deleted, 0.5% new, one 1 MiB region of every
# big file overwritten in place.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
AB=${PROF_BIN:-$top}/autobackup
ABD=${PROF_BIN:-$top}/autobackupd
for t in "$AB" "$ABD"; do [ -x "$t" ] || { echo "build first: $t missing" >&2; exit 1; }; done
WOLFSSL=$(readlink -f "$(ldd "$AB" | awk '/libwolfssl/ { print $3 }')")
command -v perf >/dev/null || { echo "perf missing (apt-get install linux-perf)" >&2; exit 1; }

W=${1:-/dev/shm/abprof}
SMALL=${PROF_SMALL:-20000}
BIG=${PROF_BIG_MB:-64}
PHASES=${PROF_PHASES:-full inc res}
FREQ=${PROF_FREQ:-2000}
mkdir -p "$W"
spid=""
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null; true; }
trap cleanup EXIT

if [ ! -d "$W/src.orig" ]; then
	mkdir -p "$W/src.new"
	python3 "$top/tests/bench/dataset.py" make "$W/src.new" "$SMALL" "$BIG"
	mv "$W/src.new" "$W/src.orig"
fi
MB=$(du -sm --apparent-size "$W/src.orig" | cut -f1)

change_1pct() { python3 "$top/tests/bench/dataset.py" change "$W/src" 1; }

# Categories by symbol, first match wins: cipher (ChaCha20, Poly1305),
# crc/hash (CRC-32, BLAKE2b, SHA-256), zip (minizip, deflate, inflate),
# memcpy (user space), kcopy (the kernel copying file or socket data and
# clearing pages), kernel (the rest of the kernel: syscalls, page cache,
# file creation, TCP), tls-other (wolfSSL outside the cipher), other.  wolfSSL's ChaCha and Poly1305
# block functions are static: an address without a symbol counts as the
# cipher when the next exported symbol after it is a ChaCha/Poly1305 one.
split() {
	perf report -i "$1" --no-children --sort dso,sym --stdio -g none \
	    --percent-limit 0 2>/dev/null | python3 -c '
import bisect, re, subprocess, sys
total = float(sys.argv[1])
syms = {}
def next_symbol(dso_path, addr):
    if dso_path not in syms:
        try:
            out = subprocess.run(["nm", "-D", "--defined-only", dso_path],
                                 capture_output=True, text=True).stdout
        except OSError:
            out = ""
        v = sorted((int(l.split()[0], 16), l.split()[2]) for l in out.splitlines()
                   if len(l.split()) == 3)
        syms[dso_path] = v
    v = syms[dso_path]
    i = bisect.bisect_right([a for a, _ in v], addr)
    return v[i][1] if i < len(v) else ""
cats = {}
for line in sys.stdin:
    f = line.split()
    if line.startswith("#") or len(f) < 4 or not f[0].endswith("%"):
        continue
    pct, dso, sym = float(f[0][:-1]), f[1], " ".join(f[3:])
    if re.match(r"0x[0-9a-f]+$", sym) and "wolfssl" in dso:
        sym = sym + " before " + next_symbol(sys.argv[2], int(sym, 16))
    if re.search(r"chacha|poly1305", sym, re.I):
        c = "cipher"
    elif re.search(r"crc32|blake2|sha256|transform_sha|xxh|sha512", sym, re.I):
        c = "crc/hash"
    elif re.search(r"mem(cpy|move)|copy_user|copy_page|copy_folio|_copy_to_iter|_copy_from_iter|rep_movs", sym):
        c = "kcopy" if "kernel" in dso else "memcpy"
    elif "kernel" in dso and re.search(r"clear_page", sym):
        c = "kcopy"
    elif re.search(r"minizip|libz\.so", dso) or re.match(r"(zip|unz)[A-Z]|deflate|inflate|longest_match|adler32", sym):
        c = "zip"
    elif "kernel" in dso:
        c = "kernel"
    elif "wolfssl" in dso:
        c = "tls-other"
    else:
        c = "other"
    cats[c] = cats.get(c, 0) + pct
order = "cipher crc/hash zip memcpy kcopy kernel tls-other other".split()
print("%6.2f" % total + "".join(" %6.2f" % (cats.get(c, 0) * total / 100) for c in order))
' "$2" "$WOLFSSL"
}
# CPU-seconds of a perf.data file (cpu-clock counts nanoseconds)
cpu_seconds() {
	perf report -i "$1" --stdio --sort dso 2>/dev/null |
	    awk '/Event count/ { printf "%.3f", $NF / 1e9; exit }'
}

rm -rf "$W/data" "$W/restore" "$W/src" "$W/port"
cp -a "$W/src.orig" "$W/src"
"$ABD" init --data "$W/data" >/dev/null
printf 'profile password\n' >"$W/pw"
"$ABD" user add prof --data "$W/data" --password-file "$W/pw" >/dev/null
"$ABD" token add prof prof --data "$W/data" 2>/dev/null | tail -1 >"$W/token"
"$ABD" serve --data "$W/data" --listen 127.0.0.1:0 --port-file "$W/port" --no-console \
	>"$W/server.log" 2>&1 </dev/null &
spid=$!
while [ ! -s "$W/port" ]; do sleep 0.1; done
port=$(cat "$W/port")

# profile PHASE CLIENT-ARGS...: client and server recorded separately.
profile() {
	phase=$1; shift
	sync
	perf record -q -e cpu-clock -F "$FREQ" -g -p "$spid" -o "$W/perf-$phase-server.data" \
		>/dev/null 2>&1 &
	ppid_srv=$!
	sleep 1
	perf record -q -e cpu-clock -F "$FREQ" -g -o "$W/perf-$phase-client.data" -- \
		"$AB" --batch --server "127.0.0.1:$port" --ca "$W/data/certs/ca.pem" \
		--user prof --token-file "$W/token" --config /dev/null -q "$@" >/dev/null
	sleep 0.5
	kill -INT "$ppid_srv"; wait "$ppid_srv" 2>/dev/null || true
	tot=0
	for side in client server; do
		f=$W/perf-$phase-$side.data
		s=$(cpu_seconds "$f")
		printf '%-5s %-6s %s\n' "$phase" "$side" "$(split "$f" "$s")"
		tot=$(awk -v a="$tot" -v b="$s" 'BEGIN { print a + b }')
	done
	awk -v t="$tot" -v mb="$MB" -v p="$phase" \
	    'BEGIN { printf "%-5s both   %6.2f CPU-s, %.2f CPU-s per GB of the dataset\n", p, t, t * 1024 / mb }'
}

printf '# %s MB: %s small files + 4 x %s MB; CPU-seconds\n' "$MB" "$SMALL" "$BIG"
printf '%-5s %-6s %6s %6s %6s %6s %6s %6s %6s %6s %6s\n' phase side total cipher crc/h \
	zip memcpy kcopy kernel tls-o other
for p in $PHASES; do
	case $p in
	full) profile full push "$W/src" ;;
	inc) change_1pct; profile inc push "$W/src" ;;
	res) profile res restore src --to "$W/restore" ;;
	*) echo "unknown phase $p" >&2; exit 2 ;;
	esac
done
[ "${PROF_KEEP:-0}" = 1 ] || rm -f "$W"/perf-*.data
