/*
 * client.c - connecting and logging in, and the listing commands of the
 * client engine.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "pathsafe.h"
#include "proto_msg.h"
#include "net.h"
#include "strutil.h"

int
client_send(abk_client *c, uint8_t type, abk_err *err)
{
	int rc;

	if (c->broken)
		return abk_err_set(err, ABK_E_NET, "connection is no longer usable");
	if (c->out.failed) {
		abk_buf_reset(&c->out);
		return abk_err_set(err, ABK_E_LIMIT, "request too large for one frame");
	}
	rc = proto_send(&c->io, type, c->out.data, c->out.len, err);
	abk_buf_reset(&c->out);
	if (rc != ABK_OK)
		c->broken = 1;
	return rc;
}

int
client_recv(abk_client *c, uint8_t want, uint8_t *type, abk_err *err)
{
	uint8_t t;
	int rc;

	if (c->broken)
		return abk_err_set(err, ABK_E_NET, "connection is no longer usable");
	rc = proto_recv(&c->io, &t, &c->in, err);
	if (rc != ABK_OK) {
		c->broken = 1;
		return rc;
	}
	if (type != NULL)
		*type = t;
	if (t == PT_ERROR) {
		rc = proto_decode_error(c->in.data, c->in.len, err);
		if (rc == ABK_E_PROTO)
			c->broken = 1;
		return rc;
	}
	if (want != 0 && t != want) {
		c->broken = 1;
		return abk_err_set(err, ABK_E_PROTO, "server sent %s, expected %s",
		    proto_type_name(t), proto_type_name(want));
	}
	return ABK_OK;
}

static int
client_hello(abk_client *c, abk_err *err)
{
	const struct msg_hello hello = { PROTO_MAGIC, PROTO_VERSION, PROTO_VERSION,
	    "autobackup " PACKAGE_VERSION };
	struct msg_hello_ok ok;
	abk_err derr = ABK_ERR_INIT;
	abk_rd r;
	int rc;

	(void)msg_hello_put(&c->out, &hello);
	if ((rc = client_send(c, PT_HELLO, err)) != ABK_OK ||
	    (rc = client_recv(c, PT_HELLO_OK, NULL, err)) != ABK_OK)
		return rc;
	abk_rd_init(&r, c->in.data, c->in.len);
	if (msg_hello_ok_get(&r, &ok, &derr) != ABK_OK || ok.version != PROTO_VERSION)
		return abk_err_set(err, ABK_E_PROTO, "server answered an unusable HELLO_OK%s%s",
		    derr.msg[0] ? ": " : "", derr.msg);
	memcpy(c->server_software, ok.software, sizeof(c->server_software));
	return ABK_OK;
}

static int
client_login(abk_client *c, const struct abk_profile *p, abk_err *err)
{
	struct msg_login_ok ok;
	abk_rd r;
	int rc;

	(void)msg_login_put(&c->out, p->user, p->secret, strlen(p->secret));
	rc = client_send(c, p->secret_is_token ? PT_LOGIN_TOKEN : PT_LOGIN_PASSWORD, err);
	/* The frame held the secret: wipe the buffer, not just reset it. */
	if (c->out.data != NULL)
		abk_wipe(c->out.data, c->out.cap);
	if (rc != ABK_OK)
		return rc;
	rc = client_recv(c, PT_LOGIN_OK, NULL, err);
	if (rc != ABK_OK)
		return rc;
	abk_rd_init(&r, c->in.data, c->in.len);
	if ((rc = msg_login_ok_get(&r, &ok, err)) != ABK_OK)
		return rc;
	memcpy(c->user, ok.user, sizeof(c->user));
	c->quota = ok.quota;
	c->has_used = ok.has_used;
	c->used = ok.used;
	c->append_only = ok.append_only;
	return ABK_OK;
}

int
abk_engine_init(abk_err *err)
{
	return tls_global_init(err);
}

void
abk_engine_cleanup(void)
{
	tls_global_cleanup();
}

void
abk_engine_thread_done(void)
{
	tls_thread_cleanup();
}

int
abk_connect(const struct abk_profile *p, abk_client **out, abk_err *err)
{
	return abk_connect_cancelable(p, -1, out, err);
}

