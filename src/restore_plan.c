/*
 * restore_plan.c - the checks and walks of a restore around the data: the
 * received list is checked entry by entry (restore_list_add), --delete and
 * --dry-run look at the target, and folder modes and times are set last.
 *
 * Scope: what a restore may change is what it restores.  Without --path
 * that is the target folder and everything below it (a single-file source:
 * that one file only); with --path P, P itself and what is below it, never
 * P's parent folders, its siblings or the target's root.  The list is
 * refused if the server sends anything outside the scope, so the writer
 * (restore_write.c) never replaces anything outside it either.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "restore_int.h"

static const char *
rentry_key(void *ctx, uint32_t idx, size_t *len)
{
	struct rjob *j = ctx;

	*len = j->v[idx].path_len;
	return j->v[idx].path;
}

int
restore_scope_init(struct rjob *j, abk_err *err)
{
	size_t n = 0;

	while (j->opts->paths != NULL && j->opts->paths[n] != NULL)
		n++;
	if (n == 0)
		return ABK_OK;
	j->scope = calloc(n, sizeof(*j->scope));
	if (j->scope == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *p = j->opts->paths[i];
		size_t len = strlen(p);
		enum pathsafe_verdict v;

		while (len > 1 && p[len - 1] == '/')
			len--;		/* "a/b/" names the folder a/b */
		v = pathsafe_check(p, len);
		if (v != PATHSAFE_OK)
			return abk_err_set(err, ABK_E_USAGE, "--path %s: %s", p, pathsafe_reason(v));
		j->scope[i] = arena_dup(&j->arena, p, len);
		if (j->scope[i] == NULL)
			return abk_err_set(err, ABK_E_NOMEM, "out of memory");
		j->n_scope++;
	}
	return ABK_OK;
}

void
restore_scope_free(struct rjob *j)
{
	free(j->scope);		/* the strings are in the arena */
	j->scope = NULL;
	j->n_scope = 0;
}

/* 1 if path[0..len) is p itself or below it. */
static int
is_under(const char *path, size_t len, const char *p)
{
	size_t plen = strlen(p);

	if (len < plen || memcmp(path, p, plen) != 0)
		return 0;
	return len == plen || path[plen] == '/';
}

static int
in_scope(const struct rjob *j, const char *path, size_t len)
{
	if (j->n_scope == 0)
		return 1;
	for (size_t i = 0; i < j->n_scope; i++)
		if (is_under(path, len, j->scope[i]))
			return 1;
	return 0;
}

/* 1 if path[0..len) is a folder above a requested path (not sent, made). */
static int
above_scope(const struct rjob *j, const char *path, size_t len)
{
	for (size_t i = 0; i < j->n_scope; i++)
		if (strlen(j->scope[i]) > len && memcmp(j->scope[i], path, len) == 0 &&
		    j->scope[i][len] == '/')
			return 1;
	return 0;
}

/* Check entry idx against the list so far and add it to j->tab. */
static int
restore_list_add(struct rjob *j, uint32_t idx, abk_err *err)
{
	const struct rentry *e = &j->v[idx];
	char q[FSOPS_QUOTE_MAX];
	size_t plen = e->path_len;
	uint32_t found;
	int ins;

	if (!j->tab_ready) {
		if (pathtab_init(&j->tab, 1024, rentry_key, j, err) != ABK_OK)
			return err->code;
		j->tab_ready = 1;
	}
	if (!in_scope(j, e->path, e->path_len))
		return abk_err_set(err, ABK_E_PROTO, "the server sent \"%s\", which is outside "
		    "the requested path", fsops_quote(e->path, e->path_len, q, sizeof(q)));
	ins = pathtab_insert(&j->tab, e->path, e->path_len, idx, &found);
	if (ins < 0)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	if (ins == 1)
		return abk_err_set(err, ABK_E_PROTO, "the server's file list holds \"%s\" twice",
		    fsops_quote(e->path, e->path_len, q, sizeof(q)));
	while (plen > 0 && e->path[plen - 1] != '/')
		plen--;
	if (plen == 0)
		return ABK_OK;		/* in the target's root */
	plen--;
	if (pathtab_find(&j->tab, e->path, plen, &found)) {
		if (j->v[found].type != MF_DIR)
			return abk_err_set(err, ABK_E_PROTO, "the server's file list puts \"%s\" "
			    "in something that is not a folder",
			    fsops_quote(e->path, e->path_len, q, sizeof(q)));
		return ABK_OK;
	}
	if (above_scope(j, e->path, plen))
		return ABK_OK;
	return abk_err_set(err, ABK_E_PROTO, "the server's file list holds \"%s\" before "
	    "its folder", fsops_quote(e->path, e->path_len, q, sizeof(q)));
}

