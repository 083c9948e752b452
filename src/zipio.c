/*
 * zipio.c - writing zip archives, in memory and on disk, over minizip 1.1;
 * the compression decision; minizip error translation (zipio_read.c reads).
 *
 * minizip does the zip format; this file gives it a byte sink through its
 * zlib_filefunc64_def callbacks (a growable memory buffer, or a file written
 * with pwrite) and writes every entry the Info-ZIP way: Unix attributes,
 * DOS time plus the 0x5455 extended timestamp, UTF-8 flag.
 *
 * One minizip habit is corrected: it overwrites "version made by" with a
 * bare 45 (host MS-DOS) for zip64 entries and for entries past 4 GiB, which
 * would make unzip ignore their Unix modes and turn symlinks into files.
 * zipio_writer_finish captures the central directory and puts the Unix host
 * byte back in every header.
 *
 * Stored entries of memory archives (every batch on a fast link) skip
 * minizip's byte-by-byte data copy: add_stored_direct reads the data into
 * its place in the archive and has minizip write the headers in raw mode;
 * the compressed size minizip could not count is set in both headers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32.h"
#include "fsops.h"
#include "zipio.h"
#include "zipio_bytes.h"
#include "zipio_int.h"

#define UT_LEN 9		/* id, size, flags, mtime */
#define LOCAL_HDR 30
#define DOS_TIME_MIN ((1ul << 21) | (1ul << 16))	/* 1980-01-01 00:00:00 */
#define DOS_TIME_MAX ((127ul << 25) | (12ul << 21) | (31ul << 16) | \
	(23ul << 11) | (59ul << 5) | 29ul)		/* 2107-12-31 23:59:58 */
#define STREAM_BLOCK (1u << 20)	/* pread size for ranges too big to preread */

/* ---- errors ------------------------------------------------------------- */

/* Translate a minizip/zlib return code into an abk code with a sentence. */
int
zipio_zip_error(abk_err *err, int zrc, int io_errno, int short_read, const char *what,
    const char *name)
{
	if (name == NULL)
		name = "";
	switch (zrc) {
	case Z_ERRNO:		/* ZIP_ERRNO, UNZ_ERRNO */
		if (io_errno == ENOMEM)
			return abk_err_set(err, ABK_E_NOMEM, "%s %s: out of memory", what, name);
		if (io_errno != 0)
			return abk_err_set(err, ABK_E_IO, "%s %s: %s", what, name, strerror(io_errno));
		if (short_read)
			return abk_err_set(err, ABK_E_ZIP, "%s %s: zip archive truncated (data past its end)",
			    what, name);
		return abk_err_set(err, ABK_E_IO, "%s %s: I/O error", what, name);
	case UNZ_BADZIPFILE:	/* ZIP_BADZIPFILE */
		return abk_err_set(err, ABK_E_ZIP, "%s %s: not a zip archive, or corrupt", what, name);
	case UNZ_CRCERROR:
		return abk_err_set(err, ABK_E_INTEGRITY, "%s %s: CRC-32 mismatch", what, name);
	case Z_DATA_ERROR:
		return abk_err_set(err, ABK_E_INTEGRITY, "%s %s: compressed data corrupt", what, name);
	case Z_BUF_ERROR:
		return abk_err_set(err, ABK_E_ZIP, "%s %s: compressed data truncated", what, name);
	case Z_MEM_ERROR:
		return abk_err_set(err, ABK_E_NOMEM, "%s %s: out of memory", what, name);
	case UNZ_PARAMERROR:	/* ZIP_PARAMERROR */
		return abk_err_set(err, ABK_E_INTERNAL, "%s %s: minizip rejected a parameter", what, name);
	case UNZ_INTERNALERROR:	/* ZIP_INTERNALERROR */
		return abk_err_set(err, ABK_E_INTERNAL, "%s %s: minizip internal error", what, name);
	default:
		return abk_err_set(err, ABK_E_ZIP, "%s %s: minizip error %d", what, name, zrc);
	}
}

/* ---- time --------------------------------------------------------------- */

