/*
 * worker.c - the engine worker thread (contract in worker.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "origins.h"
#include "strutil.h"
#include "text.h"
#include "worker.h"

struct worker {
	pthread_t thread;
	pthread_mutex_t lock;
	struct job job;
	abk_client *c;
	int wake_fd;
	volatile sig_atomic_t cancel;
	struct timespec start, last_wake;
	/* under lock */
	struct worker_view v;
	char *text;			/* the summary, built as the job goes */
	size_t len, cap, lines;
	struct abk_restore_result rres;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
wake(struct worker *w, int force)
{
	struct timespec ts;
	long ms;
	char c = 1;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ms = (ts.tv_sec - w->last_wake.tv_sec) * 1000 +
	    (ts.tv_nsec - w->last_wake.tv_nsec) / 1000000;
	if (!force && ms < 100)
		return;
	w->last_wake = ts;
	(void)!write(w->wake_fd, &c, 1);
}

/* Append a line to the summary (lock held by the caller). */
static void
add_line(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
add_line(struct worker *w, const char *fmt, ...)
{
	char line[1400];
	va_list ap;
	size_t n;

	if (w->lines >= WORKER_LINES_MAX) {
		if (w->lines == WORKER_LINES_MAX) {
			w->lines++;
			fmt = "... (more lines left out)";
		} else {
			return;
		}
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (w->len + n + 2 > w->cap) {
		size_t ncap = (w->cap + n + 2) * 2;
		char *nt = realloc(w->text, ncap);

		if (nt == NULL)
			return;
		w->text = nt;
		w->cap = ncap;
	}
	memcpy(w->text + w->len, line, n);
	w->len += n;
	w->text[w->len++] = '\n';
	w->text[w->len] = '\0';
	w->lines++;
}

static void
on_progress(void *ctx, const struct abk_progress *p)
{
	struct worker *w = ctx;

	pthread_mutex_lock(&w->lock);
	w->v.p = *p;
	w->v.p.current = NULL;
	w->v.p.source = NULL;
	snprintf(w->v.current, sizeof(w->v.current), "%s", p->current ? p->current : "");
	if (p->source != NULL)
		snprintf(w->v.source, sizeof(w->v.source), "%s", p->source);
	pthread_mutex_unlock(&w->lock);
	wake(w, 0);
}

static void
on_note(void *ctx, const char *path, const char *why)
{
	struct worker *w = ctx;
	char esc[1100];

	text_escape(path, esc, sizeof(esc));
	pthread_mutex_lock(&w->lock);
	add_line(w, "  skipped %s: %s", esc, why);
	pthread_mutex_unlock(&w->lock);
}

static void
on_change(void *ctx, enum abk_change what, const char *path)
{
	static const char *const verb[] = { "create", "overwrite", "delete" };
	struct worker *w = ctx;
	char esc[1100];

	/* a dry run lists only what touches existing files: overwrites, deletions */
	if (w->job.kind == JOB_DRYRUN && what == ABK_CHANGE_CREATE)
		return;
	text_escape(path, esc, sizeof(esc));
	pthread_mutex_lock(&w->lock);
	add_line(w, "  %s %s", w->job.kind == JOB_DRYRUN ? verb[what] : "deleted", esc);
	pthread_mutex_unlock(&w->lock);
}

static void
on_problem(void *ctx, const char *path, const char *problem)
{
	struct worker *w = ctx;
	char esc[1100];

	text_escape(path, esc, sizeof(esc));
	pthread_mutex_lock(&w->lock);
	add_line(w, "  %s: %s", esc, problem);
	pthread_mutex_unlock(&w->lock);
}

/* Keep the worst outcome (a failure over a partial over success). */
static void
set_rc(struct worker *w, int rc, const abk_err *err)
{
	if (rc == ABK_OK)
		return;
	if (w->v.rc == ABK_OK || w->v.rc == ABK_E_PARTIAL) {
		w->v.rc = rc;
		snprintf(w->v.err, sizeof(w->v.err), "%s", err->msg[0] ? err->msg :
		    abk_strerror(rc));
	}
}

/* Remember where a source was pushed from (origins.h), as --batch push does. */
static void
record_origin(struct worker *w, const char *path, const char *name)
{
	char file[4200];
	abk_err err = ABK_ERR_INIT;

	if (origins_default_path(file, sizeof(file), &err) == ABK_OK &&
	    origins_record(file, w->job.server_key, w->job.user, name, path, &err) == ABK_OK)
		return;
	pthread_mutex_lock(&w->lock);
	add_line(w, "  warning: where %s was pushed from is not recorded (%s)", name, err.msg);
	pthread_mutex_unlock(&w->lock);
}

static void
run_push(struct worker *w)
{
	for (int i = 0; i < w->job.n && !abk_cancel_requested(&w->cancel); i++) {
		struct abk_push_opts po;
		struct abk_push_result res;
		abk_err err = ABK_ERR_INIT;
		char sent[32], stored[32];
		int rc;

		memset(&po, 0, sizeof(po));
		memset(&res, 0, sizeof(res));
		po.path = w->job.paths[i];
		po.name = w->job.names[i];
		po.checksum = w->job.checksum;
		po.threads = w->job.threads;
		po.bwlimit = w->job.bwlimit;
		po.compress = (enum abk_compress)w->job.compress;
		po.progress = on_progress;
		po.note = on_note;
		po.ctx = w;
		po.cancel = &w->cancel;
		pthread_mutex_lock(&w->lock);
		w->v.item = i;
		memset(&w->v.p, 0, sizeof(w->v.p));
		snprintf(w->v.source, sizeof(w->v.source), "%s", po.name);
		add_line(w, "%s (%s):", po.name, po.path);
		pthread_mutex_unlock(&w->lock);
		wake(w, 1);
		rc = abk_push(w->c, &po, &res, &err);
		if (rc == ABK_OK || rc == ABK_E_PARTIAL)
			record_origin(w, po.path, po.name);
		pthread_mutex_lock(&w->lock);
		set_rc(w, rc, &err);
		if (rc == ABK_OK || rc == ABK_E_PARTIAL) {
			add_line(w, "  snapshot %s", res.snapshot);
			add_line(w, "  %llu added, %llu changed, %llu removed, "
			    "%llu unchanged, %llu skipped",
			    (unsigned long long)res.added, (unsigned long long)res.changed,
			    (unsigned long long)res.removed, (unsigned long long)res.unchanged,
			    (unsigned long long)res.skipped);
			add_line(w, "  %s sent, %s stored%s",
			    abk_format_size(res.bytes_sent, sent, sizeof(sent)),
			    abk_format_size(res.bytes_stored, stored, sizeof(stored)),
			    rc == ABK_E_PARTIAL ? " (some entries skipped, see above)" : "");
		} else if (rc == ABK_E_CANCELED) {
			add_line(w, "  canceled: nothing was published");
		} else {
			add_line(w, "  failed: %s", err.msg[0] ? err.msg : abk_strerror(rc));
		}
		pthread_mutex_unlock(&w->lock);
		if (abk_code_is_disconnect(rc) || rc == ABK_E_TLS || rc == ABK_E_PROTO ||
		    rc == ABK_E_CANCELED)
			break;
	}
}

static void
run_restore(struct worker *w)
{
	struct abk_restore_opts ro;
	struct abk_restore_result res;
	abk_err err = ABK_ERR_INIT;
	char size[32];
	int rc;

	memset(&ro, 0, sizeof(ro));
	memset(&res, 0, sizeof(res));
	ro.source = w->job.source;
	ro.snapshot = w->job.snapshot;
	ro.paths = w->job.rpaths;
	ro.to = w->job.to;
	ro.origin = w->job.origin;
	ro.delete_extra = w->job.delete_extra;
	ro.dry_run = w->job.kind == JOB_DRYRUN;
	ro.progress = on_progress;
	ro.note = on_note;
	ro.change = on_change;
	ro.ctx = w;
	ro.cancel = &w->cancel;
	rc = abk_restore(w->c, &ro, &res, &err);
	pthread_mutex_lock(&w->lock);
	set_rc(w, rc, &err);
	w->rres = res;
	if (rc == ABK_OK || rc == ABK_E_PARTIAL || rc == ABK_E_INTEGRITY) {
		if (ro.dry_run)
			add_line(w, "%llu to create, %llu to overwrite, %llu to delete",
			    (unsigned long long)res.created, (unsigned long long)res.overwritten,
			    (unsigned long long)res.deleted);
		else {
			add_line(w, "restored %s snapshot %s", w->job.source, res.snapshot);
			add_line(w, "to %s:", res.target);
			add_line(w, "  %llu files, %llu folders, "
			    "%llu symlinks, %s; %llu removed, %llu failed, %llu damaged",
			    (unsigned long long)res.files,
			    (unsigned long long)res.dirs, (unsigned long long)res.symlinks,
			    abk_format_size(res.bytes, size, sizeof(size)),
			    (unsigned long long)res.deleted, (unsigned long long)res.failed,
			    (unsigned long long)res.damaged);
		}
	}
	if (rc != ABK_OK)
		add_line(w, "%s", err.msg[0] ? err.msg : abk_strerror(rc));
	pthread_mutex_unlock(&w->lock);
}

static void
run_verify(struct worker *w)
{
	struct abk_verify_result res;
	abk_err err = ABK_ERR_INIT;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = abk_verify(w->c, w->job.source, w->job.snapshot, on_problem, w, &res, &err);
	pthread_mutex_lock(&w->lock);
	set_rc(w, rc, &err);
	if (rc == ABK_OK || rc == ABK_E_INTEGRITY) {
		add_line(w, "snapshot %s:", res.snapshot);
		add_line(w, "%llu files checked, %llu missing, %llu corrupted%s",
		    (unsigned long long)res.checked,
		    (unsigned long long)res.missing, (unsigned long long)res.corrupted,
		    rc == ABK_OK ? ": no problems found" : "");
	} else {
		add_line(w, "verify failed: %s", err.msg[0] ? err.msg : abk_strerror(rc));
	}
	pthread_mutex_unlock(&w->lock);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	switch (w->job.kind) {
	case JOB_PUSH:
		run_push(w);
		break;
	case JOB_RESTORE:
	case JOB_DRYRUN:
		run_restore(w);
		break;
	case JOB_VERIFY:
		run_verify(w);
		break;
	}
	abk_engine_thread_done();
	pthread_mutex_lock(&w->lock);
	w->v.running = 0;
	w->v.done = 1;
	pthread_mutex_unlock(&w->lock);
	wake(w, 1);
	return NULL;
}

int
worker_start(struct worker **out, const struct job *job, abk_client *c, int wake_fd)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	pthread_mutex_init(&w->lock, NULL);
	w->job = *job;
	w->c = c;
	w->wake_fd = wake_fd;
	w->v.running = 1;
	w->v.kind = job->kind;
	w->v.nitems = job->kind == JOB_PUSH ? job->n : 1;
	clock_gettime(CLOCK_MONOTONIC, &w->start);
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		pthread_mutex_destroy(&w->lock);
		free(w);
		return -1;
	}
	*out = w;
	return 0;
}

