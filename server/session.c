/*
 * session.c - a client connection: handshake, version exchange, login, and
 * the command loop with its dispatch table.  Listing commands live here;
 * push, restore and verify have files of their own; how frames are read and
 * written (deadlines) is session_io.c, following the account
 * session_account.c.
 *
 * Handlers return ABK_OK to keep the session going (also after a refusal
 * they reported with an ERROR frame) and a negative code to end it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "pathsafe.h"
#include "log.h"
#include "proto_msg.h"
#include "session.h"
#include "storage.h"
#include "throttle.h"
#include "tlsconn.h"

#define SESSION_LOGIN_TRIES 3	/* failed logins before the connection ends */

struct session_command {
	uint8_t type;
	const char *action;
	int needs_login;
	int (*run)(struct session *s, abk_err *err);
};

static int session_login_password(struct session *s, abk_err *err);
static int session_login_token(struct session *s, abk_err *err);
static int session_list_sources(struct session *s, abk_err *err);
static int session_list_snapshots(struct session *s, abk_err *err);
static int session_list_files(struct session *s, abk_err *err);
static int session_verify(struct session *s, abk_err *err);

static const struct session_command session_commands[] = {
	{ PT_LOGIN_PASSWORD, "login", 0, session_login_password },
	{ PT_LOGIN_TOKEN, "login-token", 0, session_login_token },
	{ PT_LIST_SOURCES, "list-sources", 1, session_list_sources },
	{ PT_LIST_SNAPSHOTS, "list-snapshots", 1, session_list_snapshots },
	{ PT_LIST_FILES, "list-files", 1, session_list_files },
	{ PT_PUSH_BEGIN, "push", 1, session_push },
	{ PT_RESTORE, "restore", 1, session_restore },
	{ PT_VERIFY, "verify", 1, session_verify },
};

int
session_recv_list(struct session *s, uint8_t type, abk_rd *r, struct msg_list_head *head,
    abk_err *err)
{
	uint8_t got;
	int rc = proto_recv(&s->io, &got, &s->in, err);

	if (rc != ABK_OK)
		return rc;
	if (got != type)
		return abk_err_set(err, ABK_E_PROTO, "expected %s, got %s", proto_type_name(type),
		    proto_type_name(got));
	abk_rd_init(r, s->in.data, s->in.len);
	return msg_list_head_get(r, type, head, err);
}

int
session_send_out(struct session *s, uint8_t type, abk_err *err)
{
	int rc;

	if (s->out.failed)
		return abk_err_set(err, ABK_E_INTERNAL, "reply frame too large");
	rc = proto_send(&s->io, type, s->out.data, s->out.len, err);
	abk_buf_reset(&s->out);
	return rc;
}

/*
 * What a command's return code means for the session (the one place that
 * decides it; never the error text): go on with the next command, end now
 * (connection gone, timed out, shutting down), or end after lingering so the
 * peer reads the ERROR already sent (out of step, over a limit, login
 * refused too often, server failure).
 */
enum session_end { SESSION_GOES_ON, SESSION_ENDS_NOW, SESSION_ENDS_LINGERING };

static enum session_end
session_code_ends(int rc)
{
	switch (rc) {
	case ABK_E_NET:
	case ABK_E_TIMEOUT:
	case ABK_E_TLS:
	case ABK_E_CANCELED:
		return SESSION_ENDS_NOW;	/* nobody left to read an ERROR */
	case ABK_E_PROTO:
	case ABK_E_LIMIT:
	case ABK_E_AUTH:
	case ABK_E_NOMEM:
	case ABK_E_INTERNAL:
		return SESSION_ENDS_LINGERING;	/* out of step: the ERROR was the last word */
	default:
		return SESSION_GOES_ON;		/* a refusal: client and server are in step */
	}
}

int
session_fail(struct session *s, const char *action, const abk_err *e)
{
	abk_err ignored = ABK_ERR_INIT;
	enum log_level lvl = (e->code == ABK_E_PATH || e->code == ABK_E_LIMIT) ?
	    LOG_LVL_SECURITY : LOG_LVL_WARN;

	log_event(lvl, s->peer, s->user[0] ? s->user : NULL, action, "refused: %s",
	    e->msg[0] ? e->msg : abk_strerror(e->code));
	(void)proto_send_error(&s->io, s->shutting_down ? PE_SHUTDOWN :
	    proto_error_from_code(e->code), &ignored, "%s",
	    e->msg[0] ? e->msg : abk_strerror(e->code));
	return e->code;
}

