/*
 * storage_push.c - receiving a push into SOURCE/.staging: begin (lock, previous
 * manifest, journal), the file list (what is needed), the data, abort.
 *
 * The session gives us the client's file list one entry at a time; we answer
 * which files need data (storage_push_prev.c decides: the others are
 * hard-linked from the previous snapshot at commit, or are already complete
 * in staging from an interrupted push), then receive the data chunk by chunk straight to disk
 * with a running CRC-32 and note every completed file in the journal
 * (storage_journal.c).  storage_publish.c turns the staging folder into a snapshot.  Memory
 * is a few hundred bytes per entry; no file content is held.
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

#include "storage_push_int.h"
#include "strutil.h"

static const char *
ent_key(void *ctx, uint32_t idx, size_t *len)
{
	struct storage_push *p = ctx;

	*len = p->ents[idx].path_len;
	return p->ents[idx].path;
}

/* ---- begin ---------------------------------------------------------------------- */

int
storage_push_begin(storage_user *u, const char *source, const char *origin,
    int checksum_mode, storage_push **out, abk_err *err)
{
	storage_push *p;
	int rc;

	*out = NULL;
	rc = storage_check_source_name(source, err);
	if (rc != ABK_OK)
		return rc;
	if (origin == NULL || origin[0] == '\0' || strlen(origin) > ABK_PATH_MAX)
		return abk_err_set(err, ABK_E_USAGE, "origin path is empty or too long");
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory starting a push");
	p->lockfd = p->srcfd = p->stagefd = p->treefd = p->jfd = -1;
	p->prevfd = p->prevtree = p->cur_fd = -1;
	p->pc_prevfd = p->pc_stagefd = -1;
	p->pcf.index = NO_PREV;
	abk_buf_init(&p->jbuf, JOURNAL_BUF_MAX);
	p->u = u;
	p->checksum_mode = checksum_mode;
	p->max_entries = STORAGE_MAX_ENTRIES;
	p->phase = PH_LIST;
	p->source = strdup(source);
	p->origin = strdup(origin);
	if (p->source == NULL || p->origin == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory starting a push");
		goto fail;
	}
	p->srcfd = stg_open_source(u, source, 1, err);
	if (p->srcfd < 0) {
		rc = p->srcfd;
		goto fail;
	}
	p->lockfd = stg_lock_source(p->srcfd, source, err);
	if (p->lockfd < 0) {
		rc = p->lockfd;
		goto fail;
	}
	rc = push_load_previous(p, err);
	if (rc != ABK_OK)
		goto fail;
	p->stagefd = fsops_open_dir(p->srcfd, STG_STAGING, 1, err);
	if (p->stagefd < 0) {
		rc = p->stagefd;
		goto fail;
	}
	p->treefd = fsops_open_dir(p->stagefd, STG_TREE, 1, err);
	if (p->treefd < 0) {
		rc = p->treefd;
		goto fail;
	}
	fsops_dircache_init(&p->sdc, p->treefd, 1);
	rc = pathtab_init(&p->tab, 1024, ent_key, p, err);
	if (rc == ABK_OK)
		rc = push_journal_load(p, err);
	if (rc != ABK_OK)
		goto fail;
	*out = p;
	return ABK_OK;
fail:
	storage_push_free(p);
	return rc;
}

void
storage_push_set_max_entries(storage_push *p, uint64_t max)
{
	if (p->n == 0 && max < p->max_entries)
		p->max_entries = max;
}

/* ---- the file list ------------------------------------------------------------- */