/* DOS date/time (local time, as Info-ZIP writes it), clamped to 1980..2107. */
static uLong
dos_time(int64_t mtime)
{
	struct tm tm;
	time_t t = (time_t)mtime;

	/* 1980-01-01 and 2108-01-01 UTC, a day of margin for time zones */
	if (mtime > 4354819200LL + 86400)
		return DOS_TIME_MAX;
	if (mtime < 315532800 - 86400 || localtime_r(&t, &tm) == NULL ||
	    tm.tm_year < 80)
		return DOS_TIME_MIN;
	if (tm.tm_year > 207)
		return DOS_TIME_MAX;
	return ((uLong)(tm.tm_year - 80) << 25) | ((uLong)(tm.tm_mon + 1) << 21) |
	    ((uLong)tm.tm_mday << 16) | ((uLong)tm.tm_hour << 11) |
	    ((uLong)tm.tm_min << 5) | ((uLong)tm.tm_sec / 2);
}

/* The 0x5455 extra block: flags = mtime present, 32-bit UTC mtime. */
static size_t
ut_extra(uint8_t out[UT_LEN], int64_t mtime)
{
	uint32_t v;

	/* Beyond 32 bits only the DOS time remains.  Above INT32_MAX the
	 * value is unsigned; readers tell the two apart by the DOS year. */
	if (mtime < INT32_MIN || mtime > (int64_t)UINT32_MAX)
		return 0;
	v = (uint32_t)mtime;
	out[0] = ZIPIO_EXTRA_UT & 0xff;
	out[1] = ZIPIO_EXTRA_UT >> 8;
	out[2] = 5;
	out[3] = 0;
	out[4] = 1;
	for (int i = 0; i < 4; i++)
		out[5 + i] = (uint8_t)(v >> (8 * i));
	return UT_LEN;
}

/* ---- writer ------------------------------------------------------------- */

enum writer_state { W_OPEN, W_ENTRY, W_DONE, W_FAILED };

struct zipio_writer {
	struct zipio_sink sink;
	zipFile zf;
	enum writer_state state;
	int failed_code;
	uint64_t entries;
	uint64_t cd_size;	/* central directory bytes so far */
	/* the open entry */
	char entry_name[128];	/* for messages (may be truncated) */
	uint64_t entry_pos;	/* offset of its local header */
	uint64_t entry_data;	/* offset of its data */
	uint64_t entry_bytes;	/* uncompressed bytes written */
	size_t entry_cd;	/* its central header size before zip64 */
	int entry_zip64;
	uint8_t *scratch;	/* preread buffer of zipio_add_file */
	size_t scratch_cap;
};

static int
writer_fail(zipio_writer *w, int code)
{
	w->state = W_FAILED;
	w->failed_code = code;
	return code;
}

/* Refuse to work in a state other than want. */
static int
writer_check(zipio_writer *w, enum writer_state want, abk_err *err)
{
	if (w == NULL)
		return abk_err_set(err, ABK_E_USAGE, "zip writer is NULL");
	if (w->state == want)
		return ABK_OK;
	switch (w->state) {
	case W_FAILED:
		return abk_err_set(err, w->failed_code, "zip writer stopped after an earlier error");
	case W_DONE:
		return abk_err_set(err, ABK_E_USAGE, "zip archive already finished");
	case W_ENTRY:
		return abk_err_set(err, ABK_E_USAGE, "zip entry %s still open", w->entry_name);
	default:
		return abk_err_set(err, ABK_E_USAGE, "no zip entry open");
	}
}

static int
writer_open_zip(zipio_writer *w, abk_err *err)
{
	zlib_filefunc64_def ff;

	zipio_sink_filefunc(&w->sink, &ff);
	w->zf = zipOpen2_64("zipio", APPEND_STATUS_CREATE, NULL, &ff);
	if (w->zf == NULL)
		return writer_fail(w, zipio_zip_error(err, Z_ERRNO,
		    w->sink.err ? w->sink.err : ENOMEM, 0, "create zip", ""));
	w->state = W_OPEN;
	return ABK_OK;
}

