/*
 * push.c - receiving a push into SOURCE/.staging and publishing it.
 *
 * The session gives us the client's file list one entry at a time; we answer
 * which files need data (the others are hard-linked from the previous
 * snapshot, or already complete in staging from an interrupted push),
 * receive the data chunk by chunk straight to disk with a running CRC-32,
 * note every completed file in a journal, and at commit build the rest of
 * the tree (directories, symlinks, empty files, hard links), remove what the
 * list no longer holds, write the manifest, syncfs once and rename staging
 * to the new snapshot ID.  Memory is a few hundred bytes per entry.
 *
 * Journal (SOURCE/.staging/journal): "ABKJ" u32 version, then records
 *   u32 len | payload | u32 CRC-32(payload)
 *   payload: u8 kind (1 complete, 2 withdrawn) | str path | u64 size
 *            | i64 mtime | u32 crc | u8 has_sha | [32 bytes sha256]
 * Appended with plain write(2): a torn tail is cut at the first bad record,
 * and every resumed file is read again and checked against its CRC before
 * it is published, so a journal that ran ahead of the data is harmless.
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

#include "crypto.h"
#include "fsops.h"
#include "pathtab.h"
#include "storage_int.h"

#define JOURNAL_MAGIC "ABKJ"
#define JOURNAL_VERSION 1u
#define JOURNAL_COMPLETE 1
#define JOURNAL_WITHDRAWN 2
#define JOURNAL_REC_MAX (ABK_PATH_MAX + 128)
#define JOURNAL_MAX_SIZE ((size_t)1 << 34)
#define READ_BUF 65536
#define NO_PREV UINT32_MAX

enum ent_state {
	ST_DIR,
	ST_SYMLINK,
	ST_EMPTY,	/* file of size 0: created at commit */
	ST_NEED,	/* data expected */
	ST_DONE,	/* data received in this push */
	ST_RESUMED,	/* complete in staging from an earlier push */
	ST_LINK,	/* unchanged: hard link to the previous snapshot */
};

enum push_phase { PH_LIST, PH_DATA, PH_FAILED, PH_CLOSED };

struct push_ent {
	struct manifest_entry e;	/* path and target live in the arena */
	uint64_t written;
	uint32_t prev;			/* index in the previous manifest */
	uint32_t crc;
	uint8_t state;
};

struct jrec {
	const char *path;
	size_t path_len;
	uint64_t size;
	int64_t mtime;
	uint32_t crc;
	uint8_t complete;
	uint8_t has_sha;
	uint8_t sha[ABK_SHA256_LEN];
};

struct storage_push {
	storage_user *u;		/* not owned */
	char *source;
	char *origin;
	int checksum_mode;
	enum push_phase phase;
	uint64_t max_entries;

	int lockfd, srcfd, stagefd, treefd, jfd;
	int prevfd, prevtree;		/* -1 without a previous snapshot */
	struct snapfile prev;
	struct pathtab prevtab;

	struct push_ent *ents;
	size_t n, cap;
	struct arena arena;
	struct pathtab tab;

	struct jrec *jr;
	size_t jn, jcap;
	struct pathtab jtab;

	struct fsops_dircache sdc;	/* staging tree, creating */
	struct fsops_dircache pdc;	/* previous tree, read-only */

	uint32_t cur;			/* file open for writing, if cur_fd >= 0 */
	int cur_fd;
	int cur_sha_ok;			/* sha holds all of cur's bytes so far */
	abk_sha256_ctx sha;

	struct storage_push_counts counts;
	uint64_t done;			/* needed files complete */
	uint64_t bytes_received;
	uint64_t bytes_stored;
};

static const char *
quote_ent(const struct manifest_entry *e, char *q, size_t qsz)
{
	return fsops_quote(e->path, e->path_len, q, qsz);
}

static const char *
ent_key(void *ctx, uint32_t idx, size_t *len)
{
	struct storage_push *p = ctx;

	*len = p->ents[idx].e.path_len;
	return p->ents[idx].e.path;
}

static const char *
prev_key(void *ctx, uint32_t idx, size_t *len)
{
	struct storage_push *p = ctx;

	*len = p->prev.ents[idx].path_len;
	return p->prev.ents[idx].path;
}

static const char *
j_key(void *ctx, uint32_t idx, size_t *len)
{
	struct storage_push *p = ctx;

	*len = p->jr[idx].path_len;
	return p->jr[idx].path;
}

static uint32_t
file_mode(uint32_t mode)
{
	return (mode & 0777) | 0600;
}

static uint32_t
dir_mode(uint32_t mode)
{
	return (mode & 0777) | 0700;
}

static void
mtime_spec(int64_t mtime, struct timespec ts[2])
{
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = (time_t)mtime;
	ts[1].tv_nsec = 0;
}

static uint32_t
crc_update(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;

		crc = (uint32_t)crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}

