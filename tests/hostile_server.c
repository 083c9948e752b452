/*
 * hostile_server.c - a test-only peer that plays a malicious autobackup
 * server (issue 8, item 5): it accepts TLS (the certificates `autobackupd
 * init` made), any login, and answers RESTORE with a crafted file list and
 * zip batches, chosen by the requested source name:
 *
 *   dirlink     "x" as a folder (mode 0777), then "x" as a symlink to OUTSIDE
 *   origin      an honest list, but the origin is OUTSIDE
 *   twice       a file listed twice
 *   orphan      "a/b" without its folder "a"
 *   parentfile  "a" a file, then "a/b"
 *   badcrc      "good" and "bad": the zip is right (data CRC matches), but
 *               the list's CRC-32 of "bad" is not the data's
 *   linkfile    "x" a symlink to OUTSIDE, then the file "x/f" through it
 *   filedir     "f" a file, then "f" a folder
 *   nul, emptycomp, longname, dotdot, absolute
 *               a file named "a\0b", "a//b", 5,000 bytes, "../x", OUTSIDE/abs
 *   zipname     the list says "f", the zip entry is "g"
 *   localhdr    the zip's local header disagrees with its central directory
 *               (flags), everything else honest
 *   bomb        "f" of 10 bytes; the zip declares 10 too but its deflate
 *               stream expands to 8 MiB
 *   deldir      "x" a folder and "x/f": the client's target has "x" as a
 *               symlink to OUTSIDE (restored with --delete)
 *   unknownframe, hugeframe
 *               after the list, a frame of unknown type 0x7e, or a header
 *               announcing 0xFFFFFFFF bytes
 *   badsize     "good" and "bad": the list says "bad" is 3 bytes longer than
 *               the zip's entry (and the unit) carries
 *   scope       "sub", "sub/f" and "other": "other" is outside the --path
 *               sub the client asks for (run with --delete)
 *   stall       RESTORE_BEGIN, then 10 bytes of a 100-byte RESTORE_ENTRIES
 *               frame, then silence for 6 s (the client's --timeout is less)
 *
 * Usage: hostile_server CERTDIR PORTFILE OUTSIDE.  Listens on 127.0.0.1
 * port 0, writes the port to PORTFILE, serves one connection at a time
 * until killed.  Not installed (check_PROGRAMS).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "crypto.h"
#include "manifest.h"
#include "net.h"
#include "proto.h"
#include "tlsconn.h"
#include "transfer.h"
#include "zipio.h"

struct hent {
	const char *path;
	uint8_t type;
	const char *target;	/* symlink */
	const char *data;	/* file */
	int bad_crc;		/* 1: the list's CRC-32 lies, 2: its size */
	size_t path_len;	/* 0: strlen(path) */
	const char *zipname;	/* the zip entry's name, if not path */
};

static const char *outside;
static char abs_name[4200], long_name[5001];

static size_t
hent_len(const struct hent *h)
{
	return h->path_len ? h->path_len : strlen(h->path);
}

static void
le16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
le32(uint8_t *p, uint32_t v)
{
	le16(p, v & 0xffff);
	le16(p + 2, v >> 16);
}

/*
 * The bomb: one deflated entry "f" whose headers declare 10 bytes (the list
 * says so too) while its stream inflates to 8 MiB of zeros.  Returns the
 * zip's length in out[cap].
 */
static size_t
craft_bomb(uint8_t *out, size_t cap)
{
	static const uint8_t zeros[10];
	uint8_t *big = calloc(1, 8u << 20);
	uLongf clen = (uLongf)(cap - 200);
	z_stream zs;
	uint32_t crc = (uint32_t)crc32(0L, zeros, 10);
	size_t n, cd;

	if (big == NULL)
		return 0;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(big);
		return 0;
	}
	zs.next_in = big;
	zs.avail_in = 8u << 20;
	zs.next_out = out + 31;
	zs.avail_out = (uInt)clen;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		clen = 0;
	else
		clen = zs.total_out;
	deflateEnd(&zs);
	free(big);
	if (clen == 0)
		return 0;
	memset(out, 0, 31);
	le32(out, 0x04034b50u);
	le16(out + 4, 20);
	le16(out + 8, 8);
	le32(out + 14, crc);
	le32(out + 18, (uint32_t)clen);
	le32(out + 22, 10);
	le16(out + 26, 1);
	out[30] = 'f';
	n = 31 + clen;
	cd = n;
	memset(out + n, 0, 47);
	le32(out + n, 0x02014b50u);
	le16(out + n + 4, 0x0314);
	le16(out + n + 6, 20);
	le16(out + n + 10, 8);
	le32(out + n + 16, crc);
	le32(out + n + 20, (uint32_t)clen);
	le32(out + n + 24, 10);
	le16(out + n + 28, 1);
	le32(out + n + 38, 0100644u << 16);
	out[n + 46] = 'f';
	n += 47;
	memset(out + n, 0, 22);
	le32(out + n, 0x06054b50u);
	le16(out + n + 8, 1);
	le16(out + n + 10, 1);
	le32(out + n + 12, (uint32_t)(n - cd));
	le32(out + n + 16, (uint32_t)cd);
	return n + 22;
}

