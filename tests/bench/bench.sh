#!/bin/sh
# bench.sh - autobackup against rsync over ssh (and optionally an rsync
# daemon) on the same data, same machine, same run (issue 12 item 3):
#   full push, push after a 1% change, full restore (warm), full restore
#   with cold caches (drop_caches before; needs root, else it is warm too).
# For each phase: median wall seconds, client and server CPU-seconds
# (user + system), CPU-seconds per GB of the dataset, peak RSS of both sides
# and the ratio ours / rsync over ssh; and how much the server's storage
# grew with the 1% push.  The result is a markdown table for README.
# Not part of make check.
#
#   tests/bench/bench.sh [WORKDIR]        (WORKDIR on the disk to measure;
#                                           default a new folder under /tmp)
# The 1% change, the same for both tools in a round (seeded by the round):
# 1% of the small files edited in place (256 bytes overwritten at a random
# offset, a line appended), 0.5% deleted, 0.5% new, and in every big file one
# 1 MiB region overwritten in place (a database, a mailbox, a VM image).
#
# Server side of rsync over ssh: CPU is the private sshd's and all its
# children's (the ssh session and the rsync it runs); peak RSS is the remote
# rsync's (GNU time through --rsync-path).  Client side: rsync and its ssh.
#
# Environment:
#   BENCH_SMALL    small files (default 20000)
#   BENCH_BIG_MB   size of each of the 4 big files (default 80)
#   BENCH_ROUNDS   rounds of the tools, alternating which goes first; medians
#                  are reported (default 3: runs on a shared VM vary by a third)
#   BENCH_AUTH     token (default: what a cron job uses) or password (adds
#                  one PBKDF2 login, ~0.6 s at 600k iterations, per phase)
#   BENCH_CLIENT_OPTS  extra autobackup options (e.g. "--compress never")
#   BENCH_DAEMON   1: also an rsync daemon on 127.0.0.1 (unencrypted; default 0)
#   BENCH_SSH      0: no rsync over ssh (default 1; needs openssh-server)
# One compound command: the shell reads it whole before running it, so
# editing this file during a run cannot change the run.
{
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
AB=$top/autobackup
ABD=$top/autobackupd
for t in "$AB" "$ABD"; do [ -x "$t" ] || { echo "build first: $t missing" >&2; exit 1; }; done
command -v rsync >/dev/null || { echo "rsync missing (apt-get install rsync)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time missing (apt-get install time)" >&2; exit 1; }

W=${1:-$(mktemp -d /tmp/abbench.XXXXXX)}
mkdir -p "$W"
W=$(cd "$W" && pwd)
SMALL=${BENCH_SMALL:-20000}
BIG=${BENCH_BIG_MB:-80}
ROUNDS=${BENCH_ROUNDS:-3}
SSH=${BENCH_SSH:-1}
DAEMON=${BENCH_DAEMON:-0}
if [ "$SSH" = 1 ] && [ ! -x /usr/sbin/sshd ]; then
	echo "rsync over ssh needs /usr/sbin/sshd (apt-get install openssh-server) or BENCH_SSH=0" >&2
	exit 1
fi
AUTH=${BENCH_AUTH:-token}
HZ=$(getconf CLK_TCK)
pids=""
# under set -e a kill of a process already gone would end the trap, and the
# script, with status 1
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

echo "# dataset: $SMALL small files + 4 x ${BIG} MB (2 compressible, 2 random) in $W/src"
if [ ! -d "$W/src.orig" ]; then
	rm -rf "$W/src"
	mkdir -p "$W/src"
	python3 "$top/tests/bench/dataset.py" make "$W/src" "$SMALL" "$BIG"
	# a pristine copy: every round starts again from it
	mv "$W/src" "$W/src.orig"
fi
MB=$(du -sm "$W/src.orig" | cut -f1)
echo "# total ${MB} MB; machine: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "# $ROUNDS rounds, medians; autobackup logs in with a $AUTH"
cold=yes
[ "$(id -u)" = 0 ] || { cold=no; echo "# not root: the cold restore cannot drop caches (it is warm)"; }

fresh_src() { rm -rf "$W/src" && cp -a "$W/src.orig" "$W/src"; }
# The 1% change of round $1: the same files and bytes for every tool.
change_1pct() { python3 "$top/tests/bench/dataset.py" change "$W/src" "$1"; }
drop_caches() { sync; [ "$cold" = yes ] && echo 3 >/proc/sys/vm/drop_caches; true; }
# CPU-seconds (user + system) of process $1 and its reaped children so far.
cpu_of() { awk -v hz="$HZ" '{ printf "%.2f\n", ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"; }
# Wait until process $1 has no children left: a finished ssh session is then
# reaped, so its CPU is in cpu_of.
no_children() {
	n=0
	while [ -n "$(cat /proc/"$1"/task/*/children 2>/dev/null)" ] && [ $n -lt 100 ]; do
		sleep 0.05; n=$((n + 1))
	done
}
# Every phase starts with a sync: the server's syncfs before publishing would
# otherwise also pay for flushing the dataset copy made just before.
# timed CMD...: run it under GNU time; "wall client-KiB user sys" in $W/time.
timed() { sync; /usr/bin/time -f "%e %M %U %S" -o "$W/time" "$@" >>"$W/client.log" 2>&1; }
# record TOOL PHASE SERVER-PID SERVER-CPU-BEFORE SERVER-KiB: a line
# "tool phase wall client-cpu server-cpu client-KiB server-KiB" in results.
record() {
	no_children "$3"
	read -r wall crss u s <"$W/time"
	awk -v t="$1" -v p="$2" -v w="$wall" -v u="$u" -v s="$s" -v sc="$(cpu_of "$3")" \
	    -v sc0="$4" -v c="$crss" -v sr="$5" \
	    'BEGIN { printf "%s %s %s %.2f %.2f %s %s\n", t, p, w, u + s, sc - sc0, c, sr }' \
	    >>"$W/results"
}
# The restored tree must be the pushed one (a fast wrong answer is no answer).
cmp_trees() {
	diff -r "$W/src" "$1" >/dev/null 2>&1 ||
		{ echo "$2: the restored tree differs from the source" >&2; exit 1; }
}
phase_prep() {	# PHASE ROUND: the 1% change before inc, no caches before cold
	case $1 in
	inc) change_1pct "$2" ;;
	cold) drop_caches ;;
	esac
}

