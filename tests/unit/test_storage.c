/*
 * test_storage.c - storage on real files in a mkdtemp folder: publish,
 * incremental hard links, mirror semantics, retention, locks, resume,
 * bounds, quota, hostile staging trees, verify, listings, prune, cleanup.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "crypto.h"
#include "fsops.h"
#include "scan.h"
#include "storage.h"

/* A count-only retention policy (retention.h), as --keep N gives. */
#define KEEP(n) (&(struct retention_policy){ .keep = { [RET_LAST] = (n) } })

static char top[256];
static char data[300];
static char outside[300];

/* One entry of a test tree: data is a file's content or a symlink's target. */
struct tent {
	const char *path;
	uint8_t type;
	uint32_t mode;
	int64_t mtime;
	const char *data;
};

#define D(p, m) { p, MF_DIR, m, 1600000000, NULL }
#define F(p, m, c) { p, MF_FILE, m, 1600000100, c }
#define L(p, t) { p, MF_SYMLINK, 0777, 1600000200, t }
#define N(a) (sizeof(a) / sizeof((a)[0]))

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static void
setup(void)
{
	snprintf(top, sizeof(top), "%s/abk-storage-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(data, sizeof(data), "%s/data", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	ck_assert_int_eq(mkdir(data, 0700), 0);
	ck_assert_int_eq(mkdir(outside, 0700), 0);
}

static void
teardown(void)
{
	nftw(top, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
}

static struct manifest_entry
mk(const struct tent *t)
{
	struct manifest_entry e;

	memset(&e, 0, sizeof(e));
	e.path = t->path;
	e.path_len = strlen(t->path);
	e.type = t->type;
	e.mode = t->mode;
	e.mtime = t->mtime;
	/* what a protocol-2 client records: here ctime = mtime and an inode
	 * number per path, stable from one push to the next */
	e.flags = MF_HAS_STAT;
	e.ctime = t->mtime;
	e.inode = crc32(0, (const Bytef *)t->path, (uInt)strlen(t->path));
	if (t->type == MF_FILE)
		e.size = strlen(t->data);
	if (t->type == MF_SYMLINK) {
		e.target = t->data;
		e.target_len = strlen(t->data);
		e.size = e.target_len;
	}
	return e;
}

static storage_user *
user(const char *name)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = NULL;

	ck_assert_msg(storage_user_open(data, name, &u, &err) == ABK_OK, "%s", err.msg);
	return u;
}

/* Send every needed file in chunks of at most 3 bytes. */
static void
send_needed(storage_push *p, const struct tent *t, size_t n, const int *needed)
{
	abk_err err = ABK_ERR_INIT;

	for (size_t i = 0; i < n; i++) {
		size_t len, off = 0;

		if (!needed[i])
			continue;
		len = strlen(t[i].data);
		while (off < len) {
			size_t c = len - off > 3 ? 3 : len - off;

			ck_assert_msg(storage_push_file_write(p, (uint32_t)i, off, t[i].data + off, c,
			    &err) == ABK_OK, "%s", err.msg);
			off += c;
		}
		ck_assert_msg(storage_push_file_done(p, (uint32_t)i, &err) == ABK_OK, "%s", err.msg);
	}
}

/* A whole push; returns the commit code.  needed[] (may be NULL) gets the answers. */
static int
push(storage_user *u, const char *src, const struct tent *t, size_t n, int append_only,
    unsigned keep, struct storage_verdict *v, int *needed_out, abk_err *err)
{
	storage_push *p = NULL;
	int needed[64];
	int rc;

	ck_assert(n <= N(needed));
	rc = storage_push_begin(u, src, "/home/alice/src", 0, &p, err);
	if (rc != ABK_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct manifest_entry e = mk(&t[i]);

		ck_assert_msg(storage_push_entry(p, &e, &needed[i], err) == ABK_OK, "%s", err->msg);
		if (needed_out)
			needed_out[i] = needed[i];
	}
	ck_assert_msg(storage_push_plan(p, 0, err) == ABK_OK, "%s", err->msg);
	send_needed(p, t, n, needed);
	rc = storage_push_commit(p, append_only, KEEP(keep), v, err);
	storage_push_free(p);
	return rc;
}

static void
spath(char *out, size_t sz, const char *usr, const char *src, const char *id, const char *rel)
{
	snprintf(out, sz, "%s/users/%s/%s/%s%s%s", data, usr, src, id, rel[0] ? "/tree/" : "",
	    rel);
}

static char *
slurp(const char *path)
{
	static char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	ck_assert(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int
count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static const struct tent tree1[] = {
	D("a", 0755),
	D("a/b", 0700),
	F("a/f1", 0644, "hello"),
	F("a/empty", 0600, ""),
	F("a/exec", 0755, "#!/bin/sh\nexit 0\n"),
	F("top.txt", 0640, "top content"),
	L("link", "a/f1"),
	D("a/b/c", 0750),
	F("a/b/c/deep", 0444, "deep data here"),
};

struct collect {
	char paths[64][64];
	int n;
};

static int
collect_cb(void *ctx, uint32_t index, const struct manifest_entry *e)
{
	struct collect *c = ctx;

	(void)index;
	ck_assert(c->n < 64 && e->path_len < 64);
	memcpy(c->paths[c->n], e->path, e->path_len);
	c->paths[c->n][e->path_len] = '\0';
	c->n++;
	return 0;
}

/* A directory listing carries each entry's type, so that walking the
 * staging tree (remove_extras) needs no stat per entry. */
START_TEST(test_list_names_types)
{
	abk_err err = ABK_ERR_INIT;
	char dir[400], path[500];
	char **names = NULL;
	size_t count = 0;
	int fd;

	snprintf(dir, sizeof(dir), "%s/listing", top);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/b-file", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/a-dir", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/c-link", dir);
	ck_assert_int_eq(symlink("b-file", path), 0);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fsops_list_names(fd, &names, &count, &err), ABK_OK);
	close(fd);
	ck_assert_uint_eq(count, 3);
	ck_assert_str_eq(names[0], "a-dir");	/* sorted; the type byte rides along */
	ck_assert_str_eq(names[1], "b-file");
	ck_assert_str_eq(names[2], "c-link");
	/* the same answer readdir gives (0 only where the filesystem has none) */
	{
		DIR *d = opendir(dir);
		struct dirent *de;
		int seen = 0;

		ck_assert_ptr_nonnull(d);
		while ((de = readdir(d)) != NULL) {
			static const struct { unsigned char dt; mode_t mode; } map[] = {
				{ DT_DIR, S_IFDIR }, { DT_REG, S_IFREG }, { DT_LNK, S_IFLNK },
			};
			mode_t want = 0;

			if (de->d_name[0] == '.')
				continue;
			for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++)
				if (map[k].dt == de->d_type)
					want = map[k].mode;
			for (size_t i = 0; i < count; i++)
				if (strcmp(names[i], de->d_name) == 0) {
					ck_assert_uint_eq(fsops_name_mode(names[i]), want);
					seen++;
				}
		}
		closedir(d);
		ck_assert_int_eq(seen, 3);
	}
	fsops_names_free(names, count);
}
END_TEST

START_TEST(test_first_push)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verdict v;
	storage_snapshot *s = NULL;
	struct collect c = { .n = 0 };
	char p[PATH_MAX], buf[64];
	struct stat st;
	int needed[N(tree1)];

	ck_assert_msg(push(u, "src", tree1, N(tree1), 0, 5, &v, needed, &err) == ABK_OK, "%s",
	    err.msg);
	ck_assert_int_eq(strlen(v.id), STORAGE_ID_LEN);
	ck_assert_uint_eq(v.added, N(tree1));
	ck_assert_uint_eq(v.removed, 0);
	ck_assert_uint_eq(v.bytes_received, 5 + 17 + 11 + 14);
	ck_assert_int_eq(needed[0] + needed[1] + needed[3] + needed[6], 0);
	ck_assert_int_eq(needed[2] && needed[4] && needed[5] && needed[8], 1);

	spath(p, sizeof(p), "alice", "src", v.id, "a/f1");
	ck_assert_str_eq(slurp(p), "hello");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(st.st_mtime, 1600000100);
	spath(p, sizeof(p), "alice", "src", v.id, "a/b/c/deep");
	ck_assert_str_eq(slurp(p), "deep data here");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);	/* 0444 plus owner write */
	spath(p, sizeof(p), "alice", "src", v.id, "a/empty");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert(S_ISREG(st.st_mode) && st.st_size == 0);
	spath(p, sizeof(p), "alice", "src", v.id, "a/b");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(st.st_mtime, 1600000000);
	ck_assert_int_eq(count_dir(p), 1);
	spath(p, sizeof(p), "alice", "src", v.id, "a");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(st.st_mtime, 1600000000);
	spath(p, sizeof(p), "alice", "src", v.id, "link");
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(st.st_mtime, 1600000200);
	ck_assert_int_eq(readlink(p, buf, sizeof(buf)), 4);
	ck_assert_mem_eq(buf, "a/f1", 4);
	/* nothing but the tree and the manifest is published */
	spath(p, sizeof(p), "alice", "src", v.id, "");
	ck_assert_int_eq(count_dir(p), 2);
	spath(p, sizeof(p), "alice", "src", ".staging", "");
	ck_assert(!exists(p));

	ck_assert_msg(storage_snapshot_open(u, "src", NULL, &s, &err) == ABK_OK, "%s", err.msg);
	ck_assert_str_eq(storage_snapshot_id(s), v.id);
	ck_assert_str_eq(storage_snapshot_origin(s), "/home/alice/src");
	ck_assert_int_eq(storage_snapshot_foreach(s, NULL, collect_cb, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, (int)N(tree1));
	for (size_t i = 0; i < N(tree1); i++)
		ck_assert_str_eq(c.paths[i], tree1[i].path);
	c.n = 0;
	ck_assert_int_eq(storage_snapshot_foreach(s, "a/b", collect_cb, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, 3);
	ck_assert_str_eq(c.paths[0], "a/b");
	ck_assert_str_eq(c.paths[2], "a/b/c/deep");
	ck_assert_int_eq(storage_snapshot_foreach(s, "nope", collect_cb, &c, &err),
	    ABK_E_NOTFOUND);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_snapshot_foreach(s, "../etc", collect_cb, &c, &err), ABK_E_PATH);
	abk_err_clear(&err);
	storage_snapshot_close(s);
	storage_user_close(u);
}
END_TEST