static int
send_buf(const struct proto_io *io, uint8_t type, abk_buf *b, abk_err *err)
{
	int rc = proto_send(io, type, b->data, b->len, err);

	abk_buf_reset(b);
	return rc;
}

static int
serve_restore(const struct proto_io *io, const char *scenario, abk_err *err)
{
	/* one row each: a file with its data, a folder, a symlink */
#define F(p, d) { p, MF_FILE, NULL, d, 0, 0, NULL }
#define DIR(p) { p, MF_DIR, NULL, NULL, 0, 0, NULL }
#define LNK(p, t) { p, MF_SYMLINK, t, NULL, 0, 0, NULL }
	static const struct hent dirlink[] = { DIR("x"), LNK("x", "OUTSIDE") };
	static const struct hent honest[] = { F("f", "evil\n") };
	static const struct hent twice[] = { F("f", "one\n"), F("f", "two\n") };
	static const struct hent orphan[] = { F("a/b", "x\n") };
	static const struct hent parentfile[] = { F("a", "x\n"), F("a/b", "y\n") };
	static const struct hent badcrc[] = {
		F("good", "good\n"), { "bad", MF_FILE, NULL, "bad\n", 1, 0, NULL } };
	static const struct hent linkfile[] = { LNK("x", "OUTSIDE"), F("x/f", "in\n") };
	static const struct hent filedir[] = { F("f", "x\n"), DIR("f") };
	static const struct hent nul[] = { { "a\0b", MF_FILE, NULL, "x\n", 0, 3, NULL } };
	static const struct hent emptycomp[] = { DIR("a"), F("a//b", "x\n") };
	static const struct hent longname[] = { F(long_name, "x\n") };
	static const struct hent dotdot[] = { F("../x", "x\n") };
	static const struct hent absolute[] = { F(abs_name, "x\n") };
	static const struct hent zipname[] = { { "f", MF_FILE, NULL, "x\n", 0, 0, "g" } };
	static const struct hent deldir[] = { DIR("x"), F("x/f", "in\n") };
	static const struct hent badsize[] = {
		F("good", "good\n"), { "bad", MF_FILE, NULL, "bad\n", 2, 0, NULL } };
	static const struct hent scope[] = { DIR("sub"), F("sub/f", "in\n"), F("other", "evil\n") };
	static const struct hent bomb[] = { F("f", "\0\0\0\0\0\0\0\0\0\0") };
#undef F
#undef DIR
#undef LNK
	const struct hent *v = honest;
	size_t n = 1;
	const char *origin = "/nonexistent/origin";
	abk_buf b;
	abk_digest_ctx total;
	uint8_t digest[ABK_DIGEST_LEN];
	struct transfer_unit units[8];
	uint32_t nu = 0;
	zipio_writer *zw = NULL;
	static uint8_t crafted[PROTO_ZIP_DATA_MAX];
	const uint8_t *zdata;
	size_t zlen;
	int rc;

#define PICK(name, arr) \
	else if (strcmp(scenario, name) == 0) { v = arr; n = sizeof(arr) / sizeof(arr[0]); }
	if (0) {
	}
	PICK("dirlink", dirlink) PICK("twice", twice) PICK("orphan", orphan)
	PICK("parentfile", parentfile) PICK("badcrc", badcrc) PICK("linkfile", linkfile)
	PICK("filedir", filedir) PICK("nul", nul) PICK("emptycomp", emptycomp)
	PICK("longname", longname) PICK("dotdot", dotdot) PICK("absolute", absolute)
	PICK("zipname", zipname) PICK("deldir", deldir) PICK("bomb", bomb)
	PICK("badsize", badsize) PICK("scope", scope)
#undef PICK
	if (strcmp(scenario, "origin") == 0)
		origin = outside;
	abk_buf_init(&b, PROTO_FRAME_MAX);
	abk_put_cstr(&b, "20260101T000000.000Z");
	abk_put_cstr(&b, origin);
	abk_put_u8(&b, 0);
	abk_put_u64(&b, n);
	abk_put_u64(&b, 0);
	rc = send_buf(io, PT_RESTORE_BEGIN, &b, err);
	if (rc == ABK_OK && strcmp(scenario, "stall") == 0) {
		uint8_t part[PROTO_HEADER_LEN + 10] = { 0, 0, 0, 100, PT_RESTORE_ENTRIES, 1 };

		rc = io->write_all(io->ctx, part, sizeof(part), err);
		sleep(6);
		abk_buf_free(&b);
		return rc == ABK_OK ? ABK_E_PROTO : rc;	/* and hang up */
	}
	abk_put_u8(&b, 1);
	abk_put_u32(&b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		struct manifest_entry e;

		memset(&e, 0, sizeof(e));
		e.path = v[i].path;
		e.path_len = hent_len(&v[i]);
		e.type = v[i].type;
		e.mode = 0777;
		if (e.type == MF_SYMLINK) {
			e.target = strcmp(v[i].target, "OUTSIDE") == 0 ? outside : v[i].target;
			e.target_len = strlen(e.target);
			e.size = e.target_len;
		} else if (e.type == MF_FILE) {
			e.mode = 0644;
			e.size = v == bomb ? 10 : strlen(v[i].data);
			e.flags = MF_HAS_CRC;
			e.crc32 = (uint32_t)crc32(0L, (const Bytef *)v[i].data, (uInt)e.size);
			if (v[i].bad_crc == 1)
				e.crc32 ^= 0x00010000u;
			if (v[i].bad_crc == 2)
				e.size += 3;
		}
		manifest_entry_encode(&b, &e);
	}
	if (rc == ABK_OK)
		rc = send_buf(io, PT_RESTORE_ENTRIES, &b, err);
	if (rc == ABK_OK && (strcmp(scenario, "unknownframe") == 0 ||
	    strcmp(scenario, "hugeframe") == 0)) {
		uint8_t hdr[PROTO_HEADER_LEN] = { 0, 0, 0, 0, 0x7e };

		if (scenario[0] == 'h') {
			memset(hdr, 0xff, 4);
			hdr[4] = PT_ZIP_DATA;
		}
		rc = io->write_all(io->ctx, hdr, sizeof(hdr), err);
		abk_buf_free(&b);
		return rc == ABK_OK ? ABK_E_PROTO : rc;	/* and hang up */
	}
	abk_digest_init(&total);
	if (rc == ABK_OK)
		rc = zipio_writer_new(&zw, err);
	for (size_t i = 0; rc == ABK_OK && i < n && nu < 8; i++) {
		size_t len = v == bomb ? 10 : strlen(v[i].data ? v[i].data : "");

		if (v[i].type != MF_FILE)
			continue;
		rc = zipio_add_buffer(zw, v[i].zipname ? v[i].zipname : v[i].path, v[i].data,
		    len, 0644, 0, 0, NULL, err);
		units[nu].index = (uint32_t)i;
		units[nu].offset = 0;
		units[nu].len = len;
		units[nu].flags = 0;
		nu++;
	}
	if (rc == ABK_OK && nu > 0) {
		msg_zip_begin_put(&b, units, nu);
		rc = send_buf(io, PT_ZIP_BEGIN, &b, err);
		if (rc == ABK_OK)
			rc = zipio_writer_finish(zw, &zdata, &zlen, err);
		if (rc == ABK_OK && v == bomb) {
			zlen = craft_bomb(crafted, PROTO_ZIP_DATA_MAX);
			zdata = crafted;
		} else if (rc == ABK_OK && strcmp(scenario, "localhdr") == 0 &&
		    zlen <= PROTO_ZIP_DATA_MAX) {
			memcpy(crafted, zdata, zlen);
			crafted[6] ^= 0x02;	/* a deflate option bit, local header only */
			zdata = crafted;
		}
		if (rc == ABK_OK) {
			abk_put_bytes(&b, zdata, zlen);
			rc = send_buf(io, PT_ZIP_DATA, &b, err);
		}
		if (rc == ABK_OK)
			rc = transfer_batch_digest(zdata, zlen, digest, err);
		if (rc == ABK_OK) {
			abk_digest_update(&total, digest, sizeof(digest));
			abk_put_u64(&b, zlen);
			abk_put_bytes(&b, digest, sizeof(digest));
			rc = send_buf(io, PT_ZIP_END, &b, err);
		}
	}
	if (rc == ABK_OK) {
		abk_digest_final(&total, digest);
		abk_put_bytes(&b, digest, sizeof(digest));
		rc = send_buf(io, PT_RESTORE_END, &b, err);
	}
	zipio_writer_free(zw);
	abk_buf_free(&b);
	return rc;
}

