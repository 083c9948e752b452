/*
 * test_restore.c - restoring from a hostile server (doc/ARCHITECTURE.md
 * invariant 1, client side): a fake server on a socketpair sends file lists
 * and zip data crafted to escape the target folder; nothing may be written
 * outside it.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "client_int.h"
#include "crypto.h"
#include "engine.h"
#include "fdio.h"
#include "fsops.h"
#include "manifest.h"
#include "transfer.h"
#include "zipio.h"


/* What the fake server sends: a list and, for each data file, its bytes. */
struct fake_entry {
	const char *path;
	uint8_t type;
	const char *target;	/* symlink */
	const char *data;	/* file content */
	const char *zip_name;	/* name in the zip (default: path) */
	int crc;		/* 0: none in the list, 1: the right CRC-32, 2: a wrong one */
	int no_data;		/* listed with its size, but no data sent */
};

struct fake_server {
	int fd;
	int reuse;		/* mark the pieces as "copy from your previous version" */
	const struct fake_entry *ents;
	size_t n;
};

static void
send_frame(struct proto_io *io, uint8_t type, abk_buf *b)
{
	abk_err err = ABK_ERR_INIT;

	(void)proto_send(io, type, b->data, b->len, &err);
	abk_buf_reset(b);
}

/* What RESTORE_BEGIN says, and the client's options (reset by setup). */
static const char *fake_origin;
static uint8_t fake_single;
static const char *opt_to;		/* NULL: no --to */
static const char *opt_origin;		/* the client's record */

static void *
fake_server_run(void *arg)
{
	struct fake_server *fs = arg;
	struct proto_io io = { &fs->fd, fd_read_full, fd_write_all };
	abk_buf in, b;
	abk_err err = ABK_ERR_INIT;
	abk_digest_ctx total;
	uint8_t type, digest[ABK_DIGEST_LEN];
	zipio_writer *zw = NULL;
	const uint8_t *zdata;
	size_t zlen;
	struct transfer_unit units[16];
	uint32_t nunits = 0;

	abk_buf_init(&in, PROTO_FRAME_MAX);
	abk_buf_init(&b, PROTO_FRAME_MAX);
	if (proto_recv(&io, &type, &in, &err) != ABK_OK || type != PT_RESTORE)
		goto out;
	abk_put_cstr(&b, "20260101T000000.000Z");
	abk_put_cstr(&b, fake_origin);
	abk_put_u8(&b, fake_single);
	abk_put_u64(&b, fs->n);
	abk_put_u64(&b, 0);
	send_frame(&io, PT_RESTORE_BEGIN, &b);
	abk_put_u8(&b, 1);
	abk_put_u32(&b, (uint32_t)fs->n);
	for (size_t i = 0; i < fs->n; i++) {
		struct manifest_entry e;

		memset(&e, 0, sizeof(e));
		e.path = fs->ents[i].path;
		e.path_len = strlen(e.path);
		e.type = fs->ents[i].type;
		e.mode = 0644;
		if (e.type == MF_SYMLINK) {
			e.target = fs->ents[i].target;
			e.target_len = strlen(e.target);
			e.size = e.target_len;
		} else if (e.type == MF_FILE) {
			e.size = strlen(fs->ents[i].data);
			if (fs->ents[i].crc) {
				e.flags |= MF_HAS_CRC;
				e.crc32 = (uint32_t)crc32(0L, (const Bytef *)fs->ents[i].data,
				    (uInt)e.size);
				if (fs->ents[i].crc == 2)
					e.crc32 ^= 0x1;
			}
		}
		manifest_entry_encode(&b, &e);
	}
	send_frame(&io, PT_RESTORE_ENTRIES, &b);

	abk_digest_init(&total);
	zipio_writer_new(&zw, &err);
	for (size_t i = 0; i < fs->n && nunits < 16; i++) {
		const struct fake_entry *fe = &fs->ents[i];

		if (fe->type != MF_FILE || fe->data[0] == '\0' || fe->no_data)
			continue;
		zipio_add_buffer(zw, fe->zip_name ? fe->zip_name : fe->path, fe->data,
		    strlen(fe->data), 0644, 0, 0, NULL, &err);
		units[nunits].index = (uint32_t)i;
		units[nunits].offset = 0;
		units[nunits].len = strlen(fe->data);
		units[nunits].flags = fs->reuse ? TRANSFER_REUSE : 0;
		nunits++;
	}
	if (nunits > 0) {
		msg_zip_begin_put(&b, units, nunits);
		send_frame(&io, PT_ZIP_BEGIN, &b);
		zipio_writer_finish(zw, &zdata, &zlen, &err);
		abk_put_bytes(&b, zdata, zlen);
		send_frame(&io, PT_ZIP_DATA, &b);
		transfer_batch_digest(zdata, zlen, digest, &err);
		abk_digest_update(&total, digest, sizeof(digest));
		abk_put_u64(&b, zlen);
		abk_put_bytes(&b, digest, sizeof(digest));
		send_frame(&io, PT_ZIP_END, &b);
	}
	abk_buf_reset(&b);
	abk_digest_final(&total, digest);
	abk_put_bytes(&b, digest, sizeof(digest));
	send_frame(&io, PT_RESTORE_END, &b);
out:
	zipio_writer_free(zw);
	abk_buf_free(&in);
	abk_buf_free(&b);
	return NULL;
}