static int
writer_alloc(int fd, zipio_writer **out, abk_err *err)
{
	zipio_writer *w;
	int rc;

	if (out == NULL)
		return abk_err_set(err, ABK_E_USAGE, "zipio_writer: out is NULL");
	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "zip writer: out of memory");
	w->sink.fd = fd;
	if ((rc = writer_open_zip(w, err)) != ABK_OK) {
		free(w->sink.buf);
		free(w);
		return rc;
	}
	*out = w;
	return ABK_OK;
}

int
zipio_writer_new(zipio_writer **out, abk_err *err)
{
	return writer_alloc(-1, out, err);
}

int
zipio_writer_open_file(const char *path, zipio_writer **out, abk_err *err)
{
	int fd, rc;

	if (path == NULL || out == NULL)
		return abk_err_set(err, ABK_E_USAGE, "zipio_writer_open_file: NULL argument");
	*out = NULL;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0)
		return abk_err_set(err, ABK_E_IO, "create %s: %s", path, strerror(errno));
	if ((rc = writer_alloc(fd, out, err)) != ABK_OK)
		close(fd);
	return rc;
}

/* Close minizip's archive and forget what it writes. */
static void
writer_abandon(zipio_writer *w)
{
	if (w->zf == NULL)
		return;
	w->sink.discard = 1;
	(void)zipClose(w->zf, NULL);
	w->zf = NULL;
	w->sink.discard = 0;
}

void
zipio_writer_free(zipio_writer *w)
{
	if (w == NULL)
		return;
	writer_abandon(w);
	if (w->sink.fd >= 0)
		close(w->sink.fd);
	free(w->sink.buf);
	free(w->scratch);
	free(w);
}

uint8_t *
zipio_writer_archive(zipio_writer *w)
{
	return w != NULL && w->state == W_DONE && w->sink.fd < 0 ? w->sink.buf : NULL;
}

int
zipio_writer_reset(zipio_writer *w, abk_err *err)
{
	if (w == NULL || w->sink.fd >= 0)
		return abk_err_set(err, ABK_E_USAGE, "only a memory zip writer can be reset");
	writer_abandon(w);
	w->sink.len = 0;
	w->sink.pos = w->sink.end = 0;
	w->sink.err = 0;
	w->entries = 0;
	w->cd_size = 0;
	w->failed_code = ABK_OK;
	return writer_open_zip(w, err);
}

/*
 * Open an entry.  unix_mode holds type and permission bits; the name is
 * the caller's (NUL-terminated, raw bytes, kept exactly: a backslash is a
 * name byte, and "version made by" Unix tells Info-ZIP not to convert it).
 */
static int
entry_open(zipio_writer *w, const char *name, uint32_t unix_mode, int64_t mtime,
    int level, uint64_t size_hint, int raw, abk_err *err)
{
	zip_fileinfo zi;
	uint8_t ut[UT_LEN];
	size_t namelen, utlen;
	int zip64, rc;

	if ((rc = writer_check(w, W_OPEN, err)) != ABK_OK)
		return rc;
	if (name == NULL || (namelen = strlen(name)) == 0 || namelen > ZIPIO_NAME_MAX)
		return abk_err_set(err, ABK_E_USAGE, "zip entry name empty or over %d bytes",
		    ZIPIO_NAME_MAX);
	if (level < 0 || level > 9)
		return abk_err_set(err, ABK_E_USAGE, "zip level %d for %s: not 0..9", level, name);

	memset(&zi, 0, sizeof(zi));
	zi.dosDate = dos_time(mtime);
	zi.external_fa = (uLong)unix_mode << 16;
	if (S_ISDIR(unix_mode))
		zi.external_fa |= ZIPIO_DOS_DIR;
	if (!(unix_mode & S_IWUSR))
		zi.external_fa |= ZIPIO_DOS_RDONLY;
	utlen = ut_extra(ut, mtime);
	zip64 = size_hint >= ZIPIO_ZIP64_THRESHOLD;

	w->entry_pos = w->sink.pos;
	rc = zipOpenNewFileInZip4_64(w->zf, name, &zi, ut, (uInt)utlen, ut,
	    (uInt)utlen, NULL, level == 0 ? 0 : Z_DEFLATED, level, raw, -MAX_WBITS,
	    DEF_MEM_LEVEL, Z_DEFAULT_STRATEGY, NULL, 0,
	    ZIPIO_MADE_BY_UNIX | (zip64 ? 45u : 20u),
	    zipio_name_is_utf8(name, namelen) ? ZIPIO_GPBF_UTF8 : 0, zip64);
	if (rc != ZIP_OK)
		return writer_fail(w, zipio_zip_error(err, rc, w->sink.err, 0, "add zip entry", name));
	w->state = W_ENTRY;
	snprintf(w->entry_name, sizeof(w->entry_name), "%s", name);
	w->entry_data = w->entry_pos + LOCAL_HDR + namelen + utlen + (zip64 ? 20 : 0);
	w->entry_bytes = 0;
	w->entry_cd = ZIPIO_CENTRAL_HDR + namelen + utlen;
	w->entry_zip64 = zip64;
	return ABK_OK;
}