/* ---- journal ------------------------------------------------------------------ */

static int
journal_apply(struct storage_push *p, const struct jrec *r, abk_err *err)
{
	uint32_t idx;

	if (pathtab_find(&p->jtab, r->path, r->path_len, &idx)) {
		const char *keep = p->jr[idx].path;

		p->jr[idx] = *r;
		p->jr[idx].path = keep;
		return ABK_OK;
	}
	if (p->jn == p->jcap) {
		size_t ncap = p->jcap ? p->jcap * 2 : 256;
		struct jrec *nj = realloc(p->jr, ncap * sizeof(*nj));

		if (nj == NULL)
			return abk_err_set(err, ABK_E_NOMEM, "out of memory reading the journal");
		p->jr = nj;
		p->jcap = ncap;
	}
	p->jr[p->jn] = *r;
	p->jr[p->jn].path = arena_dup(&p->arena, r->path, r->path_len);
	if (p->jr[p->jn].path == NULL ||
	    pathtab_insert(&p->jtab, r->path, r->path_len, (uint32_t)p->jn, NULL) < 0)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory reading the journal");
	p->jn++;
	return ABK_OK;
}

static int
journal_parse(abk_rd *r, struct jrec *j)
{
	uint8_t kind = 0;

	memset(j, 0, sizeof(*j));
	abk_get_u8(r, &kind);
	abk_get_str(r, &j->path, &j->path_len, ABK_PATH_MAX);
	abk_get_u64(r, &j->size);
	abk_get_i64(r, &j->mtime);
	abk_get_u32(r, &j->crc);
	abk_get_u8(r, &j->has_sha);
	if (j->has_sha)
		abk_get_bytes(r, j->sha, sizeof(j->sha));
	if (r->failed || r->left != 0 || (kind != JOURNAL_COMPLETE && kind != JOURNAL_WITHDRAWN)
	    || j->has_sha > 1 || pathsafe_check(j->path, j->path_len) != PATHSAFE_OK)
		return -1;
	j->complete = kind == JOURNAL_COMPLETE;
	return 0;
}

