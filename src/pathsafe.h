/*
 * pathsafe.h - confinement (invariant 1, doc/ARCHITECTURE.md) as pure checks.
 *
 * Every relative path that crosses the wire or comes out of a zip is checked
 * here, component by component, before anything touches the disk: no empty
 * path or component, no "." or "..", not absolute, no NUL byte, no component
 * over ABK_NAME_MAX bytes and no path over ABK_PATH_MAX bytes.  Any other
 * byte, backslash, control characters, spaces, newlines, UTF-8 and invalid
 * UTF-8 included, is kept exactly as given: names are bytes.  (A backslash
 * is an ordinary byte on Linux, and both sides walk a path with one openat
 * per '/'-separated component, so it can never act as a separator here;
 * systemd unit names such as "a\x2db.slice" hold one.)
 * Both server (unpacking a push) and client (unpacking a restore) use these.
 */
#ifndef ABK_PATHSAFE_H
#define ABK_PATHSAFE_H

#include <stddef.h>

#define ABK_NAME_MAX 255	/* bytes in one component (NAME_MAX on Linux) */
#define ABK_PATH_MAX 4095	/* bytes in a whole relative path */

enum pathsafe_verdict {
	PATHSAFE_OK = 0,
	PATHSAFE_EMPTY,			/* "" */
	PATHSAFE_ABSOLUTE,		/* starts with '/' */
	PATHSAFE_EMPTY_COMPONENT,	/* "a//b" or trailing "/" */
	PATHSAFE_DOT,			/* a component equal to "." */
	PATHSAFE_DOTDOT,		/* a component equal to ".." */
	PATHSAFE_NUL,			/* a NUL byte inside the given length */
	PATHSAFE_COMPONENT_TOO_LONG,	/* a component over ABK_NAME_MAX */
	PATHSAFE_TOO_LONG,		/* the path over ABK_PATH_MAX */
};

/* Check one relative path of len bytes ('/'-separated). Thread-safe. */
enum pathsafe_verdict pathsafe_check(const char *path, size_t len);

/* Same for a NUL-terminated string. */
enum pathsafe_verdict pathsafe_check_str(const char *path);

/* Check a single component (no '/' allowed in it). */
enum pathsafe_verdict pathsafe_check_name(const char *name, size_t len);

/* A static English sentence for a verdict, for error messages. */
const char *pathsafe_reason(enum pathsafe_verdict verdict);

#endif
