/*
 * restore_write.c - putting a restore's entries on disk (or into --zip).
 *
 * Every file is written under a temporary name in its final folder and
 * renamed into place only when complete (so a file at the target is either
 * the old one or the restored one, never a torn mix), and folders are
 * walked with directory descriptors that never follow a symlink (fsops): a
 * hostile server cannot make us write outside the target.
 *
 * End to end: the CRC-32 of the bytes written is compared with the one the
 * server recorded when the file was pushed (the list's MF_HAS_CRC) before
 * the rename; a file that does not match is not put in place (its temporary
 * file is removed), so damage in storage never replaces a good local copy.
 * A file that replaces an existing name must be on disk before the rename
 * (a crash must not lose the old content and the new): such files wait,
 * complete under their temporary names, until the end of their batch, when
 * one syncfs covers them all and they are renamed (an fdatasync each made a
 * restore of 3,000 small files in place 4-9x slower on ext4).  New files
 * rely on one syncfs at the end of the restore.
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
#include <zlib.h>

#include "crc32.h"
#include "crypto.h"
#include "restore_int.h"

void
restore_note(struct rjob *j, const char *path, const char *why)
{
	if (j->opts->note != NULL)
		j->opts->note(j->opts->ctx, path, why);
}

void
restore_fail_entry(struct rjob *j, struct rentry *e, const char *why)
{
	e->state = RENTRY_FAILED;
	e->why = arena_dup(&j->arena, why, strlen(why));
}

/*
 * The next temporary name, name[64]: the prefix, this restore's random tag
 * and a counter.  Random once per restore (not per file) keeps a restore of
 * many small files from paying a getrandom each; the tag still keeps two
 * restores into one folder apart.
 */
static int
restore_tmpname(struct rjob *j, char name[64], abk_err *err)
{
	if (j->tmp_tag[0] == '\0') {
		uint8_t rnd[6];

		if (abk_random_bytes(rnd, sizeof(rnd), err) != ABK_OK)
			return err->code;
		abk_hex(rnd, sizeof(rnd), j->tmp_tag);
	}
	snprintf(name, 64, "%s%s-%llu", RESTORE_TMP_PREFIX, j->tmp_tag,
	    (unsigned long long)j->tmp_seq++);
	return ABK_OK;
}

/* A fresh temporary file in dirfd; its name goes to name[64]. */
static int
restore_tmpfile(struct rjob *j, int dirfd, char name[64], abk_err *err)
{
	for (int tries = 0; tries < 16; tries++) {
		int fd;

		if (restore_tmpname(j, name, err) != ABK_OK)
			return err->code;
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return abk_err_set(err, ABK_E_IO, "cannot create a file: %s",
			    strerror(errno));
	}
	return abk_err_set(err, ABK_E_IO, "cannot find a free temporary name");
}

void
restore_drop_current(struct rjob *j)
{
	if (j->cur_fd >= 0) {
		close(j->cur_fd);
		(void)unlinkat(j->cur_dirfd, j->cur_tmp, 0);
	}
	if (j->cur_dirfd >= 0)
		close(j->cur_dirfd);
	j->cur_fd = -1;
	j->cur_dirfd = -1;
	j->cur_index = UINT32_MAX;
}

/*
 * Put a finished temporary file (or symlink) in place of name.  Every entry
 * that gets here is inside the restored scope (restore_list_add refuses
 * anything else), so replacing a folder that stands where the snapshot has
 * a file never reaches beyond what the user asked to restore; a single-file
 * source never replaces a folder (its scope is that one file).
 */
