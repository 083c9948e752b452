/*
 * storage.c - user folders, sources, listings and read access to snapshots
 * (browse, restore).  Pushes live in storage_push*.c; retention and pins in
 * retention.c; usage and cleanup in storage_usage.c; verify in
 * storage_verify.c; the manifest file format in storage_snapfile.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsops.h"
#include "pathsafe.h"
#include "storage_int.h"

struct storage_snapshot {
	char *source;
	char id[STORAGE_ID_LEN + 1];
	int snapfd;
	int treefd;
	struct snapfile sf;
	struct fsops_dircache dc;	/* on treefd, never creates */
};

static int
check_folder_name(const char *what, const char *name, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	size_t len = name ? strlen(name) : 0;
	enum pathsafe_verdict v;

	if (name == NULL || len == 0)
		return abk_err_set(err, ABK_E_PATH, "%s name is empty", what);
	if (strchr(name, '/') != NULL)
		return abk_err_set(err, ABK_E_PATH, "%s name \"%s\" contains '/'", what,
		    fsops_quote(name, len, q, sizeof(q)));
	if (name[0] == '.')
		return abk_err_set(err, ABK_E_PATH, "%s name \"%s\" starts with '.'", what,
		    fsops_quote(name, len, q, sizeof(q)));
	v = pathsafe_check_name(name, len);
	if (v != PATHSAFE_OK)
		return abk_err_set(err, ABK_E_PATH, "%s name \"%s\" is refused: %s", what,
		    fsops_quote(name, len, q, sizeof(q)), pathsafe_reason(v));
	return ABK_OK;
}

int
storage_check_source_name(const char *name, abk_err *err)
{
	return check_folder_name("source", name, err);
}