void
worker_snapshot(struct worker *w, struct worker_view *v)
{
	pthread_mutex_lock(&w->lock);
	*v = w->v;
	pthread_mutex_unlock(&w->lock);
	v->elapsed = now_s() - ((double)w->start.tv_sec + (double)w->start.tv_nsec / 1e9);
	v->cancel_asked = abk_cancel_requested(&w->cancel);
}

void
worker_cancel(struct worker *w)
{
	/* the engine reads the flag with abk_cancel_requested (an atomic load) */
	__atomic_store_n(&w->cancel, 1, __ATOMIC_SEQ_CST);
}

char *
worker_finish(struct worker *w, struct abk_restore_result *rres)
{
	char *text;

	pthread_join(w->thread, NULL);
	text = w->text;
	if (text == NULL)
		text = strdup("");
	if (rres != NULL)
		*rres = w->rres;
	pthread_mutex_destroy(&w->lock);
	free(w);
	return text;
}

/* ---- the login's connect ------------------------------------------------ */

struct connector {
	pthread_t thread;
	pthread_mutex_t lock;
	struct abk_profile prof;	/* the thread's copy; secret wiped once used */
	int cancel[2];			/* UI -> engine: readable = stop */
	int wake_fd;
	/* under lock */
	int done, rc;
	abk_client *c;
	abk_err err;
};