static int
restore_place(struct rjob *j, int dirfd, const char *tmp, const char *name, const char *path,
    abk_err *err)
{
	if (renameat(dirfd, tmp, dirfd, name) == 0)
		return ABK_OK;
	/* A single-file source restores no folder: it never removes one. */
	if (!j->single && (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST)) {
		/* a folder stands where the snapshot has a file: replace it */
		if (fsops_remove(dirfd, name, NULL, err) == ABK_OK &&
		    renameat(dirfd, tmp, dirfd, name) == 0)
			return ABK_OK;
	}
	{
		int e = errno;

		(void)unlinkat(dirfd, tmp, 0);
		return abk_err_set(err, ABK_E_IO, "cannot put %s in place: %s", path,
		    e == EISDIR || e == ENOTEMPTY || e == EEXIST ? "a folder is in the way" :
		    strerror(e));
	}
}

/*
 * Issue 10 item 5: a restore run again after it was stopped (or over a
 * folder that still holds the files) leaves alone a file that is already
 * there, a regular file with the listed size, mode and mtime (to the
 * nanosecond, as a restore sets it) whose CRC-32 is the list's.  Reading it
 * locally costs far less than writing it again.  Anything else, or any
 * error, and the file is restored as usual.
 */
static void
restore_check_present(struct rjob *j, struct rentry *e)
{
	char name[ABK_NAME_MAX + 1];
	uint8_t *buf = NULL;
	uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
	uint64_t left = e->size;
	struct stat st;
	int dirfd, fd;

	if (!e->has_crc || j->opts->dry_run ||
	    fsops_dircache_parent(&j->dc, e->path, e->path_len, &dirfd, name, NULL) != ABK_OK)
		return;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size ||
	    (st.st_mode & 07777) != e->mode || st.st_mtim.tv_sec != (time_t)e->mtime ||
	    st.st_mtim.tv_nsec != (long)e->mtime_nsec || (buf = malloc(256 * 1024)) == NULL)
		goto out;
	while (left > 0) {
		ssize_t n = read(fd, buf, left > 256 * 1024 ? 256 * 1024 : (size_t)left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		crc = abk_crc32(crc, buf, (size_t)n);
		left -= (uint64_t)n;
	}
	if (crc == e->crc) {
		e->state = RENTRY_PRESENT;
		j->res->identical++;
		j->res->identical_bytes += e->size;
	}
out:
	free(buf);
	close(fd);
}

/* Entries that need no data: folders, symlinks, empty files. */
int
restore_entry_now(struct rjob *j, struct rentry *e, abk_err *err)
{
	char name[ABK_NAME_MAX + 1], tmp[64];
	int dirfd, rc;

	if (j->zw != NULL) {
		if (e->type == MF_DIR) {
			j->res->dirs++;
			return zipio_add_dir(j->zw, e->path, e->mode, e->mtime, err);
		}
		if (e->type == MF_SYMLINK) {
			j->res->symlinks++;
			return zipio_add_symlink(j->zw, e->path, e->target, 0777, e->mtime, err);
		}
		if (e->size == 0) {
			j->res->files++;
			return zipio_add_buffer(j->zw, e->path, "", 0, e->mode, e->mtime, 0, NULL,
			    err);
		}
		return ABK_OK;
	}
	if (e->type == MF_FILE && e->size > 0) {
		/* into a new or empty target nothing can be there already
		 * (restore_target_has_files): no lookup per file */
		if (j->have)
			restore_check_present(j, e);
		return ABK_OK;
	}
	rc = fsops_dircache_parent(&j->dc, e->path, e->path_len, &dirfd, name, err);
	if (rc != ABK_OK)
		return rc;
	if (e->type == MF_DIR) {
		int fd = fsops_open_dir(dirfd, name, 1, err);

		if (fd < 0)
			return fd;
		close(fd);
		j->res->dirs++;
		return ABK_OK;
	}
	if (e->type == MF_SYMLINK) {
		for (int tries = 0;; tries++) {
			if (restore_tmpname(j, tmp, err) != ABK_OK)
				return err->code;
			if (symlinkat(e->target, dirfd, tmp) == 0)
				break;
			if (errno != EEXIST || tries > 16)
				return abk_err_set(err, ABK_E_IO, "cannot create symlink %s: %s",
				    e->path, strerror(errno));
		}
		{
			struct timespec ts[2] = { { .tv_sec = e->mtime, .tv_nsec = e->mtime_nsec },
			    { .tv_sec = e->mtime, .tv_nsec = e->mtime_nsec } };

			/* our own fresh name, and the link itself, never its target */
			(void)utimensat(dirfd, tmp, ts, AT_SYMLINK_NOFOLLOW);
		}
		rc = restore_place(j, dirfd, tmp, name, e->path, err);
		if (rc == ABK_OK)
			j->res->symlinks++;
		return rc;
	}
	/* empty regular file: its recorded CRC-32 can only be 0 */
	if (e->has_crc && e->crc != 0) {
		e->state = RENTRY_DAMAGED;
		return ABK_OK;
	}
	{
		int fd = restore_tmpfile(j, dirfd, tmp, err);
		struct timespec ts[2] = { { .tv_sec = e->mtime, .tv_nsec = e->mtime_nsec },
		    { .tv_sec = e->mtime, .tv_nsec = e->mtime_nsec } };

		if (fd < 0)
			return fd;
		(void)fchmod(fd, e->mode);
		(void)futimens(fd, ts);
		close(fd);
		rc = restore_place(j, dirfd, tmp, name, e->path, err);
		if (rc == ABK_OK)
			j->res->files++;
		return rc;
	}
}