int
storage_user_open(const char *datadir, const char *user, storage_user **out,
    abk_err *err)
{
	storage_user *u = NULL;
	int dfd = -1, usersfd = -1, rc;

	*out = NULL;
	rc = check_folder_name("user", user, err);
	if (rc != ABK_OK)
		return rc;
	dfd = open(datadir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = abk_err_set(err, errno == ENOENT ? ABK_E_NOTFOUND : ABK_E_IO,
		    "data directory %s: %s", datadir, strerror(errno));
		goto out;
	}
	/* DATA/users is the administrator's: it may be a symlink to another disk. */
	if (mkdirat(dfd, "users", 0700) != 0 && errno != EEXIST) {
		rc = abk_err_set(err, ABK_E_IO, "mkdir %s/users: %s", datadir, strerror(errno));
		goto out;
	}
	usersfd = openat(dfd, "users", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (usersfd < 0) {
		rc = abk_err_set(err, ABK_E_IO, "open %s/users: %s", datadir, strerror(errno));
		goto out;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL || (u->name = strdup(user)) == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory opening a user folder");
		goto out;
	}
	if (mkdirat(usersfd, user, 0700) != 0 && errno != EEXIST) {
		rc = abk_err_set(err, ABK_E_IO, "mkdir folder of user %s: %s", user,
		    strerror(errno));
		goto out;
	}
	u->dirfd = openat(usersfd, user, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (u->dirfd < 0) {
		rc = abk_err_set(err, ABK_E_IO, "open folder of user %s: %s", user,
		    strerror(errno));
		goto out;
	}
	*out = u;
	u = NULL;
	rc = ABK_OK;
out:
	if (u != NULL) {
		free(u->name);
		free(u);
	}
	if (usersfd >= 0)
		close(usersfd);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

void
storage_user_close(storage_user *u)
{
	if (u == NULL)
		return;
	if (u->dirfd >= 0)
		close(u->dirfd);
	free(u->name);
	free(u);
}

int
stg_open_source(storage_user *u, const char *source, int create, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	int fd, rc;

	rc = storage_check_source_name(source, err);
	if (rc != ABK_OK)
		return rc;
	if (create && mkdirat(u->dirfd, source, 0700) != 0 && errno != EEXIST)
		return abk_err_set(err, ABK_E_IO, "mkdir source \"%s\": %s",
		    fsops_quote(source, strlen(source), q, sizeof(q)), strerror(errno));
	fd = openat(u->dirfd, source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return abk_err_set(err, ABK_E_NOTFOUND, "user %s has no source \"%s\"", u->name,
		    fsops_quote(source, strlen(source), q, sizeof(q)));
	return abk_err_set(err, ABK_E_IO, "open source \"%s\": %s",
	    fsops_quote(source, strlen(source), q, sizeof(q)), strerror(errno));
}

int
stg_list_ids(int srcfd, char ***ids, size_t *n, abk_err *err)
{
	char **names;
	size_t count, k = 0;
	int rc;

	rc = fsops_list_names(srcfd, &names, &count, err);
	if (rc != ABK_OK)
		return rc;
	for (size_t i = 0; i < count; i++) {
		struct stat st;

		if (snapfile_id_valid(names[i]) &&
		    fstatat(srcfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			names[k++] = names[i];
		else
			free(names[i]);
	}
	*ids = names;
	*n = k;
	return ABK_OK;
}

int
stg_lock_source(int srcfd, const char *source, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	int fd, r;

	fd = openat(srcfd, STG_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return abk_err_set(err, ABK_E_IO, "open lock of source \"%s\": %s",
		    fsops_quote(source, strlen(source), q, sizeof(q)), strerror(errno));
	do
		r = flock(fd, LOCK_EX | LOCK_NB);
	while (r != 0 && errno == EINTR);
	if (r == 0)
		return fd;
	r = errno;
	close(fd);
	if (r == EWOULDBLOCK)
		return abk_err_set(err, ABK_E_BUSY,
		    "source \"%s\" is busy: another push is in progress",
		    fsops_quote(source, strlen(source), q, sizeof(q)));
	return abk_err_set(err, ABK_E_IO, "lock source \"%s\": %s",
	    fsops_quote(source, strlen(source), q, sizeof(q)), strerror(r));
}

/* Header of snapshot id in srcfd; zeroed (and ABK_OK) if it cannot be read. */
static void
header_of(int srcfd, const char *id, struct snapfile_header *h)
{
	int fd;

	memset(h, 0, sizeof(*h));
	fd = openat(srcfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (snapfile_read_header(fd, h, NULL) != ABK_OK)
		memset(h, 0, sizeof(*h));
	close(fd);
}

int
storage_list_sources(storage_user *u, storage_source_cb cb, void *ctx, abk_err *err)
{
	struct snapfile_header *h = NULL;
	char **names = NULL, **ids = NULL;
	size_t count = 0, nids = 0;
	int rc;

	rc = fsops_list_names(u->dirfd, &names, &count, err);
	if (rc != ABK_OK)
		return rc;
	h = malloc(sizeof(*h));
	if (h == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory listing sources");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		struct storage_source_info si;
		int64_t ms = 0;
		int srcfd;

		if (storage_check_source_name(names[i], NULL) != ABK_OK)
			continue;
		srcfd = openat(u->dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (srcfd < 0)
			continue;	/* not a source folder */
		rc = stg_list_ids(srcfd, &ids, &nids, err);
		if (rc != ABK_OK) {
			close(srcfd);
			goto out;
		}
		if (nids > 0) {
			header_of(srcfd, ids[nids - 1], h);
			snapfile_id_parse(ids[nids - 1], &ms);
			memset(&si, 0, sizeof(si));
			si.name = names[i];
			si.origin = h->origin;
			si.snapshots = (unsigned)nids;
			si.latest_id = ids[nids - 1];
			si.latest_time = ms / 1000;
			si.latest_files = h->files;
			si.latest_bytes = h->bytes;
			rc = cb(ctx, &si);
		}
		close(srcfd);
		fsops_names_free(ids, nids);
		ids = NULL;
		if (rc != ABK_OK)
			goto out;
	}
out:
	free(h);
	fsops_names_free(names, count);
	return rc;
}

int
storage_list_snapshots(storage_user *u, const char *source, storage_snapshot_cb cb,
    void *ctx, abk_err *err)
{
	struct snapfile_header *h = NULL;
	char **ids = NULL;
	size_t nids = 0;
	int srcfd, rc;

	srcfd = stg_open_source(u, source, 0, err);
	if (srcfd < 0)
		return srcfd;
	rc = stg_list_ids(srcfd, &ids, &nids, err);
	if (rc != ABK_OK)
		goto out;
	h = malloc(sizeof(*h));
	if (h == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory listing snapshots");
		goto out;
	}
	for (size_t i = nids; i > 0; i--) {
		struct storage_snapshot_info si;
		int64_t ms = 0;

		header_of(srcfd, ids[i - 1], h);
		snapfile_id_parse(ids[i - 1], &ms);
		si.id = ids[i - 1];
		si.time = ms / 1000;
		si.entries = h->entries;
		si.files = h->files;
		si.bytes = h->bytes;
		rc = cb(ctx, &si);
		if (rc != ABK_OK)
			break;
	}
out:
	free(h);
	fsops_names_free(ids, nids);
	close(srcfd);
	return rc;
}

int
storage_snapshot_open(storage_user *u, const char *source, const char *id,
    storage_snapshot **out, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	storage_snapshot *s = NULL;
	char **ids = NULL;
	size_t nids = 0;
	int srcfd, rc = ABK_OK;

	*out = NULL;
	srcfd = stg_open_source(u, source, 0, err);
	if (srcfd < 0)
		return srcfd;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->source = strdup(source)) == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory opening a snapshot");
		goto out;
	}
	s->snapfd = s->treefd = -1;
	if (id == NULL) {
		rc = stg_list_ids(srcfd, &ids, &nids, err);
		if (rc != ABK_OK)
			goto out;
		if (nids == 0) {
			rc = abk_err_set(err, ABK_E_NOTFOUND, "source \"%s\" has no snapshot yet",
			    fsops_quote(source, strlen(source), q, sizeof(q)));
			goto out;
		}
		memcpy(s->id, ids[nids - 1], STORAGE_ID_LEN + 1);
	} else {
		if (!snapfile_id_valid(id)) {
			rc = abk_err_set(err, ABK_E_NOTFOUND,
			    "\"%s\" is not a snapshot ID (expected YYYYMMDDTHHMMSS.mmmZ)",
			    fsops_quote(id, strlen(id), q, sizeof(q)));
			goto out;
		}
		memcpy(s->id, id, STORAGE_ID_LEN + 1);
	}
	s->snapfd = openat(srcfd, s->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->snapfd < 0) {
		rc = abk_err_set(err, errno == ENOENT ? ABK_E_NOTFOUND : ABK_E_IO,
		    "source \"%s\" has no snapshot %s%s%s",
		    fsops_quote(source, strlen(source), q, sizeof(q)), s->id,
		    errno == ENOENT ? "" : ": ", errno == ENOENT ? "" : strerror(errno));
		goto out;
	}
	rc = stg_pin_snapshot(srcfd, s->id, s->snapfd, err);
	if (rc != ABK_OK) {
		if (rc == ABK_E_NOTFOUND)
			abk_err_set(err, ABK_E_NOTFOUND, "snapshot %s of source \"%s\" is being "
			    "removed by retention", s->id,
			    fsops_quote(source, strlen(source), q, sizeof(q)));
		goto out;
	}
	rc = snapfile_load(s->snapfd, &s->sf, err);
	if (rc != ABK_OK)
		goto out;
	s->treefd = openat(s->snapfd, STG_TREE, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (s->treefd < 0) {
		rc = abk_err_set(err, ABK_E_INTEGRITY, "snapshot %s has no tree: %s", s->id,
		    strerror(errno));
		goto out;
	}
	fsops_dircache_init(&s->dc, s->treefd, 0);
	*out = s;
	s = NULL;
out:
	fsops_names_free(ids, nids);
	storage_snapshot_close(s);
	close(srcfd);
	return rc;
}

uint64_t
storage_snapshot_entries(storage_user *u, const char *source, const char *id)
{
	struct snapfile_header h;
	abk_err ignored = ABK_ERR_INIT;
	char **ids = NULL;
	size_t nids = 0;
	uint64_t n = 0;
	int srcfd, fd = -1;

	srcfd = stg_open_source(u, source, 0, &ignored);
	if (srcfd < 0)
		return 0;
	if (id == NULL && stg_list_ids(srcfd, &ids, &nids, &ignored) == ABK_OK && nids > 0)
		id = ids[nids - 1];
	if (id != NULL && snapfile_id_valid(id))
		fd = openat(srcfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && snapfile_read_header(fd, &h, &ignored) == ABK_OK)
		n = h.entries;
	if (fd >= 0)
		close(fd);
	fsops_names_free(ids, nids);
	close(srcfd);
	return n;
}

void
storage_snapshot_close(storage_snapshot *s)
{
	if (s == NULL)
		return;
	if (s->treefd >= 0) {
		fsops_dircache_reset(&s->dc);
		close(s->treefd);
	}
	if (s->snapfd >= 0)
		close(s->snapfd);
	snapfile_free(&s->sf);
	free(s->source);
	free(s);
}

struct fsops_dircache *
stg_snapshot_dircache(storage_snapshot *s)
{
	return &s->dc;
}

int
stg_snapshot_dirfd(const storage_snapshot *s)
{
	return s->snapfd;
}

const char *
storage_snapshot_id(const storage_snapshot *s)
{
	return s->id;
}

const char *
storage_snapshot_origin(const storage_snapshot *s)
{
	return s->sf.hdr.origin;
}

int
storage_snapshot_single_file(const storage_snapshot *s)
{
	return (s->sf.hdr.flags & SNAPFILE_SINGLE_FILE) != 0;
}

static int
check_subpath(const char *p, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	enum pathsafe_verdict v = pathsafe_check_str(p);

	if (v != PATHSAFE_OK)
		return abk_err_set(err, ABK_E_PATH, "path \"%s\" is refused: %s",
		    fsops_quote(p, strlen(p), q, sizeof(q)), pathsafe_reason(v));
	return ABK_OK;
}

void
storage_snapshot_entry(storage_snapshot *s, uint32_t index, struct manifest_entry *e)
{
	snapfile_entry(&s->sf, index, e);
}

const char *
storage_snapshot_entry_path(storage_snapshot *s, uint32_t index, size_t *len)
{
	return snapfile_path(&s->sf, index, len);
}

/* 1 if the path of entry i is p itself or below it (no decoding). */
static int
path_under(storage_snapshot *s, size_t i, const char *p, size_t plen)
{
	size_t len;
	const char *path = snapfile_path(&s->sf, i, &len);

	if (len < plen || memcmp(path, p, plen) != 0)
		return 0;
	return len == plen || path[plen] == '/';
}

int
storage_snapshot_foreach(storage_snapshot *s, const char *subpath, storage_entry_cb cb,
    void *ctx, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	size_t plen = 0;
	int found = 0, rc;

	if (subpath != NULL && subpath[0] != '\0') {
		rc = check_subpath(subpath, err);
		if (rc != ABK_OK)
			return rc;
		plen = strlen(subpath);
	}
	for (size_t i = 0; i < s->sf.n; i++) {
		struct manifest_entry e;

		if (plen > 0 && !path_under(s, i, subpath, plen))
			continue;
		found = 1;
		snapfile_entry(&s->sf, i, &e);
		rc = cb(ctx, (uint32_t)i, &e);
		if (rc != ABK_OK)
			return rc;
	}
	if (plen > 0 && !found)
		return abk_err_set(err, ABK_E_NOTFOUND, "\"%s\" is not in snapshot %s",
		    fsops_quote(subpath, plen, q, sizeof(q)), s->id);
	return ABK_OK;
}

int
storage_snapshot_list_dir(storage_snapshot *s, const char *dir, storage_entry_cb cb,
    void *ctx, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	size_t dlen = 0, start = 0;
	int rc;

	if (dir != NULL && dir[0] != '\0') {
		struct manifest_entry d;
		int found = 0;

		rc = check_subpath(dir, err);
		if (rc != ABK_OK)
			return rc;
		dlen = strlen(dir);
		for (size_t i = 0; i < s->sf.n && !found; i++) {
			size_t len;
			const char *path = snapfile_path(&s->sf, i, &len);

			if (len == dlen && memcmp(path, dir, dlen) == 0) {
				snapfile_entry(&s->sf, i, &d);
				found = 1;
				start = i + 1;	/* children come after their parent */
			}
		}
		if (!found)
			return abk_err_set(err, ABK_E_NOTFOUND, "\"%s\" is not in snapshot %s",
			    fsops_quote(dir, dlen, q, sizeof(q)), s->id);
		if (d.type != MF_DIR)
			return abk_err_set(err, ABK_E_USAGE, "\"%s\" is not a directory",
			    fsops_quote(dir, dlen, q, sizeof(q)));
	}
	for (size_t i = start; i < s->sf.n; i++) {
		struct manifest_entry e;
		const char *rest, *path;
		size_t rlen, len;

		path = snapfile_path(&s->sf, i, &len);
		if (dlen > 0) {
			if (len <= dlen + 1 || !path_under(s, i, dir, dlen))
				continue;
			rest = path + dlen + 1;
			rlen = len - dlen - 1;
		} else {
			rest = path;
			rlen = len;
		}
		if (memchr(rest, '/', rlen) != NULL)
			continue;
		snapfile_entry(&s->sf, i, &e);
		rc = cb(ctx, (uint32_t)i, &e);
		if (rc != ABK_OK)
			return rc;
	}
	return ABK_OK;
}

int
storage_snapshot_open_file(storage_snapshot *s, const struct manifest_entry *e, int *fd,
    abk_err *err)
{
	char q[FSOPS_QUOTE_MAX], name[ABK_NAME_MAX + 1];
	abk_err tmp = ABK_ERR_INIT;
	struct stat st;
	int dfd, f, rc;

	*fd = -1;
	if (e->type != MF_FILE)
		return abk_err_set(err, ABK_E_USAGE, "\"%s\" is not a regular file",
		    fsops_quote(e->path, e->path_len, q, sizeof(q)));
	rc = fsops_dircache_parent(&s->dc, e->path, e->path_len, &dfd, name, &tmp);
	if (rc != ABK_OK)
		return abk_err_set(err, rc == ABK_E_NOTFOUND ? ABK_E_INTEGRITY : rc,
		    "stored file \"%s\" of snapshot %s: %s",
		    fsops_quote(e->path, e->path_len, q, sizeof(q)), s->id, tmp.msg);
	f = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (f < 0)
		return abk_err_set(err, (errno == ENOENT || errno == ELOOP) ? ABK_E_INTEGRITY :
		    ABK_E_IO, "stored file \"%s\" of snapshot %s: %s",
		    fsops_quote(e->path, e->path_len, q, sizeof(q)), s->id, strerror(errno));
	if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size) {
		close(f);
		return abk_err_set(err, ABK_E_INTEGRITY,
		    "stored file \"%s\" of snapshot %s is damaged (not a file of %llu bytes)",
		    fsops_quote(e->path, e->path_len, q, sizeof(q)), s->id,
		    (unsigned long long)e->size);
	}
	/* O_NONBLOCK only guarded the open against a FIFO; hand back a plain fd. */
	fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK);
	*fd = f;
	return ABK_OK;
}

int
storage_user_exists(const char *datadir, const char *user)
{
	struct stat st;
	int dfd, rc = 0;

	if (check_folder_name("user", user, NULL) != ABK_OK)
		return 0;
	dfd = open(datadir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	{
		char rel[sizeof("users/") + 256];

		snprintf(rel, sizeof(rel), "users/%s", user);
		rc = fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
	}
	close(dfd);
	return rc;
}

int
storage_user_purge(const char *datadir, const char *user, abk_err *err)
{
	char **names = NULL;
	size_t count = 0;
	int dfd = -1, usersfd = -1, ufd = -1, rc;
	int *locks = NULL;
	size_t nlocks = 0;

	rc = check_folder_name("user", user, err);
	if (rc != ABK_OK)
		return rc;
	dfd = open(datadir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return abk_err_set(err, ABK_E_IO, "data directory %s: %s", datadir,
		    strerror(errno));
	usersfd = openat(dfd, "users", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (usersfd < 0) {
		rc = errno == ENOENT ? ABK_OK : abk_err_set(err, ABK_E_IO, "open %s/users: %s",
		    datadir, strerror(errno));
		goto out;
	}
	ufd = openat(usersfd, user, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ufd < 0) {
		rc = errno == ENOENT ? ABK_OK : abk_err_set(err, ABK_E_IO,
		    "open folder of user %s: %s", user, strerror(errno));
		goto out;
	}
	/* Take every source's lock first: a running push must not lose its tree. */
	rc = fsops_list_names(ufd, &names, &count, err);
	if (rc == ABK_OK && (locks = calloc(count ? count : 1, sizeof(*locks))) == NULL)
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
	for (size_t i = 0; rc == ABK_OK && i < count; i++) {
		int srcfd, lk;

		if (names[i][0] == '.')
			continue;
		srcfd = openat(ufd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (srcfd < 0)
			continue;
		lk = stg_lock_source(srcfd, names[i], err);
		close(srcfd);
		if (lk < 0)
			rc = lk;
		else
			locks[nlocks++] = lk;
	}
	if (rc == ABK_OK)
		rc = fsops_remove(usersfd, user, NULL, err);
out:
	for (size_t i = 0; i < nlocks; i++)
		close(locks[i]);
	free(locks);
	fsops_names_free(names, count);
	if (ufd >= 0)
		close(ufd);
	if (usersfd >= 0)
		close(usersfd);
	close(dfd);
	return rc;
}

