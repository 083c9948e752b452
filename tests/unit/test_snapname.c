/*
 * test_snapname.c - what --snapshot accepts (snapname.h; issue 10, item 2):
 * latest, latest~N, full IDs, unique prefixes, times in UTC and local time,
 * and the errors for ambiguous, unknown and malformed names.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snapname.h"

static struct abk_snaplist l;

/* Three snapshots on 2026-11-28/29 (UTC), added out of order. */
static void
setup(void)
{
	abk_err err = ABK_ERR_INIT;

	memset(&l, 0, sizeof(l));
	/* 2026-11-29 14:00:05 UTC = 1795960805 */
	ck_assert_int_eq(abk_snaplist_add(&l, "20261129T140005.120Z", 1795960805, 1, 1, &err),
	    ABK_OK);
	ck_assert_int_eq(abk_snaplist_add(&l, "20261128T235959.000Z", 1795910399, 1, 1, &err),
	    ABK_OK);
	ck_assert_int_eq(abk_snaplist_add(&l, "20261129T143000.500Z", 1795962600, 1, 1, &err),
	    ABK_OK);
	abk_snaplist_sort(&l);
	setenv("TZ", "UTC", 1);
	tzset();
}

static void
teardown(void)
{
	abk_snaplist_free(&l);
}

static const char *
pick(const char *spec, int want_rc)
{
	abk_err err = ABK_ERR_INIT;
	size_t i = 99;
	int rc = abk_snapshot_pick(&l, spec, &i, &err);

	ck_assert_msg(rc == want_rc, "%s: rc %d (%s)", spec, rc, err.msg);
	if (rc != ABK_OK) {
		static char msg[ABK_ERR_MSG_MAX];

		memcpy(msg, err.msg, sizeof(msg));
		return msg;
	}
	ck_assert_uint_lt(i, l.n);
	return l.v[i].id;
}

START_TEST(test_latest)
{
	ck_assert_str_eq(pick(NULL, ABK_OK), "20261129T143000.500Z");
	ck_assert_str_eq(pick("latest", ABK_OK), "20261129T143000.500Z");
	ck_assert_str_eq(pick("latest~0", ABK_OK), "20261129T143000.500Z");
	ck_assert_str_eq(pick("latest~1", ABK_OK), "20261129T140005.120Z");
	ck_assert_str_eq(pick("latest~2", ABK_OK), "20261128T235959.000Z");
	ck_assert_ptr_nonnull(strstr(pick("latest~3", ABK_E_NOTFOUND), "only 3"));
	pick("latest~", ABK_E_USAGE);
	pick("latest~x", ABK_E_USAGE);
	pick("latestx", ABK_E_USAGE);
}
END_TEST

START_TEST(test_prefix)
{
	const char *m;

	ck_assert_str_eq(pick("20261129T140005.120Z", ABK_OK), "20261129T140005.120Z");
	ck_assert_str_eq(pick("20261128", ABK_OK), "20261128T235959.000Z");
	ck_assert_str_eq(pick("20261129T143", ABK_OK), "20261129T143000.500Z");
	m = pick("20261129T14", ABK_E_USAGE);
	ck_assert_ptr_nonnull(strstr(m, "ambiguous"));
	ck_assert_ptr_nonnull(strstr(m, "20261129T140005.120Z"));
	ck_assert_ptr_nonnull(strstr(m, "20261129T143000.500Z"));
	ck_assert_ptr_null(strstr(m, "20261128"));
	m = pick("2025", ABK_E_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(m, "20261128T235959.000Z"));
}
END_TEST

START_TEST(test_time)
{
	/* a date covers the whole day */
	ck_assert_str_eq(pick("2026-11-29", ABK_OK), "20261129T143000.500Z");
	ck_assert_str_eq(pick("2026-11-28", ABK_OK), "20261128T235959.000Z");
	ck_assert_str_eq(pick("2026-11-29T14:00", ABK_OK), "20261129T140005.120Z");
	ck_assert_str_eq(pick("2026-11-29 14:29:59", ABK_OK), "20261129T140005.120Z");
	ck_assert_str_eq(pick("2026-11-29T14:30Z", ABK_OK), "20261129T143000.500Z");
	ck_assert_str_eq(pick("2026-11-29T13:59", ABK_OK), "20261128T235959.000Z");
	pick("2026-11-27", ABK_E_NOTFOUND);
	pick("2026-13-01", ABK_E_USAGE);
	pick("2026-11-29T1", ABK_E_USAGE);
	pick("2026-11-29x", ABK_E_USAGE);
	/* local time: two hours east of UTC, 14:00 local is 12:00 UTC */
	setenv("TZ", "EET-2", 1);
	tzset();
	ck_assert_str_eq(pick("2026-11-29T16:00", ABK_OK), "20261129T140005.120Z");
	ck_assert_str_eq(pick("2026-11-29T15:59", ABK_OK), "20261128T235959.000Z");
}
END_TEST

START_TEST(test_empty)
{
	struct abk_snaplist e = { NULL, 0, 0 };
	abk_err err = ABK_ERR_INIT;
	size_t i;

	ck_assert_int_eq(abk_snapshot_pick(&e, "latest", &i, &err), ABK_E_NOTFOUND);
}
END_TEST

static Suite *
snapname_suite(void)
{
	Suite *s = suite_create("snapname");
	TCase *tc = tcase_create("pick");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_latest);
	tcase_add_test(tc, test_prefix);
	tcase_add_test(tc, test_time);
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(snapname_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