/* Read the journal; cut it after the last good record, or start it afresh. */
static int
journal_load(struct storage_push *p, abk_err *err)
{
	uint8_t *data = NULL, hdr[8];
	size_t len = 0, pos = 8;
	struct stat st;
	int rc = ABK_OK;

	p->jfd = openat(p->stagefd, STG_JOURNAL, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (p->jfd < 0 && errno == ELOOP) {
		unlinkat(p->stagefd, STG_JOURNAL, 0);
		p->jfd = openat(p->stagefd, STG_JOURNAL, O_RDWR | O_CREAT | O_APPEND |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (p->jfd < 0)
		return abk_err_set(err, ABK_E_IO, "open staging journal: %s", strerror(errno));
	if (fstat(p->jfd, &st) != 0 || !S_ISREG(st.st_mode))
		return abk_err_set(err, ABK_E_IO, "staging journal is not a regular file");
	len = (size_t)st.st_size;
	if ((uint64_t)st.st_size > JOURNAL_MAX_SIZE) {
		pos = 0;	/* absurd: start again */
		goto cut;
	}
	data = malloc(len ? len : 1);
	if (data == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory reading the journal");
	for (size_t got = 0; got < len;) {
		ssize_t n = pread(p->jfd, data + got, len - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			len = got;
			break;
		}
		got += (size_t)n;
	}
	if (len < 8 || memcmp(data, JOURNAL_MAGIC, 4) != 0) {
		pos = 0;
		goto cut;
	}
	while (pos + 8 <= len) {
		abk_rd r;
		uint32_t rlen, crc;
		struct jrec j;

		abk_rd_init(&r, data + pos, len - pos);
		abk_get_u32(&r, &rlen);
		if (rlen > JOURNAL_REC_MAX || (size_t)rlen + 8 > len - pos)
			break;
		abk_rd_init(&r, data + pos + 4 + rlen, 4);
		abk_get_u32(&r, &crc);
		if (crc != crc_update((uint32_t)crc32(0, Z_NULL, 0), data + pos + 4, rlen))
			break;
		abk_rd_init(&r, data + pos + 4, rlen);
		if (journal_parse(&r, &j) != 0)
			break;
		rc = journal_apply(p, &j, err);
		if (rc != ABK_OK)
			goto out;
		pos += (size_t)rlen + 8;
	}
cut:
	if (pos != len && ftruncate(p->jfd, (off_t)pos) != 0) {
		rc = abk_err_set(err, ABK_E_IO, "truncate staging journal: %s", strerror(errno));
		goto out;
	}
	if (pos == 0) {
		memcpy(hdr, JOURNAL_MAGIC, 4);
		hdr[4] = hdr[5] = hdr[6] = 0;
		hdr[7] = JOURNAL_VERSION;
		if (fsops_write_all(p->jfd, hdr, sizeof(hdr)) != 0)
			rc = abk_err_set(err, ABK_E_IO, "write staging journal: %s", strerror(errno));
	}
out:
	free(data);
	return rc;
}

static int
journal_append(struct storage_push *p, const struct push_ent *pe, int kind, abk_err *err)
{
	uint8_t stack[JOURNAL_REC_MAX + 16];
	abk_buf b;
	struct jrec j;
	uint32_t crc;
	int rc = ABK_OK;

	abk_buf_init(&b, sizeof(stack));
	abk_put_u32(&b, 0);
	abk_put_u8(&b, (uint8_t)kind);
	abk_put_str(&b, pe->e.path, pe->e.path_len);
	abk_put_u64(&b, pe->e.size);
	abk_put_i64(&b, pe->e.mtime);
	abk_put_u32(&b, pe->crc);
	abk_put_u8(&b, (pe->e.flags & MF_HAS_SHA256) ? 1 : 0);
	if (pe->e.flags & MF_HAS_SHA256)
		abk_put_bytes(&b, pe->e.sha256, sizeof(pe->e.sha256));
	if (b.failed) {
		rc = abk_err_set(err, ABK_E_INTERNAL, "journal record too large");
		goto out;
	}
	crc = crc_update((uint32_t)crc32(0, Z_NULL, 0), b.data + 4, b.len - 4);
	abk_put_u32(&b, crc);
	memcpy(stack, b.data, b.len);
	stack[0] = (uint8_t)((b.len - 8) >> 24);
	stack[1] = (uint8_t)((b.len - 8) >> 16);
	stack[2] = (uint8_t)((b.len - 8) >> 8);
	stack[3] = (uint8_t)(b.len - 8);
	if (fsops_write_all(p->jfd, stack, b.len) != 0) {
		rc = abk_err_set(err, ABK_E_IO, "write staging journal: %s", strerror(errno));
		goto out;
	}
	memset(&j, 0, sizeof(j));
	j.path = pe->e.path;
	j.path_len = pe->e.path_len;
	j.size = pe->e.size;
	j.mtime = pe->e.mtime;
	j.crc = pe->crc;
	j.complete = kind == JOURNAL_COMPLETE;
	j.has_sha = (pe->e.flags & MF_HAS_SHA256) ? 1 : 0;
	if (j.has_sha)
		memcpy(j.sha, pe->e.sha256, sizeof(j.sha));
	rc = journal_apply(p, &j, err);
out:
	abk_buf_free(&b);
	return rc;
}

/* ---- begin ---------------------------------------------------------------------- */

static int
load_previous(struct storage_push *p, abk_err *err)
{
	abk_err tmp = ABK_ERR_INIT;
	char **ids = NULL;
	size_t nids = 0;
	int rc;

	rc = stg_list_ids(p->srcfd, &ids, &nids, err);
	if (rc != ABK_OK || nids == 0)
		goto out;
	p->prevfd = openat(p->srcfd, ids[nids - 1], O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (p->prevfd < 0) {
		rc = abk_err_set(err, ABK_E_IO, "open snapshot %s: %s", ids[nids - 1],
		    strerror(errno));
		goto out;
	}
	rc = snapfile_load(p->prevfd, &p->prev, &tmp);
	if (rc == ABK_OK)
		p->prevtree = fsops_open_dir(p->prevfd, STG_TREE, 0, &tmp);
	if (rc != ABK_OK || p->prevtree < 0) {
		/* A damaged previous snapshot: send everything, so the new
		 * one is whole.  An I/O error is an error. */
		if (tmp.code != ABK_E_INTEGRITY && tmp.code != ABK_E_NOTFOUND) {
			rc = abk_err_set(err, tmp.code, "%s", tmp.msg);
			goto out;
		}
		snapfile_free(&p->prev);
		close(p->prevfd);
		p->prevfd = p->prevtree = -1;
		rc = ABK_OK;
		goto out;
	}
	rc = pathtab_init(&p->prevtab, p->prev.n, prev_key, p, err);
	for (size_t i = 0; rc == ABK_OK && i < p->prev.n; i++)
		if (pathtab_insert(&p->prevtab, p->prev.ents[i].path, p->prev.ents[i].path_len,
		    (uint32_t)i, NULL) < 0)
			rc = abk_err_set(err, ABK_E_NOMEM, "out of memory indexing the previous snapshot");
	fsops_dircache_init(&p->pdc, p->prevtree, 0);
out:
	fsops_names_free(ids, nids);
	return rc;
}

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
	rc = load_previous(p, err);
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
	rc = pathtab_init(&p->jtab, 0, j_key, p, err);
	if (rc == ABK_OK)
		rc = pathtab_init(&p->tab, 1024, ent_key, p, err);
	if (rc == ABK_OK)
		rc = journal_load(p, err);
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
		    quote_ent(e, q, sizeof(q)), pathsafe_reason(v));
	for (size_t i = 0; i < e->path_len; i++)
		depth += e->path[i] == '/';
	if (depth > STORAGE_MAX_DEPTH)
		return abk_err_set(err, ABK_E_LIMIT, "\"%s\" is deeper than %d directories",
		    quote_ent(e, q, sizeof(q)), STORAGE_MAX_DEPTH);
	if (e->mode & ~MF_MODE_MASK)
		return abk_err_set(err, ABK_E_PROTO, "\"%s\" has an invalid mode",
		    quote_ent(e, q, sizeof(q)));
	switch (e->type) {
	case MF_DIR:
		if (e->size != 0)
			return abk_err_set(err, ABK_E_PROTO, "directory \"%s\" has a size",
			    quote_ent(e, q, sizeof(q)));
		break;
	case MF_SYMLINK:
		if (e->target == NULL || e->target_len == 0 || e->target_len > MF_TARGET_MAX ||
		    e->size != e->target_len || memchr(e->target, '\0', e->target_len) != NULL)
			return abk_err_set(err, ABK_E_PROTO, "symlink \"%s\" has a bad target",
			    quote_ent(e, q, sizeof(q)));
		break;
	case MF_FILE:
		if (e->size > INT64_MAX)
			return abk_err_set(err, ABK_E_LIMIT, "\"%s\" is too large",
			    quote_ent(e, q, sizeof(q)));
		break;
	default:
		return abk_err_set(err, ABK_E_PROTO, "\"%s\" has unknown type %u",
		    quote_ent(e, q, sizeof(q)), e->type);
	}
	return ABK_OK;
}

/* Does the stored regular file at path below dc have this size? */
static int
stored_size_is(struct fsops_dircache *dc, const struct manifest_entry *e)
{
	char name[ABK_NAME_MAX + 1];
	struct stat st;
	int dfd;

	if (fsops_dircache_parent(dc, e->path, e->path_len, &dfd, name, NULL) != ABK_OK)
		return 0;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == e->size;
}

static int
same_sha(const struct storage_push *p, const struct manifest_entry *a,
    const struct manifest_entry *b)
{
	int ha = (a->flags & MF_HAS_SHA256) != 0, hb = (b->flags & MF_HAS_SHA256) != 0;

	if (ha && hb)
		return memcmp(a->sha256, b->sha256, sizeof(a->sha256)) == 0;
	return !p->checksum_mode;
}

/* Decide the state of a new regular file of non-zero size. */
static void
decide_file(struct storage_push *p, struct push_ent *pe)
{
	const struct manifest_entry *e = &pe->e, *o;
	uint32_t j;

	if (pe->prev != NO_PREV) {
		o = &p->prev.ents[pe->prev];
		if (o->type == MF_FILE && o->size == e->size && o->mtime == e->mtime &&
		    o->mode == e->mode && (o->flags & MF_HAS_CRC) && same_sha(p, e, o) &&
		    (!(e->flags & MF_HAS_CRC) || e->crc32 == o->crc32) &&
		    stored_size_is(&p->pdc, o)) {
			pe->state = ST_LINK;
			pe->crc = o->crc32;
			if (!(e->flags & MF_HAS_SHA256) && (o->flags & MF_HAS_SHA256)) {
				pe->e.flags |= MF_HAS_SHA256;
				memcpy(pe->e.sha256, o->sha256, sizeof(o->sha256));
			}
			p->counts.unchanged++;
			return;
		}
	}
	if (pathtab_find(&p->jtab, e->path, e->path_len, &j)) {
		const struct jrec *r = &p->jr[j];

		if (r->complete && r->size == e->size && r->mtime == e->mtime &&
		    (!(e->flags & MF_HAS_CRC) || e->crc32 == r->crc) &&
		    (!(e->flags & MF_HAS_SHA256) ||
		    (r->has_sha && memcmp(r->sha, e->sha256, sizeof(r->sha)) == 0)) &&
		    (!p->checksum_mode || r->has_sha) && stored_size_is(&p->sdc, e)) {
			pe->state = ST_RESUMED;
			pe->crc = r->crc;
			if (r->has_sha) {
				pe->e.flags |= MF_HAS_SHA256;
				memcpy(pe->e.sha256, r->sha, sizeof(r->sha));
			}
			p->counts.resumed++;
			return;
		}
	}
	pe->state = ST_NEED;
	pe->crc = (uint32_t)crc32(0, Z_NULL, 0);
	p->counts.needed++;
	p->counts.needed_bytes += e->size;
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
			    quote_ent(e, q, sizeof(q)));
		if (p->ents[idx].e.type != MF_DIR)
			return abk_err_set(err, ABK_E_PROTO, "the parent of \"%s\" is not a directory",
			    quote_ent(e, q, sizeof(q)));
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
	pe->e = *e;
	pe->e.path = arena_dup(&p->arena, e->path, e->path_len);
	if (e->type == MF_SYMLINK)
		pe->e.target = arena_dup(&p->arena, e->target, e->target_len);
	else {
		pe->e.target = NULL;
		pe->e.target_len = 0;
	}
	if (pe->e.path == NULL || (e->type == MF_SYMLINK && pe->e.target == NULL))
		return abk_err_set(err, ABK_E_NOMEM, "out of memory for the file list");
	rc = pathtab_insert(&p->tab, pe->e.path, pe->e.path_len, (uint32_t)p->n, NULL);
	if (rc < 0)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory for the file list");
	if (rc > 0)
		return abk_err_set(err, ABK_E_PROTO, "\"%s\" is listed twice",
		    quote_ent(e, q, sizeof(q)));
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
			decide_file(p, pe);
	}
	p->n++;
	p->counts.entries++;
	*needed = pe->state == ST_NEED;
	return ABK_OK;
}

void
storage_push_get_counts(const storage_push *p, struct storage_push_counts *c)
{
	*c = p->counts;
}

int
storage_push_lookup(const storage_push *p, const char *path, size_t len, uint32_t *index)
{
	return pathtab_find(&p->tab, path, len, index) ? ABK_OK : ABK_E_NOTFOUND;
}

const struct manifest_entry *
storage_push_get_entry(const storage_push *p, uint32_t index)
{
	return index < p->n ? &p->ents[index].e : NULL;
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
			return abk_err_set(err, ABK_E_QUOTA,
			    "quota exceeded: user %s stores %llu bytes and this push needs "
			    "%llu more, over the quota of %llu bytes", p->u->name,
			    (unsigned long long)used, (unsigned long long)p->counts.needed_bytes,
			    (unsigned long long)quota_bytes);
		}
	}
	p->phase = PH_DATA;
	return ABK_OK;
}

