/*
 * test_console.c - the console's line splitter (admin_split, server/admin.c):
 * words, quotes, blanks, too many words, an unclosed quote.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

START_TEST(test_words)
{
	char line[] = "  user add\talice   --quota 10G\r\n";
	char *argv[8];

	ck_assert_int_eq(admin_split(line, argv, 8), 5);
	ck_assert_str_eq(argv[0], "user");
	ck_assert_str_eq(argv[1], "add");
	ck_assert_str_eq(argv[2], "alice");
	ck_assert_str_eq(argv[3], "--quota");
	ck_assert_str_eq(argv[4], "10G");
}
END_TEST

START_TEST(test_quotes)
{
	char line[] = "say \"two words\" 'it''s' \"\" x";
	char *argv[8];

	/* a quote opens only at a word's start; the closing quote ends the
	 * word, even with no blank after it */
	ck_assert_int_eq(admin_split(line, argv, 8), 6);
	ck_assert_str_eq(argv[0], "say");
	ck_assert_str_eq(argv[1], "two words");
	ck_assert_str_eq(argv[2], "it");
	ck_assert_str_eq(argv[3], "s");
	ck_assert_str_eq(argv[4], "");
	ck_assert_str_eq(argv[5], "x");
}
END_TEST

START_TEST(test_blank_and_limits)
{
	char blank[] = " \t\r\n";
	char empty[] = "";
	char many[] = "a b c d";
	char exact[] = "a b c";
	char open[] = "a \"b c";
	char *argv[3];

	ck_assert_int_eq(admin_split(blank, argv, 3), 0);
	ck_assert_int_eq(admin_split(empty, argv, 3), 0);
	ck_assert_int_eq(admin_split(exact, argv, 3), 3);
	ck_assert_int_eq(admin_split(many, argv, 3), -1);	/* too many words */
	ck_assert_int_eq(admin_split(open, argv, 3), -1);	/* unclosed quote */
}
END_TEST

static Suite *
console_suite(void)
{
	Suite *s = suite_create("console");
	TCase *tc = tcase_create("split");

	tcase_add_test(tc, test_words);
	tcase_add_test(tc, test_quotes);
	tcase_add_test(tc, test_blank_and_limits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(console_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
