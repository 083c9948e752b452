/*
 * test_zipio_local.c - a zip whose local headers disagree with its central
 * directory is refused by every reader path, naming the entry and the field
 * (zipio_local_check, issue 11); zips made by Info-ZIP (also streamed, with
 * data descriptors) and by our writer still read.  The zips are crafted byte
 * by byte (craft below) so that each field can lie on its own.
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "zipio.h"

/* One entry of a crafted zip: the truth, and what the local header says
 * instead (a field left 0 / NULL tells the truth). */
struct item {
	const char *name;
	const char *data;
	int deflate;
	const char *lname;		/* local name */
	int set_lflags, set_lmethod, set_lcrc, set_lcsize, set_lusize;
	uint16_t lflags, lmethod;
	uint32_t lcrc, lcsize, lusize;
	uint16_t flags;			/* both headers (bit 3: descriptor) */
	int descriptor;			/* 1: with signature, 2: without */
	uint32_t dd_usize_delta;	/* the descriptor's size lies by this */
	int zip64_local;		/* sizes 0xFFFFFFFF + zip64 extra */
	uint64_t z64_usize_delta;
};

static uint8_t *
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	return put16(put16(p, v & 0xffff), v >> 16);
}

static uint8_t *
put64(uint8_t *p, uint64_t v)
{
	return put32(put32(p, (uint32_t)v), (uint32_t)(v >> 32));
}

/* A zip of n items into a fresh buffer (free it); *len its size. */
static uint8_t *
craft(const struct item *it, size_t n, size_t *len)
{
	uint8_t *z = calloc(1, 1 << 20), *p = z, *cd = calloc(1, 1 << 16), *q = cd;
	uint32_t offs[16];

	ck_assert_ptr_nonnull(z);
	ck_assert_ptr_nonnull(cd);
	ck_assert_uint_le(n, 16);
	for (size_t i = 0; i < n; i++) {
		const struct item *e = &it[i];
		size_t dlen = strlen(e->data), nlen = strlen(e->name), blen = dlen;
		uint8_t body[4096];
		uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)e->data, (uInt)dlen);
		const char *ln = e->lname ? e->lname : e->name;
		uint32_t lcs, lus;

		if (e->deflate) {
			z_stream zs;

			memset(&zs, 0, sizeof(zs));
			ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY),
			    Z_OK);
			zs.next_in = (Bytef *)(uintptr_t)e->data;
			zs.avail_in = (uInt)dlen;
			zs.next_out = body;
			zs.avail_out = sizeof(body);
			ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
			blen = zs.total_out;
			deflateEnd(&zs);
		} else {
			memcpy(body, e->data, dlen);
		}
		lcs = e->set_lcsize ? e->lcsize : (uint32_t)blen;
		lus = e->set_lusize ? e->lusize : (uint32_t)dlen;
		if (e->zip64_local)
			lcs = lus = 0xffffffffu;
		offs[i] = (uint32_t)(p - z);
		p = put32(p, 0x04034b50u);
		p = put16(p, 20);
		p = put16(p, e->set_lflags ? e->lflags : e->flags);
		p = put16(p, e->set_lmethod ? e->lmethod : (e->deflate ? 8 : 0));
		p = put32(p, 0x58210000u);
		p = put32(p, e->set_lcrc ? e->lcrc : crc);
		p = put32(p, lcs);
		p = put32(p, lus);
		p = put16(p, (uint32_t)strlen(ln));
		p = put16(p, e->zip64_local ? 20 : 0);
		memcpy(p, ln, strlen(ln));
		p += strlen(ln);
		if (e->zip64_local) {
			p = put16(put16(p, 1), 16);
			p = put64(p, dlen + e->z64_usize_delta);
			p = put64(p, blen);
		}
		memcpy(p, body, blen);
		p += blen;
		if (e->descriptor) {
			if (e->descriptor == 1)
				p = put32(p, 0x08074b50u);
			p = put32(p, crc);
			p = put32(p, (uint32_t)blen);
			p = put32(p, (uint32_t)dlen + e->dd_usize_delta);
		}
		q = put32(q, 0x02014b50u);
		q = put16(q, 0x0314);
		q = put16(q, 20);
		q = put16(q, e->flags);
		q = put16(q, e->deflate ? 8 : 0);
		q = put32(q, 0x58210000u);
		q = put32(q, crc);
		q = put32(q, (uint32_t)blen);
		q = put32(q, (uint32_t)dlen);
		q = put16(q, (uint32_t)nlen);
		q = put16(q, 0);
		q = put16(q, 0);
		q = put16(q, 0);
		q = put16(q, 0);
		q = put32(q, 0100644u << 16);
		q = put32(q, offs[i]);
		memcpy(q, e->name, nlen);
		q += nlen;
	}
	{
		uint32_t cdoff = (uint32_t)(p - z), cdlen = (uint32_t)(q - cd);

		memcpy(p, cd, cdlen);
		p += cdlen;
		p = put32(p, 0x06054b50u);
		p = put32(p, 0);
		p = put16(p, (uint32_t)n);
		p = put16(p, (uint32_t)n);
		p = put32(p, cdlen);
		p = put32(p, cdoff);
		p = put16(p, 0);
	}
	free(cd);
	*len = (size_t)(p - z);
	return z;
}

