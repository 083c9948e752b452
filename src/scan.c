/*
 * scan.c - the local side of a push: a deterministic, symlink-safe walk.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "fsops.h"
#include "manifest.h"
#include "pathsafe.h"
#include "proto.h"
#include "scan.h"

#define SCAN_IGNORE_MAX_BYTES (64 * 1024)

/* Patterns of one ignore file, valid for its folder and below. */
struct scan_ignore {
	char **patterns;
	size_t n;
	size_t base_len;		/* length of the folder's relative path */
	struct scan_ignore *up;
};

struct scan_walk {
	const struct scan_opts *opts;
	struct scan_result *res;
	abk_err *err;
	dev_t root_dev;			/* --one-file-system: the pushed folder's */
};

void
scan_result_free(struct scan_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].path);
		free(r->v[i].target);
	}
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

/*
 * Report an entry left out.  lost: its data is not backed up (unreadable,
 * refused name), which makes the push "partial"; special files (FIFOs,
 * sockets, devices) are noted but cannot be backed up by design.
 */
static void
scan_note(struct scan_walk *w, const char *rel, const char *why, int lost)
{
	if (lost)
		w->res->skipped++;
	else
		w->res->special++;
	if (w->opts->note != NULL)
		w->opts->note(w->opts->ctx, rel, why);
}

int
scan_is_racy(int64_t sec, long nsec, const struct timespec *start)
{
	int64_t limit_sec = (int64_t)start->tv_sec - MF_RACY_WINDOW_NS / 1000000000LL;
	long limit_nsec = start->tv_nsec;

	/* racy unless mtime < start - window */
	return sec > limit_sec || (sec == limit_sec && nsec >= limit_nsec);
}

/* 1 if pattern-list matches rel (base name for patterns without '/'). */
static int
scan_excluded(const char *const *patterns, const char *rel, const char *base)
{
	if (patterns == NULL)
		return 0;
	for (size_t i = 0; patterns[i] != NULL; i++) {
		const char *p = patterns[i];

		if (strchr(p, '/') != NULL) {
			if (p[0] == '/')
				p++;	/* "/x" anchors at the source root */
			if (fnmatch(p, rel, 0) == 0)
				return 1;
		} else if (fnmatch(p, base, 0) == 0) {
			return 1;
		}
	}
	return 0;
}

static int
scan_ignored(const struct scan_ignore *ig, const char *rel, const char *base)
{
	for (; ig != NULL; ig = ig->up) {
		const char *sub = rel + ig->base_len + (ig->base_len ? 1 : 0);

		if (scan_excluded((const char *const *)ig->patterns, sub, base))
			return 1;
	}
	return 0;
}

static void
scan_ignore_free(struct scan_ignore *ig)
{
	if (ig == NULL)
		return;
	for (size_t i = 0; i < ig->n; i++)
		free(ig->patterns[i]);
	free(ig->patterns);
	free(ig);
}

/* Read dirfd/.autobackupignore if present (NULL when absent or empty). */
static struct scan_ignore *
scan_read_ignore(int dirfd, size_t base_len, struct scan_ignore *up)
{
	struct scan_ignore *ig;
	char buf[SCAN_IGNORE_MAX_BYTES + 1], *line, *save = NULL;
	ssize_t n;
	int fd = openat(dirfd, ABK_IGNORE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, SCAN_IGNORE_MAX_BYTES);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	ig = calloc(1, sizeof(*ig));
	if (ig == NULL)
		return NULL;
	ig->base_len = base_len;
	ig->up = up;
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);
		char **np;

		while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		np = realloc(ig->patterns, (ig->n + 2) * sizeof(*np));
		if (np == NULL)
			break;
		ig->patterns = np;
		if ((ig->patterns[ig->n] = strdup(line)) == NULL)
			break;
		ig->n++;
		ig->patterns[ig->n] = NULL;
	}
	if (ig->n == 0) {
		scan_ignore_free(ig);
		return NULL;
	}
	return ig;
}

