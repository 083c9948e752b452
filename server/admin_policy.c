/*
 * admin_policy.c - the `policy` and `prune` admin commands: retention
 * policies per user and per source in the accounts store, and pruning with
 * a report of what each snapshot became and which rule kept it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "admin_int.h"
#include "exitcodes.h"
#include "server.h"
#include "storage.h"

/* The default the server applies when no policy is stored: the running
 * server's (console), else the built-in one (subcommands). */
static void
adm_default_policy(struct admin_ctx *ctx, struct retention_policy *p)
{
	if (ctx->srv != NULL)
		*p = ctx->srv->cfg.retention;
	else
		retention_policy_default(p);
}

/*
 * Parse --keep-* options from argv[from..argc) into *pol (zeroed first when
 * one is seen; *given then set), other words into positional[] (at most
 * maxpos), flags --dry-run / --clear into *flag_*.  -1 on a usage error
 * (printed).
 */
static int
adm_policy_args(struct admin_ctx *ctx, int argc, char **argv, int from,
    struct retention_policy *pol, int *given, const char **positional, int maxpos, int *npos,
    int *dry_run, int *clear, const char *usage)
{
	abk_err err = ABK_ERR_INIT;

	*given = 0;
	*npos = 0;
	for (int i = from; i < argc; i++) {
		const char *a = argv[i];
		int rc;

		if (dry_run != NULL && strcmp(a, "--dry-run") == 0) {
			*dry_run = 1;
			continue;
		}
		if (clear != NULL && strcmp(a, "--clear") == 0) {
			*clear = 1;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			if (*npos >= maxpos)
				return adm_usage(ctx, usage), -1;
			positional[(*npos)++] = a;
			continue;
		}
		if (!*given) {
			memset(pol, 0, sizeof(*pol));
			*given = 1;
		}
		rc = retention_parse_opt(pol, a, i + 1 < argc ? argv[i + 1] : NULL, &err);
		if (rc == ABK_E_NOTFOUND)
			return adm_usage(ctx, usage), -1;
		if (rc != ABK_OK) {
			adm_fail(ctx, &err);
			return -1;
		}
		i++;
	}
	return 0;
}

static void
adm_show_one(struct admin_ctx *ctx, const char *user, const char *source)
{
	struct retention_policy p, dflt;
	abk_err err = ABK_ERR_INIT;
	const char *from = NULL;
	char buf[160];

	adm_default_policy(ctx, &dflt);
	if (accounts_policy_resolve(ctx->acc, user, source, &dflt, &p, &from, &err) != ABK_OK) {
		adm_fail(ctx, &err);
		return;
	}
	fprintf(ctx->out, "%s%s%s: %s (%s)\n", user, source ? "/" : "", source ? source : "",
	    retention_format(&p, buf, sizeof(buf)),
	    strcmp(from, "server default") == 0 ? "server default" :
	    strcmp(from, "user") == 0 && source != NULL ? "the user's policy" : "set");
}

int
adm_policy(struct admin_ctx *ctx, int argc, char **argv)
{
	struct retention_policy pol;
	struct account_user u;
	abk_err err = ABK_ERR_INIT;
	const char *pos[2] = { NULL, NULL };
	int given = 0, npos = 0, clear = 0;

	memset(&pol, 0, sizeof(pol));
	if (adm_policy_args(ctx, argc, argv, 1, &pol, &given, pos, 2, &npos, NULL, &clear,
	    ADM_POLICY_USAGE) != 0)
		return ABK_EXIT_USAGE;
	if (npos < 1 || (given && clear))
		return adm_usage(ctx, ADM_POLICY_USAGE);
	if (accounts_user_get(ctx->acc, pos[0], &u, &err) != ABK_OK)
		return adm_fail(ctx, &err);
	if (pos[1] != NULL && storage_check_source_name(pos[1], &err) != ABK_OK)
		return adm_fail(ctx, &err);
	if (clear) {
		if (accounts_policy_clear(ctx->acc, pos[0], pos[1], &err) != ABK_OK)
			return adm_fail(ctx, &err);
		fprintf(ctx->out, "policy of %s%s%s cleared; now: ", pos[0], pos[1] ? "/" : "",
		    pos[1] ? pos[1] : "");
		adm_show_one(ctx, pos[0], pos[1]);
		return ABK_EXIT_OK;
	}
	if (given) {
		char buf[160];

		if (accounts_policy_set(ctx->acc, pos[0], pos[1], &pol, &err) != ABK_OK)
			return adm_fail(ctx, &err);
		fprintf(ctx->out, "policy of %s%s%s: %s\n", pos[0], pos[1] ? "/" : "",
		    pos[1] ? pos[1] : "", retention_format(&pol, buf, sizeof(buf)));
		if (u.append_only)
			fprintf(ctx->out, "note: %s is append-only: pushes remove nothing; "
			    "'prune' applies the policy\n", pos[0]);
		return ABK_EXIT_OK;
	}
	adm_show_one(ctx, pos[0], pos[1]);
	return ABK_EXIT_OK;
}

