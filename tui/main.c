/*
 * main.c - autobackup entry point: option parsing only, then either
 * --batch COMMAND for scripts (batch.c) or the interactive interface
 * (app.c) on the folder given as operand.
 */
#include "config.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "batch.h"
#include "engine.h"
#include "exitcodes.h"
#include "strutil.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: autobackup [FOLDER]          (interactive: browse, push, restore)\n"
	    "       autobackup --batch push PATH... [--name NAME] [--exclude PATTERN]... [--checksum]\n"
	    "                               [--one-file-system] [--force]\n"
	    "       autobackup --batch list [SOURCE [--snapshot ID] [--path SUB] [--recursive]]\n"
	    "       autobackup --batch find PATTERN [SOURCE [--snapshot ID]]\n"
	    "       autobackup --batch restore SOURCE [--snapshot ID] [--path SUB]... [--to DIR]\n"
	    "                                  [--delete] [--dry-run] [--zip FILE] [--force]\n"
	    "       autobackup --batch verify SOURCE [--snapshot ID]\n"
	    "       autobackup --batch schedule add PATH... --every 1h|daily|weekly [--name N]\n"
	    "       autobackup --batch schedule list | schedule remove NAME\n"
	    "connection: [--server HOST:PORT] [--ca FILE] [--user NAME] [--profile NAME]\n"
	    "            [--password-file F | --token-file F]  (or AUTOBACKUP_PASSWORD,\n"
	    "            AUTOBACKUP_TOKEN, the config file, or a prompt) [--timeout SECONDS]\n"
	    "output:     [--json] [--quiet] [--verbose] [--progress]\n"
	    "See autobackup(1).\n");
}

static int
bad_usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "autobackup: %s\n", msg);
	fprintf(stderr, "Try 'autobackup --help'.\n");
	return ABK_EXIT_USAGE;
}

/*
 * The options, one row each (the table feeds getopt_long and the parser):
 * a string kept as given, a flag set to 1, or one that needs its own check
 * (OPT_OWN, handled in opt_own by the row's code).
 */
enum opt_kind { OPT_STRING, OPT_FLAG, OPT_OWN };
enum opt_own { OWN_NONE, OWN_HELP, OWN_VERSION, OWN_BATCH, OWN_EXCLUDE, OWN_THREADS,
	OWN_COMPRESS, OWN_BWLIMIT, OWN_TIMEOUT };

struct opt_row {
	const char *name;
	char short_name;		/* 0: long only */
	enum opt_kind kind;
	size_t field;			/* offsetof in struct batch_opts (STRING, FLAG) */
	enum opt_own own;		/* OPT_OWN */
};

#define STR(n, f) { n, 0, OPT_STRING, offsetof(struct batch_opts, f), OWN_NONE }
#define FLAG(n, s, f) { n, s, OPT_FLAG, offsetof(struct batch_opts, f), OWN_NONE }
#define OWN(n, s, w) { n, s, OPT_OWN, 0, w }

static const struct opt_row opt_rows[] = {
	OWN("help", 'h', OWN_HELP), OWN("version", 'V', OWN_VERSION),
	OWN("batch", 'b', OWN_BATCH),
	FLAG("quiet", 'q', quiet), FLAG("verbose", 'v', verbose),
	STR("server", server), STR("ca", ca), STR("user", user),
	STR("password-file", password_file), STR("token-file", token_file),
	STR("profile", profile), STR("config", config),
	STR("name", name), STR("snapshot", snapshot), STR("path", path), STR("to", to),
	STR("zip", zip), STR("every", every), STR("record-status", record_status),
	OWN("exclude", 0, OWN_EXCLUDE), OWN("threads", 0, OWN_THREADS),
	OWN("compress", 0, OWN_COMPRESS), OWN("bwlimit", 0, OWN_BWLIMIT),
	OWN("timeout", 0, OWN_TIMEOUT),
	FLAG("json", 0, json), FLAG("checksum", 0, checksum), FLAG("delete", 0, delete_extra),
	FLAG("dry-run", 0, dry_run), FLAG("progress", 0, progress),
	FLAG("recursive", 0, recursive), FLAG("force", 0, force),
	FLAG("one-file-system", 0, one_file_system),
};
#define OPT_ROWS (sizeof(opt_rows) / sizeof(opt_rows[0]))
#define OPT_LONG_BASE 256	/* getopt value of row i without a short name */