/* Give the pre-login slot back (once): at login or at the end. */
static void
session_unauth_release(struct session *s)
{
	if (s->unauth_held) {
		s->unauth_held = 0;
		srv_unauth_release(s->srv, s->peer);
	}
	tls_conn_set_deadline(s->conn, 0);
}

/*
 * Throttle keys of one login try (invariant 5): the address ("a:ADDR"), the
 * user at that address ("p:USER ADDR") and the user name alone ("u:USER").
 * The name alone is what slows guessing from many addresses, but it is also
 * a lever against the user (anyone can fail logins under bob's name), so it
 * is not applied to a token login (a 256-bit secret is not guessed) nor from
 * an address the user logged in from recently (srv->known_good).
 */
struct login_keys {
	char addr[THROTTLE_KEY_MAX + 72];
	char pair[THROTTLE_KEY_MAX + 72];
	char user[THROTTLE_KEY_MAX + 72];
	char good[THROTTLE_KEY_MAX + 72];
};

static void
login_keys_make(struct login_keys *k, const struct session *s, const char *user)
{
	snprintf(k->addr, sizeof(k->addr), "a:%s", s->peer);
	/* The user name comes first: a long address is cut, never the name. */
	snprintf(k->pair, sizeof(k->pair), "p:%s %s", user, s->peer);
	snprintf(k->user, sizeof(k->user), "u:%s", user);
	snprintf(k->good, sizeof(k->good), "%s %s", user, s->peer);
	if (user[0] == '\0')
		k->pair[0] = k->user[0] = k->good[0] = '\0';	/* ignored keys */
}

