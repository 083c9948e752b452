/*
 * cli_admin.c - the `serve`, `user`, `token` and `prune` subcommands of
 * autobackupd: option parsing, then srv_run or the shared admin table.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "admin.h"
#include "cli.h"
#include "datadir.h"
#include "exitcodes.h"
#include "server.h"
#include "strutil.h"

static int
cli_bad_option(const char *cmd)
{
	fprintf(stderr, "Try 'autobackupd %s --help'.\n", cmd);
	return ABK_EXIT_USAGE;
}

static int
cli_set_path(char *dst, size_t dstsz, const char *src, const char *what)
{
	if (strlen(src) >= dstsz) {
		fprintf(stderr, "autobackupd: %s path too long\n", what);
		return -1;
	}
	snprintf(dst, dstsz, "%s", src);
	return 0;
}

static int
cli_uint_opt(const char *name, const char *val, uint64_t min, uint64_t max, uint64_t *out)
{
	if (abk_parse_uint(val, min, max, out) != ABK_OK) {
		fprintf(stderr, "autobackupd: %s needs a number from %llu to %llu, not '%s'\n",
		    name, (unsigned long long)min, (unsigned long long)max, val);
		return -1;
	}
	return 0;
}

int
cli_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-sessions", required_argument, NULL, 'm' },
		{ "keep", required_argument, NULL, 'K' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "handshake-timeout", required_argument, NULL, 'H' },
		{ "login-timeout", required_argument, NULL, 'L' },
		{ "frame-timeout", required_argument, NULL, 'F' },
		{ "login-workers", required_argument, NULL, 'W' },
		{ "logins-per-address", required_argument, NULL, 'A' },
		{ "list-memory", required_argument, NULL, 'M' },
		{ "list-memory-per-user", required_argument, NULL, 'U' },
		{ "console", no_argument, NULL, 'C' },
		{ "no-console", no_argument, NULL, 'N' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct srv_config cfg;
	abk_err err = ABK_ERR_INIT;
	int ch, console = -1, max_set = 0;
	uint64_t v;

	srv_config_defaults(&cfg);
	if (datadir_default(cfg.data_dir, sizeof(cfg.data_dir), &err) != ABK_OK)
		cfg.data_dir[0] = '\0';	/* then --data is required */
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (cli_set_path(cfg.data_dir, sizeof(cfg.data_dir), optarg, "--data"))
				return ABK_EXIT_USAGE;
			break;
		case 'l':
			if (net_split_hostport(optarg, ABK_DEFAULT_PORT, cfg.listen_host, &cfg.listen_port,
			    &err) != ABK_OK) {
				fprintf(stderr, "autobackupd: --listen: %s\n", err.msg);
				return ABK_EXIT_USAGE;
			}
			break;
		case 'p':
			if (cli_set_path(cfg.port_file, sizeof(cfg.port_file), optarg, "--port-file"))
				return ABK_EXIT_USAGE;
			break;
		case 'c':
			if (cli_set_path(cfg.cert_file, sizeof(cfg.cert_file), optarg, "--cert"))
				return ABK_EXIT_USAGE;
			break;
		case 'k':
			if (cli_set_path(cfg.key_file, sizeof(cfg.key_file), optarg, "--key"))
				return ABK_EXIT_USAGE;
			break;
		case 't':
			if (cli_uint_opt("--threads", optarg, 1, 4096, &v))
				return ABK_EXIT_USAGE;
			cfg.threads = (unsigned)v;
			break;
		case 'm':
			if (cli_uint_opt("--max-sessions", optarg, 1, 65536, &v))
				return ABK_EXIT_USAGE;
			cfg.max_sessions = (unsigned)v;
			max_set = 1;
			break;
		case 'K':
			if (cli_uint_opt("--keep", optarg, 1, 100000, &v))
				return ABK_EXIT_USAGE;
			cfg.keep = (unsigned)v;
			break;
		case 'I':
			if (cli_uint_opt("--idle-timeout", optarg, 1, 86400, &v))
				return ABK_EXIT_USAGE;
			cfg.idle_timeout_ms = (int)v * 1000;
			break;
		case 'H':
			if (cli_uint_opt("--handshake-timeout", optarg, 1, 600, &v))
				return ABK_EXIT_USAGE;
			cfg.handshake_timeout_ms = (int)v * 1000;
			break;
		case 'L':
			if (cli_uint_opt("--login-timeout", optarg, 1, 600, &v))
				return ABK_EXIT_USAGE;
			cfg.login_timeout_ms = (int)v * 1000;
			break;
		case 'F':
			if (cli_uint_opt("--frame-timeout", optarg, 1, 86400, &v))
				return ABK_EXIT_USAGE;
			cfg.frame_timeout_ms = (int)v * 1000;
			break;
		case 'W':
			if (cli_uint_opt("--login-workers", optarg, 1, 4096, &v))
				return ABK_EXIT_USAGE;
			cfg.unauth_workers = (unsigned)v;
			break;
		case 'A':
			if (cli_uint_opt("--logins-per-address", optarg, 1, 65536, &v))
				return ABK_EXIT_USAGE;
			cfg.unauth_per_addr = (unsigned)v;
			break;
		case 'M':
		case 'U':
			if (abk_parse_size(optarg, &v) != ABK_OK || v < (1u << 20)) {
				fprintf(stderr, "autobackupd: %s needs a size of at least 1M "
				    "(e.g. 512M, 2G), not '%s'\n",
				    ch == 'M' ? "--list-memory" : "--list-memory-per-user", optarg);
				return ABK_EXIT_USAGE;
			}
			if (ch == 'M')
				cfg.list_memory = v;
			else
				cfg.list_memory_user = v;
			break;
		case 'C':
			console = 1;
			break;
		case 'N':
			console = 0;
			break;
		case 'S':
			cfg.use_syslog = 1;
			break;
		case 'h':
			printf("usage: autobackupd serve [--data DIR] [--listen HOST:PORT] "
			    "[--port-file F]\n"
			    "         [--cert F --key F] [--threads N] [--max-sessions N] "
			    "[--keep N]\n"
			    "         [--idle-timeout S] [--handshake-timeout S] "
			    "[--login-timeout S] [--frame-timeout S]\n"
			    "         [--login-workers N] [--logins-per-address N] "
			    "[--list-memory SIZE]\n"
			    "         [--list-memory-per-user SIZE] "
			    "[--console|--no-console] [--syslog]\n");
			return ABK_EXIT_OK;
		default:
			return cli_bad_option("serve");
		}
	}
	if (optind != argc) {
		fprintf(stderr, "autobackupd: serve: unexpected argument '%s'\n", argv[optind]);
		return cli_bad_option("serve");
	}
	if ((cfg.cert_file[0] != '\0') != (cfg.key_file[0] != '\0')) {
		fprintf(stderr, "autobackupd: --cert and --key go together\n");
		return ABK_EXIT_USAGE;
	}
	if (cfg.cert_file[0] == '\0') {
		snprintf(cfg.cert_file, sizeof(cfg.cert_file), "%.4000s/certs/server.pem",
		    cfg.data_dir);
		snprintf(cfg.key_file, sizeof(cfg.key_file), "%.4000s/certs/server.key",
		    cfg.data_dir);
	}
	if (!max_set && cfg.max_sessions < cfg.threads)
		cfg.max_sessions = cfg.threads;
	if (cfg.max_sessions < cfg.threads)
		cfg.threads = cfg.max_sessions;
	cfg.console = console >= 0 ? console : isatty(STDIN_FILENO);
	if (cfg.data_dir[0] == '\0') {
		fprintf(stderr, "autobackupd: no data directory: give --data DIR\n");
		return ABK_EXIT_USAGE;
	}
	if (datadir_check(cfg.data_dir, &err) != ABK_OK) {
		fprintf(stderr, "autobackupd: %s\n", err.msg);
		return ABK_EXIT_FAILURE;
	}
	if (srv_run(&cfg, &err) != ABK_OK) {
		fprintf(stderr, "autobackupd: %s\n", err.msg);
		return abk_exit_for(err.code) == ABK_EXIT_USAGE ? ABK_EXIT_USAGE : ABK_EXIT_FAILURE;
	}
	return ABK_EXIT_OK;
}

static int
cli_tty_secret(struct admin_ctx *ctx, const char *prompt, char *buf, size_t bufsz,
    abk_err *err)
{
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
	    "       autobackupd prune USER [SOURCE] --keep N\n"
	    "common options: --data DIR, --iterations N (PBKDF2, default %u)\n",
	    ACCOUNTS_DEFAULT_ITERATIONS);
}

/* `autobackupd user|token|prune ...`: works while the server runs. */
int
cli_admin(int argc, char **argv)
{
	char data_dir[4096], dbdir[4200];
	char *args[16];
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
		    strcmp(argv[i], "--keep-data") != 0 &&
		    strcmp(argv[i], "--keep") != 0) {
			fprintf(stderr, "autobackupd: unknown option '%s'\n", argv[i]);
			return cli_bad_option(argv[0]);
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