static void
serve(tls_conn *conn)
{
	struct proto_io io;
	abk_buf in, out;
	abk_err err = ABK_ERR_INIT;
	uint8_t type;
	uint32_t magic = 0;
	uint16_t vmin = 0, vmax = 0;
	abk_rd r;

	tls_conn_io(conn, &io);
	abk_buf_init(&in, PROTO_FRAME_MAX);
	abk_buf_init(&out, PROTO_FRAME_MAX);
	if (proto_recv(&io, &type, &in, &err) != ABK_OK || type != PT_HELLO)
		goto out;
	abk_rd_init(&r, in.data, in.len);
	abk_get_u32(&r, &magic);
	abk_get_u16(&r, &vmin);
	abk_get_u16(&r, &vmax);
	abk_put_u16(&out, vmax);	/* whatever the client speaks */
	abk_put_cstr(&out, "hostile-test-server");
	abk_put_u32(&out, PROTO_FRAME_MAX);
	if (send_buf(&io, PT_HELLO_OK, &out, &err) != ABK_OK ||
	    proto_recv(&io, &type, &in, &err) != ABK_OK)
		goto out;
	abk_put_cstr(&out, "alice");
	abk_put_u64(&out, 0);
	abk_put_u8(&out, 0);
	if (send_buf(&io, PT_LOGIN_OK, &out, &err) != ABK_OK)
		goto out;
	while (proto_recv(&io, &type, &in, &err) == ABK_OK && type == PT_RESTORE) {
		char source[PROTO_SOURCE_MAX + 1];

		abk_rd_init(&r, in.data, in.len);
		abk_get_cstr(&r, source, sizeof(source));
		if (serve_restore(&io, source, &err) != ABK_OK)
			break;
	}
out:
	abk_buf_free(&in);
	abk_buf_free(&out);
}