static int
check_entry(const struct manifest_entry *e, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	enum pathsafe_verdict v;
	unsigned depth = 1;

	v = pathsafe_check(e->path, e->path_len);
	if (v != PATHSAFE_OK)
		return abk_err_set(err, ABK_E_PATH, "refused entry name \"%s\": %s",
		    entry_quote(e, q, sizeof(q)), pathsafe_reason(v));
	for (size_t i = 0; i < e->path_len; i++)
		depth += e->path[i] == '/';
	if (depth > STORAGE_MAX_DEPTH)
		return abk_err_set(err, ABK_E_LIMIT, "\"%s\" is deeper than %d directories",
		    entry_quote(e, q, sizeof(q)), STORAGE_MAX_DEPTH);
	if (e->mode & ~MF_MODE_MASK)
		return abk_err_set(err, ABK_E_PROTO, "\"%s\" has an invalid mode",
		    entry_quote(e, q, sizeof(q)));
	switch (e->type) {
	case MF_DIR:
		if (e->size != 0)
			return abk_err_set(err, ABK_E_PROTO, "directory \"%s\" has a size",
			    entry_quote(e, q, sizeof(q)));
		break;
	case MF_SYMLINK:
		if (e->target == NULL || e->target_len == 0 || e->target_len > MF_TARGET_MAX ||
		    e->size != e->target_len || memchr(e->target, '\0', e->target_len) != NULL)
			return abk_err_set(err, ABK_E_PROTO, "symlink \"%s\" has a bad target",
			    entry_quote(e, q, sizeof(q)));
		break;
	case MF_FILE:
		if (e->size > INT64_MAX)
			return abk_err_set(err, ABK_E_LIMIT, "\"%s\" is too large",
			    entry_quote(e, q, sizeof(q)));
		break;
	default:
		return abk_err_set(err, ABK_E_PROTO, "\"%s\" has unknown type %u",
		    entry_quote(e, q, sizeof(q)), e->type);
	}
	return ABK_OK;
}

int
storage_push_entry(storage_push *p, const struct manifest_entry *e, int *needed,
    abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	struct push_ent *pe;
	const char *slash;
	uint32_t idx;
	int rc;

	*needed = 0;
	if (p->phase != PH_LIST)
		return abk_err_set(err, ABK_E_PROTO, "file-list entry after the list ended");
	if (p->n >= p->max_entries)
		return abk_err_set(err, ABK_E_LIMIT, "the file list has more than %llu entries",
		    (unsigned long long)p->max_entries);
	rc = check_entry(e, err);
	if (rc != ABK_OK)
		return rc;
	slash = NULL;
	for (size_t i = e->path_len; i > 0 && slash == NULL; i--)
		if (e->path[i - 1] == '/')
			slash = e->path + i - 1;
	if (slash != NULL) {
		if (!pathtab_find(&p->tab, e->path, (size_t)(slash - e->path), &idx))
			return abk_err_set(err, ABK_E_PROTO,
			    "\"%s\" is listed before its parent directory, or without it",
			    entry_quote(e, q, sizeof(q)));
		if (p->ents[idx].type != MF_DIR)
			return abk_err_set(err, ABK_E_PROTO, "the parent of \"%s\" is not a directory",
			    entry_quote(e, q, sizeof(q)));
	}
	if (e->type == MF_FILE && p->counts.total_bytes > UINT64_MAX - e->size)
		return abk_err_set(err, ABK_E_LIMIT, "the declared total size is too large");
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 1024;
		struct push_ent *ne = realloc(p->ents, ncap * sizeof(*ne));

		if (ne == NULL)
			return abk_err_set(err, ABK_E_NOMEM, "out of memory for the file list");
		p->ents = ne;
		p->cap = ncap;
	}
	pe = &p->ents[p->n];
	memset(pe, 0, sizeof(*pe));
	if (push_ent_set(p, pe, e, NULL) != ABK_OK)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory for the file list");
	rc = pathtab_insert(&p->tab, pe->path, pe->path_len, (uint32_t)p->n, NULL);
	if (rc < 0)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory for the file list");
	if (rc > 0)
		return abk_err_set(err, ABK_E_PROTO, "\"%s\" is listed twice",
		    entry_quote(e, q, sizeof(q)));
	pe->prev = NO_PREV;
	if (p->prevtree >= 0 && pathtab_find(&p->prevtab, e->path, e->path_len, &idx))
		pe->prev = idx;
	switch (e->type) {
	case MF_DIR:
		pe->state = ST_DIR;
		break;
	case MF_SYMLINK:
		pe->state = ST_SYMLINK;
		break;
	default:
		p->counts.total_bytes += e->size;
		if (e->size == 0) {
			pe->state = ST_EMPTY;
			pe->crc = (uint32_t)crc32(0, Z_NULL, 0);
		} else
			push_decide_file(p, pe);
	}
	p->n++;
	p->counts.entries++;
	*needed = pe->state == ST_NEED;
	return ABK_OK;
}