/*
 * Take one decoded entry of the server's list into the job: copied into the
 * arena, then checked by restore_list_add.  restore_read_list calls it per
 * entry; tests/fuzz/fuzz_restorelist.c drives it with hostile lists.
 */
int
restore_list_take(struct rjob *j, const struct manifest_entry *e, abk_err *err)
{
	struct rentry *re;
	int rc;

	if (j->n >= PROTO_MAX_ENTRIES)
		return abk_err_set(err, ABK_E_LIMIT, "too many entries");
	if (j->n == j->cap) {
		size_t ncap = j->cap ? j->cap * 2 : 1024;
		struct rentry *nv = realloc(j->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return abk_err_set(err, ABK_E_NOMEM, "out of memory");
		j->v = nv;
		j->cap = ncap;
	}
	re = &j->v[j->n];
	memset(re, 0, sizeof(*re));
	re->path = arena_dup(&j->arena, e->path, e->path_len);
	re->path_len = e->path_len;
	re->type = e->type;
	re->mode = e->mode;
	re->mtime = e->mtime;
	if (e->flags & MF_HAS_STAT)
		re->mtime_nsec = e->mtime_nsec;
	re->size = e->size;
	re->has_crc = e->type == MF_FILE && (e->flags & MF_HAS_CRC) != 0;
	re->crc = e->crc32;
	if (e->type == MF_SYMLINK)
		re->target = arena_dup(&j->arena, e->target, e->target_len);
	if (re->path == NULL || (e->type == MF_SYMLINK && re->target == NULL))
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	rc = restore_list_add(j, (uint32_t)j->n, err);
	if (rc != ABK_OK)
		return rc;
	if (e->type == MF_FILE)
		j->prog.bytes_total += e->size;
	j->n++;
	return ABK_OK;
}

static void
report(struct rjob *j, enum abk_change what, const char *path)
{
	if (what == ABK_CHANGE_CREATE)
		j->res->created++;
	else if (what == ABK_CHANGE_OVERWRITE)
		j->res->overwritten++;
	else
		j->res->deleted++;
	if (j->opts->change != NULL)
		j->opts->change(j->opts->ctx, what, path);
}

/* Descriptor of the restored folder d (or the root when d is NULL), or < 0. */
static int
open_restored_dir(struct rjob *j, const struct rentry *d, abk_err *err)
{
	char name[ABK_NAME_MAX + 1];
	int dirfd;

	if (d == NULL)
		return openat(j->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fsops_dircache_parent(&j->dc, d->path, d->path_len, &dirfd, name, err) != ABK_OK)
		return -1;
	return fsops_open_dir(dirfd, name, 0, err);
}

/*
 * --delete: in every restored folder, remove what is not in the snapshot.
 * Restored folders are the listed ones (all inside the scope) and, for a
 * whole restore of a folder source, the target itself; a single-file source
 * restores no folder, so nothing is deleted.  With --dry-run only reported.
 */
int
restore_delete_extra(struct rjob *j, abk_err *err)
{
	char *rel = malloc(ABK_PATH_MAX + 3);
	int rc = ABK_OK;

	if (rel == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	if (j->single || j->rootfd < 0 || !j->tab_ready)
		goto out;
	for (size_t i = 0; rc == ABK_OK && i <= j->n; i++) {
		const struct rentry *d = i < j->n ? &j->v[i] : NULL;
		abk_err ignored = ABK_ERR_INIT;
		char **names = NULL;
		size_t count = 0;
		int dirfd;

		if (d == NULL && j->n_scope > 0)
			continue;		/* --path: never the target's root */
		if (d != NULL && (d->type != MF_DIR || d->state == RENTRY_FAILED))
			continue;
		dirfd = open_restored_dir(j, d, &ignored);
		if (dirfd < 0)
			continue;		/* not there (dry run) or not made */
		if (fsops_list_names(dirfd, &names, &count, err) != ABK_OK) {
			rc = err->code;
			close(dirfd);
			break;
		}
		for (size_t k = 0; k < count && rc == ABK_OK; k++) {
			size_t len;
			uint32_t found;
			mode_t m = fsops_name_mode(names[k]);
			struct stat st;

			if (d == NULL)
				len = (size_t)snprintf(rel, ABK_PATH_MAX + 3, "%s", names[k]);
			else
				len = (size_t)snprintf(rel, ABK_PATH_MAX + 3, "%.*s/%s",
				    (int)d->path_len, d->path, names[k]);
			if (len > ABK_PATH_MAX || pathtab_find(&j->tab, rel, len, &found))
				continue;
			if (m == 0 && fstatat(dirfd, names[k], &st, AT_SYMLINK_NOFOLLOW) == 0)
				m = st.st_mode & S_IFMT;
			if (!j->opts->dry_run)
				rc = fsops_remove(dirfd, names[k], NULL, err);
			if (rc == ABK_OK) {
				if (m == S_IFDIR)
					memcpy(rel + len, "/", 2);
				report(j, ABK_CHANGE_DELETE, rel);
			}
		}
		fsops_names_free(names, count);
		close(dirfd);
	}
out:
	free(rel);
	return rc;
}

/*
 * --dry-run: what a restore would create and what it would overwrite.  The
 * cache does not create (j->dc was set up without it): a missing folder
 * means everything below it would be created.
 */
int
restore_plan_dry(struct rjob *j, abk_err *err)
{
	(void)err;
	for (size_t i = 0; i < j->n; i++) {
		const struct rentry *e = &j->v[i];
		char name[ABK_NAME_MAX + 1];
		abk_err ignored = ABK_ERR_INIT;
		struct stat st;
		int dirfd;

		if (j->rootfd < 0 ||
		    fsops_dircache_parent(&j->dc, e->path, e->path_len, &dirfd, name, &ignored)
		    != ABK_OK || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			report(j, ABK_CHANGE_CREATE, e->path);
			continue;
		}
		if (e->type == MF_DIR && S_ISDIR(st.st_mode))
			continue;	/* already there: only its mode and time */
		/* a local change the restore would replace (front ends ask first) */
		if (e->type == MF_DIR || (e->type == MF_FILE && (!S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size != e->size || (int64_t)st.st_mtime != e->mtime)) ||
		    (e->type == MF_SYMLINK && (!S_ISLNK(st.st_mode) ||
		    (uint64_t)st.st_size != e->size)))
			j->res->modified++;
		report(j, ABK_CHANGE_OVERWRITE, e->path);
	}
	return ABK_OK;
}

/*
 * Folder modes and times last, deepest first, once nothing more is written.
 * Through a descriptor opened without following a symlink, never by name: a
 * name checked a moment ago may be a symlink now.
 */
void
restore_finish_dirs(struct rjob *j)
{
	for (size_t i = j->n; i-- > 0;) {
		const struct rentry *e = &j->v[i];
		struct timespec ts[2] = { { .tv_sec = e->mtime, .tv_nsec = e->mtime_nsec },
		    { .tv_sec = e->mtime, .tv_nsec = e->mtime_nsec } };
		abk_err ignored = ABK_ERR_INIT;
		int fd;

		if (e->type != MF_DIR || e->state == RENTRY_FAILED)
			continue;
		fd = open_restored_dir(j, e, &ignored);
		if (fd < 0)
			continue;
		(void)fchmod(fd, e->mode);
		(void)futimens(fd, ts);
		close(fd);
	}
}
