/*
 * main.c - autobackup entry point: option parsing only, then either
 * --batch COMMAND for scripts (batch.c) or the interactive interface
 * (app.c) on the folder given as operand.
 */
#include "config.h"

#include <getopt.h>
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
	    "            AUTOBACKUP_TOKEN, the config file, or a prompt)\n"
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

int
main(int argc, char **argv)
{
	enum {
		OPT_SERVER = 256, OPT_CA, OPT_USER, OPT_PASSWORD_FILE, OPT_TOKEN_FILE,
		OPT_PROFILE, OPT_CONFIG, OPT_NAME, OPT_SNAPSHOT, OPT_PATH, OPT_TO, OPT_ZIP,
		OPT_EXCLUDE, OPT_JSON, OPT_CHECKSUM, OPT_DELETE, OPT_DRY_RUN, OPT_THREADS, OPT_BWLIMIT, OPT_COMPRESS,
		OPT_PROGRESS, OPT_RECURSIVE, OPT_FORCE, OPT_ONE_FS, OPT_EVERY, OPT_RECORD_STATUS,
	};
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "batch", no_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "user", required_argument, NULL, OPT_USER },
		{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "to", required_argument, NULL, OPT_TO },
		{ "zip", required_argument, NULL, OPT_ZIP },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "checksum", no_argument, NULL, OPT_CHECKSUM },
		{ "delete", no_argument, NULL, OPT_DELETE },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "bwlimit", required_argument, NULL, OPT_BWLIMIT },
		{ "compress", required_argument, NULL, OPT_COMPRESS },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "recursive", no_argument, NULL, OPT_RECURSIVE },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "every", required_argument, NULL, OPT_EVERY },
		{ "record-status", required_argument, NULL, OPT_RECORD_STATUS },
		{ "one-file-system", no_argument, NULL, OPT_ONE_FS },
		{ NULL, 0, NULL, 0 },
	};
	struct batch_opts o;
	int ch, batch = 0;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "hVbqv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return ABK_EXIT_OK;
		case 'V':
			printf("autobackup %s\n", PACKAGE_VERSION);
			return ABK_EXIT_OK;
		case 'b':
			batch = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case OPT_SERVER:
			o.server = optarg;
			break;
		case OPT_CA:
			o.ca = optarg;
			break;
		case OPT_USER:
			o.user = optarg;
			break;
		case OPT_PASSWORD_FILE:
			o.password_file = optarg;
			break;
		case OPT_TOKEN_FILE:
			o.token_file = optarg;
			break;
		case OPT_PROFILE:
			o.profile = optarg;
			break;
		case OPT_CONFIG:
			o.config = optarg;
			break;
		case OPT_NAME:
			o.name = optarg;
			break;
		case OPT_SNAPSHOT:
			o.snapshot = optarg;
			break;
		case OPT_PATH:
			o.path = optarg;
			break;
		case OPT_TO:
			o.to = optarg;
			break;
		case OPT_ZIP:
			o.zip = optarg;
			break;
		case OPT_EXCLUDE:
			if (o.n_excludes >= BATCH_EXCLUDES_MAX)
				return bad_usage("too many --exclude patterns");
			o.excludes[o.n_excludes++] = optarg;
			break;
		case OPT_EVERY:
			o.every = optarg;
			break;
		case OPT_RECORD_STATUS:
			o.record_status = optarg;
			break;
		case OPT_FORCE:
			o.force = 1;
			break;
		case OPT_ONE_FS:
			o.one_file_system = 1;
			break;
		case OPT_RECURSIVE:
			o.recursive = 1;
			break;
		case OPT_PROGRESS:
			o.progress = 1;
			break;
		case OPT_JSON:
			o.json = 1;
			break;
		case OPT_CHECKSUM:
			o.checksum = 1;
			break;
		case OPT_DELETE:
			o.delete_extra = 1;
			break;
		case OPT_DRY_RUN:
			o.dry_run = 1;
			break;
		case OPT_THREADS: {
			uint64_t v;

			if (abk_parse_uint(optarg, 1, 64, &v) != ABK_OK)
				return bad_usage("--threads needs a number from 1 to 64");
			o.threads = (int)v;
			break;
		}
		case OPT_COMPRESS:
			if (strcmp(optarg, "auto") == 0)
				o.compress = ABK_COMPRESS_AUTO;
			else if (strcmp(optarg, "always") == 0)
				o.compress = ABK_COMPRESS_ALWAYS;
			else if (strcmp(optarg, "never") == 0)
				o.compress = ABK_COMPRESS_NEVER;
			else
				return bad_usage("--compress takes auto, always or never");
			break;
		case OPT_BWLIMIT:
			if (abk_parse_size(optarg, &o.bwlimit) != ABK_OK || o.bwlimit == 0)
				return bad_usage("--bwlimit needs a rate in bytes per second, "
				    "like 500K or 2M");
			break;
		default:
			return bad_usage(NULL);
		}
	}
	if (o.password_file != NULL && o.token_file != NULL)
		return bad_usage("give --password-file or --token-file, not both");
	if (!batch) {
		struct tui_opts t;

		if (argc - optind > 1)
			return bad_usage("commands need --batch (the interactive interface takes "
			    "one FOLDER at most)");
		memset(&t, 0, sizeof(t));
		t.conn.config = o.config;
		t.conn.profile = o.profile;
		t.conn.server = o.server;
		t.conn.ca = o.ca;
		t.conn.user = o.user;
		t.conn.password_file = o.password_file;
		t.conn.token_file = o.token_file;
		t.start_dir = optind < argc ? argv[optind] : NULL;
		t.checksum = o.checksum;
		t.threads = o.threads;
		t.compress = o.compress;
		t.bwlimit = o.bwlimit;
		return tui_run(&t);
	}
	if (optind >= argc)
		return bad_usage("--batch needs a command: push, list, find, restore, verify or schedule");
	o.args = argv + optind;
	o.n_args = argc - optind;
	return batch_run(&o);
}
