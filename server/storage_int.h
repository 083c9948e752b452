/*
 * storage_int.h - what the storage files (storage*.c, retention.c) share
 * and nobody else should use: the user handle, the manifest file format,
 * snapshot IDs, source locks and the usage cache.
 */
#ifndef ABS_STORAGE_INT_H
#define ABS_STORAGE_INT_H

#include <stdatomic.h>
#include <stdint.h>
#include <zlib.h>

#include "abkerr.h"
#include "buf.h"
#include "crc32.h"
#include "manifest.h"
#include "pathsafe.h"
#include "storage.h"

struct fsops_dircache;

#define STG_STAGING ".staging"
#define STG_LOCK ".lock"
#define STG_USAGE ".usage"
#define STG_TRASH_PREFIX ".trash-"
#define STG_TREE "tree"
#define STG_MANIFEST "manifest"
#define STG_JOURNAL "journal"
#define STG_DAMAGED "damaged"	/* beside a snapshot's manifest: what verify found damaged */
#define STG_PIECES "pieces"	/* beside a snapshot's manifest: its piece cache (storage_pieces.c) */

struct storage_user {
	int dirfd;		/* DATA/users/USER */
	char *name;
	storage_policy_fn policy_fn;	/* NULL: the policy given by the caller */
	void *policy_ctx;
};

/* ---- storage_snapfile.c: the manifest file and snapshot IDs ------------------------- */

#define SNAPFILE_MAGIC "ABKM"
/* 2: entries may carry MF_HAS_STAT/MF_RACY (protocol 2).  Version 1 files
 * are read as they are (their entries simply have no stat fields). */
#define SNAPFILE_VERSION 2u
#define SNAPFILE_VERSION_MIN 1u

#define SNAPFILE_SINGLE_FILE 0x01	/* the source is one file, not a folder */

struct snapfile_header {
	char origin[ABK_PATH_MAX + 1];
	uint32_t flags;		/* SNAPFILE_* */
	int64_t time_ms;	/* publication time, ms since the epoch (UTC) */
	uint64_t entries;
	uint64_t files;
	uint64_t bytes;
};

/*
 * A loaded manifest: the file mapped read-only (data) and where each entry
 * starts (off), decoded on demand by snapfile_entry: the decoded list of
 * 1,000,000 entries would take 128 MB, the offsets take 8 MB.  The mapped
 * pages are the page cache's: snapfile_entry hands them back (MADV_DONTNEED)
 * every SNAPFILE_DROP_EVERY entries, so a walk keeps only a window of the
 * file resident.  Manifests are written once and never changed in place
 * (a new snapshot is a new file), so the mapping stays valid.
 */
struct snapfile {
	struct snapfile_header hdr;
	const uint8_t *data;		/* mapped, len bytes */
	size_t len;
	uint64_t *off;			/* [n]: entry i at data + off[i] */
	size_t n;
	atomic_size_t decoded;		/* entries decoded (restore's prefetch threads too) */
};

/* Map and check (CRC, every entry decoded once) snapdir/manifest. */
int snapfile_load(int snapdir, struct snapfile *sf, abk_err *err);
void snapfile_free(struct snapfile *sf);
/* Decode entry i (< sf->n) into e; its path and target point into the
 * mapping and stay valid until snapfile_free. */
void snapfile_entry(struct snapfile *sf, size_t i, struct manifest_entry *e);
/* Entry i's path (the first field of an entry: no decoding); counts toward
 * the drop like snapfile_entry (building a path index walks every entry). */
const char *snapfile_path(struct snapfile *sf, size_t i, size_t *len);
/* Only the header (cheap, for listings). */
int snapfile_read_header(int snapdir, struct snapfile_header *h, abk_err *err);

/* Streaming writer: header, entries, then a CRC-32 trailer. */
struct snapfile_writer {
	int fd;			/* not owned */
	abk_buf buf;
	uint32_t crc;
	uint64_t size;		/* bytes written so far */
};
int snapfile_write_begin(struct snapfile_writer *w, int fd,
    const struct snapfile_header *h, abk_err *err);
int snapfile_write_entry(struct snapfile_writer *w, const struct manifest_entry *e,
    abk_err *err);
/* Flush and write the trailer (fd stays open); w is freed either way. */
int snapfile_write_end(struct snapfile_writer *w, abk_err *err);
void snapfile_writer_free(struct snapfile_writer *w);