/* The manifest records CRCs and exact modes; open_file gives the data. */
static int
check_entry_cb(void *ctx, uint32_t index, const struct manifest_entry *e)
{
	storage_snapshot *s = ctx;
	abk_err err = ABK_ERR_INIT;
	struct manifest_entry again;
	const char *path;
	size_t len;
	char buf[64];
	ssize_t n;
	int fd;

	/* the index decodes the same entry again, later */
	storage_snapshot_entry(s, index, &again);
	path = storage_snapshot_entry_path(s, index, &len);
	ck_assert(len == e->path_len && memcmp(path, e->path, len) == 0);
	ck_assert(again.path == e->path && again.size == e->size && again.type == e->type &&
	    again.crc32 == e->crc32 && again.mtime == e->mtime);
	if (e->type != MF_FILE)
		return 0;
	ck_assert(e->flags & MF_HAS_CRC);
	ck_assert_int_eq(storage_snapshot_open_file(s, e, &fd, &err), ABK_OK);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_int_eq(n, (ssize_t)e->size);
	ck_assert_uint_eq(e->crc32, (uint32_t)crc32(0, (const Bytef *)buf, (uInt)n));
	if (e->path_len == 10 && memcmp(e->path, "a/b/c/deep", 10) == 0)
		ck_assert_uint_eq(e->mode, 0444);
	return 0;
}

START_TEST(test_manifest_and_open_file)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	storage_snapshot *s = NULL;
	struct storage_verdict v;
	struct manifest_entry dir = { 0 };

	ck_assert_int_eq(push(u, "src", tree1, N(tree1), 0, 5, &v, NULL, &err), ABK_OK);
	ck_assert_int_eq(storage_snapshot_open(u, "src", v.id, &s, &err), ABK_OK);
	ck_assert_int_eq(storage_snapshot_foreach(s, NULL, check_entry_cb, s, &err), ABK_OK);
	dir.path = "a";
	dir.path_len = 1;
	dir.type = MF_DIR;
	ck_assert_int_eq(storage_snapshot_open_file(s, &dir, &(int){ 0 }, &err), ABK_E_USAGE);
	storage_snapshot_close(s);
	storage_user_close(u);
}
END_TEST

static const struct tent tree2[] = {
	D("a", 0755),
	D("a/b", 0700),
	F("a/f1", 0644, "hello, changed"),	/* changed */
	F("a/empty", 0600, ""),
	F("a/exec", 0755, "#!/bin/sh\nexit 0\n"),	/* unchanged */
	/* top.txt removed */
	L("link", "a/exec"),			/* retargeted */
	D("a/b/c", 0750),
	F("a/b/c/deep", 0400, "deep data here"),	/* mode changed only */
	F("a/new", 0644, "brand new"),		/* added */
};

START_TEST(test_incremental)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verdict v1, v2;
	char p1[PATH_MAX], p2[PATH_MAX], buf[64];
	struct stat s1, s2;
	int needed[N(tree2)];

	ck_assert_int_eq(push(u, "src", tree1, N(tree1), 0, 5, &v1, NULL, &err), ABK_OK);
	ck_assert_msg(push(u, "src", tree2, N(tree2), 0, 5, &v2, needed, &err) == ABK_OK, "%s",
	    err.msg);
	ck_assert_str_gt(v2.id, v1.id);
	ck_assert_int_eq(needed[2], 1);
	ck_assert_int_eq(needed[4], 0);
	ck_assert_int_eq(needed[7], 1);
	ck_assert_int_eq(needed[8], 1);
	ck_assert_uint_eq(v2.added, 1);
	ck_assert_uint_eq(v2.removed, 1);
	ck_assert_uint_eq(v2.changed, 3);
	ck_assert_uint_eq(v2.unchanged, N(tree2) - 4);
	ck_assert_uint_eq(v2.bytes_received, 14 + 14 + 9);
	ck_assert_uint_eq(v2.bytes_stored, 14 + 14 + 9);

	/* unchanged: the same inode in both snapshots */
	spath(p1, sizeof(p1), "alice", "src", v1.id, "a/exec");
	spath(p2, sizeof(p2), "alice", "src", v2.id, "a/exec");
	ck_assert_int_eq(stat(p1, &s1), 0);
	ck_assert_int_eq(stat(p2, &s2), 0);
	ck_assert_uint_eq(s1.st_ino, s2.st_ino);
	ck_assert_int_eq(s2.st_nlink, 2);
	/* changed: new content in the new one, the old one intact */
	spath(p1, sizeof(p1), "alice", "src", v1.id, "a/f1");
	spath(p2, sizeof(p2), "alice", "src", v2.id, "a/f1");
	ck_assert_str_eq(slurp(p1), "hello");
	ck_assert_str_eq(slurp(p2), "hello, changed");
	ck_assert_int_eq(stat(p1, &s1), 0);
	ck_assert_int_eq(stat(p2, &s2), 0);
	ck_assert_uint_ne(s1.st_ino, s2.st_ino);
	spath(p1, sizeof(p1), "alice", "src", v1.id, "a/b/c/deep");
	spath(p2, sizeof(p2), "alice", "src", v2.id, "a/b/c/deep");
	ck_assert_int_eq(stat(p1, &s1), 0);
	ck_assert_int_eq(stat(p2, &s2), 0);
	ck_assert_uint_ne(s1.st_ino, s2.st_ino);
	ck_assert_int_eq(s1.st_mode & 0777, 0644);
	ck_assert_int_eq(s2.st_mode & 0777, 0600);
	/* removed: gone from the newest only */
	spath(p1, sizeof(p1), "alice", "src", v1.id, "top.txt");
	spath(p2, sizeof(p2), "alice", "src", v2.id, "top.txt");
	ck_assert_str_eq(slurp(p1), "top content");
	ck_assert(!exists(p2));
	spath(p2, sizeof(p2), "alice", "src", v2.id, "link");
	ck_assert_int_eq(readlink(p2, buf, sizeof(buf)), 6);
	ck_assert_mem_eq(buf, "a/exec", 6);
	spath(p1, sizeof(p1), "alice", "src", v1.id, "link");
	ck_assert_int_eq(readlink(p1, buf, sizeof(buf)), 4);
	storage_user_close(u);
}
END_TEST

/* A directory replaced by a symlink and a file replaced by a directory. */
START_TEST(test_type_changes)
{
	static const struct tent t1[] = {
		D("x", 0755), F("x/in", 0644, "inside"), F("y", 0644, "file y"),
	};
	static const struct tent t2[] = {
		L("x", "/etc"), D("y", 0755), F("y/z", 0644, "zzz"),
	};
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verdict v1, v2;
	char p[PATH_MAX];
	struct stat st;

	ck_assert_int_eq(push(u, "src", t1, N(t1), 0, 5, &v1, NULL, &err), ABK_OK);
	ck_assert_msg(push(u, "src", t2, N(t2), 0, 5, &v2, NULL, &err) == ABK_OK, "%s", err.msg);
	spath(p, sizeof(p), "alice", "src", v2.id, "x");
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	spath(p, sizeof(p), "alice", "src", v2.id, "y/z");
	ck_assert_str_eq(slurp(p), "zzz");
	spath(p, sizeof(p), "alice", "src", v1.id, "x/in");
	ck_assert_str_eq(slurp(p), "inside");
	ck_assert_uint_eq(v2.changed, 2);
	ck_assert_uint_eq(v2.removed, 1);
	storage_user_close(u);
}
END_TEST

static int
count_cb(void *ctx, const struct storage_snapshot_info *si)
{
	(void)si;
	(*(int *)ctx)++;
	return 0;
}

static int
nsnap(storage_user *u, const char *src)
{
	abk_err err = ABK_ERR_INIT;
	int n = 0;

	ck_assert_msg(storage_list_snapshots(u, src, count_cb, &n, &err) == ABK_OK, "%s", err.msg);
	return n;
}

/* The policy alone (retention.c): oldest first, all but keep_last dropped. */
START_TEST(test_retention_select)
{
	char a[] = "20240101T000000.000Z", b[] = "20240102T000000.000Z";
	char c[] = "20240103T000000.000Z", d[] = "20240104T000000.000Z";
	char *ids[] = { a, b, c, d };
	struct retention_policy pol;
	unsigned char drop[4];
	abk_err err = ABK_ERR_INIT;

	retention_policy_default(&pol);
	ck_assert_uint_eq(pol.keep[RET_LAST], 3);
	ck_assert_uint_eq(pol.keep[RET_DAILY], 7);
	ck_assert_uint_eq(retention_select(&pol, ids, 4, drop), 0);
	memset(&pol, 0, sizeof(pol));
	pol.keep[RET_LAST] = 2;
	ck_assert_int_eq(retention_check(&pol, "prune", &err), ABK_OK);
	ck_assert_uint_eq(retention_select(&pol, ids, 4, drop), 2);
	ck_assert(drop[0] && drop[1] && !drop[2] && !drop[3]);
	pol.keep[RET_LAST] = 0;
	ck_assert_int_eq(retention_check(&pol, "prune", &err), ABK_E_USAGE);
	ck_assert_int_eq(retention_check(NULL, "prune", NULL), ABK_E_USAGE);
}
END_TEST

START_TEST(test_retention)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verdict v[4];
	char p[PATH_MAX];

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(push(u, "src", tree1, N(tree1), 0, 2, &v[i], NULL, &err), ABK_OK);
	ck_assert_uint_eq(v[0].pruned, 0);
	ck_assert_uint_eq(v[1].pruned, 0);
	ck_assert_uint_eq(v[2].pruned, 1);
	ck_assert_int_eq(nsnap(u, "src"), 2);
	spath(p, sizeof(p), "alice", "src", v[0].id, "");
	ck_assert(!exists(p));
	spath(p, sizeof(p), "alice", "src", v[1].id, "a/f1");
	ck_assert_str_eq(slurp(p), "hello");
	spath(p, sizeof(p), "alice", "src", v[2].id, "a/f1");
	ck_assert_str_eq(slurp(p), "hello");

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(push(u, "ao", tree1, N(tree1), 1, 1, &v[i], NULL, &err), ABK_OK);
	ck_assert_int_eq(nsnap(u, "ao"), 4);
	ck_assert_int_eq(push(u, "ao", tree1, N(tree1), 0, 0, &v[0], NULL, &err), ABK_E_USAGE);
	storage_user_close(u);
}
END_TEST

START_TEST(test_busy)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice"), *u2 = user("alice");
	storage_push *p1 = NULL, *p2 = NULL, *p3 = NULL;
	unsigned removed;

	ck_assert_int_eq(storage_push_begin(u, "src", "/x", 0, &p1, &err), ABK_OK);
	ck_assert_int_eq(storage_push_begin(u2, "src", "/x", 0, &p2, &err), ABK_E_BUSY);
	ck_assert_ptr_null(p2);
	ck_assert_msg(strstr(err.msg, "source \"src\" is busy: another push is in progress"),
	    "%s", err.msg);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_prune(u2, "src", KEEP(1), &removed, &err), ABK_E_BUSY);
	abk_err_clear(&err);
	/* another source of the same user is free */
	ck_assert_int_eq(storage_push_begin(u2, "other", "/y", 0, &p3, &err), ABK_OK);
	storage_push_free(p3);
	storage_push_free(p1);
	ck_assert_int_eq(storage_push_begin(u2, "src", "/x", 0, &p2, &err), ABK_OK);
	storage_push_abort(p2);
	ck_assert_int_eq(storage_push_begin(u, "src", "/x", 0, &p1, &err), ABK_OK);
	storage_push_free(p1);
	storage_push_free(p2);
	storage_user_close(u);
	storage_user_close(u2);
}
END_TEST