/* The list's memory at 1,000,000 files (storage_push_int.h). */
_Static_assert(sizeof(struct push_ent) <= 96, "struct push_ent grew");

int
push_ent_set(struct storage_push *p, struct push_ent *pe, const struct manifest_entry *e,
    const char *path)
{
	uint8_t x[ABK_SHA256_LEN + MF_TARGET_MAX];
	size_t xlen = 0;

	pe->path = path != NULL ? path : arena_dup(&p->arena, e->path, e->path_len);
	if (pe->path == NULL)
		return ABK_E_NOMEM;
	pe->path_len = (uint32_t)e->path_len;	/* <= ABK_PATH_MAX (decoded) */
	pe->type = e->type;
	pe->mode = (uint16_t)(e->mode & MF_MODE_MASK);
	pe->mtime = e->mtime;
	pe->size = e->size;
	pe->flags = e->flags;
	pe->crc32 = e->crc32;
	pe->mtime_nsec = e->mtime_nsec;
	pe->ctime = e->ctime;
	pe->ctime_nsec = e->ctime_nsec;
	pe->inode = e->inode;
	pe->target_len = 0;
	pe->x = NULL;
	if (e->flags & MF_HAS_SHA256) {
		memcpy(x, e->sha256, ABK_SHA256_LEN);
		xlen = ABK_SHA256_LEN;
	}
	if (e->type == MF_SYMLINK) {
		size_t tl = e->target_len > MF_TARGET_MAX ? MF_TARGET_MAX : e->target_len;

		memcpy(x + xlen, e->target, tl);	/* <= MF_TARGET_MAX (decoded) */
		xlen += tl;
		pe->target_len = (uint16_t)tl;
	}
	if (xlen > 0 || e->type == MF_SYMLINK) {
		pe->x = (uint8_t *)arena_dup(&p->arena, (const char *)x, xlen);
		if (pe->x == NULL)
			return ABK_E_NOMEM;
	}
	return ABK_OK;
}

int
push_ent_set_sha(struct storage_push *p, struct push_ent *pe, const uint8_t *sha)
{
	if (pe->flags & MF_HAS_SHA256) {
		memcpy(pe->x, sha, ABK_SHA256_LEN);
		return ABK_OK;
	}
	if (pe->type != MF_FILE)
		return ABK_E_INTERNAL;	/* only files gain one */
	pe->x = (uint8_t *)arena_dup(&p->arena, (const char *)sha, ABK_SHA256_LEN);
	if (pe->x == NULL)
		return ABK_E_NOMEM;
	pe->flags |= MF_HAS_SHA256;
	return ABK_OK;
}

void
push_ent_entry(const struct push_ent *pe, struct manifest_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->path = pe->path;
	e->path_len = pe->path_len;
	e->type = pe->type;
	e->mode = pe->mode;
	e->mtime = pe->mtime;
	e->size = pe->size;
	e->flags = pe->flags;
	e->crc32 = pe->crc32;
	if (pe->flags & MF_HAS_SHA256)
		memcpy(e->sha256, push_sha(pe), ABK_SHA256_LEN);
	e->mtime_nsec = pe->mtime_nsec;
	e->ctime = pe->ctime;
	e->ctime_nsec = pe->ctime_nsec;
	e->inode = pe->inode;
	if (pe->type == MF_SYMLINK) {
		e->target = push_target(pe);
		e->target_len = pe->target_len;
	}
}

void
storage_push_get_counts(const storage_push *p, struct storage_push_counts *c)
{
	*c = p->counts;
}

int
storage_push_get_entry(const storage_push *p, uint32_t index, struct manifest_entry *e)
{
	if (index >= p->n)
		return -1;
	push_ent_entry(&p->ents[index], e);
	return 0;
}

