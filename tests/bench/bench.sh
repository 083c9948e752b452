#!/bin/sh
# bench.sh - autobackup against rsync (daemon on 127.0.0.1) on the same data:
# full push, push after a 1% change, full restore.  Prints seconds, MB/s,
# peak RSS of client and server, and our/rsync ratios.  Not part of make check.
#
#   tests/bench/bench.sh [WORKDIR]        (WORKDIR on the disk to measure;
#                                           default a new folder under /tmp)
# Environment:
#   BENCH_SMALL    small files (default 20000)
#   BENCH_BIG_MB   size of each of the 4 big files (default 80)
#   BENCH_ROUNDS   rounds of both tools, alternating; medians are reported
#                  (default 3: runs on a shared VM vary by a third)
#   BENCH_AUTH     token (default: what a cron job uses) or password (adds
#                  one PBKDF2 login, ~0.6 s at 600k iterations, per phase)
#   BENCH_CLIENT_OPTS  extra autobackup options (e.g. "--compress never")
#   BENCH_SSH      1: also rsync over ssh (encrypted like us) to a private
#                  sshd on 127.0.0.1 (needs openssh-server; default: 1 when
#                  /usr/sbin/sshd exists)
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
ROUNDS=${BENCH_ROUNDS:-3}
if [ -x /usr/sbin/sshd ]; then SSH=${BENCH_SSH:-1}; else SSH=0; fi
AUTH=${BENCH_AUTH:-token}
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT

echo "# dataset: $SMALL small files + 4 x ${BIG} MB (2 compressible, 2 random) in $W/src"
if [ ! -d "$W/src.orig" ]; then
	rm -rf "$W/src"
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
	# a pristine copy: every round starts again from it
	mv "$W/src" "$W/src.orig"
fi
MB=$(du -sm "$W/src.orig" | cut -f1)
echo "# total ${MB} MB; machine: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "# $ROUNDS rounds, medians; autobackup logs in with a $AUTH"

fresh_src() { rm -rf "$W/src" && cp -a "$W/src.orig" "$W/src"; }
change_1pct() {
	# rewrite every 100th small file and append to one big file
	find "$W/src/small" -name 'f*00.txt' | while read -r f; do head -c 3000 /dev/urandom >"$f"; done
	head -c 1048576 /dev/urandom >>"$W/src/log1.txt"
}
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
# "seconds peak-KiB" of the last timed command
measure() { tail -1 "$W/time"; }
# Every phase starts with a sync: the server's syncfs before publishing would
# otherwise also pay for flushing the dataset copy made just before.
timed() { sync; /usr/bin/time -f "%e %M" -o "$W/time" "$@"; }

# ---- autobackup --------------------------------------------------------------
printf 'bench password\n' >"$W/pw"
ab_round() {
	rm -rf "$W/abdata" "$W/abrestore" "$W/port"
	"$ABD" init --data "$W/abdata" >/dev/null
	"$ABD" user add bench --data "$W/abdata" --password-file "$W/pw" >/dev/null
	"$ABD" token add bench bench --data "$W/abdata" | tail -1 >"$W/token"
	if [ "$AUTH" = password ]; then cred="--password-file $W/pw"; else cred="--token-file $W/token"; fi
	"$ABD" serve --data "$W/abdata" --listen 127.0.0.1:0 --port-file "$W/port" --no-console \
		>"$W/server.log" 2>&1 </dev/null &
	spid=$!; pids="$pids $spid"
	while [ ! -s "$W/port" ]; do sleep 0.1; done
	port=$(cat "$W/port")
	# shellcheck disable=SC2086
	ab() { timed "$AB" --batch --server 127.0.0.1:$port --ca "$W/abdata/certs/ca.pem" \
		--user bench $cred --config /dev/null -q ${BENCH_CLIENT_OPTS:-} "$@"; }
	fresh_src
	ab push "$W/src"; set -- $(measure); echo "ab full $1 $2" >>"$W/results"
	change_1pct
	ab push "$W/src"; set -- $(measure); echo "ab inc $1 $2" >>"$W/results"
	drop_caches
	ab restore src --to "$W/abrestore"; set -- $(measure); echo "ab res $1 $2" >>"$W/results"
	echo "ab srv $(awk '/VmHWM/ {print $2}' /proc/$spid/status)" >>"$W/results"
	kill $spid; wait $spid 2>/dev/null || true
}