static const struct tent rtree[] = {
	D("d", 0755),
	F("d/one", 0644, "first file, complete before the abort"),
	F("d/two", 0644, "second file, cut in the middle"),
	F("three", 0644, "third file, never started"),
};

static storage_push *
begin_list(storage_user *u, const char *src, const struct tent *t, size_t n, int *needed)
{
	abk_err err = ABK_ERR_INIT;
	storage_push *p = NULL;

	ck_assert_msg(storage_push_begin(u, src, "/o", 0, &p, &err) == ABK_OK, "%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		struct manifest_entry e = mk(&t[i]);

		ck_assert_msg(storage_push_entry(p, &e, &needed[i], &err) == ABK_OK, "%s", err.msg);
	}
	ck_assert_int_eq(storage_push_plan(p, 0, &err), ABK_OK);
	return p;
}

/*
 * A piece of the previous version reused: copied with its known CRC-32 (in
 * the kernel), or without one (read and checked like client data); a wrong
 * known CRC-32 is caught when the file is done, nothing is published.
 */
static int
push_reusing(storage_user *u, const char *src, int mode, struct storage_verdict *v,
    abk_err *err)
{
	static const char old_data[] = "0123456789abcdef", new_data[] = "0123456789ABCDEF";
	static const struct tent first = F("f", 0644, old_data);
	struct manifest_entry e = mk(&first);
	storage_push *p = NULL;
	uint32_t piece_crc = (uint32_t)crc32(0, (const Bytef *)new_data, 10);
	uint64_t prev_size = 0;
	int needed = 0, fd = -1, rc;

	ck_assert_int_eq(push(u, src, &first, 1, 0, 5, v, NULL, err), ABK_OK);
	e.mtime += 60;
	e.flags |= MF_HAS_CRC;
	e.crc32 = (uint32_t)crc32(0, (const Bytef *)new_data, 16);
	ck_assert_int_eq(storage_push_begin(u, src, "/o", 0, &p, err), ABK_OK);
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, err), ABK_OK);
	ck_assert_int_eq(needed, 1);
	ck_assert_int_eq(storage_push_plan(p, 0, err), ABK_OK);
	ck_assert_int_eq(storage_push_open_previous(p, 0, &fd, &prev_size, err), ABK_OK);
	ck_assert_uint_eq(prev_size, 16);
	if (mode == 2)
		piece_crc ^= 1;		/* a hash pass that lied */
	rc = storage_push_file_copy(p, 0, 0, fd, 0, 10, mode == 0 ? NULL : &piece_crc, NULL, err);
	close(fd);
	if (rc == ABK_OK)
		rc = storage_push_file_write(p, 0, 10, new_data + 10, 6, err);
	if (rc == ABK_OK)
		rc = storage_push_file_done(p, 0, err);
	if (rc == ABK_OK)
		rc = storage_push_commit(p, 0, KEEP(5), v, err);
	storage_push_free(p);
	return rc;
}

START_TEST(test_copy_from_previous)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verdict v;
	char path[PATH_MAX];

	ck_assert_msg(push_reusing(u, "by-hand", 0, &v, &err) == ABK_OK, "%s", err.msg);
	spath(path, sizeof(path), "alice", "by-hand", v.id, "f");
	ck_assert_str_eq(slurp(path), "0123456789ABCDEF");
	ck_assert_msg(push_reusing(u, "kernel", 1, &v, &err) == ABK_OK, "%s", err.msg);
	spath(path, sizeof(path), "alice", "kernel", v.id, "f");
	ck_assert_str_eq(slurp(path), "0123456789ABCDEF");
	ck_assert_int_eq(push_reusing(u, "lied", 2, &v, &err), ABK_E_INTEGRITY);
	ck_assert_ptr_nonnull(strstr(err.msg, "CRC-32"));
	ck_assert_int_eq(nsnap(u, "lied"), 1);	/* only the first push */
	storage_user_close(u);
}
END_TEST

START_TEST(test_resume)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_push_counts c;
	struct storage_verdict v;
	storage_push *p;
	char path[PATH_MAX];
	int needed[N(rtree)];
	int fd;

	p = begin_list(u, "src", rtree, N(rtree), needed);
	ck_assert(needed[1] && needed[2] && needed[3]);
	ck_assert_int_eq(storage_push_file_write(p, 1, 0, rtree[1].data, strlen(rtree[1].data),
	    &err), ABK_OK);
	ck_assert_int_eq(storage_push_file_done(p, 1, &err), ABK_OK);
	ck_assert_int_eq(storage_push_file_write(p, 2, 0, rtree[2].data, 10, &err), ABK_OK);
	storage_push_abort(p);
	storage_push_free(p);
	spath(path, sizeof(path), "alice", "src", ".staging", "");
	ck_assert(exists(path));
	ck_assert_int_eq(nsnap(u, "src"), 0);

	/* The same list again: the complete file is not asked for. */
	p = begin_list(u, "src", rtree, N(rtree), needed);
	ck_assert_int_eq(needed[1], 0);
	ck_assert(needed[2] && needed[3]);
	storage_push_get_counts(p, &c);
	ck_assert_uint_eq(c.resumed, 1);
	ck_assert_uint_eq(c.needed, 2);
	ck_assert_uint_eq(c.needed_bytes, strlen(rtree[2].data) + strlen(rtree[3].data));
	storage_push_free(p);
	/* unless it is not there any more (or has another size) */
	snprintf(path, sizeof(path), "%s/users/alice/src/.staging/tree/d/one", data);
	fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "+", 1), 1);
	close(fd);
	p = begin_list(u, "src", rtree, N(rtree), needed);
	ck_assert_int_eq(needed[1], 1);
	storage_push_free(p);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, rtree[1].data, strlen(rtree[1].data)),
	    (ssize_t)strlen(rtree[1].data));
	close(fd);
	p = begin_list(u, "src", rtree, N(rtree), needed);
	ck_assert_int_eq(needed[1], 0);
	/* ... but if it was damaged meanwhile, the commit refuses it */
	snprintf(path, sizeof(path), "%s/users/alice/src/.staging/tree/d/one", data);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "F", 1, 0), 1);
	close(fd);
	send_needed(p, rtree, N(rtree), needed);
	ck_assert_int_eq(storage_push_commit(p, 0, KEEP(3), &v, &err), ABK_E_INTEGRITY);
	ck_assert_msg(strstr(err.msg, "d/one"), "%s", err.msg);
	abk_err_clear(&err);
	storage_push_free(p);
	ck_assert_int_eq(nsnap(u, "src"), 0);

	/* ... and the next push asks for it again; the others resume. */
	p = begin_list(u, "src", rtree, N(rtree), needed);
	ck_assert_int_eq(needed[1], 1);
	ck_assert_int_eq(needed[2] + needed[3], 0);
	send_needed(p, rtree, N(rtree), needed);
	ck_assert_msg(storage_push_commit(p, 0, KEEP(3), &v, &err) == ABK_OK, "%s", err.msg);
	storage_push_free(p);
	ck_assert_uint_eq(v.bytes_received, strlen(rtree[1].data));
	ck_assert_uint_eq(v.bytes_stored, strlen(rtree[1].data) + strlen(rtree[2].data) +
	    strlen(rtree[3].data));
	for (size_t i = 1; i < N(rtree); i++) {
		spath(path, sizeof(path), "alice", "src", v.id, rtree[i].path);
		ck_assert_str_eq(slurp(path), rtree[i].data);
	}
	storage_user_close(u);
}
END_TEST

/* One file "f" (content c) listed as e; returns whether it was needed, and
 * publishes the push. */
static int
push_one(storage_user *u, const char *src, struct manifest_entry *e, const char *c)
{
	abk_err err = ABK_ERR_INIT;
	struct storage_verdict v;
	storage_push *p = NULL;
	int needed = 0;

	e->path = "f";
	e->path_len = 1;
	e->type = MF_FILE;
	e->size = strlen(c);
	ck_assert_msg(storage_push_begin(u, src, "/o", 0, &p, &err) == ABK_OK, "%s", err.msg);
	ck_assert_msg(storage_push_entry(p, e, &needed, &err) == ABK_OK, "%s", err.msg);
	ck_assert_int_eq(storage_push_plan(p, 0, &err), ABK_OK);
	if (needed) {
		ck_assert_int_eq(storage_push_file_write(p, 0, 0, c, strlen(c), &err), ABK_OK);
		ck_assert_int_eq(storage_push_file_done(p, 0, &err), ABK_OK);
	}
	ck_assert_msg(storage_push_commit(p, 0, KEEP(5), &v, &err) == ABK_OK, "%s", err.msg);
	storage_push_free(p);
	return needed;
}

/*
 * Issue 8 item 3: a file is unchanged only if size, mtime to the nanosecond,
 * ctime and inode all match and the previous push did not read it in its racy
 * window; a snapshot without stat fields (protocol 1) sends it once more.
 */
START_TEST(test_change_detection)
{
	storage_user *u = user("alice");
	struct manifest_entry e;
	struct timespec start = { 1700000000, 500000000 };

	memset(&e, 0, sizeof(e));
	e.mode = 0644;
	e.mtime = 1600000000;
	/* protocol 1 entry (no MF_HAS_STAT): never taken as unchanged */
	ck_assert_int_eq(push_one(u, "cd", &e, "abcd"), 1);
	ck_assert_int_eq(push_one(u, "cd", &e, "abcd"), 1);
	e.flags = MF_HAS_STAT;
	e.mtime_nsec = 5;
	e.ctime = 1600000000;
	e.ctime_nsec = 7;
	e.inode = 42;
	ck_assert_int_eq(push_one(u, "cd", &e, "abcd"), 1);
	ck_assert_int_eq(push_one(u, "cd", &e, "abcd"), 0);	/* all the same */
	e.mtime_nsec = 6;
	ck_assert_int_eq(push_one(u, "cd", &e, "abce"), 1);	/* same second, other ns */
	e.ctime_nsec = 8;
	ck_assert_int_eq(push_one(u, "cd", &e, "abcf"), 1);	/* only ctime */
	e.inode = 43;
	ck_assert_int_eq(push_one(u, "cd", &e, "abcg"), 1);	/* only the inode */
	ck_assert_int_eq(push_one(u, "cd", &e, "abcg"), 0);
	/* read in its racy window: the next push asks again even if all match */
	e.flags |= MF_RACY;
	e.ctime = 1600000001;
	ck_assert_int_eq(push_one(u, "cd", &e, "abch"), 1);
	e.flags &= ~MF_RACY;
	ck_assert_int_eq(push_one(u, "cd", &e, "abci"), 1);
	ck_assert_int_eq(push_one(u, "cd", &e, "abci"), 0);

	/* the client's rule: racy unless mtime is at least 1 s before the start */
	ck_assert_int_eq(scan_is_racy(1700000000, 500000000, &start), 1);
	ck_assert_int_eq(scan_is_racy(1699999999, 500000000, &start), 1);
	ck_assert_int_eq(scan_is_racy(1699999999, 499999999, &start), 0);
	ck_assert_int_eq(scan_is_racy(1699999999, 999999999, &start), 1);
	ck_assert_int_eq(scan_is_racy(1700000005, 0, &start), 1);	/* future */
	ck_assert_int_eq(scan_is_racy(1600000000, 0, &start), 0);
	storage_user_close(u);
}
END_TEST

