/*
 * cli.c - autobackupd's command line.
 *
 * A table of subcommands (name, usage, handler) drives dispatch and the help
 * text, so adding a command is one row.  Handlers parse their own options
 * with getopt_long and return an exit status from exitcodes.h.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certgen.h"
#include "cli.h"
#include "datadir.h"
#include "exitcodes.h"
#include "strutil.h"

struct cli_command {
	const char *name;
	const char *usage;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static int cli_init(int argc, char **argv);

static const struct cli_command cli_commands[] = {
	{ "init", "init [--data DIR] [--hostname NAME]... [--force | --renew-server "
	  "[--replace-names]]",
	  "create the data directory, account database and certificates", cli_init },
	/* serve's options and usage: serve_opts in cli_serve.c */
	{ "serve", "serve [OPTIONS]", "run the TLS server", cli_serve },
	{ "user", "user add|del|passwd|list|disable|enable|quota|append-only ...",
	  "manage accounts (works while the server runs)", cli_admin },
	{ "token", "token add|list|revoke ...",
	  "manage API tokens for --batch clients", cli_admin },
	{ "prune", "prune USER [SOURCE] [--dry-run] [--keep-last N ...]",
	  "remove the snapshots the retention policy does not keep", cli_admin },
};

static void
cli_usage(FILE *out)
{
	fprintf(out, "usage: autobackupd COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++)
		fprintf(out, "  %-6s %s\n", cli_commands[i].name, cli_commands[i].summary);
	fprintf(out, "\nRun 'autobackupd COMMAND --help' or see autobackupd(8).\n");
}

static const struct cli_command *
cli_find(const char *name)
{
	for (size_t i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++)
		if (strcmp(name, cli_commands[i].name) == 0)
			return &cli_commands[i];
	return NULL;
}

int
cli_bad_option(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "autobackupd %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'autobackupd %s --help'.\n", cmd);
	return ABK_EXIT_USAGE;
}

int
cli_getopt_fail(const char *cmd, int ch, char **argv)
{
	if (ch == ':')
		return cli_bad_option(cmd, "option '%s' needs an argument", argv[optind - 1]);
	return cli_bad_option(cmd, "unknown option '%s'", argv[optind - 1]);
}

int
cli_set_path(char *dst, size_t dstsz, const char *src, const char *what)
{
	if (strlen(src) >= dstsz) {
		fprintf(stderr, "autobackupd: %s path too long\n", what);
		return -1;
	}
	snprintf(dst, dstsz, "%s", src);
	return 0;
}

int
cli_uint_opt(const char *name, const char *val, uint64_t min, uint64_t max, uint64_t *out)
{
	if (abk_parse_uint(val, min, max, out) != ABK_OK) {
		fprintf(stderr, "autobackupd: %s needs a number from %llu to %llu, not '%s'\n",
		    name, (unsigned long long)min, (unsigned long long)max, val);
		return -1;
	}
	return 0;
}

static void
cli_init_help(FILE *out)
{
	fprintf(out, "usage: autobackupd %s\n\n"
	    "Create the data directory (db/, users/, certs/), a private CA and a\n"
	    "server certificate signed by it.\n\n"
	    "  --data DIR       data directory (default: $%s, %s as root,\n"
	    "                   else ~/.local/share/autobackupd)\n"
	    "  --hostname NAME  a DNS name or IP address clients will connect to;\n"
	    "                   repeat for several (localhost, 127.0.0.1 and ::1 are\n"
	    "                   always included; without --hostname, this machine's\n"
	    "                   host name is added)\n"
	    "  --force          DIR already holds a data directory: make a new CA and\n"
	    "                   server certificate (accounts and backups are kept;\n"
	    "                   every client needs the new ca.pem)\n"
	    "  --renew-server   new server key and certificate from the existing CA\n"
	    "                   (clients keep their ca.pem); it keeps the names the\n"
	    "                   certificate carries and adds the --hostname ones\n"
	    "  --replace-names  with --renew-server: only the --hostname names\n",
	    cli_find("init")->usage, DATADIR_ENV, DATADIR_SYSTEM);
}

