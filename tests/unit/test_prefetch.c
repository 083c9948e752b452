/*
 * test_prefetch.c - a batch's files opened ahead: taken in order with the
 * right content, reuse units and repeated pieces skipped, a failed open
 * stopping the prefetch, and running out of descriptors giving them back.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prefetch.h"

#define NFILES 40

struct opener {
	char dir[64];
	int calls;
	int fail_at;		/* call number that fails, -1 never */
	int fail_errno;
};

static int
open_numbered(void *ctx, uint32_t index, int *fd)
{
	struct opener *o = ctx;
	char path[128];

	if (o->calls++ == o->fail_at) {
		errno = o->fail_errno;
		return -1;
	}
	snprintf(path, sizeof(path), "%s/f%u", o->dir, index);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	return *fd < 0 ? -1 : 0;
}

static void
make_files(struct opener *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->dir, sizeof(o->dir), "/tmp/test_prefetch.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(o->dir));
	for (unsigned i = 0; i < NFILES; i++) {
		char path[128];
		FILE *f;

		snprintf(path, sizeof(path), "%s/f%u", o->dir, i);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fprintf(f, "file %u", i);
		fclose(f);
	}
	o->calls = 0;
	o->fail_at = -1;
}

static void
remove_files(struct opener *o)
{
	for (unsigned i = 0; i < NFILES; i++) {
		char path[128];

		snprintf(path, sizeof(path), "%s/f%u", o->dir, i);
		unlink(path);
	}
	rmdir(o->dir);
}

static void
check_content(int fd, unsigned i)
{
	char got[32], want[32];
	ssize_t n = pread(fd, got, sizeof(got) - 1, 0);

	ck_assert_int_gt(n, 0);
	got[n] = '\0';
	snprintf(want, sizeof(want), "file %u", i);
	ck_assert_str_eq(got, want);
}

START_TEST(test_in_order)
{
	struct transfer_unit u[NFILES + 2];
	struct opener o;
	struct prefetch pf;
	size_t n = 0;

	make_files(&o);
	for (unsigned i = 0; i < NFILES; i++) {
		u[n++] = (struct transfer_unit){ .index = i, .offset = 0, .len = 6 };
		if (i == 3)	/* a second piece of file 3, a reused piece of file 4 */
			u[n++] = (struct transfer_unit){ .index = 3, .offset = 6, .len = 1 };
		if (i == 4)
			u[n - 1].flags = TRANSFER_REUSE;
	}
	prefetch_start(&pf, u, n, PREFETCH_FILES, open_numbered, &o);
	ck_assert_int_eq(o.calls, NFILES - 1);	/* file 4 is reused: not opened */
	for (unsigned i = 0; i < 10; i++) {
		int fd;

		if (i == 4)
			continue;
		fd = prefetch_take(&pf, i);
		ck_assert_int_ge(fd, 0);
		check_content(fd, i);
		close(fd);
	}
	/* file 12 skipped by the caller: passing over it closes its fd */
	ck_assert_int_ge(prefetch_take(&pf, 13), 0);
	prefetch_end(&pf);
	ck_assert_int_eq(prefetch_take(&pf, 14), -1);
	remove_files(&o);
}
END_TEST

START_TEST(test_failed_open_stops)
{
	struct transfer_unit u[NFILES];
	struct opener o;
	struct prefetch pf;

	make_files(&o);
	for (unsigned i = 0; i < NFILES; i++)
		u[i] = (struct transfer_unit){ .index = i, .offset = 0, .len = 6 };
	prefetch_start(&pf, u, NFILES, 8, open_numbered, &o);
	ck_assert_uint_eq(pf.n, 8);			/* at most max */
	prefetch_end(&pf);

	o.calls = 0;
	o.fail_at = 5;
	o.fail_errno = EACCES;
	prefetch_start(&pf, u, NFILES, PREFETCH_FILES, open_numbered, &o);
	ck_assert_uint_eq(pf.n, 5);			/* the first five stay */
	ck_assert_int_ge(prefetch_take(&pf, 4), 0);
	ck_assert_int_eq(prefetch_take(&pf, 5), -1);	/* the caller opens it */
	prefetch_end(&pf);

	o.calls = 0;
	o.fail_at = 7;
	o.fail_errno = EMFILE;
	prefetch_start(&pf, u, NFILES, PREFETCH_FILES, open_numbered, &o);
	ck_assert_uint_eq(pf.n - pf.next, 0);		/* all given back */
	ck_assert_int_eq(prefetch_take(&pf, 0), -1);
	prefetch_end(&pf);
	remove_files(&o);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("prefetch");
	TCase *tc = tcase_create("prefetch");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_in_order);
	tcase_add_test(tc, test_failed_open_stops);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
