#!/bin/sh
# bench.sh - autobackup against rsync (daemon on 127.0.0.1) on the same data:
# full push, push after a 1% change, full restore.  Prints seconds, MB/s,
# peak RSS of client and server, and our/rsync ratios.  Not part of make check.
#
#   tests/bench/bench.sh [WORKDIR]        (WORKDIR on the disk to measure;
#                                           default a new folder under /tmp)
# Environment: BENCH_SMALL (files, default 20000), BENCH_BIG_MB (default 80).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
AB=$top/autobackup
ABD=$top/autobackupd
for t in "$AB" "$ABD"; do [ -x "$t" ] || { echo "build first: $t missing" >&2; exit 1; }; done
command -v rsync >/dev/null || { echo "rsync missing (apt-get install rsync)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time missing (apt-get install time)" >&2; exit 1; }

W=${1:-$(mktemp -d /tmp/abbench.XXXXXX)}
mkdir -p "$W"
SMALL=${BENCH_SMALL:-20000}
BIG=${BENCH_BIG_MB:-80}
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT

echo "# dataset: $SMALL small files + 4 x ${BIG} MB (2 compressible, 2 random) in $W/src"
if [ ! -d "$W/src" ]; then
	mkdir -p "$W/src/small"
	python3 - "$W/src/small" "$SMALL" <<'PY'
import os, sys, random
root, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
words = [b"alpha", b"beta", b"gamma", b"delta", b"backup", b"server", b"file", b"data"]
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 200))
    os.makedirs(d, exist_ok=True)
    size = random.randint(200, 40000)
    if i % 3 == 0:
        data = os.urandom(size)
    else:
        data = b" ".join(random.choice(words) for _ in range(size // 5))[:size]
    with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
        f.write(data)
PY
	head -c $((BIG * 1048576)) /dev/urandom >"$W/src/random1.bin"
	head -c $((BIG * 1048576)) /dev/urandom >"$W/src/random2.bin"
	yes "compressible log line $(date) autobackup benchmark" | head -c $((BIG * 1048576)) >"$W/src/log1.txt"
	seq 1 100000000 | head -c $((BIG * 1048576)) >"$W/src/numbers.txt"
fi
MB=$(du -sm "$W/src" | cut -f1)
echo "# total ${MB} MB; machine: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"

change_1pct() {
	# rewrite every 100th small file and append to one big file
	find "$W/src/small" -name 'f*00.txt' | while read -r f; do head -c 3000 /dev/urandom >"$f"; done
	head -c 1048576 /dev/urandom >>"$W/src/log1.txt"
}

# ---- autobackup --------------------------------------------------------------
rm -rf "$W/abdata" "$W/abrestore" "$W/port"
"$ABD" init --data "$W/abdata" >/dev/null
printf 'bench\n' >"$W/pw"
"$ABD" user add bench --data "$W/abdata" --password-file "$W/pw" >/dev/null
"$ABD" serve --data "$W/abdata" --listen 127.0.0.1:0 --port-file "$W/port" --no-console \
	>"$W/server.log" 2>&1 </dev/null &
spid=$!; pids="$pids $spid"
while [ ! -s "$W/port" ]; do sleep 0.1; done
PORT=$(cat "$W/port")
# Every phase starts with a sync: the server's syncfs before publishing would
# otherwise also pay for flushing the dataset copy made just before.
ab() { sync; /usr/bin/time -f "%e %M" -o "$W/time" "$AB" --batch --server 127.0.0.1:$PORT \
	--ca "$W/abdata/certs/ca.pem" --user bench --password-file "$W/pw" --config /dev/null -q "$@"; }
measure() { cat "$W/time" | tail -1; }

# keep a pristine copy: the 1% change is applied to src, rsync starts again from it
[ -d "$W/src.orig" ] || cp -a "$W/src" "$W/src.orig"
rm -rf "$W/src" && cp -a "$W/src.orig" "$W/src"
ab push "$W/src"; set -- $(measure); ab_full=$1; ab_full_rss=$2
change_1pct
ab push "$W/src"; set -- $(measure); ab_inc=$1; ab_inc_rss=$2
sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
ab restore src --to "$W/abrestore"; set -- $(measure); ab_res=$1; ab_res_rss=$2
srv_rss=$(awk '/VmHWM/ {print $2}' /proc/$spid/status)
kill $spid; wait $spid 2>/dev/null || true

# ---- rsync daemon ------------------------------------------------------------
rm -rf "$W/rsdata" "$W/rsrestore" && mkdir -p "$W/rsdata"
rm -rf "$W/src" && cp -a "$W/src.orig" "$W/src"
cat >"$W/rsyncd.conf" <<CONF
use chroot = no
uid = $(id -u)
gid = $(id -g)
[bench]
path = $W/rsdata
read only = no
CONF
RPORT=$((20000 + $$ % 20000))
rsync --daemon --no-detach --address=127.0.0.1 --port=$RPORT --config="$W/rsyncd.conf" &
rpid=$!; pids="$pids $rpid"
sleep 1
rs() { sync; /usr/bin/time -f "%e %M" -o "$W/time" rsync -a --delete "$@"; }
rs "$W/src/" "rsync://127.0.0.1:$RPORT/bench/src/"; set -- $(measure); rs_full=$1
change_1pct
rs "$W/src/" "rsync://127.0.0.1:$RPORT/bench/src/"; set -- $(measure); rs_inc=$1
sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
rs "rsync://127.0.0.1:$RPORT/bench/src/" "$W/rsrestore/"; set -- $(measure); rs_res=$1
kill $rpid; wait $rpid 2>/dev/null || true

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
rate() { awk -v mb="$MB" -v s="$1" 'BEGIN { printf "%.0f", (s > 0 ? mb / s : 0) }'; }
printf '\n%-14s %10s %8s %12s %10s %8s %8s\n' phase autobackup MB/s "client RSS" rsync MB/s "ours/rsync"
printf '%-14s %9ss %8s %9s KiB %9ss %8s %8s\n' "full push" "$ab_full" "$(rate "$ab_full")" "$ab_full_rss" "$rs_full" "$(rate "$rs_full")" "$(ratio "$ab_full" "$rs_full")"
printf '%-14s %9ss %8s %9s KiB %9ss %8s %8s\n' "1% push" "$ab_inc" "-" "$ab_inc_rss" "$rs_inc" "-" "$(ratio "$ab_inc" "$rs_inc")"
printf '%-14s %9ss %8s %9s KiB %9ss %8s %8s\n' "full restore" "$ab_res" "$(rate "$ab_res")" "$ab_res_rss" "$rs_res" "$(rate "$rs_res")" "$(ratio "$ab_res" "$rs_res")"
echo "server peak RSS: ${srv_rss} KiB"
