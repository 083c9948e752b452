/*
 * batch_find.c - `autobackup --batch find PATTERN [SOURCE]`: in which
 * snapshots a matching path exists, and when it changed (like restic's
 * find).  Every folder of every snapshot is listed (one LIST_FILES each),
 * oldest snapshot first; consecutive snapshots where a path has the same
 * type, size and mtime make one version.
 */
#include "config.h"

#include <fnmatch.h>
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

/* One version of a path: snapshots [first, last] of the source's list. */
struct version {
	char *path;
	uint8_t type;
	uint64_t size;
	int64_t mtime;
	size_t first, last;
};

struct vlist {
	struct version *v;
	size_t n, cap;
};

static int
vlist_push(struct vlist *l, const struct version *x)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct version *nv = realloc(l->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = *x;
	return 0;
}

static void
vlist_free(struct vlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
matches(const char *pattern, const char *path)
{
	const char *slash = strrchr(path, '/');

	return fnmatch(pattern, path, 0) == 0 ||
	    (slash != NULL && fnmatch(pattern, slash + 1, 0) == 0);
}

static int
version_cmp(const void *a, const void *b)
{
	const struct version *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c != 0)
		return c;
	return x->first < y->first ? -1 : x->first > y->first;
}

/*
 * Merge snapshot i's sorted entries into the open versions (sorted by
 * path): a path gone or changed closes its version into done.
 */
static int
merge_snapshot(struct vlist *open, struct vlist *done, struct fcollect *fc, size_t i,
    const char *pattern)
{
	struct vlist next = { NULL, 0, 0 };
	size_t a = 0, b = 0;

	for (;;) {
		struct fent *e;
		int c;

		while (b < fc->n && !matches(pattern, fc->v[b].path))
			b++;
		if (a == open->n && b == fc->n)
			break;
		e = b < fc->n ? &fc->v[b] : NULL;
		c = a == open->n ? 1 : e == NULL ? -1 : strcmp(open->v[a].path, e->path);
		if (c < 0) {		/* gone in this snapshot */
			if (vlist_push(done, &open->v[a]) != 0)
				goto nomem;
			a++;
			continue;
		}
		if (c < 0 || e == NULL)
			continue;	/* not reached: c < 0 whenever e is NULL */
		if (c == 0 && open->v[a].type == e->type && open->v[a].size == e->size &&
		    open->v[a].mtime == e->mtime) {
			open->v[a].last = i;
			if (vlist_push(&next, &open->v[a]) != 0)
				goto nomem;
		} else {
			struct version x = { e->path, e->type, e->size, e->mtime, i, i };

			if (c == 0 && vlist_push(done, &open->v[a]) != 0)
				goto nomem;
			if (vlist_push(&next, &x) != 0)
				goto nomem;
			e->path = NULL;	/* now owned by the version */
		}
		if (c == 0)
			a++;
		b++;
	}
	free(open->v);
	*open = next;
	return 0;
nomem:
	free(next.v);
	return -1;
}