/* What init made and what to do next. */
static void
cli_init_report(const char *data, const char *const *names, size_t nnames,
    int force, int renew)
{
	char full[PATH_MAX];
	const char *d = realpath(data, full) != NULL ? full : data;

	if (renew)
		printf("Renewed the server certificate in %s/%s\n", d, DATADIR_CERTS);
	else
		printf("Created the autobackup data directory %s\n"
		    "  accounts:     %s/%s\n  backups:      %s/%s\n",
		    d, d, DATADIR_DB, d, DATADIR_USERS);
	printf("  server cert:  %s/%s/%s (key %s)\n"
	    "  valid for:    localhost 127.0.0.1 ::1",
	    d, DATADIR_CERTS, CERTGEN_SERVER_CERT, CERTGEN_SERVER_KEY);
	for (size_t i = 0; i < nnames; i++)
		printf(" %s", names[i]);
	printf("\n  CA cert:      %s/%s/%s\n", d, DATADIR_CERTS, CERTGEN_CA_CERT);
	if (renew) {
		printf("Clients keep their ca.pem; restart 'autobackupd serve' to "
		    "use the new certificate.\n");
		return;
	}
	if (force)
		printf("This is a new CA: clients holding the old ca.pem will refuse "
		    "the server until they get the new one.\n");
	printf("Copy the CA certificate to every client, for example:\n"
	    "  scp THIS-HOST:%s/%s/%s ~/.config/autobackup/ca.pem\n"
	    "or point the client at it with 'autobackup --ca FILE'.\n",
	    d, DATADIR_CERTS, CERTGEN_CA_CERT);
}

static int
cli_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "hostname", required_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "renew-server", no_argument, NULL, 'r' },
		{ "replace-names", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *names[CERTGEN_MAX_NAMES];
	char defdata[PATH_MAX], host[256], certs[PATH_MAX];
	static char old[CERTGEN_MAX_NAMES][CERTGEN_NAME_MAX + 1];
	const char *data = NULL;
	size_t nnames = 0, nold = 0;
	int ch, force = 0, renew = 0, replace = 0, rc;
	abk_err err = ABK_ERR_INIT;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			data = optarg;
			break;
		case 'n':
			if (nnames == CERTGEN_MAX_NAMES) {
				fprintf(stderr, "autobackupd init: at most %d --hostname "
				    "options\n", CERTGEN_MAX_NAMES);
				return ABK_EXIT_USAGE;
			}
			names[nnames++] = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'r':
			renew = 1;
			break;
		case 'R':
			replace = 1;
			break;
		case 'h':
			cli_init_help(stdout);
			return ABK_EXIT_OK;
		default:
			return cli_getopt_fail("init", ch, argv);
		}
	}
	if (optind < argc || (force && renew) || (replace && !renew))
		return cli_bad_option("init", "%s", optind < argc ? "unexpected argument" :
		    replace && !renew ? "--replace-names goes with --renew-server" :
		    "--force and --renew-server cannot be combined");
	if (data == NULL) {
		if (datadir_default(defdata, sizeof(defdata), &err) != ABK_OK) {
			fprintf(stderr, "autobackupd init: %s\n", err.msg);
			return ABK_EXIT_USAGE;
		}
		data = defdata;
	}
	if (renew && snprintf(certs, sizeof(certs), "%s/%s", data, DATADIR_CERTS) >=
	    (int)sizeof(certs)) {
		fprintf(stderr, "autobackupd init: data directory path too long\n");
		return ABK_EXIT_USAGE;
	}
	/* A renewal keeps the names clients already use (issue 10 item 7). */
	if (renew && !replace) {
		if (datadir_check(data, &err) != ABK_OK) {
			fprintf(stderr, "autobackupd init: %s\n", err.msg);
			return ABK_EXIT_FAILURE;
		}
		if (certgen_server_names(certs, old, CERTGEN_MAX_NAMES, &nold, &err) != ABK_OK) {
			fprintf(stderr, "autobackupd init: %s (give --replace-names to set the "
			    "names afresh)\n", err.msg);
			return ABK_EXIT_FAILURE;
		}
		for (size_t i = 0; i < nold; i++) {
			int dup = 0;

			for (size_t j = 0; j < nnames; j++)
				dup |= strcmp(names[j], old[i]) == 0;
			if (dup)
				continue;
			if (nnames == CERTGEN_MAX_NAMES) {
				fprintf(stderr, "autobackupd init: the certificate's names and the "
				    "--hostname ones are more than %d; use --replace-names\n",
				    CERTGEN_MAX_NAMES);
				return ABK_EXIT_USAGE;
			}
			names[nnames++] = old[i];
		}
	}
	/* By default the certificate also names this machine, when it can. */
	if (nnames == 0 && gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		if (certgen_check_name(host, NULL) == ABK_OK)
			names[nnames++] = host;
	}
	if (renew) {
		rc = datadir_check(data, &err);
		if (rc == ABK_OK)
			rc = certgen_make_server(certs, names, nnames, &err);
	} else
		rc = datadir_init(data, names, nnames, force, &err);
	if (rc != ABK_OK) {
		fprintf(stderr, "autobackupd init: %s\n", err.msg);
		return rc == ABK_E_USAGE ? ABK_EXIT_USAGE : ABK_EXIT_FAILURE;
	}
	cli_init_report(data, names, nnames, force, renew);
	return ABK_EXIT_OK;
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
