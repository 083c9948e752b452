/*
 * abkerr.h - error codes and the error record every libabk call fills.
 *
 * The library never prints or exits: a failing call returns a negative
 * abk_code and, when given an abk_err, writes the root cause into it once, at
 * the place where it happened (errno text, wolfSSL/BDB/minizip text).  Front
 * ends decide how to show it and which exit code it maps to.
 */
#ifndef ABK_ERR_H
#define ABK_ERR_H

#include <stddef.h>

enum abk_code {
	ABK_OK = 0,
	ABK_E_USAGE = -1,	/* caller passed something invalid */
	ABK_E_IO = -2,		/* local file system error */
	ABK_E_NOMEM = -3,
	ABK_E_PROTO = -4,	/* peer broke the protocol */
	ABK_E_TLS = -5,		/* handshake, certificate, TLS record */
	ABK_E_NET = -6,		/* connect, timeout, peer closed */
	ABK_E_AUTH = -7,	/* bad credentials, disabled account */
	ABK_E_REFUSED = -8,	/* server refused the operation */
	ABK_E_BUSY = -9,	/* server or source busy */
	ABK_E_QUOTA = -10,
	ABK_E_NOTFOUND = -11,
	ABK_E_EXISTS = -12,
	ABK_E_LIMIT = -13,	/* a bound of invariant 7 was crossed */
	ABK_E_PATH = -14,	/* hostile or invalid path */
	ABK_E_DB = -15,		/* Berkeley DB */
	ABK_E_CRYPTO = -16,	/* wolfCrypt */
	ABK_E_ZIP = -17,	/* malformed or failing zip */
	ABK_E_CANCELED = -18,
	ABK_E_INTEGRITY = -19,	/* CRC or digest mismatch */
	ABK_E_PARTIAL = -20,	/* finished, but some entries were skipped */
	ABK_E_INTERNAL = -21,
	ABK_E_TIMEOUT = -22,	/* the peer was silent too long (idle, deadline) */
};

#define ABK_ERR_MSG_MAX 512

/* Filled by a failing call; code is one of enum abk_code. */
typedef struct abk_err {
	int code;
	char msg[ABK_ERR_MSG_MAX];
} abk_err;

#define ABK_ERR_INIT { ABK_OK, "" }

/* Short fixed English name of a code ("I/O error", ...); never NULL. */
const char *abk_strerror(int code);

/*
 * Record an error (printf-style message) and return code, so callers can
 * write `return abk_err_set(err, ABK_E_IO, "open %s: %s", ...)`.  err may be
 * NULL.  The first error recorded wins: a cleanup path cannot overwrite the
 * root cause with a consequence.
 */
int abk_err_set(abk_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Non-zero when code means the connection itself is gone (closed, reset or
 * timed out): nothing more can be received on it, and a sender should not
 * wait to be heard.  Control flow tests this, never the message text.
 */
int abk_code_is_disconnect(int code);

/* Forget a previous error (the record is reused for a new operation). */
void abk_err_clear(abk_err *err);

#endif
