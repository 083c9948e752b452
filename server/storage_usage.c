/*
 * storage_usage.c - the per-user usage figure used by quotas, and the cleanup
 * at server start (abandoned staging, leftovers of interrupted snapshot
 * removals).
 *
 * Usage is the size of every distinct inode in published snapshots; it is
 * cached in USER/.usage ("abk-usage 1 BYTES") and kept exact by adding what
 * a publish stored and subtracting what a removal (retention.c) freed (files
 * whose last link went), all under flock on that file.  A removal cut short
 * leaves a .trash-* folder: cleanup deletes it and resets the cache.
 * Staged bytes (of pushes not published yet) are measured apart, on demand
 * (storage_staged_bytes), and count against the quota too (issue 11); the
 * cleanup removes staging areas older than the server's --staging-ttl.
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

#include "fsops.h"
#include "storage_int.h"

#define USAGE_FORMAT "abk-usage 1 %" PRIu64 "\n"

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
			/* seen NULL: staging, where a file linked more than
			 * once is a published one (counted in usage). */
			added = st.st_nlink == 1 ? 1 : seen != NULL ?
			    inode_set_add(seen, st.st_dev, st.st_ino) : 0;
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
stg_usage_invalidate_locked(int lockfd, abk_err *err)
{
	if (ftruncate(lockfd, 0) != 0)
		return abk_err_set(err, ABK_E_IO, "reset usage file: %s", strerror(errno));
	return ABK_OK;
}

int
stg_usage_set_locked(int lockfd, uint64_t bytes, abk_err *err)
{
	return usage_write(lockfd, bytes, err);
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

/* ---- staged bytes ------------------------------------------------------------------ */

/* Bytes in SOURCE/.staging of srcfd (files linked once); 0 if there is none. */
static int
staged_in_source(int srcfd, uint64_t *total, abk_err *err)
{
	int fd, rc;

	fd = openat(srcfd, STG_STAGING, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ABK_OK;	/* no staging, or it vanished */
	rc = walk_tree(fd, NULL, total, 0, err);
	close(fd);
	return rc;
}

int
storage_staged_bytes(storage_user *u, const char *own_source, uint64_t *bytes, abk_err *err)
{
	char **srcs = NULL;
	size_t nsrc = 0;
	uint64_t total = 0;
	int rc;

	rc = fsops_list_names(u->dirfd, &srcs, &nsrc, err);
	for (size_t i = 0; rc == ABK_OK && i < nsrc; i++) {
		int own = own_source != NULL && strcmp(srcs[i], own_source) == 0;
		int srcfd, lk = -1;

		if (storage_check_source_name(srcs[i], NULL) != ABK_OK)
			continue;
		srcfd = openat(u->dirfd, srcs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (srcfd < 0)
			continue;
		if (faccessat(srcfd, STG_STAGING, F_OK, AT_SYMLINK_NOFOLLOW) == 0 && !own)
			lk = stg_lock_source(srcfd, srcs[i], NULL);
		/* A locked source has a push running: its bytes are in flight. */
		if (own || lk >= 0)
			rc = staged_in_source(srcfd, &total, err);
		if (lk >= 0)
			close(lk);
		close(srcfd);
	}
	fsops_names_free(srcs, nsrc);
	if (rc == ABK_OK)
		*bytes = total;
	return rc;
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