int
storage_push_plan(storage_push *p, uint64_t quota_bytes, abk_err *err)
{
	uint64_t used = 0;
	int lk, rc;

	if (p->phase != PH_LIST)
		return abk_err_set(err, ABK_E_PROTO, "the file list was already ended");
	if (quota_bytes > 0) {
		lk = stg_usage_lock(p->u, err);
		if (lk < 0)
			return lk;
		rc = stg_usage_get_locked(p->u, lk, &used, err);
		stg_usage_unlock(lk);
		if (rc != ABK_OK)
			return rc;
		if (used > quota_bytes || p->counts.needed_bytes > quota_bytes - used) {
			p->phase = PH_FAILED;
			char nd[32], fr[32], q[32];

			return abk_err_set(err, ABK_E_QUOTA, "quota exceeded: the push needs %s "
			    "more; %s of %s free",
			    abk_format_size(p->counts.needed_bytes, nd, sizeof(nd)),
			    abk_format_size(used < quota_bytes ? quota_bytes - used : 0, fr, sizeof(fr)),
			    abk_format_size(quota_bytes, q, sizeof(q)));
		}
	}
	p->phase = PH_DATA;
	return ABK_OK;
}

/* ---- data ------------------------------------------------------------------------ */

void
push_close_current(struct storage_push *p)
{
	if (p->cur_fd >= 0)
		close(p->cur_fd);
	p->cur_fd = -1;
	p->cur_sha_ok = 0;
}

static int
data_target(struct storage_push *p, uint32_t index, struct push_ent **out, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	struct push_ent *pe;

	if (p->phase != PH_DATA)
		return abk_err_set(err, ABK_E_PROTO, "file data outside the data phase of a push");
	if (index >= p->n)
		return abk_err_set(err, ABK_E_PROTO, "file data for entry %u, the list has %zu",
		    index, p->n);
	pe = &p->ents[index];
	if (pe->state == ST_DONE)
		return abk_err_set(err, ABK_E_PROTO, "more data for \"%s\" after it was complete",
		    push_quote(pe, q, sizeof(q)));
	if (pe->state != ST_NEED)
		return abk_err_set(err, ABK_E_PROTO, "data for \"%s\", which was not requested",
		    push_quote(pe, q, sizeof(q)));
	*out = pe;
	return ABK_OK;
}

static int
open_current(struct storage_push *p, uint32_t index, abk_err *err)
{
	char name[ABK_NAME_MAX + 1], q[FSOPS_QUOTE_MAX];
	struct push_ent *pe = &p->ents[index];
	uint32_t j;
	int dfd, rc;

	push_close_current(p);
	rc = fsops_dircache_parent(&p->sdc, pe->path, pe->path_len, &dfd, name, err);
	if (rc != ABK_OK)
		return rc;
	if (pe->written == 0) {
		p->part_at = 0;
		p->part_crc = (uint32_t)crc32(0, Z_NULL, 0);
		p->part_synced = 0;
		if (pe->staged > 0) {
			/* A verified prefix from an interrupted push: written in
			 * place, its pieces kept (storage_push_file_keep). */
			struct stat st;

			p->cur_fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			if (p->cur_fd >= 0 && fstat(p->cur_fd, &st) == 0 && S_ISREG(st.st_mode) &&
			    st.st_nlink == 1 && (uint64_t)st.st_size >= pe->staged) {
				p->part_synced = pe->staged;
				p->cur_zero_from = (uint64_t)st.st_size;
				p->cur_sparse = 1;	/* its end may be a hole */
			} else {
				if (p->cur_fd >= 0)
					close(p->cur_fd);
				p->cur_fd = -1;
				pe->staged = 0;	/* a kept piece will be refused */
			}
		}
		/* An older journal record for this path no longer holds. */
		if (p->cur_fd < 0 && pathtab_find(&p->jtab, pe->path, pe->path_len, &j) &&
		    (p->jr[j].complete || p->jr[j].part_len > 0)) {
			rc = push_journal_append(p, pe, JOURNAL_WITHDRAWN, err);
			if (rc != ABK_OK)
				return rc;
		}
		if (p->cur_fd < 0) {
			p->cur_fd = fsops_create_file(dfd, name, err);
			p->cur_zero_from = 0;
			p->cur_sparse = 0;
		}
		if (p->cur_fd < 0)
			return p->cur_fd;
		if (pe->flags & MF_HAS_SHA256) {
			rc = abk_sha256_init(&p->sha);
			if (rc != ABK_OK)
				return abk_err_set(err, ABK_E_CRYPTO, "SHA-256 init failed");
			p->cur_sha_ok = 1;
		}
	} else {
		p->cur_fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (p->cur_fd < 0)
			return abk_err_set(err, ABK_E_IO, "reopen \"%s\" in staging: %s",
			    push_quote(pe, q, sizeof(q)), strerror(errno));
		/* what was written before may end in a hole: zeros only past its end */
		{
			struct stat st;

			p->cur_zero_from = fstat(p->cur_fd, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
		}
		p->cur_sparse = 1;
	}
	p->cur = index;
	return ABK_OK;
}

/* The checks every piece of file data passes, then the file opened at it. */
static int
data_begin(struct storage_push *p, uint32_t index, uint64_t offset, uint64_t len,
    struct push_ent **out, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	struct push_ent *pe;
	int rc;

	rc = data_target(p, index, &pe, err);
	if (rc != ABK_OK)
		return rc;
	if (offset != pe->written)
		return abk_err_set(err, ABK_E_PROTO, "data for \"%s\" at offset %llu, expected %llu",
		    push_quote(pe, q, sizeof(q)), (unsigned long long)offset,
		    (unsigned long long)pe->written);
	if (len > pe->size - pe->written)
		return abk_err_set(err, ABK_E_LIMIT,
		    "\"%s\" is larger than the %llu bytes declared in the file list",
		    push_quote(pe, q, sizeof(q)), (unsigned long long)pe->size);
	if (p->cur_fd < 0 || p->cur != index) {
		rc = open_current(p, index, err);
		if (rc != ABK_OK)
			return rc;
	}
	*out = pe;
	return ABK_OK;
}

static int
data_pwrite(struct storage_push *p, const struct push_ent *pe, const uint8_t *d, size_t left,
    uint64_t at, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];

	/* blocks of zeros stay holes: a sparse disk image is stored sparse */
	if (fsops_pwrite_sparse(p->cur_fd, d, left, at, p->cur_zero_from, &p->cur_sparse) != 0)
		return abk_err_set(err, ABK_E_IO, "write \"%s\" in staging: %s",
		    push_quote(pe, q, sizeof(q)), strerror(errno));
	return ABK_OK;
}

