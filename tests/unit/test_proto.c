/*
 * test_proto.c - frames and the shared entry encoding: round trips, and the
 * hostile cases (truncated, oversized, unknown type, bad entries).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <zlib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "batchrecv.h"
#include "buf.h"
#include "manifest.h"
#include "crypto.h"
#include "exitcodes.h"
#include "proto.h"
#include "proto_msg.h"
#include "transfer.h"
#include "zipio.h"
#include "fdio.h"


static int sv[2];
static struct proto_io io_a, io_b;

static void
setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	io_a = (struct proto_io){ &sv[0], fd_read_full, fd_write_all };
	io_b = (struct proto_io){ &sv[1], fd_read_full, fd_write_all };
}

static void
teardown(void)
{
	close(sv[0]);
	close(sv[1]);
}

START_TEST(test_frame_round_trip)
{
	abk_buf in;
	abk_err err = ABK_ERR_INIT;
	uint8_t type = 0;
	const char payload[] = "hello frame";

	abk_buf_init(&in, PROTO_FRAME_MAX);
	ck_assert_int_eq(proto_send(&io_a, PT_LIST_SOURCES, payload, sizeof(payload), &err), ABK_OK);
	ck_assert_int_eq(proto_send(&io_a, PT_BYE, NULL, 0, &err), ABK_OK);
	ck_assert_int_eq(proto_recv(&io_b, &type, &in, &err), ABK_OK);
	ck_assert_int_eq(type, PT_LIST_SOURCES);
	ck_assert_uint_eq(in.len, sizeof(payload));
	ck_assert_mem_eq(in.data, payload, sizeof(payload));
	ck_assert_int_eq(proto_recv(&io_b, &type, &in, &err), ABK_OK);
	ck_assert_int_eq(type, PT_BYE);
	ck_assert_uint_eq(in.len, 0);
	abk_buf_free(&in);
}
END_TEST

START_TEST(test_large_frame)
{
	abk_buf in;
	abk_err err = ABK_ERR_INIT;
	uint8_t type = 0;
	size_t n = PROTO_FRAME_MAX;
	unsigned char *big = malloc(n);
	pid_t pid;

	memset(big, 0xab, n);
	abk_buf_init(&in, PROTO_FRAME_MAX);
	pid = fork();
	if (pid == 0) {
		abk_err e2 = ABK_ERR_INIT;

		_exit(proto_send(&io_a, PT_ZIP_DATA, big, n, &e2) == ABK_OK ? 0 : 1);
	}
	ck_assert_int_eq(proto_recv(&io_b, &type, &in, &err), ABK_OK);
	ck_assert_uint_eq(in.len, n);
	ck_assert_int_eq(in.data[n - 1], 0xab);
	abk_buf_free(&in);
	free(big);
}
END_TEST

/* proto_send_split: frames of the right sizes carrying the data in order,
 * no frame past the limit, and the data unchanged after the headers were
 * written in front of each later frame's payload and put back. */
static int
count_after(void *ctx, size_t n, abk_err *err)
{
	(void)err;
	*(size_t *)ctx += n;
	return ABK_OK;
}

START_TEST(test_send_split)
{
	abk_buf in;
	abk_err err = ABK_ERR_INIT;
	size_t n = 3 * PROTO_ZIP_DATA_MAX + 1000, got = 0, frames = 0;
	uint8_t *data = malloc(n), *copy = malloc(n);
	uint8_t scratch[PROTO_HEADER_LEN + PROTO_SPLIT_FIRST];
	uint8_t type = 0;
	int status;
	pid_t pid;

	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 31 + i / 997);
	memcpy(copy, data, n);
	pid = fork();
	if (pid == 0) {
		abk_err e2 = ABK_ERR_INIT;
		size_t wire = 0;
		int rc = proto_send_split(&io_a, PT_ZIP_DATA, data, n, scratch, count_after,
		    &wire, &e2);

		_exit(rc == ABK_OK && memcmp(data, copy, n) == 0 &&
		    wire == n + 4 * PROTO_HEADER_LEN ? 0 : 1);
	}
	abk_buf_init(&in, PROTO_FRAME_MAX);
	while (got < n) {
		ck_assert_int_eq(proto_recv(&io_b, &type, &in, &err), ABK_OK);
		ck_assert_int_eq(type, PT_ZIP_DATA);
		ck_assert_uint_eq(in.len, frames == 0 ? PROTO_SPLIT_FIRST :
		    n - got < PROTO_ZIP_DATA_MAX ? n - got : PROTO_ZIP_DATA_MAX);
		ck_assert_mem_eq(in.data, copy + got, in.len);
		got += in.len;
		frames++;
	}
	ck_assert_uint_eq(frames, 4);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* nothing to send: no frame */
	ck_assert_int_eq(proto_send_split(&io_a, PT_ZIP_DATA, data, 0, scratch, NULL, NULL,
	    &err), ABK_OK);
	abk_buf_free(&in);
	free(data);
	free(copy);
}
END_TEST

