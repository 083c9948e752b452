/*
 * test_piececache.c - the server's piece cache (server/storage_pieces.c,
 * issue 12 item 2): a push of a changed big file takes its previous
 * version's piece hashes from the cache without reading it; a cache that no
 * longer describes the stored file (changed behind the server's back,
 * damaged, truncated, left by an interrupted push) is not used and the
 * pushed data is still right; a snapshot's cache holds only its own big
 * files and goes with it.
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
#include <zlib.h>

#include "piecehash.h"
#include "proto.h"
#include "storage.h"
#include "transfer.h"

#define KEEP(n) (&(struct retention_policy){ .keep = { [RET_LAST] = (n) } })
#define BIG ((size_t)10 * 1024 * 1024 + 5)	/* three pieces, the last short */
#define PIECE ((size_t)PROTO_PIECE)

static char top[256];
static char data[300];

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void
setup(void)
{
	snprintf(top, sizeof(top), "%s/abk-pc-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(data, sizeof(data), "%s/data", top);
	ck_assert_int_eq(mkdir(data, 0700), 0);
}

static void
teardown(void)
{
	nftw(top, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
}

static storage_user *
user(void)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = NULL;

	ck_assert_msg(storage_user_open(data, "alice", &u, &err) == ABK_OK, "%s", err.msg);
	return u;
}

static uint8_t *
content(unsigned seed)
{
	uint8_t *b = malloc(BIG);

	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < BIG; i++)
		b[i] = (uint8_t)((i * 2654435761u + seed) >> 11);
	return b;
}

/* The client's entry "big" for buf; nsec tells versions apart. */
static struct manifest_entry
big_entry(const uint8_t *buf, uint32_t nsec)
{
	struct manifest_entry e;

	memset(&e, 0, sizeof(e));
	e.path = "big";
	e.path_len = 3;
	e.type = MF_FILE;
	e.mode = 0644;
	e.mtime = 1600000100;
	e.mtime_nsec = nsec;
	e.ctime = 1600000100;
	e.inode = 7;
	e.flags = MF_HAS_STAT | MF_HAS_CRC;
	e.size = BIG;
	e.crc32 = (uint32_t)crc32(0, buf, (uInt)BIG);
	return e;
}

struct bp {
	struct storage_push_counts c;
	uint32_t offered, reused;
	char id[STORAGE_ID_LEN + 1];
};

/* A push of "big" = buf, reusing each piece whose offered hash is its own,
 * as the session does (session_push.c); published with retention keep. */
static void
big_push(storage_user *u, const char *src, const uint8_t *buf, uint32_t nsec, unsigned keep,
    int abort_after_data, struct bp *r)
{
	abk_err err = ABK_ERR_INIT;
	struct manifest_entry e = big_entry(buf, nsec);
	struct storage_verdict v;
	storage_push *p = NULL;
	uint8_t (*h)[ABK_PIECE_HASH_LEN] = malloc(16 * sizeof(*h));
	uint32_t crc[16], n = 0;
	uint64_t prev_size = 0;
	int needed = 0, fd = -1;

	memset(r, 0, sizeof(*r));
	ck_assert_ptr_nonnull(h);
	ck_assert_msg(storage_push_begin(u, src, "/o", 0, &p, &err) == ABK_OK, "%s", err.msg);
	ck_assert_msg(storage_push_entry(p, &e, &needed, &err) == ABK_OK, "%s", err.msg);
	ck_assert_int_eq(storage_push_plan(p, 0, &err), ABK_OK);
	if (needed) {
		ck_assert_int_eq(storage_push_prev_pieces(p, 0, h, crc, 16, 1, &n, &prev_size, &err),
		    ABK_OK);
		r->offered = n;
		if (n > 0)
			ck_assert_int_eq(storage_push_open_previous(p, 0, &fd, &prev_size, &err), ABK_OK);
		for (size_t off = 0, k = 0; off < BIG; off += PIECE, k++) {
			size_t len = BIG - off > PIECE ? PIECE : BIG - off;
			uint8_t mine[ABK_PIECE_HASH_LEN];

			abk_piecehash_once(buf + off, len, mine);
			if (k < n && prev_size - off >= len &&
			    (prev_size - off > PIECE ? PIECE : prev_size - off) == len &&
			    memcmp(mine, h[k], sizeof(mine)) == 0) {
				ck_assert_msg(storage_push_file_copy(p, 0, off, fd, off, len, &crc[k],
				    h[k], &err) == ABK_OK, "%s", err.msg);
				r->reused++;
			} else
				ck_assert_msg(storage_push_file_write(p, 0, off, buf + off, len, &err) ==
				    ABK_OK, "%s", err.msg);
		}
		if (fd >= 0)
			close(fd);
		ck_assert_msg(storage_push_file_done(p, 0, &err) == ABK_OK, "%s", err.msg);
	}
	storage_push_get_counts(p, &r->c);
	if (!abort_after_data) {
		ck_assert_msg(storage_push_commit(p, 0, KEEP(keep), &v, &err) == ABK_OK, "%s",
		    err.msg);
		memcpy(r->id, v.id, sizeof(r->id));
	}
	storage_push_free(p);
	free(h);
}

