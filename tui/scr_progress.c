/*
 * scr_progress.c - a running job (push, restore, verify): bars for bytes
 * and files, rate, ETA, the current file and the phase, redrawn from the
 * worker's progress copy at most every ~100 ms (the loop's poll timeout).
 * Esc asks "cancel?" and then sets the worker's cancel flag.  When the job
 * ends, its done handler shows the scrollable summary.
 *
 * Also here: preparing a push (one source per marked item, a new name when
 * one is taken by another origin, a confirmation with totals) and verify.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "keys.h"
#include "sizes.h"
#include "strutil.h"
#include "ui.h"
#include "worker.h"

void
progress_start(struct app *a, const char *title,
    void (*done)(struct app *a, int rc, const char *err, char *text,
    const struct abk_restore_result *rres))
{
	snprintf(a->job_title, sizeof(a->job_title), "%s", title);
	a->job_done = done;
	if (a->client == NULL) {
		app_error(a, "Not connected", "The connection to the server is gone; try again.");
		return;
	}
	if (worker_start(&a->worker, &a->job, a->client, a->wake[1]) != 0) {
		app_error(a, "Cannot start", "The worker thread could not be started.");
		return;
	}
	if (a->screen != SCR_PROGRESS)
		a->prev_screen = a->screen;
	a->screen = SCR_PROGRESS;
}

void
progress_tick(struct app *a)
{
	struct worker_view v;
	struct abk_restore_result rres;
	char *text;

	worker_snapshot(a->worker, &v);
	if (!v.done)
		return;
	text = worker_finish(a->worker, &rres);
	a->worker = NULL;
	a->screen = a->prev_screen;
	dlg_close(a);			/* a "cancel?" still open is moot now */
	if (a->job_done != NULL)
		a->job_done(a, v.rc, v.err, text, &rres);
	free(text);
	a->dirty = 1;
}

static void
fmt_secs(double s, char *buf, size_t bufsz)
{
	long t = s < 0 ? 0 : (long)(s + 0.5);

	if (t >= 3600)
		snprintf(buf, bufsz, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, bufsz, "%ld:%02ld", t / 60, t % 60);
}

void
progress_draw(struct app *a)
{
	static const char *const phases[] = { "scanning", "comparing", "sending", "publishing",
	    "done" };
	struct worker_view v;
	char d[32], t[32], r[32], eta[32] = "-", el[32];
	int bw = a->cols - 40, y = 2;

	if (a->worker == NULL)
		return;
	worker_snapshot(a->worker, &v);
	ui_printf(y++, 0, R_NORMAL, a->cols, " %s", a->job_title);
	if (v.kind == JOB_PUSH)
		ui_printf(y, 0, R_NORMAL, a->cols, " Item %d of %d: source %s", v.item + 1,
		    v.nitems, v.source);
	y += 2;
	if (v.kind == JOB_VERIFY) {
		static const char spin[] = "|/-\\";

		fmt_secs(v.elapsed, el, sizeof(el));
		ui_printf(y, 0, R_NORMAL, a->cols, " The server re-reads every stored file %c   "
		    "elapsed %s", spin[(int)(v.elapsed * 5) % 4], el);
	} else {
		double fb = v.p.bytes_total ? (double)v.p.bytes_done / (double)v.p.bytes_total : 0;
		double ff = v.p.files_total ? (double)v.p.files_done / (double)v.p.files_total : 0;

		ui_printf(y++, 0, R_MARK, a->cols, " Phase: %s%s", phases[v.p.phase],
		    v.cancel_asked ? " (canceling...)" : "");
		y++;
		ui_text(y, 1, R_NORMAL, "Bytes", 6, 1);
		ui_bar(y, 8, bw, fb);
		ui_printf(y++, 9 + bw, R_NORMAL, a->cols - 10 - bw, "%3.0f%% %s/%s", fb * 100,
		    abk_format_size(v.p.bytes_done, d, sizeof(d)),
		    abk_format_size(v.p.bytes_total, t, sizeof(t)));
		ui_text(y, 1, R_NORMAL, "Files", 6, 1);
		ui_bar(y, 8, bw, ff);
		ui_printf(y++, 9 + bw, R_NORMAL, a->cols - 10 - bw, "%3.0f%% %llu/%llu", ff * 100,
		    (unsigned long long)v.p.files_done, (unsigned long long)v.p.files_total);
		y++;
		if (v.p.rate > 1 && v.p.bytes_total > v.p.bytes_done)
			fmt_secs((double)(v.p.bytes_total - v.p.bytes_done) / v.p.rate, eta,
			    sizeof(eta));
		fmt_secs(v.elapsed, el, sizeof(el));
		ui_printf(y++, 0, R_NORMAL, a->cols, " Rate: %s/s   ETA: %s   Elapsed: %s",
		    abk_format_size((uint64_t)v.p.rate, r, sizeof(r)), eta, el);
		ui_text(y, 1, R_NORMAL, "Current:", 9, 1);
		ui_text(y++, 10, R_DIM, v.current, a->cols - 11, 1);
	}
	if (v.cancel_asked)
		ui_text(a->rows - 1, 0, R_STATUS, "Canceling...", a->cols, 1);
}

