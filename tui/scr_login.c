/*
 * scr_login.c - the first screen: server, CA file, user and password (or
 * token), pre-filled from --server/--ca/--user/--profile and the config
 * file by abk_config_resolve (the rules --batch uses).  With a configured
 * token or password file the login happens without asking.  A failure is
 * shown in words with the field to fix focused.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "keys.h"
#include "strutil.h"
#include "ui.h"

static int login_try(struct app *a);

static const char *const login_labels[LF_COUNT] = {
	"Server (HOST[:PORT])", "CA file", "User", "Password",
};

#define LOGIN_Y 3
#define LOGIN_LABEL_W 24

void
login_init(struct app *a)
{
	struct login_state *l = &a->login;
	abk_err err = ABK_ERR_INIT;
	struct abk_profile p;
	int rc;

	rc = abk_config_resolve(&a->o->conn, ABK_RESOLVE_SECRET_OPTIONAL, &p, &a->cfg, &err);
	snprintf(l->field[LF_SERVER], sizeof(l->field[0]), "%s", p.server);
	snprintf(l->field[LF_CA], sizeof(l->field[0]), "%s", p.ca_file);
	snprintf(l->field[LF_USER], sizeof(l->field[0]), "%s", p.user);
	snprintf(l->field[LF_SECRET], sizeof(l->field[0]), "%s", p.secret);
	l->token = p.secret_is_token;
	abk_wipe(p.secret, sizeof(p.secret));
	for (int i = 0; i < LF_COUNT; i++)
		l->cur[i] = strlen(l->field[i]);
	l->focus = LF_SECRET;
	for (int i = LF_COUNT - 1; i >= 0; i--)
		if (l->field[i][0] == '\0')
			l->focus = i;
	if (rc != ABK_OK) {
		snprintf(l->error, sizeof(l->error), "%s", err.msg);
		return;
	}
	if (l->field[LF_SECRET][0] != '\0' && l->field[LF_SERVER][0] != '\0') {
		l->tried_stored = 1;
		(void)login_try(a);
	}
}

void
login_cursor(struct app *a, int *cy, int *cx)
{
	struct login_state *l = &a->login;
	const char *f = l->field[l->focus];

	*cy = LOGIN_Y + 2 + 2 * l->focus;
	if (l->focus == LF_SECRET)
		*cx = 2 + LOGIN_LABEL_W + (int)strlen(f) % (a->cols - LOGIN_LABEL_W - 4);
	else
		*cx = 2 + LOGIN_LABEL_W + ui_width(f, l->cur[l->focus]);
	if (*cx >= a->cols - 1)
		*cx = a->cols - 2;
}

void
login_draw(struct app *a)
{
	struct login_state *l = &a->login;
	int fw = a->cols - LOGIN_LABEL_W - 4;

	ui_text(LOGIN_Y, 2, R_NORMAL, "Log in to your backup server.", a->cols - 4, 0);
	for (int i = 0; i < LF_COUNT; i++) {
		int y = LOGIN_Y + 2 + 2 * i;
		const char *label = i == LF_SECRET && l->token ? "Token" : login_labels[i];

		ui_text(y, 2, i == l->focus ? R_MARK : R_NORMAL, label, LOGIN_LABEL_W - 1, 1);
		if (i == LF_SECRET) {
			char stars[1024];
			size_t n = strlen(l->field[i]) % (size_t)fw;

			memset(stars, '*', n);
			stars[n] = '\0';
			ui_text(y, 2 + LOGIN_LABEL_W, R_FIELD, stars, fw, 1);
		} else {
			ui_text(y, 2 + LOGIN_LABEL_W, R_FIELD, l->field[i], fw, 1);
		}
	}
	ui_printf(LOGIN_Y + 11, 2, R_DIM, a->cols - 4, "Secret kind: %s (F2 switches)",
	    l->token ? "API token" : "password");
	if (l->conn != NULL) {
		struct timespec now;
		long secs;

		clock_gettime(CLOCK_MONOTONIC, &now);
		secs = (long)(now.tv_sec - l->conn_start.tv_sec);
		ui_printf(LOGIN_Y + 13, 2, R_NORMAL, a->cols - 4, "%s %.500s... %ld s  %s",
		    l->conn_canceled ? "Canceling the connection to" : "Connecting to",
		    a->prof.server, secs, l->conn_canceled ? "" : "(Esc cancels)");
	} else if (l->error[0] != '\0') {
		const char *p = l->error;

		/* the error, wrapped at spaces onto the lines below */
		for (int y = LOGIN_Y + 13; *p != '\0' && y < a->rows - 2; y++) {
			size_t n = strlen(p), cut = n;
			int w = a->cols - 4;

			if (ui_width(p, n) > w) {
				cut = 0;
				for (size_t k = 0; k < n && ui_width(p, k) <= w; k++)
					if (p[k] == ' ')
						cut = k;
				if (cut == 0)
					cut = (size_t)w;
			}
			ui_name(y, 2, R_ERR, p, cut, w, 0);
			p += cut;
			while (*p == ' ')
				p++;
		}
	}
}