static char base[256], target[300], outside[300];

static void
setup(void)
{
	char cmd[400];

	snprintf(base, sizeof(base), "/tmp/abk_restore_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(target, sizeof(target), "%s/target", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	ck_assert_int_eq(mkdir(target, 0700), 0);
	ck_assert_int_eq(mkdir(outside, 0700), 0);
	fake_origin = "/nonexistent/origin";
	fake_single = 0;
	opt_to = target;
	opt_origin = NULL;
	(void)cmd;
}

static void
teardown(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	ck_assert_int_eq(system(cmd), 0);
}

/* Run abk_restore into target against a fake server sending ents. */
static int
restore_from_opt(const struct fake_entry *ents, size_t n, int reuse, abk_err *err);

static int
restore_from(const struct fake_entry *ents, size_t n, abk_err *err)
{
	return restore_from_opt(ents, n, 0, err);
}

static int
restore_from_opt(const struct fake_entry *ents, size_t n, int reuse, abk_err *err)
{
	struct fake_server fs;
	struct abk_restore_opts ro;
	struct abk_restore_result res;
	abk_client c;
	pthread_t tid;
	int sv[2], rc;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(&c, 0, sizeof(c));
	c.io.ctx = &sv[0];
	c.io.read_full = fd_read_full;
	c.io.write_all = fd_write_all;
	abk_buf_init(&c.in, PROTO_FRAME_MAX);
	abk_buf_init(&c.out, PROTO_FRAME_MAX);
	fs.fd = sv[1];
	fs.reuse = reuse;
	fs.ents = ents;
	fs.n = n;
	ck_assert_int_eq(pthread_create(&tid, NULL, fake_server_run, &fs), 0);
	memset(&ro, 0, sizeof(ro));
	ro.source = "src";
	ro.to = opt_to;
	ro.origin = opt_origin;
	rc = abk_restore(&c, &ro, &res, err);
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(tid, NULL);
	close(sv[0]);
	close(sv[1]);
	abk_buf_free(&c.in);
	abk_buf_free(&c.out);
	return rc;
}

static int
dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n == 0;
}

START_TEST(test_honest_server)
{
	const struct fake_entry ents[] = {
		{ "dir", MF_DIR, NULL, NULL, NULL, 0, 0 },
		{ "dir/file", MF_FILE, NULL, "hello", NULL, 0, 0 },
		{ "link", MF_SYMLINK, "dir/file", NULL, NULL, 0, 0 },
	};
	abk_err err = ABK_ERR_INIT;
	char path[400], buf[16] = "";
	FILE *f;

	ck_assert_int_eq(restore_from(ents, 3, &err), ABK_OK);
	snprintf(path, sizeof(path), "%s/link", target);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "hello");
}
END_TEST