int
zipio_write(zipio_writer *w, const void *data, size_t len, abk_err *err)
{
	const uint8_t *p = data;
	int rc;

	if ((rc = writer_check(w, W_ENTRY, err)) != ABK_OK)
		return rc;
	if (len > 0 && data == NULL)
		return abk_err_set(err, ABK_E_USAGE, "zipio_write: NULL data");
	if (!w->entry_zip64 && len >= ZIPIO_ZIP64_THRESHOLD - w->entry_bytes)
		return writer_fail(w, abk_err_set(err, ABK_E_USAGE,
		    "zip entry %s grew past 3.75 GiB but was announced smaller",
		    w->entry_name));
	while (len > 0) {
		unsigned n = len > ZIPIO_IO_MAX ? ZIPIO_IO_MAX : (unsigned)len;

		if ((rc = zipWriteInFileInZip(w->zf, p, n)) != ZIP_OK)
			return writer_fail(w, zipio_zip_error(err, rc, w->sink.err, 0,
			    "write zip entry", w->entry_name));
		p += n;
		len -= n;
		w->entry_bytes += n;
	}
	return ABK_OK;
}

/* Close the open entry: minizip writes its sizes and CRC-32 (raw: the
 * ones given, see add_stored_direct) and keeps its central header. */
static int
entry_close(zipio_writer *w, int raw, uint32_t raw_crc, uint32_t *crc_out, abk_err *err)
{
	uint8_t c[4];
	uint32_t crc;
	uint64_t csize;
	size_t z64 = 0;
	int rc;

	if ((rc = writer_check(w, W_ENTRY, err)) != ABK_OK)
		return rc;
	rc = raw ? zipCloseFileInZipRaw64(w->zf, w->entry_bytes, raw_crc) :
	    zipCloseFileInZip(w->zf);
	if (rc != ZIP_OK)
		return writer_fail(w, zipio_zip_error(err, rc, w->sink.err, 0,
		    "close zip entry", w->entry_name));
	if (raw) {
		/* minizip counts the compressed size from what went through
		 * it, nothing here: the local header gets the real one (the
		 * central header is mended in fix_central). */
		zipio_put32(w->sink.buf + (w->entry_pos + 18 - w->sink.base),
		    (uint32_t)w->entry_bytes);
		crc = raw_crc;
	} else if ((rc = zipio_sink_pread(&w->sink, c, sizeof(c), w->entry_pos + 14)) != 0) {
		/* minizip has patched the CRC into the local header: read it
		 * back rather than computing it twice. */
		return writer_fail(w, abk_err_set(err, ABK_E_IO, "read back zip entry %s: %s",
		    w->entry_name, strerror(rc)));
	} else {
		crc = zipio_get32(c);
	}
	if (crc_out != NULL)
		*crc_out = crc;
	/* Mirror minizip's central header, zip64 block included. */
	csize = w->sink.pos - w->entry_data;
	z64 += w->entry_bytes >= 0xffffffffu ? 8 : 0;
	z64 += csize >= 0xffffffffu ? 8 : 0;
	z64 += w->entry_pos >= 0xffffffffu ? 8 : 0;
	w->cd_size += w->entry_cd + (z64 ? z64 + 4 : 0);
	w->entries++;
	w->state = W_OPEN;
	return ABK_OK;
}