/* ---- data ------------------------------------------------------------------------ */

static void
close_current(struct storage_push *p)
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
		    quote_ent(&pe->e, q, sizeof(q)));
	if (pe->state != ST_NEED)
		return abk_err_set(err, ABK_E_PROTO, "data for \"%s\", which was not requested",
		    quote_ent(&pe->e, q, sizeof(q)));
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

	close_current(p);
	rc = fsops_dircache_parent(&p->sdc, pe->e.path, pe->e.path_len, &dfd, name, err);
	if (rc != ABK_OK)
		return rc;
	if (pe->written == 0) {
		/* An older journal record for this path no longer holds. */
		if (pathtab_find(&p->jtab, pe->e.path, pe->e.path_len, &j) && p->jr[j].complete) {
			rc = journal_append(p, pe, JOURNAL_WITHDRAWN, err);
			if (rc != ABK_OK)
				return rc;
		}
		p->cur_fd = fsops_create_file(dfd, name, err);
		if (p->cur_fd < 0)
			return p->cur_fd;
		if (pe->e.flags & MF_HAS_SHA256) {
			rc = abk_sha256_init(&p->sha);
			if (rc != ABK_OK)
				return abk_err_set(err, ABK_E_CRYPTO, "SHA-256 init failed");
			p->cur_sha_ok = 1;
		}
	} else {
		p->cur_fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (p->cur_fd < 0)
			return abk_err_set(err, ABK_E_IO, "reopen \"%s\" in staging: %s",
			    quote_ent(&pe->e, q, sizeof(q)), strerror(errno));
	}
	p->cur = index;
	return ABK_OK;
}

