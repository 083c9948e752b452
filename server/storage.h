/*
 * storage.h - the on-disk side of autobackupd: per-user folders, sources,
 * snapshots, the staging area of a push, publishing, retention, listing,
 * reading a snapshot back (restore, browse) and verifying it.
 *
 * Layout below the data directory:
 *
 *   DATA/users/USER/               0700, one per account
 *   DATA/users/USER/.usage         cached bytes used (see storage_usage)
 *   DATA/users/USER/SOURCE/        one per backed-up source (a single name)
 *     .lock                        flock target: one push or prune at a time
 *     .staging/tree/...            the snapshot being received
 *     .staging/journal             files of that tree already complete
 *     <ID>/tree/...                a published snapshot (ID = server UTC
 *     <ID>/manifest                time "YYYYMMDDTHHMMSS.mmmZ"; sorts by time)
 *
 * Every operation below USER/ works on directory descriptors (fsops.h):
 * nothing a client names is ever opened through a joined path string or a
 * symlink (invariant 1).  A snapshot appears only by rename(2) of a
 * complete, synced staging folder (invariant 2); unchanged files are hard
 * links to the previous snapshot (invariant 3; see doc/ARCHITECTURE.md).
 *
 * The manifest of a snapshot records each entry exactly as the client sent
 * it (mode, mtime, symlink target) plus a CRC-32 for every regular file.  On
 * disk, files and directories keep their mtimes, but their permission bits
 * are the client's with owner read/write (and search, for directories)
 * added and set-id/sticky bits dropped: the server must always be able to
 * read and remove what it stores, and must never hold set-id programs.  A
 * restore takes modes from the manifest.
 *
 * Threads: handles are not shared; each belongs to one thread at a time.
 * A storage_user must stay open until the snapshots and pushes opened
 * through it are closed and freed.
 * Any number of threads may use distinct handles at once, for the same user
 * or others: pushes and prunes of one source exclude each other with flock
 * on SOURCE/.lock (across processes too, and the lock dies with its holder),
 * and the usage cache is updated under flock on USER/.usage.
 *
 * Callbacks return 0 to go on; any other value stops the walk and is
 * returned by the function that called them (err is then left untouched).
 */
#ifndef ABS_STORAGE_H
#define ABS_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"
#include "crypto.h"
#include "piecehash.h"
#include "manifest.h"
#include "proto.h"
#include "retention.h"

#define STORAGE_ID_LEN 20		/* "20240131T235959.123Z" */
#define STORAGE_MAX_ENTRIES 10000000u	/* default bound on one file list */
#define STORAGE_MAX_DEPTH PROTO_PATH_DEPTH_MAX	/* components in one path (invariant 7) */
#define STORAGE_STAGING_MAX_AGE (7u * 24 * 3600)	/* suggested cleanup age */

typedef struct storage_user storage_user;
typedef struct storage_snapshot storage_snapshot;
typedef struct storage_push storage_push;

/* ---- users and sources ---------------------------------------------------- */

/*
 * Open the folder of account user below datadir, creating DATA/users and
 * DATA/users/USER (0700) at first use.  user must be a valid account name;
 * '/' and a leading '.' are refused anyway (ABK_E_PATH).  *out is freed with
 * storage_user_close.
 */
int storage_user_open(const char *datadir, const char *user, storage_user **out,
    abk_err *err);
void storage_user_close(storage_user *u);	/* NULL-safe */

/*
 * Remove DATA/users/USER and everything below it (userdel --purge), without
 * following symlinks.  Refuses (ABK_E_BUSY) while a push of that user holds
 * a source lock.  A missing folder is not an error.
 */
int storage_user_purge(const char *datadir, const char *user, abk_err *err);

/*
 * 1 if DATA/users/USER exists (backups of a current or an earlier account
 * of that name), else 0.  `user add` refuses such a name unless told to
 * hand the backups over, so no new account inherits data by accident.
 */
int storage_user_exists(const char *datadir, const char *user);

/* ABK_OK if name can be a source (one path component, no leading '.'). */
int storage_check_source_name(const char *name, abk_err *err);

