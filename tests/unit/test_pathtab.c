/*
 * test_pathtab.c - the path -> index table (growth, duplicates, lengths not
 * NUL-terminated, embedded bytes) and the string arena.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pathtab.h"

#define N_KEYS 50000

static char keys[N_KEYS][24];

static const char *
key_of(void *ctx, uint32_t idx, size_t *len)
{
	char (*k)[24] = ctx;

	*len = strlen(k[idx]);
	return k[idx];
}

START_TEST(test_insert_find_grow)
{
	struct pathtab t;
	abk_err err = ABK_ERR_INIT;
	uint32_t idx, existing;

	/* sized for 4 keys, filled with many: the table grows */
	ck_assert_int_eq(pathtab_init(&t, 4, key_of, keys, &err), ABK_OK);
	for (uint32_t i = 0; i < N_KEYS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "dir%u/file%u", i % 97, i);
		ck_assert_int_eq(pathtab_insert(&t, keys[i], strlen(keys[i]), i, &existing), 0);
	}
	ck_assert_uint_eq(t.count, N_KEYS);
	for (uint32_t i = 0; i < N_KEYS; i++) {
		ck_assert_int_eq(pathtab_find(&t, keys[i], strlen(keys[i]), &idx), 1);
		ck_assert_uint_eq(idx, i);
	}
	ck_assert_int_eq(pathtab_find(&t, "dir1/nope", 9, &idx), 0);
	/* a duplicate leaves the table unchanged and names the first index */
	ck_assert_int_eq(pathtab_insert(&t, keys[7], strlen(keys[7]), 99, &existing), 1);
	ck_assert_uint_eq(existing, 7);
	ck_assert_uint_eq(t.count, N_KEYS);
	pathtab_free(&t);
}
END_TEST

START_TEST(test_lengths_and_prefixes)
{
	static char k[3][24] = { "a/b", "a/bc", "a" };
	struct pathtab t;
	abk_err err = ABK_ERR_INIT;
	uint32_t idx, existing;

	ck_assert_int_eq(pathtab_init(&t, 0, key_of, k, &err), ABK_OK);
	for (uint32_t i = 0; i < 3; i++)
		ck_assert_int_eq(pathtab_insert(&t, k[i], strlen(k[i]), i, &existing), 0);
	/* the length counts, not a NUL: "a/bc" cut to 3 bytes is "a/b" */
	ck_assert_int_eq(pathtab_find(&t, "a/bc", 3, &idx), 1);
	ck_assert_uint_eq(idx, 0);
	ck_assert_int_eq(pathtab_find(&t, "a/bc", 4, &idx), 1);
	ck_assert_uint_eq(idx, 1);
	ck_assert_int_eq(pathtab_find(&t, "a/bcd", 1, &idx), 1);
	ck_assert_uint_eq(idx, 2);
	ck_assert_int_eq(pathtab_find(&t, "", 0, &idx), 0);
	pathtab_free(&t);
}
END_TEST

START_TEST(test_arena)
{
	struct arena a = { NULL };
	char *p[3000];
	char big[100000];

	for (int i = 0; i < 3000; i++) {
		char s[32];
		int n = snprintf(s, sizeof(s), "name-%d\n", i);

		p[i] = arena_dup(&a, s, (size_t)n);
		ck_assert_ptr_nonnull(p[i]);
	}
	/* copies stay valid and terminated while the arena grows */
	for (int i = 0; i < 3000; i++) {
		char s[32];

		snprintf(s, sizeof(s), "name-%d\n", i);
		ck_assert_str_eq(p[i], s);
	}
	/* a string longer than a block, and one with a NUL inside the length */
	memset(big, 'x', sizeof(big));
	ck_assert_ptr_nonnull(p[0] = arena_dup(&a, big, sizeof(big)));
	ck_assert_int_eq(p[0][sizeof(big) - 1], 'x');
	ck_assert_int_eq(p[0][sizeof(big)], '\0');
	ck_assert_ptr_nonnull(p[1] = arena_dup(&a, "a\0b", 3));
	ck_assert_int_eq(memcmp(p[1], "a\0b", 4), 0);
	arena_free(&a);
	ck_assert_ptr_null(a.head);
	/* usable again after free */
	ck_assert_str_eq(arena_dup(&a, "again", 5), "again");
	arena_free(&a);
}
END_TEST

static Suite *
pathtab_suite(void)
{
	Suite *s = suite_create("pathtab");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, test_insert_find_grow);
	tcase_add_test(tc, test_lengths_and_prefixes);
	tcase_add_test(tc, test_arena);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pathtab_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
