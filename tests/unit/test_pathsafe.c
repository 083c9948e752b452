/*
 * test_pathsafe.c - the confinement rules of invariant 1 (doc/ARCHITECTURE.md),
 * case by case, hostile inputs first.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pathsafe.h"

struct path_case {
	const char *path;
	size_t len;		/* 0 = strlen(path) */
	enum pathsafe_verdict want;
};

static char long_component[ABK_NAME_MAX + 2];
static char max_component[ABK_NAME_MAX + 1];
static char long_path[ABK_PATH_MAX + 2];
static char max_path[ABK_PATH_MAX + 1];

static void
make_long_inputs(void)
{
	memset(long_component, 'a', ABK_NAME_MAX + 1);
	long_component[ABK_NAME_MAX + 1] = '\0';
	memset(max_component, 'b', ABK_NAME_MAX);
	max_component[ABK_NAME_MAX] = '\0';
	/* "aaaa/aaaa/..." of exactly ABK_PATH_MAX and ABK_PATH_MAX + 1 bytes */
	for (size_t i = 0; i < ABK_PATH_MAX + 1; i++)
		long_path[i] = (i % 100 == 99) ? '/' : 'p';
	long_path[ABK_PATH_MAX + 1] = '\0';
	memcpy(max_path, long_path, ABK_PATH_MAX);
	max_path[ABK_PATH_MAX] = '\0';
	if (max_path[ABK_PATH_MAX - 1] == '/')
		max_path[ABK_PATH_MAX - 1] = 'p';
}

static const struct path_case cases[] = {
	/* accepted */
	{ "a", 0, PATHSAFE_OK },
	{ "a/b/c", 0, PATHSAFE_OK },
	{ "file with spaces.txt", 0, PATHSAFE_OK },
	/* issue 8 item 2: a backslash is an ordinary name byte on Linux */
	{ "back\\slash", 0, PATHSAFE_OK },
	{ "system.slice/a\\x2db.slice", 0, PATHSAFE_OK },
	{ "a\\..\\b", 0, PATHSAFE_OK },
	{ "..\\evil", 0, PATHSAFE_OK },
	{ "\\", 0, PATHSAFE_OK },
	{ "\xff\xfe/new\nline", 0, PATHSAFE_OK },
	{ "dir/new\nline", 0, PATHSAFE_OK },
	{ "-leading-dash", 0, PATHSAFE_OK },
	{ "\xc3\xa9t\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 0, PATHSAFE_OK },
	{ "...", 0, PATHSAFE_OK },
	{ ".hidden", 0, PATHSAFE_OK },
	{ "..x/x..", 0, PATHSAFE_OK },
	{ "tab\there", 0, PATHSAFE_OK },
	{ "\xff\xfe invalid utf8 kept", 0, PATHSAFE_OK },
	/* refused */
	{ "", 0, PATHSAFE_EMPTY },
	{ "/etc/passwd", 0, PATHSAFE_ABSOLUTE },
	{ "/", 0, PATHSAFE_ABSOLUTE },
	{ "..", 0, PATHSAFE_DOTDOT },
	{ "../x", 0, PATHSAFE_DOTDOT },
	{ "a/../../x", 0, PATHSAFE_DOTDOT },
	{ "a/..", 0, PATHSAFE_DOTDOT },
	{ ".", 0, PATHSAFE_DOT },
	{ "a/./b", 0, PATHSAFE_DOT },
	{ "a//b", 0, PATHSAFE_EMPTY_COMPONENT },
	{ "a/", 0, PATHSAFE_EMPTY_COMPONENT },
	{ "a\0/../../etc", 12, PATHSAFE_NUL },
	{ "ok\0", 3, PATHSAFE_NUL },
};

START_TEST(test_table)
{
	const struct path_case *c = &cases[_i];
	size_t len = c->len ? c->len : strlen(c->path);
	enum pathsafe_verdict got = pathsafe_check(c->path, len);

	ck_assert_msg(got == c->want, "case %d (\"%s\"): got %d (%s), want %d",
	    _i, c->path, got, pathsafe_reason(got), c->want);
}
END_TEST

START_TEST(test_lengths)
{
	make_long_inputs();
	ck_assert_int_eq(pathsafe_check_str(max_component), PATHSAFE_OK);
	ck_assert_int_eq(pathsafe_check_str(long_component), PATHSAFE_COMPONENT_TOO_LONG);
	ck_assert_int_eq(pathsafe_check_str(max_path), PATHSAFE_OK);
	ck_assert_int_eq(pathsafe_check_str(long_path), PATHSAFE_TOO_LONG);
}
END_TEST

START_TEST(test_long_component_deep)
{
	char buf[ABK_NAME_MAX + 16];

	make_long_inputs();
	snprintf(buf, sizeof(buf), "x/%s", long_component);
	ck_assert_int_eq(pathsafe_check_str(buf), PATHSAFE_COMPONENT_TOO_LONG);
}
END_TEST

START_TEST(test_null_and_names)
{
	ck_assert_int_eq(pathsafe_check_str(NULL), PATHSAFE_EMPTY);
	ck_assert_int_eq(pathsafe_check(NULL, 4), PATHSAFE_EMPTY);
	ck_assert_int_eq(pathsafe_check_name("a/b", 3), PATHSAFE_EMPTY_COMPONENT);
	ck_assert_int_eq(pathsafe_check_name("..", 2), PATHSAFE_DOTDOT);
	ck_assert_int_eq(pathsafe_check_name("ok", 2), PATHSAFE_OK);
	ck_assert_int_eq(pathsafe_check_name("", 0), PATHSAFE_EMPTY_COMPONENT);
}
END_TEST

START_TEST(test_utf8_not_modified)
{
	char name[] = "caf\xc3\xa9/\xf0\x9f\x98\x80";
	char copy[sizeof(name)];

	memcpy(copy, name, sizeof(name));
	ck_assert_int_eq(pathsafe_check_str(name), PATHSAFE_OK);
	ck_assert_mem_eq(name, copy, sizeof(name));
}
END_TEST

START_TEST(test_reasons)
{
	for (int v = PATHSAFE_OK; v <= PATHSAFE_TOO_LONG; v++)
		ck_assert_ptr_nonnull(pathsafe_reason((enum pathsafe_verdict)v));
	ck_assert_str_eq(pathsafe_reason((enum pathsafe_verdict)999), "path is invalid");
}
END_TEST

static Suite *
pathsafe_suite(void)
{
	Suite *s = suite_create("pathsafe");
	TCase *tc = tcase_create("rules");

	tcase_add_loop_test(tc, test_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_lengths);
	tcase_add_test(tc, test_long_component_deep);
	tcase_add_test(tc, test_null_and_names);
	tcase_add_test(tc, test_utf8_not_modified);
	tcase_add_test(tc, test_reasons);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pathsafe_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