/* A snapshot manifest of format version 1 (before protocol 2) still reads. */
START_TEST(test_old_manifest_version)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verify_counts vc;
	struct manifest_entry e;
	char dir[PATH_MAX], path[PATH_MAX + 16], *id = NULL;
	uint8_t buf[4096];
	struct dirent *de;
	uint32_t crc;
	ssize_t n;
	DIR *d;
	int fd;

	memset(&e, 0, sizeof(e));
	e.mode = 0644;
	e.mtime = 1600000000;
	ck_assert_int_eq(push_one(u, "old", &e, "old data"), 1);
	snprintf(dir, sizeof(dir), "%s/users/alice/old", data);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			id = strdup(de->d_name);
	closedir(d);
	ck_assert_ptr_nonnull(id);
	snprintf(path, sizeof(path), "%s/%s/manifest", dir, id);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	n = pread(fd, buf, sizeof(buf), 0);
	ck_assert_int_gt(n, 8);
	ck_assert_int_eq(buf[7], 2);
	buf[7] = 1;	/* what a protocol-1 server wrote: same layout, no stat fields */
	crc = (uint32_t)crc32(0, buf, (uInt)(n - 4));
	buf[n - 4] = (uint8_t)(crc >> 24);
	buf[n - 3] = (uint8_t)(crc >> 16);
	buf[n - 2] = (uint8_t)(crc >> 8);
	buf[n - 1] = (uint8_t)crc;
	ck_assert_int_eq(pwrite(fd, buf, (size_t)n, 0), n);
	close(fd);
	ck_assert_msg(storage_verify(u, "old", id, NULL, NULL, &vc, &err) == ABK_OK, "%s",
	    err.msg);
	ck_assert_uint_eq(vc.problems, 0);
	e.flags = MF_HAS_STAT;
	ck_assert_int_eq(push_one(u, "old", &e, "old data"), 1);	/* sent once more */
	ck_assert_int_eq(push_one(u, "old", &e, "old data"), 0);
	free(id);
	storage_user_close(u);
}
END_TEST

/*
 * Issue 8 item 12: an interrupted commit can leave a staged file hard-linked
 * to the previous snapshot's inode; resuming it must not fchmod/futimens
 * that inode (it would change the published snapshot).
 */
/*
 * Issue 10 item 5: the whole pieces of a big file that arrived before a push
 * stopped are synced and journaled; the next push of the same file gets
 * them offered (verified against the recorded CRC-32), keeps them in place,
 * and the file is still checked whole.  A staged piece damaged meanwhile is
 * not offered; a piece never offered cannot be kept.
 */
#define RP_SIZE ((size_t)10 * 1024 * 1024 + 5)

static storage_push *
rp_begin(storage_user *u, const char *src, const char *buf, int *needed)
{
	abk_err err = ABK_ERR_INIT;
	storage_push *p = NULL;
	struct tent t = F("big", 0644, "");
	struct manifest_entry e = mk(&t);

	e.size = RP_SIZE;
	e.flags |= MF_HAS_CRC;
	e.crc32 = (uint32_t)crc32(0, (const Bytef *)buf, (uInt)RP_SIZE);
	ck_assert_msg(storage_push_begin(u, src, "/o", 0, &p, &err) == ABK_OK, "%s", err.msg);
	ck_assert_msg(storage_push_entry(p, &e, needed, &err) == ABK_OK, "%s", err.msg);
	ck_assert_int_eq(storage_push_plan(p, 0, &err), ABK_OK);
	return p;
}

START_TEST(test_resume_pieces)
{
	const size_t piece = PROTO_PIECE;
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verdict v;
	storage_push *p;
	uint8_t (*h)[ABK_PIECE_HASH_LEN] = malloc(16 * sizeof(*h));
	uint32_t crc[16], n = 99;
	char *buf = malloc(RP_SIZE), path[PATH_MAX];
	int needed = 0, fd;

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(h);
	for (size_t i = 0; i < RP_SIZE; i++)
		buf[i] = (char)('a' + (i * 7 + i / 4093) % 26);
	/* 9 MiB arrive (two whole pieces and a part), then the push stops */
	p = rp_begin(u, "rp", buf, &needed);
	ck_assert_int_eq(needed, 1);
	ck_assert_int_eq(storage_push_file_write(p, 0, 0, buf, 2 * piece, &err), ABK_OK);
	ck_assert_int_eq(storage_push_file_write(p, 0, 2 * piece, buf + 2 * piece, 1 << 20, &err),
	    ABK_OK);
	storage_push_abort(p);
	storage_push_free(p);

	/* the next push: the two whole pieces are offered */
	p = rp_begin(u, "rp", buf, &needed);
	ck_assert_int_eq(needed, 1);
	ck_assert_int_eq(storage_push_staged_pieces(p, 0, h, crc, 16, 1, &n, &err), ABK_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(crc[1], (uint32_t)crc32(0, (const Bytef *)buf + piece, (uInt)piece));
	/* a piece not offered cannot be kept */
	ck_assert_int_eq(storage_push_file_keep(p, 0, 0, piece, crc[0], NULL, &err), ABK_OK);
	ck_assert_int_eq(storage_push_file_keep(p, 0, piece, piece, crc[1], NULL, &err), ABK_OK);
	ck_assert_int_eq(storage_push_file_keep(p, 0, 2 * piece, RP_SIZE - 2 * piece, 0, NULL, &err),
	    ABK_E_INTEGRITY);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_push_file_write(p, 0, 2 * piece, buf + 2 * piece,
	    RP_SIZE - 2 * piece, &err), ABK_OK);
	ck_assert_msg(storage_push_file_done(p, 0, &err) == ABK_OK, "%s", err.msg);
	ck_assert_msg(storage_push_commit(p, 0, KEEP(3), &v, &err) == ABK_OK, "%s", err.msg);
	storage_push_free(p);
	ck_assert_uint_eq(v.bytes_received, RP_SIZE - 2 * piece);	/* kept: not received */
	spath(path, sizeof(path), "alice", "rp", v.id, "big");
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	{
		char *got = malloc(RP_SIZE + 1);

		ck_assert_int_eq(read(fd, got, RP_SIZE + 1), (ssize_t)RP_SIZE);
		ck_assert(memcmp(got, buf, RP_SIZE) == 0);
		free(got);
	}
	close(fd);

	/* a staged piece damaged after it was synced is not offered */
	p = rp_begin(u, "dmg", buf, &needed);
	ck_assert_int_eq(storage_push_file_write(p, 0, 0, buf, 2 * piece, &err), ABK_OK);
	storage_push_abort(p);
	storage_push_free(p);
	snprintf(path, sizeof(path), "%s/users/alice/dmg/.staging/tree/big", data);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "#", 1, 5 << 20), 1);
	close(fd);
	p = rp_begin(u, "dmg", buf, &needed);
	ck_assert_int_eq(storage_push_staged_pieces(p, 0, h, crc, 16, 1, &n, &err), ABK_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(storage_push_file_keep(p, 0, 0, piece, crc[0], NULL, &err), ABK_E_INTEGRITY);
	abk_err_clear(&err);
	storage_push_free(p);
	/* another version of the file (new stat fields): nothing offered either */
	p = rp_begin(u, "rp2", buf, &needed);
	ck_assert_int_eq(storage_push_file_write(p, 0, 0, buf, 2 * piece, &err), ABK_OK);
	storage_push_free(p);
	{
		struct tent t = F("big", 0644, "");
		struct manifest_entry e = mk(&t);

		e.size = RP_SIZE;
		e.mtime_nsec = 5;	/* written again since */
		ck_assert_int_eq(storage_push_begin(u, "rp2", "/o", 0, &p, &err), ABK_OK);
		ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
		ck_assert_int_eq(storage_push_plan(p, 0, &err), ABK_OK);
		ck_assert_int_eq(storage_push_staged_pieces(p, 0, h, crc, 16, 1, &n, &err), ABK_OK);
		ck_assert_uint_eq(n, 0);
		storage_push_free(p);
	}
	free(h);
	free(buf);
	storage_user_close(u);
}
END_TEST

