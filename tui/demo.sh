#!/bin/sh
# demo.sh - `make demo`: a throwaway server and the TUI on a sample folder.
#
# Everything lives in one folder under $TMPDIR (removed at the end): a data
# directory made by `autobackupd init`, a user `demo` with a random password
# (printed), autobackupd on 127.0.0.1 with a free port (--port-file), a
# config with a `demo` profile, and a small sample folder.  The server is
# stopped by its PID when the TUI exits, however it exits.
#
# usage: demo.sh BUILDDIR
set -u
bindir=${1:-.}
AB=$bindir/autobackup
ABD=$bindir/autobackupd
dir=$(mktemp -d "${TMPDIR:-/tmp}/abk-demo.XXXXXX") || exit 1
pid=""

cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
umask 077
printf '%s\n' "$pw" >"$dir/password"
if ! "$ABD" init --data "$dir/data" >"$dir/init.log" 2>&1 ||
   ! "$ABD" user add demo --data "$dir/data" --password-file "$dir/password" \
	>>"$dir/init.log" 2>&1; then
	cat "$dir/init.log" >&2
	exit 1
fi
"$ABD" serve --data "$dir/data" --listen 127.0.0.1:0 --port-file "$dir/port" \
	--no-console >"$dir/server.log" 2>&1 </dev/null &
pid=$!
i=0
while [ ! -s "$dir/port" ]; do
	if [ $i -ge 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "demo: the server did not start:" >&2
		cat "$dir/server.log" >&2
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done
port=$(cat "$dir/port")

mkdir -p "$dir/config/autobackup" "$dir/state" "$dir/sample/Documents/letters" \
	"$dir/sample/Photos/2024" "$dir/sample/Music"
cat >"$dir/config/autobackup/config" <<EOC
[profile demo]
server = 127.0.0.1:$port
ca = $dir/data/certs/ca.pem
user = demo
password-file = $dir/password
EOC
echo "Shopping: bread, milk" >"$dir/sample/Documents/notes.txt"
echo "Dear Ada, ..." >"$dir/sample/Documents/letters/ada.txt"
echo "Dear Bob, ..." >"$dir/sample/Documents/letters/bob.txt"
head -c 200000 /dev/urandom >"$dir/sample/Photos/2024/beach.jpg"
head -c 150000 /dev/urandom >"$dir/sample/Photos/2024/hills.jpg"
head -c 300000 /dev/zero >"$dir/sample/Music/song.wav"

echo "autobackup demo: server 127.0.0.1:$port (PID $pid), user demo, password $pw"
echo "data in $dir (removed when the TUI exits)"
XDG_CONFIG_HOME=$dir/config XDG_STATE_HOME=$dir/state \
	"$AB" --profile demo "$dir/sample"
status=$?
echo "autobackup demo: finished (status $status); stopping the server"
exit $status