# ---- autobackup --------------------------------------------------------------
printf 'bench password\n' >"$W/pw"
ab_round() {
	rm -rf "$W/abdata" "$W/ab.restore" "$W/ab.cold" "$W/port"
	"$ABD" init --data "$W/abdata" >/dev/null
	"$ABD" user add bench --data "$W/abdata" --password-file "$W/pw" >/dev/null
	"$ABD" token add bench bench --data "$W/abdata" 2>/dev/null | tail -1 >"$W/token"
	if [ "$AUTH" = password ]; then cred="--password-file $W/pw"; else cred="--token-file $W/token"; fi
	"$ABD" serve --data "$W/abdata" --listen 127.0.0.1:0 --port-file "$W/port" --no-console \
		>"$W/server.log" 2>&1 </dev/null &
	spid=$!; pids="$pids $spid"
	while [ ! -s "$W/port" ]; do sleep 0.1; done
	port=$(cat "$W/port")
	fresh_src
	for phase in full inc res cold; do
		phase_prep $phase "$1"
		[ $phase = inc ] && before=$(du -sk "$W/abdata/users/bench" | cut -f1)
		echo 5 >"/proc/$spid/clear_refs" 2>/dev/null || true	# reset its peak RSS
		c0=$(cpu_of $spid)
		case $phase in
		full|inc) what="push $W/src" ;;
		res) what="restore src --to $W/ab.restore" ;;
		cold) what="restore src --to $W/ab.cold" ;;
		esac
		# shellcheck disable=SC2086
		timed "$AB" --batch --server 127.0.0.1:$port --ca "$W/abdata/certs/ca.pem" \
			--user bench $cred --config /dev/null -q ${BENCH_CLIENT_OPTS:-} $what ||
			{ tail "$W/client.log" "$W/server.log" >&2; exit 1; }
		record ab $phase $spid "$c0" "$(awk '/VmHWM/ {print $2}' /proc/$spid/status)"
		if [ $phase = inc ]; then
			echo "ab grow $(($(du -sk "$W/abdata/users/bench" | cut -f1) - before))" >>"$W/results"
		fi
	done
	cmp_trees "$W/ab.restore" ab
	kill $spid; wait $spid 2>/dev/null || true
}

