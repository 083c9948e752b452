/*
 * retention_policy.c - the retention policy as pure data: defaults, parsing
 * and formatting of the keep-* options, and retention_explain, the one
 * function that decides which snapshots a policy keeps (retention.h has the
 * rules; they follow restic's `forget`, re-implemented from its
 * documentation and behaviour).  Removing what it drops is retention.c.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retention.h"
#include "storage_int.h"
#include "strutil.h"

static const char *const rule_names[RET_NCOUNTS + 1] = {
	"last", "hourly", "daily", "weekly", "monthly", "yearly", "within",
};

void
retention_policy_default(struct retention_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->keep[RET_LAST] = 3;
	p->keep[RET_DAILY] = 7;
	p->keep[RET_WEEKLY] = 4;
	p->keep[RET_MONTHLY] = 12;
}

static int
within_set(const struct retention_policy *p)
{
	return p->within_years || p->within_months || p->within_days || p->within_hours;
}

/* 1 if every rule of p is off. */
static int
retention_empty(const struct retention_policy *p)
{
	for (int i = 0; i < RET_NCOUNTS; i++)
		if (p->keep[i] != 0)
			return 0;
	return !within_set(p);
}

int
retention_check(const struct retention_policy *p, const char *what, abk_err *err)
{
	if (p == NULL || retention_empty(p))
		return abk_err_set(err, ABK_E_USAGE, "%s must keep at least one snapshot", what);
	return ABK_OK;
}

/* "1y6m", "36h", "2w": units y, m, w, d, h, each number 1..RETENTION_WITHIN_MAX. */
static int
parse_within(struct retention_policy *p, const char *s)
{
	unsigned y = 0, m = 0, d = 0, h = 0;

	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		char *end;
		unsigned long v;

		if (*s < '0' || *s > '9')
			return -1;
		v = strtoul(s, &end, 10);
		if (v == 0 || v > RETENTION_WITHIN_MAX)
			return -1;
		switch (*end) {
		case 'y': y += (unsigned)v; break;
		case 'm': m += (unsigned)v; break;
		case 'w': d += (unsigned)v * 7; break;
		case 'd': d += (unsigned)v; break;
		case 'h': h += (unsigned)v; break;
		default: return -1;
		}
		s = end + 1;
	}
	p->within_years = y;
	p->within_months = m;
	p->within_days = d;
	p->within_hours = h;
	return 0;
}

int
retention_parse_opt(struct retention_policy *p, const char *name, const char *value,
    abk_err *err)
{
	uint64_t v;

	if (strncmp(name, "--", 2) == 0)
		name += 2;
	if (strcmp(name, "keep-within") == 0) {
		if (value == NULL || parse_within(p, value) != 0)
			return abk_err_set(err, ABK_E_USAGE, "--keep-within needs a duration such "
			    "as 36h, 7d, 2w, 6m or 1y6m (units y, m = months, w, d, h), not '%s'",
			    value ? value : "");
		return ABK_OK;
	}
	for (int i = 0; i < RET_NCOUNTS; i++) {
		char opt[32];

		snprintf(opt, sizeof(opt), "keep-%s", rule_names[i]);
		if (strcmp(name, opt) != 0 && !(i == RET_LAST && strcmp(name, "keep") == 0))
			continue;
		if (value == NULL ||
		    abk_parse_uint(value, 1, RETENTION_KEEP_LAST_MAX, &v) != ABK_OK)
			return abk_err_set(err, ABK_E_USAGE, "--%s needs a number from 1 to %u, "
			    "not '%s'", name, RETENTION_KEEP_LAST_MAX, value ? value : "");
		p->keep[i] = (unsigned)v;
		return ABK_OK;
	}
	return ABK_E_NOTFOUND;
}

const char *
retention_format(const struct retention_policy *p, char *buf, size_t bufsz)
{
	const unsigned units[4] = { p->within_years, p->within_months, p->within_days,
	    p->within_hours };
	size_t len = 0;
	int w;

	buf[0] = '\0';
	for (int i = 0; i < RET_NCOUNTS && len < bufsz; i++) {
		if (p->keep[i] == 0)
			continue;
		w = snprintf(buf + len, bufsz - len, "%s%s %u", len ? ", " : "", rule_names[i],
		    p->keep[i]);
		len += w > 0 ? (size_t)w : 0;
	}
	if (within_set(p) && len < bufsz) {
		w = snprintf(buf + len, bufsz - len, "%swithin ", len ? ", " : "");
		len += w > 0 ? (size_t)w : 0;
		for (int i = 0; i < 4 && len < bufsz; i++) {
			if (units[i] == 0)
				continue;
			w = snprintf(buf + len, bufsz - len, "%u%c", units[i], "ymdh"[i]);
			len += w > 0 ? (size_t)w : 0;
		}
	}
	if (len == 0)
		snprintf(buf, bufsz, "none");
	return buf;
}

