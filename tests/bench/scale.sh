#!/bin/bash
# scale.sh - does autobackup scale (issue 12 item 4)?  Not part of make check.
#
#  (a) N small files, generated here (default 100,000 then 1,000,000): a full
#      push, a push with nothing changed and a full restore of each; prints
#      seconds, microseconds per file, and the peak RSS of the client and the
#      server (targets: both under 256 MiB; time linear in the file count).
#  (b) one sparse-ish file of SCALE_BIG_GB GB (default 20: zeros with random
#      64 MiB regions at a few offsets, made with truncate + dd): pushed and
#      restored with flat memory, the restore compared with cmp, and the
#      space the stored and restored copies take (holes must stay holes).
#
#   tests/bench/scale.sh [WORKDIR]     (default: a new folder under /tmp;
#                                       everything made is removed at the end)
# Environment:
#   SCALE_FILES   file counts for (a), space separated (default "100000 1000000";
#                 "" skips (a))
#   SCALE_BIG_GB  size of the file of (b) in GB (default 20; 0 skips (b))
#   SCALE_PHASES  what (a) runs, of "push nochange restore" (default all three)
#   SCALE_KEEP    1: leave WORKDIR in place
# Needs about 4 KiB x N x 3 of disk for (a) (source, server, restore) and a
# few hundred MB for (b).  Runs nice'd; wall times on a shared machine are
# noisy, the RSS figures and the per-file ratio are what it is for.
# One compound command: bash reads it whole before running it, so editing
# this file during a run (hours at 1,000,000 files) cannot change the run.
{
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
AB=$top/autobackup
ABD=$top/autobackupd
for t in "$AB" "$ABD"; do [ -x "$t" ] || { echo "build first: $t missing" >&2; exit 1; }; done
[ -x /usr/bin/time ] || { echo "GNU time missing (apt-get install time)" >&2; exit 1; }

W=${1:-$(mktemp -d /tmp/abscale.XXXXXX)}
mkdir -p "$W"
W=$(cd "$W" && pwd)
FILES=${SCALE_FILES-100000 1000000}
BIG=${SCALE_BIG_GB:-20}
PHASES=${SCALE_PHASES:-push nochange restore}
spid=""
cleanup() {
	[ -n "$spid" ] && { kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; }
	[ "${SCALE_KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT

echo "# scale: $(nproc) cores, $(uname -r), $(free -g | awk '/Mem/ {print $2}') GB RAM; in $W"
df -h "$W" | tail -1 | awk '{print "# disk: " $4 " free"}'

printf 'scale password\n' >"$W/pw"
# Start a fresh server on a fresh data folder; its pid in spid.
server_start() {
	rm -rf "$W/data" "$W/port"
	"$ABD" init --data "$W/data" >/dev/null
	"$ABD" user add scale --data "$W/data" --password-file "$W/pw" >/dev/null
	"$ABD" token add scale scale --data "$W/data" 2>/dev/null | tail -1 >"$W/token"
	nice "$ABD" serve --data "$W/data" --listen 127.0.0.1:0 --port-file "$W/port" \
		--no-console >"$W/server.log" 2>&1 </dev/null &
	spid=$!
	scpu0=0
	while [ ! -s "$W/port" ]; do
		kill -0 "$spid" 2>/dev/null || { cat "$W/server.log" >&2; exit 1; }
		sleep 0.1
	done
}
server_stop() { kill "$spid"; wait "$spid" 2>/dev/null || true; spid=""; }
# The server's peak RSS so far (KiB), then reset it for the next phase.
server_hwm() {
	awk '/VmHWM/ {print $2}' "/proc/$spid/status"
	echo 5 >"/proc/$spid/clear_refs" 2>/dev/null || true
}
# The server's CPU-seconds (user + system) since it started.
server_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15 + $16 + $17) / hz }' "/proc/$spid/stat"
}
# ab ARGS: one client command, timed; "seconds client-peak-KiB cpu-seconds"
# in $W/time.  Exits with the client's output when it fails.
ab() {
	sync
	if ! /usr/bin/time -f "%e %M %U %S" -o "$W/time" nice "$AB" --batch \
		--server "127.0.0.1:$(cat "$W/port")" --ca "$W/data/certs/ca.pem" --user scale \
		--token-file "$W/token" --config /dev/null -q "$@" >"$W/client.log" 2>&1; then
		echo "client failed: $*" >&2
		tail -20 "$W/client.log" >&2
		tail -20 "$W/server.log" >&2
		exit 1
	fi
}
# "| phase | seconds | µs per file | client RSS | server RSS | CPU |" row; $1 label,
# $2 file count (0: no per-file column)
row() {
	read -r secs crss u s <"$W/time"
	srss=$(server_hwm)
	scpu=$(server_cpu)
	awk -v l="$1" -v n="$2" -v t="$secs" -v c="$crss" -v sr="$srss" -v u="$u" -v s="$s" \
		-v sc="$scpu" -v sc0="$scpu0" \
		'BEGIN { printf "| %s | %.1f | %s | %.0f MiB | %.0f MiB | %.1f | %.1f |\n", l, t,
		    (n > 0 ? sprintf("%.0f", t * 1e6 / n) : "-"), c / 1024, sr / 1024, u + s,
		    sc - sc0 }' | tee -a "$W/table"
	scpu0=$scpu
}