START_TEST(test_resumed_shared_inode)
{
	static const struct tent t1 = F("f", 0644, "hello");
	static const struct tent t2 = { "f", MF_FILE, 0600, 1600000500, "hello" };
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verdict v1, v;
	storage_push *p;
	char old[PATH_MAX], staged[PATH_MAX], now[PATH_MAX];
	struct stat st;
	int needed[1];

	ck_assert_int_eq(push(u, "sh", &t1, 1, 0, 5, &v1, NULL, &err), ABK_OK);
	/* the file arrives with a new time and mode, then the push stops */
	p = begin_list(u, "sh", &t2, 1, needed);
	ck_assert_int_eq(needed[0], 1);
	send_needed(p, &t2, 1, needed);
	storage_push_abort(p);
	storage_push_free(p);
	/* what a commit interrupted after its links leaves: the staged name is
	 * a link to the published inode (same content, the old mode and time) */
	spath(old, sizeof(old), "alice", "sh", v1.id, "f");
	snprintf(staged, sizeof(staged), "%s/users/alice/sh/.staging/tree/f", data);
	ck_assert_int_eq(unlink(staged), 0);
	ck_assert_int_eq(link(old, staged), 0);

	p = begin_list(u, "sh", &t2, 1, needed);
	ck_assert_int_eq(needed[0], 0);		/* resumed */
	ck_assert_msg(storage_push_commit(p, 0, KEEP(5), &v, &err) == ABK_OK, "%s", err.msg);
	storage_push_free(p);
	ck_assert_int_eq(stat(old, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);	/* the published one untouched */
	ck_assert_int_eq(st.st_mtime, 1600000100);
	spath(now, sizeof(now), "alice", "sh", v.id, "f");
	ck_assert_str_eq(slurp(now), "hello");
	ck_assert_int_eq(stat(now, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_mtime, 1600000500);
	storage_user_close(u);
}
END_TEST

/* Issue 8 item 4: verify remembers damage; the next push re-sends the file
 * instead of linking the damaged inode forward. */
START_TEST(test_damaged_resent)
{
	static const struct tent t[] = { F("f", 0644, "hello world"), F("g", 0644, "fine") };
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verify_counts vc;
	struct storage_verdict v1, v2;
	char p1[PATH_MAX], p2[PATH_MAX];
	struct stat s1, s2;
	int needed[N(t)], fd;

	ck_assert_int_eq(push(u, "dm", t, N(t), 0, 5, &v1, NULL, &err), ABK_OK);
	spath(p1, sizeof(p1), "alice", "dm", v1.id, "f");
	fd = open(p1, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "J", 1, 0), 1);
	close(fd);
	ck_assert_int_eq(storage_verify(u, "dm", v1.id, NULL, NULL, &vc, &err), ABK_E_INTEGRITY);
	abk_err_clear(&err);
	ck_assert_uint_eq(vc.corrupted, 1);
	ck_assert_msg(push(u, "dm", t, N(t), 0, 5, &v2, needed, &err) == ABK_OK, "%s", err.msg);
	ck_assert_int_eq(needed[0], 1);		/* damaged: sent again */
	ck_assert_int_eq(needed[1], 0);		/* intact: linked */
	spath(p2, sizeof(p2), "alice", "dm", v2.id, "f");
	ck_assert_str_eq(slurp(p2), "hello world");
	ck_assert_int_eq(stat(p1, &s1), 0);
	ck_assert_int_eq(stat(p2, &s2), 0);
	ck_assert_uint_ne(s1.st_ino, s2.st_ino);
	ck_assert_int_eq(storage_verify(u, "dm", v2.id, NULL, NULL, &vc, &err), ABK_OK);
	storage_user_close(u);
}
END_TEST

/* What an aborted push left that the new list does not hold is not published. */
START_TEST(test_stale_staging_removed)
{
	static const struct tent small[] = { D("d", 0755), F("three", 0644, "3") };
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verdict v;
	storage_push *p;
	char path[PATH_MAX];
	int needed[N(rtree)];

	p = begin_list(u, "src", rtree, N(rtree), needed);
	send_needed(p, rtree, N(rtree), needed);
	storage_push_free(p);	/* never committed */
	ck_assert_int_eq(push(u, "src", small, N(small), 0, 3, &v, NULL, &err), ABK_OK);
	spath(path, sizeof(path), "alice", "src", v.id, "d");
	ck_assert_int_eq(count_dir(path), 0);
	spath(path, sizeof(path), "alice", "src", v.id, "three");
	ck_assert_str_eq(slurp(path), "3");
	storage_user_close(u);
}
END_TEST

START_TEST(test_bounds)
{
	static const struct tent t[] = {
		D("d", 0755), F("d/f", 0644, "12345"), F("g", 0644, "abc"), F("e", 0644, ""),
	};
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	storage_push *p;
	int needed[N(t)];

	p = begin_list(u, "src", t, N(t), needed);
	ck_assert_int_eq(storage_push_file_write(p, 1, 0, "123456", 6, &err), ABK_E_LIMIT);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_push_file_write(p, 1, 0, "123", 3, &err), ABK_OK);
	ck_assert_int_eq(storage_push_file_write(p, 1, 3, "456", 3, &err), ABK_E_LIMIT);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_push_file_write(p, 1, 4, "4", 1, &err), ABK_E_PROTO);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_push_file_done(p, 1, &err), ABK_E_INTEGRITY);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_push_file_write(p, 0, 0, "x", 1, &err), ABK_E_PROTO);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_push_file_write(p, 3, 0, "x", 1, &err), ABK_E_PROTO);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_push_file_write(p, 99, 0, "x", 1, &err), ABK_E_PROTO);
	abk_err_clear(&err);
	/* switching files mid-way and coming back works */
	ck_assert_int_eq(storage_push_file_write(p, 2, 0, "abc", 3, &err), ABK_OK);
	ck_assert_int_eq(storage_push_file_write(p, 1, 3, "45", 2, &err), ABK_OK);
	ck_assert_int_eq(storage_push_file_done(p, 1, &err), ABK_OK);
	ck_assert_int_eq(storage_push_file_write(p, 1, 5, "", 0, &err), ABK_E_PROTO);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_push_commit(p, 0, KEEP(1), NULL, &err), ABK_E_PROTO);
	ck_assert_str_eq(err.msg, "missing data for 1 file");
	abk_err_clear(&err);
	ck_assert_int_eq(storage_push_file_done(p, 2, &err), ABK_OK);
	ck_assert_int_eq(storage_push_commit(p, 0, KEEP(1), NULL, &err), ABK_OK);
	storage_push_free(p);
	storage_user_close(u);
}
END_TEST

START_TEST(test_list_errors)
{
	static const struct tent t[] = {
		D("d", 0755), F("f", 0644, "x"),
	};
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	storage_push *p = NULL;
	struct manifest_entry e;
	int needed;

	ck_assert_int_eq(storage_push_begin(u, "src", "/o", 0, &p, &err), ABK_OK);
	storage_push_set_max_entries(p, 4);
	e = mk(&(struct tent)F("a/b", 0644, "x"));
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_E_PROTO);	/* no parent */
	abk_err_clear(&err);
	e = mk(&(struct tent)F("../evil", 0644, "x"));
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_E_PATH);
	abk_err_clear(&err);
	e = mk(&(struct tent)F("/abs", 0644, "x"));
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_E_PATH);
	abk_err_clear(&err);
	for (size_t i = 0; i < N(t); i++) {
		e = mk(&t[i]);
		ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
	}
	e = mk(&t[1]);
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_E_PROTO);	/* twice */
	ck_assert_msg(strstr(err.msg, "twice"), "%s", err.msg);
	abk_err_clear(&err);
	e = mk(&(struct tent)F("f/under-a-file", 0644, "x"));
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_E_PROTO);
	abk_err_clear(&err);
	e = mk(&(struct tent)F("d/1", 0644, "x"));
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
	e = mk(&(struct tent)F("d/2", 0644, "x"));
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
	e = mk(&(struct tent)F("d/3", 0644, "x"));
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_E_LIMIT);
	abk_err_clear(&err);
	storage_push_free(p);
	storage_user_close(u);
}
END_TEST

START_TEST(test_depth_limit)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	storage_push *p = NULL;
	struct manifest_entry e;
	char path[2 * STORAGE_MAX_DEPTH + 4];
	int needed, rc = ABK_OK;
	size_t len = 0;

	ck_assert_int_eq(storage_push_begin(u, "src", "/o", 0, &p, &err), ABK_OK);
	for (int depth = 1; depth <= STORAGE_MAX_DEPTH + 1; depth++) {
		if (len > 0)
			path[len++] = '/';
		path[len++] = 'd';
		path[len] = '\0';
		e = mk(&(struct tent)D(path, 0755));
		rc = storage_push_entry(p, &e, &needed, &err);
		if (depth <= STORAGE_MAX_DEPTH)
			ck_assert_msg(rc == ABK_OK, "depth %d: %s", depth, err.msg);
	}
	ck_assert_int_eq(rc, ABK_E_LIMIT);
	storage_push_free(p);
	storage_user_close(u);
}
END_TEST

START_TEST(test_quota_and_usage)
{
	static const struct tent big[] = {
		F("big", 0644, "0123456789012345678901234567890123456789"),
	};
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verdict v;
	uint64_t used, walked;
	storage_push *p = NULL;
	struct manifest_entry e;
	int needed;

	ck_assert_int_eq(push(u, "src", tree1, N(tree1), 0, 5, &v, NULL, &err), ABK_OK);
	ck_assert_int_eq(storage_usage(u, &used, &err), ABK_OK);
	ck_assert_uint_gt(used, 5 + 17 + 11 + 14);

	ck_assert_int_eq(storage_push_begin(u, "other", "/o", 0, &p, &err), ABK_OK);
	e = mk(&big[0]);
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
	ck_assert_int_eq(storage_push_plan(p, used + 39, &err), ABK_E_QUOTA);
	ck_assert_msg(strstr(err.msg, "the push needs 40 B more; 39 B of "), "%s", err.msg);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_push_commit(p, 0, KEEP(1), NULL, &err), ABK_E_PROTO);
	abk_err_clear(&err);
	storage_push_free(p);
	ck_assert_int_eq(storage_list_snapshots(u, "other", count_cb, &(int){ 0 }, &err),
	    ABK_OK);
	ck_assert_int_eq(nsnap(u, "other"), 0);

	/* exactly at the quota is allowed */
	ck_assert_int_eq(storage_push_begin(u, "other", "/o", 0, &p, &err), ABK_OK);
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
	ck_assert_int_eq(storage_push_plan(p, used + 40, &err), ABK_OK);
	storage_push_free(p);

	/* The cached figure follows publishes and prunes exactly. */
	ck_assert_int_eq(push(u, "src", tree2, N(tree2), 0, 5, &v, NULL, &err), ABK_OK);
	ck_assert_int_eq(push(u, "src", tree1, N(tree1), 0, 5, &v, NULL, &err), ABK_OK);
	ck_assert_int_eq(push(u, "other", big, N(big), 0, 5, &v, NULL, &err), ABK_OK);
	ck_assert_int_eq(storage_prune(u, NULL, KEEP(1), NULL, &err), ABK_OK);
	ck_assert_int_eq(storage_usage(u, &used, &err), ABK_OK);
	ck_assert_int_eq(storage_usage_recompute(u, &walked, &err), ABK_OK);
	ck_assert_uint_eq(used, walked);
	storage_user_close(u);
}
END_TEST

START_TEST(test_hostile_staging)
{
	static const struct tent t[] = {
		D("d", 0755), F("d/file", 0644, "payload"), F("f", 0644, "other payload"),
		D("e", 0755), F("e/x", 0644, "x"),
	};
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("mallory");
	struct storage_verdict v;
	char p[PATH_MAX], target[PATH_MAX];
	struct stat st;

	/* Plant symlinks where the push expects a directory and a file. */
	snprintf(p, sizeof(p), "%s/users/mallory/src", data);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/users/mallory/src/.staging", data);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/users/mallory/src/.staging/tree", data);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/users/mallory/src/.staging/tree/d", data);
	ck_assert_int_eq(symlink(outside, p), 0);
	snprintf(target, sizeof(target), "%s/victim", outside);
	snprintf(p, sizeof(p), "%s/users/mallory/src/.staging/tree/f", data);
	ck_assert_int_eq(symlink(target, p), 0);
	/* and the whole staging of a second source */
	snprintf(p, sizeof(p), "%s/users/mallory/src2", data);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/users/mallory/src2/.staging", data);
	ck_assert_int_eq(symlink(outside, p), 0);

	ck_assert_msg(push(u, "src", t, N(t), 0, 5, &v, NULL, &err) == ABK_OK, "%s", err.msg);
	ck_assert_int_eq(count_dir(outside), 0);
	spath(p, sizeof(p), "mallory", "src", v.id, "d");
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	spath(p, sizeof(p), "mallory", "src", v.id, "d/file");
	ck_assert_str_eq(slurp(p), "payload");
	spath(p, sizeof(p), "mallory", "src", v.id, "f");
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert(S_ISREG(st.st_mode));

	ck_assert_msg(push(u, "src2", t, N(t), 0, 5, &v, NULL, &err) == ABK_OK, "%s", err.msg);
	ck_assert_int_eq(count_dir(outside), 0);
	spath(p, sizeof(p), "mallory", "src2", v.id, "e/x");
	ck_assert_str_eq(slurp(p), "x");
	storage_user_close(u);
}
END_TEST

