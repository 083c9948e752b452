/*
 * scr_restore.c - the restore flow, one dialog after the other:
 * where to (the original location from this machine's origins record, or
 * another folder through a path prompt with Tab completion) -> a dry run on
 * the worker (the engine's plan: what would be created, overwritten,
 * deleted) -> a confirmation naming how many existing files will be
 * overwritten and, with "delete extra files" ticked, removed -> the restore
 * with progress -> the summary.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "origins.h"
#include "ui.h"

static void
rr_free(struct restore_req *rr)
{
	strset_clear(&rr->paths, &rr->npaths);
	free(rr->pathv);
	rr->pathv = NULL;
}

static void
restore_job(struct app *a, enum job_kind kind)
{
	struct restore_req *rr = &a->rr;

	memset(&a->job, 0, sizeof(a->job));
	a->job.kind = kind;
	a->job.source = rr->source;
	a->job.snapshot = rr->snapshot[0] ? rr->snapshot : NULL;
	a->job.rpaths = rr->npaths ? rr->pathv : NULL;
	a->job.to = rr->to[0] ? rr->to : NULL;
	a->job.origin = rr->to[0] ? NULL : rr->origin;
	/* the dry run counts deletions too, so the confirmation can name them */
	a->job.delete_extra = kind == JOB_DRYRUN ? 1 : rr->delete_extra;
}

static void
restore_done(struct app *a, int rc, const char *err, char *text,
    const struct abk_restore_result *rres)
{
	(void)err;
	(void)rres;
	dlg_text(a, rc == ABK_OK ? "Restore finished" : rc == ABK_E_PARTIAL ?
	    "Restore finished, some entries not restored" : rc == ABK_E_INTEGRITY ?
	    "Restore finished: damaged files were not put in place" : rc == ABK_E_CANCELED ?
	    "Restore canceled" : "Restore failed", text);
	a->dlg.error = rc != ABK_OK;
	rr_free(&a->rr);
	if (a->browse.cwd[0] != '\0') {
		char cwd[4096];

		snprintf(cwd, sizeof(cwd), "%s", a->browse.cwd);
		(void)browse_open(a, cwd);
	}
}

static void
restore_go(struct app *a, int ok, const char *text)
{
	if (!ok) {
		rr_free(&a->rr);
		return;
	}
	a->rr.delete_extra = atoi(text) != 0;
	restore_job(a, JOB_RESTORE);
	progress_start(a, "Restoring", restore_done);
}

static void
dryrun_done(struct app *a, int rc, const char *err, char *text,
    const struct abk_restore_result *rres)
{
	struct restore_req *rr = &a->rr;
	char body[3000], what[600], esc[1024];
	size_t len;
	const char *p = text;
	int shown = 0;

	if (rc != ABK_OK) {
		char msg[1200];

		snprintf(msg, sizeof(msg), "The restore cannot start: %.1000s", err);
		app_error(a, "Restore", msg);
		rr_free(rr);
		return;
	}
	rr->create = rres->created;
	rr->overwrite = rres->overwritten;
	rr->remove = rres->deleted;
	text_escape(rres->target, esc, sizeof(esc));
	if (rr->npaths == 0)
		snprintf(what, sizeof(what), "everything");
	else if (rr->npaths == 1)
		text_escape(rr->paths[0], what, sizeof(what));
	else
		snprintf(what, sizeof(what), "%zu marked items", rr->npaths);
	len = (size_t)snprintf(body, sizeof(body),
	    "Restore %.300s of %s (snapshot %s)\ninto %.600s\n\n"
	    "%llu existing file(s) will be overwritten, %llu created.\n"
	    "With \"delete extra files\": %llu not in the snapshot would be removed.\n",
	    what, rr->source, rres->snapshot, esc, (unsigned long long)rr->overwrite,
	    (unsigned long long)rr->create, (unsigned long long)rr->remove);
	/* the first lines of the plan: which files */
	while (p != NULL && *p != '\0' && shown < 6 && len < sizeof(body) - 200) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		if (strncmp(p, "  overwrite ", 12) == 0 || strncmp(p, "  delete ", 9) == 0) {
			len += (size_t)snprintf(body + len, sizeof(body) - len, "%.*s\n",
			    n > 150 ? 150 : n, p);
			shown++;
		}
		p = nl ? nl + 1 : NULL;
	}
	snprintf(body + len, sizeof(body) - len, "\nRestore now?");
	dlg_confirm(a, "Confirm the restore", body, restore_go);
	a->dlg.check = 0;
	a->dlg.check_label = "delete extra files";
}

