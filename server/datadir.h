/*
 * datadir.h - the server's data directory: where it is by default, how
 * `autobackupd init` lays it out, and how other commands recognise one.
 *
 *   DATA/                   0700
 *     autobackupd.data      marker: "autobackupd data directory\nformat N\n"
 *     db/                   0700, the Berkeley DB environment (accounts)
 *     users/                0700, one folder per user (storage)
 *     certs/                0700, ca.pem ca.key server.pem server.key
 *
 * The marker is written last, so its presence means init completed.
 *
 * Thread-safety: the functions share no state; datadir_init calls certgen
 * (see certgen.h) and is meant for the main thread of `init`.  getenv is
 * read by datadir_default, so do not call it while another thread changes
 * the environment.
 */
#ifndef ABS_DATADIR_H
#define ABS_DATADIR_H

#include <stddef.h>

#include "abkerr.h"

#define DATADIR_MARKER	"autobackupd.data"
#define DATADIR_FORMAT	1		/* layout version in the marker */
#define DATADIR_DB	"db"
#define DATADIR_USERS	"users"
#define DATADIR_CERTS	"certs"
#define DATADIR_ENV	"AUTOBACKUPD_DATA"
#define DATADIR_SYSTEM	"/var/lib/autobackupd"

/*
 * The default data directory, into buf[size]: $AUTOBACKUPD_DATA when set and
 * not empty; else /var/lib/autobackupd when running as root; else
 * $XDG_DATA_HOME/autobackupd when XDG_DATA_HOME is absolute; else
 * ~/.local/share/autobackupd ($HOME, or the password database).  Nothing is
 * created.  Errors: ABK_E_LIMIT (buf too small), ABK_E_NOTFOUND (no home
 * directory to be found).
 */
int datadir_default(char *buf, size_t size, abk_err *err);

/*
 * Create the data directory at data (and missing parents, mode 0700) with
 * db/, users/ and certs/, a new CA and server certificate in certs/ (extra
 * names of the server certificate: hostnames[0..n), see certgen.h), then the
 * marker.  The account database itself is created by its own module.
 *
 * Refuses with ABK_E_EXISTS when data already holds an autobackup data
 * directory (the marker, db/, users/ or certs/ exists) or is a non-empty
 * directory of something else, unless force is set.  With force, the CA and
 * server certificate are replaced and the modes set again; accounts and
 * backups (db/, users/) are never deleted.
 *
 * Host names are checked before anything is created.  When init fails, the
 * directories and files this call created are removed again.
 *
 * Errors: ABK_E_USAGE (bad host name, empty path), ABK_E_EXISTS, ABK_E_LIMIT,
 * ABK_E_IO, ABK_E_CRYPTO, ABK_E_NOMEM.
 */
int datadir_init(const char *data, const char *const *hostnames, size_t n,
    int force, abk_err *err);

/*
 * Check that data is a data directory made by init with a layout this build
 * understands.  Errors: ABK_E_NOTFOUND (no marker: "run autobackupd init"),
 * ABK_E_USAGE (marker of an unknown or newer format), ABK_E_IO.
 */
int datadir_check(const char *data, abk_err *err);

#endif
