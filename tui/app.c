/*
 * app.c - the interactive front end's loop and session.
 *
 * One loop on the UI thread: draw when dirty (one doupdate per frame), wait
 * for a key, a wake-up byte from the worker or the size walker, or a signal
 * (ui_getkey polls all three, at most 250 ms, 100 ms while a job runs), then
 * hand the key to the help overlay, the open dialog or the current screen.
 *
 * The session keeps the profile, secret included, for the program's
 * lifetime only (wiped at exit) so that a connection the server closed
 * while idle is re-established transparently (app_load_*).
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "keys.h"
#include "manifest.h"
#include "origins.h"
#include "sizes.h"
#include "strutil.h"
#include "ui.h"
#include "worker.h"

void
app_error(struct app *a, const char *title, const char *msg)
{
	dlg_msg(a, title, msg, 1);
}

/* The title row: program, connection, which side is shown. */
static void
app_title(struct app *a, const char *what)
{
	char who[700];

	ui_fill(0, 0, 1, a->cols, R_TITLE);
	if (a->client != NULL || a->screen != SCR_LOGIN)
		snprintf(who, sizeof(who), "%s@%s", a->prof.user, a->prof.server);
	else
		who[0] = '\0';
	ui_printf(0, 0, R_TITLE, a->cols, " autobackup | %s | %s", what, who);
}

static void
app_status(struct app *a, int screen)
{
	char buf[512];

	keys_status(screen, buf, sizeof(buf));
	ui_text(a->rows - 1, 0, R_STATUS, buf, a->cols, 1);
}

static void
app_draw(struct app *a)
{
	static const char *const titles[] = { "Log in", "Local files", "Server", "Snapshots",
	    "Working" };
	int cy = -1, cx = -1;

	ui_begin();
	ui_size(&a->rows, &a->cols);
	if (a->rows < UI_MIN_ROWS || a->cols < UI_MIN_COLS) {
		ui_printf(0, 0, R_ERR, a->cols, "Terminal too small: %dx%d.", a->cols, a->rows);
		ui_printf(1, 0, R_NORMAL, a->cols, "autobackup needs at least %dx%d; "
		    "enlarge the window (q quits).", UI_MIN_COLS, UI_MIN_ROWS);
		ui_end_frame(-1, -1);
		return;
	}
	app_title(a, titles[a->screen]);
	app_status(a, a->screen);	/* a screen may write over it (progress) */
	switch (a->screen) {
	case SCR_LOGIN:
		login_draw(a);
		break;
	case SCR_BROWSE:
		browse_draw(a);
		break;
	case SCR_SERVER:
		server_draw(a);
		break;
	case SCR_SNAP:
		snap_draw(a);
		break;
	case SCR_PROGRESS:
		progress_draw(a);
		break;
	}
	if (a->dlg.kind != DLG_NONE)
		dlg_draw(a);
	if (a->reconnecting.tv_sec != 0) {
		struct timespec now;
		int w = a->cols - 8 < 70 ? a->cols - 8 : 70;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ui_box(a->rows / 2 - 2, (a->cols - w) / 2, 4, w, "Reconnecting");
		ui_printf(a->rows / 2 - 1, (a->cols - w) / 2 + 2, R_DIALOG, w - 4,
		    "The server closed the idle connection: connecting again... %ld s",
		    (long)(now.tv_sec - a->reconnecting.tv_sec));
		ui_printf(a->rows / 2, (a->cols - w) / 2 + 2, R_DIM, w - 4, "%s",
		    a->reconnect_canceled ? "canceling..." : "Esc cancels");
	}
	if (a->help)
		keys_help_draw(a, a->screen);
	if (a->help || !dlg_cursor(a, &cy, &cx)) {
		cy = -1;
		if (a->screen == SCR_LOGIN && a->dlg.kind == DLG_NONE && !a->help)
			login_cursor(a, &cy, &cx);
		if (a->screen == SCR_BROWSE && a->browse.filtering && a->dlg.kind == DLG_NONE &&
		    !a->help) {
			cy = a->rows - 2;
			cx = 8 + ui_width(a->browse.filter, strlen(a->browse.filter));
		}
	}
	ui_end_frame(cy, cx);
}

