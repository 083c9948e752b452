/*
 * batch_list.c - `autobackup --batch list`: sources, a source's snapshots,
 * or the files of a snapshot folder (with --recursive, everything below it).
 * On a terminal: aligned tables with a header, human sizes and local times;
 * otherwise tab-separated lines (stable for scripts), or --json.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch_int.h"
#include "exitcodes.h"
#include "json.h"
#include "strutil.h"
#include "text.h"

#define TABLE_COLS 8

/* Rows of cells, printed with every column as wide as its widest cell. */
struct table {
	int ncols;
	const char *align;		/* per column: 'l' or 'r' */
	char **cells;			/* row-major, strdup'd */
	size_t nrows, cap;
	int nomem;
};

static void
table_row(struct table *t, ...)
{
	va_list ap;

	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		char **nv = realloc(t->cells, ncap * (size_t)t->ncols * sizeof(*nv));

		if (nv == NULL) {
			t->nomem = 1;
			return;
		}
		t->cells = nv;
		t->cap = ncap;
	}
	va_start(ap, t);
	for (int i = 0; i < t->ncols; i++) {
		const char *c = va_arg(ap, const char *);
		char *d = strdup(c ? c : "");

		if (d == NULL)
			t->nomem = 1;
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = d;
	}
	va_end(ap);
	t->nrows++;
}

static void
table_print(struct table *t, FILE *f)
{
	int w[TABLE_COLS] = { 0 };

	for (size_t r = 0; r < t->nrows; r++)
		for (int i = 0; i < t->ncols; i++) {
			const char *c = t->cells[r * (size_t)t->ncols + (size_t)i];
			int cw = c ? term_text_cols(c) : 0;

			if (cw > w[i])
				w[i] = cw;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (int i = 0; i < t->ncols; i++) {
			const char *c = t->cells[r * (size_t)t->ncols + (size_t)i];
			int pad = w[i] - (c ? term_text_cols(c) : 0);
			int last = i == t->ncols - 1;

			if (t->align[i] == 'r')
				fprintf(f, "%*s", pad, "");
			fputs(c ? c : "", f);
			if (!last)
				fprintf(f, "%*s", t->align[i] == 'r' ? 2 : pad + 2, "");
		}
		fputc('\n', f);
	}
}

static void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

static int
tables_wanted(const struct batch_ui *ui)
{
	return !ui->o->json && isatty(STDOUT_FILENO);
}

/* ---- sources ------------------------------------------------------------ */

struct list_ctx {
	struct batch_ui *ui;
	struct table t;
};

static int
source_row(void *ctx, const struct abk_source_info *s)
{
	struct list_ctx *lc = ctx;
	struct batch_ui *ui = lc->ui;
	char size[32];

	if (ui->o->json) {
		fputs(ui->first_json ? "{" : ",{", stdout);
		ui->first_json = 0;
		json_kv_str(stdout, 1, "name", s->name);
		json_kv_str(stdout, 0, "origin", s->origin);
		json_kv_u64(stdout, 0, "snapshots", s->snapshots);
		json_kv_str(stdout, 0, "latest", s->latest_id);
		json_kv_i64(stdout, 0, "latest_time", s->latest_time);
		json_kv_u64(stdout, 0, "files", s->latest_files);
		json_kv_u64(stdout, 0, "bytes", s->latest_bytes);
		json_kv_str(stdout, 0, "retention", s->policy ? s->policy : "");
		fputs("}", stdout);
		return 0;
	}
	abk_format_size(s->latest_bytes, size, sizeof(size));
	if (tables_wanted(ui)) {
		char when[32], name[1024], origin[4200], n[24], files[24];

		text_escape(s->name, name, sizeof(name));
		text_escape(s->origin, origin, sizeof(origin));
		snprintf(n, sizeof(n), "%u", s->snapshots);
		snprintf(files, sizeof(files), "%llu", (unsigned long long)s->latest_files);
		table_row(&lc->t, name, n, text_date(s->latest_time, when, sizeof(when)), files,
		    size, s->policy ? s->policy : "", origin);
		return 0;
	}
	print_name(stdout, s->name, strlen(s->name));
	printf("\t%u snapshot(s)\tlatest %s\t%llu files\t%s\t", s->snapshots, s->latest_id,
	    (unsigned long long)s->latest_files, size);
	print_name(stdout, s->origin, strlen(s->origin));
	/* always the same number of fields for scripts; empty from an old server */
	printf("\t%s%s\n", s->policy != NULL && s->policy[0] != '\0' ? "keeps " : "",
	    s->policy != NULL ? s->policy : "");
	return 0;
}

/* ---- snapshots ---------------------------------------------------------- */

