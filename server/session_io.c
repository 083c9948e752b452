/*
 * session_io.c - how a session reads and writes frames (invariant 7): the
 * login deadline and the deadline per whole frame, the account re-read
 * while waiting and while sending (session_account.c), and the lingering
 * close after an ERROR that ends a stream.  Everything here runs on the
 * session's own thread.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "session.h"
#include "tlsconn.h"

#define SESSION_WAIT_SLICE_MS 2000	/* re-read the account this often when idle */
#define SESSION_LINGER_MS 10000	/* drain after an ERROR that ends a stream */
#define SESSION_LINGER_STOP_MS 2000	/* the same when the server is stopping */

/* The deadline that bounds waits between frames: the login's, until then. */
static long long
session_base_deadline(const struct session *s)
{
	return s->logged_in ? 0 : s->login_deadline;
}

void
session_rate(struct session *s, int on)
{
	s->rate_on = on && s->srv->cfg.min_rate > 0;
	s->rate_wait_ms = 0;
	s->rate_bytes = 0;
}

/* Bytes a window (frame_timeout_ms of waiting for the client) must bring. */
static uint64_t
session_rate_need(const struct session *s)
{
	return (uint64_t)s->srv->cfg.min_rate * (uint64_t)s->srv->cfg.frame_timeout_ms / 1000;
}

/*
 * The minimum rate of a push's data (issue 11: a peer sending a byte now and
 * then, each frame well inside its deadline, held a worker for as long as it
 * liked).  Time counts only while the session waits for the client (in its
 * reads), so a server busy writing to a slow disk does not blame the
 * client.  Called after each read: a window of waiting that brought fewer
 * bytes than it must ends the session as a deadline does
 * (session_deadline_passed).
 */
static int
session_rate_account(struct session *s, long long waited, size_t got, abk_err *err)
{
	if (!s->rate_on)
		return ABK_OK;
	s->rate_wait_ms += waited > 0 ? waited : 0;
	s->rate_bytes += got;
	if (s->rate_wait_ms < s->srv->cfg.frame_timeout_ms)
		return ABK_OK;
	if (s->rate_bytes >= session_rate_need(s)) {
		s->rate_wait_ms = 0;
		s->rate_bytes = 0;
		return ABK_OK;
	}
	s->rate_failed = 1;
	return abk_err_set(err, ABK_E_TIMEOUT, "minimum transfer rate deadline passed");
}

/* How long a wait for the next byte may last before the window fails
 * (-1: no bound). */
static long long
session_rate_left(const struct session *s)
{
	if (!s->rate_on || s->rate_bytes >= session_rate_need(s))
		return -1;
	return s->srv->cfg.frame_timeout_ms > s->rate_wait_ms ?
	    s->srv->cfg.frame_timeout_ms - s->rate_wait_ms : 0;
}

/* The server is stopping: this session ends at the frame boundary it
 * reached (session_fail and session_loop then send PE_SHUTDOWN). */
static int
session_shutdown_cut(struct session *s, abk_err *err)
{
	s->shutting_down = 1;
	return abk_err_set(err, ABK_E_BUSY, "server is shutting down");
}

/*
 * Wait for the first byte of a frame.  A logged-in session waits in slices
 * and re-reads its account between them (session_account.c), so that an
 * idle session of a disabled user ends within seconds, and a session
 * receiving data notices a changed account; the idle timeout stays whole.
 * A stopping server ends a logged-in session here, between two frames: a
 * push in its data phase stops with what arrived synced in staging (a
 * resume sends the rest) instead of running on for the whole grace period;
 * the wake pipe ends the wait of a session whose client is silent.  A frame
 * already begun is read to its end (its own deadline bounds it).
 */
