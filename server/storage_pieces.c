/*
 * storage_pieces.c - the piece cache: each snapshot keeps, beside its
 * manifest, the piece hashes (piecehash.h) and per-piece CRC-32s of its
 * files larger than one piece (SNAPSHOT/pieces), so that the next push of a
 * changed big file offers PUSH_PIECES without reading the previous version
 * again (issue 12).
 *
 * Filled from what passes during a push, never by an extra read: pieces
 * written are hashed as they arrive, pieces copied from the previous
 * version or kept from an interrupted push carry the hash they were offered
 * with; a completed big file appends its record to STAGING/pieces (a file
 * resumed from an interrupted push gets it from the read that checks its
 * CRC-32 at commit, check_resumed).  At
 * commit the staging records of files still as recorded, and the previous
 * snapshot's records of files hard-linked into the new one, are written to
 * a new STAGING/pieces, which is published with the snapshot by the same
 * rename.
 *
 * A record is used only if its key (inode, size, mtime and ctime to the
 * nanosecond) is the stored file's as fstat(2) sees it now, and its own
 * CRC-32 holds: a file changed behind the server's back has a new ctime, a
 * damaged or truncated cache fails its CRC; either way the previous version
 * is read and hashed as before.  A link made at commit changes the ctime of
 * the inode: the key is re-read right after linkat.  Removing a snapshot
 * (retention, prune) unlinks too: a big file that lost a link that way is
 * read once more when it next changes.
 *
 * Pruning: a snapshot's cache holds only that snapshot's big files and is
 * removed with it; there is no other copy.  Size: 20 bytes per 4 MiB piece
 * (5 bytes per MiB of big files), files of more than PUSH_PC_PIECES_MAX
 * pieces get no record.
 *
 * Errors here never fail a push: a cache that cannot be read or written is
 * no cache.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "storage_push_int.h"
#include "transfer.h"

#define PC_MAGIC "ABKP"
#define PC_VERSION 1u
#define PC_HEAD_LEN 8
#define PC_TMP "pieces.tmp"
/* path, key, count: the fixed part of a record's body around the path */
#define PC_BODY_FIXED (4 + 8 + 8 + 8 + 4 + 8 + 4 + 4)
#define PC_PIECE_REC (ABK_PIECE_HASH_LEN + 4)
#define PC_BODY_MAX (PC_BODY_FIXED + ABK_PATH_MAX + (size_t)PUSH_PC_PIECES_MAX * PC_PIECE_REC)

static void
key_of(const struct stat *st, struct pc_key *k)
{
	k->ino = (uint64_t)st->st_ino;
	k->size = (uint64_t)st->st_size;
	k->mtime = (int64_t)st->st_mtim.tv_sec;
	k->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	k->ctime = (int64_t)st->st_ctim.tv_sec;
	k->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
}

static int
key_eq(const struct pc_key *a, const struct pc_key *b)
{
	return a->ino == b->ino && a->size == b->size && a->mtime == b->mtime &&
	    a->mtime_nsec == b->mtime_nsec && a->ctime == b->ctime &&
	    a->ctime_nsec == b->ctime_nsec;
}

static uint32_t
pieces_of(uint64_t size)
{
	uint64_t n = (size + PROTO_PIECE - 1) / PROTO_PIECE;

	return n > PUSH_PC_PIECES_MAX ? 0 : (uint32_t)n;
}

/* One decoded record: path and arrays point into the body. */
struct pc_rec {
	const char *path;
	size_t path_len;
	struct pc_key key;
	uint32_t n;
	const uint8_t *pieces;		/* n x (hash, u32 crc BE) */
};

static int
rec_parse(const uint8_t *body, size_t len, struct pc_rec *r)
{
	abk_rd rd;
	uint64_t size;

	abk_rd_init(&rd, body, len);
	if (abk_get_str(&rd, &r->path, &r->path_len, ABK_PATH_MAX) != ABK_OK)
		return -1;
	abk_get_u64(&rd, &r->key.ino);
	abk_get_u64(&rd, &size);
	abk_get_i64(&rd, &r->key.mtime);
	abk_get_u32(&rd, &r->key.mtime_nsec);
	abk_get_i64(&rd, &r->key.ctime);
	abk_get_u32(&rd, &r->key.ctime_nsec);
	abk_get_u32(&rd, &r->n);
	r->key.size = size;
	if (rd.failed || r->n == 0 || r->n != pieces_of(size) ||
	    rd.left != (size_t)r->n * PC_PIECE_REC)
		return -1;
	r->pieces = rd.p;
	return 0;
}

