/*
 * admin.c - account and server administration commands (console and
 * subcommands share this table).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "admin.h"
#include "admin_int.h"
#include "exitcodes.h"
#include "log.h"
#include "server.h"
#include "storage.h"
#include "strutil.h"

static int adm_help(struct admin_ctx *ctx, int argc, char **argv);
static int adm_users(struct admin_ctx *ctx, int argc, char **argv);
static int adm_useradd(struct admin_ctx *ctx, int argc, char **argv);
static int adm_passwd(struct admin_ctx *ctx, int argc, char **argv);
static int adm_userdel(struct admin_ctx *ctx, int argc, char **argv);
static int adm_disable(struct admin_ctx *ctx, int argc, char **argv);
static int adm_enable(struct admin_ctx *ctx, int argc, char **argv);
static int adm_quota(struct admin_ctx *ctx, int argc, char **argv);
static int adm_append_only(struct admin_ctx *ctx, int argc, char **argv);
static int adm_token(struct admin_ctx *ctx, int argc, char **argv);
static int adm_sessions(struct admin_ctx *ctx, int argc, char **argv);
static int adm_stats(struct admin_ctx *ctx, int argc, char **argv);
static int adm_shutdown(struct admin_ctx *ctx, int argc, char **argv);
static int adm_log(struct admin_ctx *ctx, int argc, char **argv);

/* One row per command: the console, the subcommands and help read it. */
struct admin_command {
	const char *name;
	const char *usage;
	const char *help;
	int min_args;			/* after the command name */
	int max_args;
	int (*exec)(struct admin_ctx *ctx, int argc, char **argv);
};

static const struct admin_command admin_table[] = {
	{ "help", "help", "list the commands", 0, 0, adm_help },
	{ "users", "users", "list accounts", 0, 0, adm_users },
	{ "useradd", "useradd NAME [--quota SIZE] [--append-only] [--keep-data]",
	  "create an account (asks for the password twice)", 1, 5, adm_useradd },
	{ "passwd", "passwd NAME", "set a new password", 1, 1, adm_passwd },
	{ "userdel", "userdel NAME [--purge]",
	  "delete an account and its tokens (--purge: and its backups, also those "
	  "left by an earlier userdel)", 1, 2, adm_userdel },
	{ "disable", "disable NAME", "refuse every login of an account", 1, 1, adm_disable },
	{ "enable", "enable NAME", "allow logins again", 1, 1, adm_enable },
	{ "quota", "quota NAME SIZE", "set the storage quota (0 = none; K, M, G, T)",
	  2, 2, adm_quota },
	{ "appendonly", "appendonly NAME on|off",
	  "forbid (on) or allow (off) removing snapshots through pushes", 2, 2,
	  adm_append_only },
	{ "token", "token add NAME [LABEL] | token list [NAME] | token revoke ID",
	  "manage API tokens for --batch clients", 1, 3, adm_token },
	{ "policy", ADM_POLICY_USAGE,
	  "show, set or clear the retention policy of a user or of one of its sources",
	  1, 18, adm_policy },
	{ "prune", ADM_PRUNE_USAGE,
	  "remove the snapshots the retention policy does not keep, saying why each stays",
	  1, 18, adm_prune },
	{ "sessions", "sessions", "who is connected, from where, doing what", 0, 0,
	  adm_sessions },
	{ "stats", "stats", "server counters, bytes in and out", 0, 0, adm_stats },
	{ "log", "log [N]", "the last N log lines (default 20)", 0, 1, adm_log },
	{ "shutdown", "shutdown", "stop the server (asks first; sessions get a grace period)",
	  0, 0, adm_shutdown },
};

int
adm_fail(struct admin_ctx *ctx, const abk_err *err)
{
	fprintf(ctx->errout, "error: %s\n", err->msg[0] ? err->msg : abk_strerror(err->code));
	return err->code == ABK_E_USAGE ? ABK_EXIT_USAGE : ABK_EXIT_FAILURE;
}

