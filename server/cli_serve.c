/*
 * cli_serve.c - `autobackupd serve`: options into a struct srv_config, the
 * checks between them, then srv_run (server.c).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "datadir.h"
#include "exitcodes.h"
#include "server.h"
#include "strutil.h"

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
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (cli_set_path(cfg.data_dir, sizeof(cfg.data_dir), optarg, "--data"))
				return ABK_EXIT_USAGE;
			break;
		case 'l':
			if (net_split_hostport(optarg, 7443, cfg.listen_host, &cfg.listen_port,
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
			if (cli_uint_opt("--keep", optarg, 1, RETENTION_KEEP_LAST_MAX, &v))
				return ABK_EXIT_USAGE;
			cfg.retention.keep_last = (unsigned)v;
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
			return cli_getopt_fail("serve", ch, argv);
		}
	}
	if (optind != argc)
		return cli_bad_option("serve", "unexpected argument '%s'", argv[optind]);
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