static int
file_write(struct storage_push *p, uint32_t index, uint64_t offset, const void *data,
    size_t len, const uint32_t *known_crc, abk_err *err)
{
	struct push_ent *pe;
	uint32_t before;
	int rc;

	rc = data_begin(p, index, offset, len, &pe, err);
	if (rc == ABK_OK)
		rc = push_part_overwrite(p, pe, offset, err);
	if (rc == ABK_OK)
		rc = data_pwrite(p, pe, data, len, offset, err);
	if (rc != ABK_OK)
		return rc;
	before = pe->crc;
	if (known_crc != NULL)
		pe->crc = (uint32_t)crc32_combine(pe->crc, *known_crc, (z_off_t)len);
	else
		pe->crc = storage_crc32(pe->crc, data, len);
	push_pieces_feed(p, pe, offset, data, len, NULL, before, pe->crc);
	if (p->cur_sha_ok && abk_sha256_update(&p->sha, data, len) != ABK_OK)
		p->cur_sha_ok = 0;
	pe->written += len;
	p->bytes_received += len;
	push_part_advance(p, pe);
	return ABK_OK;
}

int
storage_push_file_keep(storage_push *p, uint32_t index, uint64_t offset, uint64_t len,
    uint32_t crc, const uint8_t *hash, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	struct push_ent *pe;
	uint32_t before;
	int rc;

	rc = data_begin(p, index, offset, len, &pe, err);
	if (rc != ABK_OK)
		return rc;
	if (offset % PROTO_PIECE != 0 || offset + len > pe->staged)
		return abk_err_set(err, ABK_E_INTEGRITY, "\"%s\": the piece at %llu kept from an "
		    "interrupted push is gone; push again", push_quote(pe, q, sizeof(q)),
		    (unsigned long long)offset);
	/* the bytes are in place, verified against the journal when offered */
	before = pe->crc;
	pe->crc = (uint32_t)crc32_combine(pe->crc, crc, (z_off_t)len);
	push_pieces_feed(p, pe, offset, NULL, len, hash, before, pe->crc);
	p->cur_sha_ok = 0;	/* --checksum: file_done hashes the staged file */
	pe->written += len;
	push_part_advance(p, pe);
	return ABK_OK;
}

int
storage_push_file_write(storage_push *p, uint32_t index, uint64_t offset,
    const void *data, size_t len, abk_err *err)
{
	return file_write(p, index, offset, data, len, NULL, err);
}