int
adm_usage(struct admin_ctx *ctx, const char *usage)
{
	fprintf(ctx->errout, "usage: %s\n", usage);
	return ABK_EXIT_USAGE;
}

static int
adm_help(struct admin_ctx *ctx, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(admin_table) / sizeof(admin_table[0]); i++)
		fprintf(ctx->out, "  %-46s %s\n", admin_table[i].usage, admin_table[i].help);
	return ABK_EXIT_OK;
}

static void
adm_time(int64_t t, char *buf, size_t bufsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(buf, bufsz, "never");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, bufsz, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* "USED / QUOTA" in human units; the used figure is the storage's cached
 * usage (what the quota counts), "?" when it cannot be had. */
static void
adm_used_quota(struct admin_ctx *ctx, const struct account_user *u, char *buf, size_t bufsz)
{
	char used[32] = "0 B", quota[32] = "none";
	storage_user *su = NULL;
	abk_err err = ABK_ERR_INIT;
	uint64_t bytes = 0;

	if (ctx->data_dir != NULL && storage_user_exists(ctx->data_dir, u->name)) {
		if (storage_user_open(ctx->data_dir, u->name, &su, &err) == ABK_OK &&
		    storage_usage(su, &bytes, &err) == ABK_OK)
			abk_format_size(bytes, used, sizeof(used));
		else
			snprintf(used, sizeof(used), "?");
		storage_user_close(su);
	}
	if (u->quota)
		abk_format_size(u->quota, quota, sizeof(quota));
	snprintf(buf, bufsz, "%s / %s", used, quota);
}

static int
adm_user_row(void *vctx, const struct account_user *u)
{
	struct admin_ctx *ctx = vctx;
	char quota[72], created[32], last[32];

	adm_used_quota(ctx, u, quota, sizeof(quota));
	adm_time(u->created, created, sizeof(created));
	adm_time(u->last_login, last, sizeof(last));
	fprintf(ctx->out, "%-32s %-21s %-8s %-11s %-21s %s\n", u->name, quota,
	    u->disabled ? "disabled" : "enabled", u->append_only ? "append-only" : "-",
	    created, last);
	return 0;
}

static int
adm_users(struct admin_ctx *ctx, int argc, char **argv)
{
	abk_err err = ABK_ERR_INIT;

	fprintf(ctx->out, "%-32s %-21s %-8s %-11s %-21s %s\n", "NAME", "USED / QUOTA", "STATE",
	    "MODE", "CREATED", "LAST LOGIN");
	if (accounts_user_list(ctx->acc, adm_user_row, ctx, &err) != ABK_OK)
		return adm_fail(ctx, &err);
	return ABK_EXIT_OK;
}

/* Get a new password: from --password-file, or asked twice without echo. */
static int
adm_new_password(struct admin_ctx *ctx, const char *name, char *pw, size_t pwsz,
    abk_err *err)
{
	char again[ACCOUNTS_PASSWORD_MAX + 2];
	char prompt[96];
	int rc;

	if (ctx->password_file != NULL) {
		rc = abk_read_secret_file(ctx->password_file, pw, pwsz, err);
		goto check;
	}
	if (ctx->read_secret == NULL)
		return abk_err_set(err, ABK_E_USAGE, "no way to ask for a password: use --password-file");
	snprintf(prompt, sizeof(prompt), "New password for %s: ", name);
	rc = ctx->read_secret(ctx, prompt, pw, pwsz, err);
	if (rc != ABK_OK)
		return rc;
	rc = ctx->read_secret(ctx, "Again: ", again, sizeof(again), err);
	if (rc == ABK_OK && strcmp(pw, again) != 0)
		rc = abk_err_set(err, ABK_E_USAGE, "the two passwords differ; nothing changed");
	abk_wipe(again, sizeof(again));
check:
	/* The policy is the administrator's tool's, not the store's: accounts.c
	 * accepts any length, so old short passwords keep working. */
	if (rc == ABK_OK && strlen(pw) < ADMIN_PASSWORD_MIN)
		rc = abk_err_set(err, ABK_E_USAGE, "the password needs at least %d characters "
		    "(a few words are easy to type and hard to guess); nothing changed",
		    ADMIN_PASSWORD_MIN);
	if (rc != ABK_OK)
		abk_wipe(pw, pwsz);
	return rc;
}

static int
adm_useradd(struct admin_ctx *ctx, int argc, char **argv)
{
	const char *usage = "useradd NAME [--quota SIZE] [--append-only] [--keep-data]";
	char pw[ACCOUNTS_PASSWORD_MAX + 2];
	abk_err err = ABK_ERR_INIT;
	uint64_t quota = 0;
	int append_only = 0, keep_data = 0, rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--append-only") == 0)
			append_only = 1;
		else if (strcmp(argv[i], "--keep-data") == 0)
			keep_data = 1;
		else if (strcmp(argv[i], "--quota") == 0 && i + 1 < argc) {
			if (abk_parse_size(argv[++i], &quota) != ABK_OK) {
				fprintf(ctx->errout, "error: bad size '%s' (examples: 500M, 20G)\n",
				    argv[i]);
				return ABK_EXIT_USAGE;
			}
		} else
			return adm_usage(ctx, usage);
	}
	if (!accounts_valid_username(argv[1])) {
		fprintf(ctx->errout, "error: invalid user name '%s': use 1-32 of a-z 0-9 . _ -, "
		    "not starting with '.' or '-'\n", argv[1]);
		return ABK_EXIT_USAGE;
	}
	{
		struct account_user existing;

		if (accounts_user_get(ctx->acc, argv[1], &existing, &err) == ABK_OK) {
			fprintf(ctx->errout, "error: user '%s' already exists\n", argv[1]);
			return ABK_EXIT_FAILURE;
		}
		abk_err_clear(&err);
	}
	/* Backups left by `userdel` without --purge belong to the old account:
	 * a new account of that name gets them only when asked (issue 8). */
	if (!keep_data && storage_user_exists(ctx->data_dir, argv[1])) {
		fprintf(ctx->errout, "error: %s/users/%s holds the backups of an earlier account "
		    "named %s; remove them with 'userdel %s --purge', or give --keep-data to "
		    "let the new account have them\n", ctx->data_dir, argv[1], argv[1], argv[1]);
		return ABK_EXIT_FAILURE;
	}
	if (adm_new_password(ctx, argv[1], pw, sizeof(pw), &err) != ABK_OK)
		return adm_fail(ctx, &err);
	rc = accounts_user_add(ctx->acc, argv[1], pw, strlen(pw), ctx->iterations, quota,
	    append_only, &err);
	abk_wipe(pw, sizeof(pw));
	if (rc != ABK_OK)
		return adm_fail(ctx, &err);
	fprintf(ctx->out, "user %s added\n", argv[1]);
	return ABK_EXIT_OK;
}