START_TEST(test_symlink_then_file_through_it)
{
	char out_target[320];
	struct fake_entry ents[] = {
		{ "a", MF_SYMLINK, NULL, NULL, NULL, 0, 0 },
		{ "a/x", MF_FILE, NULL, "evil", NULL, 0, 0 },
	};
	abk_err err = ABK_ERR_INIT;

	snprintf(out_target, sizeof(out_target), "%s", outside);
	ents[0].target = out_target;
	(void)restore_from(ents, 2, &err);
	ck_assert_msg(dir_is_empty(outside), "a file was written through a symlink");
}
END_TEST

START_TEST(test_dotdot_in_list)
{
	const struct fake_entry ents[] = {
		{ "../outside/x", MF_FILE, NULL, "evil", NULL, 0, 0 },
	};
	abk_err err = ABK_ERR_INIT;

	ck_assert_int_eq(restore_from(ents, 1, &err), ABK_E_PATH);
	ck_assert(dir_is_empty(outside));
}
END_TEST

START_TEST(test_absolute_in_list)
{
	char abs[320];
	struct fake_entry ents[] = { { NULL, MF_FILE, NULL, "evil", NULL, 0, 0 } };
	abk_err err = ABK_ERR_INIT;

	snprintf(abs, sizeof(abs), "%s/x", outside);
	ents[0].path = abs;
	ck_assert_int_eq(restore_from(ents, 1, &err), ABK_E_PATH);
	ck_assert(dir_is_empty(outside));
}
END_TEST

START_TEST(test_zip_name_differs)
{
	const struct fake_entry ents[] = {
		{ "x", MF_FILE, NULL, "evil", "../outside/x", 0, 0 },
	};
	abk_err err = ABK_ERR_INIT;

	ck_assert_int_eq(restore_from(ents, 1, &err), ABK_E_PATH);
	ck_assert(dir_is_empty(outside));
	/* the half-received file is not left behind under a temporary name */
	ck_assert(dir_is_empty(target));
}
END_TEST

START_TEST(test_reuse_refused)
{
	const struct fake_entry ents[] = {
		{ "x", MF_FILE, NULL, "data", NULL, 0, 0 },
	};
	abk_err err = ABK_ERR_INIT;

	/* a server may not tell the client to copy data from anywhere */
	ck_assert_int_eq(restore_from_opt(ents, 1, 1, &err), ABK_E_PROTO);
	ck_assert(dir_is_empty(target));
}
END_TEST