int
storage_push_file_write_crc(storage_push *p, uint32_t index, uint64_t offset,
    const void *data, size_t len, uint32_t crc, abk_err *err)
{
	return file_write(p, index, offset, data, len, &crc, err);
}

/* Copy through memory, as data from the client is written (CRC, SHA-256). */
static int
copy_by_hand(struct storage_push *p, uint32_t index, int src_fd, uint64_t src_off,
    uint64_t at, uint64_t left, abk_err *err)
{
	uint8_t *buf = malloc(READ_BUF);
	int rc = ABK_OK;

	if (buf == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	while (rc == ABK_OK && left > 0) {
		size_t want = left > READ_BUF ? READ_BUF : (size_t)left;
		ssize_t n = pread(src_fd, buf, want, (off_t)src_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = abk_err_set(err, ABK_E_IO, "reading the previous version: %s",
			    n < 0 ? strerror(errno) : "it shrank");
			break;
		}
		rc = file_write(p, index, at, buf, (size_t)n, NULL, err);
		src_off += (uint64_t)n;
		at += (uint64_t)n;
		left -= (uint64_t)n;
	}
	free(buf);
	return rc;
}

/* The whole range in the kernel: 1 done, 0 this filesystem pair cannot
 * (nothing counted yet: copy by hand from the start), < 0 an error.
 * On XFS (reflink=1) and btrfs copy_file_range shares the blocks (a
 * reflink: pieces are 4 MiB-aligned, so every whole piece qualifies; the
 * short last one is copied), elsewhere it copies in the kernel: measured in
 * README, "Big files".  No FICLONERANGE of our own is needed. */
static int
copy_in_kernel(struct storage_push *p, const struct push_ent *pe, int src_fd, uint64_t src_off,
    uint64_t at, uint64_t len, abk_err *err)
{
#ifdef HAVE_COPY_FILE_RANGE
	char q[FSOPS_QUOTE_MAX];
	uint64_t done = 0;

	while (done < len) {
		off_t in = (off_t)(src_off + done), out = (off_t)(at + done);
		uint64_t want = len - done;
		ssize_t n;

		/* Holes of the previous version stay holes where the new file
		 * reads as zeros already (copy_file_range without reflinks,
		 * e.g. on ext4, would write them out as real zeros). */
		if (at + done >= p->cur_zero_from) {
			off_t data = lseek(src_fd, in, SEEK_DATA);
			uint64_t skip;
			struct stat st;

			/* ENXIO: no data from in to the end (a hole, or past the
			 * end: then copy_file_range below reports that it shrank) */
			if (data < 0 && (errno != ENXIO || fstat(src_fd, &st) != 0 ||
			    (uint64_t)st.st_size < src_off + len))
				data = in;	/* cannot tell: copy it all */
			skip = data < 0 ? len - done : (uint64_t)(data - in);
			if (skip > len - done)
				skip = len - done;
			if (skip >= FSOPS_HOLE_BLOCK) {
				done += skip;
				p->cur_sparse = 1;
				continue;
			}
			if (data >= 0) {
				off_t hole = lseek(src_fd, data, SEEK_HOLE);

				if (hole > in && (uint64_t)(hole - in) < want)
					want = (uint64_t)(hole - in);
			}
		}
		n = copy_file_range(src_fd, &in, p->cur_fd, &out, (size_t)want, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
		    errno == EOPNOTSUPP || errno == EBADF))
			return 0;
		if (n <= 0)
			return abk_err_set(err, ABK_E_IO, "copy into \"%s\" from its previous version: %s",
			    push_quote(pe, q, sizeof(q)), n < 0 ? strerror(errno) : "it shrank");
		done += (uint64_t)n;
	}
	return 1;
#else
	(void)p; (void)pe; (void)src_fd; (void)src_off; (void)at; (void)len; (void)err;
	return 0;
#endif
}

