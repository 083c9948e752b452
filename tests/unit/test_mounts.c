/*
 * test_mounts.c - what `push /` leaves out (mounts.h; issue 10, item 7):
 * pseudo file systems and /proc, /sys, /dev, /run from a mountinfo file,
 * outermost only, relative to the pushed folder, escaped for fnmatch.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mounts.h"

static char file[64];

static void
setup(void)
{
	FILE *f;
	int fd;

	snprintf(file, sizeof(file), "/tmp/abk_mounts_test.XXXXXX");
	fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs("21 1 0:20 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	    "22 21 0:21 / /proc rw,nosuid shared:2 - proc proc rw\n"
	    "23 21 0:22 / /sys rw,nosuid shared:3 - sysfs sysfs rw\n"
	    "24 23 0:23 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw\n"
	    "25 21 0:24 / /dev rw,nosuid shared:5 - devtmpfs udev rw\n"
	    "26 21 0:25 / /run rw shared:6 - tmpfs tmpfs rw\n"
	    "27 21 8:2 / /home rw,relatime shared:7 - ext4 /dev/sda2 rw\n"
	    "28 27 0:26 / /home/al\\040ice/cache[1] rw - tmpfs tmpfs rw\n"
	    "29 21 0:27 / /tmp rw - tmpfs tmpfs rw\n"
	    "30 21 8:3 / /data rw - xfs /dev/sdb1 rw\n"
	    "garbage line\n", f);
	fclose(f);
}

static void
teardown(void)
{
	unlink(file);
}

START_TEST(test_root)
{
	struct abk_pseudo_mount *v;
	size_t n;
	abk_err err = ABK_ERR_INIT;

	ck_assert_int_eq(abk_pseudo_mounts(file, "/", &v, &n, &err), ABK_OK);
	ck_assert_uint_eq(n, 6);
	ck_assert_str_eq(v[0].mount, "/dev");
	ck_assert_str_eq(v[0].pattern, "/dev");
	ck_assert_str_eq(v[1].mount, "/home/al ice/cache[1]");
	ck_assert_str_eq(v[1].pattern, "/home/al ice/cache\\[1\\]");
	ck_assert_str_eq(v[2].mount, "/proc");
	ck_assert_str_eq(v[3].mount, "/run");
	ck_assert_str_eq(v[4].mount, "/sys");	/* /sys/fs/cgroup is inside */
	ck_assert_str_eq(v[5].mount, "/tmp");
	ck_assert_str_eq(v[5].fstype, "tmpfs");
	free(v);
}
END_TEST

START_TEST(test_below)
{
	struct abk_pseudo_mount *v;
	size_t n;
	abk_err err = ABK_ERR_INIT;

	ck_assert_int_eq(abk_pseudo_mounts(file, "/home", &v, &n, &err), ABK_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].pattern, "/al ice/cache\\[1\\]");
	free(v);
	/* the pushed folder itself is never left out; nothing below /data */
	ck_assert_int_eq(abk_pseudo_mounts(file, "/tmp", &v, &n, &err), ABK_OK);
	ck_assert_uint_eq(n, 0);
	free(v);
	ck_assert_int_eq(abk_pseudo_mounts(file, "/data", &v, &n, &err), ABK_OK);
	ck_assert_uint_eq(n, 0);
	free(v);
	ck_assert_int_eq(abk_pseudo_mounts("/nonexistent/mountinfo", "/", &v, &n, &err), ABK_OK);
	ck_assert_uint_eq(n, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mounts");
	TCase *tc = tcase_create("pseudo");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_root);
	tcase_add_test(tc, test_below);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
