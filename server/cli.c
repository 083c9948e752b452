/*
 * cli.c - autobackupd's command line.
 *
 * A table of subcommands (name, usage, handler) drives dispatch and the help
 * text, so adding a command is one row.  Handlers parse their own options
 * with getopt_long and return an exit status from exitcodes.h.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "exitcodes.h"

struct cli_command {
	const char *name;
	const char *usage;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static int cli_not_ready(int argc, char **argv);

static const struct cli_command cli_commands[] = {
	{ "init", "init [--data DIR] [--hostname NAME]... [--force]",
	  "create the data directory, account database and certificates", cli_not_ready },
	{ "serve", "serve [--data DIR] [--listen HOST:PORT] [--port-file F] [--cert F --key F]\n"
	  "              [--threads N] [--max-sessions N] [--keep N] [--console] [--syslog]",
	  "run the TLS server", cli_serve },
	{ "user", "user add|del|passwd|list|disable|enable|quota ...",
	  "manage accounts (works while the server runs)", cli_admin },
	{ "token", "token add|list|revoke ...",
	  "manage API tokens for --batch clients", cli_admin },
	{ "prune", "prune USER [SOURCE] --keep N",
	  "delete old snapshots beyond a retention count", cli_admin },
};

static void
cli_usage(FILE *out)
{
	fprintf(out, "usage: autobackupd COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++)
		fprintf(out, "  %-6s %s\n", cli_commands[i].name, cli_commands[i].summary);
	fprintf(out, "\nRun 'autobackupd COMMAND --help' or see autobackupd(8).\n");
}

static int
cli_not_ready(int argc, char **argv)
{
	fprintf(stderr, "autobackupd: '%s' is not available in this build yet\n", argv[0]);
	return ABK_EXIT_FAILURE;
}

int
autobackupd_main(int argc, char **argv)
{
	if (argc < 2) {
		cli_usage(stderr);
		return ABK_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		cli_usage(stdout);
		return ABK_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("autobackupd %s\n", PACKAGE_VERSION);
		return ABK_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++) {
		if (strcmp(argv[1], cli_commands[i].name) == 0)
			return cli_commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "autobackupd: unknown command '%s'\n"
	    "Try 'autobackupd --help'.\n", argv[1]);
	return ABK_EXIT_USAGE;
}