/* Sink for transfer_unpack: the pieces of one file arrive in order. */
static const char *
restore_sink_path(void *ctx, const struct transfer_unit *u, size_t *len)
{
	const struct rentry *e = &((struct rjob *)ctx)->v[u->index];

	*len = e->path_len;
	return e->path;
}

static int
restore_sink_begin(void *ctx, const struct transfer_unit *u, abk_err *err)
{
	struct rjob *j = ctx;
	struct rentry *e = &j->v[u->index];
	abk_err local = ABK_ERR_INIT;
	int dirfd, rc;

	if (u->offset != e->written || (u->offset > 0 && j->zw == NULL &&
	    e->state == RENTRY_PENDING && j->cur_index != u->index))
		return abk_err_set(err, ABK_E_PROTO, "data for %s out of order", e->path);
	if (u->offset > 0)
		return ABK_OK;
	e->crc_got = (uint32_t)crc32(0L, Z_NULL, 0);
	if (j->zw != NULL)
		return zipio_begin_file(j->zw, e->path, e->mode, e->mtime, 1, e->size, err);
	restore_drop_current(j);
	if (e->state == RENTRY_PRESENT)
		return ABK_OK;	/* already there: its data is dropped */
	/* A file whose folder cannot be made is reported, the rest goes on. */
	rc = fsops_dircache_parent(&j->dc, e->path, e->path_len, &dirfd, j->cur_name, &local);
	if (rc == ABK_E_NOMEM)
		return abk_err_set(err, rc, "%s", local.msg);
	if (rc != ABK_OK) {
		restore_fail_entry(j, e, local.msg);
		return ABK_OK;
	}
	j->cur_dirfd = dup(dirfd);
	if (j->cur_dirfd < 0)
		return abk_err_set(err, ABK_E_IO, "dup: %s", strerror(errno));
	j->cur_fd = restore_tmpfile(j, j->cur_dirfd, j->cur_tmp, err);
	if (j->cur_fd < 0)
		return err->code ? err->code : ABK_E_IO;
	j->cur_index = u->index;
	j->cur_sparse = 0;
	{
		struct stat st;

		j->cur_exists = fstatat(j->cur_dirfd, j->cur_name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	}
	return ABK_OK;
}

static int
restore_write(struct rjob *j, struct rentry *e, uint64_t at, const void *buf, size_t n,
    abk_err *err)
{
	if (j->zw != NULL)
		return zipio_write(j->zw, buf, n, err);
	if (e->state != RENTRY_PENDING)
		return ABK_OK;		/* not restored: its data is skipped */
	/* a fresh file: blocks of zeros stay holes (a sparse image stays sparse) */
	if (fsops_pwrite_sparse(j->cur_fd, buf, n, at, 0, &j->cur_sparse) != 0)
		return abk_err_set(err, ABK_E_IO, "writing %s: %s", e->path, strerror(errno));
	return ABK_OK;
}

static int
restore_sink_data(void *ctx, const struct transfer_unit *u, uint64_t offset, const void *buf,
    size_t n, abk_err *err)
{
	struct rjob *j = ctx;
	struct rentry *e = &j->v[u->index];

	e->crc_got = abk_crc32(e->crc_got, buf, n);
	return restore_write(j, e, offset, buf, n, err);
}

/* A stored piece whose CRC-32 the zip reader verified: combine, not recompute. */
static int
restore_sink_whole(void *ctx, const struct transfer_unit *u, const void *buf, size_t n,
    uint32_t crc, abk_err *err)
{
	struct rjob *j = ctx;
	struct rentry *e = &j->v[u->index];

	e->crc_got = (uint32_t)crc32_combine(e->crc_got, crc, (z_off_t)n);
	return restore_write(j, e, u->offset, buf, n, err);
}

/* A piece is complete: count it; the file's last piece puts it in place. */
static int
restore_sink_end(void *ctx, const struct transfer_unit *u, abk_err *err)
{
	struct rjob *j = ctx;
	struct rentry *e = &j->v[u->index];
	struct timespec ts[2] = { { .tv_sec = e->mtime, .tv_nsec = e->mtime_nsec },
	    { .tv_sec = e->mtime, .tv_nsec = e->mtime_nsec } };
	abk_err local = ABK_ERR_INIT;
	int rc = ABK_OK;

	e->written += u->len;
	j->prog.bytes_done += u->len;
	if (e->written < e->size)
		return ABK_OK;
	j->prog.files_done++;
	j->prog.current = e->path;
	if (j->zw != NULL) {
		/* --zip keeps a damaged file (for salvage) but still reports it */
		rc = zipio_end_file(j->zw, NULL, err);
		if (rc == ABK_OK) {
			j->res->files++;
			j->res->bytes += e->size;
			e->state = e->has_crc && e->crc_got != e->crc ? RENTRY_DAMAGED : RENTRY_DONE;
		}
		return rc;
	}
	/* left alone as identical, but what the server sent is still checked:
	 * damage on the server is reported, never dropped silently */
	if (e->state == RENTRY_PRESENT && e->crc_got != e->crc) {
		e->state = RENTRY_DAMAGED;
		j->res->identical--;
		j->res->identical_bytes -= e->size;
	}
	if (e->state != RENTRY_PENDING)
		return ABK_OK;
	if (e->has_crc && e->crc_got != e->crc) {
		restore_drop_current(j);	/* never over the good copy */
		e->state = RENTRY_DAMAGED;
		return ABK_OK;
	}
	if ((j->cur_sparse && fsops_sparse_end(j->cur_fd, e->size) != 0) ||
	    fchmod(j->cur_fd, e->mode) != 0 || futimens(j->cur_fd, ts) != 0)
		rc = abk_err_set(&local, ABK_E_IO, "%s: %s", e->path, strerror(errno));
	if (rc == ABK_OK && j->cur_exists) {
		/* in place: renamed after the batch's sync (restore_flush_pending) */
		if (j->pend == NULL &&
		    (j->pend = calloc(PROTO_ZIP_BATCH_ENTRIES, sizeof(*j->pend))) == NULL) {
			restore_drop_current(j);
			return abk_err_set(err, ABK_E_NOMEM, "out of memory");
		}
		j->pend[j->n_pend].index = u->index;
		memcpy(j->pend[j->n_pend].tmp, j->cur_tmp, sizeof(j->cur_tmp));
		j->n_pend++;
		close(j->cur_fd);
		close(j->cur_dirfd);
		j->cur_fd = -1;
		j->cur_dirfd = -1;
		j->cur_index = UINT32_MAX;
		return ABK_OK;
	}
	close(j->cur_fd);
	j->cur_fd = -1;
	if (rc == ABK_OK)
		rc = restore_place(j, j->cur_dirfd, j->cur_tmp, j->cur_name, e->path, &local);
	else
		(void)unlinkat(j->cur_dirfd, j->cur_tmp, 0);
	close(j->cur_dirfd);
	j->cur_dirfd = -1;
	j->cur_index = UINT32_MAX;
	if (rc != ABK_OK) {
		restore_fail_entry(j, e, local.msg);
		return ABK_OK;
	}
	e->state = RENTRY_DONE;
	j->res->files++;
	j->res->bytes += e->size;
	return ABK_OK;
}

void
restore_drop_pending(struct rjob *j)
{
	for (size_t i = 0; i < j->n_pend; i++) {
		const struct rentry *e = &j->v[j->pend[i].index];
		char name[ABK_NAME_MAX + 1];
		abk_err ignored = ABK_ERR_INIT;
		int dirfd;

		if (fsops_dircache_parent(&j->dc, e->path, e->path_len, &dirfd, name, &ignored)
		    == ABK_OK)
			(void)unlinkat(dirfd, j->pend[i].tmp, 0);
	}
	j->n_pend = 0;
}

int
restore_flush_pending(struct rjob *j, abk_err *err)
{
	if (j->n_pend == 0)
		return ABK_OK;
#ifdef HAVE_SYNCFS
	if (syncfs(j->rootfd) != 0) {
		int rc = abk_err_set(err, ABK_E_IO, "syncing the restored files: %s",
		    strerror(errno));

		restore_drop_pending(j);
		return rc;
	}
#else
	sync();
#endif
	for (size_t i = 0; i < j->n_pend; i++) {
		struct rentry *e = &j->v[j->pend[i].index];
		char name[ABK_NAME_MAX + 1];
		abk_err local = ABK_ERR_INIT;
		int dirfd, rc;

		rc = fsops_dircache_parent(&j->dc, e->path, e->path_len, &dirfd, name, &local);
		if (rc == ABK_OK)
			rc = restore_place(j, dirfd, j->pend[i].tmp, name, e->path, &local);
		if (rc != ABK_OK) {
			restore_fail_entry(j, e, local.msg);
			continue;
		}
		e->state = RENTRY_DONE;
		j->res->files++;
		j->res->bytes += e->size;
	}
	j->n_pend = 0;
	return ABK_OK;
}

void
restore_sink(struct rjob *j, struct transfer_sink *sink)
{
	memset(sink, 0, sizeof(*sink));
	sink->ctx = j;
	sink->path = restore_sink_path;
	sink->begin = restore_sink_begin;
	sink->data = restore_sink_data;
	sink->end = restore_sink_end;
	sink->whole = restore_sink_whole;
	/* no reuse: a server may not make us copy anything */
}

int
restore_open_target(const char *path, int dry_run, abk_err *err)
{
	char buf[4096];
	size_t len = strlen(path);
	int fd;

	if (len == 0 || len >= sizeof(buf))
		return abk_err_set(err, ABK_E_USAGE, "bad target folder '%s'", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; !dry_run && *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return abk_err_set(err, ABK_E_IO, "cannot create %s: %s", buf,
			    strerror(errno));
		*p = '/';
	}
	if (!dry_run && mkdir(buf, 0755) != 0 && errno != EEXIST)
		return abk_err_set(err, ABK_E_IO, "cannot create %s: %s", buf, strerror(errno));
	fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && dry_run && (errno == ENOENT || errno == ENOTDIR))
		return abk_err_set(err, ABK_E_NOTFOUND, "%s does not exist", buf);
	if (fd < 0)
		return abk_err_set(err, ABK_E_IO, "cannot open %s: %s", buf, strerror(errno));
	return fd;
}