static int
app_key(struct app *a, int key)
{
	if (a->help)
		return keys_help_key(a, key);
	if (a->dlg.kind != DLG_NONE)
		return dlg_key(a, key);
	if (a->rows < UI_MIN_ROWS || a->cols < UI_MIN_COLS) {
		if (key == 'q')
			a->quit = 1;
		return K_STAY;
	}
	switch (a->screen) {
	case SCR_LOGIN:
		return login_key(a, key);
	case SCR_BROWSE:
		return browse_key(a, key);
	case SCR_SERVER:
		return server_key(a, key);
	case SCR_SNAP:
		return snap_key(a, key);
	case SCR_PROGRESS:
		return progress_key(a, key);
	}
	return K_STAY;
}

int
app_act_quit(struct app *a)
{
	a->quit = 1;
	return K_STAY;
}

int
app_act_help(struct app *a)
{
	a->help = 1;
	a->help_scroll = 0;
	return K_REDRAW;
}

int
app_act_switch(struct app *a)
{
	if (a->screen == SCR_BROWSE) {
		abk_err err = ABK_ERR_INIT;

		a->screen = SCR_SERVER;
		if (app_load_sources(a, &err) != ABK_OK)
			app_error(a, "Cannot list the sources", err.msg);
	} else {
		a->screen = SCR_BROWSE;
	}
	return K_REDRAW;
}

/* ---- connection -------------------------------------------------------- */

/*
 * Connect again with the session's profile on a connector thread (as the
 * login does), the screen redrawn meanwhile with a "Reconnecting" box: a
 * resize is followed and Esc cancels.  Other keys wait.
 */
static int
app_reconnect(struct app *a, abk_err *err)
{
	struct connector *k;
	abk_err kerr = ABK_ERR_INIT;
	int rc;

	abk_disconnect(a->client);
	a->client = NULL;
	k = connector_start(&a->prof, a->wake[1]);
	if (k == NULL)
		return abk_connect(&a->prof, &a->client, err);
	clock_gettime(CLOCK_MONOTONIC, &a->reconnecting);
	a->reconnect_canceled = 0;
	while (!connector_done(k)) {
		int key;

		app_draw(a);
		key = ui_getkey(a->wake[0], 100);
		if ((key == UK_ESC || ui_quit_requested()) && !a->reconnect_canceled) {
			a->reconnect_canceled = 1;
			connector_cancel(k);
		}
	}
	rc = connector_finish(k, &a->client, &kerr);
	memset(&a->reconnecting, 0, sizeof(a->reconnecting));
	if (rc != ABK_OK) {
		abk_disconnect(a->client);
		a->client = NULL;
		abk_err_set(err, rc, "%s", kerr.msg);
	}
	return rc;
}

/* Run call; when the server had closed the connection, connect again once. */
#define APP_RETRY(a, err, call) do { \
	rc = (a)->client != NULL ? (call) : ABK_E_NET; \
	if (abk_code_is_disconnect(rc)) { \
		abk_err_clear(err); \
		rc = app_reconnect((a), (err)); \
		if (rc == ABK_OK) \
			rc = (call); \
	} \
} while (0)

