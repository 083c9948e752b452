/*
 * engine.h - the client engine: everything the TUI and `--batch` do with a
 * server, behind one small API.  Front ends never speak the wire protocol.
 *
 * A connection (abk_client) belongs to one thread at a time.  Long
 * operations (push, restore) report through a progress callback, called on
 * the calling thread at most every ~100 ms plus at phase changes, and check
 * a cancel flag often; cancel leaves nothing published on the server.
 * Errors: negative abk_code with the sentence in the abk_err.
 */
#ifndef ABK_ENGINE_H
#define ABK_ENGINE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"
#include "manifest.h"
#include "net.h"	/* ABK_DEFAULT_PORT */

struct abk_profile {
	char server[512];		/* HOST[:PORT] or [V6]:PORT */
	char ca_file[4096];		/* PEM file of the CA to trust */
	char user[64];
	char secret[1024];		/* password or token (wiped after use) */
	int secret_is_token;
	int connect_timeout_ms;
	int io_timeout_ms;
};

typedef struct abk_client abk_client;

/* Once per process before any connection (TLS library set-up), and at exit. */
int abk_engine_init(abk_err *err);
void abk_engine_cleanup(void);
/*
 * A thread other than the one that calls abk_engine_cleanup, that used the
 * engine (connected, pushed, restored), calls this just before it exits:
 * the TLS library keeps per-thread caches (wolfSSL's FP_ECC point cache,
 * about 3 MB after a handshake) that only the owning thread can free.
 * Safe to call on a thread that never used the engine, and more than once.
 */
void abk_engine_thread_done(void);

/*
 * The cancel flags below are set by another thread (a front end's UI) or a
 * signal handler while the engine runs; the engine reads them only through
 * this helper, an atomic load, so the pair is not a data race.  Writers on
 * another thread store with __atomic_store_n (a signal handler may assign).
 */
static inline int
abk_cancel_requested(volatile sig_atomic_t *flag)
{
	return flag != NULL && __atomic_load_n(flag, __ATOMIC_SEQ_CST) != 0;
}

/* Connect, verify the server certificate, exchange versions and log in. */
int abk_connect(const struct abk_profile *p, abk_client **out, abk_err *err);
/*
 * The same, ended early with ABK_E_CANCELED once cancel_fd (-1: none; a
 * pipe another thread writes to) is readable: for a front end connecting on
 * a worker thread (which then calls abk_engine_thread_done before exiting).
 */
int abk_connect_cancelable(const struct abk_profile *p, int cancel_fd, abk_client **out,
    abk_err *err);
/* Say goodbye and free.  NULL-safe. */
void abk_disconnect(abk_client *c);
/* The server's software string and the user's quota (0 = none). */
const char *abk_server_software(const abk_client *c);
uint64_t abk_user_quota(const abk_client *c);
/* The bytes the user's backups took at login; 0 = the server did not say. */
int abk_user_usage(const abk_client *c, uint64_t *used);

struct abk_source_info {
	const char *name;
	const char *origin;		/* absolute path pushed from */
	uint32_t snapshots;
	const char *latest_id;
	int64_t latest_time;
	uint64_t latest_files;
	uint64_t latest_bytes;
	const char *policy;		/* the server's retention policy for it, in words */
};

struct abk_snapshot_info {
	const char *id;
	int64_t time;
	uint64_t files;
	uint64_t bytes;
};

/* Callbacks return 0 to go on, non-zero to stop (the value is returned). */
typedef int (*abk_source_cb)(void *ctx, const struct abk_source_info *s);
typedef int (*abk_snapshot_cb)(void *ctx, const struct abk_snapshot_info *s);
typedef int (*abk_entry_cb)(void *ctx, const struct manifest_entry *e);

int abk_list_sources(abk_client *c, abk_source_cb cb, void *ctx, abk_err *err);
int abk_list_snapshots(abk_client *c, const char *source, abk_snapshot_cb cb, void *ctx,
    abk_err *err);
/* One directory level of a snapshot ("" = root; snapshot NULL = latest). */
int abk_list_files(abk_client *c, const char *source, const char *snapshot,
    const char *dir, abk_entry_cb cb, void *ctx, abk_err *err);

enum abk_phase {
	ABK_PHASE_SCAN,		/* walking local files */
	ABK_PHASE_COMPARE,	/* server decides what it needs */
	ABK_PHASE_TRANSFER,	/* data on the wire */
	ABK_PHASE_COMMIT,	/* server verifies and publishes */
	ABK_PHASE_DONE,
};

struct abk_progress {
	enum abk_phase phase;
	const char *source;
	uint64_t files_done, files_total;
	uint64_t bytes_done, bytes_total;
	const char *current;		/* file being handled, may be NULL */
	double rate;			/* bytes per second, smoothed */
};

typedef void (*abk_progress_cb)(void *ctx, const struct abk_progress *p);

/* What a skipped local entry looked like, for reports. */
typedef void (*abk_note_cb)(void *ctx, const char *path, const char *why);

