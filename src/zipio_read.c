/*
 * zipio_read.c - reading zip archives from memory or a file over minizip 1.1,
 * with every bound checked before an entry's data is touched.
 *
 * minizip gets a byte source (memory, or pread on a file) through its
 * zlib_filefunc64_def callbacks.  Before an entry is opened its declared
 * size, compression ratio, method and flags are checked; its data must lie
 * inside the archive and after the previous entry's (overlapping entries
 * are how a small archive expands without bound).
 *
 * Two minizip 1.1 habits are worked around:
 * - it checks the CRC only when exactly the declared size came out, so a
 *   deflate stream that ends early would pass: zipio_read counts bytes.
 * - Debian's build compares zip64 markers with (unsigned long)-1, which never
 *   matches on 64-bit Linux, so it cannot read zip64 sizes or offsets; such
 *   entries are refused with a clear error instead of being misread.  Our
 *   batches never need zip64; Info-ZIP reads the large --zip archives.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32.h"
#include "zipio.h"
#include "zipio_bytes.h"
#include "zipio_int.h"

/* ---- byte source (reader side) ------------------------------------------ */

struct zipio_src {
	const uint8_t *data;	/* NULL: read fd */
	int fd;
	uint64_t size;
	uint64_t pos;
	int err;		/* errno of a failed pread */
	int short_read;		/* a read went past the end */
};

static uLong
src_read(voidpf opaque, voidpf stream, void *buf, uLong size)
{
	struct zipio_src *s = opaque;
	uint64_t avail = s->size > s->pos ? s->size - s->pos : 0;
	uLong want = size, done = 0;

	(void)stream;
	if (want > avail) {
		want = (uLong)avail;
		s->short_read = 1;
	}
	if (s->data != NULL) {
		if (want > 0)
			memcpy(buf, s->data + s->pos, want);
		done = want;
	} else {
		while (done < want) {
			ssize_t n = pread(s->fd, (uint8_t *)buf + done, want - done,
			    (off_t)(s->pos + done));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (n < 0)
					s->err = errno;
				else
					s->short_read = 1;
				break;
			}
			done += (uLong)n;
		}
	}
	s->pos += done;
	return done;
}

static uLong
src_write(voidpf opaque, voidpf stream, const void *buf, uLong size)
{
	(void)opaque;
	(void)stream;
	(void)buf;
	(void)size;
	return 0;
}

static ZPOS64_T
src_tell(voidpf opaque, voidpf stream)
{
	(void)stream;
	return ((struct zipio_src *)opaque)->pos;
}

static long
src_seek(voidpf opaque, voidpf stream, ZPOS64_T off, int origin)
{
	struct zipio_src *s = opaque;
	uint64_t from, to;

	(void)stream;
	switch (origin) {
	case ZLIB_FILEFUNC_SEEK_SET:
		from = 0;
		break;
	case ZLIB_FILEFUNC_SEEK_CUR:
		from = s->pos;
		break;
	case ZLIB_FILEFUNC_SEEK_END:
		from = s->size;
		break;
	default:
		return -1;
	}
	/* minizip moves back with a wrapped unsigned offset: add modulo 2^64,
	 * then refuse anything outside the archive (offsets come from it). */
	to = from + off;
	if (to > s->size || (origin == ZLIB_FILEFUNC_SEEK_SET && off > s->size)) {
		s->short_read = 1;
		return -1;
	}
	s->pos = to;
	return 0;
}

/* A read past the end is an error too: minizip takes a short read that
 * is not flagged here for a zero byte (a missing last byte would pass). */
static int
src_error(voidpf opaque, voidpf stream)
{
	const struct zipio_src *s = opaque;

	(void)stream;
	return s->err != 0 || s->short_read;
}

/* ---- reader ------------------------------------------------------------- */

struct zipio_reader {
	struct zipio_src src;
	unzFile uf;
	struct zipio_limits lim;
	uint64_t count;		/* entries declared */
	uint64_t index;		/* of the current entry */
	int started;
	int entry_open;		/* minizip has the current entry open */
	uint64_t delivered;	/* bytes of it given to the caller */
	uint64_t next_data;	/* where the next entry's data may start */
	uint64_t data_pos;	/* where the current entry's data starts */
	uint16_t flags;		/* its central general purpose bits */
	uint8_t *local;		/* its local header, for an archive on disk */
	struct zipio_entry cur;
	char *name;
	size_t name_cap;
	uint8_t *extra;
	int failed;
};