static void
snap_path(char *out, size_t sz, const char *src, const char *id, const char *rel)
{
	snprintf(out, sz, "%s/users/alice/%s/%s/%s", data, src, id, rel);
}

/* The published "big" of snapshot id is buf, byte for byte. */
static void
same_content(const char *src, const char *id, const uint8_t *buf)
{
	char path[600];
	uint8_t *got = malloc(BIG + 1);
	int fd;

	snap_path(path, sizeof(path), src, id, "tree/big");
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(read(fd, got, BIG + 1), (ssize_t)BIG);
	ck_assert_msg(memcmp(got, buf, BIG) == 0, "snapshot %s: big differs", id);
	close(fd);
	free(got);
}

/* What the latest snapshot's cache offers for "big" is the stored file's
 * truth (read and hashed here); returns whether it came from the cache. */
static int
offered_is_truth(storage_user *u, const char *src)
{
	abk_err err = ABK_ERR_INIT;
	uint8_t *buf = content(0);
	struct manifest_entry e = big_entry(buf, 999999);
	struct storage_push_counts c;
	storage_push *p = NULL;
	uint8_t (*h)[ABK_PIECE_HASH_LEN] = malloc(16 * sizeof(*h));
	uint8_t (*t)[ABK_PIECE_HASH_LEN] = malloc(16 * sizeof(*t));
	uint32_t crc[16], tcrc[16], n = 0;
	uint64_t size = 0;
	int needed = 0, fd = -1;

	ck_assert_msg(storage_push_begin(u, src, "/o", 0, &p, &err) == ABK_OK, "%s", err.msg);
	ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
	ck_assert_int_eq(storage_push_plan(p, 0, &err), ABK_OK);
	ck_assert_int_eq(needed, 1);
	ck_assert_int_eq(storage_push_prev_pieces(p, 0, h, crc, 16, 1, &n, &size, &err), ABK_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(storage_push_open_previous(p, 0, &fd, &size, &err), ABK_OK);
	ck_assert_int_eq(transfer_piece_hashes(fd, size, t, tcrc, 1, &err), ABK_OK);
	close(fd);
	ck_assert(memcmp(h, t, 3 * sizeof(*h)) == 0);
	ck_assert(memcmp(crc, tcrc, 3 * sizeof(*crc)) == 0);
	storage_push_get_counts(p, &c);
	storage_push_free(p);
	free(h);
	free(t);
	free(buf);
	return c.pieces_cached == 1;
}

/* 1 MiB overwritten in place in piece k (as a database or an image changes) */
static void
change_piece(uint8_t *buf, size_t k, unsigned seed)
{
	for (size_t i = 0; i < (1u << 20); i++)
		buf[k * PIECE + 4096 + i] ^= (uint8_t)(seed + i % 251 + 1);
}

START_TEST(test_cache_hit)
{
	storage_user *u = user();
	uint8_t *buf = content(0);
	struct bp r;

	big_push(u, "s", buf, 1, 10, 0, &r);
	ck_assert_uint_eq(r.offered, 0);	/* first push: nothing to reuse */
	change_piece(buf, 1, 1);
	big_push(u, "s", buf, 2, 10, 0, &r);
	/* the hashes came from the cache: nothing of the previous version read */
	ck_assert_uint_eq(r.c.pieces_cached, 1);
	ck_assert_uint_eq(r.c.pieces_hashed, 0);
	ck_assert_uint_eq(r.c.pieces_hashed_bytes, 0);
	ck_assert_uint_eq(r.offered, 3);
	ck_assert_uint_eq(r.reused, 2);
	same_content("s", r.id, buf);
	/* the new version's record: new pieces hashed as they were written,
	 * reused ones with the hash they were offered with */
	change_piece(buf, 0, 2);
	big_push(u, "s", buf, 3, 10, 0, &r);
	ck_assert_uint_eq(r.c.pieces_cached, 1);
	ck_assert_uint_eq(r.c.pieces_hashed, 0);
	ck_assert_uint_eq(r.reused, 2);
	same_content("s", r.id, buf);
	ck_assert(offered_is_truth(u, "s"));
	free(buf);
	storage_user_close(u);
}
END_TEST

/* The stored previous version changed behind the server's back (same size
 * and mtime, new ctime): the cache is not believed, the file is read. */
START_TEST(test_cache_stale_file)
{
	storage_user *u = user();
	uint8_t *buf = content(0);
	struct timespec ts[2];
	struct stat st;
	char path[600];
	struct bp r;
	int fd;

	big_push(u, "s", buf, 1, 10, 0, &r);
	snap_path(path, sizeof(path), "s", r.id, "tree/big");
	ck_assert_int_eq(stat(path, &st), 0);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "#", 1, 2 * PIECE + 17), 1);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	ck_assert_int_eq(futimens(fd, ts), 0);
	close(fd);
	change_piece(buf, 0, 3);
	big_push(u, "s", buf, 2, 10, 0, &r);
	ck_assert_uint_eq(r.c.pieces_cached, 0);
	ck_assert_uint_eq(r.c.pieces_hashed, 1);
	ck_assert_uint_eq(r.c.pieces_hashed_bytes, BIG);
	/* piece 2 differs from the damaged copy: sent, not copied from it */
	ck_assert_uint_eq(r.reused, 1);
	same_content("s", r.id, buf);
	ck_assert(offered_is_truth(u, "s"));
	free(buf);
	storage_user_close(u);
}
END_TEST

