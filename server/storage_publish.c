/*
 * storage_publish.c - committing a push: check that every needed file arrived,
 * remove from staging what the new list no longer holds, build the rest of
 * the tree (directories, symlinks, empty files, hard links to the previous
 * snapshot, or copies when a link is impossible), re-check files resumed
 * from an interrupted push, set modes and times (directories last, deepest
 * first), write the manifest, make it all durable with one syncfs, rename
 * the staging folder to the new snapshot ID and apply retention.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "storage_push_int.h"

static int
type_matches(uint8_t type, mode_t m)
{
	return (type == MF_DIR && S_ISDIR(m)) || (type == MF_FILE && S_ISREG(m)) ||
	    (type == MF_SYMLINK && S_ISLNK(m));
}

/* Remove from staging everything the new list does not hold (or holds as another type). */
static int
remove_extras(struct storage_push *p, int dirfd, char *path, size_t plen, abk_err *err)
{
	char **names = NULL;
	size_t count = 0;
	int rc;

	rc = fsops_list_names(dirfd, &names, &count, err);
	if (rc != ABK_OK)
		return rc;
	for (size_t i = 0; i < count && rc == ABK_OK; i++) {
		size_t nlen = strlen(names[i]), clen = plen ? plen + 1 + nlen : nlen;
		mode_t mode = fsops_name_mode(names[i]);
		struct stat st;
		uint32_t idx;
		int keep = 0, fd;

		if (mode == 0) {	/* the filesystem did not say: ask */
			if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
				if (errno == ENOENT)
					continue;
				rc = abk_err_set(err, ABK_E_IO, "stat in staging: %s",
				    strerror(errno));
				break;
			}
			mode = st.st_mode;
		}
		if (clen <= ABK_PATH_MAX) {
			if (plen)
				path[plen] = '/';
			memcpy(path + (plen ? plen + 1 : 0), names[i], nlen);
			keep = pathtab_find(&p->tab, path, clen, &idx) &&
			    type_matches(p->ents[idx].type, mode);
		}
		if (!keep) {
			rc = fsops_remove(dirfd, names[i], NULL, err);
		} else if (S_ISDIR(mode)) {
			fd = fsops_open_dir(dirfd, names[i], 0, err);
			if (fd < 0) {
				rc = fd;
				break;
			}
			rc = remove_extras(p, fd, path, clen, err);
			close(fd);
		}
	}
	fsops_names_free(names, count);
	return rc;
}

#define UNSHARE_TMP "unshare.tmp"	/* in the staging folder, beside "tree" */

/* Replace the staged name by a private copy of its content; returns an fd on
 * the copy (for fchmod/futimens) or a negative code. */
