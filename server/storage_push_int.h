/*
 * storage_push_int.h - the state of one push, shared by storage_push.c (begin, file list,
 * data), storage_push_prev.c, storage_push_resume.c (pieces of an unfinished file),
 * storage_journal.c (the staging journal of completed files) and storage_publish.c
 * (commit: build the rest of the tree, write the manifest, publish).
 * Internal to storage; one thread uses a push at a time.
 */
#ifndef ABS_PUSH_INT_H
#define ABS_PUSH_INT_H

#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include "crypto.h"
#include "piecehash.h"
#include "fsops.h"
#include "pathtab.h"
#include "storage_int.h"

#define JOURNAL_COMPLETE 1
#define JOURNAL_WITHDRAWN 2
#define JOURNAL_PARTIAL 3	/* a synced prefix of whole pieces (issue 10 item 5) */
/* A partial record is made (after an fdatasync of the file) at least every
 * this many bytes of one file, and when a push stops: a server killed with
 * -9 loses at most this much of a big file. */
#define PART_SYNC_EVERY ((uint64_t)64 << 20)
#define JOURNAL_REC_MAX (ABK_PATH_MAX + 128)
/* Journal records are written in batches of about this many bytes. */
#define JOURNAL_FLUSH_AT (64u * 1024)
#define JOURNAL_BUF_MAX (JOURNAL_FLUSH_AT + JOURNAL_REC_MAX + 16)
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
	ST_SKIPPED,	/* the client could not read it: left out at commit */
};

enum push_phase { PH_LIST, PH_DATA, PH_FAILED, PH_CLOSED };

/*
 * One listed entry: its manifest fields without the rare ones.  96 bytes
 * (a struct manifest_entry alone is 128): 1,000,000 files must fit in
 * 256 MiB with the previous snapshot's index (issue 12 item 4).  The
 * SHA-256 (MF_HAS_SHA256) and a symlink's target live in the arena, at x:
 * [32 bytes of SHA-256, if flagged][the target and a NUL, for a symlink].
 */
struct push_ent {
	const char *path;		/* in the arena, NUL-terminated */
	uint8_t *x;			/* in the arena: see above; NULL: neither */
	uint64_t size;
	int64_t mtime;
	int64_t ctime;
	uint64_t inode;
	uint64_t written;
	uint64_t staged;		/* verified prefix kept in staging from an
					 * interrupted push (storage_push_staged_pieces) */
	uint32_t path_len;
	uint32_t mtime_nsec, ctime_nsec;
	uint32_t crc32;			/* listed, valid with MF_HAS_CRC */
	uint32_t prev;			/* index in the previous manifest */
	uint32_t crc;
	uint16_t mode;
	uint16_t target_len;
	uint8_t type;
	uint8_t flags;
	uint8_t state;
	uint8_t kept;			/* unreadable on the client: previous version linked */
};

static inline const uint8_t *
push_sha(const struct push_ent *pe)
{
	return pe->x;
}

static inline const char *
push_target(const struct push_ent *pe)
{
	return (const char *)pe->x + ((pe->flags & MF_HAS_SHA256) ? ABK_SHA256_LEN : 0);
}

struct jrec {
	const char *path;
	size_t path_len;
	struct manifest_entry st;	/* size, mtime, stat fields and flags (MF_HAS_STAT,
					 * MF_RACY) of the listed file; no path */
	uint32_t crc;			/* partial: CRC-32 of the prefix */
	uint64_t part_len;		/* partial: synced prefix (0: not partial) */
	uint8_t complete;
	uint8_t has_sha;
	uint8_t sha[ABK_SHA256_LEN];
};

