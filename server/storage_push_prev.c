/*
 * storage_push_prev.c - what the previous snapshot gives a push: loading it
 * (and verify's damaged lists), deciding which listed files are unchanged
 * (hard-linked at commit) or resumed from staging and which need data, the
 * previous version for reused pieces, and the last good copy of a file the
 * client could not read.
 *
 * A file is unchanged only if everything the client recorded matches and the
 * stored inode is intact (DESIGN.md invariant 10).
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

static const char *
prev_key(void *ctx, uint32_t idx, size_t *len)
{
	struct storage_push *p = ctx;

	return snapfile_path(&p->prev, idx, len);
}

int
push_load_previous(struct storage_push *p, abk_err *err)
{
	abk_err tmp = ABK_ERR_INIT;
	char **ids = NULL;
	size_t nids = 0;
	int rc;

	rc = stg_list_ids(p->srcfd, &ids, &nids, err);
	if (rc != ABK_OK || nids == 0)
		goto out;
	/* Unchanged files share inodes across snapshots: damage verify found
	 * in any of them must not be linked into the new one. */
	for (size_t i = 0; i < nids && rc == ABK_OK; i++) {
		int sfd = openat(p->srcfd, ids[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (sfd < 0)
			continue;	/* pruned meanwhile */
		rc = damaged_load(sfd, &p->damaged, err);
		close(sfd);
	}
	if (rc != ABK_OK)
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
	for (size_t i = 0; rc == ABK_OK && i < p->prev.n; i++) {
		size_t len;
		const char *path = snapfile_path(&p->prev, i, &len);

		if (pathtab_insert(&p->prevtab, path, len, (uint32_t)i, NULL) < 0)
			rc = abk_err_set(err, ABK_E_NOMEM, "out of memory indexing the previous snapshot");
	}
	fsops_dircache_init(&p->pdc, p->prevtree, 0);
	if (rc == ABK_OK)
		push_pieces_load(p);
out:
	fsops_names_free(ids, nids);
	return rc;
}

/* Is the stored regular file at path below dc of this size, and not an
 * inode verify found damaged? */
static int
stored_ok(const struct storage_push *p, struct fsops_dircache *dc,
    const struct manifest_entry *e)
{
	char name[ABK_NAME_MAX + 1];
	struct stat st;
	int dfd;

	if (fsops_dircache_parent(dc, e->path, e->path_len, &dfd, name, NULL) != ABK_OK)
		return 0;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == e->size &&
	    !damaged_has(&p->damaged, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
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

/*
 * May the previous version o stand for the listed file e?  The stored inode
 * carries o's mtime, so that must match to the nanosecond (a snapshot from
 * before protocol 2 has none: such files are sent once more).  Then either
 * both SHA-256 match (--checksum), or the client's size, mtime, ctime and
 * inode are all as recorded and o was not read in its racy window
 * (DESIGN.md invariant 10).
 */
static int
same_content(const struct storage_push *p, const struct manifest_entry *o,
    const struct manifest_entry *e)
{
	uint32_t onsec = (o->flags & MF_HAS_STAT) ? o->mtime_nsec : 0;
	uint32_t ensec = (e->flags & MF_HAS_STAT) ? e->mtime_nsec : 0;

	if (o->size != e->size || o->mtime != e->mtime || onsec != ensec || !same_sha(p, e, o))
		return 0;
	if (p->checksum_mode && (o->flags & MF_HAS_SHA256) && (e->flags & MF_HAS_SHA256))
		return 1;
	return manifest_same_stat(o, e);
}

/* Decide the state of a new regular file of non-zero size. */
void
push_decide_file(struct storage_push *p, struct push_ent *pe)
{
	const struct manifest_entry *e, *o;
	struct manifest_entry eb, ob;
	uint32_t j;

	push_ent_entry(pe, &eb);
	e = &eb;

	if (pe->prev != NO_PREV) {
		snapfile_entry(&p->prev, pe->prev, &ob);
		o = &ob;
		if (o->type == MF_FILE && o->mode == e->mode && (o->flags & MF_HAS_CRC) &&
		    same_content(p, o, e) &&
		    (!(e->flags & MF_HAS_CRC) || e->crc32 == o->crc32) &&
		    stored_ok(p, &p->pdc, o) &&
		    /* keep the previous SHA-256 (out of memory: send the file) */
		    ((e->flags & MF_HAS_SHA256) || !(o->flags & MF_HAS_SHA256) ||
		    push_ent_set_sha(p, pe, o->sha256) == ABK_OK)) {
			pe->state = ST_LINK;
			pe->crc = o->crc32;
			p->counts.unchanged++;
			return;
		}
	}
	if (pathtab_find(&p->jtab, e->path, e->path_len, &j)) {
		const struct jrec *r = &p->jr[j];

		if (r->complete && manifest_same_stat(&r->st, e) &&
		    (!(e->flags & MF_HAS_CRC) || e->crc32 == r->crc) &&
		    (!(e->flags & MF_HAS_SHA256) ||
		    (r->has_sha && memcmp(r->sha, e->sha256, sizeof(r->sha)) == 0)) &&
		    stored_ok(p, &p->sdc, e) &&
		    (!r->has_sha || push_ent_set_sha(p, pe, r->sha) == ABK_OK)) {
			pe->state = ST_RESUMED;
			pe->crc = r->crc;
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
push_keep_previous(struct storage_push *p, struct push_ent *pe)
{
	const struct manifest_entry *o;
	struct manifest_entry ob;
	const char *path = pe->path;

	if (pe->prev == NO_PREV)
		return 0;
	snapfile_entry(&p->prev, pe->prev, &ob);
	o = &ob;
	/* Issue 8 item 9: a file the client could not read keeps its last good
	 * copy rather than vanish from the backup (and be pruned after `keep`
	 * pushes).  The entry becomes the previous one: it describes the
	 * stored bytes.  A damaged copy is not carried forward. */
	if (o->type != MF_FILE || !(o->flags & MF_HAS_CRC) || !stored_ok(p, &p->pdc, o))
		return 0;
	if (push_ent_set(p, pe, o, path) != ABK_OK)
		return 0;	/* out of memory: dropped, as if damaged */
	pe->state = o->size == 0 ? ST_EMPTY : ST_LINK;
	pe->crc = o->crc32;
	pe->kept = 1;
	p->kept++;
	return 1;
}

int
storage_push_open_previous(storage_push *p, uint32_t index, int *fd, uint64_t *size,
    abk_err *err)
{
	const struct push_ent *pe;
	const struct manifest_entry *o;
	struct manifest_entry ob;

	if (index >= p->n)
		return abk_err_set(err, ABK_E_NOTFOUND, "no entry %u", index);
	pe = &p->ents[index];
	if (pe->prev == NO_PREV || p->prevtree < 0)
		return abk_err_set(err, ABK_E_NOTFOUND, "no previous version");
	snapfile_entry(&p->prev, pe->prev, &ob);
	o = &ob;
	if (o->type != MF_FILE)
		return abk_err_set(err, ABK_E_NOTFOUND, "previous version is not a file");
	/* the snapshot reader's checks: no symlink followed, the recorded size */
	{
		char name[ABK_NAME_MAX + 1];
		struct stat st;
		int dfd, f, rc;

		rc = fsops_dircache_parent(&p->pdc, o->path, o->path_len, &dfd, name, err);
		if (rc != ABK_OK)
			return rc;
		f = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (f < 0)
			return abk_err_set(err, ABK_E_NOTFOUND, "previous version: %s",
			    strerror(errno));
		if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size != o->size ||
		    damaged_has(&p->damaged, (uint64_t)st.st_dev, (uint64_t)st.st_ino)) {
			close(f);
			return abk_err_set(err, ABK_E_NOTFOUND, "previous version damaged");
		}
		*fd = f;
		*size = o->size;
	}
	return ABK_OK;
}