static int
reader_fail(zipio_reader *r, int code)
{
	r->failed = code;
	return code;
}

static int
reader_zip_error(zipio_reader *r, abk_err *err, int zrc, const char *what,
    const char *name)
{
	return reader_fail(r, zipio_zip_error(err, zrc, r->src.err, r->src.short_read, what, name));
}

/*
 * An archive of no entries: only the end of central directory record, at
 * offset 0.  minizip 1.1 cannot open it (its search reports a record at
 * offset 0 as "not found"), yet it is a valid zip (Info-ZIP writes it) and a
 * batch made only of reused pieces carries one (PROTOCOL.md).
 */
static int
archive_is_empty(struct zipio_src *s)
{
	uint8_t eocd[ZIPIO_EOCD_LEN];
	uLong got;

	if (s->size < ZIPIO_EOCD_LEN || s->size > ZIPIO_EOCD_LEN + 0xffffu)
		return 0;
	s->pos = 0;
	got = src_read(s, NULL, eocd, sizeof(eocd));
	s->pos = 0;
	s->short_read = 0;
	if (got != sizeof(eocd)) {
		s->err = 0;
		return 0;
	}
	return memcmp(eocd, "PK\5\6", 4) == 0 &&
	    memcmp(eocd + 4, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0 &&
	    (uint64_t)(eocd[20] | eocd[21] << 8) == s->size - ZIPIO_EOCD_LEN;
}

static int
reader_open(zipio_reader *r, const struct zipio_limits *lim, abk_err *err)
{
	zlib_filefunc64_def ff = {
		.zopen64_file = zipio_io_open,
		.zread_file = src_read,
		.zwrite_file = src_write,
		.ztell64_file = src_tell,
		.zseek64_file = src_seek,
		.zclose_file = zipio_io_close,
		.zerror_file = src_error,
		.opaque = &r->src,
	};
	unz_global_info64 gi;
	int rc;

	if (lim != NULL)
		r->lim = *lim;
	if (archive_is_empty(&r->src)) {
		r->count = 0;	/* r->uf stays NULL: zipio_next ends at once */
		return ABK_OK;
	}
	if ((r->uf = unzOpen2_64("zipio", &ff)) == NULL) {
		if (r->src.err != 0)
			return abk_err_set(err, ABK_E_IO, "open zip: %s", strerror(r->src.err));
		return abk_err_set(err, ABK_E_ZIP,
		    "not a zip archive, or truncated (no valid end of central directory)");
	}
	if ((rc = unzGetGlobalInfo64(r->uf, &gi)) != UNZ_OK)
		return reader_zip_error(r, err, rc, "read zip", "directory");
	r->count = gi.number_entry;
	if (r->count > r->src.size / ZIPIO_CENTRAL_HDR)
		return abk_err_set(err, ABK_E_ZIP, "zip claims %llu entries, more than fit in %llu bytes",
		    (unsigned long long)r->count, (unsigned long long)r->src.size);
	if (r->lim.max_entries && r->count > r->lim.max_entries)
		return abk_err_set(err, ABK_E_LIMIT, "zip has %llu entries, limit is %llu",
		    (unsigned long long)r->count, (unsigned long long)r->lim.max_entries);
	return ABK_OK;
}

int
zipio_reader_open(const void *data, size_t len, const struct zipio_limits *limits,
    zipio_reader **out, abk_err *err)
{
	zipio_reader *r;
	int rc;

	if (out == NULL || (data == NULL && len > 0))
		return abk_err_set(err, ABK_E_USAGE, "zipio_reader_open: NULL argument");
	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "zip reader: out of memory");
	r->src.data = data ? data : (const uint8_t *)"";
	r->src.fd = -1;
	r->src.size = len;
	if ((rc = reader_open(r, limits, err)) != ABK_OK) {
		zipio_reader_free(r);
		return rc;
	}
	*out = r;
	return ABK_OK;
}

