/*
 * snapname.c - resolve what a user typed after --snapshot into one snapshot
 * ID, from the source's snapshot list (snapname.h).  The server only knows
 * full IDs; names are a client convenience, so every front end shares this.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snapname.h"

int
abk_snaplist_add(struct abk_snaplist *l, const char *id, int64_t time, uint64_t files,
    uint64_t bytes, abk_err *err)
{
	struct abk_snap *s;

	if (strlen(id) >= ABK_SNAPSHOT_ID_MAX)
		return abk_err_set(err, ABK_E_PROTO, "snapshot ID too long");
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct abk_snap *nv = realloc(l->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return abk_err_set(err, ABK_E_NOMEM, "out of memory listing snapshots");
		l->v = nv;
		l->cap = ncap;
	}
	s = &l->v[l->n++];
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->time = time;
	s->files = files;
	s->bytes = bytes;
	return ABK_OK;
}

static int
snap_cmp(const void *a, const void *b)
{
	return strcmp(((const struct abk_snap *)a)->id, ((const struct abk_snap *)b)->id);
}

void
abk_snaplist_sort(struct abk_snaplist *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(l->v[0]), snap_cmp);
}

void
abk_snaplist_free(struct abk_snaplist *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

struct fetch_ctx {
	struct abk_snaplist *l;
	abk_err *err;
};

static int
fetch_one(void *ctx, const struct abk_snapshot_info *s)
{
	struct fetch_ctx *fc = ctx;

	return abk_snaplist_add(fc->l, s->id, s->time, s->files, s->bytes, fc->err) ==
	    ABK_OK ? 0 : 1;
}

int
abk_snaplist_fetch(abk_client *c, const char *source, struct abk_snaplist *l, abk_err *err)
{
	struct fetch_ctx fc = { l, err };
	int rc;

	l->n = 0;
	rc = abk_list_snapshots(c, source, fetch_one, &fc, err);
	if (rc == 1)		/* the callback stopped: its error is recorded */
		rc = err != NULL && err->code != ABK_OK ? err->code : ABK_E_NOMEM;
	if (rc == ABK_OK)
		abk_snaplist_sort(l);
	return rc;
}

/* "id, id, id and N more": the snapshots idx[0..n) names (ascending), newest first. */
static void
list_ids(const struct abk_snaplist *l, const size_t *idx, size_t n, char *buf, size_t bufsz)
{
	size_t len = 0, i;

	buf[0] = '\0';
	for (i = 0; i < n && i < 8 && len < bufsz; i++) {
		int w = snprintf(buf + len, bufsz - len, "%s%s", i ? ", " : "",
		    l->v[idx[n - 1 - i]].id);

		if (w < 0)
			break;
		len += (size_t)w;
	}
	if (i < n && len < bufsz)
		snprintf(buf + len, bufsz - len, " and %zu more", n - i);
}

/* The newest snapshots there are (l is not empty), for "not found" messages. */
static void
list_newest(const struct abk_snaplist *l, char *buf, size_t bufsz)
{
	size_t idx[8], n = 0;

	for (size_t i = l->n > 8 ? l->n - 8 : 0; i < l->n; i++)
		idx[n++] = i;
	list_ids(l, idx, n, buf, bufsz);
	if (l->n > n) {
		size_t len = strlen(buf);

		snprintf(buf + len, bufsz - len, " (newest %zu of %zu)", n, l->n);
	}
}

/* Read exactly n digits; -1 if they are not there. */
static int
digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

/*
 * A time spec → the last second it covers (a date: its 23:59:59).  1 = it
 * is a time, 0 = it does not look like one, negative = it looks like one
 * but is malformed.
 */