/* A damaged or truncated cache file is not used; the data is still right. */
START_TEST(test_cache_damaged)
{
	storage_user *u = user();
	uint8_t *buf = content(0);
	char path[600];
	struct stat st;
	struct bp r;
	int fd;

	big_push(u, "s", buf, 1, 10, 0, &r);
	snap_path(path, sizeof(path), "s", r.id, "pieces");
	ck_assert_int_eq(stat(path, &st), 0);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	/* one bit of the last piece's CRC-32 */
	{
		uint8_t b;

		ck_assert_int_eq(pread(fd, &b, 1, st.st_size - 6), 1);
		b ^= 0x10;
		ck_assert_int_eq(pwrite(fd, &b, 1, st.st_size - 6), 1);
	}
	close(fd);
	change_piece(buf, 1, 4);
	big_push(u, "s", buf, 2, 10, 0, &r);
	ck_assert_uint_eq(r.c.pieces_cached, 0);
	ck_assert_uint_eq(r.c.pieces_hashed, 1);
	ck_assert_uint_eq(r.reused, 2);
	same_content("s", r.id, buf);

	snap_path(path, sizeof(path), "s", r.id, "pieces");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(truncate(path, st.st_size - 7), 0);
	change_piece(buf, 2, 5);
	big_push(u, "s", buf, 3, 10, 0, &r);
	ck_assert_uint_eq(r.c.pieces_cached, 0);
	ck_assert_uint_eq(r.c.pieces_hashed, 1);
	same_content("s", r.id, buf);
	ck_assert(offered_is_truth(u, "s"));
	free(buf);
	storage_user_close(u);
}
END_TEST

/* An unchanged big file is hard-linked into the new snapshot and keeps its
 * record (its ctime read again after the link). */
START_TEST(test_cache_linked)
{
	storage_user *u = user();
	uint8_t *buf = content(0);
	struct bp r;

	big_push(u, "s", buf, 1, 10, 0, &r);
	big_push(u, "s", buf, 1, 10, 0, &r);	/* unchanged: linked */
	ck_assert_uint_eq(r.offered, 0);
	ck_assert(offered_is_truth(u, "s"));
	change_piece(buf, 1, 6);
	big_push(u, "s", buf, 2, 10, 0, &r);
	ck_assert_uint_eq(r.c.pieces_cached, 1);
	ck_assert_uint_eq(r.reused, 2);
	same_content("s", r.id, buf);
	free(buf);
	storage_user_close(u);
}
END_TEST