struct storage_source_info {
	const char *name;
	const char *origin;		/* client path of the latest push */
	unsigned snapshots;
	const char *latest_id;
	int64_t latest_time;		/* seconds since the epoch (UTC) */
	uint64_t latest_files;		/* regular files in the latest snapshot */
	uint64_t latest_bytes;		/* their total size */
};
typedef int (*storage_source_cb)(void *ctx, const struct storage_source_info *si);

/*
 * Call cb for every source of u that has at least one snapshot, sorted by
 * name.  The strings are valid during the call only.
 */
int storage_list_sources(storage_user *u, storage_source_cb cb, void *ctx,
    abk_err *err);

struct storage_snapshot_info {
	const char *id;
	int64_t time;			/* seconds since the epoch (UTC) */
	uint64_t entries;		/* files, directories and symlinks */
	uint64_t files;
	uint64_t bytes;
};
typedef int (*storage_snapshot_cb)(void *ctx, const struct storage_snapshot_info *si);

/* Snapshots of source, newest first.  ABK_E_NOTFOUND for an unknown source. */
int storage_list_snapshots(storage_user *u, const char *source, storage_snapshot_cb cb,
    void *ctx, abk_err *err);

/* ---- reading a snapshot ------------------------------------------------------ */

/*
 * Open snapshot id (NULL: the latest) of source and load its manifest
 * (memory grows with its number of entries).  ABK_E_NOTFOUND for an unknown
 * source or ID (or one retention is removing), ABK_E_INTEGRITY for a damaged
 * manifest.  While the handle is open the snapshot is pinned: a shared flock
 * on its folder, which retention (push or prune, in this process or another)
 * honours by deferring its removal to a later run; the pin dies with the
 * handle or its process.
 */
int storage_snapshot_open(storage_user *u, const char *source, const char *id,
    storage_snapshot **out, abk_err *err);
void storage_snapshot_close(storage_snapshot *s);	/* NULL-safe */

/*
 * Entries in the manifest of snapshot id (NULL: the latest) of source, from
 * its header alone (cheap): what opening it will hold in memory.  0 when
 * unknown (storage_snapshot_open then reports why).
 */
uint64_t storage_snapshot_entries(storage_user *u, const char *source, const char *id);

/* Strings owned by the handle. */
const char *storage_snapshot_id(const storage_snapshot *s);
const char *storage_snapshot_origin(const storage_snapshot *s);
/* 1 if the snapshot's source is a single file rather than a folder. */
int storage_snapshot_single_file(const storage_snapshot *s);

/* index: the entry's place in the manifest (for storage_snapshot_entry). */
typedef int (*storage_entry_cb)(void *ctx, uint32_t index, const struct manifest_entry *e);

/*
 * Call cb for every entry in manifest order (parents before children), or
 * only for subpath and what lies below it (subpath NULL or "": all).
 * e is decoded for the call (the list is not held decoded: 1,000,000
 * entries would take 128 MB); its path and target point into the handle and
 * stay valid until it is closed.  Keep index, not e.
 * ABK_E_NOTFOUND if subpath is not in the snapshot, ABK_E_PATH if invalid.
 */
int storage_snapshot_foreach(storage_snapshot *s, const char *subpath, storage_entry_cb cb,
    void *ctx, abk_err *err);

/* Decode entry index (from a callback above) into e (path and target: as above). */
void storage_snapshot_entry(storage_snapshot *s, uint32_t index, struct manifest_entry *e);
/* Entry index's path, without decoding the rest. */
const char *storage_snapshot_entry_path(storage_snapshot *s, uint32_t index,
    size_t *len);

/* The direct children of directory dir ("" or NULL: the top), in manifest order. */
int storage_snapshot_list_dir(storage_snapshot *s, const char *dir, storage_entry_cb cb,
    void *ctx, abk_err *err);

/*
 * Open the stored data of regular file e (an entry of s) for reading: *fd
 * belongs to the caller.  ABK_E_INTEGRITY if it is missing or not a regular
 * file of the recorded size.
 */
int storage_snapshot_open_file(storage_snapshot *s, const struct manifest_entry *e,
    int *fd, abk_err *err);

/* ---- push --------------------------------------------------------------------- */

/*
 * A push: begin, one storage_push_entry per client entry, plan, then data
 * (file_write ... file_done per needed file, in any file order but each
 * file's chunks in order), then commit.  Entry indices are 0-based positions
 * in the list.  Memory is proportional to the number of entries; data goes
 * straight to disk.  On any error the caller may still abort (keeping what
 * arrived for a later resume) and must free.
 */

