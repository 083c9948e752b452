/*
 * storage_journal.c - the staging journal: which files of SOURCE/.staging/tree
 * arrived completely, so an interrupted push resumes instead of resending.
 *
 * Format: "ABKJ" u32 version, then records
 *   u32 len | payload | u32 CRC-32(payload)
 *   payload: u8 kind (1 complete, 2 withdrawn, 3 partial) | str path | u64 size
 *            | i64 mtime | u32 crc | u8 has_sha | [32 bytes sha256]
 *            | u8 flags (MF_HAS_STAT, MF_RACY of the listed entry)
 *            | [u32 mtime_nsec | i64 ctime | u32 ctime_nsec | u64 inode]
 *            | [u64 prefix]      (kind 3 only)
 * A partial record (issue 10 item 5) says that the first `prefix` bytes of
 * the staged file (whole 4 MiB pieces) are on disk, synced (fdatasync before
 * the record is made), with CRC-32 crc; the next push of the same client
 * file (same size and stat fields) verifies them against crc and offers
 * them to the client in PUSH_PIECES (storage_push_staged_pieces).
 * A journal of another version (1: no stat fields) is started afresh: its
 * files travel again rather than resume on a weaker comparison.
 * The last record of a path wins.  Records are gathered in memory and
 * appended with one plain write(2) per zip batch (storage_push_journal_flush)
 * or per JOURNAL_FLUSH_AT bytes, no fsync: a lost or torn tail only means
 * those files travel again; a torn tail is cut at the first bad record,
 * and every resumed file is read again and checked against its CRC before
 * it is published (storage_publish.c), so a journal that ran ahead of the data on
 * a crash is harmless.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "storage_push_int.h"

#define JOURNAL_MAGIC "ABKJ"
#define JOURNAL_VERSION 2u
#define JOURNAL_MAX_SIZE ((size_t)1 << 34)

static const char *
j_key(void *ctx, uint32_t idx, size_t *len)
{
	struct storage_push *p = ctx;

	*len = p->jr[idx].path_len;
	return p->jr[idx].path;
}

/*
 * Make r the record of its path in memory.  The table is what an earlier,
 * interrupted push left (read by push_journal_load, add set); a record this
 * push writes only updates a path already there: the lookups (the plan's
 * resumed files, staged pieces, the withdrawal of an older record) concern
 * what was staged before this push, and keeping every file's record of a
 * 1,000,000-file push in memory cost the server 250 MB (issue 12 item 4).
 */
static int
journal_apply(struct storage_push *p, const struct jrec *r, int add, abk_err *err)
{
	uint32_t idx;

	if (pathtab_find(&p->jtab, r->path, r->path_len, &idx)) {
		const char *keep = p->jr[idx].path;

		p->jr[idx] = *r;
		p->jr[idx].path = keep;
		return ABK_OK;
	}
	if (!add)
		return ABK_OK;
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
	abk_get_u64(r, &j->st.size);
	abk_get_i64(r, &j->st.mtime);
	abk_get_u32(r, &j->crc);
	abk_get_u8(r, &j->has_sha);
	if (j->has_sha)
		abk_get_bytes(r, j->sha, sizeof(j->sha));
	abk_get_u8(r, &j->st.flags);
	if (j->st.flags & MF_HAS_STAT) {
		abk_get_u32(r, &j->st.mtime_nsec);
		abk_get_i64(r, &j->st.ctime);
		abk_get_u32(r, &j->st.ctime_nsec);
		abk_get_u64(r, &j->st.inode);
	}
	if (kind == JOURNAL_PARTIAL)
		abk_get_u64(r, &j->part_len);
	if (r->failed || r->left != 0 || (kind != JOURNAL_COMPLETE && kind != JOURNAL_WITHDRAWN &&
	    kind != JOURNAL_PARTIAL) || j->part_len > j->st.size || j->has_sha > 1 || (j->st.flags & ~(MF_HAS_STAT | MF_RACY)) != 0 ||
	    pathsafe_check(j->path, j->path_len) != PATHSAFE_OK)
		return -1;
	j->st.type = MF_FILE;
	j->complete = kind == JOURNAL_COMPLETE;
	return 0;
}