static int
snapshot_row(void *ctx, const struct abk_snapshot_info *s)
{
	struct list_ctx *lc = ctx;
	struct batch_ui *ui = lc->ui;
	char size[32], when[32];
	time_t t = (time_t)s->time;
	struct tm tm;

	if (ui->o->json) {
		fputs(ui->first_json ? "{" : ",{", stdout);
		ui->first_json = 0;
		json_kv_str(stdout, 1, "id", s->id);
		json_kv_i64(stdout, 0, "time", s->time);
		json_kv_u64(stdout, 0, "files", s->files);
		json_kv_u64(stdout, 0, "bytes", s->bytes);
		fputs("}", stdout);
		return 0;
	}
	abk_format_size(s->bytes, size, sizeof(size));
	if (tables_wanted(ui)) {
		char files[24];

		snprintf(files, sizeof(files), "%llu", (unsigned long long)s->files);
		table_row(&lc->t, s->id, text_date(s->time, when, sizeof(when)), files, size);
		return 0;
	}
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	printf("%s\t%s\t%llu files\t%s\n", s->id, when, (unsigned long long)s->files, size);
	return 0;
}

/* ---- files -------------------------------------------------------------- */

static int
collect_entry(void *ctx, const struct manifest_entry *e)
{
	struct fcollect *fc = ctx;
	struct fent *f;

	if (fc->n == fc->cap) {
		size_t ncap = fc->cap ? fc->cap * 2 : 256;
		struct fent *nv = realloc(fc->v, ncap * sizeof(*nv));

		if (nv == NULL) {
			fc->nomem = 1;
			return 1;
		}
		fc->v = nv;
		fc->cap = ncap;
	}
	f = &fc->v[fc->n];
	memset(f, 0, sizeof(*f));
	f->path = strndup(e->path, e->path_len);
	if (e->type == MF_SYMLINK)
		f->target = strndup(e->target, e->target_len);
	if (f->path == NULL || (e->type == MF_SYMLINK && f->target == NULL)) {
		free(f->path);
		free(f->target);
		fc->nomem = 1;
		return 1;
	}
	f->type = e->type;
	f->mode = e->mode;
	f->mtime = e->mtime;
	f->size = e->size;
	fc->n++;
	return 0;
}

int
fent_path_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fent *)a)->path, ((const struct fent *)b)->path);
}

/*
 * The entries of dir in snapshot (already resolved), and with recursive
 * those of every folder below: one listing per folder, breadth first.
 */
int
collect_files(abk_client *c, const char *source, const char *snapshot, const char *dir,
    int recursive, struct fcollect *fc, abk_err *err)
{
	size_t next = 0;
	int rc = abk_list_files(c, source, snapshot, dir, collect_entry, fc, err);

	while (rc == ABK_OK && recursive && next < fc->n) {
		if (fc->v[next].type == MF_DIR) {
			char *sub = strdup(fc->v[next].path);

			if (sub == NULL)
				return abk_err_set(err, ABK_E_NOMEM, "out of memory");
			rc = abk_list_files(c, source, snapshot, sub, collect_entry, fc, err);
			free(sub);
		}
		if (batch_canceled())
			return abk_err_set(err, ABK_E_CANCELED, "canceled");
		next++;
	}
	if (rc == 1 || fc->nomem)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory listing files");
	return rc;
}

