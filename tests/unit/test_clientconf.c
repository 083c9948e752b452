/*
 * test_clientconf.c - the client's config file (clientconf.h): the rules
 * both front ends share (abk_config_resolve: flags over the profile over the
 * defaults, the credentials order) and abk_config_save (the TUI's login
 * writes server, ca and user into one profile and keeps every other line).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clientconf.h"

static char base[256], cfg[400], pwfile[400], tokfile[400];

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static char *
slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
setup(void)
{
	snprintf(base, sizeof(base), "/tmp/abk_clientconf_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(cfg, sizeof(cfg), "%s/config", base);
	snprintf(pwfile, sizeof(pwfile), "%s/pw", base);
	snprintf(tokfile, sizeof(tokfile), "%s/tok", base);
	put(pwfile, "from-file\n");
	put(tokfile, "abk_tok\n");
	unsetenv("AUTOBACKUP_PASSWORD");
	unsetenv("AUTOBACKUP_TOKEN");
}

static void
teardown(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_resolve_order)
{
	char text[2000];
	struct abk_conn_flags f;
	struct abk_profile p;
	abk_err err = ABK_ERR_INIT;

	snprintf(text, sizeof(text), "server = top:1\nuser = topuser\n"
	    "[profile w]\nserver = work:2\ntoken-file = %s\n", tokfile);
	put(cfg, text);
	memset(&f, 0, sizeof(f));
	f.config = cfg;
	f.profile = "w";
	ck_assert_int_eq(abk_config_resolve(&f, 0, &p, NULL, &err), ABK_OK);
	ck_assert_str_eq(p.server, "work:2");		/* profile over the top keys */
	ck_assert_str_eq(p.user, "topuser");		/* top keys still apply */
	ck_assert_str_eq(p.secret, "abk_tok");
	ck_assert_int_eq(p.secret_is_token, 1);
	f.server = "flag:3";
	f.password_file = pwfile;
	ck_assert_int_eq(abk_config_resolve(&f, 0, &p, NULL, &err), ABK_OK);
	ck_assert_str_eq(p.server, "flag:3");		/* flags over the profile */
	ck_assert_str_eq(p.secret, "from-file");	/* --password-file first */
	ck_assert_int_eq(p.secret_is_token, 0);
	f.password_file = NULL;
	setenv("AUTOBACKUP_PASSWORD", "from-env", 1);
	ck_assert_int_eq(abk_config_resolve(&f, 0, &p, NULL, &err), ABK_OK);
	ck_assert_str_eq(p.secret, "from-env");		/* environment over the config */
	unsetenv("AUTOBACKUP_PASSWORD");
}
END_TEST

START_TEST(test_resolve_no_secret)
{
	struct abk_conn_flags f;
	struct abk_profile p;
	abk_err err = ABK_ERR_INIT;

	put(cfg, "server = s:1\nuser = u\n");
	memset(&f, 0, sizeof(f));
	f.config = cfg;
	ck_assert_int_eq(abk_config_resolve(&f, 0, &p, NULL, &err), ABK_E_USAGE);
	abk_err_clear(&err);
	/* the TUI asks on its own screen instead */
	ck_assert_int_eq(abk_config_resolve(&f, ABK_RESOLVE_SECRET_OPTIONAL, &p, NULL, &err),
	    ABK_OK);
	ck_assert_str_eq(p.secret, "");
	ck_assert_str_eq(p.server, "s:1");
}
END_TEST

/* A line longer than the old 4 KiB buffer is one line: the tail of a long
 * comment is not read as "server = evil:1" (fgets split it before). */
START_TEST(test_long_line_is_one_line)
{
	static char text[6000];
	struct abk_config c;
	abk_err err = ABK_ERR_INIT;
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), "server = good:1\n# ");
	memset(text + n, 'x', 4300);
	snprintf(text + n + 4300, sizeof(text) - n - 4300, "server = evil:1\nuser = u\n");
	put(cfg, text);
	ck_assert_int_eq(abk_config_load(cfg, NULL, &c, &err), ABK_OK);
	ck_assert_str_eq(c.server, "good:1");
	ck_assert_str_eq(c.user, "u");
	/* a NUL byte in a line is refused, not silently cut there */
	put(cfg, "user = a");
	{
		FILE *f = fopen(cfg, "a");

		ck_assert_ptr_nonnull(f);
		fputc('\0', f);
		fputs("b\n", f);
		fclose(f);
	}
	ck_assert_int_eq(abk_config_load(cfg, NULL, &c, &err), ABK_E_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "NUL byte"));
}
END_TEST

