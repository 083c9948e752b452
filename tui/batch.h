/*
 * batch.h - `autobackup --batch`: the engine's operations for scripts and
 * cron, with plain or JSON output and documented exit codes.
 */
#ifndef ABT_BATCH_H
#define ABT_BATCH_H

#include <stddef.h>
#include <stdint.h>

#define BATCH_EXCLUDES_MAX 256
#define BATCH_PATHS_MAX 1024

struct batch_opts {
	const char *server, *ca, *user, *password_file, *token_file;
	const char *profile, *config;
	const char *name, *snapshot, *path, *to, *zip;
	const char *excludes[BATCH_EXCLUDES_MAX + 1];	/* NULL-terminated */
	size_t n_excludes;
	int json, quiet, verbose, checksum, delete_extra, dry_run, threads;
	uint64_t bwlimit;		/* bytes per second, 0 = none */
	int compress;			/* enum abk_compress */
	int progress;			/* --progress: status line even without a tty */
	int recursive;			/* list --path: everything below */
	int force;			/* push: another origin; restore: overwrite */
	int one_file_system;		/* push: stay on each PATH's file system */
	const char *every;		/* schedule add --every */
	const char *record_status;	/* write this schedule's status file at the end */
	int timeout_s;			/* --timeout: give up on a silent server (0: 120 s) */
	char **args;			/* command and its operands */
	int n_args;
};

/* Run a batch command; returns the exit status. */
int batch_run(struct batch_opts *o);

#endif