/* batchrecv_recv: a batch's ZIP_DATA lands in the batch buffer (the frame
 * buffer stays empty), the verified batch is the archive sent; frames that
 * are not a batch's come back (1) with their payload; ZIP_DATA outside a
 * batch is refused. */
static int
accept_unit(void *ctx, const struct transfer_unit *u, abk_err *err)
{
	(void)ctx;
	(void)u;
	(void)err;
	return ABK_OK;
}

START_TEST(test_batchrecv_recv)
{
	abk_err err = ABK_ERR_INIT;
	struct transfer_unit u = { .index = 0, .offset = 0, .len = 300000 };
	struct batchrecv br;
	struct batchrecv_batch done;
	const uint8_t *zip;
	uint8_t *data = malloc(u.len), digest[ABK_DIGEST_LEN], type = 0;
	uint8_t scratch[PROTO_HEADER_LEN + PROTO_SPLIT_FIRST];
	zipio_writer *w;
	abk_buf out, in;
	size_t zlen;
	int rc, frames = 0, status;
	pid_t pid;

	for (size_t i = 0; i < u.len; i++)
		data[i] = (uint8_t)(i ^ (i >> 9));
	ck_assert_int_eq(zipio_writer_new(&w, &err), ABK_OK);
	ck_assert_int_eq(zipio_add_buffer(w, "f", data, u.len, 0644, 1, 0, NULL, &err), ABK_OK);
	ck_assert_int_eq(zipio_writer_finish(w, &zip, &zlen, &err), ABK_OK);
	ck_assert_int_eq(transfer_batch_digest(zip, zlen, digest, &err), ABK_OK);
	pid = fork();
	if (pid == 0) {
		abk_err e2 = ABK_ERR_INIT;

		abk_buf_init(&out, PROTO_FRAME_MAX);
		msg_zip_begin_put(&out, &u, 1);
		rc = proto_send(&io_a, PT_ZIP_BEGIN, out.data, out.len, &e2);
		if (rc == ABK_OK)
			rc = proto_send_split(&io_a, PT_ZIP_DATA, zipio_writer_archive(w), zlen,
			    scratch, NULL, NULL, &e2);
		abk_buf_reset(&out);
		msg_zip_end_put(&out, zlen, digest);
		if (rc == ABK_OK)
			rc = proto_send(&io_a, PT_ZIP_END, out.data, out.len, &e2);
		if (rc == ABK_OK)
			rc = proto_send(&io_a, PT_BYE, "bye", 3, &e2);
		if (rc == ABK_OK)
			rc = proto_send(&io_a, PT_ZIP_DATA, "x", 1, &e2);
		_exit(rc == ABK_OK ? 0 : 1);
	}
	ck_assert_int_eq(batchrecv_init(&br, accept_unit, NULL, &err), ABK_OK);
	abk_buf_init(&in, PROTO_FRAME_MAX);
	do {
		rc = batchrecv_recv(&br, &io_b, &type, &in, &done, &err);
		ck_assert_msg(rc == ABK_OK, "batchrecv_recv: %s", err.msg);
		if (type == PT_ZIP_DATA) {
			ck_assert_uint_eq(in.len, 0);
			frames++;
		}
	} while (done.n_units == 0);
	ck_assert_int_eq(type, PT_ZIP_END);
	ck_assert_int_ge(frames, 2);
	ck_assert_uint_eq(done.n_units, 1);
	ck_assert_uint_eq(done.zip->len, zlen);
	ck_assert_mem_eq(done.zip->data, zip, zlen);
	ck_assert_int_eq(batchrecv_recv(&br, &io_b, &type, &in, &done, &err), 1);
	ck_assert_int_eq(type, PT_BYE);
	ck_assert_uint_eq(in.len, 3);
	ck_assert_mem_eq(in.data, "bye", 3);
	ck_assert_int_eq(batchrecv_recv(&br, &io_b, &type, &in, &done, &err), ABK_E_PROTO);
	ck_assert_ptr_nonnull(strstr(err.msg, "outside a batch"));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	batchrecv_free(&br);
	abk_buf_free(&in);
	zipio_writer_free(w);
	free(data);
}
END_TEST

