/*
 * restore.c - the client side of a restore.
 *
 * The server sends the snapshot's file list first, then the file data as zip
 * batches.  Every name is checked by the same rules the server applies to a
 * push (manifest_entry_decode runs pathsafe), every file is written under a
 * temporary name in its final folder and renamed into place only when
 * complete (so a file at the target is either the old one or the restored
 * one, never a torn mix), and folders are walked with directory descriptors
 * that never follow a symlink: a hostile server cannot make us write outside
 * the target.  --zip FILE writes one archive instead (Info-ZIP compatible).
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

#include "client_int.h"
#include "crypto.h"
#include "fsops.h"
#include "handoff.h"
#include "net.h"
#include "pathtab.h"
#include "transfer.h"
#include "zipio.h"

#define RESTORE_PROGRESS_MS 100
#define RESTORE_TMP_PREFIX ".abk-restore-"

struct rentry {
	char *path;			/* in the arena */
	size_t path_len;
	uint8_t type;
	uint32_t mode;
	int64_t mtime;
	uint64_t size;
	char *target;			/* in the arena */
	uint64_t written;		/* data bytes received so far */
};

struct rjob {
	abk_client *c;
	const struct abk_restore_opts *opts;
	struct abk_restore_result *res;
	struct rentry *v;
	size_t n;
	struct arena arena;
	int rootfd;			/* target folder (unpack mode) */
	struct fsops_dircache dc;
	zipio_writer *zw;		/* --zip mode */
	/* the file being received (chunks of one entry arrive in order) */
	int cur_fd;
	uint32_t cur_index;
	char cur_tmp[64];
	int cur_dirfd;			/* owned copy (dup) of its folder */
	char cur_name[ABK_NAME_MAX + 1];
	struct abk_progress prog;
	long long last_progress;
	long long t_start;
	struct abk_progress shown;	/* what the callback was last given */
	char tmp_tag[13];		/* random, per restore: temp names */
	uint64_t tmp_seq;		/* ... and a counter (no getrandom per file) */
};

static void
restore_note(struct rjob *j, const char *path, const char *why)
{
	if (j->opts->note != NULL)
		j->opts->note(j->opts->ctx, path, why);
}

static void
restore_progress(struct rjob *j, int force)
{
	long long now = net_now_ms();

	if (j->opts->progress == NULL || (!force && now - j->last_progress < RESTORE_PROGRESS_MS))
		return;
	j->last_progress = now;
	j->prog.rate = (double)j->prog.bytes_done * 1000.0 / (double)(now - j->t_start + 1);
	j->opts->progress(j->opts->ctx, &j->prog);
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

static void
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

/* Put a finished temporary file (or symlink) in place of name. */
static int
restore_place(int dirfd, const char *tmp, const char *name, const char *path, abk_err *err)
{
	if (renameat(dirfd, tmp, dirfd, name) == 0)
		return ABK_OK;
	if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST) {
		/* a folder stands where the snapshot has a file: replace it */
		if (fsops_remove(dirfd, name, NULL, err) == ABK_OK &&
		    renameat(dirfd, tmp, dirfd, name) == 0)
			return ABK_OK;
	}
	(void)unlinkat(dirfd, tmp, 0);
	return abk_err_set(err, ABK_E_IO, "cannot put %s in place: %s", path, strerror(errno));
}

static int
restore_parent(struct rjob *j, const struct rentry *e, int *dirfd, char *name, abk_err *err)
{
	int rc = fsops_dircache_parent(&j->dc, e->path, e->path_len, dirfd, name, err);

	if (rc != ABK_OK)
		return rc;
	return ABK_OK;
}

