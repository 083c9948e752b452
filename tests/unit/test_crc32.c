/*
 * test_crc32.c - abk_crc32 against zlib's crc32 at every length around the
 * fast path's block sizes, every alignment, chained across calls, and on a
 * large buffer.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "crc32.h"

static uint8_t *
pattern(size_t n)
{
	uint8_t *b = malloc(n);
	uint32_t x = 2463534242u;

	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)x;
	}
	return b;
}

START_TEST(test_lengths_and_alignments)
{
	uint8_t *b = pattern(1200);

	for (size_t len = 0; len <= 1100; len++)
		for (size_t off = 0; off < 16; off++) {
			uint32_t z = (uint32_t)crc32_z(0, b + off, len);

			ck_assert_msg(abk_crc32(0, b + off, len) == z, "len %zu off %zu", len, off);
			ck_assert_uint_eq(abk_crc32_portable(0, b + off, len), z);
		}
	free(b);
}
END_TEST

START_TEST(test_chained)
{
	uint8_t *b = pattern(70000);
	uint32_t want = (uint32_t)crc32_z(0, b, 70000), c = 0;
	size_t off = 0, step = 1;

	/* pieces of growing, odd sizes, as a file arrives in chunks */
	while (off < 70000) {
		size_t n = 70000 - off < step ? 70000 - off : step;

		c = abk_crc32(c, b + off, n);
		off += n;
		step = step * 3 + 1;
	}
	ck_assert_uint_eq(c, want);
	ck_assert_uint_eq(abk_crc32(0x12345678u, b, 4096),
	    (uint32_t)crc32_z(0x12345678u, b, 4096));
	free(b);
}
END_TEST

START_TEST(test_large)
{
	size_t n = (size_t)9 << 20;
	uint8_t *b = pattern(n);

	ck_assert_uint_eq(abk_crc32(0, b, n), (uint32_t)crc32_z(0, b, n));
	ck_assert_uint_eq(abk_crc32(0, "123456789", 9), 0xcbf43926u);	/* the check value */
	free(b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("crc32");
	TCase *tc = tcase_create("crc32");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_lengths_and_alignments);
	tcase_add_test(tc, test_chained);
	tcase_add_test(tc, test_large);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
