/*
 * batch_int.h - shared by the files of `autobackup --batch` (batch.c and
 * one file per group of commands).  One batch_ui per run, on the batch
 * thread only.
 */
#ifndef ABT_BATCH_INT_H
#define ABT_BATCH_INT_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "batch.h"
#include "engine.h"
#include "progress_line.h"
#include "snapname.h"

struct batch_ui {
	struct batch_opts *o;
	struct progress_line pl;	/* the status line (progress_line.h) */
	int first_json;
	char server_key[600];		/* for the origins record */
	char user[64];
	char snap_id[ABK_SNAPSHOT_ID_MAX];	/* --snapshot resolved (snapname.h) */
};

/* 1 once SIGINT/SIGTERM arrived during a batch command (a function, not
 * the flag itself: no exported variables, see tests/check_exports.sh). */
int batch_canceled(void);

/* A name for humans: control bytes escaped so they cannot move the cursor. */
void print_name(FILE *f, const char *s, size_t n);
/* Print err (after clearing the status line); the exit status for it. */
int fail(struct batch_ui *ui, const abk_err *err);
/* --snapshot NAME → ui->o->snapshot = the full ID for source; exit status. */
int resolve_snapshot(struct batch_ui *ui, abk_client *c, const char *source);

/* One listed entry, copied out of the callback (its strings are borrowed). */
struct fent {
	char *path, *target;
	uint8_t type;
	uint32_t mode;
	int64_t mtime;
	uint64_t size;
};

struct fcollect {
	struct fent *v;
	size_t n, cap;
	int nomem;
};

/*
 * Append the entries of dir in snapshot (a full ID or NULL = latest), and
 * with recursive those of every folder below (one listing per folder).
 */
int collect_files(abk_client *c, const char *source, const char *snapshot, const char *dir,
    int recursive, struct fcollect *fc, abk_err *err);
void fcollect_free(struct fcollect *fc);
/* qsort order of struct fent by path. */
int fent_path_cmp(const void *a, const void *b);

/*
 * Before a push (batch_push_check.c): every path readable, no name taken by
 * another origin on the server (unless --force); exit status.
 */
int push_precheck(struct batch_ui *ui, abk_client *c, char **paths, const char *const *names,
    int n);
/*
 * The excludes for a push of path: --exclude plus the pseudo file systems
 * below it (noted on stderr).  *out is o->excludes or a new array; free
 * *out (when it is not o->excludes) and *owned after the push.
 */
int push_excludes(struct batch_ui *ui, const char *path, const char ***out, char **owned);

/* Before a restore (batch_restore_check.c); exit statuses. */
int restore_zip_check(struct batch_ui *ui);
/* May pin ui->o->snapshot to the ID it checked: copy it into ro after. */
int restore_overwrite_check(struct batch_ui *ui, abk_client *c,
    const struct abk_restore_opts *ro);

/* The commands in batch_list.c and batch_find.c. */
int cmd_list(struct batch_ui *ui, abk_client *c, char **args, int n);
int cmd_find(struct batch_ui *ui, abk_client *c, char **args, int n);

#endif