static void
cancel_done(struct app *a, int ok, const char *text)
{
	(void)text;
	if (ok && a->worker != NULL)
		worker_cancel(a->worker);
}

int
progress_act_cancel(struct app *a)
{
	dlg_confirm(a, "Cancel?", a->job.kind == JOB_PUSH ?
	    "Cancel the push? Nothing of the item in progress will be published." :
	    "Cancel? What is done so far stays.", cancel_done);
	return K_REDRAW;
}

int
progress_key(struct app *a, int key)
{
	return keys_dispatch(a, SCR_PROGRESS, key);
}

/* ---- push ----------------------------------------------------------------- */

static void
push_free(struct app *a)
{
	for (size_t i = 0; i < a->npush; i++) {
		free(a->push[i].path);
		free(a->push[i].name);
	}
	free(a->push);
	a->push = NULL;
	a->npush = 0;
}

static void
push_done(struct app *a, int rc, const char *err, char *text,
    const struct abk_restore_result *rres)
{
	abk_err lerr = ABK_ERR_INIT;
	char title[128];

	(void)rres;
	(void)err;
	snprintf(title, sizeof(title), "%s", rc == ABK_OK ? "Push finished" :
	    rc == ABK_E_PARTIAL ? "Push finished, some entries skipped" :
	    rc == ABK_E_CANCELED ? "Push canceled" : "Push failed");
	if (rc == ABK_OK)
		strset_clear(&a->browse.marks, &a->browse.nmarks);
	push_free(a);
	(void)app_load_sources(a, &lerr);
	dlg_text(a, title, text);
	a->dlg.error = rc != ABK_OK && rc != ABK_E_PARTIAL;
}

static void
push_go(struct app *a, int ok, const char *text)
{
	(void)text;
	if (!ok) {
		push_free(a);
		return;
	}
	memset(&a->job, 0, sizeof(a->job));
	a->job.kind = JOB_PUSH;
	for (size_t i = 0; i < a->npush && i < WORKER_ITEMS_MAX; i++) {
		a->job.paths[i] = a->push[i].path;
		a->job.names[i] = a->push[i].name;
		a->job.n++;
	}
	a->job.checksum = a->o->checksum;
	a->job.threads = a->o->threads;
	a->job.compress = a->o->compress;
	a->job.bwlimit = a->o->bwlimit;
	snprintf(a->job.server_key, sizeof(a->job.server_key), "%s", a->server_key);
	snprintf(a->job.user, sizeof(a->job.user), "%s", a->prof.user);
	progress_start(a, "Pushing", push_done);
}

static void
push_confirm(struct app *a)
{
	char body[4096];
	size_t len = 0;
	uint64_t total = 0;
	int counting = 0;
	char sz[32];

	len += (size_t)snprintf(body + len, sizeof(body) - len,
	    "Push %zu item(s), each as its own source:\n", a->npush);
	for (size_t i = 0; i < a->npush && len < sizeof(body) - 200; i++) {
		char esc[1024], escn[300];
		struct stat st;
		uint64_t b;

		text_escape(a->push[i].path, esc, sizeof(esc));
		text_escape(a->push[i].name, escn, sizeof(escn));
		len += (size_t)snprintf(body + len, sizeof(body) - len, "  %.300s  ->  %s\n", esc,
		    escn);
		if (lstat(a->push[i].path, &st) != 0)
			continue;
		if (!S_ISDIR(st.st_mode))
			total += (uint64_t)st.st_size;
		else if (a->sizes != NULL && sizes_get(a->sizes, a->push[i].path, &b))
			total += b;
		else
			counting = 1;
	}
	snprintf(body + len, sizeof(body) - len, "Total: %s%s", abk_format_size(total, sz,
	    sizeof(sz)), counting ? " and folders still being counted" : "");
	dlg_confirm(a, "Push?", body, push_go);
}

