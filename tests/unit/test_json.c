/*
 * test_json.c - the --json writer of the front end (tui/json.c, linked in
 * from the tui sources): escapes, invalid UTF-8 as U+FFFD, pairs.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static char *buf;
static size_t buflen;

static FILE *
open_out(void)
{
	FILE *f = open_memstream(&buf, &buflen);

	ck_assert_ptr_nonnull(f);
	return f;
}

static void
expect(FILE *f, const char *want)
{
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_str_eq(buf, want);
	free(buf);
	buf = NULL;
}

#define STR_N(lit) json_string_n(f, (lit), sizeof(lit) - 1)

START_TEST(test_escapes)
{
	FILE *f = open_out();

	STR_N("plain \"q\" back\\slash new\nline tab\t cr\r bell\x07 del\x7f nul\0x");
	expect(f, "\"plain \\\"q\\\" back\\\\slash new\\nline tab\\t cr\\u000d "
	    "bell\\u0007 del\\u007f nul\\u0000x\"");
}
END_TEST

START_TEST(test_utf8)
{
	FILE *f = open_out();

	/* valid sequences kept; each bad byte one U+FFFD */
	STR_N("caf\xc3\xa9 \xf0\x9d\x84\x9e|\xff|\xc0\xaf|\xed\xa0\x80|\xe2\x82");
	expect(f, "\"caf\xc3\xa9 \xf0\x9d\x84\x9e|\\ufffd|\\ufffd\\ufffd|"
	    "\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\"");
}
END_TEST

START_TEST(test_null_and_pairs)
{
	FILE *f = open_out();

	json_string(f, NULL);
	fputc('{', f);
	json_kv_str(f, 1, "name", "a\"b");
	json_kv_u64(f, 0, "size", UINT64_MAX);
	json_kv_i64(f, 0, "mtime", -5);
	fputc('}', f);
	expect(f, "\"\"{\"name\":\"a\\\"b\",\"size\":18446744073709551615,\"mtime\":-5}");
}
END_TEST

static Suite *
json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("writer");

	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_null_and_pairs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(json_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