/* A symlink planted in a published tree is not followed by restore or verify. */
START_TEST(test_hostile_snapshot)
{
	static const struct tent t[] = { D("d", 0755), F("d/file", 0644, "payload") };
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("mallory");
	struct storage_verify_counts vc;
	struct storage_verdict v;
	storage_snapshot *s = NULL;
	struct manifest_entry e = mk(&t[1]);
	char p[PATH_MAX], victim[PATH_MAX];
	int fd;

	snprintf(victim, sizeof(victim), "%s/file", outside);
	fd = open(victim, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "secret!", 7), 7);
	close(fd);
	ck_assert_int_eq(push(u, "src", t, N(t), 0, 5, &v, NULL, &err), ABK_OK);
	spath(p, sizeof(p), "mallory", "src", v.id, "d/file");
	ck_assert_int_eq(unlink(p), 0);
	spath(p, sizeof(p), "mallory", "src", v.id, "d");
	ck_assert_int_eq(rmdir(p), 0);
	ck_assert_int_eq(symlink(outside, p), 0);
	ck_assert_int_eq(storage_snapshot_open(u, "src", NULL, &s, &err), ABK_OK);
	ck_assert_int_eq(storage_snapshot_open_file(s, &e, &fd, &err), ABK_E_INTEGRITY);
	ck_assert_int_eq(fd, -1);
	abk_err_clear(&err);
	storage_snapshot_close(s);
	ck_assert_int_eq(storage_verify(u, "src", NULL, NULL, NULL, &vc, &err), ABK_E_INTEGRITY);
	ck_assert_uint_eq(vc.problems, 2);
	storage_user_close(u);
}
END_TEST

struct problems {
	int n;
	char text[8][80];
};

static int
problem_cb(void *ctx, const char *path, size_t len, const char *what)
{
	struct problems *pr = ctx;

	ck_assert(pr->n < 8);
	snprintf(pr->text[pr->n++], sizeof(pr->text[0]), "%.*s: %s", (int)len, path, what);
	return 0;
}

START_TEST(test_verify)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verify_counts vc;
	struct storage_verdict v;
	struct problems pr = { .n = 0 };
	char p[PATH_MAX];
	int fd;

	ck_assert_int_eq(push(u, "src", tree1, N(tree1), 0, 5, &v, NULL, &err), ABK_OK);
	ck_assert_msg(storage_verify(u, "src", v.id, problem_cb, &pr, &vc, &err) == ABK_OK, "%s",
	    err.msg);
	ck_assert_uint_eq(vc.entries, N(tree1));
	ck_assert_uint_eq(vc.bytes, 5 + 17 + 11 + 14);
	ck_assert_int_eq(pr.n, 0);

	spath(p, sizeof(p), "alice", "src", v.id, "a/exec");
	fd = open(p, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "X", 1, 3), 1);	/* same size, one byte flipped */
	close(fd);
	spath(p, sizeof(p), "alice", "src", v.id, "top.txt");
	ck_assert_int_eq(unlink(p), 0);
	spath(p, sizeof(p), "alice", "src", v.id, "link");
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(symlink("elsewhere", p), 0);
	ck_assert_int_eq(storage_verify(u, "src", NULL, problem_cb, &pr, &vc, &err),
	    ABK_E_INTEGRITY);
	ck_assert_msg(strstr(err.msg, "3 problems"), "%s", err.msg);
	ck_assert_uint_eq(vc.corrupted, 1);
	ck_assert_uint_eq(vc.missing, 1);
	ck_assert_uint_eq(vc.target_differs, 1);
	ck_assert_uint_eq(vc.problems, 3);
	ck_assert_int_eq(pr.n, 3);
	ck_assert_str_eq(pr.text[0], "a/exec: content corrupted (CRC mismatch)");
	ck_assert_str_eq(pr.text[1], "top.txt: missing");
	ck_assert_str_eq(pr.text[2], "link: symlink target differs");
	storage_user_close(u);
}
END_TEST

START_TEST(test_checksum_mode)
{
	static const char content[] = "checksummed content";
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verdict v;
	storage_push *p = NULL;
	struct manifest_entry e = mk(&(struct tent)F("c", 0644, content));
	int needed;

	ck_assert_int_eq(abk_sha256(content, strlen(content), e.sha256), ABK_OK);
	e.flags |= MF_HAS_SHA256;
	/* first push: the digest is checked on arrival */
	ck_assert_int_eq(storage_push_begin(u, "src", "/o", 1, &p, &err), ABK_OK);
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
	ck_assert_int_eq(needed, 1);
	ck_assert_int_eq(storage_push_plan(p, 0, &err), ABK_OK);
	ck_assert_int_eq(storage_push_file_write(p, 0, 0, "CHECKSUMMED CONTENT", 19, &err),
	    ABK_OK);
	ck_assert_int_eq(storage_push_file_done(p, 0, &err), ABK_E_INTEGRITY);
	ck_assert_msg(strstr(err.msg, "SHA-256"), "%s", err.msg);
	abk_err_clear(&err);
	storage_push_free(p);
	ck_assert_int_eq(storage_push_begin(u, "src", "/o", 1, &p, &err), ABK_OK);
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
	ck_assert_int_eq(needed, 1);	/* the damaged copy was not journaled */
	ck_assert_int_eq(storage_push_plan(p, 0, &err), ABK_OK);
	ck_assert_int_eq(storage_push_file_write(p, 0, 0, content, strlen(content), &err),
	    ABK_OK);
	ck_assert_int_eq(storage_push_file_done(p, 0, &err), ABK_OK);
	ck_assert_int_eq(storage_push_commit(p, 0, KEEP(5), &v, &err), ABK_OK);
	storage_push_free(p);

	/* same digest: unchanged; another digest with the same size and time: needed */
	ck_assert_int_eq(storage_push_begin(u, "src", "/o", 1, &p, &err), ABK_OK);
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
	ck_assert_int_eq(needed, 0);
	storage_push_free(p);
	e.sha256[0] ^= 1;
	ck_assert_int_eq(storage_push_begin(u, "src", "/o", 1, &p, &err), ABK_OK);
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
	ck_assert_int_eq(needed, 1);
	storage_push_free(p);
	/* in checksum mode a missing digest means needed */
	e.flags &= (uint8_t)~MF_HAS_SHA256;
	ck_assert_int_eq(storage_push_begin(u, "src", "/o", 1, &p, &err), ABK_OK);
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
	ck_assert_int_eq(needed, 1);
	storage_push_free(p);
	ck_assert_int_eq(storage_push_begin(u, "src", "/o", 0, &p, &err), ABK_OK);
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
	ck_assert_int_eq(needed, 0);
	storage_push_free(p);
	ck_assert_int_eq(storage_verify(u, "src", NULL, NULL, NULL, NULL, &err), ABK_OK);
	storage_user_close(u);
}
END_TEST

struct srcs {
	int n;
	char names[4][16];
	unsigned snaps[4];
	uint64_t files[4], bytes[4];
	char origin[4][32];
};

static int
src_cb(void *ctx, const struct storage_source_info *si)
{
	struct srcs *s = ctx;

	ck_assert(s->n < 4);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", si->name);
	snprintf(s->origin[s->n], sizeof(s->origin[0]), "%s", si->origin);
	s->snaps[s->n] = si->snapshots;
	s->files[s->n] = si->latest_files;
	s->bytes[s->n] = si->latest_bytes;
	ck_assert_int_eq(strlen(si->latest_id), STORAGE_ID_LEN);
	ck_assert_int_gt(si->latest_time, 1600000000);
	s->n++;
	return 0;
}

struct snaps {
	int n;
	char ids[4][STORAGE_ID_LEN + 1];
};

static int
snap_cb(void *ctx, const struct storage_snapshot_info *si)
{
	struct snaps *s = ctx;

	ck_assert(s->n < 4);
	memcpy(s->ids[s->n++], si->id, STORAGE_ID_LEN + 1);
	return 0;
}

static int
stop_cb(void *ctx, const struct storage_snapshot_info *si)
{
	(void)ctx;
	(void)si;
	return ABK_E_CANCELED;
}

START_TEST(test_listing)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	storage_snapshot *s = NULL;
	struct storage_verdict v1, v2, v3;
	struct srcs ls = { .n = 0 };
	struct snaps sn = { .n = 0 };
	struct collect c = { .n = 0 };
	storage_push *p = NULL;

	ck_assert_int_eq(push(u, "zeta", tree1, N(tree1), 0, 5, &v1, NULL, &err), ABK_OK);
	ck_assert_int_eq(push(u, "zeta", tree2, N(tree2), 0, 5, &v2, NULL, &err), ABK_OK);
	ck_assert_int_eq(push(u, "alpha", tree1, N(tree1), 0, 5, &v3, NULL, &err), ABK_OK);
	/* a source with only staging is not listed */
	ck_assert_int_eq(storage_push_begin(u, "pending", "/p", 0, &p, &err), ABK_OK);
	storage_push_free(p);
	ck_assert_int_eq(storage_list_sources(u, src_cb, &ls, &err), ABK_OK);
	ck_assert_int_eq(ls.n, 2);
	ck_assert_str_eq(ls.names[0], "alpha");
	ck_assert_str_eq(ls.names[1], "zeta");
	ck_assert_uint_eq(ls.snaps[1], 2);
	ck_assert_uint_eq(ls.files[1], 5);
	ck_assert_uint_eq(ls.bytes[1], 14 + 17 + 14 + 9);
	ck_assert_str_eq(ls.origin[0], "/home/alice/src");

	ck_assert_int_eq(storage_list_snapshots(u, "zeta", snap_cb, &sn, &err), ABK_OK);
	ck_assert_int_eq(sn.n, 2);
	ck_assert_str_eq(sn.ids[0], v2.id);	/* newest first */
	ck_assert_str_eq(sn.ids[1], v1.id);
	ck_assert_int_eq(storage_list_snapshots(u, "zeta", stop_cb, NULL, &err), ABK_E_CANCELED);
	ck_assert_int_eq(storage_list_snapshots(u, "nosuch", snap_cb, &sn, &err), ABK_E_NOTFOUND);
	abk_err_clear(&err);

	ck_assert_int_eq(storage_snapshot_open(u, "zeta", v1.id, &s, &err), ABK_OK);
	ck_assert_int_eq(storage_snapshot_list_dir(s, "", collect_cb, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, 3);
	ck_assert_str_eq(c.paths[0], "a");
	ck_assert_str_eq(c.paths[1], "top.txt");
	ck_assert_str_eq(c.paths[2], "link");
	c.n = 0;
	ck_assert_int_eq(storage_snapshot_list_dir(s, "a", collect_cb, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, 4);
	ck_assert_str_eq(c.paths[0], "a/b");
	ck_assert_str_eq(c.paths[3], "a/exec");
	ck_assert_int_eq(storage_snapshot_list_dir(s, "a/f1", collect_cb, &c, &err), ABK_E_USAGE);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_snapshot_list_dir(s, "zz", collect_cb, &c, &err), ABK_E_NOTFOUND);
	abk_err_clear(&err);
	storage_snapshot_close(s);

	ck_assert_int_eq(storage_snapshot_open(u, "nosuch", NULL, &s, &err), ABK_E_NOTFOUND);
	ck_assert_msg(strstr(err.msg, "no source"), "%s", err.msg);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_snapshot_open(u, "zeta", "20000101T000000.000Z", &s, &err),
	    ABK_E_NOTFOUND);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_snapshot_open(u, "zeta", "../../etc", &s, &err), ABK_E_NOTFOUND);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_snapshot_open(u, "zeta", "20240231T000000.000Z", &s, &err),
	    ABK_E_NOTFOUND);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_snapshot_open(u, "pending", NULL, &s, &err), ABK_E_NOTFOUND);
	abk_err_clear(&err);
	storage_user_close(u);
}
END_TEST