static void push_check(struct app *a);

static void
push_renamed(struct app *a, int ok, const char *text)
{
	char *copy;

	if (!ok) {
		push_free(a);
		return;
	}
	if (text[0] == '\0' || strchr(text, '/') != NULL || strcmp(text, ".") == 0 ||
	    strcmp(text, "..") == 0 || (copy = strdup(text)) == NULL) {
		app_error(a, "Not a source name", "A source name is one path component: "
		    "not empty, no '/', not . or ..");
		push_free(a);
		return;
	}
	free(a->push[a->push_idx].name);
	a->push[a->push_idx].name = copy;
	push_check(a);
}

/* The first item whose name is taken (by another origin or an earlier item). */
static void
push_check(struct app *a)
{
	for (size_t i = 0; i < a->npush; i++) {
		const char *name = a->push[i].name, *other = NULL;

		for (size_t k = 0; k < a->srv.n && other == NULL; k++)
			if (strcmp(a->srv.v[k].name, name) == 0 &&
			    strcmp(a->srv.v[k].origin, a->push[i].path) != 0)
				other = a->srv.v[k].origin;
		for (size_t k = 0; k < i && other == NULL; k++)
			if (strcmp(a->push[k].name, name) == 0)
				other = a->push[k].path;
		if (other != NULL) {
			char body[3000], esc[1024], esco[1024], escn[300], suggest[300];

			text_escape(a->push[i].path, esc, sizeof(esc));
			text_escape(other, esco, sizeof(esco));
			text_escape(name, escn, sizeof(escn));
			snprintf(body, sizeof(body), "The source name '%s' is taken by\n  %.500s\n"
			    "Which name should\n  %.500s\nbe pushed as?", escn, esco, esc);
			snprintf(suggest, sizeof(suggest), "%.250s-2", name);
			a->push_idx = i;
			dlg_prompt(a, "Source name taken", body, suggest, 0, push_renamed);
			return;
		}
	}
	push_confirm(a);
}

void
push_begin(struct app *a)
{
	struct browse_state *b = &a->browse;
	abk_err err = ABK_ERR_INIT;

	if (b->nmarks == 0) {
		app_error(a, "Nothing marked", "Mark files or folders with Space first, then "
		    "press p (or F5).");
		return;
	}
	if (b->nmarks > WORKER_ITEMS_MAX) {
		app_error(a, "Too many items", "Push at most 64 marked items at a time "
		    "(mark their folder instead).");
		return;
	}
	if (app_load_sources(a, &err) != ABK_OK) {
		app_error(a, "Cannot reach the server", err.msg);
		return;
	}
	push_free(a);
	a->push = calloc(b->nmarks, sizeof(*a->push));
	if (a->push == NULL)
		return;
	for (size_t i = 0; i < b->nmarks; i++) {
		char base[256];

		a->push[i].path = strdup(b->marks[i]);
		a->push[i].name = strdup(text_base(b->marks[i], base, sizeof(base)));
		a->npush++;
		if (a->push[i].path == NULL || a->push[i].name == NULL) {
			push_free(a);
			return;
		}
	}
	push_check(a);
}

/* ---- verify ---------------------------------------------------------------- */

static void
verify_done(struct app *a, int rc, const char *err, char *text,
    const struct abk_restore_result *rres)
{
	(void)rres;
	(void)err;
	dlg_text(a, rc == ABK_OK ? "Verify: no problems" : rc == ABK_E_INTEGRITY ?
	    "Verify: problems found" : "Verify failed", text);
	a->dlg.error = rc != ABK_OK;
}

void
verify_begin(struct app *a, const char *source, const char *snapshot)
{
	abk_err err = ABK_ERR_INIT;

	if (app_load_sources(a, &err) != ABK_OK) {
		app_error(a, "Cannot reach the server", err.msg);
		return;
	}
	memset(&a->job, 0, sizeof(a->job));
	snprintf(a->rr.source, sizeof(a->rr.source), "%s", source);
	snprintf(a->rr.snapshot, sizeof(a->rr.snapshot), "%s", snapshot ? snapshot : "");
	a->job.kind = JOB_VERIFY;
	a->job.source = a->rr.source;
	a->job.snapshot = a->rr.snapshot[0] ? a->rr.snapshot : NULL;
	progress_start(a, "Verifying on the server", verify_done);
}