# The three phases with rsync: TAG REMOTE RESTORE-DIR [rsync options].
rsync_phases() {
	tag=$1 remote=$2 restore=$3
	shift 3
	fresh_src
	timed rsync -a --delete "$@" "$W/src/" "$remote"
	echo "$tag full $(measure | cut -d' ' -f1)" >>"$W/results"
	change_1pct
	timed rsync -a --delete "$@" "$W/src/" "$remote"
	echo "$tag inc $(measure | cut -d' ' -f1)" >>"$W/results"
	drop_caches
	timed rsync -a --delete "$@" "$remote" "$restore"
	echo "$tag res $(measure | cut -d' ' -f1)" >>"$W/results"
}

# ---- rsync daemon ------------------------------------------------------------
cat >"$W/rsyncd.conf" <<CONF
use chroot = no
uid = $(id -u)
gid = $(id -g)
[bench]
path = $W/rsdata
read only = no
CONF
rs_round() {
	rm -rf "$W/rsdata" "$W/rsrestore" && mkdir -p "$W/rsdata"
	rport=$((20000 + $$ % 20000))
	rsync --daemon --no-detach --address=127.0.0.1 --port=$rport --config="$W/rsyncd.conf" &
	rpid=$!; pids="$pids $rpid"
	sleep 1
	rsync_phases rs "rsync://127.0.0.1:$rport/bench/src/" "$W/rsrestore/"
	kill $rpid; wait $rpid 2>/dev/null || true
}

# ---- rsync over ssh (optional) -------------------------------------------------
ssh_setup() {
	mkdir -p "$W/ssh" /run/sshd
	rm -f "$W/ssh/host" "$W/ssh/host.pub" "$W/ssh/client" "$W/ssh/client.pub"
	ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host"
	ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/client"
	cp "$W/ssh/client.pub" "$W/ssh/authorized_keys"
	sport=$((21000 + $$ % 20000))
	cat >"$W/ssh/sshd_config" <<CONF
Port $sport
ListenAddress 127.0.0.1
HostKey $W/ssh/host
AuthorizedKeysFile $W/ssh/authorized_keys
PidFile $W/ssh/sshd.pid
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
CONF
	/usr/sbin/sshd -D -f "$W/ssh/sshd_config" -E "$W/ssh/log" &
	sshd_pid=$!; pids="$pids $sshd_pid"
	sleep 1
	RSH="ssh -p $sport -i $W/ssh/client -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR"
}
ssh_round() {
	rm -rf "$W/rssh" "$W/rsshrestore" && mkdir -p "$W/rssh"
	rsync_phases ssh "$(id -un)@127.0.0.1:$W/rssh/src/" "$W/rsshrestore/" -e "$RSH"
}
[ "$SSH" = 1 ] && ssh_setup

: >"$W/results"
i=1
while [ $i -le "$ROUNDS" ]; do
	# alternate which tool goes first: the disk remembers what the other did
	if [ $((i % 2)) -eq 1 ]; then ab_round; rs_round; else rs_round; ab_round; fi
	[ "$SSH" = 1 ] && ssh_round
	echo "# round $i: $(grep -c . "$W/results") measurements" >&2
	i=$((i + 1))
done

med() { awk -v t="$1" -v p="$2" -v c="${3:-3}" '$1 == t && $2 == p { v[n++] = $c }
	END { if (n == 0) { print 0; exit } for (i = 0; i < n; i++) for (j = i + 1; j < n; j++)
		if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
		print (n % 2 ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2) }' "$W/results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
rate() { awk -v mb="$MB" -v s="$1" 'BEGIN { printf "%.0f", (s > 0 ? mb / s : 0) }'; }
row() {	# label, phase, "rate" or "-"
	a=$(med ab "$2"); r=$(med rs "$2"); rss=$(med ab "$2" 4)
	ra=-; rr=-
	[ "$3" = rate ] && { ra=$(rate "$a"); rr=$(rate "$r"); }
	printf '%-14s %9ss %8s %9s KiB %9ss %8s %8s\n' "$1" "$a" "$ra" "$rss" "$r" "$rr" \
		"$(ratio "$a" "$r")"
}
printf '\n%-14s %10s %8s %12s %10s %8s %8s\n' phase autobackup MB/s "client RSS" rsync MB/s "ours/rsync"
row "full push" full rate
row "1% push" inc -
row "full restore" res rate
echo "server peak RSS (median): $(med ab srv) KiB; every run: $W/results"
if [ "$SSH" = 1 ]; then
	printf '\n%-14s %10s %14s %10s\n' phase autobackup "rsync over ssh" "ours/ssh"
	for p in full inc res; do
		a=$(med ab $p); r=$(med ssh $p)
		printf '%-14s %9ss %13ss %10s\n' "$p" "$a" "$r" "$(ratio "$a" "$r")"
	done
fi