static int
session_first_byte(struct session *s, void *buf, abk_err *err)
{
	long long idle_end, rate_end;
	int rc;

	if (!s->logged_in)
		return tls_read_full(s->conn, buf, 1, err);
	if (srv_is_stopping(s->srv))
		return session_shutdown_cut(s, err);
	if ((rc = session_account_check(s, 0, err)) != ABK_OK)
		return rc;
	idle_end = net_now_ms() + s->srv->cfg.idle_timeout_ms;
	rate_end = session_rate_left(s) < 0 ? 0 : net_now_ms() + session_rate_left(s);
	if (rate_end != 0 && rate_end < idle_end)
		idle_end = rate_end;
	for (;;) {
		abk_err tmp = ABK_ERR_INIT;
		long long left = idle_end - net_now_ms();

		tls_conn_set_timeout(s->conn, left > SESSION_WAIT_SLICE_MS ?
		    SESSION_WAIT_SLICE_MS : left > 0 ? (int)left : 1);
		tls_conn_set_wake_fd(s->conn, s->srv->wake_pipe[0]);
		rc = tls_read_full(s->conn, buf, 1, &tmp);
		tls_conn_set_wake_fd(s->conn, -1);
		tls_conn_set_timeout(s->conn, s->srv->cfg.idle_timeout_ms);
		if (rc == ABK_OK)
			return ABK_OK;
		if (rc == ABK_E_CANCELED)
			return session_shutdown_cut(s, err);
		if (rc == ABK_E_TIMEOUT && rate_end != 0 && net_now_ms() >= rate_end) {
			s->rate_failed = 1;
			return abk_err_set(err, ABK_E_TIMEOUT, "minimum transfer rate deadline passed");
		}
		if (rc != ABK_E_TIMEOUT || net_now_ms() >= idle_end)
			return abk_err_set(err, rc, "%s", tmp.msg);
		if ((rc = session_account_check(s, 0, err)) != ABK_OK)
			return rc;
	}
}

/*
 * The reader under proto_recv (invariant 7: a deadline per whole frame, not
 * per byte).  The first byte of a header may take the per-read idle timeout;
 * from it on, the rest of the header and the whole payload must arrive
 * within frame_timeout_ms, however the peer trickles them; and before login
 * everything must happen before the login deadline.  proto_recv reads a
 * header, then a payload when the header announces one.  Without the rate
 * accounting of a push (session_read_full).
 */
static int
session_read_frames(struct session *s, void *buf, size_t len, abk_err *err)
{
	long long frame_deadline;
	uint8_t type;
	uint32_t flen;
	int rc;

	if (s->in_frame) {
		rc = tls_read_full(s->conn, buf, len, err);
		if (rc == ABK_OK)
			s->frame_deadline = 0;
		s->in_frame = 0;
		tls_conn_set_deadline(s->conn, session_base_deadline(s));
		return rc;
	}
	tls_conn_set_deadline(s->conn, session_base_deadline(s));
	if (len == 0)
		return ABK_OK;
	rc = session_first_byte(s, buf, err);
	if (rc != ABK_OK)
		return rc;
	s->frame_deadline = net_now_ms() + s->srv->cfg.frame_timeout_ms;
	frame_deadline = s->frame_deadline;
	if (!s->logged_in && s->login_deadline < frame_deadline)
		frame_deadline = s->login_deadline;
	tls_conn_set_deadline(s->conn, frame_deadline);
	rc = tls_read_full(s->conn, (uint8_t *)buf + 1, len - 1, err);
	if (rc != ABK_OK)
		return rc;
	if (len == PROTO_HEADER_LEN &&
	    proto_parse_header(buf, PROTO_FRAME_MAX, &type, &flen, NULL) == ABK_OK && flen > 0) {
		s->in_frame = 1;
	} else {
		s->frame_deadline = 0;
		tls_conn_set_deadline(s->conn, session_base_deadline(s));
	}
	return rc;
}

/*
 * Every byte of the protocol, frames and pushed or restored data alike, goes
 * through these two: the console's bytes in/out count here (issue 10 item
 * 6; before, only command frames were counted: "in 128 B" after a 1 GiB
 * push).  Atomic: a push's receiver and unpacker threads share the session.
 */
static int
session_read_full(void *ctx, void *buf, size_t len, abk_err *err)
{
	struct session *s = ctx;
	long long t0 = net_now_ms();
	int rc = session_read_frames(s, buf, len, err);

	if (rc == ABK_OK)
		__atomic_fetch_add(&s->info.bytes_in, (uint64_t)len, __ATOMIC_RELAXED);
	if (rc == ABK_OK && s->rate_on)
		rc = session_rate_account(s, net_now_ms() - t0, len, err);
	return rc;
}

