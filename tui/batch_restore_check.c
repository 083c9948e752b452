/*
 * batch_restore_check.c - what `restore` checks before it writes (issue 10,
 * item 7): --zip never replaces a file without --force and cannot go to a
 * pipe; a restore that would overwrite local files that differ from the
 * snapshot asks on a terminal and, without one, refuses unless --force.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_int.h"
#include "exitcodes.h"

int
restore_zip_check(struct batch_ui *ui)
{
	struct batch_opts *o = ui->o;
	struct stat st;

	if (o->zip == NULL)
		return ABK_EXIT_OK;
	if (strcmp(o->zip, "-") == 0) {
		/* zipio's writer goes back to fill in sizes and writes the
		 * central directory from what it re-reads: it needs a file */
		fprintf(stderr, "autobackup: --zip - is not supported: the zip archive is "
		    "written with seeks back into it, which a pipe cannot do; give a file "
		    "name\n");
		return ABK_EXIT_USAGE;
	}
	if (!o->force && lstat(o->zip, &st) == 0) {
		fputs("autobackup: ", stderr);
		print_name(stderr, o->zip, strlen(o->zip));
		fputs(" exists and was left alone: give another name, or --force to replace "
		    "it\n", stderr);
		return ABK_EXIT_USAGE;
	}
	return ABK_EXIT_OK;
}

/* 1 if there is nothing at path to overwrite: missing, or an empty folder. */
static int
nothing_there(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (d == NULL)
		return errno == ENOENT;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

static int
ask_yes(const char *question)
{
	char line[64];

	fputs(question, stderr);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

int
restore_overwrite_check(struct batch_ui *ui, abk_client *c, const struct abk_restore_opts *ro)
{
	struct batch_opts *o = ui->o;
	struct abk_restore_opts dry = *ro;
	struct abk_restore_result res;
	abk_err err = ABK_ERR_INIT;
	char q[4400];

	const char *target = ro->to != NULL ? ro->to : ro->origin;

	/* no target: the restore refuses by itself; an empty one: nothing to
	 * lose, and no second request (the plan costs a file list) */
	if (o->force || o->dry_run || o->zip != NULL || target == NULL || nothing_there(target))
		return ABK_EXIT_OK;
	dry.dry_run = 1;
	dry.progress = NULL;
	dry.note = NULL;
	dry.change = NULL;
	memset(&res, 0, sizeof(res));
	/* a failure here is the restore's own: let it report it */
	if (abk_restore(c, &dry, &res, &err) != ABK_OK)
		return ABK_EXIT_OK;
	/* the restore writes what was checked, even if a push lands meanwhile */
	snprintf(ui->snap_id, sizeof(ui->snap_id), "%s", res.snapshot);
	o->snapshot = ui->snap_id;
	if (res.modified == 0)
		return ABK_EXIT_OK;
	snprintf(q, sizeof(q), "autobackup: %llu local entr%s in %s differ%s from snapshot %s "
	    "and would be overwritten", (unsigned long long)res.modified,
	    res.modified == 1 ? "y" : "ies", res.target, res.modified == 1 ? "s" : "",
	    res.snapshot);
	if (isatty(STDIN_FILENO) && isatty(STDERR_FILENO)) {
		char full[4500];

		snprintf(full, sizeof(full), "%s (--dry-run lists them).\nOverwrite? [y/N] ", q);
		if (ask_yes(full))
			return ABK_EXIT_OK;
		fprintf(stderr, "autobackup: nothing was restored\n");
		return ABK_EXIT_CANCELED;
	}
	fprintf(stderr, "%s.\nautobackup: nothing was restored: see them with --dry-run, "
	    "overwrite with --force, or restore elsewhere with --to DIR\n", q);
	return ABK_EXIT_USAGE;
}