/* Entries that need no data: folders, symlinks, empty files. */
static int
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
	if (e->type == MF_FILE && e->size > 0)
		return ABK_OK;
	rc = restore_parent(j, e, &dirfd, name, err);
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
			struct timespec ts[2] = { { .tv_sec = e->mtime }, { .tv_sec = e->mtime } };

			(void)utimensat(dirfd, tmp, ts, AT_SYMLINK_NOFOLLOW);
		}
		rc = restore_place(dirfd, tmp, name, e->path, err);
		if (rc == ABK_OK)
			j->res->symlinks++;
		return rc;
	}
	/* empty regular file */
	{
		int fd = restore_tmpfile(j, dirfd, tmp, err);
		struct timespec ts[2] = { { .tv_sec = e->mtime }, { .tv_sec = e->mtime } };

		if (fd < 0)
			return fd;
		(void)fchmod(fd, e->mode);
		(void)futimens(fd, ts);
		close(fd);
		rc = restore_place(dirfd, tmp, name, e->path, err);
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
	int dirfd, rc;

	if (u->offset != e->written || (u->offset > 0 && j->zw == NULL &&
	    j->cur_index != u->index))
		return abk_err_set(err, ABK_E_PROTO, "data for %s out of order", e->path);
	if (u->offset > 0)
		return ABK_OK;
	if (j->zw != NULL)
		return zipio_begin_file(j->zw, e->path, e->mode, e->mtime, 1, e->size, err);
	restore_drop_current(j);
	rc = restore_parent(j, e, &dirfd, j->cur_name, err);
	if (rc != ABK_OK)
		return rc;
	j->cur_dirfd = dup(dirfd);
	if (j->cur_dirfd < 0)
		return abk_err_set(err, ABK_E_IO, "dup: %s", strerror(errno));
	j->cur_fd = restore_tmpfile(j, j->cur_dirfd, j->cur_tmp, err);
	if (j->cur_fd < 0)
		return err->code ? err->code : ABK_E_IO;
	j->cur_index = u->index;
	return ABK_OK;
}

static int
restore_sink_data(void *ctx, const struct transfer_unit *u, uint64_t offset, const void *buf,
    size_t n, abk_err *err)
{
	struct rjob *j = ctx;
	const struct rentry *e = &j->v[u->index];

	(void)offset;	/* pieces are written in order: offset is the file position */
	if (j->zw != NULL)
		return zipio_write(j->zw, buf, n, err);
	if (fsops_write_all(j->cur_fd, buf, n) != 0)
		return abk_err_set(err, ABK_E_IO, "writing %s: %s", e->path, strerror(errno));
	return ABK_OK;
}

/* A piece is complete: count it; the file's last piece puts it in place. */
static int
restore_sink_end(void *ctx, const struct transfer_unit *u, abk_err *err)
{
	struct rjob *j = ctx;
	struct rentry *e = &j->v[u->index];
	struct timespec ts[2] = { { .tv_sec = e->mtime }, { .tv_sec = e->mtime } };
	int rc = ABK_OK;

	e->written += u->len;
	j->prog.bytes_done += u->len;
	j->res->bytes += u->len;
	if (e->written < e->size)
		return ABK_OK;
	if (j->zw != NULL) {
		rc = zipio_end_file(j->zw, NULL, err);
	} else {
		if (fchmod(j->cur_fd, e->mode) != 0 || futimens(j->cur_fd, ts) != 0)
			rc = abk_err_set(err, ABK_E_IO, "%s: %s", e->path, strerror(errno));
		close(j->cur_fd);
		j->cur_fd = -1;
		if (rc == ABK_OK)
			rc = restore_place(j->cur_dirfd, j->cur_tmp, j->cur_name, e->path, err);
		else
			(void)unlinkat(j->cur_dirfd, j->cur_tmp, 0);
		close(j->cur_dirfd);
		j->cur_dirfd = -1;
		j->cur_index = UINT32_MAX;
	}
	j->res->files++;
	j->prog.files_done++;
	j->prog.current = e->path;
	return rc;
}

/*
 * Receiving and writing run in two threads (handoff.h): the caller's thread
 * reads frames (TLS decryption, digests) while a writer thread unpacks the
 * previous batch into the target.  Only the writer touches the target and
 * the job's counters during this phase; the progress callback stays on the
 * caller's thread and reads a copy of the counters published after each
 * batch.
 */
struct rbatch {
	abk_buf zip;
	struct transfer_unit *units;
	uint32_t n_units;
};

struct rpipe {
	struct rjob *j;
	struct handoff ho;
	struct abk_progress pub;	/* counters as of the last batch written */
	uint8_t *buf;			/* writer's read buffer */
};