START_TEST(test_save_replaces_in_place)
{
	struct abk_config c;
	abk_err err = ABK_ERR_INIT;
	const char *text;

	put(cfg, "# mine\nserver = old:1\n\n[profile w]\nuser = bob # keep?\n"
	    "password-file = /x\n\n[profile other]\nuser = carol\n");
	ck_assert_int_eq(abk_config_save(cfg, "w", "new:2", "/ca.pem", "alice", &err), ABK_OK);
	text = slurp(cfg);
	ck_assert_ptr_nonnull(strstr(text, "# mine\nserver = old:1\n"));	/* top untouched */
	ck_assert_ptr_nonnull(strstr(text, "[profile other]\nuser = carol\n"));
	ck_assert_ptr_nonnull(strstr(text, "password-file = /x\n"));
	ck_assert_int_eq(abk_config_load(cfg, "w", &c, &err), ABK_OK);
	ck_assert_str_eq(c.server, "new:2");
	ck_assert_str_eq(c.ca, "/ca.pem");
	ck_assert_str_eq(c.user, "alice");
	ck_assert_str_eq(c.password_file, "/x");
	ck_assert_int_eq(abk_config_load(cfg, "other", &c, &err), ABK_OK);
	ck_assert_str_eq(c.user, "carol");
	ck_assert_str_eq(c.server, "old:1");
}
END_TEST

/* A save keeps every line whole: a comment longer than any fixed buffer
 * (once split, with a newline added in its middle) and thousands of lines
 * (once cut at 4096). */
START_TEST(test_save_keeps_long_and_many_lines)
{
	char *text;
	size_t len = 0;
	FILE *f;
	int lines = 0;

	f = fopen(cfg, "w");
	ck_assert_ptr_nonnull(f);
	fputs("# ", f);
	for (int i = 0; i < 6000; i++)
		fputc('a' + i % 26, f);
	fputs(" server = evil:1\n", f);
	for (int i = 0; i < 5000; i++)
		fprintf(f, "# line %d\n", i);
	fclose(f);
	ck_assert_int_eq(abk_config_save(cfg, "w", "new:2", NULL, NULL, &(abk_err)ABK_ERR_INIT),
	    ABK_OK);
	f = fopen(cfg, "r");
	ck_assert_ptr_nonnull(f);
	text = NULL;
	{
		size_t cap = 0;
		ssize_t n;

		while ((n = getline(&text, &cap, f)) >= 0) {
			if (lines == 0)
				len = (size_t)n;
			lines++;
		}
	}
	fclose(f);
	ck_assert_uint_eq(len, 2 + 6000 + 17);	/* the first line, whole */
	ck_assert_int_ge(lines, 5001 + 2);	/* nothing dropped, the profile added */
	free(text);
}
END_TEST

START_TEST(test_save_new_file_and_profile)
{
	struct abk_config c;
	abk_err err = ABK_ERR_INIT;
	char path[500];

	snprintf(path, sizeof(path), "%s/sub/dir/config", base);
	ck_assert_int_eq(abk_config_save(path, NULL, "s:1", "/ca", "u", &err), ABK_OK);
	ck_assert_int_eq(abk_config_load(path, NULL, &c, &err), ABK_OK);
	ck_assert_str_eq(c.server, "s:1");
	ck_assert_str_eq(c.user, "u");
	ck_assert_int_eq(access(path, R_OK), 0);
	ck_assert_int_eq(abk_config_save(path, "p2", "t:2", NULL, NULL, &err), ABK_OK);
	ck_assert_int_eq(abk_config_load(path, "p2", &c, &err), ABK_OK);
	ck_assert_str_eq(c.server, "t:2");
	ck_assert_str_eq(c.user, "u");			/* inherited from the top */
	ck_assert_int_eq(abk_config_load(path, NULL, &c, &err), ABK_OK);
	ck_assert_str_eq(c.server, "s:1");
	/* the top keys go before the first section */
	ck_assert_int_eq(abk_config_save(path, NULL, "s:9", NULL, NULL, &err), ABK_OK);
	ck_assert_int_eq(abk_config_load(path, NULL, &c, &err), ABK_OK);
	ck_assert_str_eq(c.server, "s:9");
	ck_assert_int_eq(abk_config_load(path, "p2", &c, &err), ABK_OK);
	ck_assert_str_eq(c.server, "t:2");
}
END_TEST

static Suite *
clientconf_suite(void)
{
	Suite *s = suite_create("clientconf");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_resolve_order);
	tcase_add_test(tc, test_resolve_no_secret);
	tcase_add_test(tc, test_save_replaces_in_place);
	tcase_add_test(tc, test_save_new_file_and_profile);
	tcase_add_test(tc, test_long_line_is_one_line);
	tcase_add_test(tc, test_save_keeps_long_and_many_lines);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(clientconf_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