int
zipio_end_file(zipio_writer *w, uint32_t *crc_out, abk_err *err)
{
	return entry_close(w, 0, 0, crc_out, err);
}

int
zipio_begin_file(zipio_writer *w, const char *name, uint32_t mode, int64_t mtime,
    int level, uint64_t size_hint, abk_err *err)
{
	return entry_open(w, name, S_IFREG | (mode & 07777), mtime, level, size_hint, 0, err);
}

/* pread exactly len bytes; ABK_E_IO on error or if the file is shorter. */
static int
pread_full(int fd, void *buf, size_t len, uint64_t off, const char *name,
    abk_err *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return abk_err_set(err, ABK_E_IO, "read %s: %s", name, strerror(errno));
		if (n == 0)
			return abk_err_set(err, ABK_E_IO,
			    "read %s: file shrank (%zu of %zu bytes at offset %llu)",
			    name, done, len, (unsigned long long)off);
		done += (size_t)n;
	}
	return ABK_OK;
}

/*
 * A stored entry of a memory archive that needs no zip64 block can bypass
 * minizip's data path: zipWriteInFileInZip copies stored data byte by byte
 * into a 64 KiB buffer and then through sink_write, which was the biggest
 * cost of building a batch after the CRC.  Here the data is read (or
 * copied) straight to where it lands in the archive, the CRC-32 is taken
 * there, and minizip still writes every header, in raw mode.
 */
static int
direct_ok(const zipio_writer *w, int level, uint64_t len)
{
	return level == 0 && w->sink.fd < 0 && !w->sink.discard &&
	    w->sink.pos == w->sink.end && w->sink.pos < 0x7fffffffu &&
	    len < 0x7fffffffu - w->sink.pos;
}

static int
add_stored_direct(zipio_writer *w, const char *name, int fd, const void *data,
    uint64_t offset, size_t len, uint32_t mode, int64_t mtime, uint32_t *crc_out,
    abk_err *err)
{
	uint8_t ut[UT_LEN];
	size_t namelen, at;
	uint32_t crc;
	int rc;

	if ((rc = writer_check(w, W_OPEN, err)) != ABK_OK)
		return rc;
	if (name == NULL || (namelen = strlen(name)) == 0 || namelen > ZIPIO_NAME_MAX)
		return abk_err_set(err, ABK_E_USAGE, "zip entry name empty or over %d bytes",
		    ZIPIO_NAME_MAX);
	/* where entry_open's local header will end (no zip64 block) */
	at = (size_t)(w->sink.pos - w->sink.base) + LOCAL_HDR + namelen + ut_extra(ut, mtime);
	if ((rc = zipio_sink_grow(&w->sink, at + len)) != 0)
		return abk_err_set(err, ABK_E_NOMEM, "zip entry %s: out of memory", name);
	/* Data first: a file that shrank adds nothing. */
	if (fd >= 0) {
		if ((rc = pread_full(fd, w->sink.buf + at, len, offset, name, err)) != ABK_OK)
			return rc;
	} else if (len > 0) {
		memcpy(w->sink.buf + at, data, len);
	}
	crc = abk_crc32(0, w->sink.buf + at, len);
	if ((rc = entry_open(w, name, S_IFREG | (mode & 07777), mtime, 0, len, 1,
	    err)) != ABK_OK)
		return rc;
	if (w->entry_data - w->sink.base != at)
		return writer_fail(w, abk_err_set(err, ABK_E_INTERNAL,
		    "zip entry %s: local header of an unexpected size", name));
	w->sink.pos += len;
	w->sink.end = w->sink.pos;
	w->sink.len = at + len;
	w->entry_bytes = len;
	return entry_close(w, 1, crc, crc_out, err);
}

