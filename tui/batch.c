/*
 * batch.c - `autobackup --batch COMMAND`: credentials, connection, and the
 * four commands with plain-text or JSON output.  A one-line progress display
 * goes to stderr when it is a terminal.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "batch_int.h"
#include "clientconf.h"
#include "engine.h"
#include "exitcodes.h"
#include "json.h"
#include "origins.h"
#include "progress_line.h"
#include "schedule.h"
#include "snapname.h"
#include "strutil.h"

static volatile sig_atomic_t batch_cancel;

int
batch_canceled(void)
{
	return batch_cancel != 0;
}

static void
batch_on_sigint(int sig)
{
	(void)sig;
	batch_cancel = 1;
}

/* Print a name for humans through the one escaper (abk_escape_name):
 * control bytes escaped so they cannot move the cursor. */
void
print_name(FILE *f, const char *s, size_t n)
{
	char stackbuf[1024];
	size_t need = 4 * n + 1;
	char *q = need <= sizeof(stackbuf) ? stackbuf : malloc(need);

	if (q == NULL) {	/* out of memory: a cut name is still a safe one */
		q = stackbuf;
		need = sizeof(stackbuf);
	}
	fputs(abk_escape_name(s, n, q, need, 0), f);
	if (q != stackbuf)
		free(q);
}

static void
clear_line(struct batch_ui *ui)
{
	progress_line_clear(&ui->pl);
}

static void
on_progress(void *ctx, const struct abk_progress *p)
{
	static const char *const phases[] = { "scanning", "comparing", "sending", "committing",
	    "done" };
	struct batch_ui *ui = ctx;

	if (ui->o->verbose && p->phase != ABK_PHASE_TRANSFER && !ui->pl.enabled)
		fprintf(stderr, "%s: %s\n", p->source ? p->source : "", phases[p->phase]);
	progress_line_draw(&ui->pl, p);
}

static void
on_note(void *ctx, const char *path, const char *why)
{
	struct batch_ui *ui = ctx;

	clear_line(ui);
	fputs("autobackup: skipped ", stderr);
	print_name(stderr, path, strlen(path));
	fprintf(stderr, ": %s\n", why);
}

int
fail(struct batch_ui *ui, const abk_err *err)
{
	clear_line(ui);
	fprintf(stderr, "autobackup: %s\n", err->msg[0] ? err->msg : abk_strerror(err->code));
	return abk_exit_for(err->code);
}

/* Fill the profile by the rules both front ends share (clientconf.h). */
static int
batch_profile(struct batch_opts *o, struct abk_profile *p, abk_err *err)
{
	struct abk_conn_flags f = {
		.config = o->config, .profile = o->profile, .server = o->server, .ca = o->ca,
		.user = o->user, .password_file = o->password_file, .token_file = o->token_file,
	};

	struct abk_config cfg;
	int rc = abk_config_resolve(&f, ABK_RESOLVE_PROMPT, p, &cfg, err);

	if (o->timeout_s > 0)	/* a server silent mid-frame cannot hold us longer */
		p->io_timeout_ms = o->timeout_s * 1000;
	if (rc == ABK_OK && o->verbose)
		fprintf(stderr, "autobackup: server %s (from %s), user %s (from %s), %s from "
		    "%s; config file %s%s%s\n", p->server, cfg.server_from ? cfg.server_from : "?",
		    p->user, cfg.user_from ? cfg.user_from : "?",
		    p->secret_is_token ? "token" : "password",
		    cfg.secret_from ? cfg.secret_from : "?", cfg.path[0] ? cfg.path : "(none)",
		    o->profile ? ", profile " : "", o->profile ? o->profile : "");
	return rc;
}

static const char *
base_name(const char *path, char *buf, size_t bufsz)
{
	char tmp[4096];
	size_t n;

	snprintf(tmp, sizeof(tmp), "%s", path);
	n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	snprintf(buf, bufsz, "%s", abk_base_name(tmp));
	return buf;
}

/*
 * The source name a push of path gets: --name, else the base name of its
 * real path ("root" for /, which has none).  The summary and the origins
 * record use the same name as the engine.
 */