static void
when_text(int64_t t, int utc, char *buf, size_t bufsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!utc) {
		text_date(t, buf, bufsz);
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
print_versions(struct batch_ui *ui, const char *source, const struct abk_snaplist *sl,
    struct vlist *done, int *first_json)
{
	int tty = isatty(STDOUT_FILENO);

	if (done->n > 1)
		qsort(done->v, done->n, sizeof(done->v[0]), version_cmp);
	for (size_t i = 0; i < done->n; i++) {
		const struct version *v = &done->v[i];
		int new_path = i == 0 || strcmp(done->v[i - 1].path, v->path) != 0;
		int last_of_path = i + 1 == done->n || strcmp(done->v[i + 1].path, v->path) != 0;
		size_t count = v->last - v->first + 1;
		char size[32], when[40];

		if (ui->o->json) {
			if (new_path) {
				fputs(*first_json ? "{" : ",{", stdout);
				*first_json = 0;
				json_kv_str(stdout, 1, "source", source);
				json_kv_str(stdout, 0, "path", v->path);
				json_kv_str(stdout, 0, "type", manifest_type_name(v->type));
				fputs(",\"versions\":[", stdout);
			}
			fputs(new_path ? "{" : ",{", stdout);
			json_kv_str(stdout, 1, "first", sl->v[v->first].id);
			json_kv_str(stdout, 0, "last", sl->v[v->last].id);
			json_kv_u64(stdout, 0, "snapshots", count);
			json_kv_u64(stdout, 0, "size", v->size);
			json_kv_i64(stdout, 0, "mtime", v->mtime);
			fputs("}", stdout);
			if (last_of_path)
				fputs("]}", stdout);
			continue;
		}
		when_text(v->mtime, !tty, when, sizeof(when));
		abk_format_size(v->size, size, sizeof(size));
		if (!tty) {
			print_name(stdout, source, strlen(source));
			fputc('\t', stdout);
			print_name(stdout, v->path, strlen(v->path));
			printf("%s\t%s\t%s\t%zu\t%llu\t%s\n", v->type == MF_DIR ? "/" : "",
			    sl->v[v->first].id, sl->v[v->last].id, count,
			    (unsigned long long)v->size, when);
			continue;
		}
		if (new_path) {
			print_name(stdout, source, strlen(source));
			fputs(": ", stdout);
			print_name(stdout, v->path, strlen(v->path));
			puts(v->type == MF_DIR ? "/" : "");
		}
		if (count == 1)
			printf("  %s%*s", sl->v[v->first].id, 26, "");
		else
			printf("  %s .. %s", sl->v[v->first].id, sl->v[v->last].id);
		printf("  %4zu snapshot%s  %10s  modified %s\n", count, count == 1 ? " " : "s",
		    v->type == MF_DIR ? "-" : size, when);
	}
}

/* Search one source; *found gets the number of matching paths' versions. */
static int
find_in_source(struct batch_ui *ui, abk_client *c, const char *pattern, const char *source,
    size_t *found, int *first_json, abk_err *err)
{
	struct abk_snaplist sl = { NULL, 0, 0 };
	struct vlist open = { NULL, 0, 0 }, done = { NULL, 0, 0 };
	size_t from = 0, to;
	int rc = abk_snaplist_fetch(c, source, &sl, err);

	if (rc != ABK_OK)
		goto out;
	to = sl.n;
	if (ui->o->snapshot != NULL) {	/* only that one */
		size_t k;

		if ((rc = abk_snapshot_pick(&sl, ui->o->snapshot, &k, err)) != ABK_OK)
			goto out;
		from = k;
		to = k + 1;
	}
	for (size_t i = from; i < to && rc == ABK_OK; i++) {
		struct fcollect fc = { NULL, 0, 0, 0 };

		rc = collect_files(c, source, sl.v[i].id, "", 1, &fc, err);
		if (rc == ABK_OK) {
			if (fc.n > 1)
				qsort(fc.v, fc.n, sizeof(fc.v[0]), fent_path_cmp);
			if (merge_snapshot(&open, &done, &fc, i, pattern) != 0)
				rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
		}
		fcollect_free(&fc);
	}
	for (size_t i = 0; i < open.n && rc == ABK_OK; i++) {
		if (vlist_push(&done, &open.v[i]) != 0) {
			rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
			break;
		}
		open.v[i].path = NULL;
	}
	if (rc == ABK_OK) {
		print_versions(ui, source, &sl, &done, first_json);
		*found += done.n;
	}
out:
	vlist_free(&open);
	vlist_free(&done);
	abk_snaplist_free(&sl);
	return rc;
}

struct names {
	char **v;
	size_t n, cap;
};

static int
name_add(void *ctx, const struct abk_source_info *s)
{
	struct names *nm = ctx;

	if (nm->n == nm->cap) {
		size_t ncap = nm->cap ? nm->cap * 2 : 16;
		char **nv = realloc(nm->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return 1;
		nm->v = nv;
		nm->cap = ncap;
	}
	if ((nm->v[nm->n] = strdup(s->name)) == NULL)
		return 1;
	nm->n++;
	return 0;
}

int
cmd_find(struct batch_ui *ui, abk_client *c, char **args, int n)
{
	struct names nm = { NULL, 0, 0 };
	abk_err err = ABK_ERR_INIT;
	size_t found = 0;
	int first_json = 1, rc = ABK_OK;

	if (n < 1 || n > 2) {
		fprintf(stderr, "autobackup: find needs a PATTERN and at most one SOURCE\n"
		    "Try 'autobackup --help'.\n");
		return ABK_EXIT_USAGE;
	}
	if (ui->o->snapshot != NULL && n != 2) {
		fprintf(stderr, "autobackup: find --snapshot needs a SOURCE\n");
		return ABK_EXIT_USAGE;
	}
	if (n == 2) {
		rc = name_add(&nm, &(struct abk_source_info){ .name = args[1] }) ? ABK_E_NOMEM :
		    ABK_OK;
	} else {
		rc = abk_list_sources(c, name_add, &nm, &err);
		if (rc == 1)
			rc = ABK_E_NOMEM;
	}
	if (rc == ABK_E_NOMEM)
		abk_err_set(&err, ABK_E_NOMEM, "out of memory");
	if (ui->o->json)
		fputs("[", stdout);
	for (size_t i = 0; i < nm.n && rc == ABK_OK; i++)
		rc = find_in_source(ui, c, args[0], nm.v[i], &found, &first_json, &err);
	if (ui->o->json)
		fputs("]\n", stdout);
	for (size_t i = 0; i < nm.n; i++)
		free(nm.v[i]);
	free(nm.v);
	if (rc != ABK_OK)
		return fail(ui, &err);
	if (found == 0) {
		if (!ui->o->json && !ui->o->quiet)
			fprintf(stderr, "autobackup: no path matches '%s'\n", args[0]);
		return ABK_EXIT_REFUSED;
	}
	return ABK_EXIT_OK;
}