START_TEST(test_damaged_manifest)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	storage_snapshot *s = NULL;
	struct storage_verdict v;
	char p[PATH_MAX];
	int needed[N(tree1)], fd;

	ck_assert_int_eq(push(u, "src", tree1, N(tree1), 0, 5, &v, NULL, &err), ABK_OK);
	spath(p, sizeof(p), "alice", "src", v.id, "");
	strcat(p, "/manifest");
	fd = open(p, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "Z", 1, 40), 1);
	close(fd);
	ck_assert_int_eq(storage_snapshot_open(u, "src", NULL, &s, &err), ABK_E_INTEGRITY);
	abk_err_clear(&err);
	/* the next push does not trust it: everything is sent again */
	ck_assert_int_eq(push(u, "src", tree1, N(tree1), 0, 5, &v, needed, &err), ABK_OK);
	ck_assert(needed[2] && needed[4] && needed[5] && needed[8]);
	storage_user_close(u);
}
END_TEST

START_TEST(test_prune)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verdict v;
	unsigned removed = 99;

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(push(u, "one", tree1, N(tree1), 1, 1, &v, NULL, &err), ABK_OK);
		ck_assert_int_eq(push(u, "two", tree2, N(tree2), 1, 1, &v, NULL, &err), ABK_OK);
	}
	ck_assert_int_eq(storage_prune(u, "one", KEEP(0), &removed, &err), ABK_E_USAGE);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_prune(u, "one", KEEP(2), &removed, &err), ABK_OK);
	ck_assert_uint_eq(removed, 1);
	ck_assert_int_eq(nsnap(u, "one"), 2);
	ck_assert_int_eq(nsnap(u, "two"), 3);
	ck_assert_int_eq(storage_prune(u, NULL, KEEP(1), &removed, &err), ABK_OK);
	ck_assert_uint_eq(removed, 3);
	ck_assert_int_eq(nsnap(u, "one"), 1);
	ck_assert_int_eq(nsnap(u, "two"), 1);
	ck_assert_int_eq(storage_prune(u, "nosuch", KEEP(1), &removed, &err), ABK_E_NOTFOUND);
	abk_err_clear(&err);
	/* the survivors are whole */
	ck_assert_int_eq(storage_verify(u, "one", NULL, NULL, NULL, NULL, &err), ABK_OK);
	ck_assert_int_eq(storage_verify(u, "two", NULL, NULL, NULL, NULL, &err), ABK_OK);
	storage_user_close(u);
}
END_TEST

/* Issue 8 item 7: a snapshot being read is not pruned under the reader. */
START_TEST(test_pinned_snapshot_survives_retention)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	storage_snapshot *reader = NULL;
	struct storage_verdict v[3];
	unsigned removed = 99;
	char p[PATH_MAX];

	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(push(u, "src", tree1, N(tree1), 0, 2, &v[i], NULL, &err), ABK_OK);
	/* A restore of the oldest is running... */
	ck_assert_int_eq(storage_snapshot_open(u, "src", v[0].id, &reader, &err), ABK_OK);
	/* ...while a push's retention (keep 2) and a prune (keep 1) run. */
	ck_assert_int_eq(push(u, "src", tree1, N(tree1), 0, 2, &v[2], NULL, &err), ABK_OK);
	ck_assert_uint_eq(v[2].pruned, 0);
	ck_assert_int_eq(storage_prune(u, "src", KEEP(1), &removed, &err), ABK_OK);
	ck_assert_uint_eq(removed, 1);		/* the middle one, not the pinned */
	ck_assert_int_eq(nsnap(u, "src"), 2);
	spath(p, sizeof(p), "alice", "src", v[0].id, "a/f1");
	ck_assert_str_eq(slurp(p), "hello");
	ck_assert_int_eq(storage_verify(u, "src", v[0].id, NULL, NULL, NULL, &err), ABK_OK);
	/* Done reading: the next prune removes it. */
	storage_snapshot_close(reader);
	ck_assert_int_eq(storage_prune(u, "src", KEEP(1), &removed, &err), ABK_OK);
	ck_assert_uint_eq(removed, 1);
	ck_assert_int_eq(nsnap(u, "src"), 1);
	spath(p, sizeof(p), "alice", "src", v[0].id, "");
	ck_assert(!exists(p));
	storage_user_close(u);
}
END_TEST

static void
age(const char *rel, time_t when)
{
	struct timespec ts[2] = { { when, 0 }, { when, 0 } };
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/users/%s", data, rel);
	ck_assert_msg(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) == 0, "%s", p);
}

START_TEST(test_cleanup_staging)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	storage_push *p = NULL, *held = NULL;
	char path[PATH_MAX];
	time_t old = time(NULL) - 100000;
	unsigned removed = 99;
	int needed[N(rtree)];

	p = begin_list(u, "old", rtree, N(rtree), needed);
	storage_push_free(p);
	p = begin_list(u, "fresh", rtree, N(rtree), needed);
	storage_push_free(p);
	held = begin_list(u, "held", rtree, N(rtree), needed);
	age("alice/old/.staging/journal", old);
	age("alice/old/.staging/tree", old);
	age("alice/old/.staging", old);
	age("alice/held/.staging/journal", old);
	age("alice/held/.staging/tree", old);
	age("alice/held/.staging", old);
	snprintf(path, sizeof(path), "%s/users/alice/fresh/.trash-20200101T000000.000Z", data);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/users/alice/fresh/.trash-20200101T000000.000Z/x", data);
	ck_assert_int_eq(mkdir(path, 0500), 0);

	ck_assert_msg(storage_cleanup_staging(data, 3600, &removed, &err) == ABK_OK, "%s",
	    err.msg);
	ck_assert_uint_eq(removed, 1);
	snprintf(path, sizeof(path), "%s/users/alice/old/.staging", data);
	ck_assert(!exists(path));
	snprintf(path, sizeof(path), "%s/users/alice/fresh/.staging", data);
	ck_assert(exists(path));
	snprintf(path, sizeof(path), "%s/users/alice/fresh/.trash-20200101T000000.000Z", data);
	ck_assert(!exists(path));
	snprintf(path, sizeof(path), "%s/users/alice/held/.staging", data);
	ck_assert(exists(path));
	storage_push_free(held);
	ck_assert_int_eq(storage_cleanup_staging(data, 3600, &removed, &err), ABK_OK);
	ck_assert_uint_eq(removed, 1);
	ck_assert(!exists(path));
	snprintf(path, sizeof(path), "%s/nodata", top);
	ck_assert_int_eq(storage_cleanup_staging(path, 3600, &removed, &err), ABK_E_NOTFOUND);
	storage_user_close(u);
}
END_TEST

START_TEST(test_names)
{
	static const char *const bad[] = {
		"", ".", "..", ".hidden", ".staging", "a/b", "/abs",
	};
	abk_err err = ABK_ERR_INIT;
	storage_user *u = NULL;
	storage_push *p = NULL;
	char longname[300];

	for (size_t i = 0; i < N(bad); i++) {
		ck_assert_msg(storage_check_source_name(bad[i], &err) == ABK_E_PATH, "%s", bad[i]);
		abk_err_clear(&err);
	}
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(storage_check_source_name(longname, &err), ABK_E_PATH);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_check_source_name("My Documents", &err), ABK_OK);
	/* a backslash is an ordinary byte: a folder named so can be a source */
	ck_assert_int_eq(storage_check_source_name("a\\x2db.slice", &err), ABK_OK);
	ck_assert_int_eq(storage_user_open(data, "../evil", &u, &err), ABK_E_PATH);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_user_open(data, ".evil", &u, &err), ABK_E_PATH);
	abk_err_clear(&err);
	ck_assert_ptr_null(u);
	u = user("alice");
	ck_assert_int_eq(storage_push_begin(u, "../x", "/o", 0, &p, &err), ABK_E_PATH);
	abk_err_clear(&err);
	ck_assert_int_eq(storage_push_begin(u, ".staging", "/o", 0, &p, &err), ABK_E_PATH);
	abk_err_clear(&err);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(count_dir(outside), 0);
	storage_user_close(u);
}
END_TEST

/*
 * A commit that fails half-way leaves hard links to the previous snapshot
 * in staging; a later push writing that name must not write through them.
 */
START_TEST(test_staging_links_not_written_through)
{
	static const struct tent t1[] = { F("x", 0644, "old x"), F("y", 0644, "y") };
	static const struct tent t2[] = { F("x", 0644, "old x"), F("z", 0644, "zzzz") };
	static const struct tent t3[] = {
		{ "x", MF_FILE, 0644, 1700000000, "NEW X" }, F("z", 0644, "zzzz"),
	};
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	struct storage_verdict v1, v3;
	storage_push *p;
	char path[PATH_MAX];
	struct stat st;
	int needed[2], fd;

	ck_assert_int_eq(push(u, "src", t1, N(t1), 0, 5, &v1, NULL, &err), ABK_OK);
	p = begin_list(u, "src", t2, N(t2), needed);
	ck_assert(!needed[0] && needed[1]);
	send_needed(p, t2, N(t2), needed);
	storage_push_free(p);
	snprintf(path, sizeof(path), "%s/users/alice/src/.staging/tree/z", data);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "Z", 1, 0), 1);
	close(fd);
	p = begin_list(u, "src", t2, N(t2), needed);
	ck_assert(!needed[0] && !needed[1]);
	ck_assert_int_eq(storage_push_commit(p, 0, KEEP(5), NULL, &err), ABK_E_INTEGRITY);
	abk_err_clear(&err);
	storage_push_free(p);
	snprintf(path, sizeof(path), "%s/users/alice/src/.staging/tree/x", data);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_nlink, 2);	/* the link the failed commit made */

	ck_assert_int_eq(push(u, "src", t3, N(t3), 0, 5, &v3, needed, &err), ABK_OK);
	ck_assert(needed[0] && needed[1]);
	spath(path, sizeof(path), "alice", "src", v1.id, "x");
	ck_assert_str_eq(slurp(path), "old x");
	spath(path, sizeof(path), "alice", "src", v3.id, "x");
	ck_assert_str_eq(slurp(path), "NEW X");
	ck_assert_int_eq(storage_verify(u, "src", v1.id, NULL, NULL, NULL, &err), ABK_OK);
	ck_assert_int_eq(storage_verify(u, "src", v3.id, NULL, NULL, NULL, &err), ABK_OK);
	storage_user_close(u);
}
END_TEST

