/*
 * test_datadir.c - what `autobackupd init` leaves on disk: layout and modes,
 * refusal to reuse a data directory without --force, what --force keeps, the
 * clean-up of a failed init, the marker check and the default location.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datadir.h"

static char top[256];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(top, sizeof(top), "%s/datadir.XXXXXX", tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(top));
}

static void
teardown(void)
{
	nftw(top, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static const char *
in(const char *rel)
{
	static char buf[4][512];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", top, rel);
	return p;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
	return st.st_mode & 07777;
}

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static int
same_file(const char *a, const char *b)
{
	char x[4096], y[4096];
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	size_t la, lb;

	ck_assert_ptr_nonnull(fa);
	ck_assert_ptr_nonnull(fb);
	la = fread(x, 1, sizeof(x), fa);
	lb = fread(y, 1, sizeof(y), fb);
	fclose(fa);
	fclose(fb);
	return la == lb && memcmp(x, y, la) == 0;
}

START_TEST(test_layout)
{
	abk_err err = ABK_ERR_INIT;
	const char *names[] = { "backup.example.org" };

	umask(022);
	ck_assert_msg(datadir_init(in("a/b/data"), names, 1, 0, &err) == ABK_OK, "%s", err.msg);
	ck_assert_int_eq(mode_of(in("a/b/data")), 0700);
	ck_assert_int_eq(mode_of(in("a/b")), 0700);	/* new parents too */
	ck_assert_int_eq(mode_of(in("a/b/data/db")), 0700);
	ck_assert_int_eq(mode_of(in("a/b/data/users")), 0700);
	ck_assert_int_eq(mode_of(in("a/b/data/certs")), 0700);
	ck_assert_int_eq(mode_of(in("a/b/data/certs/ca.key")), 0600);
	ck_assert_int_eq(mode_of(in("a/b/data/certs/server.key")), 0600);
	ck_assert_int_eq(mode_of(in("a/b/data/certs/ca.pem")), 0644);
	ck_assert_int_eq(mode_of(in("a/b/data/certs/server.pem")), 0644);
	ck_assert_int_eq(mode_of(in("a/b/data/autobackupd.data")), 0600);
	ck_assert_int_eq(datadir_check(in("a/b/data"), &err), ABK_OK);
}
END_TEST

START_TEST(test_refuse_then_force)
{
	abk_err err = ABK_ERR_INIT;

	ck_assert_int_eq(datadir_init(in("data"), NULL, 0, 0, &err), ABK_OK);
	ck_assert_int_eq(link(in("data/certs/ca.pem"), in("ca.before")), 0);
	put(in("data/users/keep-me"), "backup data\n");
	ck_assert_int_eq(datadir_init(in("data"), NULL, 0, 0, &err), ABK_E_EXISTS);
	ck_assert_msg(strstr(err.msg, "--force") != NULL, "message: %s", err.msg);
	ck_assert(same_file(in("data/certs/ca.pem"), in("ca.before")));
	/* each part alone marks a data directory */
	ck_assert_int_eq(unlink(in("data/autobackupd.data")), 0);
	abk_err_clear(&err);
	ck_assert_int_eq(datadir_init(in("data"), NULL, 0, 0, &err), ABK_E_EXISTS);
	abk_err_clear(&err);
	ck_assert_int_eq(datadir_init(in("data"), NULL, 0, 1, &err), ABK_OK);
	ck_assert(!same_file(in("data/certs/ca.pem"), in("ca.before")));
	ck_assert(exists(in("data/users/keep-me")));
	ck_assert_int_eq(datadir_check(in("data"), &err), ABK_OK);
}
END_TEST

START_TEST(test_existing_dirs)
{
	abk_err err = ABK_ERR_INIT;

	/* an empty directory is fine, and gets tightened to 0700 */
	ck_assert_int_eq(mkdir(in("empty"), 0755), 0);
	ck_assert_int_eq(chmod(in("empty"), 0755), 0);
	ck_assert_int_eq(datadir_init(in("empty"), NULL, 0, 0, &err), ABK_OK);
	ck_assert_int_eq(mode_of(in("empty")), 0700);
	/* somebody else's files are not */
	ck_assert_int_eq(mkdir(in("foreign"), 0755), 0);
	put(in("foreign/notes.txt"), "mine\n");
	ck_assert_int_eq(datadir_init(in("foreign"), NULL, 0, 0, &err), ABK_E_EXISTS);
	ck_assert(!exists(in("foreign/certs")));
	ck_assert_int_eq(mode_of(in("foreign")), 0755);
	/* a plain file */
	abk_err_clear(&err);
	put(in("file"), "x\n");
	ck_assert_int_eq(datadir_init(in("file"), NULL, 0, 1, &err), ABK_E_EXISTS);
}
END_TEST