static int
adm_passwd(struct admin_ctx *ctx, int argc, char **argv)
{
	char pw[ACCOUNTS_PASSWORD_MAX + 2];
	abk_err err = ABK_ERR_INIT;
	struct account_user u;
	int rc;

	if (accounts_user_get(ctx->acc, argv[1], &u, &err) != ABK_OK)
		return adm_fail(ctx, &err);
	if (adm_new_password(ctx, argv[1], pw, sizeof(pw), &err) != ABK_OK)
		return adm_fail(ctx, &err);
	rc = accounts_user_passwd(ctx->acc, argv[1], pw, strlen(pw), ctx->iterations, &err);
	abk_wipe(pw, sizeof(pw));
	if (rc != ABK_OK)
		return adm_fail(ctx, &err);
	fprintf(ctx->out, "password of %s changed\n", argv[1]);
	return ABK_EXIT_OK;
}

static int
adm_userdel(struct admin_ctx *ctx, int argc, char **argv)
{
	abk_err err = ABK_ERR_INIT;
	int purge = 0;

	if (argc == 3) {
		if (strcmp(argv[2], "--purge") != 0)
			return adm_usage(ctx, "userdel NAME [--purge]");
		purge = 1;
	}
	if (purge && ctx->confirm != NULL) {
		char q[160];

		snprintf(q, sizeof(q), "Delete %.40s and remove all of their backups? This cannot "
		    "be undone. [y/N] ", argv[1]);
		if (!ctx->confirm(ctx, q)) {
			fprintf(ctx->out, "nothing deleted\n");
			return ABK_EXIT_OK;
		}
	}
	if (accounts_user_del(ctx->acc, argv[1], &err) == ABK_OK) {
		fprintf(ctx->out, "user %s deleted\n", argv[1]);
	} else if (err.code == ABK_E_NOTFOUND && purge &&
	    storage_user_exists(ctx->data_dir, argv[1])) {
		/* The account went earlier without --purge: remove what it left. */
		abk_err_clear(&err);
	} else {
		return adm_fail(ctx, &err);
	}
	if (purge) {
		if (storage_user_purge(ctx->data_dir, argv[1], &err) != ABK_OK)
			return adm_fail(ctx, &err);
		fprintf(ctx->out, "backups of %s removed\n", argv[1]);
	} else {
		fprintf(ctx->out, "backups of %s kept in %s/users/%s (use --purge to remove)\n",
		    argv[1], ctx->data_dir, argv[1]);
	}
	return ABK_EXIT_OK;
}