/* The field a failure points at, from what is filled in and the error code. */
static int
login_focus_for(const struct login_state *l, int code)
{
	if (l->field[LF_SERVER][0] == '\0')
		return LF_SERVER;
	if (l->field[LF_CA][0] == '\0' || access(l->field[LF_CA], R_OK) != 0)
		return LF_CA;
	if (l->field[LF_USER][0] == '\0' && !l->token)
		return LF_USER;
	switch (code) {
	case ABK_E_TLS:
		return strstr(l->error, "not in the server certificate") != NULL ?
		    LF_SERVER : LF_CA;
	case ABK_E_AUTH:
	case ABK_E_LIMIT:
		return LF_SECRET;
	default:
		return LF_SERVER;
	}
}

/*
 * The connect runs on its own thread (connector_*, worker.c) so that the
 * screen keeps drawing, resizing and answering Esc while a slow server
 * takes up to the connect timeout; login_tick collects the result.  The
 * thread frees the TLS library's per-thread cache before it ends
 * (abk_engine_thread_done).  Reconnects of an idle connection still run on
 * the UI thread (app_load_*): they are quick or fail quickly.
 */
static int
login_try(struct app *a)
{
	struct login_state *l = &a->login;

	if (l->conn != NULL)
		return K_STAY;
	memset(&a->prof, 0, sizeof(a->prof));
	snprintf(a->prof.server, sizeof(a->prof.server), "%.511s", l->field[LF_SERVER]);
	snprintf(a->prof.ca_file, sizeof(a->prof.ca_file), "%.4095s", l->field[LF_CA]);
	snprintf(a->prof.user, sizeof(a->prof.user), "%.63s", l->field[LF_USER]);
	snprintf(a->prof.secret, sizeof(a->prof.secret), "%.1023s", l->field[LF_SECRET]);
	a->prof.secret_is_token = l->token;
	a->prof.connect_timeout_ms = 10000;
	if (l->field[LF_CA][0] != '\0' && access(l->field[LF_CA], R_OK) != 0) {
		snprintf(l->error, sizeof(l->error), "The CA file %.600s cannot be read: give the "
		    "server's certs/ca.pem.", l->field[LF_CA]);
		l->focus = LF_CA;
		abk_wipe(a->prof.secret, sizeof(a->prof.secret));
		return K_REDRAW;
	}
	l->conn_canceled = 0;
	clock_gettime(CLOCK_MONOTONIC, &l->conn_start);
	l->conn = connector_start(&a->prof, a->wake[1]);
	if (l->conn == NULL) {
		snprintf(l->error, sizeof(l->error), "Cannot start connecting: out of resources.");
		abk_wipe(a->prof.secret, sizeof(a->prof.secret));
	}
	return K_REDRAW;
}

