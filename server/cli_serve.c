/*
 * cli_serve.c - `autobackupd serve`: options into a struct srv_config, the
 * checks between them, then srv_run (server.c).
 *
 * serve_opts is the one list of serve's options: getopt_long's table, the
 * parser and the usage text all come from it, so an option added there is
 * parsed, bounded and shown in --help (doc/autobackupd.8 and README by hand).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "datadir.h"
#include "exitcodes.h"
#include "server.h"
#include "strutil.h"

enum serve_kind {
	SO_PATH,	/* char[] field */
	SO_LISTEN,	/* HOST:PORT into listen_host, listen_port */
	SO_COUNT,	/* unsigned field, min..max */
	SO_SECONDS,	/* int field in ms, given in seconds min..max */
	SO_SIZE,	/* uint64_t field, a size of at least 1M */
	SO_AGE,		/* unsigned field in seconds, given as N[smhd] min..max s */
	SO_SET,		/* int field set to min */
	SO_RETAIN,	/* a rule of the default retention policy (retention_parse_opt) */
	SO_HELP,
};

struct serve_opt {
	const char *name;
	const char *usage;	/* its part of the usage text; NULL: shown by a neighbour */
	enum serve_kind kind;
	size_t off, size;	/* the srv_config field */
	uint64_t min, max;
};

#define FIELD(f) offsetof(struct srv_config, f), sizeof(((struct srv_config *)0)->f)

static const struct serve_opt serve_opts[] = {
	{ "data", "[--data DIR]", SO_PATH, FIELD(data_dir), 0, 0 },
	{ "listen", "[--listen HOST:PORT]", SO_LISTEN, 0, 0, 0, 0 },
	{ "port-file", "[--port-file F]", SO_PATH, FIELD(port_file), 0, 0 },
	{ "cert", "[--cert F --key F]", SO_PATH, FIELD(cert_file), 0, 0 },
	{ "key", NULL, SO_PATH, FIELD(key_file), 0, 0 },
	{ "threads", "[--threads N]", SO_COUNT, FIELD(threads), 1, 4096 },
	{ "max-sessions", "[--max-sessions N]", SO_COUNT, FIELD(max_sessions), 1, 65536 },
	{ "keep-last", "[--keep-last N]", SO_RETAIN, 0, 0, 0, 0 },
	{ "keep", NULL, SO_RETAIN, 0, 0, 0, 0 },	/* = --keep-last */
	{ "keep-hourly", "[--keep-hourly N]", SO_RETAIN, 0, 0, 0, 0 },
	{ "keep-daily", "[--keep-daily N]", SO_RETAIN, 0, 0, 0, 0 },
	{ "keep-weekly", "[--keep-weekly N]", SO_RETAIN, 0, 0, 0, 0 },
	{ "keep-monthly", "[--keep-monthly N]", SO_RETAIN, 0, 0, 0, 0 },
	{ "keep-yearly", "[--keep-yearly N]", SO_RETAIN, 0, 0, 0, 0 },
	{ "keep-within", "[--keep-within DURATION]", SO_RETAIN, 0, 0, 0, 0 },
	{ "idle-timeout", "[--idle-timeout S]", SO_SECONDS, FIELD(idle_timeout_ms), 1, 86400 },
	{ "handshake-timeout", "[--handshake-timeout S]", SO_SECONDS,
	  FIELD(handshake_timeout_ms), 1, 600 },
	{ "login-timeout", "[--login-timeout S]", SO_SECONDS, FIELD(login_timeout_ms), 1, 600 },
	{ "frame-timeout", "[--frame-timeout S]", SO_SECONDS, FIELD(frame_timeout_ms), 1,
	  86400 },
	{ "shutdown-grace", "[--shutdown-grace S]", SO_SECONDS, FIELD(shutdown_grace_ms), 1,
	  3600 },
	{ "min-rate", "[--min-rate BYTES]", SO_COUNT, FIELD(min_rate), 0, 1u << 30 },
	{ "login-workers", "[--login-workers N]", SO_COUNT, FIELD(unauth_workers), 1, 4096 },
	{ "logins-per-address", "[--logins-per-address N]", SO_COUNT, FIELD(unauth_per_addr),
	  1, 65536 },
	{ "list-memory", "[--list-memory SIZE]", SO_SIZE, FIELD(list_memory), 0, 0 },
	{ "list-memory-per-user", "[--list-memory-per-user SIZE]", SO_SIZE,
	  FIELD(list_memory_user), 0, 0 },
	{ "staging-ttl", "[--staging-ttl AGE]", SO_AGE, FIELD(staging_max_age_s), 1,
	  3650u * 24 * 3600 },
	{ "console", "[--console|--no-console]", SO_SET, FIELD(console), 1, 0 },
	{ "no-console", NULL, SO_SET, FIELD(console), 0, 0 },
	{ "syslog", "[--syslog]", SO_SET, FIELD(use_syslog), 1, 0 },
	{ "help", NULL, SO_HELP, 0, 0, 0, 0 },
};