static int
adm_set_disabled(struct admin_ctx *ctx, const char *name, int disabled)
{
	abk_err err = ABK_ERR_INIT;

	if (accounts_user_set_disabled(ctx->acc, name, disabled, &err) != ABK_OK)
		return adm_fail(ctx, &err);
	fprintf(ctx->out, "user %s %s\n", name, disabled ? "disabled" : "enabled");
	return ABK_EXIT_OK;
}

static int
adm_disable(struct admin_ctx *ctx, int argc, char **argv)
{
	return adm_set_disabled(ctx, argv[1], 1);
}

static int
adm_enable(struct admin_ctx *ctx, int argc, char **argv)
{
	return adm_set_disabled(ctx, argv[1], 0);
}

static int
adm_quota(struct admin_ctx *ctx, int argc, char **argv)
{
	abk_err err = ABK_ERR_INIT;
	uint64_t quota;
	char human[32];

	if (abk_parse_size(argv[2], &quota) != ABK_OK) {
		fprintf(ctx->errout, "error: bad size '%s' (examples: 0, 500M, 20G)\n", argv[2]);
		return ABK_EXIT_USAGE;
	}
	if (accounts_user_set_quota(ctx->acc, argv[1], quota, &err) != ABK_OK)
		return adm_fail(ctx, &err);
	fprintf(ctx->out, "quota of %s: %s\n", argv[1],
	    quota ? abk_format_size(quota, human, sizeof(human)) : "none");
	return ABK_EXIT_OK;
}

static int
adm_append_only(struct admin_ctx *ctx, int argc, char **argv)
{
	abk_err err = ABK_ERR_INIT;
	int on;

	if (strcmp(argv[2], "on") == 0)
		on = 1;
	else if (strcmp(argv[2], "off") == 0)
		on = 0;
	else
		return adm_usage(ctx, "appendonly NAME on|off");
	if (accounts_user_set_append_only(ctx->acc, argv[1], on, &err) != ABK_OK)
		return adm_fail(ctx, &err);
	fprintf(ctx->out, "%s is %s\n", argv[1], on ? "append-only" : "no longer append-only");
	return ABK_EXIT_OK;
}

static int
adm_token_row(void *vctx, const struct account_token *t)
{
	struct admin_ctx *ctx = vctx;
	char created[32], used[32];

	adm_time(t->created, created, sizeof(created));
	adm_time(t->last_used, used, sizeof(used));
	fprintf(ctx->out, "%-16s %-32s %-21s %-21s %s\n", t->id, t->user, created, used,
	    t->label);
	return 0;
}