int
zipio_reader_open_file(const char *path, const struct zipio_limits *limits,
    zipio_reader **out, abk_err *err)
{
	zipio_reader *r;
	struct stat st;
	int rc;

	if (path == NULL || out == NULL)
		return abk_err_set(err, ABK_E_USAGE, "zipio_reader_open_file: NULL argument");
	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "zip reader: out of memory");
	if ((r->src.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = abk_err_set(err, ABK_E_IO, "open %s: %s", path, strerror(errno));
		free(r);
		return rc;
	}
	if (fstat(r->src.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = abk_err_set(err, ABK_E_IO, "%s: not a regular file", path);
		zipio_reader_free(r);
		return rc;
	}
	r->src.size = (uint64_t)st.st_size;
	if ((rc = reader_open(r, limits, err)) != ABK_OK) {
		zipio_reader_free(r);
		return rc;
	}
	*out = r;
	return ABK_OK;
}

void
zipio_reader_free(zipio_reader *r)
{
	if (r == NULL)
		return;
	if (r->uf != NULL) {
		if (r->entry_open)
			(void)unzCloseCurrentFile(r->uf);
		(void)unzClose(r->uf);
	}
	if (r->src.data == NULL && r->src.fd >= 0)
		close(r->src.fd);
	free(r->name);
	free(r->extra);
	free(r->local);
	free(r);
}

uint64_t
zipio_reader_entries(const zipio_reader *r)
{
	return r ? r->count : 0;
}

/* Scan the central extra field for 0x5455 (mtime) and 0x0001 (zip64). */
static void
parse_extra(const uint8_t *p, size_t n, const tm_unz *dos, struct zipio_entry *e,
    int *have_ut)
{
	while (n >= 4) {
		uint32_t id = zipio_get16(p), sz = zipio_get16(p + 2);

		if (sz > n - 4)
			break;
		if (id == ZIPIO_EXTRA_ZIP64)
			e->zip64 = 1;
		if (id == ZIPIO_EXTRA_UT && sz >= 5 && (p[4] & 1)) {
			uint32_t v = zipio_get32(p + 5);

			/* Signed, unless the DOS year says it is past 2038. */
			if (v > INT32_MAX && dos->tm_year >= 2038)
				e->mtime = (int64_t)v;
			else
				e->mtime = v > INT32_MAX ? (int64_t)v - 4294967296LL : (int64_t)v;
			*have_ut = 1;
		}
		p += 4 + sz;
		n -= 4 + (size_t)sz;
	}
}

/* Type and permissions from the external attributes and the name. */
static int
entry_type(zipio_reader *r, const unz_file_info64 *fi, struct zipio_entry *e,
    abk_err *err)
{
	uint32_t umode = (uint32_t)(fi->external_fa >> 16);
	int slash = e->name_len > 0 && e->name[e->name_len - 1] == '/';

	if ((fi->version >> 8) == 3 && (umode & S_IFMT) != 0) {
		switch (umode & S_IFMT) {
		case S_IFREG:
			e->type = ZIPIO_FILE;
			break;
		case S_IFDIR:
			e->type = ZIPIO_DIR;
			break;
		case S_IFLNK:
			e->type = ZIPIO_SYMLINK;
			break;
		default:
			e->type = ZIPIO_OTHER;
			break;
		}
		e->mode = umode & 07777;
		if (slash && e->type != ZIPIO_DIR)
			return reader_fail(r, abk_err_set(err, ABK_E_ZIP,
			    "zip entry %s ends in '/' but is not a directory", e->name));
	} else {
		e->type = slash ? ZIPIO_DIR : ZIPIO_FILE;
		if ((fi->version >> 8) == 3 && umode != 0)
			e->mode = umode & 07777;
		else if (e->type == ZIPIO_DIR)
			e->mode = 0755;
		else
			e->mode = (fi->external_fa & ZIPIO_DOS_RDONLY) ? 0444 : 0644;
	}
	if (e->type == ZIPIO_DIR && e->size != 0)
		return reader_fail(r, abk_err_set(err, ABK_E_ZIP,
		    "zip directory entry %s carries data", e->name));
	return ABK_OK;
}

/* Bounds of zipio_limits and the shape of the data, before reading it. */
static int
entry_bounds(zipio_reader *r, const struct zipio_entry *e, abk_err *err)
{
	const struct zipio_limits *l = &r->lim;
	uint64_t u = e->size, c = e->csize;

	if (e->method != 0 && e->method != Z_DEFLATED)
		return reader_fail(r, abk_err_set(err, ABK_E_ZIP,
		    "zip entry %s: compression method %d (only store and deflate)",
		    e->name, e->method));
	if (e->method == 0 && u != c)
		return reader_fail(r, abk_err_set(err, ABK_E_ZIP,
		    "zip entry %s: stored with sizes %llu and %llu", e->name,
		    (unsigned long long)u, (unsigned long long)c));
	if (l->max_entry_size && u > l->max_entry_size)
		return reader_fail(r, abk_err_set(err, ABK_E_LIMIT,
		    "zip entry %s: %llu bytes, limit is %llu", e->name,
		    (unsigned long long)u, (unsigned long long)l->max_entry_size));
	if (l->max_ratio && u > l->ratio_min_size &&
	    (c == 0 || u / c > l->max_ratio || (u / c == l->max_ratio && u % c != 0)))
		return reader_fail(r, abk_err_set(err, ABK_E_LIMIT,
		    "zip entry %s: expands %llu bytes to %llu, ratio limit is %u",
		    e->name, (unsigned long long)c, (unsigned long long)u, l->max_ratio));
	return ABK_OK;
}

/* Fetch the current entry's header into r->cur. */
static int
entry_describe(zipio_reader *r, abk_err *err)
{
	struct zipio_entry *e = &r->cur;
	unz_file_info64 fi;
	int rc, have_ut = 0;

	if ((rc = unzGetCurrentFileInfo64(r->uf, &fi, NULL, 0, NULL, 0, NULL, 0)) != UNZ_OK)
		return reader_zip_error(r, err, rc, "read zip entry", "header");
	if (fi.size_filename + 1 > r->name_cap) {
		char *p = realloc(r->name, fi.size_filename + 1);

		if (p == NULL)
			return reader_fail(r, abk_err_set(err, ABK_E_NOMEM, "zip name: out of memory"));
		r->name = p;
		r->name_cap = fi.size_filename + 1;
	}
	if (r->extra == NULL && (r->extra = malloc(0xffff)) == NULL)
		return reader_fail(r, abk_err_set(err, ABK_E_NOMEM, "zip extra: out of memory"));
	rc = unzGetCurrentFileInfo64(r->uf, &fi, r->name, (uLong)r->name_cap,
	    r->extra, 0xffff, NULL, 0);
	if (rc != UNZ_OK)
		return reader_zip_error(r, err, rc, "read zip entry", "header");
	r->name[fi.size_filename] = '\0';
	if (fi.uncompressed_size == 0xffffffffu || fi.compressed_size == 0xffffffffu)
		return reader_fail(r, abk_err_set(err, ABK_E_ZIP,
		    "zip entry %s: zip64 sizes, which the minizip in use cannot read",
		    r->name));

	memset(e, 0, sizeof(*e));
	e->name = r->name;
	e->name_len = fi.size_filename;
	e->name_has_nul = strlen(r->name) != e->name_len;
	e->size = fi.uncompressed_size;
	e->csize = fi.compressed_size;
	e->crc = (uint32_t)fi.crc;
	e->method = (int)fi.compression_method;
	e->utf8 = (fi.flag & ZIPIO_GPBF_UTF8) != 0;
	r->flags = (uint16_t)fi.flag;
	e->index = r->index;
	e->zip64 = e->size >= 0xffffffffu || e->csize >= 0xffffffffu;
	parse_extra(r->extra, fi.size_file_extra > 0xffff ? 0xffff : fi.size_file_extra,
	    &fi.tmu_date, e, &have_ut);
	if (!have_ut) {
		struct tm tm = {
			.tm_sec = (int)fi.tmu_date.tm_sec,
			.tm_min = (int)fi.tmu_date.tm_min,
			.tm_hour = (int)fi.tmu_date.tm_hour,
			.tm_mday = (int)fi.tmu_date.tm_mday,
			.tm_mon = (int)fi.tmu_date.tm_mon,
			.tm_year = (int)fi.tmu_date.tm_year - 1900,
			.tm_isdst = -1,
		};

		e->mtime = (int64_t)mktime(&tm);
	}
	if (fi.flag & 1)
		return reader_fail(r, abk_err_set(err, ABK_E_ZIP,
		    "zip entry %s is encrypted", e->name));
	if ((rc = entry_type(r, &fi, e, err)) != ABK_OK)
		return rc;
	return entry_bounds(r, e, err);
}

/*
 * n bytes of the archive at off: in place for an archive in memory, else
 * read into r->local + at (the caller checked that they lie inside).  NULL when
 * the file could not be read.  minizip seeks before each read it makes, so
 * moving the position here is harmless; it is restored anyway.
 */
static const uint8_t *
src_bytes(zipio_reader *r, uint64_t off, size_t n, size_t at)
{
	struct zipio_src *s = &r->src;
	uint64_t keep = s->pos;
	uLong got;

	if (s->data != NULL)
		return s->data + off;
	if (r->local == NULL &&
	    (r->local = malloc(ZIPIO_LOCAL_HDR + 2 * 0xffffu + ZIPIO_DESCRIPTOR_MAX)) == NULL)
		return NULL;
	s->pos = off;
	got = src_read(s, NULL, r->local + at, (uLong)n);
	s->pos = keep;
	return got == n ? r->local + at : NULL;
}

/*
 * The current entry's local header (and data descriptor) against the central
 * directory, through zipio_local_check: the one place every reader path
 * (zipio_read, zipio_view, zipio_read_all) passes.  pos is where minizip
 * found the data, after the local header it read: 30 bytes, the name (its
 * length checked equal by minizip) and the local extra field.  *dd gets the
 * descriptor's length.
 */
static int
entry_local(zipio_reader *r, uint64_t pos, size_t *dd, abk_err *err)
{
	struct zipio_central c = {
		.name = r->cur.name, .name_len = r->cur.name_len, .flags = r->flags,
		.method = (uint16_t)r->cur.method, .crc = r->cur.crc,
		.csize = r->cur.csize, .usize = r->cur.size,
	};
	int lextra = unzGetLocalExtrafield(r->uf, NULL, 0);
	uint64_t lhlen, end = pos + r->cur.csize;
	size_t ddlen = 0;
	const uint8_t *lh, *desc = NULL;
	int rc;

	*dd = 0;
	lhlen = ZIPIO_LOCAL_HDR + (uint64_t)r->cur.name_len + (uint64_t)(lextra < 0 ? 0 : lextra);
	if (lextra < 0 || pos < lhlen)
		return reader_fail(r, abk_err_set(err, ABK_E_ZIP,
		    "zip entry %s: local header outside the archive", r->cur.name));
	if (pos - lhlen < r->next_data)
		return reader_fail(r, abk_err_set(err, ABK_E_ZIP,
		    "zip entry %s: local header overlaps the previous entry", r->cur.name));
	if (r->flags & 8) {	/* the data descriptor, after the room for lh */
		ddlen = r->src.size - end < ZIPIO_DESCRIPTOR_MAX ? (size_t)(r->src.size - end) :
		    ZIPIO_DESCRIPTOR_MAX;
		if (ddlen > 0 && (desc = src_bytes(r, end, ddlen,
		    ZIPIO_LOCAL_HDR + 2 * 0xffffu)) == NULL)
			return reader_fail(r, abk_err_set(err, ABK_E_IO, "read zip entry %s: %s",
			    r->cur.name, r->src.err ? strerror(r->src.err) : "short read"));
	}
	if ((lh = src_bytes(r, pos - lhlen, (size_t)lhlen, 0)) == NULL)
		return reader_fail(r, abk_err_set(err, ABK_E_IO, "read zip entry %s: %s",
		    r->cur.name, r->src.err ? strerror(r->src.err) : "short read"));
	rc = zipio_local_check(&c, lh, (size_t)lhlen, desc, ddlen, dd, err);
	return rc == ABK_OK ? ABK_OK : reader_fail(r, rc);
}

int
zipio_next(zipio_reader *r, struct zipio_entry *e, abk_err *err)
{
	uint64_t pos;
	size_t dd;
	int rc;

	if (r == NULL || e == NULL)
		return abk_err_set(err, ABK_E_USAGE, "zipio_next: NULL argument");
	if (r->failed)
		return abk_err_set(err, r->failed, "zip reader stopped after an earlier error");
	if (r->entry_open) {
		(void)unzCloseCurrentFile(r->uf);	/* skipped, unverified */
		r->entry_open = 0;
	}
	if (r->count == 0 || (r->started && r->index + 1 >= r->count))
		return 0;
	if (!r->started) {
		rc = unzGoToFirstFile(r->uf);
		r->started = 1;
	} else {
		rc = unzGoToNextFile(r->uf);
		r->index++;
	}
	if (rc == UNZ_END_OF_LIST_OF_FILE)
		return reader_fail(r, abk_err_set(err, ABK_E_ZIP,
		    "zip central directory ends before its %llu entries",
		    (unsigned long long)r->count));
	if (rc != UNZ_OK)
		return reader_zip_error(r, err, rc, "read zip", "directory");
	if ((rc = entry_describe(r, err)) != ABK_OK)
		return rc;
	/* Open it now: minizip checks the local header against the central. */
	rc = unzOpenCurrentFile(r->uf);
	/* Before the data, minizip's own comparison of the local header with
	 * the central directory is the only check that can fail: refused with
	 * the same words as entry_local's finer one. */
	if (rc == UNZ_BADZIPFILE && r->src.err == 0 && !r->src.short_read)
		return reader_fail(r, abk_err_set(err, ABK_E_ZIP, "zip entry %s: the local "
		    "header is missing or disagrees with the central directory (signature, "
		    "method, CRC-32, sizes or name length)", r->cur.name));
	if (rc != UNZ_OK)
		return reader_zip_error(r, err, rc, "open zip entry", r->cur.name);
	r->entry_open = 1;
	r->delivered = 0;
	/* Data must follow the previous entry's and lie inside the archive:
	 * overlapping entries are how small archives expand without bound. */
	pos = unzGetCurrentFileZStreamPos64(r->uf);
	if (pos < r->next_data)
		return reader_fail(r, abk_err_set(err, ABK_E_ZIP,
		    "zip entry %s overlaps the previous one", r->cur.name));
	if (pos > r->src.size || r->cur.csize > r->src.size - pos)
		return reader_fail(r, abk_err_set(err, ABK_E_ZIP,
		    "zip archive truncated: entry %s runs past its end", r->cur.name));
	if ((rc = entry_local(r, pos, &dd, err)) != ABK_OK)
		return rc;
	r->data_pos = pos;
	r->next_data = pos + r->cur.csize + dd;
	*e = r->cur;
	return 1;
}

ssize_t
zipio_read(zipio_reader *r, void *buf, size_t len, abk_err *err)
{
	int n, rc;

	if (r == NULL || buf == NULL || len == 0)
		return abk_err_set(err, ABK_E_USAGE, "zipio_read: bad argument");
	if (r->failed)
		return abk_err_set(err, r->failed, "zip reader stopped after an earlier error");
	if (!r->entry_open) {
		if (r->started && r->delivered == r->cur.size)
			return 0;
		return abk_err_set(err, ABK_E_USAGE, "zipio_read: no zip entry open");
	}
	if (len > ZIPIO_IO_MAX)
		len = ZIPIO_IO_MAX;
	n = unzReadCurrentFile(r->uf, buf, (unsigned)len);
	if (n < 0)
		return reader_zip_error(r, err, n, "read zip entry", r->cur.name);
	if (n > 0) {
		r->delivered += (uint64_t)n;
		if (r->delivered > r->cur.size)
			return reader_fail(r, abk_err_set(err, ABK_E_LIMIT,
			    "zip entry %s: more data than its declared %llu bytes",
			    r->cur.name, (unsigned long long)r->cur.size));
		return n;
	}
	/* End of the entry: length first (minizip checks the CRC only when
	 * the declared size came out), then the CRC. */
	rc = unzCloseCurrentFile(r->uf);
	r->entry_open = 0;
	if (r->delivered != r->cur.size)
		return reader_fail(r, abk_err_set(err, ABK_E_INTEGRITY,
		    "zip entry %s: data ends after %llu of %llu bytes", r->cur.name,
		    (unsigned long long)r->delivered, (unsigned long long)r->cur.size));
	if (rc != UNZ_OK)
		return reader_zip_error(r, err, rc, "check zip entry", r->cur.name);
	return 0;
}

int
zipio_view(zipio_reader *r, const uint8_t **data, size_t *len, abk_err *err)
{
	const uint8_t *p;
	uint64_t pos;

	if (r == NULL || data == NULL || len == NULL)
		return abk_err_set(err, ABK_E_USAGE, "zipio_view: NULL argument");
	if (r->failed)
		return abk_err_set(err, r->failed, "zip reader stopped after an earlier error");
	if (!r->entry_open || r->src.data == NULL || r->cur.method != 0 || r->delivered != 0)
		return 0;
	if (r->cur.csize != r->cur.size)
		return reader_fail(r, abk_err_set(err, ABK_E_INTEGRITY,
		    "zip entry %s: stored with %llu bytes but declares %llu", r->cur.name,
		    (unsigned long long)r->cur.csize, (unsigned long long)r->cur.size));
	/* zipio_next checked that [pos, pos + csize) lies inside the archive */
	pos = r->data_pos;
	p = r->src.data + pos;
	if (abk_crc32(0, p, (size_t)r->cur.size) != r->cur.crc)
		return reader_fail(r, abk_err_set(err, ABK_E_INTEGRITY,
		    "zip entry %s: CRC-32 mismatch", r->cur.name));
	(void)unzCloseCurrentFile(r->uf);	/* nothing read: minizip checks nothing */
	r->entry_open = 0;
	r->delivered = r->cur.size;
	*data = p;
	*len = (size_t)r->cur.size;
	return 1;
}

int
zipio_read_all(zipio_reader *r, void *buf, size_t cap, size_t *len_out,
    abk_err *err)
{
	uint8_t one;
	size_t done = 0;
	ssize_t n;

	if (r == NULL || len_out == NULL || (buf == NULL && cap > 0))
		return abk_err_set(err, ABK_E_USAGE, "zipio_read_all: NULL argument");
	/* Too big: refused, the reader stays usable (zipio_next skips it). */
	if (r->entry_open && r->cur.size > cap)
		return abk_err_set(err, ABK_E_LIMIT, "zip entry %s: %llu bytes, room for %zu",
		    r->cur.name, (unsigned long long)r->cur.size, cap);
	/* The last call, into a spare byte, verifies the entry. */
	while ((n = zipio_read(r, done < cap ? (uint8_t *)buf + done : &one,
	    done < cap ? cap - done : 1, err)) > 0) {
		if (done >= cap)
			return reader_fail(r, abk_err_set(err, ABK_E_LIMIT,
			    "zip entry %s: more than %zu bytes", r->cur.name, cap));
		done += (size_t)n;
	}
	if (n < 0)
		return (int)n;
	*len_out = done;
	return ABK_OK;
}

int
zipio_central_directory(const uint8_t *zip, size_t len, const uint8_t **cd, size_t *cdlen,
    abk_err *err)
{
	const uint8_t *e;
	uint32_t size, offset;

	/* End of central directory record: 22 bytes, signature 0x06054b50. */
	if (len < 22)
		return abk_err_set(err, ABK_E_ZIP, "archive too short for a central directory");
	e = zip + len - 22;
	if (e[0] != 0x50 || e[1] != 0x4b || e[2] != 0x05 || e[3] != 0x06 ||
	    e[20] != 0 || e[21] != 0)
		return abk_err_set(err, ABK_E_ZIP, "archive does not end with a central directory");
	size = zipio_get32(e + 12);
	offset = zipio_get32(e + 16);
	if (offset == 0xffffffffu || size == 0xffffffffu || offset > len - 22 ||
	    size > len - 22 - offset)
		return abk_err_set(err, ABK_E_ZIP, "central directory outside the archive");
	*cd = zip + offset;
	*cdlen = size;
	return ABK_OK;
}