head_row() {
	echo "| phase | seconds | µs per file | client peak RSS | server peak RSS | client CPU-s | server CPU-s |"
	echo "|---|---|---|---|---|---|---|"
}

# ---- (a) many small files ------------------------------------------------------
gen_files() {	# DIR N: N files of 100-2000 bytes, 1000 per folder
	python3 - "$1" "$2" <<'PY'
import os, sys, random
root, n = sys.argv[1], int(sys.argv[2])
random.seed(n)
blob = os.urandom(4096)
for i in range(n):
    if i % 1000 == 0:
        d = os.path.join(root, "d%04d" % (i // 1000))
        os.makedirs(d)
    size = random.randint(100, 2000)
    off = random.randint(0, 2000)
    with open(os.path.join(d, "f%07d" % i), "wb") as f:
        f.write(b"%d " % i + blob[off:off + size])
PY
}

if [ -n "$FILES" ]; then
	echo
	head_row
fi
for n in $FILES; do
	rm -rf "$W/src" "$W/restore"
	mkdir -p "$W/src/files"
	gen_files "$W/src/files" "$n"
	server_start
	ab push "$W/src/files"; row "push $n files" "$n"
	case $PHASES in *nochange*)
		ab push "$W/src/files"; row "push $n files, nothing changed" "$n" ;;
	esac
	case $PHASES in *restore*)
		ab restore files --to "$W/restore"; row "restore $n files" "$n"
		got=$(find "$W/restore" -type f | wc -l)
		[ "$got" -eq "$n" ] || { echo "restore has $got files, not $n" >&2; exit 1; } ;;
	esac
	du -sm "$W/data/users/scale" | awk '{print "# server storage: " $1 " MB"}'
	server_stop
	rm -rf "$W/src" "$W/restore" "$W/data"
done
if [ -n "$FILES" ]; then
	awk -F ' *[|] *' '$2 ~ /^push [0-9]+ files$/ { split($2, w, " "); n[++k] = w[2]; t[k] = $4 }
	    END { if (k >= 2) printf "# per-file time, first push: %s µs at %s files, %s µs at %s files (ratio %.2f)\n",
	        t[1], n[1], t[k], n[k], (t[1] > 0 ? t[k] / t[1] : 0) }' "$W/table"
fi

# ---- (b) one big sparse-ish file ------------------------------------------------
if [ "$BIG" -gt 0 ]; then
	rm -rf "$W/big" "$W/restore"
	mkdir -p "$W/big"
	truncate -s "${BIG}G" "$W/big/disk.img"
	# random 64 MiB regions at the start, at every fifth and at the end
	for at in 0 $((BIG * 1024 / 5)) $((BIG * 1024 * 2 / 5)) $((BIG * 1024 * 3 / 5)) \
		$((BIG * 1024 * 4 / 5)) $((BIG * 1024 - 64)); do
		dd if=/dev/urandom of="$W/big/disk.img" bs=1M seek="$at" count=64 conv=notrunc \
			status=none
	done
	echo
	echo "# one ${BIG} GB file, $(du -m "$W/big/disk.img" | cut -f1) MB of it allocated"
	head_row
	server_start
	ab push "$W/big"; row "push ${BIG} GB sparse file" 0
	ab push "$W/big"; row "push ${BIG} GB, nothing changed" 0
	ab restore big --to "$W/restore"; row "restore ${BIG} GB sparse file" 0
	for snap in "$W"/data/users/scale/big/2*; do :; done	# the newest snapshot
	echo "# stored copy takes $(du -m "$snap/tree/disk.img" | cut -f1) MB," \
		"restored copy $(du -m "$W/restore/disk.img" | cut -f1) MB"
	if cmp "$W/big/disk.img" "$W/restore/disk.img"; then
		echo "# restored file is byte-identical"
	else
		echo "# RESTORED FILE DIFFERS" >&2
		exit 1
	fi
	server_stop
fi
exit
}
