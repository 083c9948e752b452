/*
 * storage_snapshot.c - what happens to published snapshots after a push: retention
 * and prune, cleanup of abandoned staging at server start, the per-user
 * usage figure used by quotas, and verify (re-read and compare with the
 * manifest).
 *
 * A snapshot is removed by renaming it to SOURCE/.trash-ID first (so
 * listings never show half of it) and then deleting that tree; a removal cut
 * short leaves only a .trash-* folder, which the next cleanup deletes.
 * Usage is the size of every distinct inode in published snapshots; it is
 * cached in USER/.usage ("abk-usage 1 BYTES") and kept exact by adding what
 * a publish stored and subtracting what a removal freed (files whose last
 * link went), all under flock on that file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "crypto.h"
#include "fsops.h"
#include "storage_int.h"

#define USAGE_FORMAT "abk-usage 1 %" PRIu64 "\n"
#define VERIFY_BUF 65536

/* ---- usage ----------------------------------------------------------------------- */

struct inode_key {
	dev_t dev;
	ino_t ino;
};

/* A set of inodes seen more than once-linked, so hard links count once. */
struct inode_set {
	struct inode_key *keys;
	uint8_t *used;
	size_t mask, count;
};

static int
inode_set_add(struct inode_set *s, dev_t dev, ino_t ino)
{
	size_t i;

	if (s->keys == NULL || (s->count + 1) * 2 > s->mask + 1) {
		struct inode_set n;
		size_t cap = s->keys ? (s->mask + 1) * 2 : 1024;

		n.keys = calloc(cap, sizeof(*n.keys));
		n.used = calloc(cap, 1);
		n.mask = cap - 1;
		n.count = 0;
		if (n.keys == NULL || n.used == NULL) {
			free(n.keys);
			free(n.used);
			return -1;
		}
		for (size_t j = 0; s->keys != NULL && j <= s->mask; j++)
			if (s->used[j])
				inode_set_add(&n, s->keys[j].dev, s->keys[j].ino);
		free(s->keys);
		free(s->used);
		*s = n;
	}
	for (i = ((size_t)ino * 0x9e3779b97f4a7c15ULL ^ (size_t)dev) & s->mask; s->used[i];
	    i = (i + 1) & s->mask)
		if (s->keys[i].dev == dev && s->keys[i].ino == ino)
			return 0;
	s->used[i] = 1;
	s->keys[i].dev = dev;
	s->keys[i].ino = ino;
	s->count++;
	return 1;
}

static int
walk_tree(int dirfd, struct inode_set *seen, uint64_t *total, unsigned depth, abk_err *err)
{
	char **names = NULL;
	size_t count = 0;
	int rc;

	if (depth > FSOPS_MAX_DEPTH + 2)
		return abk_err_set(err, ABK_E_LIMIT, "snapshot tree too deep to measure");
	rc = fsops_list_names(dirfd, &names, &count, err);
	for (size_t i = 0; rc == ABK_OK && i < count; i++) {
		struct stat st;
		int fd, added;

		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;	/* vanished: nothing to count */
		if (S_ISREG(st.st_mode)) {
			added = st.st_nlink > 1 ? inode_set_add(seen, st.st_dev, st.st_ino) : 1;
			if (added < 0)
				rc = abk_err_set(err, ABK_E_NOMEM, "out of memory measuring usage");
			else if (added)
				*total += (uint64_t)st.st_size;
		} else if (S_ISDIR(st.st_mode)) {
			fd = fsops_open_dir(dirfd, names[i], 0, err);
			if (fd < 0) {
				rc = fd;
				break;
			}
			rc = walk_tree(fd, seen, total, depth + 1, err);
			close(fd);
		}
	}
	fsops_names_free(names, count);
	return rc;
}