#define SERVE_NOPTS (sizeof(serve_opts) / sizeof(serve_opts[0]))
#define SERVE_OPT_BASE 256	/* getopt values: above every character */

/* The usage text, wrapped under "usage: autobackupd serve". */
static void
serve_usage(FILE *out)
{
	static const char head[] = "usage: autobackupd serve";
	size_t col = sizeof(head) - 1;

	fputs(head, out);
	for (size_t i = 0; i < SERVE_NOPTS; i++) {
		size_t len;

		if (serve_opts[i].usage == NULL)
			continue;
		len = strlen(serve_opts[i].usage);
		if (col + 1 + len > 78) {
			fputs("\n        ", out);
			col = 8;
		}
		fprintf(out, " %s", serve_opts[i].usage);
		col += 1 + len;
	}
	fputc('\n', out);
}

/* Store one option's argument into cfg; ABK_EXIT_OK or ABK_EXIT_USAGE. */
static int
serve_set(struct srv_config *cfg, const struct serve_opt *o, const char *arg)
{
	char name[64], *field = (char *)cfg + o->off;
	abk_err err = ABK_ERR_INIT;
	uint64_t v;
	unsigned u;
	int i;

	snprintf(name, sizeof(name), "--%s", o->name);
	switch (o->kind) {
	case SO_PATH:
		return cli_set_path(field, o->size, arg, name) ? ABK_EXIT_USAGE : ABK_EXIT_OK;
	case SO_LISTEN:
		if (net_split_hostport(arg, ABK_DEFAULT_PORT, cfg->listen_host, &cfg->listen_port,
		    &err) != ABK_OK) {
			fprintf(stderr, "autobackupd: --listen: %s\n", err.msg);
			return ABK_EXIT_USAGE;
		}
		return ABK_EXIT_OK;
	case SO_COUNT:
		if (cli_uint_opt(name, arg, o->min, o->max, &v))
			return ABK_EXIT_USAGE;
		u = (unsigned)v;
		memcpy(field, &u, sizeof(u));
		return ABK_EXIT_OK;
	case SO_SECONDS:
		if (cli_uint_opt(name, arg, o->min, o->max, &v))
			return ABK_EXIT_USAGE;
		i = (int)v * 1000;
		memcpy(field, &i, sizeof(i));
		return ABK_EXIT_OK;
	case SO_SIZE:
		if (abk_parse_size(arg, &v) != ABK_OK || v < (1u << 20)) {
			fprintf(stderr, "autobackupd: %s needs a size of at least 1M "
			    "(e.g. 512M, 2G), not '%s'\n", name, arg);
			return ABK_EXIT_USAGE;
		}
		memcpy(field, &v, sizeof(v));
		return ABK_EXIT_OK;
	case SO_AGE: {
		char *end = NULL;
		unsigned long long n;
		uint64_t mult = 1;

		errno = 0;
		n = strtoull(arg, &end, 10);
		if (end != arg && *end != '\0' && end[1] == '\0')
			mult = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 :
			    *end == 'd' ? 86400 : 0;
		else if (end == arg || *end != '\0')
			mult = 0;
		if (arg[0] == '-' || errno != 0 || mult == 0 || n > o->max / mult ||
		    n * mult < o->min) {
			fprintf(stderr, "autobackupd: %s needs an age like 7d, 12h, 30m or "
			    "90s (at least %llu s, at most %llu s), not '%s'\n", name,
			    (unsigned long long)o->min, (unsigned long long)o->max, arg);
			return ABK_EXIT_USAGE;
		}
		u = (unsigned)(n * mult);
		memcpy(field, &u, sizeof(u));
		return ABK_EXIT_OK;
	}
	case SO_SET:
		i = (int)o->min;
		memcpy(field, &i, sizeof(i));
		return ABK_EXIT_OK;
	case SO_RETAIN:
		if (retention_parse_opt(&cfg->retention, o->name, arg, &err) != ABK_OK) {
			fprintf(stderr, "autobackupd: %s\n", err.msg);
			return ABK_EXIT_USAGE;
		}
		return ABK_EXIT_OK;
	case SO_HELP:
		break;
	}
	return ABK_EXIT_USAGE;
}