static int
scan_push(struct scan_walk *w, const char *rel, size_t rel_len, uint8_t type,
    const struct stat *st, char *target, struct scan_entry **added)
{
	struct scan_result *r = w->res;
	struct scan_entry *e;

	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 1024;
		struct scan_entry *nv = realloc(r->v, ncap * sizeof(*nv));

		if (nv == NULL) {
			free(target);
			return abk_err_set(w->err, ABK_E_NOMEM, "out of memory listing files");
		}
		r->v = nv;
		r->cap = ncap;
	}
	e = &r->v[r->n];
	memset(e, 0, sizeof(*e));
	e->path = malloc(rel_len + 1);
	if (e->path == NULL) {
		free(target);
		return abk_err_set(w->err, ABK_E_NOMEM, "out of memory listing files");
	}
	memcpy(e->path, rel, rel_len + 1);
	e->path_len = rel_len;
	e->type = type;
	e->mode = st->st_mode & MF_MODE_MASK;
	e->mtime = (int64_t)st->st_mtim.tv_sec;
	e->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	e->ctime = (int64_t)st->st_ctim.tv_sec;
	e->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	e->inode = (uint64_t)st->st_ino;
	e->target = target;
	if (type == MF_FILE) {
		e->racy = scan_is_racy(e->mtime, st->st_mtim.tv_nsec, &r->started);
		e->size = (uint64_t)st->st_size;
		r->total_bytes += e->size;
	} else if (type == MF_SYMLINK) {
		e->size = strlen(target);
	}
	r->n++;
	if (added)
		*added = e;
	return ABK_OK;
}

static int
scan_hash_file(int fd, uint8_t out[32])
{
	abk_sha256_ctx ctx;
	static const size_t bufsz = 256 * 1024;
	unsigned char *buf = malloc(bufsz);
	ssize_t n;
	int rc = ABK_OK;

	if (buf == NULL)
		return ABK_E_NOMEM;
	abk_sha256_init(&ctx);
	while ((n = read(fd, buf, bufsz)) > 0)
		abk_sha256_update(&ctx, buf, (size_t)n);
	if (n < 0)
		rc = ABK_E_IO;
	abk_sha256_final(&ctx, out);
	free(buf);
	return rc;
}

static int scan_dir(struct scan_walk *w, int dirfd, char *rel, size_t rel_len, int depth,
    struct scan_ignore *ig);

static int
scan_one(struct scan_walk *w, int dirfd, const char *name, char *rel, size_t rel_len,
    int depth, struct scan_ignore *ig)
{
	struct stat st;
	size_t nlen = strlen(name);
	size_t sub_len = rel_len ? rel_len + 1 + nlen : nlen;
	enum pathsafe_verdict v;
	int rc = ABK_OK;

	if (sub_len > ABK_PATH_MAX) {
		rel[rel_len] = '\0';
		scan_note(w, name, "path longer than 4095 bytes: skipped", 1);
		return ABK_OK;
	}
	/* depth 0 is a top-level entry: depth + 1 components.  Deeper than the
	 * protocol allows, the server would refuse the whole list. */
	if (depth + 1 > (int)PROTO_PATH_DEPTH_MAX) {
		if (rel_len)
			rel[rel_len] = '/';
		memcpy(rel + (rel_len ? rel_len + 1 : 0), name, nlen + 1);
		scan_note(w, rel, "nested deeper than 127 folders: skipped", 1);
		rel[rel_len] = '\0';
		return ABK_OK;
	}
	if (rel_len)
		rel[rel_len] = '/';
	memcpy(rel + (rel_len ? rel_len + 1 : 0), name, nlen + 1);
	if (scan_excluded(w->opts->excludes, rel, name) || scan_ignored(ig, rel, name))
		goto out;
	v = pathsafe_check(rel, sub_len);
	if (v != PATHSAFE_OK) {
		scan_note(w, rel, pathsafe_reason(v), 1);
		goto out;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		scan_note(w, rel, strerror(errno), 1);
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		struct scan_entry *e = NULL;

		/*
		 * No open() here: a file is read only if the server needs it, and
		 * one that cannot be read then is reported and skipped (PUSH_SKIP).
		 * Opening 100,000 unchanged files just to check would double the
		 * cost of an incremental scan.
		 */
		rc = scan_push(w, rel, sub_len, MF_FILE, &st, NULL, &e);
		if (rc == ABK_OK && e != NULL && w->opts->checksum) {
			int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

			/* Unreadable: listed without a checksum, so the server asks
			 * for it and the read error is reported then. */
			if (fd >= 0 && scan_hash_file(fd, e->sha256) == ABK_OK)
				e->has_sha256 = 1;
			if (fd >= 0)
				close(fd);
		}
	} else if (S_ISDIR(st.st_mode) && w->opts->one_fs && st.st_dev != w->root_dev) {
		/* a mount point: left out by request, not lost (no count) */
		if (w->opts->note != NULL)
			w->opts->note(w->opts->ctx, rel, "another file system: left out "
			    "(--one-file-system)");
	} else if (S_ISDIR(st.st_mode)) {
		int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (sub < 0) {
			char why[128];

			snprintf(why, sizeof(why), "cannot open folder: %s", strerror(errno));
			scan_note(w, rel, why, 1);
			goto out;
		}
		rc = scan_push(w, rel, sub_len, MF_DIR, &st, NULL, NULL);
		if (rc == ABK_OK)
			rc = scan_dir(w, sub, rel, sub_len, depth + 1, ig);
		close(sub);
	} else if (S_ISLNK(st.st_mode)) {
		char *target = malloc(MF_TARGET_MAX + 2);
		ssize_t n;

		if (target == NULL)
			return abk_err_set(w->err, ABK_E_NOMEM, "out of memory");
		n = readlinkat(dirfd, name, target, MF_TARGET_MAX + 1);
		if (n <= 0 || n > MF_TARGET_MAX) {
			free(target);
			scan_note(w, rel, n <= 0 ? "cannot read symlink" : "symlink target too long", 1);
			goto out;
		}
		target[n] = '\0';
		rc = scan_push(w, rel, sub_len, MF_SYMLINK, &st, target, NULL);
	} else {
		scan_note(w, rel, S_ISFIFO(st.st_mode) ? "FIFO skipped" :
		    S_ISSOCK(st.st_mode) ? "socket skipped" : "device file skipped", 0);
	}
out:
	rel[rel_len] = '\0';
	return rc;
}

