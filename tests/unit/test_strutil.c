/*
 * test_strutil.c - the one escaper for untrusted names (abk_escape_name) and
 * the base-name helper: hostile bytes, UTF-8 kept or escaped, buffers cut.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

static const char *
esc(const char *s, size_t len, size_t outsz, unsigned flags)
{
	static char out[512];

	ck_assert_uint_le(outsz, sizeof(out));
	memset(out, 'Z', sizeof(out));
	abk_escape_name(s, len, out, outsz, flags);
	if (outsz > 0)
		ck_assert_uint_lt(strlen(out), outsz);
	return out;
}

#define ESC(s, sz, fl) esc((s), sizeof(s) - 1, (sz), (fl))

START_TEST(test_plain_and_controls)
{
	ck_assert_str_eq(ESC("hello.txt", 64, 0), "hello.txt");
	ck_assert_str_eq(ESC("a\x01" "b\x1b[2J", 64, 0), "a\\x01b\\x1b[2J");
	ck_assert_str_eq(ESC("new\nline\r", 64, 0), "new\\x0aline\\x0d");
	ck_assert_str_eq(ESC("del\x7f", 64, 0), "del\\x7f");
	/* backslash is escaped so the output is unambiguous */
	ck_assert_str_eq(ESC("back\\slash", 64, 0), "back\\x5cslash");
	ck_assert_str_eq(ESC("a\\x2db", 64, 0), "a\\x5cx2db");
	/* a NUL inside the length is a byte like any other */
	ck_assert_str_eq(ESC("a\0b", 64, 0), "a\\x00b");
}
END_TEST

START_TEST(test_flags)
{
	ck_assert_str_eq(ESC("with space \"q\"", 64, 0), "with space \"q\"");
	ck_assert_str_eq(ESC("with space", 64, ABK_ESC_SPACE), "with\\x20space");
	ck_assert_str_eq(ESC("\"q\"", 64, ABK_ESC_QUOTE), "\\x22q\\x22");
}
END_TEST

START_TEST(test_utf8)
{
	/* well-formed UTF-8 is kept: é, €, 𝄞 */
	ck_assert_str_eq(ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e", 64, 0),
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e");
	/* invalid bytes, overlong forms, surrogates, > U+10FFFF: escaped byte by byte */
	ck_assert_str_eq(ESC("\xff\xfe", 64, 0), "\\xff\\xfe");
	ck_assert_str_eq(ESC("\xc0\xaf", 64, 0), "\\xc0\\xaf");
	ck_assert_str_eq(ESC("\xed\xa0\x80", 64, 0), "\\xed\\xa0\\x80");
	ck_assert_str_eq(ESC("\xf4\x90\x80\x80", 64, 0), "\\xf4\\x90\\x80\\x80");
	/* a lone continuation byte */
	ck_assert_str_eq(ESC("a\x80" "b", 64, 0), "a\\x80b");
	/* C1 controls (U+009B is a CSI to some terminals) are escaped */
	ck_assert_str_eq(ESC("\xc2\x9b" "2J", 64, 0), "\\xc2\\x9b2J");
	/* a sequence cut by the end of the input (len ends inside it) */
	ck_assert_str_eq(esc("\xe2\x82\xac", 2, 64, 0), "\\xe2\\x82");
	ck_assert_str_eq(esc("x\xf0\x9d\x84\x9e", 4, 64, 0), "x\\xf0\\x9d\\x84");
}
END_TEST

START_TEST(test_small_buffer)
{
	/* fits exactly: no marker */
	ck_assert_str_eq(ESC("abcd", 5, 0), "abcd");
	/* one byte short: cut with "..." */
	ck_assert_str_eq(ESC("abcdef", 6, 0), "ab...");
	/* never inside an escape: "\x01" needs 4 bytes */
	ck_assert_str_eq(ESC("a\x01" "bcdef", 8, 0), "a...");
	ck_assert_str_eq(ESC("a\x01" "bcdef", 9, 0), "a\\x01...");
	/* never inside a multibyte character: the euro sign needs 3 bytes */
	ck_assert_str_eq(ESC("ab\xe2\x82\xac" "cdef", 7, 0), "ab...");
	ck_assert_str_eq(ESC("ab\xe2\x82\xac" "cdef", 9, 0), "ab\xe2\x82\xac...");
	/* tiny buffers: still terminated, never overrun */
	ck_assert_str_eq(ESC("abcdef", 4, 0), "...");
	ck_assert_str_eq(ESC("abcdef", 3, 0), "");
	ck_assert_str_eq(ESC("abcdef", 1, 0), "");
	{
		char out[1] = { 'Z' };

		abk_escape_name("abc", 3, out, 0, 0);	/* outsz 0: nothing written */
		ck_assert_int_eq(out[0], 'Z');
	}
}
END_TEST

START_TEST(test_every_byte)
{
	/* every single byte gives a printable, terminated result */
	for (int c = 0; c < 256; c++) {
		char in[1] = { (char)c };
		const char *o = esc(in, 1, 16, 0);

		for (const char *p = o; *p; p++)
			ck_assert(*p >= 0x20 && *p < 0x7f);
		if (c >= 0x20 && c < 0x7f && c != '\\')
			ck_assert_uint_eq(strlen(o), 1);
		else
			ck_assert_uint_eq(strlen(o), 4);
	}
}
END_TEST

START_TEST(test_base_name)
{
	ck_assert_str_eq(abk_base_name("/home/me/Documents"), "Documents");
	ck_assert_str_eq(abk_base_name("file"), "file");
	ck_assert_str_eq(abk_base_name("/"), "/");
	ck_assert_str_eq(abk_base_name("a/"), "a/");
	ck_assert_str_eq(abk_base_name("/x"), "x");
}
END_TEST

static Suite *
strutil_suite(void)
{
	Suite *s = suite_create("strutil");
	TCase *tc = tcase_create("escape");

	tcase_add_test(tc, test_plain_and_controls);
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_small_buffer);
	tcase_add_test(tc, test_every_byte);
	tcase_add_test(tc, test_base_name);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(strutil_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