/*
 * Read every entry of z through zipio_read (or zipio_view for stored ones
 * when view is set): ABK_OK, or the first error with its text in *err.
 */
static int
read_all(const uint8_t *z, size_t len, int view, abk_err *err)
{
	zipio_reader *r;
	struct zipio_entry e;
	uint8_t buf[512];
	int rc, more;

	abk_err_clear(err);
	if ((rc = zipio_reader_open(z, len, NULL, &r, err)) != ABK_OK)
		return rc;
	while ((more = zipio_next(r, &e, err)) == 1) {
		const uint8_t *v;
		size_t vl;
		ssize_t got;

		if (view && (rc = zipio_view(r, &v, &vl, err)) != 0) {
			if (rc < 0)
				break;
			continue;
		}
		while ((got = zipio_read(r, buf, sizeof(buf), err)) > 0)
			;
		if (got < 0) {
			more = (int)got;
			break;
		}
	}
	rc = more < 0 ? more : ABK_OK;
	if (rc == ABK_OK && view && err->code != ABK_OK)
		rc = err->code;
	zipio_reader_free(r);
	return rc;
}

/* Craft, read both ways, expect want and (if refused) the words in the error. */
static void
expect(const struct item *it, size_t n, int want, const char *words)
{
	abk_err err = ABK_ERR_INIT;
	size_t len;
	uint8_t *z = craft(it, n, &len);

	for (int view = 0; view < 2; view++) {
		int rc = read_all(z, len, view, &err);

		ck_assert_msg(rc == want, "%s (view %d): got %d: %s", it[n - 1].name, view, rc,
		    err.msg);
		if (words != NULL)
			ck_assert_msg(strstr(err.msg, words) != NULL &&
			    strstr(err.msg, it[n - 1].name) != NULL,
			    "message names entry and field: %s", err.msg);
	}
	free(z);
}

START_TEST(test_honest_crafted)
{
	struct item it[] = {
		{ .name = "a", .data = "hello" },
		{ .name = "b/c", .data = "hello hello hello hello", .deflate = 1 },
	};

	expect(it, 2, ABK_OK, NULL);
}
END_TEST

START_TEST(test_local_name)
{
	struct item it[] = { { .name = "a", .data = "x" },
	    { .name = "good", .data = "data", .lname = "evil" } };

	expect(it, 2, ABK_E_ZIP, "local header names another file");
}
END_TEST

START_TEST(test_local_flags)
{
	struct item utf8[] = { { .name = "f", .data = "data", .set_lflags = 1,
	    .lflags = 1u << 11 } };
	struct item bit3[] = { { .name = "f", .data = "data", .set_lflags = 1, .lflags = 8 } };

	expect(utf8, 1, ABK_E_ZIP, "flags");
	expect(bit3, 1, ABK_E_ZIP, "flags");
}
END_TEST

/* minizip's own comparison catches these (flag bit 3 clear). */
START_TEST(test_local_method_crc_sizes)
{
	struct item m[] = { { .name = "f", .data = "data", .set_lmethod = 1, .lmethod = 8 } };
	struct item c[] = { { .name = "f", .data = "data", .set_lcrc = 1, .lcrc = 7 } };
	struct item s[] = { { .name = "f", .data = "data", .set_lusize = 1, .lusize = 2,
	    .set_lcsize = 1, .lcsize = 2 } };

	expect(m, 1, ABK_E_ZIP, "disagrees with the central directory");
	expect(c, 1, ABK_E_ZIP, "disagrees with the central directory");
	expect(s, 1, ABK_E_ZIP, "disagrees with the central directory");
}
END_TEST

/* Sizes after the data (flag bit 3): zeros in the local header are the
 * rule, but the descriptor must then tell the truth. */
START_TEST(test_descriptor)
{
	struct item sig[] = { { .name = "f", .data = "streamed data streamed data",
	    .deflate = 1, .flags = 8, .set_lcrc = 1, .set_lcsize = 1, .set_lusize = 1,
	    .descriptor = 1 }, { .name = "g", .data = "next" } };
	struct item nosig[] = { { .name = "f", .data = "stored", .flags = 8,
	    .set_lcrc = 1, .set_lcsize = 1, .set_lusize = 1, .descriptor = 2 } };
	struct item lie[] = { { .name = "f", .data = "streamed data streamed data",
	    .deflate = 1, .flags = 8, .set_lcrc = 1, .set_lcsize = 1, .set_lusize = 1,
	    .descriptor = 1, .dd_usize_delta = 1000 } };
	struct item none[] = { { .name = "f", .data = "stored", .flags = 8,
	    .set_lcrc = 1, .set_lcsize = 1, .set_lusize = 1 } };
	struct item half[] = { { .name = "f", .data = "streamed data", .flags = 8,
	    .set_lusize = 1, .lusize = 3, .descriptor = 1 } };

	expect(sig, 2, ABK_OK, NULL);
	expect(nosig, 1, ABK_OK, NULL);
	expect(lie, 1, ABK_E_ZIP, "data descriptor's size");
	expect(none, 1, ABK_E_ZIP, "data descriptor");
	expect(half, 1, ABK_E_ZIP, "local header's size (3)");
}
END_TEST

