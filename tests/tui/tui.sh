# tests/tui/tui.sh - helpers for the TUI tests (sourced after tests/lib.sh).
#
# The real autobackup binary runs in a tmux session on a private server
# socket (tmux -L abk-PID -f /dev/null), in a fixed-size window; keys go
# in with send-keys, the screen comes back with capture-pane.  After the
# program exits the pane prints TUI-EXIT=status and saves `stty -a`, so a
# test can check the terminal was restored.  stop_tmux kills the tmux
# server and the program by PID.

command -v tmux >/dev/null 2>&1 || skip_all "tmux not installed"
export TERM=xterm
TM_SOCK="abk-$$"
tm() { tmux -L "$TM_SOCK" -f /dev/null "$@"; }
screen() { tm capture-pane -p -t tui; }
wait_screen() {
	# wait_screen TEXT [SECONDS]: until the pane shows TEXT (default 10 s)
	local i=0 limit=$(( ${2:-10} * 10 ))
	while ! screen | grep -qF -- "$1"; do
		if [ $i -ge $limit ]; then
			diag "timed out waiting for '$1'; the screen:"
			screen | sed 's/^/# | /' >&2
			return 1
		fi
		sleep 0.1; i=$((i + 1))
	done
}
wait_gone() {
	# wait_gone TEXT [SECONDS]: until the pane no longer shows TEXT
	local i=0 limit=$(( ${2:-10} * 10 ))
	while screen | grep -qF -- "$1"; do
		[ $i -ge $limit ] && return 1
		sleep 0.1; i=$((i + 1))
	done
}

tui_start() {
	# tui_start COLS ROWS [AUTOBACKUP-ARGS...]: the TUI against the test server
	# as alice (password typed unless AUTOBACKUP_PASSWORD is passed through
	# TUI_ENV), in $TUI_DIR (default $T/work).
	local cols=$1 rows=$2 q="" a
	shift 2
	for a in "$@"; do q="$q '$a'"; done
	rm -f "$T/tui.pid" "$T/stty.out"
	tm -u new-session -d -s tui -x "$cols" -y "$rows" \
		"cd '${TUI_DIR:-$T/work}' && env LANG=C.UTF-8 LC_ALL=C.UTF-8 HOME='$T/home' \
		XDG_CONFIG_HOME='$T/cfg' XDG_STATE_HOME='$XDG_STATE_HOME' ${TUI_ENV:-} \
		sh -c 'echo \$\$ >\"$T/tui.pid\"; exec \"$AUTOBACKUP\" --server 127.0.0.1:$PORT \
		--ca \"$D/certs/ca.pem\" --user alice $q'; echo TUI-EXIT=\$?; \
		stty -a >'$T/stty.out'; sleep 60"
	wait_for_file "$T/tui.pid" 10
	TUI_PID=$(cat "$T/tui.pid")
	TMUX_PID=$(tm display-message -p '#{pid}' 2>/dev/null)
	_pids="$_pids $TUI_PID"
}

stop_tmux() {
	tm kill-server 2>/dev/null
	[ -n "${TMUX_PID:-}" ] && stop_pid "$TMUX_PID"
	[ -n "${TUI_PID:-}" ] && stop_pid "$TUI_PID"
	return 0
}

tui_server() {
	# a data dir, alice (password 'alice password'), a server on port 0 (with
	# $TUI_SERVE_OPTS), $T/work
	D=$T/data
	ab_init "$D" || exit 1
	ab_user "$D" alice 'alice password'
	ab_serve "$D" ${TUI_SERVE_OPTS:-} || exit 1
	mkdir -p "$T/work" "$T/home" "$T/cfg"
}

login_alice() {
	# at the login screen: type the password; wait for the main screen
	wait_screen "Password" || return 1
	tm send-keys -t tui -l 'alice password'
	tm send-keys -t tui Enter
	wait_screen "Backup status"
}