int
zipio_add_buffer(zipio_writer *w, const char *name, const void *data, size_t len,
    uint32_t mode, int64_t mtime, int level, uint32_t *crc_out, abk_err *err)
{
	int rc;

	if (w != NULL && direct_ok(w, level, len)) {
		if (len > 0 && data == NULL)
			return abk_err_set(err, ABK_E_USAGE, "zipio_add_buffer: NULL data");
		return add_stored_direct(w, name, -1, data, 0, len, mode, mtime, crc_out, err);
	}
	if ((rc = zipio_begin_file(w, name, mode, mtime, level, len, err)) != ABK_OK)
		return rc;
	if ((rc = zipio_write(w, data, len, err)) != ABK_OK)
		return rc;
	return zipio_end_file(w, crc_out, err);
}

static int
scratch_reserve(zipio_writer *w, size_t n, abk_err *err)
{
	uint8_t *p;

	if (n <= w->scratch_cap)
		return ABK_OK;
	if ((p = realloc(w->scratch, n)) == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "zip read buffer of %zu bytes: out of memory", n);
	w->scratch = p;
	w->scratch_cap = n;
	return ABK_OK;
}

int
zipio_add_file(zipio_writer *w, const char *name, int fd, uint64_t offset,
    uint64_t len, uint32_t mode, int64_t mtime, int level, uint32_t *crc_out,
    abk_err *err)
{
	int rc;

	if ((rc = writer_check(w, W_OPEN, err)) != ABK_OK)
		return rc;
	if (name == NULL || fd < 0 || offset > (uint64_t)INT64_MAX ||
	    len > (uint64_t)INT64_MAX - offset)
		return abk_err_set(err, ABK_E_USAGE, "zipio_add_file %s: bad name, fd or range",
		    name ? name : "(null)");
	if (direct_ok(w, level, len))
		return add_stored_direct(w, name, fd, NULL, offset, (size_t)len, mode, mtime,
		    crc_out, err);
	if (len <= ZIPIO_PREREAD_MAX) {
		/* Whole range first: a file that shrank adds nothing. */
		if ((rc = scratch_reserve(w, (size_t)len, err)) != ABK_OK ||
		    (rc = pread_full(fd, w->scratch, (size_t)len, offset, name, err)) != ABK_OK)
			return rc;
		return zipio_add_buffer(w, name, w->scratch, (size_t)len, mode, mtime,
		    level, crc_out, err);
	}
	if ((rc = scratch_reserve(w, STREAM_BLOCK, err)) != ABK_OK ||
	    (rc = zipio_begin_file(w, name, mode, mtime, level, len, err)) != ABK_OK)
		return rc;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done > STREAM_BLOCK ? STREAM_BLOCK : (size_t)(len - done);

		if ((rc = pread_full(fd, w->scratch, n, offset + done, name, err)) != ABK_OK)
			return writer_fail(w, rc);
		if ((rc = zipio_write(w, w->scratch, n, err)) != ABK_OK)
			return rc;
		done += n;
	}
	return zipio_end_file(w, crc_out, err);
}

int
zipio_add_symlink(zipio_writer *w, const char *name, const char *target,
    uint32_t mode, int64_t mtime, abk_err *err)
{
	size_t len;
	int rc;

	if (target == NULL || (len = strlen(target)) == 0)
		return abk_err_set(err, ABK_E_USAGE, "symlink %s: empty target", name ? name : "");
	mode &= 07777;
	if ((rc = entry_open(w, name, S_IFLNK | (mode ? mode : 0777), mtime, 0, len, 0,
	    err)) != ABK_OK)
		return rc;
	if ((rc = zipio_write(w, target, len, err)) != ABK_OK)
		return rc;
	return zipio_end_file(w, NULL, err);
}

int
zipio_add_dir(zipio_writer *w, const char *name, uint32_t mode, int64_t mtime,
    abk_err *err)
{
	char *slashed = NULL;
	size_t len;
	int rc;

	if (name == NULL || (len = strlen(name)) == 0)
		return abk_err_set(err, ABK_E_USAGE, "zip directory entry with an empty name");
	if (name[len - 1] != '/') {
		if ((slashed = malloc(len + 2)) == NULL)
			return abk_err_set(err, ABK_E_NOMEM, "zip directory %s: out of memory", name);
		memcpy(slashed, name, len);
		slashed[len] = '/';
		slashed[len + 1] = '\0';
		name = slashed;
	}
	rc = entry_open(w, name, S_IFDIR | (mode & 07777), mtime, 0, 0, 0, err);
	if (rc == ABK_OK)
		rc = zipio_end_file(w, NULL, err);
	free(slashed);
	return rc;
}

