/*
 * tlsconn.h - TLS for both peers, the only module that includes wolfSSL's
 * TLS API (curl's vtls idea: one place that knows the library).
 *
 * Contexts are built completely before any thread uses them and are
 * read-only afterwards.  A connection belongs to one thread.  Sockets are
 * non-blocking; every wait is a poll() with a deadline, and an optional wake
 * descriptor lets another thread interrupt a wait (server shutdown).
 * Versions: TLS 1.3, or TLS 1.2 with ECDHE + AEAD suites only; ChaCha20-
 * Poly1305 first: the fastest with Debian's wolfSSL (doc/ARCHITECTURE.md).
 */
#ifndef ABK_TLSCONN_H
#define ABK_TLSCONN_H

#include <stddef.h>

#include "abkerr.h"
#include "proto.h"

typedef struct tls_ctx tls_ctx;
typedef struct tls_conn tls_conn;

/* Once per process, before any thread starts; cleanup at exit. */
int tls_global_init(abk_err *err);
void tls_global_cleanup(void);
/* Every thread that did TLS handshakes calls this before it exits; the
 * server's workers also call it after each session (per-thread caches of
 * about 3 MB, rebuilt on demand). */
void tls_thread_cleanup(void);

/* Server context from PEM certificate (chain) and key files. */
int tls_server_ctx_new(const char *cert_file, const char *key_file, tls_ctx **out,
    abk_err *err);
/* Client context that trusts only the CA certificates in ca_file. */
int tls_client_ctx_new(const char *ca_file, tls_ctx **out, abk_err *err);
void tls_ctx_free(tls_ctx *ctx);

/*
 * Handshakes.  Both take ownership of fd: on failure it is closed.  host is
 * the name the client verifies the certificate against (DNS name or IP).
 * *out is owned by the caller, freed with tls_conn_free.
 */
int tls_accept(tls_ctx *ctx, int fd, int timeout_ms, tls_conn **out, abk_err *err);
/* The client's waits also end (ABK_E_CANCELED) while wake_fd is readable
 * (-1: none); the connection keeps wake_fd until tls_conn_set_wake_fd. */
int tls_connect(tls_ctx *ctx, int fd, const char *host, int timeout_ms, int wake_fd,
    tls_conn **out, abk_err *err);

/* Per-wait timeout for reads and writes (ms; <= 0: wait forever). */
void tls_conn_set_timeout(tls_conn *c, int timeout_ms);
/*
 * Absolute deadline on the net_now_ms() clock (0: none) that bounds every
 * wait, however much the peer trickles: the server uses it for a whole
 * login and for each whole frame.  Past it, waits fail with ABK_E_TIMEOUT
 * "deadline passed" (as a per-wait timeout does: the caller knows which it set).
 */
void tls_conn_set_deadline(tls_conn *c, long long deadline_ms);
/* While wake_fd is readable, waits end with ABK_E_CANCELED (-1: none). */
void tls_conn_set_wake_fd(tls_conn *c, int wake_fd);

/* Read exactly len bytes / write all of buf (proto_io compatible). */
int tls_read_full(void *conn, void *buf, size_t len, abk_err *err);
int tls_write_all(void *conn, const void *buf, size_t len, abk_err *err);

/* 1 if a read would not block (decrypted bytes buffered or socket readable). */
int tls_conn_readable(tls_conn *c);

/* Fill io with this connection's reader and writer. */
void tls_conn_io(tls_conn *c, struct proto_io *io);

/* Negotiated version and suite names, for logs. */
const char *tls_conn_version(tls_conn *c);
const char *tls_conn_cipher(tls_conn *c);
int tls_conn_fd(tls_conn *c);

/* Send close_notify (best effort), close the socket and free. NULL-safe. */
void tls_conn_free(tls_conn *c);

#endif
