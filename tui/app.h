/*
 * app.h - the interactive front end's state, shared by its screens.
 *
 * Threads: everything in struct app belongs to the UI thread.  The engine
 * worker (worker.h) and the folder-size walker (sizes.h) own their own
 * state behind a mutex and wake the UI through a pipe; the connection
 * (app.client) is lent to the worker while a job runs, and the UI calls no
 * engine function until the job is joined.
 *
 * Screens: each has *_draw (reads state, draws) and *_key (changes state,
 * never draws; returns K_STAY, K_REDRAW or K_CLOSE).  Keys that are not
 * text input go through the one key table in keys.c, which also makes the
 * help overlay and the status line.
 */
#ifndef ABT_APP_H
#define ABT_APP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "clientconf.h"
#include "engine.h"
#include "text.h"
#include "worker.h"

struct tui_opts {
	struct abk_conn_flags conn;
	const char *start_dir;		/* folder to open, NULL = current */
	int checksum, threads, compress;
	uint64_t bwlimit;
};

enum scr_id { SCR_LOGIN, SCR_BROWSE, SCR_SERVER, SCR_SNAP, SCR_PROGRESS, SCR_COUNT };
enum { K_UNBOUND = -1, K_STAY, K_REDRAW, K_CLOSE };

struct app;

/* ---- local browser (scr_browse.c) ---- */
struct lentry {
	char *name;
	int is_dir, is_link;
	uint64_t size;
	time_t mtime;
};

struct browse_state {
	char cwd[4096];
	struct lentry *v;
	size_t n;
	size_t *view;			/* indices of v shown (filter, hidden) */
	size_t nview;
	size_t sel, top;
	int show_hidden;
	int filtering;			/* typing into the filter */
	char filter[256];
	char **marks;			/* absolute paths, sorted */
	size_t nmarks;
	char error[600];		/* why the folder could not be read */
};

/* ---- server side (scr_server.c) ---- */
struct rsource {
	char *name, *origin, *latest;
	uint32_t snapshots;
	int64_t latest_time;
	uint64_t files, bytes;
};

struct server_state {
	struct rsource *v;
	size_t n, sel, top;
	int loaded;
	uint64_t quota;
};

/* ---- inside a source (scr_snap.c) ---- */
struct rsnap {
	char *id;
	int64_t time;
	uint64_t files, bytes;
};

struct rfile {
	char *name;			/* last component */
	int type;			/* MF_* */
	uint64_t size;
	int64_t mtime;
};

struct snap_state {
	char source[256];
	char origin[4096];		/* the server's word, shown only */
	struct rsnap *snaps;
	size_t nsnaps, ssel, stop;
	int inside;			/* browsing a snapshot's files */
	char snapshot[80];
	char dir[4096];			/* "" = root */
	struct rfile *files;
	size_t nfiles, fsel, ftop;
	char **marks;			/* paths relative to the source root */
	size_t nmarks;
};

/* ---- login (scr_login.c) ---- */
enum { LF_SERVER, LF_CA, LF_USER, LF_SECRET, LF_COUNT };

struct login_state {
	char field[LF_COUNT][4096];
	size_t cur[LF_COUNT];		/* cursor, in bytes */
	int focus;
	int token;			/* the secret is a token */
	char error[700];
	int tried_stored;		/* a configured secret was tried once */
	struct connector *conn;		/* the connect running on its thread */
	struct timespec conn_start;
	int conn_canceled;		/* Esc asked it to stop */
};

/* ---- dialogs (dlg.c) ---- */
enum dlg_kind { DLG_NONE, DLG_MSG, DLG_CONFIRM, DLG_PROMPT, DLG_TEXT, DLG_CHOICE };

typedef void (*dlg_done_fn)(struct app *a, int ok, const char *text);

struct dlg {
	enum dlg_kind kind;
	char title[128];
	char *body;			/* message lines separated by '\n' */
	int error;
	char input[4096];
	size_t cur;
	int complete_dirs;		/* Tab completes folder names */
	int choice, nchoices;
	const char *choices[4];
	int check;			/* a check box state (-1 = none) */
	const char *check_label;
	size_t scroll;
	dlg_done_fn done;
};

/* ---- push preparation (scr_progress.c) ---- */
struct push_item {
	char *path;			/* absolute */
	char *name;			/* source name */
};

/* ---- restore request (scr_restore.c) ---- */
struct restore_req {
	char source[256];
	char snapshot[80];		/* "" = latest */
	char origin[4096];		/* this machine's record (origins.h) */
	char to[4096];			/* "" = the origin */
	char **paths;			/* relative paths, sorted; none = all */
	size_t npaths;
	const char **pathv;		/* NULL-terminated view of paths */
	int delete_extra;
	uint64_t overwrite, create, remove;	/* from the dry run */
};

struct app {
	struct tui_opts *o;
	int screen;
	int prev_screen;		/* where progress returns */
	int quit;
	int dirty;
	int help;			/* the help overlay is open */
	size_t help_scroll;
	int rows, cols;

	/* session: the secret lives only while the program runs, wiped at exit */
	struct abk_profile prof;
	struct abk_config cfg;
	abk_client *client;
	char server_key[600];

