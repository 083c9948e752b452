/*
 * test_fsops.c - fsops's sparse writer: blocks of zeros stay holes, the
 * contents read back byte for byte, a file ending in zeros gets its full
 * size, and bytes already in a file are never left in place of zeros.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsops.h"

#define MIB (1024 * 1024)

static char path[64];

static int
tmpfile_fd(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/abk-fsops-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static void
fill_random(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16) | 1;	/* never a zero byte */
	}
}

/* Write want[0..n) in chunks of step bytes (not block-aligned on purpose). */
static int
write_chunks(int fd, const uint8_t *want, size_t n, size_t step, uint64_t zero_from)
{
	int skipped = 0;

	for (size_t at = 0; at < n; at += step) {
		size_t len = n - at < step ? n - at : step;

		ck_assert_int_eq(fsops_pwrite_sparse(fd, want + at, len, at, zero_from, &skipped), 0);
	}
	ck_assert_int_eq(fsops_sparse_end(fd, n), 0);
	return skipped;
}

static void
assert_contents(int fd, const uint8_t *want, size_t n)
{
	uint8_t *got = malloc(n + 1);
	struct stat st;

	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq((long long)st.st_size, (long long)n);
	ck_assert_int_eq((int)pread(fd, got, n + 1, 0), (int)n);
	ck_assert_int_eq(memcmp(got, want, n), 0);
	free(got);
}

START_TEST(test_holes_kept)
{
	size_t n = 8 * MIB + 1000;
	uint8_t *want = calloc(1, n);
	struct stat st;
	int fd = tmpfile_fd();

	ck_assert_ptr_nonnull(want);
	/* data at the start, an unaligned island in the middle, and the end */
	fill_random(want, 300000, 1);
	fill_random(want + 3 * MIB + 777, 5000, 2);
	fill_random(want + n - 2000, 2000, 3);
	ck_assert_int_eq(write_chunks(fd, want, n, 100003, 0), 1);
	assert_contents(fd, want, n);
	ck_assert_int_eq(fstat(fd, &st), 0);
	/* about 320 KB of data: the ~8 MB of zeros take no blocks */
	ck_assert_int_lt((long long)st.st_blocks * 512, 2 * MIB);
	/* and the filesystem reports a hole right after the first data */
	ck_assert_int_le((long long)lseek(fd, 0, SEEK_HOLE), 300000 + FSOPS_HOLE_BLOCK);
	close(fd);
	unlink(path);
	free(want);
}
END_TEST

START_TEST(test_ends_in_zeros)
{
	size_t n = 2 * MIB + 12345;
	uint8_t *want = calloc(1, n);
	int fd = tmpfile_fd();

	ck_assert_ptr_nonnull(want);
	fill_random(want, 10000, 4);
	ck_assert_int_eq(write_chunks(fd, want, n, 65536, 0), 1);
	assert_contents(fd, want, n);	/* the size is the full size */
	close(fd);
	unlink(path);

	/* all zeros: nothing written, still the full size */
	memset(want, 0, n);
	fd = tmpfile_fd();
	ck_assert_int_eq(write_chunks(fd, want, n, n, 0), 1);
	assert_contents(fd, want, n);
	close(fd);
	unlink(path);
	free(want);
}
END_TEST

START_TEST(test_no_zero_blocks)
{
	size_t n = MIB + 3;
	uint8_t *want = malloc(n);
	int fd = tmpfile_fd();

	ck_assert_ptr_nonnull(want);
	fill_random(want, n, 5);
	/* a short run of zeros that covers no aligned block is written */
	memset(want + 5000, 0, FSOPS_HOLE_BLOCK);
	ck_assert_int_eq(write_chunks(fd, want, n, 70001, 0), 0);
	assert_contents(fd, want, n);
	close(fd);
	unlink(path);
	free(want);
}
END_TEST

/* Zeros written over a file's old bytes (a resumed staged file): below
 * zero_from they must be written, or the old bytes would show through. */
START_TEST(test_zero_from_overwrites)
{
	size_t n = 4 * MIB, old = 3 * MIB + 100;
	uint8_t *want = calloc(1, n), *junk = malloc(old);
	struct stat st;
	int fd = tmpfile_fd();

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(junk);
	fill_random(junk, old, 6);
	ck_assert_int_eq(fsops_write_all(fd, junk, old), 0);
	fill_random(want, 1000, 7);
	ck_assert_int_eq(write_chunks(fd, want, n, 50000, old), 1);
	assert_contents(fd, want, n);
	ck_assert_int_eq(fstat(fd, &st), 0);
	/* the tail past the old end is still a hole */
	ck_assert_int_lt((long long)st.st_blocks * 512, (long long)old + 512 * 1024);
	close(fd);
	unlink(path);
	free(want);
	free(junk);
}
END_TEST

static Suite *
fsops_suite(void)
{
	Suite *s = suite_create("fsops");
	TCase *tc = tcase_create("sparse");

	tcase_add_test(tc, test_holes_kept);
	tcase_add_test(tc, test_ends_in_zeros);
	tcase_add_test(tc, test_no_zero_blocks);
	tcase_add_test(tc, test_zero_from_overwrites);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fsops_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