/*
 * If rc/err say the login or frame deadline passed: log it as a security
 * event, tell the peer (best effort, within a second) and return 1.
 */
int
session_deadline_passed(struct session *s, int rc, const abk_err *err)
{
	/* Which of the two deadlines bounded the wait that failed. */
	int frame = s->frame_deadline != 0 &&
	    (s->logged_in || s->frame_deadline < s->login_deadline);
	long long deadline = frame ? s->frame_deadline : s->logged_in ? 0 : s->login_deadline;

	(void)err;
	if (rc != ABK_E_TIMEOUT)
		return 0;
	if (s->rate_failed) {
		log_event(LOG_LVL_SECURITY, s->peer, s->user, "deadline", "closed: push data "
		    "slower than %u bytes/s over %d s", s->srv->cfg.min_rate,
		    s->srv->cfg.frame_timeout_ms / 1000);
		tls_conn_set_deadline(s->conn, 0);
		tls_conn_set_timeout(s->conn, 1000);
		(void)proto_send_error(&s->io, PE_TIMEOUT, NULL, "push data slower than %u "
		    "bytes/s (the server's --min-rate): closing the connection",
		    s->srv->cfg.min_rate);
		return 1;
	}
	/* A timeout at or past the deadline in force is that deadline; an
	 * earlier one is the idle timeout (the caller's). */
	if (deadline == 0 || net_now_ms() < deadline)
		return 0;
	log_event(LOG_LVL_SECURITY, s->peer, s->user[0] ? s->user : NULL, "deadline",
	    "closed: %s not complete in %d s", frame ? "frame" : "login",
	    (frame ? s->srv->cfg.frame_timeout_ms : s->srv->cfg.login_timeout_ms) / 1000);
	tls_conn_set_deadline(s->conn, 0);
	tls_conn_set_timeout(s->conn, 1000);
	(void)proto_send_error(&s->io, PE_TIMEOUT, NULL, "%s deadline passed: closing the "
	    "connection", frame ? "frame" : "login");
	return 1;
}

/*
 * The writer under proto_send: a long restore follows the account too (a
 * check at most every 2 s, session_account.c); once a check failed, the
 * ERROR that says so goes out unchecked.
 */
static int
session_write_all(void *ctx, const void *buf, size_t len, abk_err *err)
{
	struct session *s = ctx;
	int rc;

	if (!s->acct_failed && (rc = session_account_check(s, 0, err)) != ABK_OK)
		return rc;
	rc = tls_write_all(s->conn, buf, len, err);
	if (rc == ABK_OK)
		__atomic_fetch_add(&s->info.bytes_out, (uint64_t)len, __ATOMIC_RELAXED);
	return rc;
}

/*
 * After an ERROR that ends the session in the middle of a stream (a push
 * refused as its data arrives): read and drop what the peer still sends for
 * up to SESSION_LINGER_MS, so that its writes are not answered by a reset
 * before it has read our ERROR.
 */
void
session_linger(struct session *s)
{
	uint8_t scratch[4096];
	abk_err ignored = ABK_ERR_INIT;

	if (!s->logged_in)
		return;		/* nothing streams before login; its deadline stands */
	/* Stopping: the client reads our ERROR between two batches; a slow
	 * one is not waited for (the grace period bounds this anyway). */
	tls_conn_set_deadline(s->conn, net_now_ms() +
	    (s->shutting_down ? SESSION_LINGER_STOP_MS : SESSION_LINGER_MS));
	while (tls_read_full(s->conn, scratch, sizeof(scratch), &ignored) == ABK_OK)
		;
	tls_conn_set_deadline(s->conn, 0);
}

void
session_io_init(struct session *s)
{
	tls_conn_io(s->conn, &s->io);
	s->io.ctx = s;
	s->io.read_full = session_read_full;
	s->io.write_all = session_write_all;
}
