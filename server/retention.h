/*
 * retention.h - the retention policy: which published snapshots of a source
 * are kept after a push (unless the account is append-only) and by `prune`.
 *
 * The rules are restic's `forget` rules (doc/autobackupd.8, RETENTION):
 * keep the newest `last` snapshots; for hourly/daily/weekly/monthly/yearly,
 * keep the newest snapshot of each of the newest N periods that have a
 * snapshot (a rule with periods left over at the oldest snapshot keeps that
 * one too); keep everything newer than the newest snapshot minus `within`.
 * A snapshot kept by any rule stays.  Periods are UTC calendar periods
 * (weeks are ISO 8601 weeks), because snapshot IDs are UTC times: the same
 * snapshots survive whatever the server's time zone.
 *
 * A field left 0 means "rule off"; retention_check refuses a policy with
 * every rule off.  The struct is plain data, copied by value (struct
 * srv_config holds the server default; the accounts store holds per-user and
 * per-source policies, accounts.h).
 */
#ifndef ABS_RETENTION_H
#define ABS_RETENTION_H

#include <stddef.h>

#include "abkerr.h"

#define RETENTION_KEEP_LAST_MAX 100000	/* bound of every count */
#define RETENTION_WITHIN_MAX 100000	/* bound of each unit of a duration */

enum retention_rule {
	RET_LAST, RET_HOURLY, RET_DAILY, RET_WEEKLY, RET_MONTHLY, RET_YEARLY,
	RET_NCOUNTS,
	RET_WITHIN = RET_NCOUNTS,	/* a bit of the why mask only */
};

struct retention_policy {
	unsigned keep[RET_NCOUNTS];	/* indexed by enum retention_rule; 0 = off */
	/* keep-within: a calendar duration (restic's y/m/d/h); all 0 = off */
	unsigned within_years, within_months, within_days, within_hours;
};

/* The server's built-in default: last 3, daily 7, weekly 4, monthly 12. */
void retention_policy_default(struct retention_policy *p);

/*
 * ABK_OK if p keeps at least one snapshot, else ABK_E_USAGE
 * "WHAT must keep at least one snapshot" (p may be NULL: refused).
 */
int retention_check(const struct retention_policy *p, const char *what, abk_err *err);

/*
 * Parse one option of a policy into p: name is "keep" (= keep-last),
 * "keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly",
 * "keep-yearly" (a count 1..RETENTION_KEEP_LAST_MAX) or "keep-within" (a
 * duration such as 36h, 7d, 2w, 6m, 1y, 1y6m: units y, m (months), w, d,
 * h).  ABK_E_USAGE with a message naming the option when it is not one or
 * its value is bad; ABK_E_NOTFOUND (no message) when name is not a policy
 * option, so callers can try it as something else.
 */
int retention_parse_opt(struct retention_policy *p, const char *name, const char *value,
    abk_err *err);

/* "last 3, daily 7, weekly 4, monthly 12, within 1y6m" into buf. */
const char *retention_format(const struct retention_policy *p, char *buf, size_t bufsz);

/* "daily, monthly" (the rules set in why, a mask of 1 << enum retention_rule). */
const char *retention_why_format(unsigned why, char *buf, size_t bufsz);

/*
 * For each of ids[0..nids) (snapshot IDs, oldest first; they are UTC times,
 * storage.h) set why[i] to the mask of the rules that keep it, 0 = remove.
 * An ID that does not parse as a time is kept by every rule's caution
 * (why = 1 << RET_LAST).  Pure.
 */
void retention_explain(const struct retention_policy *p, char *const *ids, size_t nids,
    unsigned *why);

/*
 * Mark in drop[0..nids) (1 = remove) the snapshots p does not keep.  Returns
 * how many are marked.  Pure: the caller removes them (and skips pinned ones).
 */
size_t retention_select(const struct retention_policy *p, char *const *ids, size_t nids,
    unsigned char *drop);

#endif