static const char *
source_name(const char *path, const char *name, char *buf, size_t bufsz)
{
	char real[4096];

	if (name != NULL)
		return name;
	if (realpath(path, real) == NULL)
		snprintf(real, sizeof(real), "%s", path);
	base_name(real, buf, bufsz);
	if (strcmp(buf, "/") == 0 || buf[0] == '\0')
		snprintf(buf, bufsz, "root");
	return buf;
}

/*
 * Remember where this source was pushed from: a later restore without --to
 * goes there, and never where a server says (origins.h).  A failure only
 * warns: the push itself is done, and such a restore will ask for --to.
 */
static void
record_origin(struct batch_ui *ui, const char *path, const char *name)
{
	char origin[4096];
	abk_err err = ABK_ERR_INIT;

	if (realpath(path, origin) == NULL) {
		abk_err_set(&err, ABK_E_IO, "%s: %s", path, strerror(errno));
	} else {
		char file[4200], nm[256];

		/* the source name as abk_push chose it: --name or the base name */
		base_name(origin, nm, sizeof(nm));
		if (origins_default_path(file, sizeof(file), &err) == ABK_OK)
			(void)origins_record(file, ui->server_key, ui->user, name ? name : nm,
			    origin, &err);
	}
	if (err.code != ABK_OK)
		fprintf(stderr, "autobackup: warning: where %s was pushed from is not recorded "
		    "(%s); a restore without --to will ask for the folder\n", path, err.msg);
}