START_TEST(test_bad_input_creates_nothing)
{
	abk_err err = ABK_ERR_INIT;
	const char *bad[] = { "good.example", "not a name" };

	ck_assert_int_eq(datadir_init(in("data"), bad, 2, 0, &err), ABK_E_USAGE);
	ck_assert_msg(strstr(err.msg, "not a name") != NULL, "message: %s", err.msg);
	ck_assert(!exists(in("data")));
	ck_assert_int_eq(datadir_init("", NULL, 0, 0, NULL), ABK_E_USAGE);
	ck_assert_int_eq(datadir_init(NULL, NULL, 0, 0, NULL), ABK_E_USAGE);
	ck_assert_int_eq(datadir_init(in("data"), NULL, 1, 0, NULL), ABK_E_USAGE);
	ck_assert(!exists(in("data")));
}
END_TEST

START_TEST(test_failed_init_cleans_up)
{
	abk_err err = ABK_ERR_INIT;

	/* certs/ is a file: init --force fails after creating db/ and users/ */
	ck_assert_int_eq(mkdir(in("data"), 0700), 0);
	put(in("data/certs"), "in the way\n");
	ck_assert_int_eq(datadir_init(in("data"), NULL, 0, 1, &err), ABK_E_EXISTS);
	ck_assert_msg(strstr(err.msg, "certs") != NULL, "message: %s", err.msg);
	ck_assert(!exists(in("data/db")));
	ck_assert(!exists(in("data/users")));
	ck_assert(!exists(in("data/autobackupd.data")));
	ck_assert(exists(in("data/certs")));	/* not ours: left alone */
}
END_TEST

START_TEST(test_check)
{
	abk_err err = ABK_ERR_INIT;

	ck_assert_int_eq(datadir_check(in("nowhere"), &err), ABK_E_NOTFOUND);
	ck_assert_int_eq(mkdir(in("d"), 0700), 0);
	abk_err_clear(&err);
	ck_assert_int_eq(datadir_check(in("d"), &err), ABK_E_NOTFOUND);
	ck_assert_msg(strstr(err.msg, "autobackupd init") != NULL, "message: %s", err.msg);
	put(in("d/autobackupd.data"), "autobackupd data directory\nformat 99\n");
	abk_err_clear(&err);
	ck_assert_int_eq(datadir_check(in("d"), &err), ABK_E_USAGE);
	ck_assert_msg(strstr(err.msg, "99") != NULL, "message: %s", err.msg);
	put(in("d/autobackupd.data"), "autobackupd data directory\nformat x\n");
	ck_assert_int_eq(datadir_check(in("d"), NULL), ABK_E_USAGE);
	put(in("d/autobackupd.data"), "something else\n");
	ck_assert_int_eq(datadir_check(in("d"), NULL), ABK_E_USAGE);
	put(in("d/autobackupd.data"), "autobackupd data directory\nformat 1\n");
	ck_assert_int_eq(datadir_check(in("d"), NULL), ABK_OK);
}
END_TEST

START_TEST(test_default)
{
	abk_err err = ABK_ERR_INIT;
	char buf[512], tiny[4];

	setenv(DATADIR_ENV, "/srv/ab", 1);
	ck_assert_int_eq(datadir_default(buf, sizeof(buf), &err), ABK_OK);
	ck_assert_str_eq(buf, "/srv/ab");
	ck_assert_int_eq(datadir_default(tiny, sizeof(tiny), &err), ABK_E_LIMIT);
	setenv(DATADIR_ENV, "", 1);
	setenv("XDG_DATA_HOME", "/xdg", 1);
	setenv("HOME", "/home/someone", 1);
	ck_assert_int_eq(datadir_default(buf, sizeof(buf), NULL), ABK_OK);
	if (geteuid() == 0) {
		ck_assert_str_eq(buf, DATADIR_SYSTEM);
		return;
	}
	ck_assert_str_eq(buf, "/xdg/autobackupd");
	setenv("XDG_DATA_HOME", "relative/ignored", 1);
	ck_assert_int_eq(datadir_default(buf, sizeof(buf), NULL), ABK_OK);
	ck_assert_str_eq(buf, "/home/someone/.local/share/autobackupd");
	unsetenv("XDG_DATA_HOME");
	unsetenv("HOME");	/* falls back to the password database */
	if (datadir_default(buf, sizeof(buf), NULL) == ABK_OK) {
		ck_assert_ptr_nonnull(strstr(buf, "/.local/share/autobackupd"));
		ck_assert_int_eq(buf[0], '/');
	}
}
END_TEST

static Suite *
datadir_suite(void)
{
	Suite *s = suite_create("datadir");
	TCase *tc = tcase_create("datadir");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_refuse_then_force);
	tcase_add_test(tc, test_existing_dirs);
	tcase_add_test(tc, test_bad_input_creates_nothing);
	tcase_add_test(tc, test_failed_init_cleans_up);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_default);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(datadir_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