/* A local header that understates the size without flag bit 3. */
START_TEST(test_understated)
{
	struct item zero[] = { { .name = "f", .data = "some data", .deflate = 1,
	    .set_lcsize = 1, .set_lusize = 1, .set_lcrc = 1 } };

	expect(zero, 1, ABK_E_ZIP, "disagrees with the central directory");
}
END_TEST

START_TEST(test_zip64_local)
{
	struct item good[] = { { .name = "f", .data = "zip64 local", .zip64_local = 1 } };
	struct item bad[] = { { .name = "f", .data = "zip64 local", .zip64_local = 1,
	    .z64_usize_delta = 1u << 20 } };

	expect(good, 1, ABK_OK, NULL);
	/* minizip skips its size check on 0xFFFFFFFF: only ours sees this */
	expect(bad, 1, ABK_E_ZIP, "local header's size");
}
END_TEST

/* The pure function on cut-short input never reads past it. */
START_TEST(test_check_short_input)
{
	abk_err err = ABK_ERR_INIT;
	struct item it[] = { { .name = "name", .data = "data", .flags = 8, .set_lcrc = 1,
	    .set_lcsize = 1, .set_lusize = 1, .descriptor = 1 } };
	struct zipio_central c = { "name", 4, 8, 0, 0, 4, 4 };
	size_t len, dd;
	uint8_t *z = craft(it, 1, &len);

	c.crc = (uint32_t)crc32(0L, (const Bytef *)"data", 4);
	for (size_t n = 0; n < 34; n++) {
		uint8_t *lh = malloc(n ? n : 1);

		memcpy(lh, z, n);
		ck_assert_int_eq(zipio_local_check(&c, lh, n, z + 38, 16, &dd, &err), ABK_E_ZIP);
		free(lh);
	}
	for (size_t n = 0; n < 16; n++) {
		uint8_t *d = malloc(n ? n : 1);

		memcpy(d, z + 38, n);
		ck_assert_int_eq(zipio_local_check(&c, z, 34, d, n, &dd, &err), ABK_E_ZIP);
		free(d);
	}
	ck_assert_int_eq(zipio_local_check(&c, z, 34, z + 38, 16, &dd, &err), ABK_OK);
	ck_assert_uint_eq(dd, 16);
	free(z);
}
END_TEST

static int
sh(const char *cmd)
{
	int rc = system(cmd);

	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void
read_file_zip(const char *path, int min)
{
	abk_err err = ABK_ERR_INIT;
	zipio_reader *r;
	struct zipio_entry e;
	uint8_t buf[4096];
	int more, n = 0;

	ck_assert_msg(zipio_reader_open_file(path, NULL, &r, &err) == ABK_OK, "%s", err.msg);
	while ((more = zipio_next(r, &e, &err)) == 1) {
		ssize_t got;

		n++;
		while ((got = zipio_read(r, buf, sizeof(buf), &err)) > 0)
			;
		ck_assert_msg(got == 0, "%s: %s", path, err.msg);
	}
	ck_assert_msg(more == 0, "%s: %s", path, err.msg);
	ck_assert_int_ge(n, min);
	zipio_reader_free(r);
}

/* Zips made by Info-ZIP, written to a file and streamed to a pipe (flag
 * bit 3, data descriptors), read through the file reader; unzip -t agrees. */
START_TEST(test_infozip)
{
	char dir[] = "/tmp/zipio_local.XXXXXX", cmd[1024];

	if (sh("command -v zip >/dev/null && command -v unzip >/dev/null") != 0)
		return;	/* Info-ZIP not installed: nothing to compare with */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cd %s && mkdir d && printf 'hello\\n' >d/a && "
	    "head -c 300000 /dev/zero >d/zeros && seq 1 20000 >d/text && ln -s a d/l && "
	    "zip -qry plain.zip d && zip -qr - d | cat >streamed.zip && "
	    "cat d/text | zip -q - - >stdin.zip && "
	    "unzip -tqq plain.zip && unzip -tqq streamed.zip && unzip -tqq stdin.zip", dir);
	ck_assert_int_eq(sh(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/plain.zip", dir);
	read_file_zip(cmd, 5);
	snprintf(cmd, sizeof(cmd), "%s/streamed.zip", dir);
	read_file_zip(cmd, 5);
	snprintf(cmd, sizeof(cmd), "%s/stdin.zip", dir);
	read_file_zip(cmd, 1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(sh(cmd), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("zipio_local");
	TCase *tc = tcase_create("local header");

	tcase_add_test(tc, test_honest_crafted);
	tcase_add_test(tc, test_local_name);
	tcase_add_test(tc, test_local_flags);
	tcase_add_test(tc, test_local_method_crc_sizes);
	tcase_add_test(tc, test_descriptor);
	tcase_add_test(tc, test_understated);
	tcase_add_test(tc, test_zip64_local);
	tcase_add_test(tc, test_check_short_input);
	tcase_add_test(tc, test_infozip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
