/*
 * test_retention.c - the retention policy alone (retention_policy.c): which
 * snapshots of a simulated month of hourly pushes survive each rule, the
 * reasons given, option parsing and formatting.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retention.h"

#define HOURS (30 * 24)	/* 2026-11-01T00:00Z .. 2026-11-30T23:00Z */

static char idbuf[HOURS][24];
static char *ids[HOURS];
static unsigned why[HOURS];

/* One snapshot per hour of November 2026, oldest first, at minute mm. */
static void
month_of_hours(void)
{
	for (int h = 0; h < HOURS; h++) {
		snprintf(idbuf[h], sizeof(idbuf[h]), "202611%02dT%02d0000.000Z", 1 + h / 24,
		    h % 24);
		ids[h] = idbuf[h];
	}
}

/* The kept IDs, joined by spaces, newest first. */
static char *
kept(void)
{
	static char out[HOURS * 24];
	size_t len = 0;

	out[0] = '\0';
	for (int h = HOURS; h-- > 0;)
		if (why[h] != 0)
			len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s",
			    len ? " " : "", ids[h]);
	return out;
}

START_TEST(test_month_default_policy)
{
	struct retention_policy p;
	char reasons[96];

	month_of_hours();
	retention_policy_default(&p);	/* last 3, daily 7, weekly 4, monthly 12 */
	retention_explain(&p, ids, HOURS, why);
	/* Nov 30 is a Monday (ISO week 49): weekly keeps the 30th and the
	 * Sundays 29, 22, 15; monthly has only November, so with 11 months
	 * left it keeps the oldest snapshot too (restic's rule). */
	ck_assert_str_eq(kept(),
	    "20261130T230000.000Z 20261130T220000.000Z 20261130T210000.000Z "
	    "20261129T230000.000Z 20261128T230000.000Z 20261127T230000.000Z "
	    "20261126T230000.000Z 20261125T230000.000Z 20261124T230000.000Z "
	    "20261122T230000.000Z 20261115T230000.000Z 20261101T000000.000Z");
	ck_assert_str_eq(retention_why_format(why[HOURS - 1], reasons, sizeof(reasons)),
	    "last, daily, weekly, monthly");
	ck_assert_str_eq(retention_why_format(why[HOURS - 2], reasons, sizeof(reasons)), "last");
	ck_assert_str_eq(retention_why_format(why[HOURS - 25], reasons, sizeof(reasons)),
	    "daily, weekly");
	ck_assert_str_eq(retention_why_format(why[0], reasons, sizeof(reasons)), "monthly");
}
END_TEST

START_TEST(test_month_hourly_within)
{
	struct retention_policy p;
	unsigned char drop[HOURS];
	int n = 0;

	month_of_hours();
	memset(&p, 0, sizeof(p));
	p.within_days = 2;	/* newer than Nov 28 23:00: 48 snapshots */
	retention_explain(&p, ids, HOURS, why);
	for (int h = 0; h < HOURS; h++)
		n += why[h] != 0;
	ck_assert_int_eq(n, 48);
	ck_assert_uint_eq(why[HOURS - 49], 0);	/* exactly at the cutoff: goes */
	ck_assert_uint_eq(why[HOURS - 48], 1u << RET_WITHIN);

	memset(&p, 0, sizeof(p));
	p.keep[RET_HOURLY] = 5;
	p.keep[RET_YEARLY] = 1;
	ck_assert_uint_eq(retention_select(&p, ids, HOURS, drop), HOURS - 5);
	for (int h = 0; h < HOURS; h++)
		ck_assert_int_eq(drop[h], h < HOURS - 5);
}
END_TEST

/* Two snapshots in one hour and one day: each period keeps its newest. */
START_TEST(test_newest_per_period)
{
	char a[] = "20261101T101500.000Z", b[] = "20261101T104500.000Z";
	char c[] = "20261101T110000.000Z", d[] = "20261102T090000.000Z";
	char bad[] = "not-a-time";
	char *v[] = { bad, a, b, c, d };
	unsigned w[5];
	struct retention_policy p;

	memset(&p, 0, sizeof(p));
	p.keep[RET_HOURLY] = 2;
	retention_explain(&p, v, 5, w);
	ck_assert_uint_ne(w[0], 0);	/* not a time: never removed */
	ck_assert_uint_eq(w[1], 0);
	ck_assert_uint_eq(w[2], 0);
	ck_assert_uint_eq(w[3], 1u << RET_HOURLY);
	ck_assert_uint_eq(w[4], 1u << RET_HOURLY);
	p.keep[RET_HOURLY] = 3;	/* the third hour is 10:00, its newest is b */
	retention_explain(&p, v, 5, w);
	ck_assert_uint_eq(w[1], 0);
	ck_assert_uint_eq(w[2], 1u << RET_HOURLY);
	p.keep[RET_HOURLY] = 0;
	p.keep[RET_DAILY] = 5;	/* periods left at the oldest: it stays too */
	retention_explain(&p, v, 5, w);
	ck_assert_uint_eq(w[1], 1u << RET_DAILY);
	ck_assert_uint_eq(w[2], 0);
	ck_assert_uint_eq(w[3], 1u << RET_DAILY);
}
END_TEST

START_TEST(test_parse_format)
{
	struct retention_policy p;
	abk_err err = ABK_ERR_INIT;
	char buf[128];

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(retention_check(&p, "x", &err), ABK_E_USAGE);
	abk_err_clear(&err);
	ck_assert_int_eq(retention_parse_opt(&p, "--keep", "4", &err), ABK_OK);
	ck_assert_int_eq(retention_parse_opt(&p, "keep-weekly", "2", &err), ABK_OK);
	ck_assert_int_eq(retention_parse_opt(&p, "--keep-within", "1y6m2w36h", &err), ABK_OK);
	ck_assert_str_eq(retention_format(&p, buf, sizeof(buf)),
	    "last 4, weekly 2, within 1y6m14d36h");
	ck_assert_int_eq(retention_parse_opt(&p, "--keep-daily", "0", &err), ABK_E_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "--keep-daily"));
	abk_err_clear(&err);
	ck_assert_int_eq(retention_parse_opt(&p, "--keep-within", "7x", &err), ABK_E_USAGE);
	abk_err_clear(&err);
	ck_assert_int_eq(retention_parse_opt(&p, "--keep-data", NULL, &err), ABK_E_NOTFOUND);
	retention_policy_default(&p);
	ck_assert_str_eq(retention_format(&p, buf, sizeof(buf)),
	    "last 3, daily 7, weekly 4, monthly 12");
}
END_TEST

static Suite *
retention_suite(void)
{
	Suite *s = suite_create("retention");
	TCase *tc = tcase_create("retention");

	tcase_add_test(tc, test_month_default_policy);
	tcase_add_test(tc, test_month_hourly_within);
	tcase_add_test(tc, test_newest_per_period);
	tcase_add_test(tc, test_parse_format);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(retention_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