/*
 * Parse argv into cfg (defaults already in it).  seen[i] = 1: option i
 * was given.  Returns -1 to go on, else the exit status (--help: 0).
 */
static int
serve_parse(int argc, char **argv, struct srv_config *cfg, unsigned char *seen)
{
	struct option longopts[SERVE_NOPTS + 1];
	int ch, retain_given = 0;

	for (size_t i = 0; i < SERVE_NOPTS; i++) {
		longopts[i].name = serve_opts[i].name;
		longopts[i].has_arg = serve_opts[i].kind == SO_SET ||
		    serve_opts[i].kind == SO_HELP ? no_argument : required_argument;
		longopts[i].flag = NULL;
		longopts[i].val = SERVE_OPT_BASE + (int)i;
	}
	memset(&longopts[SERVE_NOPTS], 0, sizeof(longopts[0]));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		const struct serve_opt *o;
		int rc;

		if (ch < SERVE_OPT_BASE || ch >= SERVE_OPT_BASE + (int)SERVE_NOPTS)
			return cli_getopt_fail("serve", ch, argv);
		o = &serve_opts[ch - SERVE_OPT_BASE];
		if (o->kind == SO_HELP) {
			serve_usage(stdout);
			return ABK_EXIT_OK;
		}
		/* Any --keep-* replaces the whole default policy: --keep 7 alone
		 * still means "the last 7", as it did before the time rules. */
		if (o->kind == SO_RETAIN && !retain_given) {
			memset(&cfg->retention, 0, sizeof(cfg->retention));
			retain_given = 1;
		}
		rc = serve_set(cfg, o, optarg);
		if (rc != ABK_EXIT_OK)
			return rc;
		seen[ch - SERVE_OPT_BASE] = 1;
	}
	if (optind != argc)
		return cli_bad_option("serve", "unexpected argument '%s'", argv[optind]);
	return -1;
}

static int
serve_given(const unsigned char *seen, const char *name)
{
	for (size_t i = 0; i < SERVE_NOPTS; i++)
		if (strcmp(serve_opts[i].name, name) == 0)
			return seen[i];
	return 0;
}

/* The rules between options: cert and key together, threads within
 * max-sessions, the console on a tty.  Returns -1 to go on, else the exit status. */
static int
serve_finish(struct srv_config *cfg, const unsigned char *seen)
{
	if ((cfg->cert_file[0] != '\0') != (cfg->key_file[0] != '\0')) {
		fprintf(stderr, "autobackupd: --cert and --key go together\n");
		return ABK_EXIT_USAGE;
	}
	if (cfg->cert_file[0] == '\0') {
		snprintf(cfg->cert_file, sizeof(cfg->cert_file), "%.4000s/certs/server.pem",
		    cfg->data_dir);
		snprintf(cfg->key_file, sizeof(cfg->key_file), "%.4000s/certs/server.key",
		    cfg->data_dir);
	}
	if (!serve_given(seen, "max-sessions") && cfg->max_sessions < cfg->threads)
		cfg->max_sessions = cfg->threads;
	if (cfg->max_sessions < cfg->threads)
		cfg->threads = cfg->max_sessions;
	if (cfg->console < 0)
		cfg->console = isatty(STDIN_FILENO);
	if (cfg->data_dir[0] == '\0') {
		fprintf(stderr, "autobackupd: no data directory: give --data DIR\n");
		return ABK_EXIT_USAGE;
	}
	return -1;
}

int
cli_serve(int argc, char **argv)
{
	unsigned char seen[SERVE_NOPTS] = { 0 };
	struct srv_config cfg;
	abk_err err = ABK_ERR_INIT;
	int rc;

	srv_config_defaults(&cfg);
	if (datadir_default(cfg.data_dir, sizeof(cfg.data_dir), &err) != ABK_OK)
		cfg.data_dir[0] = '\0';	/* then --data is required */
	cfg.console = -1;		/* neither --console nor --no-console: a tty? */
	if ((rc = serve_parse(argc, argv, &cfg, seen)) >= 0 ||
	    (rc = serve_finish(&cfg, seen)) >= 0)
		return rc;
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
