/*
 * cli_admin.c - the `user`, `token` and `prune` subcommands of autobackupd:
 * option parsing, then the admin table shared with the console (admin.c).
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "admin.h"
#include "cli.h"
#include "datadir.h"
#include "exitcodes.h"
#include "strutil.h"

static int
cli_tty_secret(struct admin_ctx *ctx, const char *prompt, char *buf, size_t bufsz,
    abk_err *err)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);

	/* Scripts and cron have no terminal: say which option they need. */
	if (fd < 0)
		return abk_err_set(err, ABK_E_USAGE, "no terminal to ask for the password: "
		    "give --password-file FILE (the password is its first line)");
	close(fd);
	return abk_read_secret_tty(prompt, buf, bufsz, err);
}

/* Map `user VERB` onto the console's command names. */
static const struct {
	const char *group;
	const char *verb;
	const char *command;
} cli_verbs[] = {
	{ "user", "add", "useradd" },
	{ "user", "del", "userdel" },
	{ "user", "passwd", "passwd" },
	{ "user", "list", "users" },
	{ "user", "disable", "disable" },
	{ "user", "append-only", "appendonly" },
	{ "user", "enable", "enable" },
	{ "user", "quota", "quota" },
	{ "user", "policy", "policy" },
	{ "token", "add", "token" },
	{ "token", "list", "token" },
	{ "token", "revoke", "token" },
	{ "prune", NULL, "prune" },
};

static void
cli_admin_usage(FILE *out)
{
	fprintf(out,
	    "usage: autobackupd user add NAME [--quota SIZE] [--append-only] [--keep-data]\n"
	    "                            [--password-file F]\n"
	    "       autobackupd user del NAME [--purge]\n"
	    "       autobackupd user passwd NAME [--password-file F]\n"
	    "       autobackupd user list | disable NAME | enable NAME | quota NAME SIZE\n"
	    "       autobackupd user append-only NAME on|off\n"
	    "       autobackupd token add NAME [LABEL] | token list [NAME] | token revoke ID\n"
	    "       autobackupd user policy NAME [SOURCE] [--keep-last N] [--keep-hourly N]\n"
	    "                            [--keep-daily N] [--keep-weekly N] [--keep-monthly N]\n"
	    "                            [--keep-yearly N] [--keep-within DURATION] | --clear\n"
	    "       autobackupd prune USER [SOURCE] [--dry-run] [--keep-last N ...]\n"
	    "common options: --data DIR, --iterations N (PBKDF2, default %u)\n",
	    ACCOUNTS_DEFAULT_ITERATIONS);
}

/* `autobackupd user|token|prune ...`: works while the server runs. */
int
cli_admin(int argc, char **argv)
{
	char data_dir[4096], dbdir[4200];
	char *args[48];
	int nargs = 0, rc;
	const char *command = NULL;
	struct admin_ctx ctx;
	abk_err err = ABK_ERR_INIT;

	memset(&ctx, 0, sizeof(ctx));
	if (datadir_default(data_dir, sizeof(data_dir), &err) != ABK_OK) {
		data_dir[0] = '\0';
		abk_err_clear(&err);
	}
	/* Options may stand anywhere; everything else is positional. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cli_admin_usage(stdout);
			return ABK_EXIT_OK;
		} else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			if (cli_set_path(data_dir, sizeof(data_dir), argv[++i], "--data"))
				return ABK_EXIT_USAGE;
		} else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc) {
			ctx.password_file = argv[++i];
		} else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
			uint64_t it;

			if (cli_uint_opt("--iterations", argv[++i], ACCOUNTS_MIN_ITERATIONS,
			    ACCOUNTS_MAX_ITERATIONS, &it))
				return ABK_EXIT_USAGE;
			ctx.iterations = (uint32_t)it;
		} else if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i], "--quota") != 0 &&
		    strcmp(argv[i], "--append-only") != 0 && strcmp(argv[i], "--purge") != 0 &&
		    strncmp(argv[i], "--keep", 6) != 0 && strcmp(argv[i], "--dry-run") != 0 &&
		    strcmp(argv[i], "--clear") != 0) {
			return cli_bad_option(argv[0], "unknown option '%s'", argv[i]);
		} else {
			if (nargs >= (int)(sizeof(args) / sizeof(args[0])) - 1) {
				fprintf(stderr, "autobackupd: too many arguments\n");
				return ABK_EXIT_USAGE;
			}
			args[nargs++] = argv[i];
		}
	}
	for (size_t i = 0; i < sizeof(cli_verbs) / sizeof(cli_verbs[0]); i++) {
		if (strcmp(argv[0], cli_verbs[i].group) != 0)
			continue;
		if (cli_verbs[i].verb == NULL) {
			command = cli_verbs[i].command;
			break;
		}
		if (nargs > 0 && strcmp(args[0], cli_verbs[i].verb) == 0) {
			command = cli_verbs[i].command;
			if (strcmp(command, "token") != 0) {
				/* drop the verb: "user add NAME" -> "useradd NAME" */
				memmove(args, args + 1, (size_t)(nargs - 1) * sizeof(args[0]));
				nargs--;
			}
			break;
		}
	}
	if (command == NULL) {
		fprintf(stderr, "autobackupd: unknown or missing %s command\n", argv[0]);
		cli_admin_usage(stderr);
		return ABK_EXIT_USAGE;
	}
	memmove(args + 1, args, (size_t)nargs * sizeof(args[0]));
	args[0] = (char *)(uintptr_t)command;
	nargs++;
	args[nargs] = NULL;

	snprintf(dbdir, sizeof(dbdir), "%s/db", data_dir);
	if (datadir_check(data_dir, &err) != ABK_OK) {
		fprintf(stderr, "autobackupd: %s\n", err.msg);
		return ABK_EXIT_FAILURE;
	}
	if (accounts_open(dbdir, &ctx.acc, &err) != ABK_OK) {
		fprintf(stderr, "autobackupd: %s\n", err.msg);
		return ABK_EXIT_FAILURE;
	}
	ctx.data_dir = data_dir;
	ctx.out = stdout;
	ctx.errout = stderr;
	ctx.read_secret = cli_tty_secret;
	rc = admin_exec(&ctx, nargs, args);
	if (accounts_close(ctx.acc, &err) != ABK_OK) {
		fprintf(stderr, "autobackupd: %s\n", err.msg);
		if (rc == ABK_EXIT_OK)
			rc = ABK_EXIT_FAILURE;
	}
	return rc;
}