int
main(int argc, char **argv)
{
	char cert[4200], key[4200];
	abk_err err = ABK_ERR_INIT;
	tls_ctx *ctx = NULL;
	FILE *pf;
	int lfd;

	if (argc != 4) {
		fprintf(stderr, "usage: hostile_server CERTDIR PORTFILE OUTSIDE\n");
		return 2;
	}
	outside = argv[3];
	snprintf(abs_name, sizeof(abs_name), "%s/abs", outside);
	memset(long_name, 'n', sizeof(long_name) - 1);
	signal(SIGPIPE, SIG_IGN);	/* clients hang up on a refused list */
	snprintf(cert, sizeof(cert), "%s/server.pem", argv[1]);
	snprintf(key, sizeof(key), "%s/server.key", argv[1]);
	if (tls_global_init(&err) != ABK_OK ||
	    tls_server_ctx_new(cert, key, &ctx, &err) != ABK_OK ||
	    net_listen("127.0.0.1", 0, 4, &lfd, &err) != ABK_OK) {
		fprintf(stderr, "hostile_server: %s\n", err.msg);
		return 1;
	}
	pf = fopen(argv[2], "w");
	if (pf == NULL)
		return 1;
	fprintf(pf, "%d\n", net_local_port(lfd));
	fclose(pf);
	for (;;) {
		tls_conn *conn = NULL;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		abk_err_clear(&err);
		if (tls_accept(ctx, fd, 10000, &conn, &err) == ABK_OK) {
			tls_conn_set_timeout(conn, 10000);
			serve(conn);
			tls_conn_free(conn);
		}	/* tls_accept closed fd on failure */
	}
}
