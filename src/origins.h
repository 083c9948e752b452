/*
 * origins.h - the client's own record of where it pushed each source from.
 *
 * A restore without --to writes where the source came from.  The server
 * also says where that was, but a server's word must not decide where this
 * machine writes (issue 8, item 5): the path comes from this record, kept by
 * the client after each successful push, one line per (server, user,
 * source).  File: $XDG_STATE_HOME/autobackup/origins, by default
 * ~/.local/state/autobackup/origins; replaced atomically (temporary file,
 * fsync, rename) under a lock file, so concurrent pushes lose no record.
 *
 * Format: a comment line, then "server TAB user TAB source TAB origin LF"
 * per record; in each field '%', TAB, LF, CR, other control bytes and DEL are
 * written as %XX, so any name survives.  Nothing here prints.
 */
#ifndef ABK_ORIGINS_H
#define ABK_ORIGINS_H

#include <stddef.h>

#include "abkerr.h"

/* The record's path from the environment into out; ABK_E_USAGE if no HOME. */
int origins_default_path(char *out, size_t outsz, abk_err *err);

/* The key a server is recorded under: HOST:PORT with the default port added. */
void origins_server_key(const char *server, char *out, size_t outsz);

/* 1 if origin is absolute and normalised: "/" or "/a/b" with no empty, "."
 * or ".." component, no NUL, within the protocol's length. */
int origins_valid(const char *origin);

/* The recorded origin into out: ABK_OK, or ABK_E_NOTFOUND (no record). */
int origins_lookup(const char *file, const char *server, const char *user,
    const char *source, char *out, size_t outsz, abk_err *err);

/* Record (or replace) the origin of (server, user, source). */
int origins_record(const char *file, const char *server, const char *user,
    const char *source, const char *origin, abk_err *err);

#endif