/* Writer (handoff worker): unpack one verified batch. */
static int
restore_write_batch(void *ctx, void *item, abk_err *err)
{
	struct rpipe *rp = ctx;
	const struct rbatch *b = item;
	const struct transfer_sink sink = { rp->j, restore_sink_path, restore_sink_begin,
	    restore_sink_data, restore_sink_end, NULL, NULL };	/* no reuse: a server may
								   not make us copy */

	return transfer_unpack(b->zip.data, b->zip.len, b->units, b->n_units, rp->buf,
	    256 * 1024, &sink, err);
}

/* Called under the mailbox lock after each batch. */
static void
restore_written(void *ctx)
{
	struct rpipe *rp = ctx;

	rp->pub = rp->j->prog;
}

static void
restore_copy_pub(void *ctx)
{
	struct rpipe *rp = ctx;

	rp->j->shown = rp->pub;
}

static void
restore_report(struct rpipe *rp)
{
	struct rjob *j = rp->j;
	long long now = net_now_ms();

	if (j->opts->progress == NULL || now - j->last_progress < RESTORE_PROGRESS_MS)
		return;
	handoff_locked(&rp->ho, restore_copy_pub, rp);
	j->last_progress = now;
	j->shown.rate = (double)j->shown.bytes_done * 1000.0 / (double)(now - j->t_start + 1);
	j->opts->progress(j->opts->ctx, &j->shown);
}

/* Read the zip batches until RESTORE_END. */
static int
restore_receive(struct rjob *j, abk_err *err)
{
	abk_client *c = j->c;
	struct rbatch batches[2];	/* one is received while the other is written */
	struct rpipe rp;
	abk_digest_ctx total;
	int fill = 0, rc = ABK_OK, started = 0;

	memset(&rp, 0, sizeof(rp));
	memset(batches, 0, sizeof(batches));
	rp.j = j;
	rp.pub = j->prog;
	abk_digest_init(&total);
	for (int i = 0; i < 2; i++) {
		abk_buf_init(&batches[i].zip, PROTO_ZIP_BATCH_MAX);
		batches[i].units = calloc(PROTO_ZIP_BATCH_ENTRIES, sizeof(struct transfer_unit));
	}
	rp.buf = malloc(256 * 1024);
	if (rp.buf == NULL || batches[0].units == NULL || batches[1].units == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
		goto out;
	}
	started = 1;
	rc = handoff_start(&rp.ho, restore_write_batch, restore_written, &rp, err);
	while (rc == ABK_OK) {
		struct rbatch *b = &batches[fill];
		uint8_t type;
		abk_rd r;

		if (j->opts->cancel != NULL && *j->opts->cancel) {
			rc = abk_err_set(err, ABK_E_CANCELED, "canceled");
			break;
		}
		rc = client_recv(c, 0, &type, err);
		if (rc != ABK_OK)
			break;
		abk_rd_init(&r, c->in.data, c->in.len);
		if (type == PT_ZIP_BEGIN) {
			rc = transfer_get_units(&r, b->units, PROTO_ZIP_BATCH_ENTRIES, &b->n_units,
			    err);
			for (uint32_t i = 0; rc == ABK_OK && i < b->n_units; i++) {
				const struct transfer_unit *u = &b->units[i];

				if (u->index >= j->n || j->v[u->index].type != MF_FILE ||
				    u->offset > j->v[u->index].size ||
				    u->len > j->v[u->index].size - u->offset)
					rc = abk_err_set(err, ABK_E_PROTO,
					    "ZIP_BEGIN lists an invalid entry");
			}
			abk_buf_reset(&b->zip);
		} else if (type == PT_ZIP_DATA) {
			if (b->n_units == 0)
				rc = abk_err_set(err, ABK_E_PROTO, "ZIP_DATA outside a batch");
			else if (abk_put_bytes(&b->zip, c->in.data, c->in.len) != 0)
				rc = abk_err_set(err, ABK_E_LIMIT, "zip batch over %u bytes",
				    PROTO_ZIP_BATCH_MAX);
		} else if (type == PT_ZIP_END) {
			uint64_t zlen = 0;
			uint8_t want[ABK_DIGEST_LEN], got[ABK_DIGEST_LEN];

			abk_get_u64(&r, &zlen);
			abk_get_bytes(&r, want, sizeof(want));
			if (r.failed || zlen != b->zip.len || b->n_units == 0)
				rc = abk_err_set(err, ABK_E_PROTO, "ZIP_END does not match the data");
			if (rc == ABK_OK)
				rc = transfer_batch_digest(b->zip.data, b->zip.len, got, err);
			if (rc == ABK_OK && !abk_ct_equal(want, got, sizeof(got)))
				rc = abk_err_set(err, ABK_E_INTEGRITY, "zip batch digest mismatch");
			if (rc == ABK_OK) {
				abk_digest_update(&total, got, sizeof(got));
				/* the writer is idle once this returns, so the other
				 * buffer is free for the next batch */
				rc = handoff_post(&rp.ho, b, err);
			}
			if (rc == ABK_OK) {
				fill ^= 1;
				batches[fill].n_units = 0;
				restore_report(&rp);
			}
		} else if (type == PT_RESTORE_END) {
			uint8_t want[ABK_DIGEST_LEN], got[ABK_DIGEST_LEN];

			abk_get_bytes(&r, want, sizeof(want));
			abk_digest_final(&total, got);
			if (r.failed || !abk_ct_equal(want, got, sizeof(got)))
				rc = abk_err_set(err, ABK_E_INTEGRITY, "restore digest mismatch");
			else
				rc = handoff_post(&rp.ho, NULL, err);	/* all written? */
			break;
		} else {
			rc = abk_err_set(err, ABK_E_PROTO, "unexpected %s during a restore",
			    proto_type_name(type));
		}
	}
out:
	if (started)
		rc = handoff_finish(&rp.ho, rc, err);
	if (rc != ABK_OK)
		c->broken = 1;
	for (int i = 0; i < 2; i++) {
		abk_buf_free(&batches[i].zip);
		free(batches[i].units);
	}
	free(rp.buf);
	return rc;
}