uint64_t
zipio_writer_size(const zipio_writer *w)
{
	uint64_t cd_end;

	if (w == NULL)
		return 0;
	if (w->state == W_DONE)
		return w->sink.end;
	cd_end = w->sink.end + w->cd_size;
	/* End of central directory, plus the zip64 record and locator.
	 * minizip versions differ on exactly 65535 entries (> or >=):
	 * count it, so the estimate is never below the real size. */
	if (w->sink.end >= 0xffffffffu || w->entries >= 0xffff)
		cd_end += 56 + 20;
	return cd_end + 22;
}

uint64_t
zipio_writer_entries(const zipio_writer *w)
{
	return w ? w->entries : 0;
}

/*
 * Put the Unix host byte back into "version made by" of every central
 * header (minizip writes a bare 45 for zip64 entries and offsets past 4 GiB).
 */
static int
fix_central(uint8_t *p, size_t n, uint64_t count, abk_err *err)
{
	size_t off = 0;

	for (uint64_t i = 0; i < count; i++) {
		size_t hdr;

		if (n - off < ZIPIO_CENTRAL_HDR || p[off] != 0x50 || p[off + 1] != 0x4b ||
		    p[off + 2] != 0x01 || p[off + 3] != 0x02)
			return abk_err_set(err, ABK_E_INTERNAL,
			    "zip central directory not where expected (entry %llu)",
			    (unsigned long long)i);
		p[off + 5] = ZIPIO_MADE_BY_UNIX >> 8;
		/* a stored entry written by add_stored_direct: csize = size */
		if (p[off + 10] == 0 && p[off + 11] == 0 && !memcmp(p + off + 20, "\0\0\0\0", 4) &&
		    memcmp(p + off + 24, "\xff\xff\xff\xff", 4) != 0)
			memcpy(p + off + 20, p + off + 24, 4);
		hdr = ZIPIO_CENTRAL_HDR + (size_t)zipio_get16(p + off + 28) +
		    zipio_get16(p + off + 30) + zipio_get16(p + off + 32);
		if (hdr > n - off)
			return abk_err_set(err, ABK_E_INTERNAL, "zip central directory truncated");
		off += hdr;
	}
	return ABK_OK;
}

int
zipio_writer_finish(zipio_writer *w, const uint8_t **data, size_t *len, abk_err *err)
{
	uint64_t cd_start;
	uint8_t *tail;
	size_t tail_len;
	int rc;

	if ((rc = writer_check(w, W_OPEN, err)) != ABK_OK)
		return rc;
	cd_start = w->sink.pos;
	if (w->sink.fd >= 0) {
		/* Keep the central directory in memory to patch it. */
		w->sink.capture = 1;
		w->sink.base = cd_start;
		w->sink.len = 0;
	}
	rc = zipClose(w->zf, NULL);
	w->zf = NULL;
	if (rc != ZIP_OK)
		return writer_fail(w, zipio_zip_error(err, rc, w->sink.err, 0, "finish zip", ""));
	tail = w->sink.buf + (cd_start - w->sink.base);
	tail_len = w->sink.len - (size_t)(cd_start - w->sink.base);
	if ((rc = fix_central(tail, tail_len, w->entries, err)) != ABK_OK)
		return writer_fail(w, rc);
	if (w->sink.fd >= 0) {
		if (fsops_pwrite_all(w->sink.fd, tail, tail_len, cd_start) != 0)
			return writer_fail(w, abk_err_set(err, ABK_E_IO,
			    "write zip central directory: %s", strerror(errno)));
		if (fsync(w->sink.fd) != 0)
			return writer_fail(w, abk_err_set(err, ABK_E_IO, "fsync zip: %s",
			    strerror(errno)));
	}
	w->state = W_DONE;
	if (data != NULL)
		*data = w->sink.fd >= 0 ? NULL : w->sink.buf;
	if (len != NULL)
		*len = (size_t)w->sink.end;
	return ABK_OK;
}
