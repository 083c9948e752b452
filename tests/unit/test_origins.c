/*
 * test_origins.c - the client's record of where it pushed each source from
 * (origins.h; issue 8, item 5): round trips of any name, replacement, keys
 * kept apart, and what counts as an absolute, normalised origin.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "origins.h"

static char base[256], file[400];

static void
setup(void)
{
	snprintf(base, sizeof(base), "/tmp/abk_origins_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(file, sizeof(file), "%s/state/autobackup/origins", base);
}

static void
teardown(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_valid)
{
	ck_assert(origins_valid("/"));
	ck_assert(origins_valid("/home/alice"));
	ck_assert(origins_valid("/home/alice/with space/ünï\ncode"));
	ck_assert(!origins_valid(""));
	ck_assert(!origins_valid("relative/path"));
	ck_assert(!origins_valid("/home/../etc"));
	ck_assert(!origins_valid("/home/./alice"));
	ck_assert(!origins_valid("/home//alice"));
	ck_assert(!origins_valid("/home/alice/"));
	ck_assert(!origins_valid("/.."));
}
END_TEST

START_TEST(test_round_trip)
{
	abk_err err = ABK_ERR_INIT;
	char out[4096];
	struct stat st;

	ck_assert_int_eq(origins_lookup(file, "h:1", "alice", "src", out, sizeof(out), &err),
	    ABK_E_NOTFOUND);
	ck_assert_int_eq(origins_record(file, "h:1", "alice", "src", "/home/alice/src", &err),
	    ABK_OK);
	ck_assert_int_eq(origins_record(file, "h:1", "alice", "we\tird%\nname",
	    "/home/alice/we\tird%\nname", &err), ABK_OK);
	ck_assert_int_eq(origins_record(file, "h:1", "bob", "src", "/home/bob/src", &err), ABK_OK);
	ck_assert_int_eq(origins_record(file, "h:2", "alice", "src", "/other/src", &err), ABK_OK);
	ck_assert_int_eq(origins_lookup(file, "h:1", "alice", "src", out, sizeof(out), &err),
	    ABK_OK);
	ck_assert_str_eq(out, "/home/alice/src");
	ck_assert_int_eq(origins_lookup(file, "h:1", "alice", "we\tird%\nname", out, sizeof(out),
	    &err), ABK_OK);
	ck_assert_str_eq(out, "/home/alice/we\tird%\nname");
	ck_assert_int_eq(origins_lookup(file, "h:1", "bob", "src", out, sizeof(out), &err), ABK_OK);
	ck_assert_str_eq(out, "/home/bob/src");
	ck_assert_int_eq(origins_lookup(file, "h:2", "alice", "src", out, sizeof(out), &err),
	    ABK_OK);
	ck_assert_str_eq(out, "/other/src");
	/* a new push of the same source replaces its record */
	ck_assert_int_eq(origins_record(file, "h:1", "alice", "src", "/moved/src", &err), ABK_OK);
	ck_assert_int_eq(origins_lookup(file, "h:1", "alice", "src", out, sizeof(out), &err),
	    ABK_OK);
	ck_assert_str_eq(out, "/moved/src");
	ck_assert_int_eq(origins_lookup(file, "h:1", "bob", "src", out, sizeof(out), &err), ABK_OK);
	/* private: it says what is where */
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_uint_eq(st.st_mode & 077, 0);
	/* never a relative or unnormalised origin */
	ck_assert_int_eq(origins_record(file, "h:1", "alice", "x", "/a/../b", &err), ABK_E_USAGE);
}
END_TEST

START_TEST(test_tampered_line_ignored)
{
	abk_err err = ABK_ERR_INIT;
	char out[4096];
	FILE *f;

	ck_assert_int_eq(origins_record(file, "h:1", "alice", "src", "/home/alice/src", &err),
	    ABK_OK);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fputs("h:1\talice\tsrc\t/home/../etc\nh:1\talice\tbad%zz\t/x\n", f);
	fclose(f);
	ck_assert_int_eq(origins_lookup(file, "h:1", "alice", "src", out, sizeof(out), &err),
	    ABK_E_NOTFOUND);
}
END_TEST

START_TEST(test_server_key)
{
	char out[128];

	origins_server_key("backup.example.org", out, sizeof(out));
	ck_assert_str_eq(out, "backup.example.org:7443");
	origins_server_key("backup.example.org:9000", out, sizeof(out));
	ck_assert_str_eq(out, "backup.example.org:9000");
	origins_server_key("[::1]", out, sizeof(out));
	ck_assert_str_eq(out, "[::1]:7443");
	origins_server_key("[::1]:9000", out, sizeof(out));
	ck_assert_str_eq(out, "[::1]:9000");
}
END_TEST

static Suite *
origins_suite(void)
{
	Suite *s = suite_create("origins");
	TCase *tc = tcase_create("record");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_tampered_line_ignored);
	tcase_add_test(tc, test_server_key);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(origins_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
