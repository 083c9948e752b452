/*
 * admin.h - the administration commands, one table shared by the console on
 * the server's terminal and by the `autobackupd user|token|prune`
 * subcommands, so both always offer the same operations with the same words.
 *
 * Each command writes its results to ctx->out and one clear error line to
 * ctx->errout.  Commands that only make sense inside a running server
 * (sessions, stats, shutdown) refuse when ctx->srv is NULL.
 */
#ifndef ABS_ADMIN_H
#define ABS_ADMIN_H

#include <stdint.h>
#include <stdio.h>

#include "abkerr.h"

/* Shortest password useradd and passwd accept (doc/autobackupd.8). */
#define ADMIN_PASSWORD_MIN 10

struct accounts;
struct srv;

struct admin_ctx {
	struct accounts *acc;
	const char *data_dir;
	struct srv *srv;		/* NULL outside a running server */
	FILE *out;
	FILE *errout;
	const char *password_file;	/* subcommands: --password-file */
	uint32_t iterations;		/* 0 = default */
	/* Ask for a secret without echo; returns ABK_OK or an error. */
	int (*read_secret)(struct admin_ctx *ctx, const char *prompt, char *buf,
	    size_t bufsz, abk_err *err);
	/* The console asks before shutdown and userdel --purge: 1 = yes.
	 * NULL (subcommands, scripts): no question. */
	int (*confirm)(struct admin_ctx *ctx, const char *question);
};

/* The name of command i of the table (Tab completion), NULL past the end. */
const char *admin_command_name(size_t i);

/*
 * Run one command line already split into words (argv[0] is the command).
 * Returns an exit status (exitcodes.h); errors are printed to ctx->errout.
 */
int admin_exec(struct admin_ctx *ctx, int argc, char **argv);

/* Split a console line into at most max words (quotes "..." and '...'). */
int admin_split(char *line, char **argv, int max);

#endif