static int
source_row(void *ctx, const struct abk_source_info *s)
{
	struct app *a = ctx;
	struct server_state *st = &a->srv;
	struct rsource *nv = realloc(st->v, (st->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return ABK_E_NOMEM;
	st->v = nv;
	memset(&nv[st->n], 0, sizeof(nv[0]));
	nv[st->n].name = strdup(s->name);
	nv[st->n].origin = strdup(s->origin ? s->origin : "");
	nv[st->n].latest = strdup(s->latest_id ? s->latest_id : "");
	nv[st->n].snapshots = s->snapshots;
	nv[st->n].latest_time = s->latest_time;
	nv[st->n].files = s->latest_files;
	nv[st->n].bytes = s->latest_bytes;
	if (nv[st->n].name == NULL || nv[st->n].origin == NULL || nv[st->n].latest == NULL)
		return ABK_E_NOMEM;
	st->n++;
	return 0;
}

int
app_load_sources(struct app *a, abk_err *err)
{
	int rc;

	APP_RETRY(a, err, (server_free(a), abk_list_sources(a->client, source_row, a, err)));
	a->srv.loaded = rc == ABK_OK;
	if (a->client != NULL)
		a->srv.quota = abk_user_quota(a->client);
	if (a->srv.sel >= a->srv.n)
		a->srv.sel = a->srv.n ? a->srv.n - 1 : 0;
	return rc;
}

static int
snapshot_row(void *ctx, const struct abk_snapshot_info *s)
{
	struct snap_state *st = ctx;
	struct rsnap *nv = realloc(st->snaps, (st->nsnaps + 1) * sizeof(*nv));

	if (nv == NULL)
		return ABK_E_NOMEM;
	st->snaps = nv;
	nv[st->nsnaps].id = strdup(s->id);
	nv[st->nsnaps].time = s->time;
	nv[st->nsnaps].files = s->files;
	nv[st->nsnaps].bytes = s->bytes;
	if (nv[st->nsnaps].id == NULL)
		return ABK_E_NOMEM;
	st->nsnaps++;
	return 0;
}

static void
snaps_clear(struct snap_state *st)
{
	for (size_t i = 0; i < st->nsnaps; i++)
		free(st->snaps[i].id);
	free(st->snaps);
	st->snaps = NULL;
	st->nsnaps = 0;
}

/* Newest first, whatever order the server sent (IDs sort by time). */
static int
snap_cmp(const void *x, const void *y)
{
	const struct rsnap *s1 = x, *s2 = y;

	if (s1->time != s2->time)
		return s1->time < s2->time ? 1 : -1;
	return -strcmp(s1->id, s2->id);
}

int
app_load_snapshots(struct app *a, const char *source, abk_err *err)
{
	int rc;

	APP_RETRY(a, err, (snaps_clear(&a->snap),
	    abk_list_snapshots(a->client, source, snapshot_row, &a->snap, err)));
	if (a->snap.nsnaps > 1)
		qsort(a->snap.snaps, a->snap.nsnaps, sizeof(a->snap.snaps[0]), snap_cmp);
	return rc;
}

static int
file_row(void *ctx, const struct manifest_entry *e)
{
	struct snap_state *st = ctx;
	struct rfile *nv = realloc(st->files, (st->nfiles + 1) * sizeof(*nv));
	const char *base = e->path;

	if (nv == NULL)
		return ABK_E_NOMEM;
	st->files = nv;
	for (size_t i = 0; i < e->path_len; i++)
		if (e->path[i] == '/')
			base = e->path + i + 1;
	nv[st->nfiles].name = strndup(base, e->path_len - (size_t)(base - e->path));
	nv[st->nfiles].type = e->type;
	nv[st->nfiles].size = e->size;
	nv[st->nfiles].mtime = e->mtime;
	if (nv[st->nfiles].name == NULL)
		return ABK_E_NOMEM;
	st->nfiles++;
	return 0;
}

static void
files_clear(struct snap_state *st)
{
	for (size_t i = 0; i < st->nfiles; i++)
		free(st->files[i].name);
	free(st->files);
	st->files = NULL;
	st->nfiles = 0;
}

/* Folders first, then by name, as the local browser shows them. */
static int
file_cmp(const void *x, const void *y)
{
	const struct rfile *f1 = x, *f2 = y;
	int d1 = f1->type == MF_DIR, d2 = f2->type == MF_DIR;

	if (d1 != d2)
		return d2 - d1;
	return strcmp(f1->name, f2->name);
}

int
app_load_files(struct app *a, abk_err *err)
{
	struct snap_state *st = &a->snap;
	int rc;

	APP_RETRY(a, err, (files_clear(st), abk_list_files(a->client, st->source, st->snapshot,
	    st->dir, file_row, st, err)));
	if (st->nfiles > 1)
		qsort(st->files, st->nfiles, sizeof(st->files[0]), file_cmp);
	return rc;
}

void
snap_free(struct app *a)
{
	snaps_clear(&a->snap);
	files_clear(&a->snap);
	strset_clear(&a->snap.marks, &a->snap.nmarks);
}

/* ---- after login: the config profile ----------------------------------- */

static void
save_profile(struct app *a, int ok, const char *text)
{
	abk_err err = ABK_ERR_INIT;

	(void)text;
	if (ok && abk_config_save(a->o->conn.config, a->o->conn.profile, a->prof.server,
	    a->prof.ca_file, a->prof.user, &err) != ABK_OK)
		app_error(a, "Settings not saved", err.msg);
}

void
app_after_login(struct app *a)
{
	const struct abk_config *c = &a->cfg;
	char body[2000], esc[3][600];
	int differs;

	origins_server_key(a->prof.server, a->server_key, sizeof(a->server_key));
	a->screen = SCR_BROWSE;
	if (browse_open(a, a->o->start_dir ? a->o->start_dir : ".") != 0 &&
	    browse_open(a, "/") != 0)
		app_error(a, "Cannot read the folder", a->browse.error);
	{
		abk_err err = ABK_ERR_INIT;

		(void)app_load_sources(a, &err);
	}
	if (strcmp(c->server, a->prof.server) == 0 && strcmp(c->ca, a->prof.ca_file) == 0 &&
	    strcmp(c->user, a->prof.user) == 0)
		return;
	differs = (c->server[0] && strcmp(c->server, a->prof.server) != 0) ||
	    (c->ca[0] && strcmp(c->ca, a->prof.ca_file) != 0) ||
	    (c->user[0] && strcmp(c->user, a->prof.user) != 0);
	if (!differs) {
		save_profile(a, 1, "");
		return;
	}
	text_escape(c->server, esc[0], sizeof(esc[0]));
	text_escape(c->ca, esc[1], sizeof(esc[1]));
	text_escape(c->user, esc[2], sizeof(esc[2]));
	snprintf(body, sizeof(body), "The config profile%s%s has other values:\n"
	    "  server = %s\n  ca = %s\n  user = %s\n"
	    "Replace them with the ones you logged in with?",
	    a->o->conn.profile ? " " : "", a->o->conn.profile ? a->o->conn.profile : "",
	    esc[0], esc[1], esc[2]);
	dlg_confirm(a, "Save the login settings?", body, save_profile);
}

/* ---- the loop ------------------------------------------------------------ */

int
tui_run(struct tui_opts *o)
{
	static struct app app;	/* large; one per process */
	struct app *a = &app;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	a->o = o;
	a->dirty = 1;
	a->wake[0] = a->wake[1] = -1;
	if (pipe(a->wake) != 0) {
		perror("autobackup: pipe");
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(a->wake[i], F_SETFL, O_NONBLOCK);
		fcntl(a->wake[i], F_SETFD, FD_CLOEXEC);
	}
	{
		abk_err err = ABK_ERR_INIT;

		if (abk_engine_init(&err) != ABK_OK) {
			fprintf(stderr, "autobackup: %s\n", err.msg);
			return 1;
		}
	}
	if (ui_init() != 0) {
		abk_engine_cleanup();
		return 1;
	}
	a->sizes = sizes_start(a->wake[1]);
	ui_size(&a->rows, &a->cols);
	login_init(a);
	while (!a->quit && !ui_quit_requested()) {
		int key;

		if (a->dirty) {
			app_draw(a);
			a->dirty = 0;
		}
		key = ui_getkey(a->wake[0], a->worker || a->login.conn ? 100 : 250);
		if (a->worker != NULL)
			progress_tick(a);
		if (a->login.conn != NULL)
			(void)login_tick(a);
		if (key == UK_NONE) {
			/* a wake-up (sizes, progress) or a timeout: cheap to redraw */
			a->dirty = 1;
			continue;
		}
		if (key == UK_RESIZE) {
			a->dirty = 1;
			continue;
		}
		if (app_key(a, key) > K_STAY)
			a->dirty = 1;
	}
	if (a->worker != NULL) {
		worker_cancel(a->worker);
		free(worker_finish(a->worker, NULL));
		a->worker = NULL;
		rc = 8;
	}
	login_stop(a);
	sizes_stop(a->sizes);
	ui_end();
	abk_disconnect(a->client);
	abk_wipe(a->prof.secret, sizeof(a->prof.secret));
	abk_wipe(a->login.field[LF_SECRET], sizeof(a->login.field[LF_SECRET]));
	abk_engine_cleanup();
	browse_free(a);
	server_free(a);
	snap_free(a);
	dlg_close(a);
	close(a->wake[0]);
	close(a->wake[1]);
	if (ui_quit_requested())
		rc = 8;
	return rc;
}
