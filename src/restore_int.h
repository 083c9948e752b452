/*
 * restore_int.h - what the files of the client's restore share: the job
 * (restore.c: the stream; restore_write.c: putting entries on disk;
 * restore_plan.c: checking the list, --delete, --dry-run, folder modes).
 * Not for front ends: they use engine.h.
 *
 * Ownership: the job owns the entry array and the arena holding paths and
 * targets.  While batches are received, only the writer thread touches the
 * target and the per-entry results (written, crc, state, why); the caller's
 * thread reads them again once the writer has finished.
 */
#ifndef ABK_RESTORE_INT_H
#define ABK_RESTORE_INT_H

#include <stdint.h>

#include "client_int.h"
#include "fsops.h"
#include "pathtab.h"
#include "transfer.h"
#include "zipio.h"

#define RESTORE_TMP_PREFIX ".abk-restore-"

/* What became of an entry (reported on the caller's thread at the end). */
enum rentry_state {
	RENTRY_PENDING = 0,
	RENTRY_DONE,
	RENTRY_FAILED,		/* could not be created: why says it */
	RENTRY_DAMAGED,		/* CRC-32 differs from the list: not put in place */
	RENTRY_PRESENT,		/* already at the target, identical: left alone,
				 * its data (the server sends it) dropped */
};

struct rentry {
	char *path;			/* in the arena */
	size_t path_len;
	uint8_t type;
	uint8_t has_crc;		/* the list carries the content's CRC-32 */
	uint8_t state;			/* enum rentry_state */
	uint32_t mode;
	int64_t mtime;
	uint32_t mtime_nsec;	/* 0 when the list did not carry it */
	uint64_t size;
	uint32_t crc;			/* CRC-32 the list announced */
	uint32_t crc_got;		/* of the bytes written so far */
	char *target;			/* in the arena */
	const char *why;		/* RENTRY_FAILED: in the arena */
	uint64_t written;		/* data bytes received so far */
};

/* A file that replaces an existing name, complete, waiting for one sync. */
struct rpending {
	uint32_t index;
	char tmp[64];
};

struct rjob {
	abk_client *c;
	const struct abk_restore_opts *opts;
	struct abk_restore_result *res;
	struct rentry *v;
	size_t n, cap;
	struct arena arena;
	struct pathtab tab;		/* path -> index in v, for checks and --delete */
	int tab_ready;
	char **scope;			/* requested paths, normalised; NULL = all */
	size_t n_scope;
	int single;			/* the source is one file */
	int rootfd;			/* target folder (unpack mode); -1 if none */
	struct fsops_dircache dc;
	zipio_writer *zw;		/* --zip mode */
	/* the file being received (pieces of one entry arrive in order) */
	int cur_fd;
	uint32_t cur_index;
	char cur_tmp[64];
	int cur_dirfd;			/* owned copy (dup) of its folder */
	int cur_exists;			/* its final name exists: sync before rename */
	int cur_sparse;			/* a block of zeros was left as a hole */
	struct rpending *pend;		/* in-place files of this batch, not renamed yet */
	size_t n_pend;
	char cur_name[ABK_NAME_MAX + 1];
	struct abk_progress prog;
	long long last_progress;
	long long t_start;
	struct abk_progress shown;	/* what the callback was last given */
	int have;			/* RESTORE_HAVE is sent after the list */
	char tmp_tag[13];		/* random, per restore: temp names */
	uint64_t tmp_seq;		/* ... and a counter (no getrandom per file) */
};

/* restore_write.c */
void restore_note(struct rjob *j, const char *path, const char *why);
/* An entry could not be made: remember why (reported at the end). */
void restore_fail_entry(struct rjob *j, struct rentry *e, const char *why);
int restore_entry_now(struct rjob *j, struct rentry *e, abk_err *err);
void restore_drop_current(struct rjob *j);
/* Sync, then rename the batch's in-place files; or drop them (on failure). */
int restore_flush_pending(struct rjob *j, abk_err *err);
void restore_drop_pending(struct rjob *j);
/* The sink transfer_unpack writes a batch through. */
void restore_sink(struct rjob *j, struct transfer_sink *sink);
/* Open the target folder, creating it (like mkdir -p) unless dry_run. */
int restore_open_target(const char *path, int dry_run, abk_err *err);

/* restore_plan.c */
/* Copy one decoded list entry into the job, check it against the list so
 * far (duplicates, its folder, the requested scope) and add it to j->tab. */
int restore_list_take(struct rjob *j, const struct manifest_entry *e, abk_err *err);
/* Normalise and check the requested paths (opts->paths) into j->scope. */
int restore_scope_init(struct rjob *j, abk_err *err);
void restore_scope_free(struct rjob *j);
/* --delete (really, or only reported with --dry-run), inside the scope only. */
int restore_delete_extra(struct rjob *j, abk_err *err);
/* --dry-run: report what would be created and overwritten. */
int restore_plan_dry(struct rjob *j, abk_err *err);
/* Folder modes and times, deepest first, through descriptors. */
void restore_finish_dirs(struct rjob *j);

#endif