	struct login_state login;
	struct browse_state browse;
	struct server_state srv;
	struct snap_state snap;
	struct dlg dlg;

	struct push_item *push;		/* items being prepared or pushed */
	size_t npush, push_idx;
	struct restore_req rr;

	/* the job the worker runs; its strings live in push / rr above */
	struct job job;
	void (*job_done)(struct app *a, int rc, const char *err, char *text,
	    const struct abk_restore_result *rres);
	char job_title[128];

	struct timespec reconnecting;	/* since when a reconnect runs (0: none) */
	int reconnect_canceled;

	struct sizes *sizes;
	struct worker *worker;
	int wake[2];			/* worker / sizes -> UI */
};

/* app.c */
int tui_run(struct tui_opts *o);
void app_error(struct app *a, const char *title, const char *msg);
void app_after_login(struct app *a);
/* Connection wrappers: reconnect once when the server closed an idle one. */
int app_load_sources(struct app *a, abk_err *err);
int app_load_snapshots(struct app *a, const char *source, abk_err *err);
int app_load_files(struct app *a, abk_err *err);

/* scr_login.c */
void login_init(struct app *a);
void login_draw(struct app *a);
int login_key(struct app *a, int key);
/* A connect is running: see whether it ended; 1 when the screen changed. */
int login_tick(struct app *a);
/* At exit: stop a running connect and wait for its thread. */
void login_stop(struct app *a);
int login_act_escape(struct app *a);
void login_cursor(struct app *a, int *cy, int *cx);
int login_act_submit(struct app *a);
int login_act_next(struct app *a);
int login_act_prev(struct app *a);
int login_act_token(struct app *a);

/* scr_browse.c */
int browse_open(struct app *a, const char *dir);
void browse_draw(struct app *a);
int browse_key(struct app *a, int key);
void browse_free(struct app *a);
int browse_act_up(struct app *a);
int browse_act_down(struct app *a);
int browse_act_pgup(struct app *a);
int browse_act_pgdn(struct app *a);
int browse_act_home(struct app *a);
int browse_act_end(struct app *a);
int browse_act_enter(struct app *a);
int browse_act_parent(struct app *a);
int browse_act_mark(struct app *a);
int browse_act_mark_all(struct app *a);
int browse_act_unmark_all(struct app *a);
int browse_act_filter(struct app *a);
int browse_act_hidden(struct app *a);
int browse_act_home_dir(struct app *a);
int browse_act_list_marks(struct app *a);
int browse_act_push(struct app *a);
int browse_act_refresh(struct app *a);

/* scr_server.c */
void server_draw(struct app *a);
int server_key(struct app *a, int key);
void server_free(struct app *a);
int server_act_up(struct app *a);
int server_act_down(struct app *a);
int server_act_open(struct app *a);
int server_act_verify(struct app *a);
int server_act_restore(struct app *a);
int server_act_refresh(struct app *a);
int app_act_switch(struct app *a);
int app_act_quit(struct app *a);
int app_act_help(struct app *a);

/* scr_snap.c */
int snap_open(struct app *a, const char *source, const char *origin);
void snap_draw(struct app *a);
int snap_key(struct app *a, int key);
void snap_free(struct app *a);
int snap_act_up(struct app *a);
int snap_act_down(struct app *a);
int snap_act_pgup(struct app *a);
int snap_act_pgdn(struct app *a);
int snap_act_enter(struct app *a);
int snap_act_back(struct app *a);
int snap_act_mark(struct app *a);
int snap_act_restore(struct app *a);
int snap_act_verify(struct app *a);

/* scr_restore.c: the restore flow (target, dry run, confirmation) */
void restore_begin(struct app *a, const char *source, const char *snapshot,
    char **paths, size_t npaths);

/* scr_progress.c */
void progress_draw(struct app *a);
int progress_key(struct app *a, int key);
void progress_tick(struct app *a);
int progress_act_cancel(struct app *a);
void push_begin(struct app *a);
void verify_begin(struct app *a, const char *source, const char *snapshot);
/* Start a.job on the worker and show the progress screen. */
void progress_start(struct app *a, const char *title,
    void (*done)(struct app *a, int rc, const char *err, char *text,
    const struct abk_restore_result *rres));

/* dlg.c */
void dlg_msg(struct app *a, const char *title, const char *body, int error);
void dlg_confirm(struct app *a, const char *title, const char *body, dlg_done_fn done);
void dlg_prompt(struct app *a, const char *title, const char *body, const char *initial,
    int complete_dirs, dlg_done_fn done);
void dlg_text(struct app *a, const char *title, const char *body);
void dlg_choice(struct app *a, const char *title, const char *body,
    const char *const *choices, int n, dlg_done_fn done);
void dlg_draw(struct app *a);
int dlg_key(struct app *a, int key);
void dlg_close(struct app *a);
/* The prompt's cursor position: 1 and (y, x) when a prompt is open. */
int dlg_cursor(struct app *a, int *cy, int *cx);
/* Edit a UTF-8 line at *cur for key; 1 if it was an editing key. */
int dlg_edit(char *buf, size_t bufsz, size_t *cur, int key);

#endif