int
storage_push_file_copy(storage_push *p, uint32_t index, uint64_t offset, int src_fd,
    uint64_t src_off, uint64_t len, const uint32_t *crc, const uint8_t *hash, abk_err *err)
{
	struct push_ent *pe;
	int rc;

	rc = data_begin(p, index, offset, len, &pe, err);
	if (rc == ABK_OK)
		rc = push_part_overwrite(p, pe, offset, err);
	if (rc != ABK_OK)
		return rc;
	if (crc != NULL && (rc = copy_in_kernel(p, pe, src_fd, src_off, offset, len, err)) != 0) {
		uint32_t before = pe->crc;

		if (rc < 0)
			return rc;
		pe->crc = (uint32_t)crc32_combine(pe->crc, *crc, (z_off_t)len);
		push_pieces_feed(p, pe, offset, NULL, len, hash, before, pe->crc);
		p->cur_sha_ok = 0;	/* --checksum: file_done hashes the staged file */
		pe->written += len;
		p->bytes_received += len;
		push_part_advance(p, pe);
		return ABK_OK;
	}
	return copy_by_hand(p, index, src_fd, src_off, offset, len, err);
}

/* SHA-256 of a staged file, read back from disk. */
static int
sha_of_staged(struct storage_push *p, const struct push_ent *pe, uint8_t out[32],
    abk_err *err)
{
	char name[ABK_NAME_MAX + 1];
	abk_sha256_ctx ctx;
	uint8_t *buf;
	int dfd, fd, rc;

	rc = fsops_dircache_parent(&p->sdc, pe->path, pe->path_len, &dfd, name, err);
	if (rc != ABK_OK)
		return rc;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return abk_err_set(err, ABK_E_IO, "reopen a staged file: %s", strerror(errno));
	buf = malloc(READ_BUF);
	rc = buf == NULL ? ABK_E_NOMEM : abk_sha256_init(&ctx);
	while (rc == ABK_OK) {
		ssize_t n = read(fd, buf, READ_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? ABK_E_IO : abk_sha256_final(&ctx, out);
			break;
		}
		rc = abk_sha256_update(&ctx, buf, (size_t)n);
	}
	free(buf);
	close(fd);
	return rc == ABK_OK ? ABK_OK : abk_err_set(err, rc, "hashing a staged file failed");
}

int
storage_push_file_done(storage_push *p, uint32_t index, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	struct timespec ts[2];
	uint8_t sha[ABK_SHA256_LEN];
	struct push_ent *pe;
	int rc;

	rc = data_target(p, index, &pe, err);
	if (rc != ABK_OK)
		return rc;
	if (pe->written != pe->size)
		return abk_err_set(err, ABK_E_INTEGRITY,
		    "\"%s\": received %llu bytes, the file list declared %llu",
		    push_quote(pe, q, sizeof(q)), (unsigned long long)pe->written,
		    (unsigned long long)pe->size);
	if (p->cur_fd < 0 || p->cur != index) {
		rc = open_current(p, index, err);
		if (rc != ABK_OK)
			return rc;
	}
	if ((pe->flags & MF_HAS_CRC) && pe->crc != pe->crc32)
		return abk_err_set(err, ABK_E_INTEGRITY,
		    "\"%s\" arrived damaged (CRC-32 mismatch)", push_quote(pe, q, sizeof(q)));
	if (pe->flags & MF_HAS_SHA256) {
		if (p->cur_sha_ok)
			rc = abk_sha256_final(&p->sha, sha) == ABK_OK ? ABK_OK :
			    abk_err_set(err, ABK_E_CRYPTO, "SHA-256 failed");
		else
			rc = sha_of_staged(p, pe, sha, err);
		p->cur_sha_ok = 0;
		if (rc != ABK_OK)
			return rc;
		if (memcmp(sha, push_sha(pe), sizeof(sha)) != 0)
			return abk_err_set(err, ABK_E_INTEGRITY,
			    "\"%s\" arrived damaged (SHA-256 mismatch)",
			    push_quote(pe, q, sizeof(q)));
	}
	if (p->cur_sparse && fsops_sparse_end(p->cur_fd, pe->size) != 0)
		return abk_err_set(err, ABK_E_IO, "set the size of \"%s\": %s",
		    push_quote(pe, q, sizeof(q)), strerror(errno));
	push_mtime(pe, ts);
	if (fchmod(p->cur_fd, push_file_mode(pe->mode)) != 0 || futimens(p->cur_fd, ts) != 0)
		return abk_err_set(err, ABK_E_IO, "set mode and time of \"%s\": %s",
		    push_quote(pe, q, sizeof(q)), strerror(errno));
	push_pieces_done(p, pe, p->cur_fd);
	push_close_current(p);
	rc = push_journal_append(p, pe, JOURNAL_COMPLETE, err);
	if (rc != ABK_OK)
		return rc;
	pe->state = ST_DONE;
	p->done++;
	p->bytes_stored += pe->size;
	return ABK_OK;
}