struct storage_push_counts {
	uint64_t entries;
	uint64_t needed;		/* files whose data must be sent */
	uint64_t needed_bytes;
	uint64_t unchanged;		/* files hard-linked from the previous snapshot */
	uint64_t resumed;		/* files already complete in staging */
	uint64_t total_bytes;		/* declared size of all files */
	/* storage_push_prev_pieces: previous versions whose piece hashes came
	 * from the piece cache, and those read and hashed (and their bytes) */
	uint64_t pieces_cached, pieces_hashed, pieces_hashed_bytes;
};

struct storage_verdict {
	char id[STORAGE_ID_LEN + 1];	/* the published snapshot */
	uint64_t entries;
	uint64_t added;			/* paths not in the previous snapshot */
	uint64_t changed;		/* paths there, but different */
	uint64_t removed;		/* paths there, no longer in the list */
	uint64_t unchanged;
	uint64_t kept;			/* unreadable on the client: previous version kept */
	uint64_t bytes_received;	/* file data written by this push */
	uint64_t bytes_stored;		/* data in new (not hard-linked) files */
	unsigned pruned;		/* old snapshots removed by retention */
};

/*
 * Start a push of source (created if new; name checked) from client path
 * origin.  Takes the source's lock (ABK_E_BUSY "source X is busy: another
 * push is in progress"), loads the latest snapshot's manifest for the
 * incremental answers and the staging journal for a resume.  With
 * checksum_mode, a file counts as unchanged only if both sides have equal
 * SHA-256s.
 */
int storage_push_begin(storage_user *u, const char *source, const char *origin,
    int checksum_mode, storage_push **out, abk_err *err);

/* Record that the source is a single file (kept in the manifest for restores). */
void storage_push_set_single_file(storage_push *p, int single_file);

/*
 * The client could not read needed file index after listing it: leave it
 * out of the new snapshot (data already written for it is dropped).
 * Idempotent.  ABK_E_PROTO for an entry whose data was not asked for.
 */
int storage_push_skip(storage_push *p, uint32_t index, abk_err *err);

/* Lower the bound on entries (default STORAGE_MAX_ENTRIES); before any entry. */
void storage_push_set_max_entries(storage_push *p, uint64_t max);

/*
 * Add the next client entry (copied; e's pointers may die after the call).
 * *needed is set to 1 if its data must be sent.  ABK_E_PROTO for a
 * duplicate path or a parent that is not a directory listed earlier,
 * ABK_E_LIMIT over the entry bound or depth, ABK_E_PATH for a bad path.
 */
int storage_push_entry(storage_push *p, const struct manifest_entry *e, int *needed,
    abk_err *err);

void storage_push_get_counts(const storage_push *p, struct storage_push_counts *c);

/*
 * Entry index as stored by the push into e (-1 if out of range); e's path and
 * target stay valid until storage_push_free.
 */
int storage_push_get_entry(const storage_push *p, uint32_t index, struct manifest_entry *e);

/*
 * Open the previous snapshot's version of file index (for reusing pieces of
 * a changed file): *fd (caller closes) and its size.  ABK_E_NOTFOUND if the
 * path was not a regular file in the previous snapshot.  Not concurrent with
 * other calls on p.
 */
/*
 * Resume of a big file (issue 10 item 5): if an interrupted push left a
 * synced prefix of file index's same client version in staging (a partial
 * journal record), read it again, and when its CRC-32 is the recorded one
 * fill h and crc with the piece hash and CRC-32 of its *n whole pieces
 * (*n <= max; 0: nothing to offer).  Those pieces may then be kept by
 * storage_push_file_keep instead of being sent.  Errors other than a
 * journal write are not errors: the file then travels whole.
 */
int storage_push_staged_pieces(storage_push *p, uint32_t index, uint8_t (*h)[ABK_PIECE_HASH_LEN],
    uint32_t *crc, uint32_t max, unsigned threads, uint32_t *n, abk_err *err);