static void
print_files(struct batch_ui *ui, struct fcollect *fc)
{
	struct table t = { 4, "llrl", NULL, 0, 0, 0 };
	int tables = tables_wanted(ui);

	if (fc->n > 1)
		qsort(fc->v, fc->n, sizeof(fc->v[0]), fent_path_cmp);
	if (tables)
		table_row(&t, "MODE", "MODIFIED", "SIZE", "PATH");
	if (ui->o->json)
		fputs("[", stdout);
	for (size_t i = 0; i < fc->n; i++) {
		const struct fent *f = &fc->v[i];
		char mode[8], when[40];
		char tc = f->type == MF_DIR ? 'd' : f->type == MF_SYMLINK ? 'l' : '-';

		if (ui->o->json) {
			fputs(i ? ",{" : "{", stdout);
			json_kv_str(stdout, 1, "path", f->path);
			json_kv_str(stdout, 0, "type", manifest_type_name(f->type));
			json_kv_u64(stdout, 0, "mode", f->mode);
			json_kv_i64(stdout, 0, "mtime", f->mtime);
			json_kv_u64(stdout, 0, "size", f->size);
			if (f->type == MF_SYMLINK)
				json_kv_str(stdout, 0, "target", f->target);
			fputs("}", stdout);
			continue;
		}
		snprintf(mode, sizeof(mode), "%c%04o", tc, f->mode);
		if (tables) {
			char size[32], path[8400];

			text_escape(f->path, path, sizeof(path) - 4300);
			if (f->type == MF_DIR)
				strcat(path, "/");
			if (f->type == MF_SYMLINK) {
				char target[4200];

				text_escape(f->target, target, sizeof(target));
				strcat(path, " -> ");
				strcat(path, target);
			}
			table_row(&t, mode, text_date(f->mtime, when, sizeof(when)),
			    f->type == MF_DIR ? "-" : abk_format_size(f->size, size, sizeof(size)),
			    path);
			continue;
		}
		{
			time_t tt = (time_t)f->mtime;
			struct tm tm;

			gmtime_r(&tt, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		printf("%s\t%llu\t%s\t", mode, (unsigned long long)f->size, when);
		print_name(stdout, f->path, strlen(f->path));
		if (f->type == MF_DIR)
			fputc('/', stdout);
		if (f->type == MF_SYMLINK) {
			fputs(" -> ", stdout);
			print_name(stdout, f->target, strlen(f->target));
		}
		fputc('\n', stdout);
	}
	if (ui->o->json)
		fputs("]\n", stdout);
	if (tables)
		table_print(&t, stdout);
	table_free(&t);
}

void
fcollect_free(struct fcollect *fc)
{
	for (size_t i = 0; i < fc->n; i++) {
		free(fc->v[i].path);
		free(fc->v[i].target);
	}
	free(fc->v);
}

int
cmd_list(struct batch_ui *ui, abk_client *c, char **args, int n)
{
	struct batch_opts *o = ui->o;
	struct list_ctx lc;
	abk_err err = ABK_ERR_INIT;
	int rc, tables = tables_wanted(ui);

	if (n > 1) {
		fprintf(stderr, "autobackup: list takes at most one SOURCE\n");
		return ABK_EXIT_USAGE;
	}
	if ((o->snapshot || o->path || o->recursive) && n == 0) {
		fprintf(stderr, "autobackup: --snapshot, --path and --recursive need a SOURCE\n");
		return ABK_EXIT_USAGE;
	}
	if (n == 1 && (rc = resolve_snapshot(ui, c, args[0])) != ABK_EXIT_OK)
		return rc;
	if (n == 1 && (o->snapshot || o->path || o->recursive)) {
		struct fcollect fc = { NULL, 0, 0, 0 };

		rc = collect_files(c, args[0], o->snapshot, o->path ? o->path : "", o->recursive,
		    &fc, &err);
		if (rc == ABK_OK)
			print_files(ui, &fc);
		fcollect_free(&fc);
		return rc == ABK_OK ? ABK_EXIT_OK : fail(ui, &err);
	}
	memset(&lc, 0, sizeof(lc));
	lc.ui = ui;
	ui->first_json = 1;
	if (o->json)
		fputs("[", stdout);
	if (n == 0) {
		lc.t.ncols = 7;
		lc.t.align = "lrlrrll";
		if (tables)
			table_row(&lc.t, "SOURCE", "SNAPSHOTS", "LATEST", "FILES", "SIZE", "KEEPS",
			    "ORIGIN");
		rc = abk_list_sources(c, source_row, &lc, &err);
	} else {
		lc.t.ncols = 4;
		lc.t.align = "llrr";
		if (tables)
			table_row(&lc.t, "SNAPSHOT", "TAKEN", "FILES", "SIZE");
		rc = abk_list_snapshots(c, args[0], snapshot_row, &lc, &err);
	}
	if (o->json)
		fputs("]\n", stdout);
	if (rc == ABK_OK && tables) {
		table_print(&lc.t, stdout);
		if (n == 0) {
			uint64_t q = abk_user_quota(c), used = 0;
			int has_used = abk_user_usage(c, &used);
			char qs[32], us[32];

			/* LOGIN_OK carries both (the usage only from newer servers) */
			if (q > 0 && has_used)
				printf("quota: %s used of %s (%u%%)\n",
				    abk_format_size(used, us, sizeof(us)),
				    abk_format_size(q, qs, sizeof(qs)),
				    (unsigned)(used >= q ? 100 : (double)used * 100.0 / (double)q));
			else if (q > 0)
				printf("quota: %s\n", abk_format_size(q, qs, sizeof(qs)));
			else if (has_used)
				printf("quota: none (%s used)\n", abk_format_size(used, us, sizeof(us)));
			else
				printf("quota: none\n");
		}
	}
	table_free(&lc.t);
	return rc == ABK_OK ? ABK_EXIT_OK : fail(ui, &err);
}