# The four phases with rsync: TAG REMOTE SERVER-PID ROUND [rsync options].
# The server's peak RSS comes from $W/rtime (GNU time around the remote
# rsync) when there is one.
rsync_phases() {
	tag=$1 remote=$2 srv=$3 rnd=$4
	shift 4
	rm -rf "$W/$tag.restore" "$W/$tag.cold"
	fresh_src
	for phase in full inc res cold; do
		phase_prep $phase "$rnd"
		rm -f "$W/rtime"
		c0=$(cpu_of "$srv")
		case $phase in
		full|inc) timed rsync -a --delete "$@" "$W/src/" "$remote" ;;
		res) timed rsync -a --delete "$@" "$remote" "$W/$tag.restore/" ;;
		cold) timed rsync -a --delete "$@" "$remote" "$W/$tag.cold/" ;;
		esac || { tail "$W/client.log" >&2; exit 1; }
		no_children "$srv"
		srss=0
		[ -s "$W/rtime" ] && srss=$(tail -1 "$W/rtime" | cut -d: -f1)
		record "$tag" $phase "$srv" "$c0" "$srss"
	done
	cmp_trees "$W/$tag.restore" "$tag"
}

# ---- rsync daemon (optional) ---------------------------------------------------
cat >"$W/rsyncd.conf" <<CONF
use chroot = no
uid = $(id -u)
gid = $(id -g)
[bench]
path = $W/rsdata
read only = no
CONF
rs_round() {
	rm -rf "$W/rsdata" && mkdir -p "$W/rsdata"
	rport=$((20000 + $$ % 20000))
	rsync --daemon --no-detach --address=127.0.0.1 --port=$rport --config="$W/rsyncd.conf" &
	rpid=$!; pids="$pids $rpid"
	sleep 1
	# the daemon forks a process per connection: its peak RSS is not seen here
	rsync_phases rs "rsync://127.0.0.1:$rport/bench/src/" $rpid "$1"
	kill $rpid; wait $rpid 2>/dev/null || true
}

# ---- rsync over ssh (the comparison) --------------------------------------------
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
	# OpenSSH's default cipher choice: what an admin gets without tuning
	RSH="ssh -p $sport -i $W/ssh/client -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR"
}
ssh_round() {
	rm -rf "$W/rssh" && mkdir -p "$W/rssh"
	rsync_phases ssh "$(id -un)@127.0.0.1:$W/rssh/src/" "$sshd_pid" "$1" -e "$RSH" \
		--rsync-path="/usr/bin/time -o $W/rtime -f %M:%U:%S rsync"
}
[ "$SSH" = 1 ] && ssh_setup

: >"$W/results"
: >"$W/client.log"
round=1
while [ $round -le "$ROUNDS" ]; do
	# alternate which tool goes first: the disk remembers what the other did
	if [ $((round % 2)) -eq 1 ]; then
		ab_round $round
		[ "$SSH" = 1 ] && ssh_round $round
	else
		[ "$SSH" = 1 ] && ssh_round $round
		ab_round $round
	fi
	[ "$DAEMON" = 1 ] && rs_round $round
	echo "# round $round: $(grep -c . "$W/results") measurements" >&2
	round=$((round + 1))