/*
 * The damaged list beside a snapshot (STG_DAMAGED): the stored inodes that
 * verify found with the wrong size or content, so that the next push sends
 * those files again instead of hard-linking the damage forward.  Format:
 * "ABKD" | u32 version 1 | u64 count | count x (u64 dev | u64 ino | str path)
 * | u32 CRC-32 of everything before it.
 */
struct damaged_inode {
	uint64_t dev, ino;
};
struct damaged_set {
	struct damaged_inode *v;
	size_t n, cap;
};
/* Add one (dev, ino) to the set; ABK_OK or ABK_E_NOMEM. */
int damaged_add(struct damaged_set *d, uint64_t dev, uint64_t ino, abk_err *err);
int damaged_has(const struct damaged_set *d, uint64_t dev, uint64_t ino);
void damaged_free(struct damaged_set *d);
/* Replace snapdir's list by these (paths[i] of lens[i] bytes for d->v[i]); none:
 * remove it.  Written to a temporary name and renamed. */
int damaged_write(int snapdir, const struct damaged_set *d, const char *const *paths,
    const size_t *lens, abk_err *err);
/* Add the inodes listed beside snapdir to d (a missing or damaged list adds none). */
int damaged_load(int snapdir, struct damaged_set *d, abk_err *err);

/* 1 if s is exactly a well-formed snapshot ID. */
int snapfile_id_valid(const char *s);
void snapfile_id_format(int64_t ms, char out[STORAGE_ID_LEN + 1]);
/* ABK_OK and *ms, or ABK_E_USAGE if malformed. */
int snapfile_id_parse(const char *id, int64_t *ms);

/* ---- storage.c: sources and snapshots --------------------------------------- */

/* Open USER/source (checked); create it when asked.  fd or negative code. */
int stg_open_source(storage_user *u, const char *source, int create, abk_err *err);
/*
 * IDs of the published snapshots in srcfd, ascending (oldest first):
 * free with fsops_names_free.
 */
int stg_list_ids(int srcfd, char ***ids, size_t *n, abk_err *err);
/* flock(LOCK_EX|LOCK_NB) on a fresh open of srcfd/.lock: fd or ABK_E_BUSY. */
int stg_lock_source(int srcfd, const char *source, abk_err *err);
/* The read-only directory cache on a snapshot's tree (owned by s). */
struct fsops_dircache *stg_snapshot_dircache(storage_snapshot *s);
/* The snapshot's own folder (owned by s). */
int stg_snapshot_dirfd(const storage_snapshot *s);

/* ---- retention.c: pins and retention ------------------------------------------------ */

/*
 * Pin the snapshot id of srcfd whose folder snapfd is (a shared flock, held
 * as long as snapfd is open).  ABK_E_NOTFOUND if retention holds it or has
 * moved it away meanwhile.
 */
int stg_pin_snapshot(int srcfd, const char *id, int snapfd, abk_err *err);

/* Remove the snapshots of a locked source that pol does not keep; pinned
 * ones (being read) are skipped, and removed by a later run. */
int stg_retain(storage_user *u, int srcfd, const struct retention_policy *pol, unsigned *removed,
    abk_err *err);
/* The policy for source: u's resolver when set, else dflt (may be NULL). */
int stg_policy_for(storage_user *u, const char *source, const struct retention_policy *dflt,
    struct retention_policy *out, abk_err *err);

/* ---- storage_usage.c: the usage cache ----------------------------------------------- */
/* flock(LOCK_EX) on USER/.usage: the fd to pass below, or a negative code. */
int stg_usage_lock(storage_user *u, abk_err *err);
/* Read the cache (walking when needed) while holding the lock. */
int stg_usage_get_locked(storage_user *u, int lockfd, uint64_t *bytes, abk_err *err);
/* Add delta (may be negative) to the cache, if it is valid. */
int stg_usage_add_locked(int lockfd, int64_t delta, abk_err *err);
/* Drop the cached figure (the next reader walks): done before a change a
 * crash could leave half-counted, such as the rename that publishes. */
int stg_usage_invalidate_locked(int lockfd, abk_err *err);
/* Store bytes as the cached figure. */
int stg_usage_set_locked(int lockfd, uint64_t bytes, abk_err *err);
void stg_usage_unlock(int lockfd);

/* crc32 over any length: push data, snapshot files (abk_crc32: the
 * carry-less multiplication one where the CPU has it). */
static inline uint32_t
storage_crc32(uint32_t crc, const void *data, size_t len)
{
	return abk_crc32(crc, data, len);
}

#endif
