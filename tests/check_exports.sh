#!/bin/sh
# tests/check_exports.sh - every function or object that a module of src/,
# server/ or tui/ exports must be used by another object of the programs
# (issue 13: what only one file uses is static, what nobody uses goes).
# A symbol that only the tests use (named in a tests/ source) is allowed;
# ALLOW lists the other exceptions with their reason.  Run by `make check`
# from the build directory, after the programs are built.  Needs nm.
set -eu
b=.
s=${srcdir:-.}
# main: the program entry points.
# abk_user_quota: engine API (src/engine.h) for the front ends; the TUI shows it.
ALLOW="main abk_user_quota"
objs=$(ls "$b"/src/libabk_a-*.o "$b"/server/*.o "$b"/tui/autobackup-*.o 2>/dev/null || true)
[ -n "$objs" ] || { echo "check_exports: no objects under $b (build first)" >&2; exit 99; }
command -v nm >/dev/null || { echo "check_exports: nm not found" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for o in $objs; do
	nm -g --defined-only "$o" | awk -v o="$o" 'NF == 3 && $2 ~ /^[TDBRCG]$/ { print $3, o }'
done | sort >"$tmp/defs"
for o in $objs; do
	nm -u "$o" | awk -v o="$o" '{ print $NF, o }'
done | sort >"$tmp/uses"
cat "$s"/tests/unit/*.c "$s"/tests/*.c >"$tmp/tests.c"
bad=0
while read -r sym obj; do
	case " $(echo $ALLOW) " in *" $sym "*) continue ;; esac
	awk -v s="$sym" -v o="$obj" '$1 == s && $2 != o { f = 1; exit } END { exit !f }' \
	    "$tmp/uses" && continue
	grep -qw "$sym" "$tmp/tests.c" && continue
	echo "check_exports: $sym (defined in $obj) is used by no other object: make it static or remove it"
	bad=1
done <"$tmp/defs"
[ $bad -eq 0 ] && echo "check_exports: every exported symbol has a user outside its file"
exit $bad