static void *
connector_main(void *arg)
{
	struct connector *k = arg;
	abk_err err = ABK_ERR_INIT;
	abk_client *c = NULL;
	int rc = abk_connect_cancelable(&k->prof, k->cancel[0], &c, &err);
	char b = 1;

	abk_wipe(k->prof.secret, sizeof(k->prof.secret));
	abk_engine_thread_done();	/* wolfSSL's per-thread ECC cache */
	pthread_mutex_lock(&k->lock);
	k->rc = rc;
	k->c = c;
	k->err = err;
	k->done = 1;
	pthread_mutex_unlock(&k->lock);
	(void)!write(k->wake_fd, &b, 1);
	return NULL;
}

struct connector *
connector_start(const struct abk_profile *p, int wake_fd)
{
	struct connector *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	if (pipe(k->cancel) != 0) {
		free(k);
		return NULL;
	}
	for (int i = 0; i < 2; i++)
		fcntl(k->cancel[i], F_SETFD, FD_CLOEXEC);
	pthread_mutex_init(&k->lock, NULL);
	k->prof = *p;
	k->wake_fd = wake_fd;
	if (pthread_create(&k->thread, NULL, connector_main, k) != 0) {
		abk_wipe(k->prof.secret, sizeof(k->prof.secret));
		pthread_mutex_destroy(&k->lock);
		close(k->cancel[0]);
		close(k->cancel[1]);
		free(k);
		return NULL;
	}
	return k;
}

int
connector_done(struct connector *k)
{
	int done;

	pthread_mutex_lock(&k->lock);
	done = k->done;
	pthread_mutex_unlock(&k->lock);
	return done;
}

void
connector_cancel(struct connector *k)
{
	char b = 1;

	(void)!write(k->cancel[1], &b, 1);
}

int
connector_finish(struct connector *k, abk_client **out, abk_err *err)
{
	int rc;

	pthread_join(k->thread, NULL);
	rc = k->rc;
	*out = k->c;
	*err = k->err;
	pthread_mutex_destroy(&k->lock);
	close(k->cancel[0]);
	close(k->cancel[1]);
	free(k);
	return rc;
}