enum abk_compress {
	ABK_COMPRESS_AUTO = 0,		/* measure: deflate only where it is faster */
	ABK_COMPRESS_ALWAYS,		/* deflate what compresses (slow links) */
	ABK_COMPRESS_NEVER,		/* store everything (fast links) */
};

struct abk_push_opts {
	const char *path;		/* local file or folder */
	const char *name;		/* source name; NULL = base name of path */
	const char *const *excludes;	/* fnmatch patterns, NULL-terminated */
	int checksum;			/* compare by SHA-256, not size+mtime */
	int one_file_system;		/* leave out folders on other file systems */
	int threads;			/* zip builders; 0 = number of cores */
	uint64_t bwlimit;		/* bytes per second on the wire; 0 = none */
	enum abk_compress compress;
	abk_progress_cb progress;
	abk_note_cb note;		/* skipped/unreadable entries */
	void *ctx;
	volatile sig_atomic_t *cancel;
};

struct abk_push_result {
	char snapshot[80];
	uint64_t entries, added, changed, removed, unchanged;
	uint64_t bytes_sent;		/* zip bytes on the wire */
	uint64_t bytes_received;	/* file bytes the server wrote */
	uint64_t bytes_stored;
	uint64_t skipped;		/* unreadable files, refused names: not backed up */
	uint64_t special;		/* FIFOs, sockets, devices: skipped by design */
	uint64_t kept;			/* of the unreadable, how many the server kept
					 * in their previous version */
};

/*
 * Push one source.  ABK_E_PARTIAL when the snapshot was published but some
 * entries were skipped (listed through opts->note).
 */
int abk_push(abk_client *c, const struct abk_push_opts *opts, struct abk_push_result *res,
    abk_err *err);

/* Name of the ignore file read in every pushed folder. */
#define ABK_IGNORE_FILE ".autobackupignore"

/* What a restore changes (or, with dry_run, would change) at the target. */
enum abk_change {
	ABK_CHANGE_CREATE,		/* a name that did not exist (dry run only) */
	ABK_CHANGE_OVERWRITE,		/* an existing name replaced (dry run only) */
	ABK_CHANGE_DELETE,		/* --delete: not in the snapshot; folders end in '/' */
};
/* path is relative to the target; called on the calling thread. */
typedef void (*abk_change_cb)(void *ctx, enum abk_change what, const char *path);

struct abk_restore_opts {
	const char *source;
	const char *snapshot;		/* NULL = latest */
	const char *const *paths;	/* subpaths, NULL-terminated; NULL = all */
	const char *to;			/* target dir; NULL = original path */
	const char *zip_file;		/* save the archive here instead */
	/*
	 * The path this machine pushed the source from (the caller's own
	 * record); needed when to and zip_file are NULL: the server's word is
	 * never taken for where to write.  NULL = no record.
	 */
	const char *origin;
	int delete_extra;		/* remove what is not in the snapshot, inside
					   the restored folder(s) only */
	int dry_run;			/* change nothing: report through change */
	abk_progress_cb progress;
	abk_note_cb note;		/* entries not restored, warnings */
	abk_change_cb change;		/* deletions; with dry_run every change */
	void *ctx;
	volatile sig_atomic_t *cancel;
};

struct abk_restore_result {
	char snapshot[80];
	char target[4096];
	char server_origin[4096];	/* where the server says the source came from */
	uint64_t files, dirs, symlinks, bytes, deleted;
	uint64_t created, overwritten;	/* dry run */
	uint64_t modified;		/* dry run: of overwritten, those that differ
					 * from the snapshot (type, size, mtime) */
	uint64_t failed;		/* entries that could not be made */
	uint64_t damaged;		/* files whose CRC-32 did not match: not put in place */
	uint64_t identical;		/* already at the target with the same size, mode,
					 * mtime and CRC-32 (a restore run again after
					 * it was stopped): left as they were */
	uint64_t identical_bytes;
};

/*
 * Restore a snapshot (or part of it).  Everything is checked before the disk
 * is touched: a file list with a path twice, a path before its folder or
 * outside the requested paths is ABK_E_PROTO.  Then: ABK_E_INTEGRITY when a
 * file's content did not match its recorded CRC-32 or bytes were missing
 * (those files are not put in place), ABK_E_PARTIAL when entries could not
 * be created (listed through opts->note); the other files are restored.
 * ABK_E_USAGE when there is no target: no to, no zip_file and no origin.
 */
int abk_restore(abk_client *c, const struct abk_restore_opts *opts,
    struct abk_restore_result *res, abk_err *err);

struct abk_verify_result {
	char snapshot[80];
	uint64_t checked, missing, corrupted, bytes;
};
typedef void (*abk_problem_cb)(void *ctx, const char *path, const char *problem);

/* Ask the server to re-read a snapshot; ABK_E_INTEGRITY if problems. */
int abk_verify(abk_client *c, const char *source, const char *snapshot,
    abk_problem_cb cb, void *ctx, struct abk_verify_result *res, abk_err *err);

#endif