/* Sleep for the throttle delay of this login try's keys. */
static void
session_throttle_wait(struct session *s, const struct login_keys *k, int token)
{
	long long now = net_now_ms();
	unsigned d = throttle_delay_ms(s->srv->thr, k->addr, now);
	unsigned dp = throttle_delay_ms(s->srv->thr, k->pair, now);
	unsigned du = 0;
	struct timespec ts;

	if (!token && throttle_failures(s->srv->known_good, k->good, now) == 0)
		du = throttle_delay_ms(s->srv->thr, k->user, now);
	if (dp > d)
		d = dp;
	if (du > d)
		d = du;
	ts.tv_sec = d / 1000;
	ts.tv_nsec = (long)(d % 1000) * 1000000;
	while (d > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
session_login_finish(struct session *s, const char *user, const char *token, int rc,
    enum accounts_reason reason, const char *how, abk_err *err)
{
	struct login_keys k = { "", "", "", "" };
	char safe_user[4 * PROTO_USER_MAX + 1];
	struct account_user rec;
	struct msg_login_ok ok;
	abk_err e2 = ABK_ERR_INIT;

	log_escape(user, strlen(user), safe_user, sizeof(safe_user));
	login_keys_make(&k, s, user);
	if (rc != ABK_OK) {
		if (rc != ABK_E_AUTH) {
			log_event(LOG_LVL_ERROR, s->peer, safe_user, how, "error: %s", err->msg);
			(void)proto_send_error(&s->io, PE_INTERNAL, &e2,
			    "login could not be checked (server error)");
			return rc;
		}
		throttle_fail(s->srv->thr, k.addr, net_now_ms());
		throttle_fail(s->srv->thr, k.pair, net_now_ms());
		throttle_fail(s->srv->thr, k.user, net_now_ms());
		(void)accounts_record_failure(s->srv->acc, user, &e2);
		srv_stat_add(s->srv, &s->srv->stats.logins_failed, 1);
		log_event(LOG_LVL_SECURITY, s->peer, safe_user, how, "refused: %s",
		    accounts_reason_str(reason));
		abk_err_clear(&e2);
		/* the wait is the address's, the same whoever the name: it
		 * tells nothing about the account (invariant 5) */
		unsigned wait_ms = throttle_delay_ms(s->srv->thr, k.addr, net_now_ms());
		char wait[80] = "";

		if (wait_ms > 0)
			snprintf(wait, sizeof(wait), "; too many failed attempts from this "
			    "address: wait %u s", (wait_ms + 999) / 1000);
		(void)proto_send_error(&s->io, PE_AUTH, &e2,
		    "login failed: unknown user, wrong credentials or account disabled%s", wait);
		return ABK_E_AUTH;
	}
	/* Only the name's counts are reset: resetting the address would let one
	 * valid account clear the count of guesses at other accounts.  The
	 * address becomes known good for this user. */
	throttle_success(s->srv->thr, k.user);
	throttle_success(s->srv->thr, k.pair);
	throttle_fail(s->srv->known_good, k.good, net_now_ms());
	(void)accounts_record_success(s->srv->acc, user, &e2);
	abk_err_clear(&e2);
	if (accounts_user_get(s->srv->acc, user, &rec, &e2) != ABK_OK ||
	    storage_user_open(s->srv->cfg.data_dir, user, &s->store, &e2) != ABK_OK) {
		log_event(LOG_LVL_ERROR, s->peer, safe_user, how, "error: %s", e2.msg);
		abk_err_clear(err);
		(void)proto_send_error(&s->io, PE_INTERNAL, err,
		    "cannot open your storage on the server");
		return ABK_E_INTERNAL;
	}
	/* Retention after a push: the policy the admin set for this user or
	 * source, else the server's default. */
	storage_user_set_policy(s->store, srv_policy_for, s->srv);
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->logged_in = 1;
	session_unauth_release(s);
	s->quota = rec.quota;
	s->append_only = rec.append_only;
	session_account_logged_in(s, &rec, token);
	srv_stat_add(s->srv, &s->srv->stats.logins_ok, 1);
	srv_session_set_action(s->srv, &s->info, user, "idle");
	log_event(LOG_LVL_INFO, s->peer, user, how, "ok (%s, %s)",
	    tls_conn_version(s->conn), tls_conn_cipher(s->conn));
	abk_buf_reset(&s->out);
	memset(&ok, 0, sizeof(ok));
	snprintf(ok.user, sizeof(ok.user), "%s", user);
	ok.quota = rec.quota;
	ok.append_only = rec.append_only ? 1 : 0;
	/* the usage for `list` (a cached figure; left out if it cannot be had) */
	abk_err_clear(&e2);
	if (storage_usage(s->store, &ok.used, &e2) == ABK_OK)
		ok.has_used = 1;
	(void)msg_login_ok_put(&s->out, &ok);
	return session_send_out(s, PT_LOGIN_OK, err);
}

static int
session_login_password(struct session *s, abk_err *err)
{
	struct msg_login m;
	struct login_keys k = { "", "", "", "" };
	enum accounts_reason reason = ACCOUNTS_AUTH_OK;
	abk_rd r;
	int rc;

	abk_rd_init(&r, s->in.data, s->in.len);
	if (msg_login_get(&r, PT_LOGIN_PASSWORD, &m, err) != ABK_OK)
		return session_fail(s, "login", err);
	login_keys_make(&k, s, m.user);
	session_throttle_wait(s, &k, 0);
	srv_auth_enter(s->srv);
	rc = accounts_verify_password(s->srv->acc, m.user, m.secret, m.secret_len, &reason,
	    err);
	srv_auth_leave(s->srv);
	return session_login_finish(s, m.user, NULL, rc, reason, "login", err);
}

static int
session_login_token(struct session *s, abk_err *err)
{
	char user[PROTO_USER_MAX + 1], token[PROTO_TOKEN_MAX + 1];
	char found[ACCOUNTS_NAME_MAX + 1] = "";
	struct login_keys k = { "", "", "", "" };
	enum accounts_reason reason = ACCOUNTS_AUTH_OK;
	struct msg_login m;
	abk_rd r;
	int rc;

	abk_rd_init(&r, s->in.data, s->in.len);
	if (msg_login_get(&r, PT_LOGIN_TOKEN, &m, err) != ABK_OK)
		return session_fail(s, "login-token", err);
	memcpy(user, m.user, sizeof(user));
	memcpy(token, m.secret, m.secret_len);	/* at most PROTO_TOKEN_MAX, no NUL */
	token[m.secret_len] = '\0';
	login_keys_make(&k, s, user);
	session_throttle_wait(s, &k, 1);
	srv_auth_enter(s->srv);
	rc = accounts_verify_token(s->srv->acc, token, found, sizeof(found), &reason, err);
	srv_auth_leave(s->srv);
	/* A token names its owner; a user name given beside it must match. */
	if (rc == ABK_OK && user[0] != '\0' && strcmp(user, found) != 0) {
		rc = ABK_E_AUTH;
		reason = ACCOUNTS_AUTH_BAD_SECRET;
	}
	rc = session_login_finish(s, rc == ABK_OK ? found : user, token, rc, reason,
	    "login-token", err);
	memset(token, 0, sizeof(token));
	return rc;
}

/*
 * Listing frames: u8 last, u32 count, items.  Items are gathered in a side
 * buffer and flushed every PROTO_LIST_BATCH items (or when near the frame
 * limit), so a listing of any length streams in bounded frames.
 */
struct session_lister {
	struct session *s;
	uint8_t type;
	abk_buf items;
	uint32_t count;
	int rc;
	abk_err *err;
};

static void
session_lister_init(struct session_lister *l, struct session *s, uint8_t type, abk_err *err)
{
	l->s = s;
	l->type = type;
	abk_buf_init(&l->items, PROTO_FRAME_MAX - 16);
	l->count = 0;
	l->rc = ABK_OK;
	l->err = err;
}

static int
session_lister_flush(struct session_lister *l, int last)
{
	struct session *s = l->s;

	if (l->rc != ABK_OK)
		return l->rc;
	abk_buf_reset(&s->out);
	msg_list_head_put(&s->out, last, l->count);
	abk_put_bytes(&s->out, l->items.data, l->items.len);
	l->rc = session_send_out(s, l->type, l->err);
	abk_buf_reset(&l->items);
	l->count = 0;
	return l->rc;
}

/* Call after appending one item to l->items. */
static int
session_lister_added(struct session_lister *l)
{
	if (l->items.failed) {
		l->rc = abk_err_set(l->err, ABK_E_INTERNAL, "listing item too large");
		return l->rc;
	}
	l->count++;
	if (l->count >= PROTO_LIST_BATCH || l->items.len > PROTO_FRAME_MAX / 2)
		return session_lister_flush(l, 0);
	return ABK_OK;
}

static void
session_lister_free(struct session_lister *l)
{
	abk_buf_free(&l->items);
}

/* The retention policy of a source in words, for `list` (issue 10 item 1). */
static void
source_policy_words(struct session *s, const char *source, char *out, size_t outsz)
{
	struct retention_policy pol;
	const char *from = "server default";
	abk_err err = ABK_ERR_INIT;
	char words[160];

	if (accounts_policy_resolve(s->srv->acc, s->user, source, &s->srv->cfg.retention, &pol,
	    &from, &err) != ABK_OK) {
		snprintf(out, outsz, "unknown (%s)", err.msg);
		return;
	}
	snprintf(out, outsz, "%s%s (%s%s)", s->append_only ? "append-only, prune keeps " : "",
	    retention_format(&pol, words, sizeof(words)), from,
	    strcmp(from, "server default") == 0 ? "" : " policy");
}

static int
list_source_cb(void *ctx, const struct storage_source_info *si)
{
	struct session_lister *l = ctx;
	char policy[PROTO_POLICY_MAX + 1];

	source_policy_words(l->s, si->name, policy, sizeof(policy));
	(void)msg_source_put(&l->items, si->name, si->origin, si->snapshots, si->latest_id,
	    si->latest_time, si->latest_files, si->latest_bytes, policy);
	return session_lister_added(l);
}

static int
session_list_end(struct session *s, struct session_lister *l, int rc, const char *action,
    abk_err *err)
{
	if (rc == ABK_OK && l->rc == ABK_OK)
		rc = session_lister_flush(l, 1);
	else if (l->rc != ABK_OK)
		rc = l->rc;		/* the connection failed while sending */
	else if (abk_code_is_disconnect(rc = session_fail(s, action, err)))
		;			/* the connection is gone: end the session */
	else
		rc = ABK_OK;
	session_lister_free(l);
	return rc;
}

static int
session_list_sources(struct session *s, abk_err *err)
{
	struct session_lister l;
	int rc;

	session_lister_init(&l, s, PT_SOURCES, err);
	rc = storage_list_sources(s->store, list_source_cb, &l, err);
	return session_list_end(s, &l, rc, "list-sources", err);
}

static int
list_snapshot_cb(void *ctx, const struct storage_snapshot_info *si)
{
	struct session_lister *l = ctx;

	(void)msg_snapshot_put(&l->items, si->id, si->time, si->files, si->bytes);
	return session_lister_added(l);
}

static int
session_list_snapshots(struct session *s, abk_err *err)
{
	struct msg_select m;
	struct session_lister l;
	abk_rd r;
	int rc;

	abk_rd_init(&r, s->in.data, s->in.len);
	if (msg_select_get(&r, PT_LIST_SNAPSHOTS, &m, err) != ABK_OK)
		return session_fail(s, "list-snapshots", err);
	session_lister_init(&l, s, PT_SNAPSHOTS, err);
	rc = storage_list_snapshots(s->store, m.source, list_snapshot_cb, &l, err);
	return session_list_end(s, &l, rc, "list-snapshots", err);
}

static int
list_file_cb(void *ctx, uint32_t index, const struct manifest_entry *e)
{
	(void)index;
	struct session_lister *l = ctx;

	if (manifest_entry_encode(&l->items, e) != 0)
		return abk_err_set(l->err, ABK_E_INTERNAL, "listing entry too large");
	return session_lister_added(l);
}

static int
session_list_files(struct session *s, abk_err *err)
{
	struct storage_snapshot *snapshot = NULL;
	struct session_lister l;
	struct msg_select m;
	uint64_t charged = 0;
	abk_rd r;
	int rc;

	abk_rd_init(&r, s->in.data, s->in.len);
	if (msg_select_get(&r, PT_LIST_FILES, &m, err) != ABK_OK)
		return session_fail(s, "list-files", err);
	session_lister_init(&l, s, PT_FILES, err);
	rc = session_list_mem_charge(s, m.source, m.snapshot[0] ? m.snapshot : NULL, &charged,
	    err);
	if (rc == ABK_OK)
		rc = storage_snapshot_open(s->store, m.source, m.snapshot[0] ? m.snapshot : NULL,
		    &snapshot, err);
	if (rc == ABK_OK)
		rc = storage_snapshot_list_dir(snapshot, m.dir, list_file_cb, &l, err);
	storage_snapshot_close(snapshot);
	session_list_mem_release(s, charged);
	return session_list_end(s, &l, rc, "list-files", err);
}

static int
session_hello(struct session *s, abk_err *err)
{
	struct msg_hello m;
	struct msg_hello_ok ok = { PROTO_VERSION, "autobackupd " PACKAGE_VERSION,
	    PROTO_FRAME_MAX };
	abk_err derr = ABK_ERR_INIT;
	uint8_t type;
	abk_rd r;
	int rc;

	rc = proto_recv(&s->io, &type, &s->in, err);
	if (rc != ABK_OK)
		return rc;
	abk_rd_init(&r, s->in.data, s->in.len);
	rc = type == PT_HELLO ? msg_hello_get(&r, &m, &derr) : ABK_E_PROTO;
	if (rc == ABK_E_LIMIT) {
		abk_err_set(err, rc, "%s", derr.msg);
		(void)proto_send_error(&s->io, PE_LIMIT, NULL, "%s", err->msg);
		return rc;
	}
	if (rc != ABK_OK || m.magic != PROTO_MAGIC) {
		abk_err_set(err, ABK_E_PROTO, "expected HELLO as the first frame");
		(void)proto_send_error(&s->io, PE_PROTOCOL, NULL, "%s", err->msg);
		return ABK_E_PROTO;
	}
	if (m.min_version > PROTO_VERSION || m.max_version < PROTO_VERSION) {
		abk_err_set(err, ABK_E_PROTO, "client speaks protocol %u..%u, server %u",
		    m.min_version, m.max_version, PROTO_VERSION);
		(void)proto_send_error(&s->io, PE_VERSION, NULL, "%s", err->msg);
		return ABK_E_PROTO;
	}
	abk_buf_reset(&s->out);
	(void)msg_hello_ok_put(&s->out, &ok);
	return session_send_out(s, PT_HELLO_OK, err);
}

static const struct session_command *
session_find_command(uint8_t type)
{
	for (size_t i = 0; i < sizeof(session_commands) / sizeof(session_commands[0]); i++)
		if (session_commands[i].type == type)
			return &session_commands[i];
	return NULL;
}

static void
session_loop(struct session *s)
{
	abk_err err = ABK_ERR_INIT;
	int failed_logins = 0;

	for (;;) {
		const struct session_command *cmd;
		uint8_t type;
		int rc;

		abk_err_clear(&err);
		srv_session_set_action(s->srv, &s->info, NULL, "idle");
		tls_conn_set_timeout(s->conn, s->srv->cfg.idle_timeout_ms);
		tls_conn_set_wake_fd(s->conn, s->srv->wake_pipe[0]);
		rc = proto_recv(&s->io, &type, &s->in, &err);
		tls_conn_set_wake_fd(s->conn, -1);
		if (rc == ABK_E_CANCELED || s->shutting_down) {
			(void)proto_send_error(&s->io, PE_SHUTDOWN, NULL,
			    "server is shutting down");
			return;
		}
		if (session_deadline_passed(s, rc, &err))
			return;
		if (rc == ABK_E_TIMEOUT) {
			log_event(LOG_LVL_INFO, s->peer, s->user[0] ? s->user : NULL, "idle",
			    "closed after %d s without a command",
			    s->srv->cfg.idle_timeout_ms / 1000);
			(void)proto_send_error(&s->io, PE_TIMEOUT, NULL,
			    "idle timeout: closing the connection");
			return;
		}
		if (rc != ABK_OK) {
			if (!abk_code_is_disconnect(rc))
				(void)session_fail(s, "frame", &err);
			return;
		}
		if (type == PT_BYE)
			return;
		/* Between commands: the account as it is now (another process may
		 * have disabled it, deleted it, revoked the token, changed quota). */
		if (session_account_check(s, 1, &err) != ABK_OK) {
			(void)session_fail(s, "account", &err);
			return;
		}
		cmd = session_find_command(type);
		if (cmd == NULL) {
			abk_err_set(&err, ABK_E_PROTO, "unexpected %s frame",
			    proto_type_name(type));
			(void)session_fail(s, "frame", &err);
			return;
		}
		if (cmd->needs_login && !s->logged_in) {
			(void)proto_send_error(&s->io, PE_NOT_LOGGED_IN, NULL,
			    "log in first");
			return;
		}
		if (!cmd->needs_login && s->logged_in) {
			(void)proto_send_error(&s->io, PE_PROTOCOL, NULL, "already logged in");
			continue;
		}
		srv_session_set_action(s->srv, &s->info, NULL, cmd->action);
		tls_conn_set_timeout(s->conn, s->srv->cfg.idle_timeout_ms);
		rc = cmd->run(s, &err);
		if (rc == ABK_E_AUTH && ++failed_logins < SESSION_LOGIN_TRIES)
			continue;
		switch (session_code_ends(rc)) {
		case SESSION_GOES_ON:
			break;
		case SESSION_ENDS_NOW:
			return;
		case SESSION_ENDS_LINGERING:
			session_linger(s);
			return;
		}
	}
}

void
session_run(struct srv *srv, int fd, const char *peer)
{
	struct session s;
	abk_err err = ABK_ERR_INIT;
	int hs_ms, rc;

	memset(&s, 0, sizeof(s));
	s.srv = srv;
	s.unauth_held = 1;
	s.login_deadline = net_now_ms() + srv->cfg.login_timeout_ms;
	abk_buf_init(&s.in, PROTO_FRAME_MAX);
	abk_buf_init(&s.out, PROTO_FRAME_MAX);
	snprintf(s.peer, sizeof(s.peer), "%s", peer);
	snprintf(s.info.peer, sizeof(s.info.peer), "%s", s.peer);
	snprintf(s.info.action, sizeof(s.info.action), "handshake");
	s.info.fd = fd;
	srv_session_register(srv, &s.info);

	hs_ms = srv->cfg.handshake_timeout_ms < srv->cfg.login_timeout_ms ?
	    srv->cfg.handshake_timeout_ms : srv->cfg.login_timeout_ms;
	if (tls_accept(srv->tls, fd, hs_ms, &s.conn, &err) != ABK_OK) {
		log_event(LOG_LVL_WARN, s.peer, NULL, "tls", "handshake failed: %s", err.msg);
		goto out;
	}
	session_io_init(&s);
	tls_conn_set_timeout(s.conn, srv->cfg.handshake_timeout_ms);
	tls_conn_set_wake_fd(s.conn, srv->wake_pipe[0]);
	if ((rc = session_hello(&s, &err)) != ABK_OK) {
		if (session_deadline_passed(&s, rc, &err))
			goto out;
		log_event(LOG_LVL_WARN, s.peer, NULL, "hello", "failed: %s", err.msg);
		goto out;
	}
	session_loop(&s);
out:
	if (s.unauth_held) {
		s.unauth_held = 0;
		srv_unauth_release(srv, s.peer);
	}
	srv_session_unregister(srv, &s.info);
	if (s.logged_in)
		log_event(LOG_LVL_INFO, s.peer, s.user, "disconnect", "session ended");
	storage_user_close(s.store);
	tls_conn_free(s.conn);	/* closes fd (tls_accept closed it on failure) */
	abk_buf_free(&s.in);
	abk_buf_free(&s.out);
}

static int
verify_problem_cb(void *ctx, const char *path, size_t path_len, const char *problem)
{
	struct session_lister *l = ctx;

	(void)msg_problem_put(&l->items, path, path_len, problem);
	return session_lister_added(l);
}

static int
session_verify(struct session *s, abk_err *err)
{
	struct storage_verify_counts counts;
	struct storage_snapshot *snap = NULL;
	struct session_lister l;
	struct msg_select m;
	struct msg_verify_result res;
	const char *source = m.source, *id = m.snapshot;
	char snap_id[PROTO_SNAPSHOT_ID_MAX + 1] = "";
	uint64_t charged = 0;
	abk_rd r;
	int rc;

	abk_rd_init(&r, s->in.data, s->in.len);
	if (msg_select_get(&r, PT_VERIFY, &m, err) != ABK_OK)
		return session_fail(s, "verify", err);
	/* Resolve "latest" once so the report names the snapshot checked. */
	rc = session_list_mem_charge(s, source, id[0] ? id : NULL, &charged, err);
	if (rc == ABK_OK)
		rc = storage_snapshot_open(s->store, source, id[0] ? id : NULL, &snap, err);
	if (rc == ABK_OK)
		snprintf(snap_id, sizeof(snap_id), "%s", storage_snapshot_id(snap));
	storage_snapshot_close(snap);
	if (rc != ABK_OK) {
		session_list_mem_release(s, charged);
		rc = session_fail(s, "verify", err);
		return abk_code_is_disconnect(rc) ? rc : ABK_OK;
	}
	session_lister_init(&l, s, PT_VERIFY_PROBLEMS, err);
	memset(&counts, 0, sizeof(counts));
	srv_session_set_action(s->srv, &s->info, NULL, "verify");
	rc = storage_verify(s->store, source, snap_id, verify_problem_cb, &l, &counts, err);
	session_list_mem_release(s, charged);
	if (rc == ABK_E_INTEGRITY) {
		abk_err_clear(err);
		rc = ABK_OK;
	}
	rc = session_list_end(s, &l, rc, "verify", err);
	if (rc != ABK_OK)
		return rc;
	log_event(counts.problems ? LOG_LVL_WARN : LOG_LVL_INFO, s->peer, s->user, "verify",
	    "%s snapshot %s: %llu entries, %llu problems", source, snap_id,
	    (unsigned long long)counts.entries, (unsigned long long)counts.problems);
	abk_buf_reset(&s->out);
	memset(&res, 0, sizeof(res));
	memcpy(res.snapshot, snap_id, sizeof(res.snapshot));
	res.checked = counts.entries;
	res.missing = counts.missing;
	res.damaged = counts.corrupted + counts.size_differs + counts.wrong_type +
	    counts.target_differs;
	res.bytes = counts.bytes;
	(void)msg_verify_result_put(&s->out, &res);
	return session_send_out(s, PT_VERIFY_RESULT, err);
}
