/*
 * test_scan.c - the push walk (scan.c) on real temporary folders: sort
 * order, --exclude patterns, ignore files, symlinks kept as links, special
 * files skipped, hostile names, the depth limit, a single file.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "proto.h"
#include "scan.h"

static char root[64];

struct notes {
	char what[8][512];
	size_t n;
};

static void
note(void *ctx, const char *path, const char *why)
{
	struct notes *nt = ctx;

	if (nt->n < 8)
		snprintf(nt->what[nt->n++], sizeof(nt->what[0]), "%s: %s", path, why);
}

static void
put(const char *rel, const char *data)
{
	char p[1024];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, strlen(data)), (int)strlen(data));
	close(fd);
}

static void
dir(const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_int_eq(mkdir(p, 0755), 0);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(p);
}

static void
setup(void)
{
	snprintf(root, sizeof(root), "/tmp/abk-test-scan-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void
teardown(void)
{
	(void)nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Scan root; the entry paths joined by '|' into out. */
static int
scan_list(const char *const *excludes, struct notes *nt, struct scan_result *res,
    char *out, size_t outsz)
{
	struct scan_opts so;
	abk_err err = ABK_ERR_INIT;
	size_t o = 0;
	int rc;

	memset(&so, 0, sizeof(so));
	memset(res, 0, sizeof(*res));
	so.excludes = excludes;
	so.note = note;
	so.ctx = nt;
	rc = scan_source(root, &so, res, &err);
	out[0] = '\0';
	for (size_t i = 0; i < res->n && o < outsz; i++)
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? "|" : "",
		    res->v[i].path);
	return rc;
}

static const struct scan_entry *
find(const struct scan_result *r, const char *path)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].path, path) == 0)
			return &r->v[i];
	ck_abort_msg("%s is not listed", path);
	abort();
}

START_TEST(test_sorted_tree)
{
	struct scan_result r;
	struct notes nt = { .n = 0 };
	char list[1024];

	put("b", "bb");
	dir("a");
	put("a/z", "z");
	put("a/c", "cc");
	put("C", "ccc");
	ck_assert_int_eq(scan_list(NULL, &nt, &r, list, sizeof(list)), ABK_OK);
	/* byte order, each folder followed by its contents */
	ck_assert_str_eq(list, "C|a|a/c|a/z|b");
	ck_assert_int_eq(find(&r, "a")->type, MF_DIR);
	ck_assert_int_eq(find(&r, "C")->type, MF_FILE);
	ck_assert_uint_eq(find(&r, "C")->size, 3);
	ck_assert_uint_eq(r.total_bytes, 2 + 1 + 2 + 3);
	ck_assert_int_eq(r.single_file, 0);
	ck_assert_uint_eq(r.skipped, 0);
	ck_assert_uint_eq(nt.n, 0);
	scan_result_free(&r);
}
END_TEST

START_TEST(test_excludes)
{
	static const char *const ex[] = { "*.tmp", "/a/c", NULL };
	struct scan_result r;
	struct notes nt = { .n = 0 };
	char list[1024];

	put("x.tmp", "");
	put("c", "");
	dir("a");
	put("a/y.tmp", "");
	put("a/c", "");
	put("a/d", "");
	ck_assert_int_eq(scan_list(ex, &nt, &r, list, sizeof(list)), ABK_OK);
	/* base-name patterns match at every level; "/a/c" only at a/c */
	ck_assert_str_eq(list, "a|a/d|c");
	ck_assert_uint_eq(r.skipped, 0);	/* excluded is not skipped */
	scan_result_free(&r);
}
END_TEST

START_TEST(test_ignore_file)
{
	struct scan_result r;
	struct notes nt = { .n = 0 };
	char list[1024];

	put("top.log", "");
	dir("sub");
	put("sub/" ABK_IGNORE_FILE, "# comment\n\n*.log\r\nkeep/skip \n");
	put("sub/a.log", "");
	put("sub/a.txt", "");
	dir("sub/keep");
	put("sub/keep/skip", "");
	put("sub/keep/more", "");
	dir("sub/keep/inner");
	put("sub/keep/inner/deep.log", "");
	ck_assert_int_eq(scan_list(NULL, &nt, &r, list, sizeof(list)), ABK_OK);
	/* the patterns apply to sub and below, relative to sub; not above */
	ck_assert_str_eq(list, "sub|sub/" ABK_IGNORE_FILE "|sub/a.txt|sub/keep|"
	    "sub/keep/inner|sub/keep/more|top.log");
	scan_result_free(&r);
}
END_TEST

