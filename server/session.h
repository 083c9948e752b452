/*
 * session.h - one client connection from TLS handshake to goodbye.
 *
 * A session is owned by the worker thread that runs it; nothing in it is
 * shared except its registry row (server.h), which is changed under the
 * server lock, and its charges in the server-wide budgets (budget.h, given
 * back by the session).  The command handlers (session.c for
 * hello/login/listing, session_push.c, session_restore.c) all receive the
 * session struct.
 */
#ifndef ABS_SESSION_H
#define ABS_SESSION_H

#include <stdint.h>

#include "abkerr.h"
#include "buf.h"
#include "proto.h"
#include "proto_msg.h"
#include "server.h"

struct storage_user;
struct tls_conn;

struct session {
	struct srv *srv;
	struct tls_conn *conn;
	struct proto_io io;
	abk_buf in;			/* payload of the frame being handled */
	abk_buf out;			/* payload being built */
	struct srv_session_info info;	/* registry row */
	char peer[64];
	char user[PROTO_USER_MAX + 1];	/* "" until logged in */
	int logged_in;
	int unauth_held;		/* holds a pre-login slot (server.h) */
	long long login_deadline;	/* net_now_ms() by which LOGIN_OK must be sent */
	long long frame_deadline;	/* of the frame being read, 0 = none */
	int in_frame;			/* header read, payload not yet */
	int rate_on;			/* a push's data phase: --min-rate applies */
	int rate_failed;		/* it ended the session */
	long long rate_wait_ms;		/* time waited for the client in this window */
	uint64_t rate_bytes;		/* bytes read in that window */
	uint64_t quota;			/* of the logged-in user, kept current */
	int append_only;		/* kept current (session_account.c) */
	int64_t acct_created;		/* the account logged into (not a namesake) */
	char token_id[24];		/* "" = password login */
	long long acct_checked_ms;	/* last re-read of the account */
	uint64_t quota_reserved;	/* this session's bytes in srv->quota_flight */
	int acct_failed;		/* a check failed: the session is ending */
	int shutting_down;		/* cut at a frame boundary by a stopping
					 * server: its ERROR is PE_SHUTDOWN */
	struct storage_user *store;	/* the user's folder, after login */
};

/*
 * Run a connection on fd (ownership taken) until it ends.  The connection
 * holds a pre-login slot (server.h) that the session gives back with
 * srv_unauth_release at login or at its end.
 */
void session_run(struct srv *srv, int fd, const char *peer);

/*
 * Send PT_ERROR for an abk_err (code mapped to the wire), log it, and return
 * the error's code.  For handlers that end a command with an error.
 */
int session_fail(struct session *s, const char *action, const abk_err *err);

/*
 * Receive the next frame, which must be a list frame (u8 last, u32 count,
 * items) of the given type: its head into *head, r left on its items.
 * ABK_E_PROTO naming both types when another frame came.
 */
int session_recv_list(struct session *s, uint8_t type, abk_rd *r,
    struct msg_list_head *head, abk_err *err);

/* Send the payload in s->out as a frame of type; resets s->out. */
int session_send_out(struct session *s, uint8_t type, abk_err *err);

/* session_io.c: the session's reader and writer over its TLS connection
 * (login and frame deadlines, account checks while waiting and sending). */
void session_io_init(struct session *s);
/* 1 (after logging it and telling the peer) if rc/err say a login or frame
 * deadline passed, else 0. */
int session_deadline_passed(struct session *s, int rc, const abk_err *err);
/* A push's data phase begins (on = 1) or ends: while on, the client must
 * send at least --min-rate bytes/s, measured over each --frame-timeout of
 * time spent waiting for it. */
void session_rate(struct session *s, int on);
/* After an ERROR that ends a logged-in session mid-stream: drop what the
 * peer still sends for a while, so that it reads the ERROR, not a reset. */
void session_linger(struct session *s);

/* session_account.c: the session follows its account record. */
struct account_user;
void session_account_logged_in(struct session *s, const struct account_user *rec,
    const char *token);
/*
 * Re-read the account (at most every 2 s unless force): ABK_E_AUTH if it
 * was disabled or deleted or the token revoked, ABK_E_QUOTA if a lowered
 * quota is passed by what is stored plus in flight; else ABK_OK with
 * s->quota and s->append_only current.
 */
int session_account_check(struct session *s, int force, abk_err *err);
/* Reserve a push's needed bytes against the quota (0 bytes: always OK). */
int session_quota_reserve(struct session *s, const char *source, uint64_t needed,
    abk_err *err);
void session_quota_release(struct session *s);

/*
 * File-list memory (budget.h) for a snapshot's manifest that is about to be
 * loaded (restore, verify, list-files): ABK_E_LIMIT naming the limit when
 * over; *charged is what to give back with session_list_mem_release.
 */
int session_list_mem_charge(struct session *s, const char *source, const char *id,
    uint64_t *charged, abk_err *err);
void session_list_mem_release(struct session *s, uint64_t charged);

/* Command handlers of other files. */
int session_push(struct session *s, abk_err *err);
int session_restore(struct session *s, abk_err *err);

#endif