int
storage_push_file_write(storage_push *p, uint32_t index, uint64_t offset,
    const void *data, size_t len, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	const uint8_t *d = data;
	struct push_ent *pe;
	uint64_t at = offset;
	size_t left = len;
	int rc;

	rc = data_target(p, index, &pe, err);
	if (rc != ABK_OK)
		return rc;
	if (offset != pe->written)
		return abk_err_set(err, ABK_E_PROTO, "data for \"%s\" at offset %llu, expected %llu",
		    quote_ent(&pe->e, q, sizeof(q)), (unsigned long long)offset,
		    (unsigned long long)pe->written);
	if (len > pe->e.size - pe->written)
		return abk_err_set(err, ABK_E_LIMIT,
		    "\"%s\" is larger than the %llu bytes declared in the file list",
		    quote_ent(&pe->e, q, sizeof(q)), (unsigned long long)pe->e.size);
	if (p->cur_fd < 0 || p->cur != index) {
		rc = open_current(p, index, err);
		if (rc != ABK_OK)
			return rc;
	}
	while (left > 0) {
		ssize_t n = pwrite(p->cur_fd, d, left, (off_t)at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return abk_err_set(err, ABK_E_IO, "write \"%s\" in staging: %s",
			    quote_ent(&pe->e, q, sizeof(q)), n < 0 ? strerror(errno) : "no progress");
		d += n;
		at += (uint64_t)n;
		left -= (size_t)n;
	}
	pe->crc = crc_update(pe->crc, data, len);
	if (p->cur_sha_ok && abk_sha256_update(&p->sha, data, len) != ABK_OK)
		p->cur_sha_ok = 0;
	pe->written += len;
	p->bytes_received += len;
	return ABK_OK;
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

	rc = fsops_dircache_parent(&p->sdc, pe->e.path, pe->e.path_len, &dfd, name, err);
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
	if (pe->written != pe->e.size)
		return abk_err_set(err, ABK_E_INTEGRITY,
		    "\"%s\": received %llu bytes, the file list declared %llu",
		    quote_ent(&pe->e, q, sizeof(q)), (unsigned long long)pe->written,
		    (unsigned long long)pe->e.size);
	if (p->cur_fd < 0 || p->cur != index) {
		rc = open_current(p, index, err);
		if (rc != ABK_OK)
			return rc;
	}
	if ((pe->e.flags & MF_HAS_CRC) && pe->crc != pe->e.crc32)
		return abk_err_set(err, ABK_E_INTEGRITY,
		    "\"%s\" arrived damaged (CRC-32 mismatch)", quote_ent(&pe->e, q, sizeof(q)));
	if (pe->e.flags & MF_HAS_SHA256) {
		if (p->cur_sha_ok)
			rc = abk_sha256_final(&p->sha, sha) == ABK_OK ? ABK_OK :
			    abk_err_set(err, ABK_E_CRYPTO, "SHA-256 failed");
		else
			rc = sha_of_staged(p, pe, sha, err);
		p->cur_sha_ok = 0;
		if (rc != ABK_OK)
			return rc;
		if (memcmp(sha, pe->e.sha256, sizeof(sha)) != 0)
			return abk_err_set(err, ABK_E_INTEGRITY,
			    "\"%s\" arrived damaged (SHA-256 mismatch)",
			    quote_ent(&pe->e, q, sizeof(q)));
	}
	mtime_spec(pe->e.mtime, ts);
	if (fchmod(p->cur_fd, file_mode(pe->e.mode)) != 0 || futimens(p->cur_fd, ts) != 0)
		return abk_err_set(err, ABK_E_IO, "set mode and time of \"%s\": %s",
		    quote_ent(&pe->e, q, sizeof(q)), strerror(errno));
	close_current(p);
	rc = journal_append(p, pe, JOURNAL_COMPLETE, err);
	if (rc != ABK_OK)
		return rc;
	pe->state = ST_DONE;
	p->done++;
	p->bytes_stored += pe->e.size;
	return ABK_OK;
}

/* ---- commit --------------------------------------------------------------------- */

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
		struct stat st;
		uint32_t idx;
		int keep = 0, fd;

		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue;
			rc = abk_err_set(err, ABK_E_IO, "stat in staging: %s", strerror(errno));
			break;
		}
		if (clen <= ABK_PATH_MAX) {
			if (plen)
				path[plen] = '/';
			memcpy(path + (plen ? plen + 1 : 0), names[i], nlen);
			keep = pathtab_find(&p->tab, path, clen, &idx) &&
			    type_matches(p->ents[idx].e.type, st.st_mode);
		}
		if (!keep) {
			rc = fsops_remove(dirfd, names[i], NULL, err);
		} else if (S_ISDIR(st.st_mode)) {
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

static int
check_resumed(struct storage_push *p, struct push_ent *pe, int dfd, const char *name,
    abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	struct timespec ts[2];
	struct stat st;
	uint32_t crc = (uint32_t)crc32(0, Z_NULL, 0);
	uint8_t *buf = NULL;
	int fd, rc = ABK_OK;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return abk_err_set(err, ABK_E_IO, "open staged \"%s\": %s",
		    quote_ent(&pe->e, q, sizeof(q)), strerror(errno));
	buf = malloc(READ_BUF);
	if (buf == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory checking staged files");
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != pe->e.size)
		goto damaged;
	for (;;) {
		ssize_t n = read(fd, buf, READ_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = abk_err_set(err, ABK_E_IO, "read staged \"%s\": %s",
			    quote_ent(&pe->e, q, sizeof(q)), strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		crc = crc_update(crc, buf, (size_t)n);
	}
	if (crc != pe->crc)
		goto damaged;
	mtime_spec(pe->e.mtime, ts);
	if (fchmod(fd, file_mode(pe->e.mode)) != 0 || futimens(fd, ts) != 0)
		rc = abk_err_set(err, ABK_E_IO, "set mode and time of \"%s\": %s",
		    quote_ent(&pe->e, q, sizeof(q)), strerror(errno));
	p->bytes_stored += pe->e.size;
	goto out;
damaged:
	/* Kept from an interrupted push but not intact: forget it so the
	 * next push sends it again. */
	journal_append(p, pe, JOURNAL_WITHDRAWN, NULL);
	rc = abk_err_set(err, ABK_E_INTEGRITY,
	    "\"%s\", kept from an interrupted push, is damaged; push again",
	    quote_ent(&pe->e, q, sizeof(q)));
out:
	free(buf);
	close(fd);
	return rc;
}

static int
build_entry(struct storage_push *p, struct push_ent *pe, abk_err *err)
{
	char name[ABK_NAME_MAX + 1], q[FSOPS_QUOTE_MAX];
	struct timespec ts[2];
	struct stat st;
	int dfd, pdfd, fd, rc;

	rc = fsops_dircache_parent(&p->sdc, pe->e.path, pe->e.path_len, &dfd, name, err);
	if (rc != ABK_OK)
		return rc;
	mtime_spec(pe->e.mtime, ts);
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
		if (symlinkat(pe->e.target, dfd, name) != 0 ||
		    utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
			return abk_err_set(err, ABK_E_IO, "symlink \"%s\" in staging: %s",
			    quote_ent(&pe->e, q, sizeof(q)), strerror(errno));
		return ABK_OK;
	case ST_EMPTY:
		fd = fsops_create_file(dfd, name, err);
		if (fd < 0)
			return fd;
		rc = (fchmod(fd, file_mode(pe->e.mode)) != 0 || futimens(fd, ts) != 0) ?
		    abk_err_set(err, ABK_E_IO, "set mode and time of \"%s\": %s",
		    quote_ent(&pe->e, q, sizeof(q)), strerror(errno)) : ABK_OK;
		close(fd);
		return rc;
	case ST_DONE:
		return ABK_OK;	/* mode and time set when it completed */
	case ST_RESUMED:
		return check_resumed(p, pe, dfd, name, err);
	case ST_LINK:
		rc = fsops_dircache_parent(&p->pdc, pe->e.path, pe->e.path_len, &pdfd, name, err);
		if (rc == ABK_OK)
			rc = fsops_remove(dfd, name, NULL, err);
		if (rc != ABK_OK)
			return rc;
		if (linkat(pdfd, name, dfd, name, 0) == 0)
			return ABK_OK;
		if (errno != EMLINK && errno != EXDEV)
			return abk_err_set(err, ABK_E_IO, "hard link \"%s\" from the previous snapshot: %s",
			    quote_ent(&pe->e, q, sizeof(q)), strerror(errno));
		/* Too many links (or another file system): copy instead. */
		rc = fsops_copy_file(pdfd, name, dfd, name, err);
		if (rc != ABK_OK)
			return rc;
		if (fchmodat(dfd, name, file_mode(pe->e.mode), 0) != 0 ||
		    utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
			return abk_err_set(err, ABK_E_IO, "set mode and time of \"%s\": %s",
			    quote_ent(&pe->e, q, sizeof(q)), strerror(errno));
		p->bytes_stored += pe->e.size;
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
		rc = fsops_dircache_parent(&p->sdc, pe->e.path, pe->e.path_len, &dfd, name, err);
		if (rc != ABK_OK)
			return rc;
		mtime_spec(pe->e.mtime, ts);
		if (fchmodat(dfd, name, dir_mode(pe->e.mode), 0) != 0 ||
		    utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
			return abk_err_set(err, ABK_E_IO, "set mode and time of \"%s\": %s",
			    quote_ent(&pe->e, q, sizeof(q)), strerror(errno));
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
	h->time_ms = time_ms;
	h->entries = p->n;
	for (size_t i = 0; i < p->n; i++)
		if (p->ents[i].e.type == MF_FILE) {
			h->files++;
			h->bytes += p->ents[i].e.size;
		}
	fd = fsops_create_file(p->stagefd, STG_MANIFEST, err);
	if (fd < 0) {
		free(h);
		return fd;
	}
	rc = snapfile_write_begin(&w, fd, h, err);
	for (size_t i = 0; rc == ABK_OK && i < p->n; i++) {
		struct manifest_entry e = p->ents[i].e;

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
	if (nids > 0 && snapfile_id_parse(ids[nids - 1], &last) == ABK_OK && ms <= last)
		ms = last + 1;
	fsops_names_free(ids, nids);
	for (;;) {
		snapfile_id_format(ms, id);
		if (fstatat(p->srcfd, id, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
			break;
		ms++;
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
		const struct manifest_entry *e = &pe->e, *o;

		if (pe->prev == NO_PREV) {
			v->added++;
			continue;
		}
		o = &p->prev.ents[pe->prev];
		if (seen != NULL && !seen[pe->prev]) {
			seen[pe->prev] = 1;
			seen_n++;
		}
		if (o->type == e->type && o->mode == e->mode && o->mtime == e->mtime &&
		    o->size == e->size &&
		    (e->type != MF_FILE || pe->state == ST_LINK || e->size == 0) &&
		    (e->type != MF_SYMLINK || (o->target_len == e->target_len &&
		    memcmp(o->target, e->target, e->target_len) == 0)))
			v->unchanged++;
		else
			v->changed++;
	}
	v->removed = p->prev.n - seen_n;
	v->bytes_received = p->bytes_received;
	v->bytes_stored = p->bytes_stored;
	free(seen);
}

static void
release(struct storage_push *p)
{
	close_current(p);
	fsops_dircache_reset(&p->sdc);
	if (p->prevtree >= 0)
		fsops_dircache_reset(&p->pdc);
	if (p->jfd >= 0)
		close(p->jfd);
	if (p->lockfd >= 0)
		close(p->lockfd);	/* releases the flock */
	p->jfd = p->lockfd = -1;
	p->phase = PH_CLOSED;
}

int
storage_push_commit(storage_push *p, int append_only, unsigned keep,
    struct storage_verdict *v, abk_err *err)
{
	char id[STORAGE_ID_LEN + 1], *path = NULL;
	struct storage_verdict local;
	abk_err rerr = ABK_ERR_INIT;
	uint64_t msize = 0, missing, used;
	int64_t time_ms;
	int lk, rc;

	if (v == NULL)
		v = &local;
	memset(v, 0, sizeof(*v));
	if (p->phase != PH_DATA)
		return abk_err_set(err, ABK_E_PROTO, "commit of a push that is not receiving data");
	if (!append_only && keep == 0)
		return abk_err_set(err, ABK_E_USAGE, "retention must keep at least one snapshot");
	missing = p->counts.needed - p->done;
	if (missing > 0)
		return abk_err_set(err, ABK_E_PROTO, "missing data for %llu file%s",
		    (unsigned long long)missing, missing == 1 ? "" : "s");
	p->phase = PH_FAILED;	/* until it succeeds */
	close_current(p);
	fsops_dircache_reset(&p->sdc);

	path = malloc(ABK_PATH_MAX + 1);
	if (path == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory at commit");
	rc = remove_extras(p, p->treefd, path, 0, err);
	free(path);
	for (size_t i = 0; rc == ABK_OK && i < p->n; i++)
		rc = build_entry(p, &p->ents[i], err);
	if (rc == ABK_OK)
		rc = finish_dirs(p, err);
	if (rc == ABK_OK)
		rc = choose_id(p, id, &time_ms, err);
	if (rc == ABK_OK)
		rc = write_manifest(p, time_ms, &msize, err);
	if (rc != ABK_OK)
		return rc;

	/* One flush of everything (see DESIGN's measured facts), then publish. */
#ifdef HAVE_SYNCFS
	if (syncfs(p->stagefd) != 0)
		return abk_err_set(err, ABK_E_IO, "syncfs: %s", strerror(errno));
#else
	sync();
#endif
	if (unlinkat(p->stagefd, STG_JOURNAL, 0) != 0 && errno != ENOENT)
		return abk_err_set(err, ABK_E_IO, "remove staging journal: %s", strerror(errno));
	lk = stg_usage_lock(p->u, err);
	if (lk < 0)
		return lk;
	rc = stg_usage_get_locked(p->u, lk, &used, err);	/* make the cache valid first */
	if (rc == ABK_OK && renameat(p->srcfd, STG_STAGING, p->srcfd, id) != 0)
		rc = abk_err_set(err, ABK_E_IO, "publish snapshot %s: %s", id, strerror(errno));
	if (rc == ABK_OK && fsync(p->srcfd) != 0)
		rc = abk_err_set(err, ABK_E_IO, "fsync source folder: %s", strerror(errno));
	if (rc == ABK_OK)
		rc = stg_usage_add_locked(lk, (int64_t)(p->bytes_stored + msize), err);
	stg_usage_unlock(lk);
	if (rc != ABK_OK)
		return rc;

	memcpy(v->id, id, sizeof(v->id));
	fill_verdict(p, v, err);
	if (!append_only) {
		rc = stg_retain(p->u, p->srcfd, keep, &v->pruned, &rerr);
		if (rc != ABK_OK)
			rc = abk_err_set(err, rc, "snapshot %s was published, but removing old "
			    "snapshots failed: %s", id, rerr.msg);
	}
	release(p);
	return rc;
}

void
storage_push_abort(storage_push *p)
{
	if (p == NULL || p->phase == PH_CLOSED)
		return;
	close_current(p);
	if (p->jfd >= 0)
		fsync(p->jfd);
	release(p);
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
	snapfile_free(&p->prev);
	pathtab_free(&p->prevtab);
	pathtab_free(&p->tab);
	pathtab_free(&p->jtab);
	arena_free(&p->arena);
	free(p->ents);
	free(p->jr);
	free(p->source);
	free(p->origin);
	free(p);
}