const char *
retention_why_format(unsigned why, char *buf, size_t bufsz)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i <= RET_WITHIN; i++) {
		int w;

		if (!(why & (1u << i)) || len >= bufsz)
			continue;
		w = snprintf(buf + len, bufsz - len, "%s%s", len ? ", " : "", rule_names[i]);
		if (w > 0)
			len += (size_t)w;
	}
	return buf;
}

/* The period of a time for a rule: equal values = same period.  UTC. */
static int64_t
period_of(int rule, int64_t ms, int64_t seq)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char wk[16];

	if (rule == RET_LAST)
		return seq;	/* every snapshot is its own period */
	gmtime_r(&t, &tm);
	switch (rule) {
	case RET_HOURLY:
		return (((int64_t)tm.tm_year * 12 + tm.tm_mon) * 31 + tm.tm_mday) * 24 + tm.tm_hour;
	case RET_DAILY:
		return ((int64_t)tm.tm_year * 12 + tm.tm_mon) * 31 + tm.tm_mday;
	case RET_WEEKLY:
		/* ISO 8601 week-numbering year and week: Monday to Sunday. */
		strftime(wk, sizeof(wk), "%G%V", &tm);
		return strtoll(wk, NULL, 10);
	case RET_MONTHLY:
		return (int64_t)tm.tm_year * 12 + tm.tm_mon;
	default:
		return tm.tm_year;
	}
}

/* The newest time minus the within duration, in calendar units (UTC). */
static int64_t
within_cutoff(const struct retention_policy *p, int64_t latest_ms)
{
	time_t t = (time_t)(latest_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	tm.tm_year -= (int)p->within_years;
	tm.tm_mon -= (int)p->within_months;
	tm.tm_mday -= (int)p->within_days;
	tm.tm_hour -= (int)p->within_hours;
	return (int64_t)timegm(&tm) * 1000 + latest_ms % 1000;
}

void
retention_explain(const struct retention_policy *p, char *const *ids, size_t nids,
    unsigned *why)
{
	unsigned left[RET_NCOUNTS];
	int64_t last[RET_NCOUNTS], cutoff = 0, latest = INT64_MIN;
	int have_last[RET_NCOUNTS] = { 0 };
	size_t oldest = nids;

	memcpy(left, p->keep, sizeof(left));
	for (size_t i = 0; i < nids; i++) {
		int64_t ms;

		if (snapfile_id_parse(ids[i], &ms) != ABK_OK)
			continue;
		if (ms > latest)
			latest = ms;
		if (oldest == nids)
			oldest = i;
	}
	if (within_set(p) && latest != INT64_MIN)
		cutoff = within_cutoff(p, latest);
	/* Newest first: each rule keeps the first snapshot of each new period
	 * while it has periods left. */
	for (size_t k = nids; k-- > 0;) {
		int64_t ms;

		why[k] = 0;
		if (snapfile_id_parse(ids[k], &ms) != ABK_OK) {
			why[k] = 1u << RET_LAST;	/* not ours to judge: never removed */
			continue;
		}
		if (within_set(p) && ms > cutoff)
			why[k] |= 1u << RET_WITHIN;
		for (int r = 0; r < RET_NCOUNTS; r++) {
			int64_t per = period_of(r, ms, (int64_t)k);

			if (left[r] == 0)
				continue;
			/* restic keeps the oldest snapshot too when the rule has
			 * periods left: the history reaches back as far as it can. */
			if (!have_last[r] || per != last[r] || k == oldest) {
				why[k] |= 1u << r;
				last[r] = per;
				have_last[r] = 1;
				left[r]--;
			}
		}
	}
}

size_t
retention_select(const struct retention_policy *p, char *const *ids, size_t nids,
    unsigned char *drop)
{
	unsigned *why;
	size_t n = 0;

	if (nids == 0)
		return 0;
	why = calloc(nids, sizeof(*why));
	if (why == NULL) {
		memset(drop, 0, nids);	/* keeping everything is always safe */
		return 0;
	}
	retention_explain(p, ids, nids, why);
	for (size_t i = 0; i < nids; i++) {
		drop[i] = why[i] == 0;
		n += drop[i];
	}
	free(why);
	return n;
}