/* Read the record at off: its body into *buf (grown), checked by its CRC.
 * Returns the bytes the record takes in the file, 0 at the end, -1 if bad. */
static ssize_t
rec_read(int fd, uint64_t off, uint8_t **buf, size_t *cap, struct pc_rec *r)
{
	uint8_t lenb[4], crcb[4];
	uint32_t len;
	ssize_t n = pread(fd, lenb, 4, (off_t)off);

	if (n == 0)
		return 0;
	if (n != 4)
		return -1;
	len = (uint32_t)lenb[0] << 24 | (uint32_t)lenb[1] << 16 | (uint32_t)lenb[2] << 8 | lenb[3];
	if (len < PC_BODY_FIXED || len > PC_BODY_MAX)
		return -1;
	if (*cap < (size_t)len + 4) {
		uint8_t *nb = realloc(*buf, (size_t)len + 4);

		if (nb == NULL)
			return -1;
		*buf = nb;
		*cap = (size_t)len + 4;
	}
	if (pread(fd, *buf, (size_t)len + 4, (off_t)(off + 4)) != (ssize_t)len + 4)
		return -1;
	memcpy(crcb, *buf + len, 4);
	if (((uint32_t)crcb[0] << 24 | (uint32_t)crcb[1] << 16 | (uint32_t)crcb[2] << 8 | crcb[3]) !=
	    (uint32_t)crc32(0, *buf, len) || rec_parse(*buf, len, r) != 0)
		return -1;
	return (ssize_t)len + 8;
}

/* Encode a record into b (reset first): rec_begin, n pieces, rec_end. */
static void
rec_begin(abk_buf *b, const char *path, size_t path_len, const struct pc_key *k, uint32_t n)
{
	uint32_t body_len = (uint32_t)(PC_BODY_FIXED + path_len + (size_t)n * PC_PIECE_REC);

	abk_buf_reset(b);
	abk_put_u32(b, body_len);
	abk_put_str(b, path, path_len);
	abk_put_u64(b, k->ino);
	abk_put_u64(b, k->size);
	abk_put_i64(b, k->mtime);
	abk_put_u32(b, k->mtime_nsec);
	abk_put_i64(b, k->ctime);
	abk_put_u32(b, k->ctime_nsec);
	abk_put_u32(b, n);
}

static int
rec_end(abk_buf *b, const char *path, size_t path_len, uint32_t n)
{
	uint32_t body_len = (uint32_t)(PC_BODY_FIXED + path_len + (size_t)n * PC_PIECE_REC);

	if (b->len != (size_t)body_len + 4)
		return -1;	/* over the buffer's cap */
	return abk_put_u32(b, (uint32_t)crc32(0, b->data + 4, body_len)) == ABK_OK ? 0 : -1;
}

/* A record whose pieces are already encoded (n x PC_PIECE_REC bytes). */
static int
rec_put(abk_buf *b, const char *path, size_t path_len, const struct pc_key *k, uint32_t n,
    const uint8_t *pieces)
{
	rec_begin(b, path, path_len, k, n);
	abk_put_bytes(b, pieces, (size_t)n * PC_PIECE_REC);
	return rec_end(b, path, path_len, n);
}

static int
head_ok(int fd)
{
	uint8_t h[PC_HEAD_LEN];

	return pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h) && memcmp(h, PC_MAGIC, 4) == 0 &&
	    h[4] == 0 && h[5] == 0 && h[6] == 0 && h[7] == PC_VERSION;
}

static int
head_write(int fd)
{
	static const uint8_t h[PC_HEAD_LEN] = { 'A', 'B', 'K', 'P', 0, 0, 0, PC_VERSION };

	return fsops_write_all(fd, h, sizeof(h));
}

static int
pcx_cmp(const void *a, const void *b)
{
	const struct pc_index *x = a, *y = b;

	return x->prev < y->prev ? -1 : x->prev > y->prev;
}