/* The options that need more than a copy; -1 to go on, else an exit status. */
static int
opt_own(enum opt_own own, const char *arg, struct batch_opts *o, int *batch)
{
	uint64_t v;

	switch (own) {
	case OWN_HELP:
		usage(stdout);
		return ABK_EXIT_OK;
	case OWN_VERSION:
		printf("autobackup %s\n", PACKAGE_VERSION);
		return ABK_EXIT_OK;
	case OWN_BATCH:
		*batch = 1;
		return -1;
	case OWN_EXCLUDE:
		if (o->n_excludes >= BATCH_EXCLUDES_MAX)
			return bad_usage("too many --exclude patterns");
		o->excludes[o->n_excludes++] = arg;
		return -1;
	case OWN_THREADS:
		if (abk_parse_uint(arg, 1, 64, &v) != ABK_OK)
			return bad_usage("--threads needs a number from 1 to 64");
		o->threads = (int)v;
		return -1;
	case OWN_COMPRESS:
		if (strcmp(arg, "auto") == 0)
			o->compress = ABK_COMPRESS_AUTO;
		else if (strcmp(arg, "always") == 0)
			o->compress = ABK_COMPRESS_ALWAYS;
		else if (strcmp(arg, "never") == 0)
			o->compress = ABK_COMPRESS_NEVER;
		else
			return bad_usage("--compress takes auto, always or never");
		return -1;
	case OWN_BWLIMIT:
		if (abk_parse_size(arg, &o->bwlimit) != ABK_OK || o->bwlimit == 0)
			return bad_usage("--bwlimit needs a rate in bytes per second, like 500K "
			    "or 2M");
		return -1;
	case OWN_TIMEOUT:
		if (abk_parse_uint(arg, 1, 86400, &v) != ABK_OK)
			return bad_usage("--timeout needs a number of seconds from 1 to 86400");
		o->timeout_s = (int)v;
		return -1;
	case OWN_NONE:
		break;
	}
	return -1;
}

/* The row getopt_long answered with ch, or NULL. */
static const struct opt_row *
opt_find(int ch)
{
	if (ch >= OPT_LONG_BASE && (size_t)(ch - OPT_LONG_BASE) < OPT_ROWS)
		return &opt_rows[ch - OPT_LONG_BASE];
	for (size_t i = 0; i < OPT_ROWS; i++)
		if (opt_rows[i].short_name != 0 && opt_rows[i].short_name == ch)
			return &opt_rows[i];
	return NULL;
}

/* Parse argv into o; -1 to go on, else the exit status to end with. */
static int
parse_options(int argc, char **argv, struct batch_opts *o, int *batch)
{
	struct option longopts[OPT_ROWS + 1];
	char shorts[2 * OPT_ROWS + 1];
	size_t ns = 0;
	int ch;

	for (size_t i = 0; i < OPT_ROWS; i++) {
		const struct opt_row *r = &opt_rows[i];

		longopts[i].name = r->name;
		longopts[i].has_arg = r->kind == OPT_FLAG || r->own == OWN_HELP ||
		    r->own == OWN_VERSION || r->own == OWN_BATCH ? no_argument : required_argument;
		longopts[i].flag = NULL;
		longopts[i].val = r->short_name != 0 ? r->short_name : OPT_LONG_BASE + (int)i;
		if (r->short_name != 0)
			shorts[ns++] = r->short_name;
	}
	longopts[OPT_ROWS] = (struct option){ NULL, 0, NULL, 0 };	/* the end mark */
	shorts[ns] = '\0';
	while ((ch = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
		const struct opt_row *r = opt_find(ch);
		int rc;

		if (r == NULL)
			return bad_usage(NULL);
		if (r->kind == OPT_STRING) {
			*(const char **)(void *)((char *)o + r->field) = optarg;
		} else if (r->kind == OPT_FLAG) {
			*(int *)(void *)((char *)o + r->field) = 1;
		} else if ((rc = opt_own(r->own, optarg, o, batch)) >= 0) {
			return rc;
		}
	}
	if (o->password_file != NULL && o->token_file != NULL)
		return bad_usage("give --password-file or --token-file, not both");
	return -1;
}

/* Without --batch: the TUI on FOLDER (or the current directory). */
static int
run_interactive(const struct batch_opts *o, int argc, char **argv)
{
	struct tui_opts t;

	if (argc - optind > 1)
		return bad_usage("commands need --batch (the interactive interface takes one "
		    "FOLDER at most)");
	memset(&t, 0, sizeof(t));
	t.conn.config = o->config;
	t.conn.profile = o->profile;
	t.conn.server = o->server;
	t.conn.ca = o->ca;
	t.conn.user = o->user;
	t.conn.password_file = o->password_file;
	t.conn.token_file = o->token_file;
	t.start_dir = optind < argc ? argv[optind] : NULL;
	t.checksum = o->checksum;
	t.threads = o->threads;
	t.compress = o->compress;
	t.bwlimit = o->bwlimit;
	return tui_run(&t);
}

int
main(int argc, char **argv)
{
	struct batch_opts o;
	int batch = 0, rc;

	memset(&o, 0, sizeof(o));
	if ((rc = parse_options(argc, argv, &o, &batch)) >= 0)
		return rc;
	if (!batch)
		return run_interactive(&o, argc, argv);
	if (optind >= argc)
		return bad_usage("--batch needs a command: push, list, find, restore, verify or "
		    "schedule");
	o.args = argv + optind;
	o.n_args = argc - optind;
	return batch_run(&o);
}