/* Pruning: a snapshot's cache holds its own big files only and goes with
 * it; a removed snapshot unlinks (new ctime): read once, still right. */
START_TEST(test_cache_pruned)
{
	abk_err err = ABK_ERR_INIT;
	storage_user *u = user();
	uint8_t *buf = content(0);
	char path[600], first[STORAGE_ID_LEN + 1];
	struct stat st;
	struct bp r;

	big_push(u, "s", buf, 1, 1, 0, &r);
	memcpy(first, r.id, sizeof(first));
	snap_path(path, sizeof(path), "s", first, "pieces");
	ck_assert_int_eq(stat(path, &st), 0);
	/* header + one record: length, "big", key, count, 3 pieces, CRC */
	ck_assert_int_eq(st.st_size, 8 + 4 + (4 + 3 + 8 + 8 + 8 + 4 + 8 + 4 + 4) + 3 * 20 + 4);
	big_push(u, "s", buf, 1, 1, 0, &r);	/* linked, then the first one pruned */
	snap_path(path, sizeof(path), "s", first, "");
	ck_assert_int_ne(stat(path, &st), 0);	/* gone, its cache with it */
	change_piece(buf, 0, 7);
	big_push(u, "s", buf, 2, 1, 0, &r);
	ck_assert_uint_eq(r.c.pieces_cached + r.c.pieces_hashed, 1);
	same_content("s", r.id, buf);
	/* a source without big files any more: no cache at all */
	{
		struct manifest_entry e;
		struct storage_verdict v;
		storage_push *p = NULL;
		int needed = 0;

		memset(&e, 0, sizeof(e));
		e.path = "small";
		e.path_len = 5;
		e.type = MF_DIR;
		e.mode = 0755;
		ck_assert_int_eq(storage_push_begin(u, "s", "/o", 0, &p, &err), ABK_OK);
		ck_assert_int_eq(storage_push_entry(p, &e, &needed, &err), ABK_OK);
		ck_assert_int_eq(storage_push_plan(p, 0, &err), ABK_OK);
		ck_assert_msg(storage_push_commit(p, 0, KEEP(1), &v, &err) == ABK_OK, "%s", err.msg);
		storage_push_free(p);
		snap_path(path, sizeof(path), "s", v.id, "pieces");
		ck_assert_int_ne(stat(path, &st), 0);
		snap_path(path, sizeof(path), "s", r.id, "");
		ck_assert_int_ne(stat(path, &st), 0);
	}
	free(buf);
	storage_user_close(u);
}
END_TEST

/* A push stopped after a big file was complete leaves its record in
 * staging; the next push writes that file again (the client's changed
 * meanwhile): the old record does not describe it any more and is not
 * published. */
START_TEST(test_cache_interrupted)
{
	storage_user *u = user();
	uint8_t *buf = content(0);
	struct bp r;

	big_push(u, "s", buf, 1, 10, 0, &r);
	change_piece(buf, 1, 8);
	big_push(u, "s", buf, 2, 10, 1, &r);	/* complete in staging, not published */
	change_piece(buf, 2, 9);
	big_push(u, "s", buf, 3, 10, 0, &r);
	same_content("s", r.id, buf);
	ck_assert(offered_is_truth(u, "s"));
	/* the same client file again after a stop: resumed from staging (read
	 * once at commit, which also makes its record) */
	change_piece(buf, 0, 10);
	big_push(u, "s", buf, 4, 10, 1, &r);
	big_push(u, "s", buf, 4, 10, 0, &r);
	ck_assert_uint_eq(r.offered, 0);	/* not needed: complete in staging */
	same_content("s", r.id, buf);
	ck_assert(offered_is_truth(u, "s"));
	free(buf);
	storage_user_close(u);
}
END_TEST

static Suite *
piececache_suite(void)
{
	Suite *s = suite_create("piececache");
	TCase *tc = tcase_create("piececache");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_cache_hit);
	tcase_add_test(tc, test_cache_stale_file);
	tcase_add_test(tc, test_cache_damaged);
	tcase_add_test(tc, test_cache_linked);
	tcase_add_test(tc, test_cache_pruned);
	tcase_add_test(tc, test_cache_interrupted);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(piececache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