/* ---- prune ----------------------------------------------------------------------- */

struct prune_report {
	struct admin_ctx *ctx;
	struct retention_policy dflt;
	char source[256];
	const char *from;
	int dry_run;
	unsigned kept;
};

static int
prune_policy_for(void *vctx, const char *user, const char *source, struct retention_policy *out,
    abk_err *err)
{
	struct prune_report *pr = vctx;

	return accounts_policy_resolve(pr->ctx->acc, user, source, &pr->dflt, out, &pr->from, err);
}

static void
prune_row(void *vctx, const char *source, const char *policy, const char *id, unsigned why,
    enum storage_prune_state st)
{
	struct prune_report *pr = vctx;
	char reasons[96];

	if (strcmp(pr->source, source) != 0) {
		snprintf(pr->source, sizeof(pr->source), "%s", source);
		fprintf(pr->ctx->out, "%s: policy %s (%s)\n", source, policy,
		    pr->from != NULL ? pr->from : "given");
	}
	switch (st) {
	case PRUNE_KEPT:
		pr->kept++;
		fprintf(pr->ctx->out, "  %s  keep (%s)\n", id,
		    retention_why_format(why, reasons, sizeof(reasons)));
		break;
	case PRUNE_REMOVED:
		fprintf(pr->ctx->out, "  %s  %s\n", id, pr->dry_run ? "remove (dry run)" :
		    "removed");
		break;
	case PRUNE_PINNED:
		pr->kept++;
		fprintf(pr->ctx->out, "  %s  keep for now (being read; removed by a later "
		    "prune)\n", id);
		break;
	}
}

int
adm_prune(struct admin_ctx *ctx, int argc, char **argv)
{
	struct prune_report pr;
	struct storage_prune_opts o;
	struct retention_policy pol;
	struct account_user u;
	struct storage_user *su = NULL;
	abk_err err = ABK_ERR_INIT;
	const char *pos[2] = { NULL, NULL };
	int given = 0, npos = 0, dry_run = 0, rc;
	unsigned removed = 0;

	memset(&pr, 0, sizeof(pr));
	memset(&o, 0, sizeof(o));
	if (adm_policy_args(ctx, argc, argv, 1, &pol, &given, pos, 2, &npos, &dry_run, NULL,
	    ADM_PRUNE_USAGE) != 0)
		return ABK_EXIT_USAGE;
	if (npos < 1)
		return adm_usage(ctx, ADM_PRUNE_USAGE);
	if (accounts_user_get(ctx->acc, pos[0], &u, &err) != ABK_OK)
		return adm_fail(ctx, &err);
	pr.ctx = ctx;
	pr.dry_run = dry_run;
	adm_default_policy(ctx, &pr.dflt);
	o.pol = given ? &pol : NULL;
	o.dry_run = dry_run;
	o.report = prune_row;
	o.ctx = &pr;
	rc = storage_user_open(ctx->data_dir, pos[0], &su, &err);
	if (rc == ABK_OK) {
		storage_user_set_policy(su, prune_policy_for, &pr);
		rc = storage_prune_ex(su, pos[1], &o, &removed, &err);
	}
	storage_user_close(su);
	if (rc != ABK_OK)
		return adm_fail(ctx, &err);
	if (dry_run)
		fprintf(ctx->out, "dry run: %u snapshot(s) would be removed, %u kept\n", removed,
		    pr.kept);
	else
		fprintf(ctx->out, "%u snapshot(s) removed, %u kept\n", removed, pr.kept);
	return ABK_EXIT_OK;
}