/* Issue 8, item 4: damage is never restored silently. */
START_TEST(test_crc_checked)
{
	const struct fake_entry ents[] = {
		{ "good", MF_FILE, NULL, "fine", NULL, 1, 0 },
		{ "bad", MF_FILE, NULL, "damaged", NULL, 2, 0 },
		{ "plain", MF_FILE, NULL, "no crc", NULL, 0, 0 },
	};
	abk_err err = ABK_ERR_INIT;
	char path[400];

	/* a good copy of "bad" at the target stays as it was */
	snprintf(path, sizeof(path), "%s/bad", target);
	{
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fputs("good copy", f);
		fclose(f);
	}
	ck_assert_int_eq(restore_from(ents, 3, &err), ABK_E_INTEGRITY);
	{
		char buf[32] = "";
		FILE *f = fopen(path, "r");

		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
		fclose(f);
		ck_assert_str_eq(buf, "good copy");
	}
	snprintf(path, sizeof(path), "%s/good", target);
	ck_assert_int_eq(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/plain", target);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_missing_data)
{
	const struct fake_entry ents[] = {
		{ "a", MF_FILE, NULL, "sent", NULL, 1, 0 },
		{ "b", MF_FILE, NULL, "never sent", NULL, 1, 1 },
	};
	abk_err err = ABK_ERR_INIT;
	char path[400];

	ck_assert_int_eq(restore_from(ents, 2, &err), ABK_E_INTEGRITY);
	snprintf(path, sizeof(path), "%s/b", target);
	ck_assert_int_ne(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/a", target);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

/* An entry that cannot be created (deeper than the client goes) is exit 5. */
START_TEST(test_entry_not_created)
{
	enum { DEPTH = 130 };
	static char paths[DEPTH + 1][2 * DEPTH + 8];
	struct fake_entry ents[DEPTH + 2];
	abk_err err = ABK_ERR_INIT;
	char path[400];

	memset(ents, 0, sizeof(ents));
	for (int i = 0; i < DEPTH; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s%sd", i ? paths[i - 1] : "", i ? "/" : "");
		ents[i].path = paths[i];
		ents[i].type = MF_DIR;
	}
	ents[DEPTH].path = "top";
	ents[DEPTH].type = MF_FILE;
	ents[DEPTH].data = "x";
	ents[DEPTH].crc = 1;
	ck_assert_int_eq(restore_from(ents, DEPTH + 1, &err), ABK_E_PARTIAL);
	snprintf(path, sizeof(path), "%s/top", target);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

/* Mode bits of path (the outside folder must keep its 0700). */
static unsigned
mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(lstat(path, &st), 0);
	return (unsigned)(st.st_mode & 07777);
}

/* Issue 8, item 5: "x" as a folder, then as a symlink to a folder outside. */
START_TEST(test_dir_then_symlink)
{
	struct fake_entry ents[] = {
		{ "x", MF_DIR, NULL, NULL, NULL, 0, 0 },
		{ "x", MF_SYMLINK, NULL, NULL, NULL, 0, 0 },
	};
	abk_err err = ABK_ERR_INIT;

	ents[1].target = outside;
	ck_assert_int_eq(restore_from(ents, 2, &err), ABK_E_PROTO);
	ck_assert_ptr_nonnull(strstr(err.msg, "twice"));
	ck_assert_uint_eq(mode_of(outside), 0700);
	ck_assert(dir_is_empty(target));	/* refused before touching the disk */
}
END_TEST

START_TEST(test_file_twice)
{
	const struct fake_entry ents[] = {
		{ "f", MF_FILE, NULL, "one", NULL, 0, 0 },
		{ "f", MF_FILE, NULL, "two", NULL, 0, 0 },
	};
	abk_err err = ABK_ERR_INIT;

	ck_assert_int_eq(restore_from(ents, 2, &err), ABK_E_PROTO);
	ck_assert(dir_is_empty(target));
}
END_TEST

START_TEST(test_parent_missing_or_file)
{
	const struct fake_entry missing[] = {
		{ "a/b", MF_FILE, NULL, "x", NULL, 0, 0 },
	};
	const struct fake_entry file[] = {
		{ "a", MF_FILE, NULL, "x", NULL, 0, 0 },
		{ "a/b", MF_FILE, NULL, "y", NULL, 0, 0 },
	};
	abk_err err = ABK_ERR_INIT;

	ck_assert_int_eq(restore_from(missing, 1, &err), ABK_E_PROTO);
	ck_assert(dir_is_empty(target));
	abk_err_clear(&err);
	ck_assert_int_eq(restore_from(file, 2, &err), ABK_E_PROTO);
	ck_assert(dir_is_empty(target));
}
END_TEST

/* The server's origin never decides where a restore writes. */
START_TEST(test_origin_not_trusted)
{
	const struct fake_entry ents[] = {
		{ "f", MF_FILE, NULL, "data", NULL, 0, 0 },
	};
	abk_err err = ABK_ERR_INIT;
	char path[400];

	fake_origin = outside;
	opt_to = NULL;
	/* no record: refused, nothing written where the server said */
	ck_assert_int_eq(restore_from(ents, 1, &err), ABK_E_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, outside));
	ck_assert_ptr_nonnull(strstr(err.msg, "--to"));
	ck_assert(dir_is_empty(outside));
	/* a record: it wins */
	abk_err_clear(&err);
	opt_origin = target;
	ck_assert_int_eq(restore_from(ents, 1, &err), ABK_OK);
	ck_assert(dir_is_empty(outside));
	snprintf(path, sizeof(path), "%s/f", target);
	ck_assert_int_eq(access(path, F_OK), 0);
	/* an origin that is not normalised is a protocol error, even with --to */
	abk_err_clear(&err);
	fake_origin = "/tmp/../etc";
	opt_to = target;
	ck_assert_int_eq(restore_from(ents, 1, &err), ABK_E_PROTO);
}
END_TEST

/* A "single file" that is a folder, or not the file that was pushed. */
START_TEST(test_single_file_checked)
{
	const struct fake_entry other[] = {
		{ "other", MF_FILE, NULL, "data", NULL, 0, 0 },
	};
	const struct fake_entry dir[] = {
		{ "d", MF_DIR, NULL, NULL, NULL, 0, 0 },
		{ "d/f", MF_FILE, NULL, "data", NULL, 0, 0 },
	};
	char rec[400];
	abk_err err = ABK_ERR_INIT;

	fake_single = 1;
	opt_to = NULL;
	snprintf(rec, sizeof(rec), "%s/notes.txt", target);
	opt_origin = rec;
	ck_assert_int_eq(restore_from(other, 1, &err), ABK_E_PROTO);
	abk_err_clear(&err);
	ck_assert_int_eq(restore_from(dir, 2, &err), ABK_E_PROTO);
	ck_assert(dir_is_empty(target));
}
END_TEST

/* --delete removes a hand-made folder it may not enter, never through a link. */
START_TEST(test_remove_locked_dir)
{
	char path[400];
	abk_err err = ABK_ERR_INIT;
	int fd = open(target, O_RDONLY | O_DIRECTORY);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	snprintf(path, sizeof(path), "%s/locked", target);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/locked/f", target);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/locked", target);
	ck_assert_int_eq(chmod(path, 0), 0);
	snprintf(path, sizeof(path), "%s/link", target);
	ck_assert_int_eq(symlink(outside, path), 0);
	ck_assert_int_eq(chmod(outside, 0500), 0);
	ck_assert_int_eq(fsops_remove(fd, "locked", NULL, &err), ABK_OK);
	ck_assert_int_eq(fsops_remove(fd, "link", NULL, &err), ABK_OK);
	close(fd);
	ck_assert(dir_is_empty(target));
	ck_assert_uint_eq(mode_of(outside), 0500);
	ck_assert_int_eq(chmod(outside, 0700), 0);
}
END_TEST

static Suite *
restore_suite(void)
{
	Suite *s = suite_create("restore");
	TCase *tc = tcase_create("hostile server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_honest_server);
	tcase_add_test(tc, test_symlink_then_file_through_it);
	tcase_add_test(tc, test_dotdot_in_list);
	tcase_add_test(tc, test_absolute_in_list);
	tcase_add_test(tc, test_zip_name_differs);
	tcase_add_test(tc, test_reuse_refused);
	tcase_add_test(tc, test_crc_checked);
	tcase_add_test(tc, test_missing_data);
	tcase_add_test(tc, test_entry_not_created);
	tcase_add_test(tc, test_dir_then_symlink);
	tcase_add_test(tc, test_file_twice);
	tcase_add_test(tc, test_parent_missing_or_file);
	tcase_add_test(tc, test_origin_not_trusted);
	tcase_add_test(tc, test_single_file_checked);
	tcase_add_test(tc, test_remove_locked_dir);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(restore_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);	/* the fake server may write after a refusal */
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