static int
adm_token(struct admin_ctx *ctx, int argc, char **argv)
{
	const char *usage = "token add NAME [LABEL] | token list [NAME] | token revoke ID";
	abk_err err = ABK_ERR_INIT;

	if (strcmp(argv[1], "add") == 0 && (argc == 3 || argc == 4)) {
		char token[ACCOUNTS_TOKEN_BUFSZ], id[ACCOUNTS_TOKEN_ID_BUFSZ];

		if (accounts_token_add(ctx->acc, argv[2], argc == 4 ? argv[3] : NULL, token,
		    sizeof(token), id, sizeof(id), &err) != ABK_OK)
			return adm_fail(ctx, &err);
		/* The token alone on out, so `token add alice cron > f` makes a
		 * usable token file; the explanation on errout. */
		fprintf(ctx->errout, "token %s for %s (shown once; store it in a file "
		    "readable only by you, e.g. 'autobackupd token add %s LABEL > FILE'):\n",
		    id, argv[2], argv[2]);
		fflush(ctx->errout);
		fprintf(ctx->out, "%s\n", token);
		abk_wipe(token, sizeof(token));
		return ABK_EXIT_OK;
	}
	if (strcmp(argv[1], "list") == 0 && argc <= 3) {
		struct account_user u;

		if (argc == 3 && accounts_user_get(ctx->acc, argv[2], &u, &err) != ABK_OK)
			return adm_fail(ctx, &err);	/* unknown user: not an empty table */
		fprintf(ctx->out, "%-16s %-32s %-21s %-21s %s\n", "ID", "USER", "CREATED",
		    "LAST USED", "LABEL");
		if (accounts_token_list(ctx->acc, argc == 3 ? argv[2] : NULL, adm_token_row, ctx,
		    &err) != ABK_OK)
			return adm_fail(ctx, &err);
		return ABK_EXIT_OK;
	}
	if (strcmp(argv[1], "revoke") == 0 && argc == 3) {
		if (accounts_token_revoke(ctx->acc, argv[2], &err) != ABK_OK)
			return adm_fail(ctx, &err);
		fprintf(ctx->out, "token %s revoked\n", argv[2]);
		return ABK_EXIT_OK;
	}
	return adm_usage(ctx, usage);
}

static int
adm_need_server(struct admin_ctx *ctx, const char *what)
{
	if (ctx->srv != NULL)
		return 0;
	fprintf(ctx->errout, "error: '%s' works only in the console of a running server\n", what);
	return -1;
}

/*
 * Rows are copies (srv_sessions_copy) printed after the server lock is
 * released: a console whose terminal is stuck (a paused ssh, a full pipe)
 * must not hold the lock every session needs (issue 8 item 12).
 */
static int
adm_sessions(struct admin_ctx *ctx, int argc, char **argv)
{
	struct srv_session_info *rows = NULL;
	time_t now = time(NULL);
	size_t n = 0;

	if (adm_need_server(ctx, "sessions") != 0)
		return ABK_EXIT_USAGE;
	if (srv_sessions_copy(ctx->srv, &rows, &n) != ABK_OK) {
		fprintf(ctx->errout, "error: out of memory\n");
		return ABK_EXIT_FAILURE;
	}
	fprintf(ctx->out, "%-6s %-20s %-30s %-9s %-10s %-10s %s\n", "ID", "USER", "PEER", "FOR",
	    "IN", "OUT", "DOING");
	for (size_t i = 0; i < n; i++) {
		char dur[40], in[32], out[32];
		long secs = (long)(now - rows[i].since);

		snprintf(dur, sizeof(dur), "%ldm%02lds", secs / 60, secs % 60);
		fprintf(ctx->out, "%-6llu %-20s %-30s %-9s %-10s %-10s %s\n",
		    (unsigned long long)rows[i].id, rows[i].user[0] ? rows[i].user : "-",
		    rows[i].peer, dur, abk_format_size(rows[i].bytes_in, in, sizeof(in)),
		    abk_format_size(rows[i].bytes_out, out, sizeof(out)), rows[i].action);
	}
	fprintf(ctx->out, "%zu session(s)\n", n);
	free(rows);
	return ABK_EXIT_OK;
}