static int
cmd_push(struct batch_ui *ui, abk_client *c, char **paths, int n)
{
	struct batch_opts *o = ui->o;
	int worst = ABK_EXIT_OK;

	if (n <= 0) {
		fprintf(stderr, "autobackup: push needs at least one PATH\nTry 'autobackup --help'.\n");
		return ABK_EXIT_USAGE;
	}
	if (o->name != NULL && n > 1) {
		fprintf(stderr, "autobackup: --name works with a single PATH\n");
		return ABK_EXIT_USAGE;
	}
	for (int i = 0; i < n; i++) {
		char a[256], b[256];

		for (int k = 0; k < i; k++) {
			if (strcmp(base_name(paths[i], a, sizeof(a)),
			    base_name(paths[k], b, sizeof(b))) == 0) {
				fprintf(stderr, "autobackup: '%s' and '%s' would both be source '%s': "
				    "push them separately with --name\n", paths[k], paths[i], a);
				return ABK_EXIT_USAGE;
			}
		}
	}
	{
		const char **names = calloc((size_t)n, sizeof(*names));
		char *nbuf = malloc((size_t)n * 256);
		int ex = ABK_EXIT_FAILURE;

		if (names != NULL && nbuf != NULL) {
			for (int i = 0; i < n; i++)
				names[i] = source_name(paths[i], o->name, nbuf + i * 256, 256);
			ex = push_precheck(ui, c, paths, names, n);
		} else {
			fprintf(stderr, "autobackup: out of memory\n");
		}
		free(names);
		free(nbuf);
		if (ex != ABK_EXIT_OK)
			return ex;
	}
	if (o->json)
		fputs("[", stdout);
	for (int i = 0; i < n; i++) {
		const char **excl;
		char *excl_owned;
		struct abk_push_opts po;
		struct abk_push_result res;
		abk_err err = ABK_ERR_INIT;
		char sent[32], stored[32], srcname[256];
		struct timespec t0, t1;
		double secs;
		int rc, ex;

		memset(&po, 0, sizeof(po));
		po.path = paths[i];
		po.name = source_name(paths[i], o->name, srcname, sizeof(srcname));
		if ((ex = push_excludes(ui, paths[i], &excl, &excl_owned)) != ABK_EXIT_OK) {
			worst = ex;
			break;
		}
		po.excludes = excl;
		po.one_file_system = o->one_file_system;
		po.checksum = o->checksum;
		po.threads = o->threads;
		po.bwlimit = o->bwlimit;
		po.compress = (enum abk_compress)o->compress;
		po.progress = on_progress;
		po.note = on_note;
		po.ctx = ui;
		po.cancel = &batch_cancel;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = abk_push(c, &po, &res, &err);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (excl != o->excludes)
			free(excl);
		free(excl_owned);
		secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		clear_line(ui);
		ex = abk_exit_for(rc);
		if (rc == ABK_OK || rc == ABK_E_PARTIAL)
			record_origin(ui, paths[i], po.name);
		if (rc != ABK_OK && rc != ABK_E_PARTIAL) {
			fail(ui, &err);
		} else if (o->json) {
			fputs(i ? ",{" : "{", stdout);
			json_kv_str(stdout, 1, "path", paths[i]);
			json_kv_str(stdout, 0, "source", po.name);
			json_kv_str(stdout, 0, "snapshot", res.snapshot);
			json_kv_u64(stdout, 0, "entries", res.entries);
			json_kv_u64(stdout, 0, "added", res.added);
			json_kv_u64(stdout, 0, "changed", res.changed);
			json_kv_u64(stdout, 0, "removed", res.removed);
			json_kv_u64(stdout, 0, "unchanged", res.unchanged);
			/* every entry reported as skipped; "special" of them by design */
			json_kv_u64(stdout, 0, "skipped", res.skipped + res.special);
			json_kv_u64(stdout, 0, "special", res.special);
			json_kv_u64(stdout, 0, "kept", res.kept);
			json_kv_u64(stdout, 0, "bytes_sent", res.bytes_sent);
			json_kv_u64(stdout, 0, "bytes_received", res.bytes_received);
			json_kv_u64(stdout, 0, "bytes_stored", res.bytes_stored);
			fprintf(stdout, ",\"duration_s\":%.3f", secs);
			fputs("}", stdout);
		} else if (!o->quiet) {
			print_name(stdout, po.name, strlen(po.name));
			printf(": snapshot %s: %llu added, %llu changed, %llu removed, %llu "
			    "unchanged; %s sent, %s stored in %.1f s%s", res.snapshot,
			    (unsigned long long)res.added, (unsigned long long)res.changed,
			    (unsigned long long)res.removed, (unsigned long long)res.unchanged,
			    abk_format_size(res.bytes_sent, sent, sizeof(sent)),
			    abk_format_size(res.bytes_stored, stored, sizeof(stored)), secs,
			    rc == ABK_E_PARTIAL ? " (some entries skipped)" : "");
			if (res.special > 0)
				printf("; %llu special file%s (FIFO, socket, device) skipped",
				    (unsigned long long)res.special, res.special == 1 ? "" : "s");
			if (res.kept > 0)	/* unreadable now: the last good copy stays */
				printf("; unreadable: kept previous version of %llu file%s",
				    (unsigned long long)res.kept, res.kept == 1 ? "" : "s");
			putchar('\n');
		}
		if (ex != ABK_EXIT_OK && (worst == ABK_EXIT_OK || worst == ABK_EXIT_PARTIAL))
			worst = ex;
		if (rc == ABK_E_CANCELED || abk_code_is_disconnect(rc) || rc == ABK_E_TLS ||
		    rc == ABK_E_PROTO)
			break;
	}
	if (o->json)
		fputs("]\n", stdout);
	return worst;
}

int
resolve_snapshot(struct batch_ui *ui, abk_client *c, const char *source)
{
	abk_err err = ABK_ERR_INIT;

	if (ui->o->snapshot == NULL)
		return ABK_EXIT_OK;
	if (abk_snapshot_resolve(c, source, ui->o->snapshot, ui->snap_id, sizeof(ui->snap_id),
	    &err) != ABK_OK)
		return fail(ui, &err);
	if (ui->o->verbose && strcmp(ui->snap_id, ui->o->snapshot) != 0)
		fprintf(stderr, "autobackup: snapshot %s is %s\n", ui->o->snapshot, ui->snap_id);
	ui->o->snapshot = ui->snap_id;
	return ABK_EXIT_OK;
}

/* Paths a restore reports, kept for --json (printed at the end). */
struct pathlist {
	char **v;
	size_t n, cap;
};