int
abk_connect_cancelable(const struct abk_profile *p, int cancel_fd, abk_client **out,
    abk_err *err)
{
	char host[NET_HOST_MAX];
	abk_client *c;
	int port, fd = -1, rc;

	if (p->server[0] == '\0')
		return abk_err_set(err, ABK_E_USAGE, "no server given (--server HOST:PORT)");
	if (p->ca_file[0] == '\0')
		return abk_err_set(err, ABK_E_USAGE,
		    "no CA certificate given (--ca FILE, the server's ca.pem)");
	if (p->user[0] == '\0' && !p->secret_is_token)
		return abk_err_set(err, ABK_E_USAGE, "no user name given (--user NAME)");
	rc = net_split_hostport(p->server, ABK_DEFAULT_PORT, host, &port, err);
	if (rc != ABK_OK)
		return rc;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	abk_buf_init(&c->in, PROTO_FRAME_MAX);
	abk_buf_init(&c->out, PROTO_FRAME_MAX);
	rc = tls_client_ctx_new(p->ca_file, &c->tls, err);
	if (rc == ABK_OK)
		rc = net_connect(host, port, p->connect_timeout_ms > 0 ? p->connect_timeout_ms :
		    15000, cancel_fd, &fd, err);
	if (rc == ABK_OK)
		rc = tls_connect(c->tls, fd, host, p->connect_timeout_ms > 0 ?
		    p->connect_timeout_ms : 15000, cancel_fd, &c->conn, err);
	if (rc == ABK_OK) {
		tls_conn_io(c->conn, &c->io);
		tls_conn_set_timeout(c->conn, p->io_timeout_ms > 0 ? p->io_timeout_ms : 120000);
		rc = client_hello(c, err);
	}
	if (rc == ABK_OK)
		rc = client_login(c, p, err);
	if (c->conn != NULL)
		tls_conn_set_wake_fd(c->conn, -1);	/* the caller may close it now */
	if (rc != ABK_OK) {
		c->broken = 1;
		abk_disconnect(c);
		return rc;
	}
	*out = c;
	return ABK_OK;
}

void
abk_disconnect(abk_client *c)
{
	abk_err ignored = ABK_ERR_INIT;

	if (c == NULL)
		return;
	if (c->conn != NULL && !c->broken)
		(void)client_send(c, PT_BYE, &ignored);
	tls_conn_free(c->conn);
	tls_ctx_free(c->tls);
	abk_buf_free(&c->in);
	abk_buf_free(&c->out);
	free(c);
}

const char *
abk_server_software(const abk_client *c)
{
	return c->server_software;
}

uint64_t
abk_user_quota(const abk_client *c)
{
	return c->quota;
}

int
abk_user_usage(const abk_client *c, uint64_t *used)
{
	*used = c->used;
	return c->has_used;
}

/*
 * Run a listing: send the request in c->out as type req, then read frames
 * of type resp (u8 last, u32 count, items) and hand each item to decode.
 */
typedef int (*client_item_fn)(abk_rd *r, void *fnctx, abk_err *err);

static int
client_listing(abk_client *c, uint8_t req, uint8_t resp, client_item_fn fn, void *fnctx,
    abk_err *err)
{
	int rc = client_send(c, req, err);
	int stop = 0;

	while (rc == ABK_OK) {
		struct msg_list_head head;
		abk_rd r;

		rc = client_recv(c, resp, NULL, err);
		if (rc != ABK_OK)
			return rc;
		abk_rd_init(&r, c->in.data, c->in.len);
		if ((rc = msg_list_head_get(&r, resp, &head, err)) != ABK_OK)
			return rc;
		for (uint32_t i = 0; i < head.count && rc == ABK_OK; i++) {
			if (stop) {
				/* keep reading to stay in sync, drop the items */
				break;
			}
			rc = fn(&r, fnctx, err);
			if (rc > 0) {
				stop = rc;
				rc = ABK_OK;
			}
		}
		if (rc != ABK_OK) {
			c->broken = 1;
			return rc;
		}
		if (head.last)
			break;
	}
	return rc == ABK_OK ? stop : rc;
}

struct source_ctx {
	abk_source_cb cb;
	void *ctx;
};

static int
source_item(abk_rd *r, void *vctx, abk_err *err)
{
	struct source_ctx *sc = vctx;
	struct msg_source m;
	struct abk_source_info si;
	int rc;

	if ((rc = msg_source_get(r, &m, err)) != ABK_OK)
		return rc;
	memset(&si, 0, sizeof(si));
	si.name = m.name;
	si.origin = m.origin;
	si.snapshots = m.snapshots;
	si.latest_id = m.latest_id;
	si.latest_time = m.latest_time;
	si.latest_files = m.latest_files;
	si.latest_bytes = m.latest_bytes;
	si.policy = m.policy;
	return sc->cb(sc->ctx, &si);
}

int
abk_list_sources(abk_client *c, abk_source_cb cb, void *ctx, abk_err *err)
{
	struct source_ctx sc = { cb, ctx };

	return client_listing(c, PT_LIST_SOURCES, PT_SOURCES, source_item, &sc, err);
}