done

# med TOOL PHASE COLUMN: median of that column over the rounds
med() { awk -v t="$1" -v p="$2" -v c="$3" '$1 == t && $2 == p { v[n++] = $c + 0 }
	END { if (n == 0) { print 0; exit } for (i = 0; i < n; i++) for (j = i + 1; j < n; j++)
		if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
		print (n % 2 ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2) }' "$W/results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
# CPU-seconds (client + server) per GB of the dataset
pergb() { awk -v c="$1" -v s="$2" -v mb="$MB" 'BEGIN { printf "%.1f", (c + s) * 1024 / mb }'; }
mib() { awk -v k="$1" 'BEGIN { if (k > 0) printf "%.0f", k / 1024; else printf "?" }'; }
label() { case $1 in full) echo "full push" ;; inc) echo "1% push" ;; res) echo "full restore" ;;
	cold) echo "full restore, cold cache" ;; esac; }

other=ssh; oname="rsync over ssh"
if [ "$SSH" != 1 ]; then
	other=rs; oname="rsync daemon"
	[ "$DAEMON" = 1 ] || other=none
fi
echo
echo "$MB MB ($SMALL small files + 4 x $BIG MB), $(nproc) cores, medians of $ROUNDS rounds."
echo "CPU-s: user + system seconds, client + server; CPU-s/GB: both per GB of the dataset."
echo
if [ "$other" = none ]; then
	echo "| phase | autobackup | CPU-s (client + server) | CPU-s/GB | peak RSS client / server |"
	echo "|---|---|---|---|---|"
else
	echo "| phase | autobackup | $oname | ratio | CPU-s ours (client + server) | CPU-s $oname | CPU-s/GB ours | CPU-s/GB $oname | peak RSS ours (client / server) | peak RSS $oname |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
fi
for p in full inc res cold; do
	a=$(med ab $p 3); ac=$(med ab $p 4); as=$(med ab $p 5)
	arss="$(mib "$(med ab $p 6)") / $(mib "$(med ab $p 7)") MiB"
	if [ "$other" = none ]; then
		printf '| %s | %.2f s | %.1f + %.1f | %s | %s |\n' "$(label $p)" "$a" "$ac" "$as" \
			"$(pergb "$ac" "$as")" "$arss"
		continue
	fi
	r=$(med $other $p 3); rc=$(med $other $p 4); rsv=$(med $other $p 5)
	printf '| %s | %.2f s | %.2f s | %s | %.1f + %.1f | %.1f + %.1f | %s | %s | %s | %s / %s MiB |\n' \
		"$(label $p)" "$a" "$r" "$(ratio "$a" "$r")" "$ac" "$as" "$rc" "$rsv" \
		"$(pergb "$ac" "$as")" "$(pergb "$rc" "$rsv")" "$arss" \
		"$(mib "$(med $other $p 6)")" "$(mib "$(med $other $p 7)")"
done
echo
echo "Server storage growth with the 1% push (autobackup; du of the user's folder): $(mib "$(med ab grow 3)") MiB."
[ "$cold" = yes ] || echo "(not root: the cold-cache rows are warm.)"
if [ "$DAEMON" = 1 ] && [ "$other" = ssh ]; then
	echo
	echo "| phase | autobackup | rsync daemon (unencrypted) | ratio |"
	echo "|---|---|---|---|"
	for p in full inc res cold; do
		a=$(med ab $p 3); r=$(med rs $p 3)
		printf '| %s | %.2f s | %.2f s | %s |\n' "$(label $p)" "$a" "$r" "$(ratio "$a" "$r")"
	done
fi
echo
echo "every run: $W/results"
exit 0
}