/*
 * Like storage_push_file_write for piece [offset, offset+len) of a staged
 * prefix offered by storage_push_staged_pieces, whose CRC-32 crc was
 * verified then: the bytes stay where they are; crc joins the file's CRC-32,
 * so the whole file is still checked against the client's when it is done.
 * Not counted in bytes_received.  ABK_E_INTEGRITY if that piece was not
 * offered or is gone.  hash (may be NULL): the piece's, for the piece cache.
 */
int storage_push_file_keep(storage_push *p, uint32_t index, uint64_t offset, uint64_t len,
    uint32_t crc, const uint8_t *hash, abk_err *err);

int storage_push_open_previous(storage_push *p, uint32_t index, int *fd, uint64_t *size,
    abk_err *err);

/*
 * PUSH_PIECES for file index: the piece hash and CRC-32 of each of the
 * *n pieces of its previous version (*prev_size bytes), from the previous
 * snapshot's piece cache when its record still describes the stored file
 * (storage_pieces.c), else by reading it on threads threads.  *n = 0: no
 * previous version, more than max pieces, or it cannot be read (no reuse).
 * Counted in pieces_cached / pieces_hashed.  Never fails the push.
 */
int storage_push_prev_pieces(storage_push *p, uint32_t index, uint8_t (*h)[ABK_PIECE_HASH_LEN],
    uint32_t *crc, uint32_t max, unsigned threads, uint32_t *n, uint64_t *prev_size,
    abk_err *err);

/*
 * After the last entry: check the user's usage plus the bytes needed
 * against quota_bytes (0: no quota) -> ABK_E_QUOTA with the numbers.
 */
int storage_push_plan(storage_push *p, uint64_t quota_bytes, abk_err *err);

/*
 * Write len bytes of needed file index at offset (which must be where the
 * previous chunk ended).  ABK_E_PROTO for an entry that was not needed, is
 * already complete or is out of order; ABK_E_LIMIT past its declared size.
 */
int storage_push_file_write(storage_push *p, uint32_t index, uint64_t offset,
    const void *data, size_t len, abk_err *err);

/* storage_push_file_write for data whose CRC-32 is already known (verified
 * by the zip reader): it is not computed again. */
int storage_push_file_write_crc(storage_push *p, uint32_t index, uint64_t offset,
    const void *data, size_t len, uint32_t crc, abk_err *err);

/*
 * Like storage_push_file_write for len bytes that already sit at src_off of
 * src_fd (a piece of the previous version the client did not resend).
 * With crc (their CRC-32, computed in the same pass over the never
 * rewritten previous version as their piece hash) they are copied in the
 * kernel (copy_file_range) and not read again: crc joins the file's CRC-32
 * by crc32_combine, so the file is still checked whole against the client's
 * CRC-32 when it is done.  Without crc, or where the kernel cannot copy,
 * they are read and written like data from the client.  hash (may be NULL)
 * is the piece's hash as offered, kept for the piece cache.
 */
int storage_push_file_copy(storage_push *p, uint32_t index, uint64_t offset, int src_fd,
    uint64_t src_off, uint64_t len, const uint32_t *crc, const uint8_t *hash, abk_err *err);

/*
 * The last chunk of file index is in: its size must be the declared one and
 * its CRC-32 / SHA-256 the client's when it sent them (ABK_E_INTEGRITY).
 * Records the file in the staging journal.
 */
int storage_push_file_done(storage_push *p, uint32_t index, abk_err *err);

/*
 * Write the journal records gathered since the last call (one write, no
 * fsync).  The unpacker calls it after each zip batch; records still in
 * memory when the server dies only cost a resend of those files.
 */
int storage_push_journal_flush(storage_push *p, abk_err *err);

/*
 * Build the rest of the snapshot, make it durable and publish it, then,
 * unless append_only, remove the snapshots the retention policy pol does
 * not keep (pol may be NULL when append_only).  ABK_E_PROTO "missing data for N files" if some needed file is not
 * complete.  v (may be NULL) receives the verdict.  The lock is released.
 */
int storage_push_commit(storage_push *p, int append_only, const struct retention_policy *pol,
    struct storage_verdict *v, abk_err *err);

/* Stop: sync the journal, keep staging for a resume, release the lock. */
void storage_push_abort(storage_push *p);
/* Free the handle (aborting first if needed).  NULL-safe. */
void storage_push_free(storage_push *p);

