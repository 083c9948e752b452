# tests/lib.sh - shared helpers for the TAP integration tests.
#
# Source it from a test script.  It gives:
#   - a private temp dir $T, removed by an EXIT trap (kept with KEEP_TMP=1),
#   - TAP output: plan N, ok COND-EXIT "desc", pass/fail, skip_all, done_testing,
#   - process control: spawn CMD... (remembers the PID), stop_pid PID,
#     stop_all (stops exactly the PIDs this test started),
#   - wait_for_file FILE [SECONDS], a bounded wait for a port file,
#   - server helpers: ab_init DATA, ab_serve DATA (sets $PORT, $SERVER_PID).
# Every test starts servers on 127.0.0.1 only.

set -u

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
AUTOBACKUP="$top_builddir/autobackup"
AUTOBACKUPD="$top_builddir/autobackupd"

T=$(mktemp -d "${TMPDIR:-/tmp}/abtest.XXXXXX") || exit 99
# AB_VALGRIND=DIR: both programs run under valgrind memcheck (issue 11 item
# 6), through wrappers that exec it (same PID, so stop_pid still works);
# one log per process in DIR.  Deadlines in the tests are not scaled: a
# slow run may fail timing checks.
if [ -n "${AB_VALGRIND:-}" ]; then
	mkdir -p "$T/vg" "$AB_VALGRIND" || exit 99
	for _p in autobackup autobackupd; do
		printf '#!/bin/sh\nexec valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --num-callers=30 --log-file=%s/vg.%%p.log %s "$@"\n' \
			"$AB_VALGRIND" "$top_builddir/$_p" >"$T/vg/$_p"
		chmod +x "$T/vg/$_p"
	done
	AUTOBACKUP=$T/vg/autobackup
	AUTOBACKUPD=$T/vg/autobackupd
fi
# the client's record of where it pushed from (origins.h) stays in the test
XDG_STATE_HOME=$T/state
export XDG_STATE_HOME
_tap_n=0
_tap_failed=0
_pids=""

stop_pid() {
	# stop_pid PID [SIGNAL]: TERM (or SIGNAL), wait up to 10 s, then KILL.
	local pid=$1 sig=${2:-TERM} i=0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill "-$sig" "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
		# reap if it is our child so kill -0 stops seeing a zombie
		if ! ps -p "$pid" -o stat= 2>/dev/null | grep -qv Z; then break; fi
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

stop_all() {
	local p
	for p in $_pids; do stop_pid "$p"; done
	_pids=""
}

_cleanup() {
	stop_all
	if [ "${KEEP_TMP:-0}" = 1 ] || [ "$_tap_failed" -ne 0 ]; then
		echo "# test files kept in $T" >&2
	else
		rm -rf "$T"
	fi
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

spawn() {
	# spawn CMD ARGS...: run in the background, output to $T/spawn.N.log.
	"$@" >"$T/spawn.$_tap_n.$$.log" 2>&1 &
	LAST_PID=$!
	_pids="$_pids $LAST_PID"
}

forget_pid() {
	local p out=""
	for p in $_pids; do [ "$p" = "$1" ] || out="$out $p"; done
	_pids=$out
}

wait_for_file() {
	# wait_for_file FILE [SECONDS]: 0 once FILE exists and is non-empty.
	local f=$1 limit=${2:-20} i=0
	while [ ! -s "$f" ]; do
		[ $i -ge $((limit * 10)) ] && return 1
		sleep 0.1; i=$((i + 1))
	done
	return 0
}

plan() { echo "1..$1"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
pass() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
fail() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
ok() {
	# ok STATUS DESCRIPTION: pass when STATUS is 0.
	local st=$1; shift
	if [ "$st" -eq 0 ]; then pass "$@"; else fail "$@ (status $st)"; fi
}
is() {
	# is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3 (got '$1', want '$2')"; fi
}
diag() { printf '# %s\n' "$*" >&2; }
done_testing() { echo "1..$_tap_n"; [ "$_tap_failed" -eq 0 ]; }

ab_init() {
	# ab_init DATA [INIT-OPTIONS...]: a fresh data directory with certificates
	# (output in $T/init.log); returns autobackupd init's status.
	local data=$1
	shift
	"$AUTOBACKUPD" init --data "$data" "$@" >"$T/init.log" 2>&1
}

ab_user() {
	# ab_user DATA NAME PASSWORD [USER-ADD-OPTIONS...]: add an account with a
	# low PBKDF2 iteration count (tests only); password kept in $T/pw.NAME.
	local data=$1 name=$2 pw=$3
	shift 3
	printf '%s\n' "$pw" >"$T/pw.$name"
	"$AUTOBACKUPD" user add "$name" --data "$data" --password-file "$T/pw.$name" \
		--iterations 1000 "$@" >>"$T/admin.log" 2>&1
}

ab_serve() {
	# ab_serve DATA [SERVE-OPTIONS...]: start autobackupd on 127.0.0.1 port 0,
	# wait for its port file; sets PORT, SERVER_PID and SERVER_LOG.
	local data=$1
	shift
	rm -f "$T/port"
	SERVER_LOG="$T/server.$$.$RANDOM.log"
	"$AUTOBACKUPD" serve --data "$data" --listen 127.0.0.1:0 --port-file "$T/port" \
		--no-console "$@" >"$SERVER_LOG" 2>&1 </dev/null &
	SERVER_PID=$!
	_pids="$_pids $SERVER_PID"
	if ! wait_for_file "$T/port" 30; then
		diag "server did not start:"; sed 's/^/# /' "$SERVER_LOG" >&2
		return 1
	fi
	PORT=$(cat "$T/port")
}

ab_client() {
	# ab_client DATA USER CMD...: autobackup --batch against the test server.
	local data=$1 user=$2
	shift 2
	"$AUTOBACKUP" --batch --server "127.0.0.1:$PORT" --ca "$data/certs/ca.pem" \
		--user "$user" --password-file "$T/pw.$user" --config /dev/null "$@"
}

ab_client_bg() {
	# ab_client_bg DATA USER CMD...: like ab_client, in the background.
	# CLIENT_PID is the client's own PID (signals go to it, not to a shell);
	# wait_client waits for it and sets CLIENT_STATUS.
	local data=$1 user=$2
	shift 2
	rm -f "$T/cpid" "$T/cstatus"
	( "$AUTOBACKUP" --batch --server "127.0.0.1:$PORT" --ca "$data/certs/ca.pem" \
		--user "$user" --password-file "$T/pw.$user" --config /dev/null "$@" </dev/null &
	  echo $! >"$T/cpid"; wait $!; echo $? >"$T/cstatus" ) >"$T/client.out" 2>&1 &
	CLIENT_SHELL=$!
	wait_for_file "$T/cpid" 10
	CLIENT_PID=$(cat "$T/cpid")
	_pids="$_pids $CLIENT_PID $CLIENT_SHELL"
}

wait_client() {
	wait "$CLIENT_SHELL" 2>/dev/null
	CLIENT_STATUS=$(cat "$T/cstatus" 2>/dev/null || echo 255)
	forget_pid "$CLIENT_PID"
	forget_pid "$CLIENT_SHELL"
}