void
push_pieces_load(struct storage_push *p)
{
	uint8_t *buf = NULL;
	size_t cap = 0, have = 0;
	uint64_t off = PC_HEAD_LEN;

	p->pc_prevfd = openat(p->prevfd, STG_PIECES, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (p->pc_prevfd < 0)
		return;
	if (!head_ok(p->pc_prevfd))
		goto none;
	for (;;) {
		struct pc_rec r;
		ssize_t used = rec_read(p->pc_prevfd, off, &buf, &cap, &r);
		uint32_t idx;

		if (used <= 0)
			break;	/* the end, or damage: the records before it stand */
		if (pathtab_find(&p->prevtab, r.path, r.path_len, &idx)) {
			if (p->pcx_n == have) {
				size_t nh = have ? have * 2 : 64;
				struct pc_index *nx = realloc(p->pcx, nh * sizeof(*nx));

				if (nx == NULL)
					break;
				p->pcx = nx;
				have = nh;
			}
			p->pcx[p->pcx_n++] = (struct pc_index){ idx, (uint32_t)used, off };
		}
		off += (uint64_t)used;
	}
	free(buf);
	if (p->pcx_n > 1)
		qsort(p->pcx, p->pcx_n, sizeof(*p->pcx), pcx_cmp);
	return;
none:
	close(p->pc_prevfd);
	p->pc_prevfd = -1;
}

static const struct pc_index *
pcx_find(const struct storage_push *p, uint32_t prev)
{
	size_t lo = 0, hi = p->pcx_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->pcx[mid].prev == prev)
			return &p->pcx[mid];
		if (p->pcx[mid].prev < prev)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The previous snapshot's record of prev entry o, if it describes st. */
static int
prev_record(struct storage_push *p, uint32_t prev, const struct stat *st, uint8_t **buf,
    size_t *cap, struct pc_rec *r, const struct pc_index **x)
{
	struct manifest_entry ob, *o = &ob;
	struct pc_key now;

	*x = p->pc_prevfd >= 0 ? pcx_find(p, prev) : NULL;
	if (*x == NULL || rec_read(p->pc_prevfd, (*x)->off, buf, cap, r) != (ssize_t)(*x)->len)
		return 0;
	snapfile_entry(&p->prev, prev, &ob);
	key_of(st, &now);
	return r->path_len == o->path_len && memcmp(r->path, o->path, o->path_len) == 0 &&
	    key_eq(&r->key, &now) && now.size == o->size;
}

int
storage_push_prev_pieces(storage_push *p, uint32_t index, uint8_t (*h)[ABK_PIECE_HASH_LEN],
    uint32_t *crc, uint32_t max, unsigned threads, uint32_t *n, uint64_t *prev_size,
    abk_err *err)
{
	abk_err ignored = ABK_ERR_INIT;
	const struct pc_index *x;
	struct pc_rec r;
	struct stat st;
	uint8_t *buf = NULL;
	size_t cap = 0;
	uint32_t want;
	int fd = -1;

	(void)err;	/* nothing here fails the push: no previous version is no reuse */
	*n = 0;
	*prev_size = 0;
	if (storage_push_open_previous(p, index, &fd, prev_size, &ignored) != ABK_OK)
		return ABK_OK;
	want = (uint32_t)((*prev_size + PROTO_PIECE - 1) / PROTO_PIECE);
	if (*prev_size == 0 || (uint64_t)want > max || fstat(fd, &st) != 0)
		goto out;
	if (prev_record(p, p->ents[index].prev, &st, &buf, &cap, &r, &x) && r.n == want) {
		for (uint32_t i = 0; i < want; i++) {
			const uint8_t *q = r.pieces + (size_t)i * PC_PIECE_REC;

			memcpy(h[i], q, ABK_PIECE_HASH_LEN);
			q += ABK_PIECE_HASH_LEN;
			crc[i] = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
		}
		*n = want;
		p->counts.pieces_cached++;
		goto out;
	}
	/* no record, or one that no longer describes the file: read it */
	if (transfer_piece_hashes(fd, *prev_size, h, crc, threads, &ignored) == ABK_OK) {
		*n = want;
		p->counts.pieces_hashed++;
		p->counts.pieces_hashed_bytes += *prev_size;
	}
out:
	free(buf);
	close(fd);
	if (*n == 0)
		*prev_size = 0;
	return ABK_OK;
}

/* ---- filling: the big file being written --------------------------------------- */

static void
fill_drop(struct pc_fill *f)
{
	f->valid = 0;
}

void
push_pieces_feed(struct storage_push *p, const struct push_ent *pe, uint64_t offset,
    const void *data, uint64_t len, const uint8_t *hash, uint32_t crc_before,
    uint32_t crc_after)
{
	struct pc_fill *f = &p->pcf;
	uint32_t index = (uint32_t)(pe - p->ents);
	uint64_t piece_end;

	if (pe->size <= PROTO_PIECE)
		return;
	if (f->index != index) {
		uint32_t n = pieces_of(pe->size);

		f->index = index;
		f->valid = 0;
		if (offset != 0 || n == 0)
			return;	/* not from its start (or too big): no record */
		if (f->hasher == NULL && (f->hasher = abk_piecehash_new()) == NULL)
			return;
		if (f->cap < n) {
			uint8_t (*nh)[ABK_PIECE_HASH_LEN] = realloc(f->h, (size_t)n * sizeof(*nh));
			uint32_t *nc;

			if (nh == NULL)
				return;
			f->h = nh;
			if ((nc = realloc(f->crc, (size_t)n * sizeof(*nc))) == NULL)
				return;
			f->crc = nc;
			f->cap = n;
		}
		f->n = n;
		f->k = 0;
		f->fill = 0;
		f->crc_at = crc_before;
		f->valid = 1;
		abk_piecehash_reset(f->hasher);
	}
	if (!f->valid)
		return;
	piece_end = (uint64_t)f->k * PROTO_PIECE + PROTO_PIECE;
	if (piece_end > pe->size)
		piece_end = pe->size;
	/* Our client's units are pieces: a block never crosses a piece's end.
	 * Another client's may; its file simply gets no record. */
	if (f->k >= f->n || offset != (uint64_t)f->k * PROTO_PIECE + f->fill ||
	    offset + len > piece_end || (data == NULL && (hash == NULL || f->fill != 0 ||
	    offset + len != piece_end))) {
		fill_drop(f);
		return;
	}
	if (data != NULL)
		abk_piecehash_update(f->hasher, data, (size_t)len);
	f->fill += len;
	if (offset + len < piece_end)
		return;
	if (data != NULL)
		abk_piecehash_final(f->hasher, f->h[f->k]);
	else
		memcpy(f->h[f->k], hash, ABK_PIECE_HASH_LEN);
	/* the piece's own CRC-32 out of the file's running one: crc(A|B) is
	 * crc(A) shifted by |B| xor crc(B) */
	f->crc[f->k] = crc_after ^ (uint32_t)crc32_combine(f->crc_at, 0,
	    (z_off_t)(piece_end - (uint64_t)f->k * PROTO_PIECE));
	f->crc_at = crc_after;
	f->k++;
	f->fill = 0;
	abk_piecehash_reset(f->hasher);
}

static int
stage_open(struct storage_push *p)
{
	if (p->pc_stagefd >= 0)
		return 0;
	p->pc_stagefd = openat(p->stagefd, STG_PIECES, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (p->pc_stagefd < 0)
		return -1;
	if (lseek(p->pc_stagefd, 0, SEEK_END) == 0 && head_write(p->pc_stagefd) != 0) {
		close(p->pc_stagefd);
		p->pc_stagefd = -1;
		unlinkat(p->stagefd, STG_PIECES, 0);
		return -1;
	}
	return 0;
}

void
push_pieces_done(struct storage_push *p, const struct push_ent *pe, int fd)
{
	struct pc_fill *f = &p->pcf;
	struct pc_key k;
	struct stat st;
	abk_buf b;

	if (f->index != (uint32_t)(pe - p->ents) || !f->valid || f->k != f->n)
		return;
	f->index = NO_PREV;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != pe->size || stage_open(p) != 0)
		return;
	key_of(&st, &k);
	abk_buf_init(&b, PC_BODY_MAX + 8);
	/* a torn record (crash, full disk) fails its CRC and ends the scan */
	rec_begin(&b, pe->path, pe->path_len, &k, f->n);
	for (uint32_t i = 0; i < f->n; i++) {
		abk_put_bytes(&b, f->h[i], ABK_PIECE_HASH_LEN);
		abk_put_u32(&b, f->crc[i]);
	}
	if (rec_end(&b, pe->path, pe->path_len, f->n) == 0)
		(void)fsops_write_all(p->pc_stagefd, b.data, b.len);
	abk_buf_free(&b);
}

void
push_pieces_linked(struct storage_push *p, const struct push_ent *pe, const struct stat *before,
    int dfd, const char *name)
{
	const struct pc_index *x;
	struct pc_rec r;
	struct stat after;
	uint8_t *buf = NULL;
	size_t cap = 0;

	if (pe->prev == NO_PREV || p->pc_prevfd < 0)
		return;
	/* the record must describe the inode as it was just before the link,
	 * and the link must be the only change since */
	if (prev_record(p, pe->prev, before, &buf, &cap, &r, &x) &&
	    fstatat(dfd, name, &after, AT_SYMLINK_NOFOLLOW) == 0 && after.st_ino == before->st_ino &&
	    after.st_size == before->st_size &&
	    after.st_mtim.tv_sec == before->st_mtim.tv_sec &&
	    after.st_mtim.tv_nsec == before->st_mtim.tv_nsec) {
		if (p->pcl_n == p->pcl_cap) {
			size_t nc = p->pcl_cap ? p->pcl_cap * 2 : 64;
			struct pc_link *nl = realloc(p->pcl, nc * sizeof(*nl));

			if (nl == NULL)
				goto out;
			p->pcl = nl;
			p->pcl_cap = nc;
		}
		p->pcl[p->pcl_n].index = (uint32_t)(pe - p->ents);
		p->pcl[p->pcl_n].x = *x;
		key_of(&after, &p->pcl[p->pcl_n].key);
		p->pcl_n++;
	}
out:
	free(buf);
}

/* The staging records of files written (or resumed) in this push that are
 * still as recorded, each path once. */
static int
commit_staged(struct storage_push *p, int out, uint8_t *seen, abk_buf *b)
{
	uint8_t *buf = NULL;
	size_t cap = 0;
	uint64_t off = PC_HEAD_LEN;
	int fd, rc = 0;

	fd = openat(p->stagefd, STG_PIECES, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (!head_ok(fd))
		goto out;
	for (;;) {
		char name[ABK_NAME_MAX + 1];
		struct pc_key now;
		struct pc_rec r;
		struct stat st;
		ssize_t used = rec_read(fd, off, &buf, &cap, &r);
		uint32_t i;
		int dfd;

		if (used <= 0)
			break;
		off += (uint64_t)used;
		if (!pathtab_find(&p->tab, r.path, r.path_len, &i) || seen[i] ||
		    (p->ents[i].state != ST_DONE && p->ents[i].state != ST_RESUMED) ||
		    p->ents[i].size != r.key.size ||
		    fsops_dircache_parent(&p->sdc, r.path, r.path_len, &dfd, name, NULL) != ABK_OK ||
		    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		key_of(&st, &now);
		if (!key_eq(&now, &r.key))
			continue;	/* rewritten since, or its mode and time set again */
		seen[i] = 1;
		if (rec_put(b, r.path, r.path_len, &r.key, r.n, r.pieces) != 0 ||
		    fsops_write_all(out, b->data, b->len) != 0) {
			rc = -1;
			break;
		}
	}
out:
	free(buf);
	close(fd);
	return rc;
}

uint64_t
push_pieces_commit(struct storage_push *p)
{
	uint8_t *seen = NULL, *buf = NULL;
	size_t cap = 0;
	struct stat st;
	abk_buf b;
	int out, rc;

	if (p->pc_stagefd >= 0)
		close(p->pc_stagefd);
	p->pc_stagefd = -1;
	abk_buf_init(&b, PC_BODY_MAX + 8);
	seen = calloc(p->n ? p->n : 1, 1);
	out = openat(p->stagefd, PC_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	rc = seen == NULL || out < 0 || head_write(out) != 0 ? -1 : 0;
	if (rc == 0)
		rc = commit_staged(p, out, seen, &b);
	for (size_t i = 0; rc == 0 && i < p->pcl_n; i++) {
		const struct pc_link *l = &p->pcl[i];
		const struct push_ent *pe = &p->ents[l->index];
		struct pc_rec r;

		if (seen[l->index] || rec_read(p->pc_prevfd, l->x.off, &buf, &cap, &r) !=
		    (ssize_t)l->x.len)
			continue;
		seen[l->index] = 1;
		if (rec_put(&b, pe->path, pe->path_len, &l->key, r.n, r.pieces) != 0 ||
		    fsops_write_all(out, b.data, b.len) != 0)
			rc = -1;
	}
	if (out >= 0 && (fstat(out, &st) != 0 || close(out) != 0))
		rc = -1;
	if (rc == 0 && (uint64_t)st.st_size == PC_HEAD_LEN)
		rc = 1;		/* no big file: no cache file */
	if (rc == 0 && renameat(p->stagefd, PC_TMP, p->stagefd, STG_PIECES) != 0)
		rc = -1;
	if (rc != 0) {
		/* no cache rather than one that may lie (or none needed) */
		unlinkat(p->stagefd, PC_TMP, 0);
		unlinkat(p->stagefd, STG_PIECES, 0);
	}
	free(buf);
	free(seen);
	abk_buf_free(&b);
	return rc == 0 ? (uint64_t)st.st_size : 0;
}

void
push_pieces_free(struct storage_push *p)
{
	if (p->pc_prevfd >= 0)
		close(p->pc_prevfd);
	if (p->pc_stagefd >= 0)
		close(p->pc_stagefd);
	p->pc_prevfd = p->pc_stagefd = -1;
	abk_piecehash_free(p->pcf.hasher);
	free(p->pcf.h);
	free(p->pcf.crc);
	free(p->pcx);
	free(p->pcl);
	memset(&p->pcf, 0, sizeof(p->pcf));
	p->pcf.index = NO_PREV;
	p->pcx = NULL;
	p->pcl = NULL;
	p->pcx_n = p->pcl_n = p->pcl_cap = 0;
}