/* The connect ended: the main screen, or the failure in words. */
static void
login_result(struct app *a, int rc, const abk_err *errp)
{
	struct login_state *l = &a->login;
	abk_err e = *errp;
	const abk_err *err = &e;

	if (rc == ABK_OK) {
		l->error[0] = '\0';
		abk_wipe(l->field[LF_SECRET], sizeof(l->field[LF_SECRET]));
		l->cur[LF_SECRET] = 0;
		app_after_login(a);
		return;
	}
	a->client = NULL;
	abk_wipe(a->prof.secret, sizeof(a->prof.secret));
	switch (rc) {
	case ABK_E_CANCELED:
		snprintf(l->error, sizeof(l->error), "Connection canceled. Change what you need "
		    "and press Enter to try again.");
		return;		/* the focus stays where it was */
	case ABK_E_TLS:
		/* the engine's sentence names the CA file used, or the names
		 * the certificate carries (then the server field is to fix) */
		snprintf(l->error, sizeof(l->error), "%.600s.", err->msg);
		break;
	case ABK_E_AUTH:
		/* from the 4th failure the server's sentence says how long the
		 * next try waits ("too many failed attempts ...: wait N s") */
		snprintf(l->error, sizeof(l->error), "Login refused: %.400s. Check the user and "
		    "the %s.", err->msg, l->token ? "token" : "password");
		break;
	case ABK_E_TIMEOUT:
		snprintf(l->error, sizeof(l->error), "The server did not answer in time: %.400s. "
		    "Check the address and port, and the network.", err->msg);
		break;
	case ABK_E_NET:
		snprintf(l->error, sizeof(l->error), "Cannot reach the server: %.400s. Check the "
		    "address and port, and that autobackupd runs.", err->msg);
		break;
	case ABK_E_BUSY:
		snprintf(l->error, sizeof(l->error), "The server is busy: %.400s. Try again in a "
		    "moment.", err->msg);
		break;
	default:
		snprintf(l->error, sizeof(l->error), "%.600s", err->msg[0] ? err->msg :
		    abk_strerror(rc));
		break;
	}
	l->focus = login_focus_for(l, rc);
	if (l->focus == LF_SECRET) {
		abk_wipe(l->field[LF_SECRET], sizeof(l->field[LF_SECRET]));
		l->cur[LF_SECRET] = 0;
	}
}

int
login_tick(struct app *a)
{
	struct login_state *l = &a->login;
	abk_err err = ABK_ERR_INIT;
	abk_client *c = NULL;
	int rc;

	if (l->conn == NULL || !connector_done(l->conn))
		return 0;
	rc = connector_finish(l->conn, &c, &err);
	l->conn = NULL;
	if (l->conn_canceled && rc == ABK_OK) {
		/* it succeeded just as Esc was pressed: the user said no */
		abk_disconnect(c);
		c = NULL;
		rc = ABK_E_CANCELED;
	}
	a->client = c;
	login_result(a, rc, &err);
	return 1;
}

void
login_stop(struct app *a)
{
	struct login_state *l = &a->login;
	abk_err err = ABK_ERR_INIT;
	abk_client *c = NULL;

	if (l->conn == NULL)
		return;
	connector_cancel(l->conn);
	(void)connector_finish(l->conn, &c, &err);
	l->conn = NULL;
	abk_disconnect(c);
}

int
login_act_escape(struct app *a)
{
	struct login_state *l = &a->login;

	if (l->conn == NULL)
		return app_act_quit(a);
	if (!l->conn_canceled) {
		l->conn_canceled = 1;
		connector_cancel(l->conn);
	}
	return K_REDRAW;
}

int
login_act_next(struct app *a)
{
	a->login.focus = (a->login.focus + 1) % LF_COUNT;
	return K_REDRAW;
}

int
login_act_prev(struct app *a)
{
	a->login.focus = (a->login.focus + LF_COUNT - 1) % LF_COUNT;
	return K_REDRAW;
}

int
login_act_token(struct app *a)
{
	a->login.token = !a->login.token;
	return K_REDRAW;
}

int
login_act_submit(struct app *a)
{
	struct login_state *l = &a->login;

	if (l->focus != LF_SECRET && l->field[LF_SECRET][0] == '\0') {
		l->focus++;
		return K_REDRAW;
	}
	return login_try(a);
}

int
login_key(struct app *a, int key)
{
	struct login_state *l = &a->login;
	int rc;

	/* while connecting only Esc/F10 (cancel) and help do something */
	if (l->conn != NULL)
		return key == UK_ESC || key == UK_F10 || key == UK_F1 ?
		    keys_dispatch(a, SCR_LOGIN, key) : K_STAY;
	/* printable keys are text; the rest goes through the key table first */
	if (key < 0x20 || key >= UK_UP) {
		rc = keys_dispatch(a, SCR_LOGIN, key);
		if (rc != K_UNBOUND)
			return rc;
	}
	return dlg_edit(l->field[l->focus], sizeof(l->field[0]), &l->cur[l->focus], key) ?
	    K_REDRAW : K_STAY;
}