static int
adm_stats(struct admin_ctx *ctx, int argc, char **argv)
{
	struct srv *srv = ctx->srv;
	struct srv_stats st;
	unsigned active, queued;
	char in[32], out[32];

	if (adm_need_server(ctx, "stats") != 0)
		return ABK_EXIT_USAGE;
	srv_stats_get(srv, &st, &active, &queued);
	fprintf(ctx->out,
	    "uptime %lds, sessions %u active / %u queued (limit %u), connections %llu, "
	    "refused busy %llu\nlogins ok %llu, failed %llu; pushes %llu, restores %llu; "
	    "in %s, out %s\n",
	    (long)(time(NULL) - st.started), active, queued, srv->cfg.max_sessions,
	    (unsigned long long)st.connections, (unsigned long long)st.rejected_busy,
	    (unsigned long long)st.logins_ok, (unsigned long long)st.logins_failed,
	    (unsigned long long)st.pushes, (unsigned long long)st.restores,
	    abk_format_size(st.bytes_in, in, sizeof(in)),
	    abk_format_size(st.bytes_out, out, sizeof(out)));
	return ABK_EXIT_OK;
}

static int
adm_shutdown(struct admin_ctx *ctx, int argc, char **argv)
{
	struct srv_stats st;
	unsigned active, queued;

	if (adm_need_server(ctx, "shutdown") != 0)
		return ABK_EXIT_USAGE;
	if (ctx->confirm != NULL) {
		char q[128];

		srv_stats_get(ctx->srv, &st, &active, &queued);
		snprintf(q, sizeof(q), "Stop the server (%u session%s active)? [y/N] ", active,
		    active == 1 ? "" : "s");
		if (!ctx->confirm(ctx, q)) {
			fprintf(ctx->out, "not stopped\n");
			return ABK_EXIT_OK;
		}
	}
	fprintf(ctx->out, "shutting down\n");
	srv_request_stop(ctx->srv);
	return ABK_EXIT_OK;
}

static int
adm_log(struct admin_ctx *ctx, int argc, char **argv)
{
	static char buf[LOG_RECENT_MAX * 520];	/* the console thread only */
	uint64_t n = 20;

	if (adm_need_server(ctx, "log") != 0)
		return ABK_EXIT_USAGE;
	if (argc == 2 && abk_parse_uint(argv[1], 1, LOG_RECENT_MAX, &n) != ABK_OK) {
		fprintf(ctx->errout, "error: log needs a number of lines from 1 to %d\n",
		    LOG_RECENT_MAX);
		return ABK_EXIT_USAGE;
	}
	fputs(log_recent((unsigned)n, buf, sizeof(buf)), ctx->out);
	return ABK_EXIT_OK;
}

const char *
admin_command_name(size_t i)
{
	return i < sizeof(admin_table) / sizeof(admin_table[0]) ? admin_table[i].name : NULL;
}

int
admin_exec(struct admin_ctx *ctx, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(admin_table) / sizeof(admin_table[0]); i++) {
		const struct admin_command *c = &admin_table[i];

		if (strcmp(argv[0], c->name) != 0)
			continue;
		if (argc - 1 < c->min_args || argc - 1 > c->max_args)
			return adm_usage(ctx, c->usage);
		return c->exec(ctx, argc, argv);
	}
	fprintf(ctx->errout, "error: unknown command '%s' (try 'help')\n", argv[0]);
	return ABK_EXIT_USAGE;
}

int
admin_split(char *line, char **argv, int max)
{
	int argc = 0;
	char *p = line;

	while (*p != '\0') {
		char *w, quote = 0;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0')
			break;
		if (argc >= max)
			return -1;
		if (*p == '"' || *p == '\'')
			quote = *p++;
		w = p;
		argv[argc++] = w;
		while (*p != '\0' && (quote ? *p != quote : (*p != ' ' && *p != '\t' &&
		    *p != '\n' && *p != '\r')))
			p++;
		if (quote && *p != quote)
			return -1;
		if (*p != '\0')
			*p++ = '\0';
	}
	return argc;
}