static int
scan_dir(struct scan_walk *w, int dirfd, char *rel, size_t rel_len, int depth,
    struct scan_ignore *ig)
{
	struct scan_ignore *mine = scan_read_ignore(dirfd, rel_len, ig);
	char **names = NULL;
	size_t n = 0;
	abk_err lerr = ABK_ERR_INIT;
	int rc = ABK_OK;

	if (fsops_list_names(dirfd, &names, &n, &lerr) != ABK_OK) {
		scan_note(w, rel_len ? rel : ".", lerr.msg, 1);
		scan_ignore_free(mine);
		return ABK_OK;
	}
	for (size_t i = 0; i < n && rc == ABK_OK; i++) {
		if (abk_cancel_requested(w->opts->cancel)) {
			rc = abk_err_set(w->err, ABK_E_CANCELED, "canceled");
			break;
		}
		rc = scan_one(w, dirfd, names[i], rel, rel_len, depth, mine ? mine : ig);
	}
	fsops_names_free(names, n);
	scan_ignore_free(mine);
	return rc;
}

int
scan_source(const char *path, const struct scan_opts *opts, struct scan_result *out,
    abk_err *err)
{
	struct scan_walk w = { opts, out, err, 0 };
	struct stat st;
	char *rel = NULL;
	int fd = -1, rc;

	memset(out, 0, sizeof(*out));
	clock_gettime(CLOCK_REALTIME, &out->started);
	if (realpath(path, out->origin) == NULL)
		return abk_err_set(err, ABK_E_USAGE, "%s: %s", path, strerror(errno));
	if (lstat(out->origin, &st) != 0)
		return abk_err_set(err, ABK_E_USAGE, "%s: %s", path, strerror(errno));
	rel = malloc(ABK_PATH_MAX + 2);
	if (rel == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	rel[0] = '\0';
	w.root_dev = st.st_dev;
	if (S_ISDIR(st.st_mode)) {
		snprintf(out->root, sizeof(out->root), "%s", out->origin);
		fd = open(out->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			rc = abk_err_set(err, ABK_E_USAGE, "cannot open %s: %s", out->root,
			    strerror(errno));
			goto out;
		}
		rc = scan_dir(&w, fd, rel, 0, 0, NULL);
	} else if (S_ISREG(st.st_mode)) {
		char *slash = strrchr(out->origin, '/');

		out->single_file = 1;
		if (slash == out->origin)
			snprintf(out->root, sizeof(out->root), "/");
		else
			snprintf(out->root, sizeof(out->root), "%.*s",
			    (int)(slash - out->origin), out->origin);
		fd = open(out->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			rc = abk_err_set(err, ABK_E_USAGE, "cannot open %s: %s", out->root,
			    strerror(errno));
			goto out;
		}
		rc = scan_one(&w, fd, slash + 1, rel, 0, 0, NULL);
		if (rc == ABK_OK && out->n == 0)
			rc = abk_err_set(err, ABK_E_USAGE, "%s cannot be read", path);
	} else {
		rc = abk_err_set(err, ABK_E_USAGE, "%s is neither a file nor a folder", path);
	}
out:
	if (fd >= 0)
		close(fd);
	free(rel);
	return rc;
}