struct worker {
	pthread_t tid;
	char source[16];
	int rc;
	char msg[ABK_ERR_MSG_MAX];
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	abk_err err = ABK_ERR_INIT;
	storage_user *u = NULL;
	struct storage_verdict v;

	w->rc = storage_user_open(data, "alice", &u, &err);
	for (int i = 0; w->rc == ABK_OK && i < 3; i++)
		w->rc = push(u, w->source, i % 2 ? tree2 : tree1, i % 2 ? N(tree2) : N(tree1), 0,
		    2, &v, NULL, &err);
	snprintf(w->msg, sizeof(w->msg), "%s", err.msg);
	storage_user_close(u);
	return NULL;
}

START_TEST(test_threads)
{
	abk_err err = ABK_ERR_INIT;
	struct worker w[4];
	storage_user *u;
	uint64_t used, walked;

	for (int i = 0; i < 4; i++) {
		snprintf(w[i].source, sizeof(w[i].source), "src%d", i);
		ck_assert_int_eq(pthread_create(&w[i].tid, NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(w[i].tid, NULL), 0);
		ck_assert_msg(w[i].rc == ABK_OK, "%s: %s", w[i].source, w[i].msg);
	}
	u = user("alice");
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(nsnap(u, w[i].source), 2);
		ck_assert_int_eq(storage_verify(u, w[i].source, NULL, NULL, NULL, NULL, &err), ABK_OK);
	}
	ck_assert_int_eq(storage_usage(u, &used, &err), ABK_OK);
	ck_assert_int_eq(storage_usage_recompute(u, &walked, &err), ABK_OK);
	ck_assert_uint_eq(used, walked);
	storage_user_close(u);
}
END_TEST

/*
 * Issue 12 item 4: a push's memory is its file list, not also a record per
 * file written.  The staging journal's in-memory table held every file's
 * record (about 250 bytes each: 250 MB for 1,000,000 files); it holds only
 * what an interrupted push left.  Heap in use after the data of 4,000
 * files must not grow by more than 32 bytes a file (mallinfo2; ASan's
 * allocator reports nothing, where this checks nothing).
 */
static size_t
heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;	/* big blocks are mmap'd: hblkhd */
}

START_TEST(test_journal_memory)
{
	enum { DIRS = 4, PER = 1000 };
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	storage_push *p = NULL;
	struct storage_verdict v;
	static char paths[DIRS * (PER + 1)][16];
	size_t n = 0, before, after;
	int needed;

	ck_assert_int_eq(storage_push_begin(u, "many", "/home/alice/many", 0, &p, &err), ABK_OK);
	for (int d = 0; d < DIRS; d++) {
		struct tent t = D(paths[n], 0755);

		snprintf(paths[n++], sizeof(paths[0]), "d%02d", d);
		struct manifest_entry e = mk(&t);

		ck_assert_msg(storage_push_entry(p, &e, &needed, &err) == ABK_OK, "%s", err.msg);
		for (int f = 0; f < PER; f++) {
			struct tent tf = F(paths[n], 0644, "x");

			snprintf(paths[n++], sizeof(paths[0]), "d%02d/f%04d", d, f);
			e = mk(&tf);
			ck_assert_msg(storage_push_entry(p, &e, &needed, &err) == ABK_OK, "%s",
			    err.msg);
			ck_assert_int_eq(needed, 1);
		}
	}
	ck_assert_msg(storage_push_plan(p, 0, &err) == ABK_OK, "%s", err.msg);
	before = heap_in_use();
	for (size_t i = 0; i < n; i++) {
		if (i % (PER + 1) == 0)
			continue;	/* a folder */
		ck_assert_msg(storage_push_file_write(p, (uint32_t)i, 0, "x", 1, &err) == ABK_OK,
		    "%s", err.msg);
		ck_assert_msg(storage_push_file_done(p, (uint32_t)i, &err) == ABK_OK, "%s", err.msg);
		if (i % 500 == 0)
			ck_assert_int_eq(storage_push_journal_flush(p, &err), ABK_OK);
	}
	ck_assert_int_eq(storage_push_journal_flush(p, &err), ABK_OK);
	after = heap_in_use();
	ck_assert_msg(after <= before + (size_t)DIRS * PER * 32,	/* 255 before the fix */
	    "the push's heap grew by %zu bytes for %d files", after - before, DIRS * PER);
	ck_assert_msg(storage_push_commit(p, 0, KEEP(5), &v, &err) == ABK_OK, "%s", err.msg);
	ck_assert_uint_eq(v.added, n);
	storage_push_free(p);
	storage_user_close(u);
}
END_TEST

/* Push MEM_FILES one-byte files in folders of 1000 to source "many". */
#define MEM_DIRS 4
#define MEM_PER 1000
static void
push_many(storage_user *u)
{
	abk_err err = ABK_ERR_INIT;
	storage_push *p = NULL;
	struct storage_verdict v;
	static char paths[MEM_DIRS * (MEM_PER + 1)][16];
	size_t n = 0;
	int needed;

	ck_assert_int_eq(storage_push_begin(u, "many", "/home/alice/many", 0, &p, &err), ABK_OK);
	for (int d = 0; d < MEM_DIRS; d++) {
		struct tent t = D(paths[n], 0755);

		snprintf(paths[n++], sizeof(paths[0]), "d%02d", d);
		struct manifest_entry e = mk(&t);

		ck_assert_msg(storage_push_entry(p, &e, &needed, &err) == ABK_OK, "%s", err.msg);
		for (int f = 0; f < MEM_PER; f++) {
			struct tent tf = F(paths[n], 0644, "x");

			snprintf(paths[n++], sizeof(paths[0]), "d%02d/f%04d", d, f);
			e = mk(&tf);
			ck_assert_msg(storage_push_entry(p, &e, &needed, &err) == ABK_OK, "%s",
			    err.msg);
		}
	}
	ck_assert_msg(storage_push_plan(p, 0, &err) == ABK_OK, "%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		if (i % (MEM_PER + 1) == 0)
			continue;	/* a folder */
		ck_assert_msg(storage_push_file_write(p, (uint32_t)i, 0, "x", 1, &err) == ABK_OK,
		    "%s", err.msg);
		ck_assert_msg(storage_push_file_done(p, (uint32_t)i, &err) == ABK_OK, "%s", err.msg);
	}
	ck_assert_msg(storage_push_commit(p, 0, KEEP(5), &v, &err) == ABK_OK, "%s", err.msg);
	storage_push_free(p);
}

/*
 * Issue 12 item 4: a snapshot's list is not held decoded.  Opening a
 * snapshot of 4,004 entries (a restore) and beginning a push after it (the
 * previous snapshot's list and its path index) cost a few bytes an entry on
 * the heap: before, the manifest's bytes plus a 128-byte decoded entry each
 * (about 200 and 215 bytes an entry; 1,000,000 files put the server over
 * 256 MiB).
 */
START_TEST(test_snapshot_list_memory)
{
	const size_t entries = MEM_DIRS * (MEM_PER + 1);
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user("alice");
	storage_snapshot *s = NULL;
	storage_push *p = NULL;
	struct collect c;
	size_t before, after;

	push_many(u);
	before = heap_in_use();
	ck_assert_msg(storage_snapshot_open(u, "many", NULL, &s, &err) == ABK_OK, "%s", err.msg);
	after = heap_in_use();
	ck_assert_msg(after <= before + entries * 16,
	    "opening a snapshot took %zu heap bytes for %zu entries", after - before, entries);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(storage_snapshot_foreach(s, "d03/f0999", collect_cb, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, 1);
	ck_assert_str_eq(c.paths[0], "d03/f0999");
	storage_snapshot_close(s);

	before = heap_in_use();
	ck_assert_int_eq(storage_push_begin(u, "many", "/home/alice/many", 0, &p, &err), ABK_OK);
	after = heap_in_use();
	ck_assert_msg(after <= before + entries * 48,
	    "a push after a snapshot took %zu heap bytes for its %zu entries", after - before,
	    entries);
	/* the same list again: the push's own record of each entry */
	before = after;
	for (int d = 0; d < MEM_DIRS; d++) {
		char path[16];
		struct tent t = D(path, 0755);
		struct manifest_entry e;
		int needed;

		snprintf(path, sizeof(path), "d%02d", d);
		e = mk(&t);
		ck_assert_msg(storage_push_entry(p, &e, &needed, &err) == ABK_OK, "%s", err.msg);
		for (int f = 0; f < MEM_PER; f++) {
			struct tent tf = F(path, 0644, "x");

			snprintf(path, sizeof(path), "d%02d/f%04d", d, f);
			e = mk(&tf);
			ck_assert_msg(storage_push_entry(p, &e, &needed, &err) == ABK_OK, "%s",
			    err.msg);
		}
	}
	after = heap_in_use();
	/* 96-byte records, paths and their index; 196 bytes an entry before */
	ck_assert_msg(after <= before + entries * 150,
	    "listing %zu entries took %zu heap bytes", entries, after - before);
	storage_push_free(p);
	storage_user_close(u);
}
END_TEST

static Suite *
storage_suite(void)
{
	Suite *s = suite_create("storage");
	TCase *tc = tcase_create("storage");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_list_names_types);
	tcase_add_test(tc, test_first_push);
	tcase_add_test(tc, test_retention_select);
	tcase_add_test(tc, test_copy_from_previous);
	tcase_add_test(tc, test_manifest_and_open_file);
	tcase_add_test(tc, test_incremental);
	tcase_add_test(tc, test_type_changes);
	tcase_add_test(tc, test_retention);
	tcase_add_test(tc, test_busy);
	tcase_add_test(tc, test_resume);
	tcase_add_test(tc, test_resume_pieces);
	tcase_add_test(tc, test_change_detection);
	tcase_add_test(tc, test_old_manifest_version);
	tcase_add_test(tc, test_resumed_shared_inode);
	tcase_add_test(tc, test_damaged_resent);
	tcase_add_test(tc, test_stale_staging_removed);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_list_errors);
	tcase_add_test(tc, test_depth_limit);
	tcase_add_test(tc, test_quota_and_usage);
	tcase_add_test(tc, test_hostile_staging);
	tcase_add_test(tc, test_hostile_snapshot);
	tcase_add_test(tc, test_verify);
	tcase_add_test(tc, test_checksum_mode);
	tcase_add_test(tc, test_listing);
	tcase_add_test(tc, test_damaged_manifest);
	tcase_add_test(tc, test_prune);
	tcase_add_test(tc, test_pinned_snapshot_survives_retention);
	tcase_add_test(tc, test_cleanup_staging);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_staging_links_not_written_through);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_journal_memory);
	tcase_add_test(tc, test_snapshot_list_memory);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(storage_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