/* Bytes of every published snapshot of u (staging and trash excluded). */
static int
usage_walk(storage_user *u, uint64_t *bytes, abk_err *err)
{
	struct inode_set seen = { NULL, NULL, 0, 0 };
	char **srcs = NULL, **ids = NULL;
	size_t nsrc = 0, nids = 0;
	uint64_t total = 0;
	int rc;

	rc = fsops_list_names(u->dirfd, &srcs, &nsrc, err);
	for (size_t i = 0; rc == ABK_OK && i < nsrc; i++) {
		int srcfd;

		if (storage_check_source_name(srcs[i], NULL) != ABK_OK)
			continue;
		srcfd = openat(u->dirfd, srcs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (srcfd < 0)
			continue;
		rc = stg_list_ids(srcfd, &ids, &nids, err);
		/* Each snapshot folder: its manifest, its tree. */
		for (size_t j = 0; rc == ABK_OK && j < nids; j++) {
			int snapfd = fsops_open_dir(srcfd, ids[j], 0, err);

			if (snapfd < 0) {
				rc = snapfd;
				break;
			}
			rc = walk_tree(snapfd, &seen, &total, 0, err);
			close(snapfd);
		}
		fsops_names_free(ids, nids);
		ids = NULL;
		nids = 0;
		close(srcfd);
	}
	fsops_names_free(srcs, nsrc);
	free(seen.keys);
	free(seen.used);
	if (rc == ABK_OK)
		*bytes = total;
	return rc;
}

int
stg_usage_lock(storage_user *u, abk_err *err)
{
	int fd, r;

	fd = openat(u->dirfd, STG_USAGE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return abk_err_set(err, ABK_E_IO, "open usage file of user %s: %s", u->name,
		    strerror(errno));
	do
		r = flock(fd, LOCK_EX);
	while (r != 0 && errno == EINTR);
	if (r != 0) {
		r = errno;
		close(fd);
		return abk_err_set(err, ABK_E_IO, "lock usage file of user %s: %s", u->name,
		    strerror(r));
	}
	return fd;
}

void
stg_usage_unlock(int lockfd)
{
	if (lockfd >= 0)
		close(lockfd);
}

static int
usage_read(int fd, uint64_t *bytes)
{
	char buf[64];
	ssize_t n;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "abk-usage 1 %" SCNu64, bytes) != 1 || buf[n - 1] != '\n')
		return -1;
	return 0;
}

static int
usage_write(int fd, uint64_t bytes, abk_err *err)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), USAGE_FORMAT, bytes);

	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return abk_err_set(err, ABK_E_IO, "write usage file: %s", strerror(errno));
	return ABK_OK;
}

int
stg_usage_get_locked(storage_user *u, int lockfd, uint64_t *bytes, abk_err *err)
{
	int rc;

	if (usage_read(lockfd, bytes) == 0)
		return ABK_OK;
	rc = usage_walk(u, bytes, err);
	if (rc == ABK_OK)
		rc = usage_write(lockfd, *bytes, err);
	return rc;
}

int
stg_usage_add_locked(int lockfd, int64_t delta, abk_err *err)
{
	uint64_t cur;

	if (usage_read(lockfd, &cur) != 0)
		return ABK_OK;	/* no valid cache: the next reader walks */
	if (delta < 0)
		cur = (uint64_t)(-delta) > cur ? 0 : cur - (uint64_t)(-delta);
	else
		cur += (uint64_t)delta;
	return usage_write(lockfd, cur, err);
}

int
storage_usage(storage_user *u, uint64_t *bytes, abk_err *err)
{
	int lk, rc;

	lk = stg_usage_lock(u, err);
	if (lk < 0)
		return lk;
	rc = stg_usage_get_locked(u, lk, bytes, err);
	stg_usage_unlock(lk);
	return rc;
}

int
storage_usage_recompute(storage_user *u, uint64_t *bytes, abk_err *err)
{
	int lk, rc;

	lk = stg_usage_lock(u, err);
	if (lk < 0)
		return lk;
	rc = usage_walk(u, bytes, err);
	if (rc == ABK_OK)
		rc = usage_write(lk, *bytes, err);
	stg_usage_unlock(lk);
	return rc;
}

/* ---- retention ---------------------------------------------------------------- */

/*
 * Pins (issue 8 item 7): a reader holds a shared flock on the snapshot's
 * folder (storage_snapshot_open); retention takes an exclusive one without
 * waiting and skips the snapshot when it cannot.  flock, not a table in one
 * server's memory: the `prune` subcommand runs in another process, and a
 * pin must die with its holder.
 */