static int
unshare_staged(struct storage_push *p, int dfd, const char *name, abk_err *err)
{
	int rc, fd;

	rc = fsops_copy_file(dfd, name, p->stagefd, UNSHARE_TMP, err);
	if (rc != ABK_OK)
		return rc;
	if (renameat(p->stagefd, UNSHARE_TMP, dfd, name) != 0) {
		rc = abk_err_set(err, ABK_E_IO, "replace a shared staged file: %s",
		    strerror(errno));
		unlinkat(p->stagefd, UNSHARE_TMP, 0);
		return rc;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return abk_err_set(err, ABK_E_IO, "reopen a staged file: %s", strerror(errno));
	return fd;
}

static int
check_resumed(struct storage_push *p, struct push_ent *pe, int dfd, const char *name,
    abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	struct timespec ts[2];
	struct stat st;
	uint32_t crc = (uint32_t)crc32(0, Z_NULL, 0), before;
	uint64_t off = 0;
	uint8_t *buf = NULL;
	int fd, rc = ABK_OK;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return abk_err_set(err, ABK_E_IO, "open staged \"%s\": %s",
		    push_quote(pe, q, sizeof(q)), strerror(errno));
	buf = malloc(READ_BUF);
	if (buf == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory checking staged files");
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != pe->size)
		goto damaged;
	for (;;) {
		ssize_t n = read(fd, buf, READ_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = abk_err_set(err, ABK_E_IO, "read staged \"%s\": %s",
			    push_quote(pe, q, sizeof(q)), strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		before = crc;
		crc = storage_crc32(crc, buf, (size_t)n);
		/* the same pass fills the piece cache's record of it */
		push_pieces_feed(p, pe, off, buf, (uint64_t)n, NULL, before, crc);
		off += (uint64_t)n;
	}
	if (crc != pe->crc)
		goto damaged;
	push_mtime(pe, ts);
	if (st.st_nlink > 1) {
		/* Staged files are created with one link; another one means an
		 * interrupted commit linked a published snapshot's inode here.
		 * Its mode and time are that snapshot's: never change them. */
		if ((st.st_mode & 07777) == push_file_mode(pe->mode) &&
		    st.st_mtim.tv_sec == ts[1].tv_sec && st.st_mtim.tv_nsec == ts[1].tv_nsec)
			goto out;	/* already right: share it, as an unchanged file */
		close(fd);
		fd = unshare_staged(p, dfd, name, err);
		if (fd < 0) {
			rc = fd;
			goto out;
		}
	}
	if (fchmod(fd, push_file_mode(pe->mode)) != 0 || futimens(fd, ts) != 0)
		rc = abk_err_set(err, ABK_E_IO, "set mode and time of \"%s\": %s",
		    push_quote(pe, q, sizeof(q)), strerror(errno));
	else
		push_pieces_done(p, pe, fd);
	p->bytes_stored += pe->size;
	goto out;
damaged:
	/* Kept from an interrupted push but not intact: forget it so the
	 * next push sends it again. */
	push_journal_append(p, pe, JOURNAL_WITHDRAWN, NULL);
	rc = abk_err_set(err, ABK_E_INTEGRITY,
	    "\"%s\", kept from an interrupted push, is damaged; push again",
	    push_quote(pe, q, sizeof(q)));
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
build_entry(struct storage_push *p, struct push_ent *pe, abk_err *err)
{
	char name[ABK_NAME_MAX + 1], q[FSOPS_QUOTE_MAX];
	struct timespec ts[2];
	struct stat st;
	int dfd, pdfd, fd, rc, have_st;

	rc = fsops_dircache_parent(&p->sdc, pe->path, pe->path_len, &dfd, name, err);
	if (rc != ABK_OK)
		return rc;
	push_mtime(pe, ts);
	switch (pe->state) {
	case ST_DIR:
		if (mkdirat(dfd, name, 0700) == 0)
			return ABK_OK;
		if (errno == EEXIST && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			return ABK_OK;
		fd = fsops_open_dir(dfd, name, 1, err);	/* replaces a non-directory */
		if (fd < 0)
			return fd;
		close(fd);
		return ABK_OK;
	case ST_SYMLINK:
		rc = fsops_remove(dfd, name, NULL, err);
		if (rc != ABK_OK)
			return rc;
		if (symlinkat(push_target(pe), dfd, name) != 0 ||
		    utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
			return abk_err_set(err, ABK_E_IO, "symlink \"%s\" in staging: %s",
			    push_quote(pe, q, sizeof(q)), strerror(errno));
		return ABK_OK;
	case ST_EMPTY:
		fd = fsops_create_file(dfd, name, err);
		if (fd < 0)
			return fd;
		rc = (fchmod(fd, push_file_mode(pe->mode)) != 0 || futimens(fd, ts) != 0) ?
		    abk_err_set(err, ABK_E_IO, "set mode and time of \"%s\": %s",
		    push_quote(pe, q, sizeof(q)), strerror(errno)) : ABK_OK;
		close(fd);
		return rc;
	case ST_DONE:
		return ABK_OK;	/* mode and time set when it completed */
	case ST_RESUMED:
		return check_resumed(p, pe, dfd, name, err);
	case ST_LINK:
		rc = fsops_dircache_parent(&p->pdc, pe->path, pe->path_len, &pdfd, name, err);
		if (rc == ABK_OK)
			rc = fsops_remove(dfd, name, NULL, err);
		if (rc != ABK_OK)
			return rc;
		/* a link changes the inode's ctime: the piece cache's key is
		 * checked just before and read again just after */
		have_st = pe->size > PROTO_PIECE && fstatat(pdfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (linkat(pdfd, name, dfd, name, 0) == 0) {
			if (have_st)
				push_pieces_linked(p, pe, &st, dfd, name);
			return ABK_OK;
		}
		if (errno != EMLINK && errno != EXDEV)
			return abk_err_set(err, ABK_E_IO, "hard link \"%s\" from the previous snapshot: %s",
			    push_quote(pe, q, sizeof(q)), strerror(errno));
		/* Too many links (or another file system): copy instead. */
		rc = fsops_copy_file(pdfd, name, dfd, name, err);
		if (rc != ABK_OK)
			return rc;
		if (fchmodat(dfd, name, push_file_mode(pe->mode), 0) != 0 ||
		    utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
			return abk_err_set(err, ABK_E_IO, "set mode and time of \"%s\": %s",
			    push_quote(pe, q, sizeof(q)), strerror(errno));
		p->bytes_stored += pe->size;
		return ABK_OK;
	default:
		return abk_err_set(err, ABK_E_INTERNAL, "entry in state %d at commit", pe->state);
	}
}

/* Directory modes and times last, deepest first, so nothing changes them after. */
static int
finish_dirs(struct storage_push *p, abk_err *err)
{
	char name[ABK_NAME_MAX + 1], q[FSOPS_QUOTE_MAX];
	struct timespec ts[2];
	int dfd, rc;

	for (size_t i = p->n; i > 0; i--) {
		struct push_ent *pe = &p->ents[i - 1];

		if (pe->state != ST_DIR)
			continue;
		rc = fsops_dircache_parent(&p->sdc, pe->path, pe->path_len, &dfd, name, err);
		if (rc != ABK_OK)
			return rc;
		push_mtime(pe, ts);
		if (fchmodat(dfd, name, push_dir_mode(pe->mode), 0) != 0 ||
		    utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
			return abk_err_set(err, ABK_E_IO, "set mode and time of \"%s\": %s",
			    push_quote(pe, q, sizeof(q)), strerror(errno));
	}
	return ABK_OK;
}

static int
write_manifest(struct storage_push *p, int64_t time_ms, uint64_t *size, abk_err *err)
{
	struct snapfile_header *h;
	struct snapfile_writer w;
	int fd, rc;

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory writing the manifest");
	snprintf(h->origin, sizeof(h->origin), "%s", p->origin);
	h->flags = p->single_file ? SNAPFILE_SINGLE_FILE : 0;
	h->time_ms = time_ms;
	h->entries = p->n;
	for (size_t i = 0; i < p->n; i++)
		if (p->ents[i].type == MF_FILE) {
			h->files++;
			h->bytes += p->ents[i].size;
		}
	fd = fsops_create_file(p->stagefd, STG_MANIFEST, err);
	if (fd < 0) {
		free(h);
		return fd;
	}
	rc = snapfile_write_begin(&w, fd, h, err);
	for (size_t i = 0; rc == ABK_OK && i < p->n; i++) {
		struct manifest_entry e;

		push_ent_entry(&p->ents[i], &e);
		if (e.type == MF_FILE) {
			e.flags |= MF_HAS_CRC;
			e.crc32 = p->ents[i].crc;
		} else
			e.flags &= (uint8_t)~MF_HAS_CRC;
		rc = snapfile_write_entry(&w, &e, err);
	}
	if (rc == ABK_OK)
		rc = snapfile_write_end(&w, err);
	else
		snapfile_writer_free(&w);
	*size = w.size;
	if (close(fd) != 0 && rc == ABK_OK)
		rc = abk_err_set(err, ABK_E_IO, "close manifest: %s", strerror(errno));
	free(h);
	return rc;
}

/*
 * TEST ONLY: AUTOBACKUPD_TEST_CRASH_AT=STEP makes the server _exit(99) at
 * that step of publishing, as a power loss there would stop it
 * (tests/integration/publish_crash.test; doc/ARCHITECTURE.md).  The steps,
 * in order: tree-built, manifest-written, staging-synced, journal-removed,
 * renamed, published (source folder synced, usage counted), retained.
 * Read once, at the first commit; unset or empty: never.  Not for production.
 */
static const char *crash_step;
static pthread_once_t crash_once = PTHREAD_ONCE_INIT;

static void
crash_read(void)
{
	const char *v = getenv("AUTOBACKUPD_TEST_CRASH_AT");

	crash_step = (v != NULL && *v != '\0') ? v : NULL;
}

static void
crash_point(const char *step)
{
	(void)pthread_once(&crash_once, crash_read);
	if (crash_step != NULL && strcmp(crash_step, step) == 0)
		_exit(99);
}

/*
 * TEST ONLY: AUTOBACKUPD_TEST_CLOCK names a file holding a UTC time as Unix
 * seconds; each publication takes its ID from it instead of the clock, so a
 * test can push through a simulated month in seconds (doc/autobackupd.8,
 * ENVIRONMENT).  Unset, empty or unreadable: the real clock.
 */
static int64_t
test_clock_ms(int64_t real_ms)
{
	const char *f = getenv("AUTOBACKUPD_TEST_CLOCK");
	char buf[32];
	long long secs;
	FILE *fp;
	char *end;

	if (f == NULL || *f == '\0' || (fp = fopen(f, "re")) == NULL)
		return real_ms;
	if (fgets(buf, sizeof(buf), fp) == NULL)
		buf[0] = '\0';
	fclose(fp);
	secs = strtoll(buf, &end, 10);
	if (end == buf || secs <= 0)
		return real_ms;
	return (int64_t)secs * 1000;
}

/* A new ID: the server's clock, after the latest existing one. */
static int
choose_id(struct storage_push *p, char id[STORAGE_ID_LEN + 1], int64_t *time_ms,
    abk_err *err)
{
	struct timespec now;
	struct stat st;
	char **ids = NULL;
	size_t nids = 0;
	int64_t ms, last;
	int rc;

	rc = stg_list_ids(p->srcfd, &ids, &nids, err);
	if (rc != ABK_OK)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	ms = test_clock_ms(ms);
	if (nids > 0 && snapfile_id_parse(ids[nids - 1], &last) == ABK_OK && ms <= last)
		ms = last + 1;
	fsops_names_free(ids, nids);
	for (;;) {
		snapfile_id_format(ms, id);
		if (fstatat(p->srcfd, id, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				break;
			return abk_err_set(err, ABK_E_IO, "stat %s: %s", id, strerror(errno));
		}
		ms++;	/* taken (same millisecond): the next one */
	}
	*time_ms = ms;
	return ABK_OK;
}

static void
fill_verdict(struct storage_push *p, struct storage_verdict *v, abk_err *err)
{
	uint8_t *seen = NULL;
	uint64_t seen_n = 0;

	v->entries = p->n;
	if (p->prev.n > 0 && (seen = calloc(p->prev.n, 1)) == NULL)
		abk_err_set(err, ABK_E_NOMEM, "out of memory counting removed entries");
	for (size_t i = 0; i < p->n; i++) {
		const struct push_ent *pe = &p->ents[i];
		const struct manifest_entry *o;
		struct manifest_entry ob;

		if (pe->prev == NO_PREV) {
			v->added++;
			continue;
		}
		if (seen != NULL && !seen[pe->prev]) {
			seen[pe->prev] = 1;
			seen_n++;
		}
		if (pe->kept) {
			v->kept++;
			continue;
		}
		if (pe->state == ST_LINK) {
			/* push_decide_file found type, mode, size and mtime equal */
			v->unchanged++;
			continue;
		}
		snapfile_entry(&p->prev, pe->prev, &ob);
		o = &ob;
		if (o->type == pe->type && o->mode == pe->mode && o->mtime == pe->mtime &&
		    o->size == pe->size &&
		    (pe->type != MF_FILE || pe->state == ST_LINK || pe->size == 0) &&
		    (pe->type != MF_SYMLINK || (o->target_len == pe->target_len &&
		    memcmp(o->target, push_target(pe), pe->target_len) == 0)))
			v->unchanged++;
		else
			v->changed++;
	}
	v->removed = p->prev.n - seen_n;
	v->bytes_received = p->bytes_received;
	v->bytes_stored = p->bytes_stored;
	free(seen);
}

int
storage_push_commit(storage_push *p, int append_only, const struct retention_policy *pol,
    struct storage_verdict *v, abk_err *err)
{
	char id[STORAGE_ID_LEN + 1], *path = NULL;
	struct storage_verdict local;
	struct retention_policy eff;
	abk_err rerr = ABK_ERR_INIT;
	uint64_t msize = 0, pcsize = 0, missing, used;
	int64_t time_ms = 0;
	int lk, rc;

	if (v == NULL)
		v = &local;
	memset(v, 0, sizeof(*v));
	if (p->phase != PH_DATA)
		return abk_err_set(err, ABK_E_PROTO, "commit of a push that is not receiving data");
	/* The user's policy for this source (accounts store, else the server's
	 * default pol), read before anything is published. */
	if (!append_only && ((rc = stg_policy_for(p->u, p->source, pol, &eff, err)) != ABK_OK ||
	    (rc = retention_check(&eff, "retention", err)) != ABK_OK))
		return rc;
	missing = p->counts.needed - p->done;
	if (missing > 0)
		return abk_err_set(err, ABK_E_PROTO, "missing data for %llu file%s",
		    (unsigned long long)missing, missing == 1 ? "" : "s");
	p->phase = PH_FAILED;	/* until it succeeds */
	push_close_current(p);
	fsops_dircache_reset(&p->sdc);

	rc = push_drop_skipped(p, err);
	if (rc != ABK_OK)
		return rc;
	path = malloc(ABK_PATH_MAX + 1);
	if (path == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory at commit");
	rc = remove_extras(p, p->treefd, path, 0, err);
	free(path);
	for (size_t i = 0; rc == ABK_OK && i < p->n; i++)
		rc = build_entry(p, &p->ents[i], err);
	if (rc == ABK_OK)
		rc = finish_dirs(p, err);
	if (rc == ABK_OK) {
		crash_point("tree-built");
		rc = choose_id(p, id, &time_ms, err);
	}
	if (rc == ABK_OK)
		rc = write_manifest(p, time_ms, &msize, err);
	if (rc != ABK_OK)
		return rc;
	pcsize = push_pieces_commit(p);	/* synced and published with the rest */
	crash_point("manifest-written");

	/* One syncfs, then publish (doc/ARCHITECTURE.md, measured facts). */
#ifdef HAVE_SYNCFS
	if (syncfs(p->stagefd) != 0)
		return abk_err_set(err, ABK_E_IO, "syncfs: %s", strerror(errno));
#else
	sync();
#endif
	crash_point("staging-synced");
	if (unlinkat(p->stagefd, STG_JOURNAL, 0) != 0 && errno != ENOENT)
		return abk_err_set(err, ABK_E_IO, "remove staging journal: %s", strerror(errno));
	abk_buf_reset(&p->jbuf);	/* nothing more goes to the removed journal */
	crash_point("journal-removed");
	lk = stg_usage_lock(p->u, err);
	if (lk < 0)
		return lk;
	rc = stg_usage_get_locked(p->u, lk, &used, err);	/* make the cache valid first */
	/* The cache is dropped across the rename: a crash between the rename and
	 * the new figure leaves no cache (the next reader walks) rather than one
	 * that misses the new snapshot (publish_crash.test, step "renamed"). */
	if (rc == ABK_OK)
		rc = stg_usage_invalidate_locked(lk, err);
	if (rc == ABK_OK && renameat(p->srcfd, STG_STAGING, p->srcfd, id) != 0) {
		rc = abk_err_set(err, ABK_E_IO, "publish snapshot %s: %s", id, strerror(errno));
		(void)stg_usage_set_locked(lk, used, &rerr);	/* nothing published */
	}
	if (rc == ABK_OK)
		crash_point("renamed");
	if (rc == ABK_OK && fsync(p->srcfd) != 0)
		rc = abk_err_set(err, ABK_E_IO, "fsync source folder: %s", strerror(errno));
	if (rc == ABK_OK)
		rc = stg_usage_set_locked(lk, used + p->bytes_stored + msize + pcsize, err);
	stg_usage_unlock(lk);
	if (rc != ABK_OK)
		return rc;

	crash_point("published");
	memcpy(v->id, id, sizeof(v->id));
	fill_verdict(p, v, err);
	if (!append_only) {
		rc = stg_retain(p->u, p->srcfd, &eff, &v->pruned, &rerr);
		if (rc != ABK_OK)
			rc = abk_err_set(err, rc, "snapshot %s was published, but removing old "
			    "snapshots failed: %s", id, rerr.msg);
	}
	if (rc == ABK_OK)
		crash_point("retained");
	push_release(p);
	return rc;
}
