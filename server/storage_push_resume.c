/*
 * storage_push_resume.c - resume inside a big file (issue 10 item 5): while a
 * file is written, the CRC-32 at each 4 MiB piece boundary; partial journal
 * records of the synced prefix (every PART_SYNC_EVERY bytes and when a push
 * stops, after an fdatasync); at the next push, that prefix read again,
 * checked against its record and offered in PUSH_PIECES.
 * Internal to storage; one thread uses a push at a time.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "storage_push_int.h"
#include "transfer.h"

void
push_part_advance(struct storage_push *p, const struct push_ent *pe)
{
	if (pe->written % PROTO_PIECE == 0 || pe->written == pe->size) {
		p->part_at = pe->written;
		p->part_crc = pe->crc;
	}
}

int
push_part_overwrite(struct storage_push *p, const struct push_ent *pe, uint64_t offset,
    abk_err *err)
{
	if (offset >= p->part_synced)
		return ABK_OK;
	p->part_synced = offset - offset % PROTO_PIECE;
	if (p->part_synced != offset)
		p->part_synced = 0;	/* not at a boundary: its CRC is unknown */
	return push_journal_partial(p, pe, p->part_synced, pe->crc, err);
}

int
push_part_sync(struct storage_push *p, int force, abk_err *err)
{
	struct push_ent *pe;

	if (p->cur_fd < 0 || p->cur >= p->n)
		return ABK_OK;
	pe = &p->ents[p->cur];
	if (pe->state != ST_NEED || p->part_at <= p->part_synced ||
	    p->part_at % PROTO_PIECE != 0 ||
	    (!force && p->part_at - p->part_synced < PART_SYNC_EVERY))
		return ABK_OK;
	/* the data first: a record never claims bytes a crash can lose */
	if (fdatasync(p->cur_fd) != 0)
		return abk_err_set(err, ABK_E_IO, "sync a staged file: %s", strerror(errno));
	p->part_synced = p->part_at;
	return push_journal_partial(p, pe, p->part_at, p->part_crc, err);
}

/* manifest_same_stat(was, pe's listing) */
static int
same_stat(const struct manifest_entry *was, const struct push_ent *pe)
{
	struct manifest_entry now;

	push_ent_entry(pe, &now);
	return manifest_same_stat(was, &now);
}

/*
 * Issue 10 item 5: what an interrupted push left of a big file.  A partial
 * journal record of the same client file (same size and stat fields, not
 * racy) names a prefix of whole pieces synced before the record was made;
 * it is read again here, and offered only if its CRC-32 is the recorded one
 * and the staged file is ours alone (one link: never a published inode).
 */
int
storage_push_staged_pieces(storage_push *p, uint32_t index, uint8_t (*h)[ABK_PIECE_HASH_LEN],
    uint32_t *crc, uint32_t max, unsigned threads, uint32_t *n, abk_err *err)
{
	char name[ABK_NAME_MAX + 1];
	struct push_ent *pe;
	const struct jrec *r;
	struct stat st;
	uint32_t j, k, all;
	int dfd, fd = -1;

	*n = 0;
	if (index >= p->n)
		return abk_err_set(err, ABK_E_NOTFOUND, "no entry %u", index);
	pe = &p->ents[index];
	if (pe->state != ST_NEED || !pathtab_find(&p->jtab, pe->path, pe->path_len, &j))
		return ABK_OK;
	r = &p->jr[j];
	if (r->complete || r->part_len == 0 || r->part_len % PROTO_PIECE != 0 ||
	    r->part_len > pe->size || r->part_len / PROTO_PIECE > max ||
	    !same_stat(&r->st, pe) ||
	    ((pe->flags & MF_HAS_SHA256) &&
	    (!r->has_sha || memcmp(r->sha, push_sha(pe), sizeof(r->sha)) != 0)))
		return ABK_OK;
	k = (uint32_t)(r->part_len / PROTO_PIECE);
	if (fsops_dircache_parent(&p->sdc, pe->path, pe->path_len, &dfd, name, NULL) == ABK_OK)
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return ABK_OK;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (uint64_t)st.st_size < r->part_len ||
	    transfer_piece_hashes(fd, r->part_len, h, crc, threads, NULL) != ABK_OK) {
		close(fd);
		return ABK_OK;
	}
	close(fd);
	all = (uint32_t)crc32(0, Z_NULL, 0);
	for (uint32_t i = 0; i < k; i++)
		all = (uint32_t)crc32_combine(all, crc[i], (z_off_t)PROTO_PIECE);
	if (all != r->crc)	/* not what was synced: it travels again */
		return push_journal_partial(p, pe, 0, 0, err);
	pe->staged = r->part_len;
	*n = k;
	return ABK_OK;
}