static int
parse_time(const char *s, int64_t *limit, abk_err *err)
{
	const char *p = s;
	struct tm tm;
	int y, mo, d, h = 23, mi = 59, sec = 59, utc = 0;
	time_t t;

	if (strchr(s, '-') == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	y = digits(&p, 4);
	if (y < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 0 || *p++ != '-' ||
	    (d = digits(&p, 2)) < 0)
		goto bad;
	if (*p == 'T' || *p == ' ') {
		p++;
		if ((h = digits(&p, 2)) < 0 || *p++ != ':' || (mi = digits(&p, 2)) < 0)
			goto bad;
		if (*p == ':') {
			p++;
			if ((sec = digits(&p, 2)) < 0)
				goto bad;
		}
	}
	if (*p == 'Z') {
		utc = 1;
		p++;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		goto bad;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = utc ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1)
		goto bad;
	*limit = (int64_t)t;
	return 1;
bad:
	return abk_err_set(err, ABK_E_USAGE, "--snapshot '%s': not a time (use YYYY-MM-DD, "
	    "YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS, local time, or Z for UTC)", s);
}

int
abk_snapshot_pick(const struct abk_snaplist *l, const char *spec, size_t *index, abk_err *err)
{
	char have[400];
	size_t *hits = NULL, nhits = 0;
	int64_t limit = 0;
	int rc;

	if (spec == NULL || *spec == '\0')
		spec = "latest";
	if (l->n == 0)
		return abk_err_set(err, ABK_E_NOTFOUND, "no snapshots yet");
	if (strncmp(spec, "latest", 6) == 0) {
		const char *p = spec + 6;
		unsigned long back = 0;

		if (*p == '~') {
			char *end;

			if (!isdigit((unsigned char)p[1]))
				goto bad_rel;
			back = strtoul(p + 1, &end, 10);
			if (*end != '\0')
				goto bad_rel;
		} else if (*p != '\0') {
			goto bad_rel;
		}
		if (back >= l->n) {
			list_newest(l, have, sizeof(have));
			return abk_err_set(err, ABK_E_NOTFOUND, "--snapshot %s: there are only %zu "
			    "snapshots (latest~%zu is the oldest): %s", spec, l->n, l->n - 1, have);
		}
		*index = l->n - 1 - back;
		return ABK_OK;
bad_rel:
		return abk_err_set(err, ABK_E_USAGE, "--snapshot '%s': write latest or latest~N "
		    "(N snapshots before the latest)", spec);
	}
	rc = parse_time(spec, &limit, err);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		for (size_t i = l->n; i-- > 0;) {
			if (l->v[i].time <= limit) {
				*index = i;
				return ABK_OK;
			}
		}
		return abk_err_set(err, ABK_E_NOTFOUND, "--snapshot %s: no snapshot at or before "
		    "that time; the oldest is %s", spec, l->v[0].id);
	}
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].id, spec) == 0) {
			*index = i;
			return ABK_OK;
		}
	hits = malloc(l->n * sizeof(*hits));
	if (hits == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	for (size_t i = 0; i < l->n; i++)
		if (strncmp(l->v[i].id, spec, strlen(spec)) == 0)
			hits[nhits++] = i;
	if (nhits == 1) {
		*index = hits[0];
		rc = ABK_OK;
	} else if (nhits > 1) {
		list_ids(l, hits, nhits, have, sizeof(have));
		rc = abk_err_set(err, ABK_E_USAGE, "--snapshot %s is ambiguous: %zu snapshots "
		    "match: %s", spec, nhits, have);
	} else {
		list_newest(l, have, sizeof(have));
		rc = abk_err_set(err, ABK_E_NOTFOUND, "no snapshot '%s'; there are: %s", spec, have);
	}
	free(hits);
	return rc;
}

int
abk_snapshot_resolve(abk_client *c, const char *source, const char *spec, char *id,
    size_t idsz, abk_err *err)
{
	struct abk_snaplist l = { NULL, 0, 0 };
	size_t i;
	int rc = abk_snaplist_fetch(c, source, &l, err);

	if (rc == ABK_OK)
		rc = abk_snapshot_pick(&l, spec, &i, err);
	if (rc == ABK_OK)
		snprintf(id, idsz, "%s", l.v[i].id);
	abk_snaplist_free(&l);
	return rc;
}