/* ---- maintenance -------------------------------------------------------------- */

/*
 * Remove the snapshots of source (NULL: of every source) that the policy
 * pol does not keep (retention.h; it must keep at least one).  Takes each source's lock: ABK_E_BUSY if a push
 * holds it (the other sources are still pruned).  *removed (may be NULL)
 * counts removed snapshots.  A snapshot being read (pinned, see
 * storage_snapshot_open) is skipped and left for a later prune or push.
 */
int storage_prune(storage_user *u, const char *source, const struct retention_policy *pol,
    unsigned *removed, abk_err *err);

/*
 * Where a user's policy comes from (the accounts store, per user and per
 * source, else the server's default): fills *out for user/source, ABK_OK or
 * an error.  Set on a storage_user with storage_user_set_policy; then a
 * push's commit and a prune given no policy ask it.
 */
typedef int (*storage_policy_fn)(void *ctx, const char *user, const char *source,
    struct retention_policy *out, abk_err *err);
void storage_user_set_policy(storage_user *u, storage_policy_fn fn, void *ctx);

/* How prune reports each snapshot it judged: what the rules said (why, a
 * mask of 1 << enum retention_rule; 0: not kept) and what happened. */
enum storage_prune_state {
	PRUNE_KEPT,		/* a rule keeps it */
	PRUNE_REMOVED,		/* removed (dry run: would be) */
	PRUNE_PINNED,		/* not kept, but being read: left for later */
};
struct storage_prune_opts {
	const struct retention_policy *pol;	/* NULL: the user's policy (above) */
	int dry_run;				/* judge and report, remove nothing */
	void (*report)(void *ctx, const char *source, const char *policy, const char *id,
	    unsigned why, enum storage_prune_state state);	/* may be NULL */
	void *ctx;
};

/* storage_prune with reports, a dry run, and per-source policies. */
int storage_prune_ex(storage_user *u, const char *source, const struct storage_prune_opts *o,
    unsigned *removed, abk_err *err);

/*
 * At server start: for every user and source, remove a staging folder whose
 * newest change is older than max_age_seconds and whose source is not
 * locked, and any leftover of an interrupted snapshot removal.  *removed
 * (may be NULL) counts removed staging folders.
 */
int storage_cleanup_staging(const char *datadir, unsigned max_age_seconds,
    unsigned *removed, abk_err *err);

/*
 * Bytes used by u's snapshots: the size of every distinct stored file (hard
 * links count once) plus manifests; staging is not counted.  Cached in
 * USER/.usage, recomputed by a walk when the cache is missing or damaged.
 */
int storage_usage(storage_user *u, uint64_t *bytes, abk_err *err);
/* Walk everything again and rewrite the cache. */
/*
 * Bytes in the staging areas of u's sources (files not yet published; a
 * file also linked elsewhere is counted by storage_usage), for the quota.
 * Sources with a push running are left out (their lock is held: the push's
 * bytes are reserved in flight), except own_source (may be NULL), the
 * caller's own push.  Walks the staging trees: call once per push.
 */
int storage_staged_bytes(storage_user *u, const char *own_source, uint64_t *bytes,
    abk_err *err);

int storage_usage_recompute(storage_user *u, uint64_t *bytes, abk_err *err);

struct storage_verify_counts {
	uint64_t entries;		/* entries checked */
	uint64_t bytes;			/* file bytes read */
	uint64_t missing;
	uint64_t wrong_type;
	uint64_t size_differs;
	uint64_t corrupted;		/* CRC-32 or SHA-256 mismatch */
	uint64_t target_differs;	/* symlink */
	uint64_t problems;		/* the sum of the above */
};
typedef int (*storage_problem_cb)(void *ctx, const char *path, size_t path_len,
    const char *problem);

/*
 * Re-read every entry of snapshot id (NULL: latest) of source and compare it
 * with the manifest, calling cb (may be NULL) for each problem ("missing",
 * "size differs", "content corrupted (CRC mismatch)", ...).  Returns ABK_OK
 * if all is well, ABK_E_INTEGRITY if problems were found (out says which),
 * another code if the check itself failed.
 */
int storage_verify(storage_user *u, const char *source, const char *id,
    storage_problem_cb cb, void *ctx, struct storage_verify_counts *out, abk_err *err);

#endif