struct restore_ui {
	struct batch_ui *ui;
	struct pathlist lists[3];	/* by enum abk_change */
	int nomem;
};

static void
pathlist_free(struct pathlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void
on_restore_note(void *ctx, const char *path, const char *why)
{
	struct restore_ui *ru = ctx;

	clear_line(ru->ui);
	fputs("autobackup: ", stderr);
	print_name(stderr, path, strlen(path));
	fprintf(stderr, ": %s\n", why);
}

static void
on_restore_progress(void *ctx, const struct abk_progress *p)
{
	on_progress(((struct restore_ui *)ctx)->ui, p);
}

static void
on_change(void *ctx, enum abk_change what, const char *path)
{
	static const char *const verbs[] = { "create", "overwrite", "deleted" };
	struct restore_ui *ru = ctx;
	struct batch_opts *o = ru->ui->o;

	if (o->json) {
		struct pathlist *l = &ru->lists[what];

		if (l->n == l->cap) {
			size_t ncap = l->cap ? l->cap * 2 : 64;
			char **nv = realloc(l->v, ncap * sizeof(*nv));

			if (nv == NULL) {
				ru->nomem = 1;
				return;
			}
			l->v = nv;
			l->cap = ncap;
		}
		if ((l->v[l->n] = strdup(path)) == NULL)
			ru->nomem = 1;
		else
			l->n++;
		return;
	}
	if (o->quiet)
		return;
	clear_line(ru->ui);
	fputs(what == ABK_CHANGE_DELETE && o->dry_run ? "delete" : verbs[what], stdout);
	fputc(' ', stdout);
	print_name(stdout, path, strlen(path));
	fputc('\n', stdout);
}

static void
json_pathlist(FILE *f, const char *key, const struct pathlist *l)
{
	fprintf(f, ",\"%s\":[", key);
	for (size_t i = 0; i < l->n; i++) {
		if (i > 0)
			fputc(',', f);
		json_string(f, l->v[i]);
	}
	fputc(']', f);
}

static int
cmd_restore(struct batch_ui *ui, abk_client *c, char **args, int n)
{
	struct batch_opts *o = ui->o;
	struct abk_restore_opts ro;
	struct abk_restore_result res;
	struct restore_ui ru;
	abk_err err = ABK_ERR_INIT;
	const char *paths[2] = { o->path, NULL };
	char origin[4096];
	int rc, ex;

	if (n != 1) {
		fprintf(stderr, "autobackup: restore needs exactly one SOURCE\n");
		return ABK_EXIT_USAGE;
	}
	if (o->zip != NULL && (o->to != NULL || o->delete_extra || o->dry_run)) {
		fprintf(stderr, "autobackup: --zip cannot be combined with --to, --delete or "
		    "--dry-run\n");
		return ABK_EXIT_USAGE;
	}
	if ((ex = restore_zip_check(ui)) != ABK_EXIT_OK)
		return ex;
	if ((ex = resolve_snapshot(ui, c, args[0])) != ABK_EXIT_OK)
		return ex;
	ui->pl.transfer_word = "receiving";
	memset(&ru, 0, sizeof(ru));
	ru.ui = ui;
	memset(&ro, 0, sizeof(ro));
	ro.source = args[0];
	ro.snapshot = o->snapshot;
	ro.paths = o->path ? paths : NULL;
	ro.to = o->to;
	ro.zip_file = o->zip;
	if (o->to == NULL && o->zip == NULL) {
		char file[4200];
		abk_err lerr = ABK_ERR_INIT;

		if (origins_default_path(file, sizeof(file), &lerr) == ABK_OK &&
		    origins_lookup(file, ui->server_key, ui->user, args[0], origin,
		    sizeof(origin), &lerr) == ABK_OK)
			ro.origin = origin;
		else if (lerr.code != ABK_E_NOTFOUND)
			fprintf(stderr, "autobackup: warning: %s\n", lerr.msg);
	}
	ro.delete_extra = o->delete_extra;
	ro.dry_run = o->dry_run;
	ro.progress = on_restore_progress;
	ro.note = on_restore_note;
	ro.change = on_change;
	ro.ctx = &ru;
	ro.cancel = &batch_cancel;
	if ((ex = restore_overwrite_check(ui, c, &ro)) != ABK_EXIT_OK)
		goto out;
	ro.snapshot = o->snapshot;
	rc = abk_restore(c, &ro, &res, &err);
	clear_line(ui);
	ex = abk_exit_for(rc);
	if (rc == ABK_OK && ru.nomem) {
		fprintf(stderr, "autobackup: out of memory listing the changes\n");
		ex = ABK_EXIT_FAILURE;
	}
	if (rc != ABK_OK && rc != ABK_E_PARTIAL && rc != ABK_E_INTEGRITY) {
		fail(ui, &err);
		goto out;
	}
	if (rc != ABK_OK)
		fail(ui, &err);
	if (o->json) {
		fputs("{", stdout);
		json_kv_str(stdout, 1, "source", args[0]);
		json_kv_str(stdout, 0, "snapshot", res.snapshot);
		json_kv_str(stdout, 0, "target", res.target);
		fprintf(stdout, ",\"dry_run\":%s", o->dry_run ? "true" : "false");
		json_kv_u64(stdout, 0, "files", res.files);
		json_kv_u64(stdout, 0, "dirs", res.dirs);
		json_kv_u64(stdout, 0, "symlinks", res.symlinks);
		json_kv_u64(stdout, 0, "bytes", res.bytes);
		json_kv_u64(stdout, 0, "failed", res.failed);
		json_kv_u64(stdout, 0, "damaged", res.damaged);
		json_kv_u64(stdout, 0, "identical", res.identical);
		/* counts keep their names (scripts read them); the paths are beside */
		json_kv_u64(stdout, 0, "deleted", res.deleted);
		if (o->dry_run) {
			json_kv_u64(stdout, 0, "created", res.created);
			json_kv_u64(stdout, 0, "overwritten", res.overwritten);
			json_pathlist(stdout, "created_paths", &ru.lists[ABK_CHANGE_CREATE]);
			json_pathlist(stdout, "overwritten_paths", &ru.lists[ABK_CHANGE_OVERWRITE]);
		}
		json_pathlist(stdout, "deleted_paths", &ru.lists[ABK_CHANGE_DELETE]);
		fputs("}\n", stdout);
	} else if (!o->quiet && o->dry_run) {
		printf("dry run of %s snapshot %s to %s: %llu to create, %llu to overwrite, "
		    "%llu to delete; nothing was changed\n", args[0], res.snapshot, res.target,
		    (unsigned long long)res.created, (unsigned long long)res.overwritten,
		    (unsigned long long)res.deleted);
	} else if (!o->quiet) {
		char size[32], deleted[48] = "", same[96] = "", isize[32];

		if (o->delete_extra)
			snprintf(deleted, sizeof(deleted), ", %llu extra entries removed",
			    (unsigned long long)res.deleted);
		if (res.identical > 0)	/* a restore run again resumes */
			snprintf(same, sizeof(same), "; %llu files (%s) already there, identical",
			    (unsigned long long)res.identical,
			    abk_format_size(res.identical_bytes, isize, sizeof(isize)));
		printf("restored %s snapshot %s to %s: %llu files, %llu folders, %llu symlinks, "
		    "%s%s%s\n", args[0], res.snapshot, res.target, (unsigned long long)res.files,
		    (unsigned long long)res.dirs, (unsigned long long)res.symlinks,
		    abk_format_size(res.bytes, size, sizeof(size)), deleted, same);
	}
out:
	for (int i = 0; i < 3; i++)
		pathlist_free(&ru.lists[i]);
	return ex;
}

static void
on_problem(void *ctx, const char *path, const char *problem)
{
	struct batch_ui *ui = ctx;

	clear_line(ui);
	if (ui->o->json)
		return;
	print_name(stdout, path, strlen(path));
	printf(": %s\n", problem);
}

static int
cmd_verify(struct batch_ui *ui, abk_client *c, char **args, int n)
{
	struct abk_verify_result res;
	abk_err err = ABK_ERR_INIT;
	int rc;

	if (n != 1) {
		fprintf(stderr, "autobackup: verify needs exactly one SOURCE\n");
		return ABK_EXIT_USAGE;
	}
	if ((rc = resolve_snapshot(ui, c, args[0])) != ABK_EXIT_OK)
		return rc;
	rc = abk_verify(c, args[0], ui->o->snapshot, on_problem, ui, &res, &err);
	if (rc != ABK_OK && rc != ABK_E_INTEGRITY)
		return fail(ui, &err);
	if (ui->o->json) {
		fputs("{", stdout);
		json_kv_str(stdout, 1, "snapshot", res.snapshot);
		json_kv_u64(stdout, 0, "checked", res.checked);
		json_kv_u64(stdout, 0, "missing", res.missing);
		json_kv_u64(stdout, 0, "corrupted", res.corrupted);
		json_kv_u64(stdout, 0, "bytes", res.bytes);
		fputs("}\n", stdout);
	} else if (!ui->o->quiet || rc != ABK_OK) {
		printf("snapshot %s: %llu files checked, %llu missing, %llu corrupted\n",
		    res.snapshot, (unsigned long long)res.checked,
		    (unsigned long long)res.missing, (unsigned long long)res.corrupted);
	}
	return rc == ABK_OK ? ABK_EXIT_OK : ABK_EXIT_INTEGRITY;
}

static const struct {
	const char *name;
	int (*run)(struct batch_ui *ui, abk_client *c, char **args, int n);
} batch_commands[] = {
	{ "push", cmd_push },
	{ "list", cmd_list },
	{ "restore", cmd_restore },
	{ "verify", cmd_verify },
	{ "find", cmd_find },
};

static int batch_command(struct batch_opts *o);

int
batch_run(struct batch_opts *o)
{
	int ex;

	if (strcmp(o->args[0], "schedule") == 0)
		return schedule_run(o);	/* local files only: no server */
	ex = batch_command(o);
	if (o->record_status != NULL)	/* a scheduled run: schedule list shows it */
		schedule_record_status(o->record_status, ex);
	return ex;
}

static int
batch_command(struct batch_opts *o)
{
	struct batch_ui ui;
	struct abk_profile prof;
	struct sigaction sa;
	abk_client *c = NULL;
	abk_err err = ABK_ERR_INIT;
	size_t k;
	int rc, ex;

	memset(&ui, 0, sizeof(ui));
	ui.o = o;
	progress_line_init(&ui.pl, o->progress, o->quiet, o->json);
	for (k = 0; k < sizeof(batch_commands) / sizeof(batch_commands[0]); k++)
		if (strcmp(o->args[0], batch_commands[k].name) == 0)
			break;
	if (k == sizeof(batch_commands) / sizeof(batch_commands[0])) {
		fprintf(stderr, "autobackup: unknown command '%s' (push, list, find, restore, verify, schedule)\n"
		    "Try 'autobackup --help'.\n", o->args[0]);
		return ABK_EXIT_USAGE;
	}
	rc = batch_profile(o, &prof, &err);
	if (rc != ABK_OK) {
		abk_wipe(prof.secret, sizeof(prof.secret));
		return fail(&ui, &err);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = batch_on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (abk_engine_init(&err) != ABK_OK)
		return fail(&ui, &err);
	origins_server_key(prof.server, ui.server_key, sizeof(ui.server_key));
	snprintf(ui.user, sizeof(ui.user), "%s", prof.user);
	rc = abk_connect(&prof, &c, &err);
	abk_wipe(prof.secret, sizeof(prof.secret));
	if (rc != ABK_OK) {
		abk_engine_cleanup();
		return fail(&ui, &err);
	}
	if (o->verbose)
		fprintf(stderr, "autobackup: connected to %s\n", abk_server_software(c));
	ex = batch_commands[k].run(&ui, c, o->args + 1, o->n_args - 1);
	abk_disconnect(c);
	abk_engine_cleanup();
	if (batch_cancel && ex != ABK_EXIT_OK)
		ex = ABK_EXIT_CANCELED;
	return ex;
}