START_TEST(test_oversized_refused_before_payload)
{
	uint8_t hdr[PROTO_HEADER_LEN];
	abk_buf in;
	abk_err err = ABK_ERR_INIT;
	uint8_t type;

	proto_make_header(hdr, PT_ZIP_DATA, PROTO_FRAME_MAX + 1);
	ck_assert_int_eq(write(sv[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	abk_buf_init(&in, PROTO_FRAME_MAX);
	ck_assert_int_eq(proto_recv(&io_b, &type, &in, &err), ABK_E_LIMIT);
	ck_assert_ptr_nonnull(strstr(err.msg, "over the limit"));
	/* nothing was allocated for the refused payload */
	ck_assert_uint_eq(in.cap, 0);
	abk_buf_free(&in);
}
END_TEST

START_TEST(test_sender_refuses_oversized)
{
	abk_err err = ABK_ERR_INIT;
	static unsigned char big[PROTO_FRAME_MAX + 1];

	ck_assert_int_eq(proto_send(&io_a, PT_ZIP_DATA, big, sizeof(big), &err), ABK_E_INTERNAL);
}
END_TEST

START_TEST(test_unknown_type)
{
	uint8_t hdr[PROTO_HEADER_LEN];
	abk_buf in;
	abk_err err = ABK_ERR_INIT;
	uint8_t type;

	proto_make_header(hdr, 0x7f, 3);
	ck_assert_int_eq(write(sv[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	abk_buf_init(&in, PROTO_FRAME_MAX);
	ck_assert_int_eq(proto_recv(&io_b, &type, &in, &err), ABK_E_PROTO);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown frame type 0x7f"));
	abk_buf_free(&in);
}
END_TEST

START_TEST(test_truncated_frame)
{
	uint8_t hdr[PROTO_HEADER_LEN];
	abk_buf in;
	abk_err err = ABK_ERR_INIT;
	uint8_t type;

	proto_make_header(hdr, PT_HELLO, 100);
	ck_assert_int_eq(write(sv[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	ck_assert_int_eq(write(sv[0], "abc", 3), 3);
	close(sv[0]);
	sv[0] = -1;
	abk_buf_init(&in, PROTO_FRAME_MAX);
	ck_assert_int_eq(proto_recv(&io_b, &type, &in, &err), ABK_E_NET);
	abk_buf_free(&in);
}
END_TEST

START_TEST(test_truncated_header)
{
	abk_buf in;
	abk_err err = ABK_ERR_INIT;
	uint8_t type;

	ck_assert_int_eq(write(sv[0], "\0\0", 2), 2);
	close(sv[0]);
	sv[0] = -1;
	abk_buf_init(&in, PROTO_FRAME_MAX);
	ck_assert_int_eq(proto_recv(&io_b, &type, &in, &err), ABK_E_NET);
	abk_buf_free(&in);
}
END_TEST

START_TEST(test_error_frame)
{
	abk_buf in;
	abk_err err = ABK_ERR_INIT, got = ABK_ERR_INIT;
	uint8_t type;

	abk_buf_init(&in, PROTO_FRAME_MAX);
	ck_assert_int_eq(proto_send_error(&io_a, PE_QUOTA, &err, "over by %d bytes\x1b[2J", 5),
	    ABK_OK);
	ck_assert_int_eq(proto_recv(&io_b, &type, &in, &err), ABK_OK);
	ck_assert_int_eq(type, PT_ERROR);
	ck_assert_int_eq(proto_decode_error(in.data, in.len, &got), ABK_E_QUOTA);
	/* the escape sequence from the peer is neutralised */
	ck_assert_str_eq(got.msg, "server: over by 5 bytes\\x1b[2J");
	abk_buf_free(&in);
}
END_TEST

START_TEST(test_error_codes_round_trip)
{
	ck_assert_int_eq(proto_code_from_error(proto_error_from_code(ABK_E_AUTH)), ABK_E_AUTH);
	ck_assert_int_eq(proto_code_from_error(proto_error_from_code(ABK_E_BUSY)), ABK_E_BUSY);
	ck_assert_int_eq(proto_code_from_error(proto_error_from_code(ABK_E_QUOTA)), ABK_E_QUOTA);
	ck_assert_int_eq(proto_code_from_error(proto_error_from_code(ABK_E_NOTFOUND)),
	    ABK_E_NOTFOUND);
	ck_assert_int_eq(proto_error_from_code(ABK_E_PATH), PE_INVALID);
	/* a malformed frame is PROTOCOL on the wire, not INTERNAL (it was 11) */
	ck_assert_int_eq(proto_error_from_code(ABK_E_PROTO), PE_PROTOCOL);
	ck_assert_int_eq(proto_error_from_code(ABK_E_LIMIT), PE_LIMIT);
	ck_assert_int_eq(proto_code_from_error(999), ABK_E_REFUSED);
	/* issue 8 item 10: what the server reports is not a lost connection */
	ck_assert_int_eq(abk_exit_for(proto_code_from_error(PE_PROTOCOL)), ABK_EXIT_REFUSED);
	ck_assert_int_eq(abk_exit_for(proto_code_from_error(PE_VERSION)), ABK_EXIT_REFUSED);
	ck_assert_int_eq(abk_exit_for(proto_code_from_error(PE_INTERNAL)), ABK_EXIT_REFUSED);
	ck_assert_int_eq(abk_exit_for(proto_code_from_error(PE_LIMIT)), ABK_EXIT_REFUSED);
	/* issue 13 item 4: a timeout has its own code, not a message text */
	ck_assert_int_eq(proto_error_from_code(ABK_E_TIMEOUT), PE_TIMEOUT);
	ck_assert_int_eq(proto_code_from_error(PE_TIMEOUT), ABK_E_TIMEOUT);
	ck_assert_int_eq(abk_exit_for(ABK_E_TIMEOUT), ABK_EXIT_NETWORK);
	ck_assert(abk_code_is_disconnect(ABK_E_TIMEOUT));
	ck_assert(abk_code_is_disconnect(ABK_E_NET));
	ck_assert(!abk_code_is_disconnect(ABK_E_PROTO));
	ck_assert_int_eq(abk_exit_for(proto_code_from_error(PE_INTEGRITY)), ABK_EXIT_INTEGRITY);
	ck_assert_int_eq(abk_exit_for(proto_code_from_error(PE_INVALID)), ABK_EXIT_USAGE);
	ck_assert_int_eq(abk_exit_for(proto_code_from_error(PE_TIMEOUT)), ABK_EXIT_NETWORK);
	ck_assert_ptr_null(proto_type_name(0xee));
	ck_assert_str_eq(proto_type_name(PT_PUSH_NEED), "PUSH_NEED");
}
END_TEST

static void
encode_entry(abk_buf *b, const char *path, uint8_t type, const char *target)
{
	struct manifest_entry e;

	memset(&e, 0, sizeof(e));
	e.path = path;
	e.path_len = strlen(path);
	e.type = type;
	e.mode = 0644;
	e.mtime = -86400;	/* before the epoch survives */
	if (type == MF_FILE)
		e.size = 12345678901ull;
	if (target != NULL) {
		e.target = target;
		e.target_len = strlen(target);
		e.size = e.target_len;
	}
	e.flags = MF_HAS_CRC | MF_HAS_SHA256 | MF_HAS_STAT | MF_RACY;
	e.crc32 = 0xdeadbeef;
	memset(e.sha256, 7, sizeof(e.sha256));
	e.mtime_nsec = 999999999;
	e.ctime = -5;
	e.ctime_nsec = 1;
	e.inode = 0x0123456789abcdefull;
	ck_assert_int_eq(manifest_entry_encode(b, &e), 0);
}

START_TEST(test_entry_round_trip)
{
	abk_buf b;
	abk_rd r;
	struct manifest_entry e;
	abk_err err = ABK_ERR_INIT;

	abk_buf_init(&b, 1 << 20);
	encode_entry(&b, "dir/new\nline \xc3\xa9", MF_FILE, NULL);
	encode_entry(&b, "link", MF_SYMLINK, "../target");
	abk_rd_init(&r, b.data, b.len);
	ck_assert_int_eq(manifest_entry_decode(&r, &e, &err), ABK_OK);
	ck_assert_uint_eq(e.path_len, strlen("dir/new\nline \xc3\xa9"));
	ck_assert_int_eq(e.mtime, -86400);
	ck_assert_uint_eq(e.size, 12345678901ull);
	ck_assert_uint_eq(e.crc32, 0xdeadbeef);
	ck_assert_uint_eq(e.flags, MF_HAS_CRC | MF_HAS_SHA256 | MF_HAS_STAT | MF_RACY);
	ck_assert_uint_eq(e.mtime_nsec, 999999999);
	ck_assert_int_eq(e.ctime, -5);
	ck_assert_uint_eq(e.ctime_nsec, 1);
	ck_assert_uint_eq(e.inode, 0x0123456789abcdefull);
	ck_assert_int_eq(manifest_entry_decode(&r, &e, &err), ABK_OK);
	ck_assert_int_eq(e.type, MF_SYMLINK);
	ck_assert_mem_eq(e.target, "../target", 9);
	ck_assert_uint_eq(r.left, 0);
	abk_buf_free(&b);
}
END_TEST

START_TEST(test_entry_hostile)
{
	static const char *const bad_paths[] = { "../etc/passwd", "/abs", "a//b", "a/./b",
		"a/", "" };
	abk_buf b;
	abk_rd r;
	struct manifest_entry e;

	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		abk_err err = ABK_ERR_INIT;

		abk_buf_init(&b, 1 << 20);
		encode_entry(&b, bad_paths[i], MF_FILE, NULL);
		abk_rd_init(&r, b.data, b.len);
		ck_assert_int_eq(manifest_entry_decode(&r, &e, &err), ABK_E_PATH);
		abk_buf_free(&b);
	}
	/* unknown type */
	{
		abk_err err = ABK_ERR_INIT;

		abk_buf_init(&b, 1 << 20);
		encode_entry(&b, "x", 9, NULL);
		abk_rd_init(&r, b.data, b.len);
		ck_assert_int_eq(manifest_entry_decode(&r, &e, &err), ABK_E_PROTO);
		abk_buf_free(&b);
	}
	/* nanoseconds out of range, unknown flags */
	{
		abk_err err = ABK_ERR_INIT;
		size_t nsec_at;

		abk_buf_init(&b, 1 << 20);
		encode_entry(&b, "x", MF_FILE, NULL);
		/* path, type, mode, mtime, size, flags, crc, sha256: then mtime_nsec */
		nsec_at = 4 + 1 + 1 + 4 + 8 + 8 + 1 + 4 + 32;
		b.data[nsec_at] = 0x3c;		/* 0x3c9ac9ff > 999,999,999 */
		abk_rd_init(&r, b.data, b.len);
		ck_assert_int_eq(manifest_entry_decode(&r, &e, &err), ABK_E_PROTO);
		abk_buf_free(&b);
		abk_err_clear(&err);
		abk_buf_init(&b, 1 << 20);
		encode_entry(&b, "x", MF_FILE, NULL);
		b.data[4 + 1 + 1 + 4 + 8 + 8] |= 0x10;
		abk_rd_init(&r, b.data, b.len);
		ck_assert_int_eq(manifest_entry_decode(&r, &e, &err), ABK_E_PROTO);
		abk_buf_free(&b);
	}
	/* a backslash is an ordinary name byte (issue 8 item 2) */
	{
		abk_err err = ABK_ERR_INIT;

		abk_buf_init(&b, 1 << 20);
		encode_entry(&b, "a\\x2db.slice", MF_FILE, NULL);
		abk_rd_init(&r, b.data, b.len);
		ck_assert_int_eq(manifest_entry_decode(&r, &e, &err), ABK_OK);
		abk_buf_free(&b);
	}
	/* every truncation of a valid entry is refused */
	abk_buf_init(&b, 1 << 20);
	encode_entry(&b, "some/file", MF_SYMLINK, "t");
	for (size_t cut = 0; cut < b.len; cut++) {
		abk_err err = ABK_ERR_INIT;

		abk_rd_init(&r, b.data, cut);
		ck_assert_int_eq(manifest_entry_decode(&r, &e, &err), ABK_E_PROTO);
	}
	abk_buf_free(&b);
}
END_TEST

/* The piece hash is XXH3-128 in xxHash's canonical (big-endian) form, as
 * doc/PROTOCOL.md gives it: a second implementation must agree. */
START_TEST(test_piece_hash_known)
{
	static const uint8_t empty[ABK_PIECE_HASH_LEN] = { 0x99, 0xaa, 0x06, 0xd3, 0x01, 0x47,
	    0x98, 0xd8, 0x60, 0x01, 0xc3, 0x24, 0x46, 0x8d, 0x49, 0x7f };
	static const uint8_t abc[ABK_PIECE_HASH_LEN] = { 0x06, 0xb0, 0x5a, 0xb6, 0x73, 0x3a,
	    0x61, 0x85, 0x78, 0xaf, 0x5f, 0x94, 0x89, 0x2f, 0x39, 0x50 };
	uint8_t got[ABK_PIECE_HASH_LEN];
	abk_piecehash *h = abk_piecehash_new();

	ck_assert_ptr_nonnull(h);
	abk_piecehash_once("", 0, got);
	ck_assert_mem_eq(got, empty, sizeof(got));
	abk_piecehash_update(h, "a", 1);
	abk_piecehash_update(h, "bc", 2);
	abk_piecehash_final(h, got);
	ck_assert_mem_eq(got, abc, sizeof(got));
	abk_piecehash_reset(h);
	abk_piecehash_final(h, got);
	ck_assert_mem_eq(got, empty, sizeof(got));
	abk_piecehash_free(h);
}
END_TEST

/* Piece hashes and CRCs: the same whatever the number of threads, and
 * each one the hash of exactly its piece (the last one short). */
START_TEST(test_piece_hashes_threads)
{
	abk_err err = ABK_ERR_INIT;
	const uint64_t size = 2 * (uint64_t)PROTO_PIECE + PROTO_PIECE / 3;
	uint8_t (*h1)[ABK_PIECE_HASH_LEN] = calloc(3, ABK_PIECE_HASH_LEN);
	uint8_t (*h3)[ABK_PIECE_HASH_LEN] = calloc(3, ABK_PIECE_HASH_LEN);
	uint32_t c1[3], c3[3];
	uint8_t *data = malloc(size), want[ABK_PIECE_HASH_LEN];
	FILE *f = tmpfile();
	int fd;

	ck_assert(h1 != NULL && h3 != NULL && data != NULL && f != NULL);
	for (uint64_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	ck_assert_uint_eq(fwrite(data, 1, size, f), size);
	fflush(f);
	fd = fileno(f);
	ck_assert_int_eq(transfer_piece_hashes(fd, size, h1, c1, 1, &err), ABK_OK);
	ck_assert_int_eq(transfer_piece_hashes(fd, size, h3, c3, 3, &err), ABK_OK);
	ck_assert_mem_eq(h1, h3, 3 * ABK_PIECE_HASH_LEN);
	ck_assert_mem_eq(c1, c3, sizeof(c1));
	for (int k = 0; k < 3; k++) {
		uint64_t off = (uint64_t)k * PROTO_PIECE;
		size_t len = (size_t)(size - off > PROTO_PIECE ? PROTO_PIECE : size - off);
		abk_piecehash_once(data + off, len, want);
		ck_assert_mem_eq(h3[k], want, ABK_PIECE_HASH_LEN);
		ck_assert_uint_eq(c3[k], (uint32_t)crc32(0, data + off, (uInt)len));
	}
	/* a file shorter than it was said to be is an error, not a guess */
	ck_assert_int_eq(transfer_piece_hashes(fd, size + 10, h3, NULL, 2, &err), ABK_E_IO);
	fclose(f);
	free(data);
	free(h1);
	free(h3);
}
END_TEST

START_TEST(test_buf_cap)
{
	abk_buf b;
	abk_rd r;
	const char *s;
	size_t n;
	uint8_t huge_len[4] = { 0xff, 0xff, 0xff, 0xf0 };

	abk_buf_init(&b, 8);
	ck_assert_int_eq(abk_put_u64(&b, 1), 0);
	ck_assert_int_eq(abk_put_u8(&b, 1), -1);
	ck_assert(b.failed);
	abk_buf_free(&b);
	/* a string length larger than what is left is refused, not read */
	abk_rd_init(&r, huge_len, sizeof(huge_len));
	ck_assert_int_eq(abk_get_str(&r, &s, &n, SIZE_MAX), -1);
	ck_assert(r.failed);
}
END_TEST

/* A string over its limit is LIMIT naming the limit; a short frame is PROTO. */
START_TEST(test_rd_error_codes)
{
	abk_buf b;
	abk_rd r;
	abk_err e = ABK_ERR_INIT;
	const char *s;
	size_t n;

	abk_buf_init(&b, 1024);
	ck_assert_int_eq(abk_put_str(&b, "abcdefgh", 8), 0);
	abk_rd_init(&r, b.data, b.len);
	ck_assert_int_eq(abk_get_str(&r, &s, &n, 4), -1);
	ck_assert_int_eq(abk_rd_error(&r, &e, "TEST"), ABK_E_LIMIT);
	ck_assert_ptr_nonnull(strstr(e.msg, "limit of 4 bytes"));
	/* the same string cut short is malformed, not a limit */
	abk_err_clear(&e);
	abk_rd_init(&r, b.data, b.len - 1);
	ck_assert_int_eq(abk_get_str(&r, &s, &n, 64), -1);
	ck_assert_int_eq(abk_rd_error(&r, &e, "TEST"), ABK_E_PROTO);
	ck_assert_str_eq(e.msg, "malformed TEST");
	/* a fresh reader forgets the limit */
	abk_rd_init(&r, b.data, b.len);
	ck_assert_int_eq(abk_get_str(&r, &s, &n, 64), 0);
	ck_assert_uint_eq(r.over_max, 0);
	abk_buf_free(&b);
}
END_TEST

/* proto_msg.c: what one peer encodes, the other decodes, field for field. */
/* LOGIN_OK's optional usage (issue 10): read when present, absent from the
 * old encoding, and an old reader's fields unchanged either way. */
START_TEST(test_login_ok_usage)
{
	struct msg_login_ok a, b;
	abk_buf buf;
	abk_rd r;
	abk_err err = ABK_ERR_INIT;

	memset(&a, 0, sizeof(a));
	snprintf(a.user, sizeof(a.user), "alice");
	a.quota = 3ULL << 30;
	a.append_only = 1;
	abk_buf_init(&buf, 256);
	ck_assert_int_eq(msg_login_ok_put(&buf, &a), 0);	/* old encoding */
	ck_assert_uint_eq(buf.len, 4 + 5 + 8 + 1);
	abk_rd_init(&r, buf.data, buf.len);
	ck_assert_int_eq(msg_login_ok_get(&r, &b, &err), ABK_OK);
	ck_assert_int_eq(b.has_used, 0);
	ck_assert_uint_eq(b.quota, a.quota);
	abk_buf_reset(&buf);
	a.has_used = 1;
	a.used = 123456789;
	ck_assert_int_eq(msg_login_ok_put(&buf, &a), 0);
	abk_rd_init(&r, buf.data, buf.len);
	ck_assert_int_eq(msg_login_ok_get(&r, &b, &err), ABK_OK);
	ck_assert_int_eq(b.has_used, 1);
	ck_assert_uint_eq(b.used, 123456789);
	ck_assert_uint_eq(b.quota, a.quota);
	ck_assert_int_eq(b.append_only, 1);
	abk_buf_free(&buf);
}
END_TEST

START_TEST(test_msg_round_trips)
{
	abk_buf b;
	abk_rd r;
	abk_err err = ABK_ERR_INIT;
	const char *paths[] = { "a", "", "b/c" };
	char path[ABK_PATH_MAX + 1];
	uint8_t d[ABK_DIGEST_LEN];
	struct msg_push_begin pb;
	struct msg_restore rq;
	struct msg_push_verdict v = { "20260101T000000.000Z", 1, 2, 3, 4, 5, 6, 7 }, v2;
	struct msg_login lg;

	abk_buf_init(&b, PROTO_FRAME_MAX);
	ck_assert_int_eq(msg_push_begin_put(&b, "src", "/home/x", 3, 10, 20), 0);
	abk_rd_init(&r, b.data, b.len);
	ck_assert_int_eq(msg_push_begin_get(&r, &pb, &err), ABK_OK);
	ck_assert_str_eq(pb.source, "src");
	ck_assert_str_eq(pb.origin, "/home/x");
	ck_assert_uint_eq(pb.flags, 3);
	ck_assert_uint_eq(pb.entries, 10);
	ck_assert_uint_eq(pb.bytes, 20);

	abk_buf_reset(&b);
	ck_assert_int_eq(msg_push_verdict_put(&b, &v), 0);
	abk_rd_init(&r, b.data, b.len);
	ck_assert_int_eq(msg_push_verdict_get(&r, &v2, &err), ABK_OK);
	ck_assert_str_eq(v2.snapshot, v.snapshot);
	ck_assert_uint_eq(v2.added, 1);
	ck_assert_uint_eq(v2.unchanged, 4);
	ck_assert_uint_eq(v2.kept, 7);

	abk_buf_reset(&b);
	ck_assert_int_eq(msg_restore_put(&b, "src", NULL, 2, paths, 3), 0);
	abk_rd_init(&r, b.data, b.len);
	ck_assert_int_eq(msg_restore_get(&r, &rq, &err), ABK_OK);
	ck_assert_str_eq(rq.source, "src");
	ck_assert_str_eq(rq.snapshot, "");
	ck_assert_uint_eq(rq.n_paths, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(msg_restore_next_path(&rq, path), 0);
		ck_assert_str_eq(path, paths[i]);
	}
	ck_assert_int_eq(msg_restore_next_path(&rq, path), -1);

	abk_buf_reset(&b);
	ck_assert_int_eq(msg_login_put(&b, "alice", "pw", 2), 0);
	abk_rd_init(&r, b.data, b.len);
	ck_assert_int_eq(msg_login_get(&r, PT_LOGIN_PASSWORD, &lg, &err), ABK_OK);
	ck_assert_str_eq(lg.user, "alice");
	ck_assert_uint_eq(lg.secret_len, 2);

	/* a digest cut short is malformed, not a mismatch */
	abk_buf_reset(&b);
	memset(d, 7, sizeof(d));
	ck_assert_int_eq(msg_digest_put(&b, d), 0);
	abk_rd_init(&r, b.data, b.len - 1);
	ck_assert_int_eq(msg_digest_get(&r, PT_PUSH_END, d, &err), ABK_E_PROTO);
	ck_assert_str_eq(err.msg, "malformed PUSH_END");
	abk_buf_free(&b);
}
END_TEST

/* Issue 8 item 11: every limit is LIMIT naming it, in every decoder. */
START_TEST(test_msg_limits)
{
	static char big[ABK_PATH_MAX + 2];
	abk_buf b;
	abk_rd r;
	abk_err err = ABK_ERR_INIT;
	struct manifest_entry e;
	struct msg_restore rq;
	struct msg_hello h;
	const char *one[1] = { big };

	abk_buf_init(&b, PROTO_FRAME_MAX);
	memset(big, 'p', ABK_PATH_MAX + 1);	/* a complete 4096-byte path */
	abk_put_str(&b, big, ABK_PATH_MAX + 1);
	abk_put_u8(&b, MF_DIR);
	abk_put_u32(&b, 0755);
	abk_put_i64(&b, 0);
	abk_put_u64(&b, 0);
	abk_put_u8(&b, 0);
	abk_rd_init(&r, b.data, b.len);
	ck_assert_int_eq(manifest_entry_decode(&r, &e, &err), ABK_E_LIMIT);
	ck_assert_str_eq(err.msg, "file-list entry: path longer than 4095 bytes");

	abk_buf_reset(&b);
	abk_err_clear(&err);
	ck_assert_int_eq(msg_restore_put(&b, "src", "", 0, one, 1), 0);
	abk_rd_init(&r, b.data, b.len);
	ck_assert_int_eq(msg_restore_get(&r, &rq, &err), ABK_E_LIMIT);
	ck_assert_ptr_nonnull(strstr(err.msg, "4095 bytes"));

	abk_buf_reset(&b);
	abk_err_clear(&err);
	abk_put_cstr(&b, "src");
	abk_put_cstr(&b, "");
	abk_put_u8(&b, 0);
	abk_put_u32(&b, PROTO_RESTORE_PATHS_MAX + 1);
	abk_rd_init(&r, b.data, b.len);
	ck_assert_int_eq(msg_restore_get(&r, &rq, &err), ABK_E_LIMIT);
	ck_assert_str_eq(err.msg, "RESTORE: more than 1024 paths");

	abk_buf_reset(&b);
	abk_err_clear(&err);
	big[PROTO_SOFTWARE_MAX + 1] = '\0';
	ck_assert_int_eq(msg_hello_put(&b, &(struct msg_hello){ PROTO_MAGIC, 2, 2, "" }), 0);
	b.len -= 4;	/* replace the empty software string by an over-long one */
	abk_put_cstr(&b, big);
	abk_rd_init(&r, b.data, b.len);
	ck_assert_int_eq(msg_hello_get(&r, &h, &err), ABK_E_LIMIT);
	abk_buf_free(&b);
}
END_TEST


static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("frames");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_frame_round_trip);
	tcase_add_test(tc, test_large_frame);
	tcase_add_test(tc, test_send_split);
	tcase_add_test(tc, test_batchrecv_recv);
	tcase_add_test(tc, test_oversized_refused_before_payload);
	tcase_add_test(tc, test_sender_refuses_oversized);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_truncated_frame);
	tcase_add_test(tc, test_truncated_header);
	tcase_add_test(tc, test_error_frame);
	tcase_add_test(tc, test_error_codes_round_trip);
	suite_add_tcase(s, tc);
	tc = tcase_create("entries");
	tcase_add_test(tc, test_entry_round_trip);
	tcase_add_test(tc, test_entry_hostile);
	tcase_add_test(tc, test_buf_cap);
	tcase_add_test(tc, test_rd_error_codes);
	tcase_add_test(tc, test_msg_round_trips);
	tcase_add_test(tc, test_login_ok_usage);
	tcase_add_test(tc, test_msg_limits);
	tcase_add_test(tc, test_piece_hashes_threads);
	tcase_add_test(tc, test_piece_hash_known);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