struct snapshot_ctx {
	abk_snapshot_cb cb;
	void *ctx;
};

static int
snapshot_item(abk_rd *r, void *vctx, abk_err *err)
{
	struct snapshot_ctx *sc = vctx;
	struct msg_snapshot m;
	struct abk_snapshot_info si;
	int rc;

	if ((rc = msg_snapshot_get(r, &m, err)) != ABK_OK)
		return rc;
	memset(&si, 0, sizeof(si));
	si.id = m.id;
	si.time = m.time;
	si.files = m.files;
	si.bytes = m.bytes;
	return sc->cb(sc->ctx, &si);
}

int
abk_list_snapshots(abk_client *c, const char *source, abk_snapshot_cb cb, void *ctx,
    abk_err *err)
{
	struct snapshot_ctx sc = { cb, ctx };

	(void)msg_select_put(&c->out, PT_LIST_SNAPSHOTS, source, NULL, NULL);
	return client_listing(c, PT_LIST_SNAPSHOTS, PT_SNAPSHOTS, snapshot_item, &sc, err);
}

struct entry_ctx {
	abk_entry_cb cb;
	void *ctx;
};

static int
entry_item(abk_rd *r, void *vctx, abk_err *err)
{
	struct entry_ctx *ec = vctx;
	struct manifest_entry e;
	int rc = manifest_entry_decode(r, &e, err);

	if (rc != ABK_OK)
		return rc;
	return ec->cb(ec->ctx, &e);
}

int
abk_list_files(abk_client *c, const char *source, const char *snapshot, const char *dir,
    abk_entry_cb cb, void *ctx, abk_err *err)
{
	struct entry_ctx ec = { cb, ctx };

	(void)msg_select_put(&c->out, PT_LIST_FILES, source, snapshot, dir);
	return client_listing(c, PT_LIST_FILES, PT_FILES, entry_item, &ec, err);
}

struct problem_ctx {
	abk_problem_cb cb;
	void *ctx;
};

static int
problem_item(abk_rd *r, void *vctx, abk_err *err)
{
	struct problem_ctx *pc = vctx;
	struct msg_problem m;
	int rc;

	if ((rc = msg_problem_get(r, &m, err)) != ABK_OK)
		return rc;
	if (pc->cb != NULL)
		pc->cb(pc->ctx, m.path, m.problem);
	return 0;
}

int
abk_verify(abk_client *c, const char *source, const char *snapshot, abk_problem_cb cb,
    void *ctx, struct abk_verify_result *res, abk_err *err)
{
	struct problem_ctx pc = { cb, ctx };
	struct msg_verify_result m;
	abk_rd r;
	int rc;

	memset(res, 0, sizeof(*res));
	(void)msg_select_put(&c->out, PT_VERIFY, source, snapshot, NULL);
	rc = client_listing(c, PT_VERIFY, PT_VERIFY_PROBLEMS, problem_item, &pc, err);
	if (rc != ABK_OK)
		return rc;
	rc = client_recv(c, PT_VERIFY_RESULT, NULL, err);
	if (rc != ABK_OK)
		return rc;
	abk_rd_init(&r, c->in.data, c->in.len);
	if ((rc = msg_verify_result_get(&r, &m, err)) != ABK_OK)
		return rc;
	memcpy(res->snapshot, m.snapshot, sizeof(m.snapshot));
	res->checked = m.checked;
	res->missing = m.missing;
	res->corrupted = m.damaged;
	res->bytes = m.bytes;
	if (res->missing > 0 || res->corrupted > 0)
		return abk_err_set(err, ABK_E_INTEGRITY,
		    "snapshot %s: %llu missing, %llu corrupted of %llu files", res->snapshot,
		    (unsigned long long)res->missing, (unsigned long long)res->corrupted,
		    (unsigned long long)res->checked);
	return ABK_OK;
}

void
client_resume_hint(abk_err *err, int code, const char *what)
{
	char was[ABK_ERR_MSG_MAX];

	if (err == NULL || err->code != code)
		return;
	snprintf(was, sizeof(was), "%s", err->msg);
	abk_err_clear(err);
	if (code == ABK_E_NET && strstr(was, "closed by peer") != NULL)
		abk_err_set(err, code, "server closed the connection (it may be restarting); "
		    "run the same command again to resume %s", what);
	else if (code == ABK_E_CANCELED)
		abk_err_set(err, code, "%s; run the same command again to resume %s", was, what);
	else
		abk_err_set(err, code, "%s; the connection is gone: run the same command again "
		    "to resume %s", was, what);
}