static const char *
rentry_key(void *ctx, uint32_t idx, size_t *len)
{
	struct rjob *j = ctx;

	*len = j->v[idx].path_len;
	return j->v[idx].path;
}

/* --delete: remove what is in the target but not in the snapshot. */
static int
restore_delete_extra(struct rjob *j, abk_err *err)
{
	struct pathtab tab;
	char *rel = malloc(ABK_PATH_MAX + 2);
	int rc;

	if (rel == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	rc = pathtab_init(&tab, j->n, rentry_key, j, err);
	for (size_t i = 0; rc == ABK_OK && i < j->n; i++)
		if (pathtab_insert(&tab, j->v[i].path, j->v[i].path_len, (uint32_t)i, NULL) < 0)
			rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
	/* visit the root and every restored folder */
	for (size_t i = 0; rc == ABK_OK && i <= j->n; i++) {
		const struct rentry *d = i < j->n ? &j->v[i] : NULL;
		int dirfd, own = 0;
		char **names = NULL;
		size_t count = 0;
		char name[ABK_NAME_MAX + 1];

		if (d != NULL && d->type != MF_DIR)
			continue;
		if (d == NULL) {
			dirfd = j->rootfd;
		} else {
			if (fsops_dircache_parent(&j->dc, d->path, d->path_len, &dirfd, name, err)
			    != ABK_OK)
				break;
			dirfd = fsops_open_dir(dirfd, name, 0, err);
			if (dirfd < 0)
				break;
			own = 1;
		}
		if (fsops_list_names(dirfd, &names, &count, err) == ABK_OK) {
			for (size_t k = 0; k < count && rc == ABK_OK; k++) {
				size_t len;
				uint32_t found;

				if (d == NULL)
					len = (size_t)snprintf(rel, ABK_PATH_MAX + 2, "%s", names[k]);
				else
					len = (size_t)snprintf(rel, ABK_PATH_MAX + 2, "%s/%s", d->path,
					    names[k]);
				if (len > ABK_PATH_MAX || pathtab_find(&tab, rel, len, &found))
					continue;
				rc = fsops_remove(dirfd, names[k], NULL, err);
				if (rc == ABK_OK)
					j->res->deleted++;
			}
			fsops_names_free(names, count);
		}
		if (own)
			close(dirfd);
	}
	pathtab_free(&tab);
	free(rel);
	return rc;
}

/* Folder modes and times last, deepest first, once nothing more is written. */
static void
restore_finish_dirs(struct rjob *j)
{
	for (size_t i = j->n; i-- > 0;) {
		const struct rentry *e = &j->v[i];
		char name[ABK_NAME_MAX + 1];
		struct timespec ts[2] = { { .tv_sec = e->mtime }, { .tv_sec = e->mtime } };
		abk_err ignored = ABK_ERR_INIT;
		int dirfd;

		if (e->type != MF_DIR ||
		    fsops_dircache_parent(&j->dc, e->path, e->path_len, &dirfd, name, &ignored)
		    != ABK_OK)
			continue;
		(void)fchmodat(dirfd, name, e->mode, 0);
		(void)utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
	}
}

/* Create (like mkdir -p) and open the target folder. */
static int
restore_open_target(const char *path, abk_err *err)
{
	char buf[4096];
	size_t len = strlen(path);
	int fd;

	if (len == 0 || len >= sizeof(buf))
		return abk_err_set(err, ABK_E_USAGE, "bad target folder '%s'", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return abk_err_set(err, ABK_E_IO, "cannot create %s: %s", buf,
			    strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		return abk_err_set(err, ABK_E_IO, "cannot create %s: %s", buf, strerror(errno));
	fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return abk_err_set(err, ABK_E_IO, "cannot open %s: %s", buf, strerror(errno));
	return fd;
}

static int
restore_read_list(struct rjob *j, abk_err *err)
{
	size_t cap = 0;

	for (;;) {
		uint8_t last = 0;
		uint32_t count = 0;
		abk_rd r;
		int rc = client_recv(j->c, PT_RESTORE_ENTRIES, NULL, err);

		if (rc != ABK_OK)
			return rc;
		abk_rd_init(&r, j->c->in.data, j->c->in.len);
		abk_get_u8(&r, &last);
		abk_get_u32(&r, &count);
		if (r.failed)
			return abk_err_set(err, ABK_E_PROTO, "malformed RESTORE_ENTRIES");
		for (uint32_t i = 0; i < count; i++) {
			struct manifest_entry e;
			struct rentry *re;

			rc = manifest_entry_decode(&r, &e, err);
			if (rc != ABK_OK)
				return rc;
			if (j->n >= PROTO_MAX_ENTRIES)
				return abk_err_set(err, ABK_E_LIMIT, "too many entries");
			if (j->n == cap) {
				size_t ncap = cap ? cap * 2 : 1024;
				struct rentry *nv = realloc(j->v, ncap * sizeof(*nv));

				if (nv == NULL)
					return abk_err_set(err, ABK_E_NOMEM, "out of memory");
				j->v = nv;
				cap = ncap;
			}
			re = &j->v[j->n];
			memset(re, 0, sizeof(*re));
			re->path = arena_dup(&j->arena, e.path, e.path_len);
			re->path_len = e.path_len;
			re->type = e.type;
			re->mode = e.mode;
			re->mtime = e.mtime;
			re->size = e.size;
			if (e.type == MF_SYMLINK)
				re->target = arena_dup(&j->arena, e.target, e.target_len);
			if (re->path == NULL || (e.type == MF_SYMLINK && re->target == NULL))
				return abk_err_set(err, ABK_E_NOMEM, "out of memory");
			if (e.type == MF_FILE)
				j->prog.bytes_total += e.size;
			j->n++;
		}
		if (last)
			return ABK_OK;
	}
}

int
abk_restore(abk_client *c, const struct abk_restore_opts *opts,
    struct abk_restore_result *res, abk_err *err)
{
	struct rjob j;
	char origin[PROTO_ORIGIN_MAX + 1];
	uint8_t single = 0;
	uint64_t n_entries = 0, n_bytes = 0;
	uint32_t npaths = 0;
	abk_rd r;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&j, 0, sizeof(j));
	j.c = c;
	j.opts = opts;
	j.res = res;
	j.rootfd = -1;
	j.cur_fd = -1;
	j.cur_dirfd = -1;
	j.cur_index = UINT32_MAX;
	j.t_start = net_now_ms();
	j.prog.source = opts->source;

	while (opts->paths != NULL && opts->paths[npaths] != NULL)
		npaths++;
	abk_put_cstr(&c->out, opts->source);
	abk_put_cstr(&c->out, opts->snapshot ? opts->snapshot : "");
	abk_put_u8(&c->out, 0);		/* flags: store (see PROTOCOL.md) */
	abk_put_u32(&c->out, npaths);
	for (uint32_t i = 0; i < npaths; i++)
		abk_put_cstr(&c->out, opts->paths[i]);
	if ((rc = client_send(c, PT_RESTORE, err)) != ABK_OK ||
	    (rc = client_recv(c, PT_RESTORE_BEGIN, NULL, err)) != ABK_OK)
		goto out;
	abk_rd_init(&r, c->in.data, c->in.len);
	abk_get_cstr(&r, res->snapshot, sizeof(res->snapshot));
	abk_get_cstr(&r, origin, sizeof(origin));
	abk_get_u8(&r, &single);
	abk_get_u64(&r, &n_entries);
	abk_get_u64(&r, &n_bytes);
	if (r.failed || origin[0] != '/') {
		rc = abk_err_set(err, ABK_E_PROTO, "malformed RESTORE_BEGIN");
		goto out;
	}
	if ((rc = restore_read_list(&j, err)) != ABK_OK)
		goto out;
	j.prog.files_total = j.n;
	j.prog.phase = ABK_PHASE_TRANSFER;

	if (opts->zip_file != NULL) {
		snprintf(res->target, sizeof(res->target), "%s", opts->zip_file);
		rc = zipio_writer_open_file(opts->zip_file, &j.zw, err);
	} else {
		if (opts->to != NULL) {
			snprintf(res->target, sizeof(res->target), "%s", opts->to);
		} else if (single) {
			char *slash = strrchr(origin, '/');

			snprintf(res->target, sizeof(res->target), "%.*s",
			    slash == origin ? 1 : (int)(slash - origin), origin);
		} else {
			snprintf(res->target, sizeof(res->target), "%s", origin);
		}
		j.rootfd = restore_open_target(res->target, err);
		rc = j.rootfd < 0 ? j.rootfd : ABK_OK;
		if (rc == ABK_OK)
			fsops_dircache_init(&j.dc, j.rootfd, 1);
	}
	if (rc != ABK_OK)
		goto out;
	for (size_t i = 0; i < j.n && rc == ABK_OK; i++) {
		rc = restore_entry_now(&j, &j.v[i], err);
		if (rc != ABK_OK && rc != ABK_E_NOMEM && j.zw == NULL) {
			/* one entry that cannot be made is reported, not fatal */
			restore_note(&j, j.v[i].path, err->msg);
			abk_err_clear(err);
			rc = ABK_OK;
		}
	}
	restore_progress(&j, 1);
	if (rc == ABK_OK)
		rc = restore_receive(&j, err);
	if (rc == ABK_OK && j.zw == NULL) {
		if (opts->delete_extra)
			rc = restore_delete_extra(&j, err);
		restore_finish_dirs(&j);
	}
	if (rc == ABK_OK && j.zw != NULL)
		rc = zipio_writer_finish(j.zw, NULL, NULL, err);
	if (rc == ABK_OK) {
		j.prog.phase = ABK_PHASE_DONE;
		restore_progress(&j, 1);
	}
out:
	restore_drop_current(&j);
	if (j.zw != NULL) {
		zipio_writer_free(j.zw);
		if (rc != ABK_OK)
			(void)unlink(opts->zip_file);
	}
	if (j.rootfd >= 0) {
		fsops_dircache_reset(&j.dc);
		close(j.rootfd);
	}
	arena_free(&j.arena);
	free(j.v);
	return rc;
}