/* The piece cache (storage_pieces.c). */
#define PUSH_PC_PIECES_MAX 16384u	/* pieces of a file with a record (64 GiB) */
struct pc_key {				/* the stored file a record describes */
	uint64_t ino, size;
	int64_t mtime, ctime;
	uint32_t mtime_nsec, ctime_nsec;
};
struct pc_index {			/* a record of the previous snapshot's cache */
	uint32_t prev;			/* its entry in the previous manifest */
	uint32_t len;			/* bytes in the file */
	uint64_t off;
};
struct pc_link {			/* a big file hard-linked at commit */
	uint32_t index;
	struct pc_index x;
	struct pc_key key;		/* read right after linkat */
};
struct pc_fill {			/* the big file being written */
	uint32_t index;			/* NO_PREV: none */
	int valid;
	uint32_t n, k, cap;		/* pieces, done, allocated */
	uint64_t fill;			/* bytes of piece k so far */
	uint32_t crc_at;		/* the file's CRC-32 where piece k starts */
	abk_piecehash *hasher;
	uint8_t (*h)[ABK_PIECE_HASH_LEN];
	uint32_t *crc;
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
	struct damaged_set damaged;	/* stored inodes verify found damaged (any snapshot) */

	struct push_ent *ents;
	size_t n, cap;
	struct arena arena;
	struct pathtab tab;

	struct jrec *jr;
	size_t jn, jcap;
	abk_buf jbuf;			/* records not yet written to jfd */
	struct pathtab jtab;

	struct fsops_dircache sdc;	/* staging tree, creating */
	struct fsops_dircache pdc;	/* previous tree, read-only */

	uint32_t cur;			/* file open for writing, if cur_fd >= 0 */
	int cur_fd;
	int cur_sha_ok;			/* sha holds all of cur's bytes so far */
	uint64_t cur_zero_from;		/* cur reads as zeros from here: holes may stay */
	int cur_sparse;			/* a block was left as a hole: set the size at the end */
	/* cur's resume state: the journal holds a partial record of
	 * [0, part_synced); [0, part_at) (a piece boundary) has CRC part_crc */
	uint64_t part_synced, part_at;
	uint32_t part_crc;
	abk_sha256_ctx sha;

	int single_file;		/* the source is one file (manifest flag) */
	uint64_t skipped;		/* entries in state ST_SKIPPED */
	uint64_t kept;			/* of those, carried forward from the previous snapshot */

	/* the piece cache: the previous snapshot's (read), staging's (appended) */
	int pc_prevfd, pc_stagefd;
	struct pc_index *pcx;		/* ascending by prev */
	size_t pcx_n;
	struct pc_link *pcl;
	size_t pcl_n, pcl_cap;
	struct pc_fill pcf;

	struct storage_push_counts counts;
	uint64_t done;			/* needed files complete */
	uint64_t bytes_received;
	uint64_t bytes_stored;
};

static inline const char *
entry_quote(const struct manifest_entry *e, char *q, size_t qsz)
{
	return fsops_quote(e->path, e->path_len, q, qsz);
}

static inline const char *
push_quote(const struct push_ent *pe, char *q, size_t qsz)
{
	return fsops_quote(pe->path, pe->path_len, q, qsz);
}

static inline uint32_t
push_file_mode(uint32_t mode)
{
	return (mode & 0777) | 0600;
}

static inline uint32_t
push_dir_mode(uint32_t mode)
{
	return (mode & 0777) | 0700;
}

static inline void
push_mtime(const struct push_ent *pe, struct timespec ts[2])
{
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = (time_t)pe->mtime;
	ts[1].tv_nsec = (pe->flags & MF_HAS_STAT) ? (long)pe->mtime_nsec : 0;
}

/* storage_push.c: set pe from e (path: the arena copy of e's, or NULL to
 * copy it); ABK_OK or ABK_E_NOMEM. */
int push_ent_set(struct storage_push *p, struct push_ent *pe, const struct manifest_entry *e,
    const char *path);