void
push_release(struct storage_push *p)
{
	push_close_current(p);
	fsops_dircache_reset(&p->sdc);
	if (p->prevtree >= 0)
		fsops_dircache_reset(&p->pdc);
	if (p->jfd >= 0) {
		(void)push_journal_flush(p, NULL);	/* a lost tail only costs a resend */
		close(p->jfd);
	}
	if (p->lockfd >= 0)
		close(p->lockfd);	/* releases the flock */
	p->jfd = p->lockfd = -1;
	p->phase = PH_CLOSED;
}

void
storage_push_abort(storage_push *p)
{
	if (p == NULL || p->phase == PH_CLOSED)
		return;
	/* what arrived of the file being written counts for the next push */
	(void)push_part_sync(p, 1, NULL);
	push_close_current(p);
	if (p->jfd >= 0) {
		(void)push_journal_flush(p, NULL);
		fsync(p->jfd);
	}
	push_release(p);
}

void
storage_push_free(storage_push *p)
{
	if (p == NULL)
		return;
	storage_push_abort(p);
	if (p->prevtree >= 0)
		close(p->prevtree);
	if (p->prevfd >= 0)
		close(p->prevfd);
	if (p->treefd >= 0)
		close(p->treefd);
	if (p->stagefd >= 0)
		close(p->stagefd);
	if (p->srcfd >= 0)
		close(p->srcfd);
	push_pieces_free(p);
	snapfile_free(&p->prev);
	damaged_free(&p->damaged);
	pathtab_free(&p->prevtab);
	pathtab_free(&p->tab);
	pathtab_free(&p->jtab);
	arena_free(&p->arena);
	abk_buf_free(&p->jbuf);
	free(p->ents);
	free(p->jr);
	free(p->source);
	free(p->origin);
	free(p);
}

void
storage_push_set_single_file(storage_push *p, int single_file)
{
	p->single_file = single_file != 0;
}

int
storage_push_skip(storage_push *p, uint32_t index, abk_err *err)
{
	struct push_ent *pe;

	if (p->phase != PH_DATA)
		return abk_err_set(err, ABK_E_PROTO, "skip outside the data phase");
	if (index >= p->n)
		return abk_err_set(err, ABK_E_PROTO, "skip of entry %u, which is not in the list",
		    index);
	pe = &p->ents[index];
	if (pe->state == ST_SKIPPED)
		return ABK_OK;	/* several pieces of one file may each be skipped */
	if (pe->state != ST_NEED && pe->state != ST_DONE)
		return abk_err_set(err, ABK_E_PROTO, "skip of entry %u, whose data was not asked for",
		    index);
	if (p->cur_fd >= 0 && p->cur == index)
		push_close_current(p);
	if (pe->state == ST_DONE)
		p->done--;
	p->counts.needed--;
	p->counts.needed_bytes -= pe->size;
	pe->state = ST_SKIPPED;
	p->skipped++;
	return ABK_OK;
}

int
push_drop_skipped(struct storage_push *p, abk_err *err)
{
	size_t w = 0;
	int rc;

	if (p->skipped == 0)
		return ABK_OK;
	for (size_t i = 0; i < p->n; i++) {
		struct push_ent *pe = &p->ents[i];

		if (pe->state == ST_SKIPPED)
			push_keep_previous(p, pe);
		if (pe->state != ST_SKIPPED)
			p->ents[w++] = *pe;
	}
	p->n = w;
	p->skipped = 0;
	pathtab_free(&p->tab);
	rc = pathtab_init(&p->tab, p->n > 1024 ? p->n : 1024, ent_key, p, err);
	for (size_t i = 0; rc == ABK_OK && i < p->n; i++)
		if (pathtab_insert(&p->tab, p->ents[i].path, p->ents[i].path_len,
		    (uint32_t)i, NULL) < 0)
			rc = abk_err_set(err, ABK_E_NOMEM, "out of memory at commit");
	return rc;
}