START_TEST(test_symlinks_kept_as_links)
{
	struct scan_result r;
	struct notes nt = { .n = 0 };
	char list[1024], p[1024];
	const struct scan_entry *e;

	dir("a");
	put("a/f", "data");
	snprintf(p, sizeof(p), "%s/dl", root);
	ck_assert_int_eq(symlink("a", p), 0);
	snprintf(p, sizeof(p), "%s/dangling", root);
	ck_assert_int_eq(symlink("no/such/target", p), 0);
	ck_assert_int_eq(scan_list(NULL, &nt, &r, list, sizeof(list)), ABK_OK);
	/* never followed: no dl/f */
	ck_assert_str_eq(list, "a|a/f|dangling|dl");
	e = find(&r, "dl");
	ck_assert_int_eq(e->type, MF_SYMLINK);
	ck_assert_str_eq(e->target, "a");
	e = find(&r, "dangling");
	ck_assert_int_eq(e->type, MF_SYMLINK);
	ck_assert_str_eq(e->target, "no/such/target");
	scan_result_free(&r);
}
END_TEST

START_TEST(test_fifo_skipped)
{
	struct scan_result r;
	struct notes nt = { .n = 0 };
	char list[1024], p[1024];

	put("f", "x");
	snprintf(p, sizeof(p), "%s/pipe", root);
	ck_assert_int_eq(mkfifo(p, 0644), 0);
	/* the walk must not open (and so block on) the FIFO */
	ck_assert_int_eq(scan_list(NULL, &nt, &r, list, sizeof(list)), ABK_OK);
	ck_assert_str_eq(list, "f");
	ck_assert_uint_eq(nt.n, 1);
	ck_assert_str_eq(nt.what[0], "pipe: FIFO skipped");
	/* noted, but not data lost: the push is not partial for it */
	ck_assert_uint_eq(r.skipped, 0);
	scan_result_free(&r);
}
END_TEST

START_TEST(test_hostile_names)
{
	struct scan_result r;
	struct notes nt = { .n = 0 };
	char list[1024];

	put("new\nline", "1");
	put("back\\slash", "2");
	put("a\\x2db.slice", "3");
	put("\xff\xfe", "4");
	ck_assert_int_eq(scan_list(NULL, &nt, &r, list, sizeof(list)), ABK_OK);
	/* listed byte for byte, never rewritten */
	ck_assert_uint_eq(r.n, 4);
	(void)(find(&r, "new\nline"));
	(void)(find(&r, "back\\slash"));
	(void)(find(&r, "a\\x2db.slice"));
	(void)(find(&r, "\xff\xfe"));
	ck_assert_uint_eq(find(&r, "new\nline")->path_len, 8);
	scan_result_free(&r);
}
END_TEST

START_TEST(test_deep_tree)
{
	struct scan_result r;
	struct notes nt = { .n = 0 };
	static char list[65536];
	char rel[1024] = "";
	size_t deepest = 0;

	/* 130 nested folders: the protocol allows 127 components */
	for (int i = 0; i < 130; i++) {
		strcat(rel, i ? "/d" : "d");
		dir(rel);
	}
	ck_assert_int_eq(scan_list(NULL, &nt, &r, list, sizeof(list)), ABK_OK);
	ck_assert_uint_eq(r.n, PROTO_PATH_DEPTH_MAX);
	for (size_t i = 0; i < r.n; i++)
		if (r.v[i].path_len > deepest)
			deepest = r.v[i].path_len;
	ck_assert_uint_eq(deepest, 2 * PROTO_PATH_DEPTH_MAX - 1);
	/* one note for the first folder too deep; it counts as lost */
	ck_assert_uint_eq(nt.n, 1);
	ck_assert_ptr_nonnull(strstr(nt.what[0], "nested deeper than 127 folders"));
	ck_assert_uint_eq(r.skipped, 1);
	scan_result_free(&r);
}
END_TEST

START_TEST(test_single_file)
{
	struct scan_opts so;
	struct scan_result r;
	abk_err err = ABK_ERR_INIT;
	char p[1024];

	put("only.txt", "hello");
	snprintf(p, sizeof(p), "%s/only.txt", root);
	memset(&so, 0, sizeof(so));
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(scan_source(p, &so, &r, &err), ABK_OK);
	ck_assert_int_eq(r.single_file, 1);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_str_eq(r.v[0].path, "only.txt");
	ck_assert_str_eq(r.root, root);
	ck_assert_uint_eq(r.total_bytes, 5);
	scan_result_free(&r);
}
END_TEST

static Suite *
scan_suite(void)
{
	Suite *s = suite_create("scan");
	TCase *tc = tcase_create("walk");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sorted_tree);
	tcase_add_test(tc, test_excludes);
	tcase_add_test(tc, test_ignore_file);
	tcase_add_test(tc, test_symlinks_kept_as_links);
	tcase_add_test(tc, test_fifo_skipped);
	tcase_add_test(tc, test_hostile_names);
	tcase_add_test(tc, test_deep_tree);
	tcase_add_test(tc, test_single_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(scan_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