/* Read the journal; cut it after the last good record, or start it afresh. */
int
push_journal_load(struct storage_push *p, abk_err *err)
{
	uint8_t *data = NULL, hdr[8];
	size_t len = 0, pos = 8;
	struct stat st;
	int rc;

	rc = pathtab_init(&p->jtab, 0, j_key, p, err);
	if (rc != ABK_OK)
		return rc;
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
	if (len < 8 || memcmp(data, JOURNAL_MAGIC, 4) != 0 || data[4] != 0 || data[5] != 0 ||
	    data[6] != 0 || data[7] != JOURNAL_VERSION) {
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
		if (crc != storage_crc32((uint32_t)crc32(0, Z_NULL, 0), data + pos + 4, rlen))
			break;
		abk_rd_init(&r, data + pos + 4, rlen);
		if (journal_parse(&r, &j) != 0)
			break;
		rc = journal_apply(p, &j, 1, err);
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

int
push_journal_flush(struct storage_push *p, abk_err *err)
{
	int rc = ABK_OK;

	if (p->jbuf.len > 0 && p->jfd >= 0 && fsops_write_all(p->jfd, p->jbuf.data, p->jbuf.len) != 0)
		rc = abk_err_set(err, ABK_E_IO, "write staging journal: %s", strerror(errno));
	abk_buf_reset(&p->jbuf);
	return rc;
}

int
storage_push_journal_flush(storage_push *p, abk_err *err)
{
	int rc;

	if (p == NULL)
		return ABK_OK;
	rc = push_part_sync(p, 0, err);
	return rc == ABK_OK ? push_journal_flush(p, err) : rc;
}

static int
journal_put(struct storage_push *p, const struct push_ent *pe, int kind, uint32_t crc32v,
    uint64_t part_len, abk_err *err)
{
	abk_buf *b = &p->jbuf;
	size_t at = b->len;
	struct jrec j;
	uint32_t crc, rlen;
	int rc = ABK_OK;

	abk_put_u32(b, 0);	/* length, filled in below */
	abk_put_u8(b, (uint8_t)kind);
	abk_put_str(b, pe->path, pe->path_len);
	abk_put_u64(b, pe->size);
	abk_put_i64(b, pe->mtime);
	abk_put_u32(b, crc32v);
	abk_put_u8(b, (pe->flags & MF_HAS_SHA256) ? 1 : 0);
	if (pe->flags & MF_HAS_SHA256)
		abk_put_bytes(b, push_sha(pe), ABK_SHA256_LEN);
	abk_put_u8(b, pe->flags & (MF_HAS_STAT | MF_RACY));
	if (pe->flags & MF_HAS_STAT) {
		abk_put_u32(b, pe->mtime_nsec);
		abk_put_i64(b, pe->ctime);
		abk_put_u32(b, pe->ctime_nsec);
		abk_put_u64(b, pe->inode);
	}
	if (kind == JOURNAL_PARTIAL)
		abk_put_u64(b, part_len);
	if (b->failed) {
		b->len = at;
		b->failed = 0;
		return abk_err_set(err, ABK_E_NOMEM, "no room for a staging journal record");
	}
	rlen = (uint32_t)(b->len - at - 4);
	crc = storage_crc32((uint32_t)crc32(0, Z_NULL, 0), b->data + at + 4, rlen);
	abk_put_u32(b, crc);
	b->data[at] = (uint8_t)(rlen >> 24);
	b->data[at + 1] = (uint8_t)(rlen >> 16);
	b->data[at + 2] = (uint8_t)(rlen >> 8);
	b->data[at + 3] = (uint8_t)rlen;
	if (b->len >= JOURNAL_FLUSH_AT && (rc = push_journal_flush(p, err)) != ABK_OK)
		return rc;
	memset(&j, 0, sizeof(j));
	j.path = pe->path;
	j.path_len = pe->path_len;
	push_ent_entry(pe, &j.st);
	j.st.flags = pe->flags & (MF_HAS_STAT | MF_RACY);
	j.st.path = NULL;
	j.st.path_len = 0;
	j.st.target = NULL;
	j.st.target_len = 0;
	j.crc = crc32v;
	j.part_len = kind == JOURNAL_PARTIAL ? part_len : 0;
	j.complete = kind == JOURNAL_COMPLETE;
	j.has_sha = (pe->flags & MF_HAS_SHA256) ? 1 : 0;
	if (j.has_sha)
		memcpy(j.sha, push_sha(pe), sizeof(j.sha));
	return journal_apply(p, &j, 0, err);
}

int
push_journal_append(struct storage_push *p, const struct push_ent *pe, int kind, abk_err *err)
{
	return journal_put(p, pe, kind, pe->crc, 0, err);
}

int
push_journal_partial(struct storage_push *p, const struct push_ent *pe, uint64_t len,
    uint32_t crc, abk_err *err)
{
	return journal_put(p, pe, len > 0 ? JOURNAL_PARTIAL : JOURNAL_WITHDRAWN, crc, len, err);
}