/* Give pe this SHA-256 (MF_HAS_SHA256); ABK_OK or ABK_E_NOMEM. */
int push_ent_set_sha(struct storage_push *p, struct push_ent *pe, const uint8_t *sha);
/* pe as a manifest entry (path and target point into the arena). */
void push_ent_entry(const struct push_ent *pe, struct manifest_entry *e);

/* storage_journal.c: open and read SOURCE/.staging/journal (p->jfd, p->jr, p->jtab). */
int push_journal_load(struct storage_push *p, abk_err *err);
/* Append a record (JOURNAL_COMPLETE or JOURNAL_WITHDRAWN) for pe: buffered in
 * p->jbuf, written when JOURNAL_FLUSH_AT bytes are waiting or at a flush. */
int push_journal_append(struct storage_push *p, const struct push_ent *pe, int kind,
    abk_err *err);
/* A partial record for pe: [0, len) is synced with CRC-32 crc (len 0:
 * withdrawn). */
int push_journal_partial(struct storage_push *p, const struct push_ent *pe, uint64_t len,
    uint32_t crc, abk_err *err);
/* Write the buffered records (one write(2), no fsync). */
int push_journal_flush(struct storage_push *p, abk_err *err);

/* storage_push_prev.c: load the previous snapshot (p->prev, p->prevtab, p->damaged). */
int push_load_previous(struct storage_push *p, abk_err *err);
/* Set pe->state for a listed regular file of non-zero size (ST_LINK,
 * ST_RESUMED or ST_NEED) and count it. */
void push_decide_file(struct storage_push *p, struct push_ent *pe);
/* A skipped entry: carried forward as the previous version (1), or not (0). */
int push_keep_previous(struct storage_push *p, struct push_ent *pe);

/* storage_pieces.c: the piece cache (see there). */
/* Index the previous snapshot's cache (after push_load_previous). */
void push_pieces_load(struct storage_push *p);
/* [offset, offset+len) of pe was written: data (NULL when copied in the
 * kernel or kept, then hash is the piece's), the file's CRC-32 before and
 * after. */
void push_pieces_feed(struct storage_push *p, const struct push_ent *pe, uint64_t offset,
    const void *data, uint64_t len, const uint8_t *hash, uint32_t crc_before,
    uint32_t crc_after);
/* pe is complete (fd open on it, mode and times set): append its record. */
void push_pieces_done(struct storage_push *p, const struct push_ent *pe, int fd);
/* pe was hard-linked from the previous snapshot as dfd/name; before: the
 * previous version's stat just before the link. */
void push_pieces_linked(struct storage_push *p, const struct push_ent *pe,
    const struct stat *before, int dfd, const char *name);
/* Write the new snapshot's cache in staging; its size (0: none). */
uint64_t push_pieces_commit(struct storage_push *p);
void push_pieces_free(struct storage_push *p);

/* storage_push.c */
void push_close_current(struct storage_push *p);

/* storage_push_resume.c */
/* After cur advanced: remember the CRC at each piece boundary, where a
 * partial journal record may later be made (push_part_sync). */
void push_part_advance(struct storage_push *p, const struct push_ent *pe);
/* Bytes at offset of cur are about to be rewritten in place: the journal's
 * partial record must not claim them any more (what is before still holds). */
int push_part_overwrite(struct storage_push *p, const struct push_ent *pe, uint64_t offset,
    abk_err *err);
/* Make a partial journal record of the file being written: after an
 * fdatasync, [0, the last piece boundary reached); only when that is
 * PART_SYNC_EVERY bytes past the last record, unless force. */
int push_part_sync(struct storage_push *p, int force, abk_err *err);
/* ST_SKIPPED entries: carried forward (ST_LINK to the previous version, its
 * manifest entry) where the previous snapshot holds an intact regular file,
 * else dropped from the list (indices change); before commit. */
int push_drop_skipped(struct storage_push *p, abk_err *err);
/* Close the journal and the lock (releasing it); the push is over. */
void push_release(struct storage_push *p);

#endif