int
stg_pin_snapshot(int srcfd, const char *id, int snapfd, abk_err *err)
{
	struct stat a, b;

	if (flock(snapfd, LOCK_SH | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			return abk_err_set(err, ABK_E_NOTFOUND, "snapshot %s is being removed", id);
		return abk_err_set(err, ABK_E_IO, "pin snapshot %s: %s", id, strerror(errno));
	}
	/* Retention may have moved it aside between our open and our lock. */
	if (fstat(snapfd, &a) != 0 || fstatat(srcfd, id, &b, AT_SYMLINK_NOFOLLOW) != 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return abk_err_set(err, ABK_E_NOTFOUND, "snapshot %s was removed", id);
	return ABK_OK;
}

/* 1 (and *fd holds the exclusive lock) if nobody reads snapshot id. */
static int
snapshot_unpinned(int srcfd, const char *id, int *fd)
{
	*fd = openat(srcfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return 1;	/* gone or odd: removal reports it */
	if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
		return 1;
	close(*fd);
	*fd = -1;
	return 0;
}

static int
remove_snapshot(storage_user *u, int srcfd, const char *id, abk_err *err)
{
	char trash[sizeof(STG_TRASH_PREFIX) + STORAGE_ID_LEN];
	uint64_t used, freed = 0;
	int lk, rc;

	snprintf(trash, sizeof(trash), "%s%s", STG_TRASH_PREFIX, id);
	lk = stg_usage_lock(u, err);
	if (lk < 0)
		return lk;
	rc = stg_usage_get_locked(u, lk, &used, err);
	if (rc == ABK_OK && renameat(srcfd, id, srcfd, trash) != 0)
		rc = abk_err_set(err, ABK_E_IO, "move snapshot %s aside: %s", id, strerror(errno));
	if (rc == ABK_OK)
		rc = fsops_remove(srcfd, trash, &freed, err);
	if (rc == ABK_OK)
		rc = stg_usage_add_locked(lk, -(int64_t)freed, err);
	stg_usage_unlock(lk);
	return rc;
}

int
stg_retain(storage_user *u, int srcfd, unsigned keep, unsigned *removed, abk_err *err)
{
	char **ids = NULL;
	size_t nids = 0;
	int rc;

	if (keep == 0)
		return abk_err_set(err, ABK_E_USAGE, "retention must keep at least one snapshot");
	rc = stg_list_ids(srcfd, &ids, &nids, err);
	/* The oldest nids - keep go, except those being read: they stay (a
	 * newer one is not removed in their place) until a later run. */
	for (size_t i = 0; rc == ABK_OK && nids - i > keep; i++) {
		int pinfd;

		if (!snapshot_unpinned(srcfd, ids[i], &pinfd))
			continue;
		rc = remove_snapshot(u, srcfd, ids[i], err);
		if (pinfd >= 0)
			close(pinfd);	/* held through the removal */
		if (rc == ABK_OK && removed != NULL)
			(*removed)++;
	}
	fsops_names_free(ids, nids);
	return rc;
}

static int
prune_source(storage_user *u, const char *source, unsigned keep, unsigned *removed,
    abk_err *err)
{
	int srcfd, lockfd, rc;

	srcfd = stg_open_source(u, source, 0, err);
	if (srcfd < 0)
		return srcfd;
	lockfd = stg_lock_source(srcfd, source, err);
	if (lockfd < 0) {
		close(srcfd);
		return lockfd;
	}
	rc = stg_retain(u, srcfd, keep, removed, err);
	close(lockfd);
	close(srcfd);
	return rc;
}

int
storage_prune(storage_user *u, const char *source, unsigned keep, unsigned *removed,
    abk_err *err)
{
	char **names = NULL;
	size_t count = 0;
	unsigned dummy = 0;
	int rc, first = ABK_OK;

	if (removed == NULL)
		removed = &dummy;
	*removed = 0;
	if (keep == 0)
		return abk_err_set(err, ABK_E_USAGE, "prune must keep at least one snapshot");
	if (source != NULL)
		return prune_source(u, source, keep, removed, err);
	rc = fsops_list_names(u->dirfd, &names, &count, err);
	if (rc != ABK_OK)
		return rc;
	for (size_t i = 0; i < count; i++) {
		struct stat st;

		if (storage_check_source_name(names[i], NULL) != ABK_OK ||
		    fstatat(u->dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		/* A busy source does not stop the others; the first error is kept. */
		rc = prune_source(u, names[i], keep, removed, err);
		if (rc != ABK_OK && first == ABK_OK)
			first = rc;
	}
	fsops_names_free(names, count);
	return first;
}

/* ---- cleanup at start ------------------------------------------------------------ */

static time_t
newest_change(int srcfd)
{
	static const char *const names[] = { STG_STAGING, STG_STAGING "/" STG_JOURNAL,
	    STG_STAGING "/" STG_TREE };
	time_t newest = 0;
	struct stat st;
	int stagefd;

	/* Only the staging folder itself is looked up from srcfd; the rest below it. */
	if (fstatat(srcfd, names[0], &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	newest = st.st_mtime;
	stagefd = openat(srcfd, STG_STAGING, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (stagefd < 0)
		return newest;
	if (fstatat(stagefd, STG_JOURNAL, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime > newest)
		newest = st.st_mtime;
	if (fstatat(stagefd, STG_TREE, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime > newest)
		newest = st.st_mtime;
	close(stagefd);
	return newest;
}

static int
cleanup_source(int srcfd, const char *source, unsigned max_age, unsigned *removed,
    int *trashed, abk_err *err)
{
	abk_err tmp = ABK_ERR_INIT;
	char **names = NULL;
	size_t count = 0;
	int staging = 0, trash = 0, lockfd, rc;

	rc = fsops_list_names(srcfd, &names, &count, err);
	if (rc != ABK_OK)
		return rc;
	for (size_t i = 0; i < count; i++) {
		staging |= strcmp(names[i], STG_STAGING) == 0;
		trash |= strncmp(names[i], STG_TRASH_PREFIX, strlen(STG_TRASH_PREFIX)) == 0;
	}
	if (!staging && !trash)
		goto out;
	lockfd = stg_lock_source(srcfd, source, &tmp);
	if (lockfd < 0) {
		if (lockfd != ABK_E_BUSY)
			rc = abk_err_set(err, lockfd, "%s", tmp.msg);
		goto out;	/* a push is using it: leave it alone */
	}
	for (size_t i = 0; rc == ABK_OK && i < count; i++)
		if (strncmp(names[i], STG_TRASH_PREFIX, strlen(STG_TRASH_PREFIX)) == 0) {
			rc = fsops_remove(srcfd, names[i], NULL, err);
			*trashed = 1;
		}
	if (rc == ABK_OK && staging &&
	    (int64_t)time(NULL) - (int64_t)newest_change(srcfd) > (int64_t)max_age) {
		rc = fsops_remove(srcfd, STG_STAGING, NULL, err);
		if (rc == ABK_OK)
			(*removed)++;
	}
	close(lockfd);
out:
	fsops_names_free(names, count);
	return rc;
}

static int
cleanup_user(int usersfd, const char *user, unsigned max_age, unsigned *removed,
    abk_err *err)
{
	storage_user u;
	char **names = NULL;
	size_t count = 0;
	int trashed = 0, lk, rc;

	u.name = (char *)(uintptr_t)user;
	u.dirfd = openat(usersfd, user, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (u.dirfd < 0)
		return ABK_OK;	/* not a user folder */
	rc = fsops_list_names(u.dirfd, &names, &count, err);
	for (size_t i = 0; rc == ABK_OK && i < count; i++) {
		int srcfd;

		if (storage_check_source_name(names[i], NULL) != ABK_OK)
			continue;
		srcfd = openat(u.dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (srcfd < 0)
			continue;
		rc = cleanup_source(srcfd, names[i], max_age, removed, &trashed, err);
		close(srcfd);
	}
	if (trashed) {
		/* A removal was cut short before it could adjust the cache: make
		 * the next reader measure again. */
		lk = stg_usage_lock(&u, rc == ABK_OK ? err : NULL);
		if (lk >= 0) {
			if (ftruncate(lk, 0) != 0 && rc == ABK_OK)
				rc = abk_err_set(err, ABK_E_IO, "reset usage file: %s", strerror(errno));
			stg_usage_unlock(lk);
		} else if (rc == ABK_OK)
			rc = lk;
	}
	fsops_names_free(names, count);
	close(u.dirfd);
	return rc;
}

int
storage_cleanup_staging(const char *datadir, unsigned max_age_seconds, unsigned *removed,
    abk_err *err)
{
	char **users = NULL;
	size_t count = 0;
	unsigned dummy = 0;
	int dfd, usersfd = -1, rc;

	if (removed == NULL)
		removed = &dummy;
	*removed = 0;
	dfd = open(datadir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return abk_err_set(err, errno == ENOENT ? ABK_E_NOTFOUND : ABK_E_IO,
		    "data directory %s: %s", datadir, strerror(errno));
	usersfd = openat(dfd, "users", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(dfd);
	if (usersfd < 0) {
		if (errno == ENOENT)
			return ABK_OK;	/* nobody has pushed yet */
		return abk_err_set(err, ABK_E_IO, "open %s/users: %s", datadir, strerror(errno));
	}
	rc = fsops_list_names(usersfd, &users, &count, err);
	for (size_t i = 0; rc == ABK_OK && i < count; i++)
		if (users[i][0] != '.')
			rc = cleanup_user(usersfd, users[i], max_age_seconds, removed, err);
	fsops_names_free(users, count);
	close(usersfd);
	return rc;
}

/* ---- verify --------------------------------------------------------------------- */

struct verify_ctx {
	storage_problem_cb cb;
	void *ctx;
	struct storage_verify_counts *c;
	uint8_t *buf;
	struct damaged_set damaged;	/* stored inodes of the wrong size or content */
	char **paths;			/* their paths (for the damaged list) */
	size_t *lens;
};

/* Remember a damaged stored inode, so the next push re-sends its file. */
static int
note_damaged(struct verify_ctx *v, const struct manifest_entry *e, const struct stat *st,
    abk_err *err)
{
	size_t n = v->damaged.n;
	char **np;
	size_t *nl;
	int rc;

	np = realloc(v->paths, (n + 1) * sizeof(*np));
	if (np != NULL)
		v->paths = np;
	nl = realloc(v->lens, (n + 1) * sizeof(*nl));
	if (nl != NULL)
		v->lens = nl;
	if (np == NULL || nl == NULL || (v->paths[n] = malloc(e->path_len + 1)) == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory listing damaged files");
	memcpy(v->paths[n], e->path, e->path_len);
	v->paths[n][e->path_len] = '\0';
	v->lens[n] = e->path_len;
	rc = damaged_add(&v->damaged, (uint64_t)st->st_dev, (uint64_t)st->st_ino, err);
	if (rc != ABK_OK)
		free(v->paths[n]);
	return rc;
}

static int
problem(struct verify_ctx *v, const struct manifest_entry *e, uint64_t *counter,
    const char *what)
{
	(*counter)++;
	v->c->problems++;
	return v->cb ? v->cb(v->ctx, e->path, e->path_len, what) : 0;
}

static int
verify_file(struct verify_ctx *v, int dfd, const char *name, const struct manifest_entry *e,
    abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	abk_sha256_ctx sha;
	uint8_t digest[ABK_SHA256_LEN];
	uint32_t crc = (uint32_t)crc32(0, Z_NULL, 0);
	int with_sha = (e->flags & MF_HAS_SHA256) != 0;
	struct stat st;
	int fd, rc = ABK_OK;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return problem(v, e, &v->c->missing, "missing");
		if (errno == ELOOP)
			return problem(v, e, &v->c->wrong_type, "is a symlink, not a file");
		return abk_err_set(err, ABK_E_IO, "open stored \"%s\": %s",
		    fsops_quote(e->path, e->path_len, q, sizeof(q)), strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = problem(v, e, &v->c->wrong_type, "is not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size != e->size) {
		rc = note_damaged(v, e, &st, err);
		if (rc == ABK_OK)
			rc = problem(v, e, &v->c->size_differs, "size differs");
		goto out;
	}
	if (with_sha && abk_sha256_init(&sha) != ABK_OK) {
		rc = abk_err_set(err, ABK_E_CRYPTO, "SHA-256 init failed");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, v->buf, VERIFY_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = abk_err_set(err, ABK_E_IO, "read stored \"%s\": %s",
			    fsops_quote(e->path, e->path_len, q, sizeof(q)), strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		v->c->bytes += (uint64_t)n;
		crc = (uint32_t)crc32(crc, v->buf, (uInt)n);
		if (with_sha)
			abk_sha256_update(&sha, v->buf, (size_t)n);
	}
	if ((e->flags & MF_HAS_CRC) && crc != e->crc32) {
		rc = note_damaged(v, e, &st, err);
		if (rc == ABK_OK)
			rc = problem(v, e, &v->c->corrupted, "content corrupted (CRC mismatch)");
	} else if (with_sha && (abk_sha256_final(&sha, digest) != ABK_OK ||
	    memcmp(digest, e->sha256, sizeof(digest)) != 0)) {
		rc = note_damaged(v, e, &st, err);
		if (rc == ABK_OK)
			rc = problem(v, e, &v->c->corrupted, "content corrupted (SHA-256 mismatch)");
	}
out:
	close(fd);
	return rc;
}

static int
verify_entry(struct verify_ctx *v, struct fsops_dircache *dc, const struct manifest_entry *e,
    abk_err *err)
{
	char name[ABK_NAME_MAX + 1], target[MF_TARGET_MAX + 1];
	abk_err tmp = ABK_ERR_INIT;
	struct stat st;
	ssize_t n;
	int dfd, rc;

	v->c->entries++;
	rc = fsops_dircache_parent(dc, e->path, e->path_len, &dfd, name, &tmp);
	if (rc == ABK_E_NOTFOUND)
		return problem(v, e, &v->c->missing, "missing (a parent directory is missing)");
	if (rc != ABK_OK)
		return abk_err_set(err, rc, "%s", tmp.msg);
	switch (e->type) {
	case MF_FILE:
		return verify_file(v, dfd, name, e, err);
	case MF_DIR:
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			return problem(v, e, &v->c->missing, "missing");
		if (!S_ISDIR(st.st_mode))
			return problem(v, e, &v->c->wrong_type, "is not a directory");
		return ABK_OK;
	default:
		n = readlinkat(dfd, name, target, sizeof(target));
		if (n < 0 && errno == ENOENT)
			return problem(v, e, &v->c->missing, "missing");
		if (n < 0)
			return problem(v, e, &v->c->wrong_type, "is not a symlink");
		if ((size_t)n != e->target_len || memcmp(target, e->target, e->target_len) != 0)
			return problem(v, e, &v->c->target_differs, "symlink target differs");
		return ABK_OK;
	}
}

struct verify_walk {
	struct verify_ctx *v;
	struct fsops_dircache *dc;
	abk_err *err;
};

static int
verify_cb(void *ctx, const struct manifest_entry *e)
{
	struct verify_walk *w = ctx;

	return verify_entry(w->v, w->dc, e, w->err);
}

int
storage_verify(storage_user *u, const char *source, const char *id, storage_problem_cb cb,
    void *ctx, struct storage_verify_counts *out, abk_err *err)
{
	struct storage_verify_counts local;
	struct verify_ctx v;
	struct verify_walk w;
	storage_snapshot *s = NULL;
	int rc;

	if (out == NULL)
		out = &local;
	memset(out, 0, sizeof(*out));
	memset(&v, 0, sizeof(v));
	rc = storage_snapshot_open(u, source, id, &s, err);
	if (rc != ABK_OK)
		return rc;
	v.cb = cb;
	v.ctx = ctx;
	v.c = out;
	v.buf = malloc(VERIFY_BUF);
	if (v.buf == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory verifying");
		goto out;
	}
	w.v = &v;
	w.dc = stg_snapshot_dircache(s);
	w.err = err;
	rc = storage_snapshot_foreach(s, NULL, verify_cb, &w, err);
	/* A whole walk: what it found damaged replaces the snapshot's list
	 * (issue 8 item 4: the next push must not link it forward). */
	if (rc == ABK_OK) {
		abk_err werr = ABK_ERR_INIT;

		if (damaged_write(stg_snapshot_dirfd(s), &v.damaged,
		    (const char *const *)v.paths, v.lens, &werr) != ABK_OK)
			rc = abk_err_set(err, out->problems > 0 ? ABK_E_INTEGRITY : werr.code,
			    "snapshot %s of source %s has %llu problem%s, and the list of "
			    "damaged files could not be kept for the next push: %s",
			    storage_snapshot_id(s), source, (unsigned long long)out->problems,
			    out->problems == 1 ? "" : "s", werr.msg);
	}
	if (rc == ABK_OK && out->problems > 0)
		rc = abk_err_set(err, ABK_E_INTEGRITY,
		    "snapshot %s of source %s has %llu problem%s", storage_snapshot_id(s), source,
		    (unsigned long long)out->problems, out->problems == 1 ? "" : "s");
out:
	for (size_t i = 0; i < v.damaged.n; i++)
		free(v.paths[i]);
	free(v.paths);
	free(v.lens);
	damaged_free(&v.damaged);
	free(v.buf);
	storage_snapshot_close(s);
	return rc;
}
