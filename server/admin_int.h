/*
 * admin_int.h - shared by the files of the admin command table: admin.c
 * (the table, accounts, sessions) and admin_policy.c (retention policies
 * and prune).
 */
#ifndef ABS_ADMIN_INT_H
#define ABS_ADMIN_INT_H

#include "abkerr.h"
#include "admin.h"

/* Print err as "error: ..." to ctx->errout; the exit status for it. */
int adm_fail(struct admin_ctx *ctx, const abk_err *err);
/* Print "usage: USAGE"; ABK_EXIT_USAGE. */
int adm_usage(struct admin_ctx *ctx, const char *usage);

int adm_policy(struct admin_ctx *ctx, int argc, char **argv);
int adm_prune(struct admin_ctx *ctx, int argc, char **argv);

#define ADM_POLICY_USAGE "policy NAME [SOURCE] [--keep-last N] [--keep-hourly N] " \
	"[--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] " \
	"[--keep-within DURATION] | --clear"
#define ADM_PRUNE_USAGE "prune USER [SOURCE] [--dry-run] [--keep-last N ...]"

#endif