static void
restore_dryrun(struct app *a)
{
	abk_err err = ABK_ERR_INIT;

	/* a listing first: it reconnects if the server closed an idle connection */
	if (app_load_sources(a, &err) != ABK_OK) {
		app_error(a, "Cannot reach the server", err.msg);
		rr_free(&a->rr);
		return;
	}
	restore_job(a, JOB_DRYRUN);
	progress_start(a, "Checking what the restore would change", dryrun_done);
}

static void
restore_to_done(struct app *a, int ok, const char *text)
{
	const char *home = getenv("HOME");
	size_t n;
	int w;

	if (!ok || text[0] == '\0') {
		rr_free(&a->rr);
		return;
	}
	if (text[0] == '~' && (text[1] == '/' || text[1] == '\0') && home != NULL)
		w = snprintf(a->rr.to, sizeof(a->rr.to), "%s%s", home, text + 1);
	else if (text[0] != '/')
		w = snprintf(a->rr.to, sizeof(a->rr.to), "%s/%s", a->browse.cwd, text);
	else
		w = snprintf(a->rr.to, sizeof(a->rr.to), "%s", text);
	if (w < 0 || (size_t)w >= sizeof(a->rr.to)) {
		app_error(a, "Restore", "That folder name is too long.");
		rr_free(&a->rr);
		return;
	}
	n = strlen(a->rr.to);
	while (n > 1 && a->rr.to[n - 1] == '/')
		a->rr.to[--n] = '\0';
	restore_dryrun(a);
}

static void
restore_ask_folder(struct app *a, const char *why)
{
	char initial[4200];

	snprintf(initial, sizeof(initial), "%s/", strcmp(a->browse.cwd, "/") == 0 ? "" :
	    a->browse.cwd);
	dlg_prompt(a, "Restore into", why, initial, 1, restore_to_done);
}

static void
restore_where(struct app *a, int ok, const char *text)
{
	struct restore_req *rr = &a->rr;

	if (!ok) {
		rr_free(rr);
		return;
	}
	if (atoi(text) == 1) {
		restore_ask_folder(a, "Folder to restore into (made if missing; Tab completes):");
		return;
	}
	if (rr->origin[0] == '\0') {
		restore_ask_folder(a, "This machine has no record of pushing this source, so "
		    "its original\nlocation is unknown here. Folder to restore into:");
		return;
	}
	rr->to[0] = '\0';
	restore_dryrun(a);
}

void
restore_begin(struct app *a, const char *source, const char *snapshot,
    char **paths, size_t npaths)
{
	struct restore_req *rr = &a->rr;
	char file[4200], esc[1024], choice0[1200], body[700];
	abk_err err = ABK_ERR_INIT;
	static char choice_buf[1200];
	const char *choices[2];

	rr_free(rr);
	memset(rr, 0, sizeof(*rr));
	snprintf(rr->source, sizeof(rr->source), "%s", source);
	snprintf(rr->snapshot, sizeof(rr->snapshot), "%s", snapshot ? snapshot : "");
	for (size_t i = 0; i < npaths; i++)
		if (strset_add(&rr->paths, &rr->npaths, paths[i]) < 0)
			return;
	rr->pathv = calloc(rr->npaths + 1, sizeof(*rr->pathv));
	if (rr->pathv == NULL)
		return;
	for (size_t i = 0; i < rr->npaths; i++)
		rr->pathv[i] = rr->paths[i];
	if (origins_default_path(file, sizeof(file), &err) != ABK_OK ||
	    origins_lookup(file, a->server_key, a->prof.user, source, rr->origin,
	    sizeof(rr->origin), &err) != ABK_OK)
		rr->origin[0] = '\0';
	text_escape(rr->origin, esc, sizeof(esc));
	snprintf(choice0, sizeof(choice0), "the original location%s%.200s%s",
	    rr->origin[0] ? " (" : " (unknown on this machine)", esc, rr->origin[0] ? ")" : "");
	snprintf(choice_buf, sizeof(choice_buf), "%s", choice0);
	choices[0] = choice_buf;
	choices[1] = "another folder...";
	snprintf(body, sizeof(body), "Restore %s of source %s (%s) to:", npaths ?
	    "the marked items" : "everything", source, snapshot ? snapshot : "latest snapshot");
	dlg_choice(a, "Restore", body, choices, 2, restore_where);
}
