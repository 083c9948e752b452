/*
 * storage_snapfile.c - the manifest file stored beside each snapshot, and snapshot
 * IDs.
 *
 * Format (big-endian, buf.h):
 *   "ABKM" | u32 version (1 or 2, see SNAPFILE_VERSION) | str origin | u32 flags | i64 time_ms | u64 entries
 *   | u64 files | u64 bytes | entries (manifest_entry_encode) ...
 *   | u32 CRC-32 of everything before it
 * The CRC makes a damaged manifest an integrity error instead of a wrong
 * restore.  IDs are the server's UTC publication time, YYYYMMDDTHHMMSS.mmmZ,
 * so lexical order is time order.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "fsops.h"
#include "storage_int.h"

#define SNAPFILE_FLUSH 65536
#define SNAPFILE_BUF_MAX (SNAPFILE_FLUSH + 2 * (ABK_PATH_MAX + MF_TARGET_MAX + 128))
#define SNAPFILE_HEADER_MAX (4 + 4 + 4 + ABK_PATH_MAX + 4 + 8 * 4)
#define SNAPFILE_MIN_ENTRY 27	/* smallest encoded entry */
#define SNAPFILE_MAX_SIZE ((uint64_t)1 << 40)
/* Checking a manifest drops what it has read every this many bytes; decoding
 * entries drops the whole mapping every SNAPFILE_DROP_EVERY entries: what a
 * walk keeps resident is a window, not the file (1,000,000 entries: ~70 MB). */
#define SNAPFILE_CHECK_CHUNK ((size_t)8 << 20)
#define SNAPFILE_DROP_EVERY 65536u

static void
put_header(abk_buf *b, const struct snapfile_header *h)
{
	abk_put_bytes(b, SNAPFILE_MAGIC, 4);
	abk_put_u32(b, SNAPFILE_VERSION);
	abk_put_cstr(b, h->origin);
	abk_put_u32(b, h->flags);
	abk_put_i64(b, h->time_ms);
	abk_put_u64(b, h->entries);
	abk_put_u64(b, h->files);
	abk_put_u64(b, h->bytes);
}

static int
get_header(abk_rd *r, struct snapfile_header *h, abk_err *err)
{
	uint8_t magic[4];
	uint32_t version = 0;

	memset(h, 0, sizeof(*h));
	abk_get_bytes(r, magic, sizeof(magic));
	if (r->failed || memcmp(magic, SNAPFILE_MAGIC, 4) != 0)
		return abk_err_set(err, ABK_E_INTEGRITY, "snapshot manifest has a bad magic number");
	abk_get_u32(r, &version);
	if (!r->failed && (version < SNAPFILE_VERSION_MIN || version > SNAPFILE_VERSION))
		return abk_err_set(err, ABK_E_INTEGRITY,
		    "snapshot manifest has format version %u, this server reads %u to %u",
		    version, SNAPFILE_VERSION_MIN, SNAPFILE_VERSION);
	abk_get_cstr(r, h->origin, sizeof(h->origin));
	abk_get_u32(r, &h->flags);
	abk_get_i64(r, &h->time_ms);
	abk_get_u64(r, &h->entries);
	abk_get_u64(r, &h->files);
	abk_get_u64(r, &h->bytes);
	if (r->failed)
		return abk_err_set(err, ABK_E_INTEGRITY, "snapshot manifest header is truncated");
	if (h->entries > STORAGE_MAX_ENTRIES || h->files > h->entries)
		return abk_err_set(err, ABK_E_INTEGRITY,
		    "snapshot manifest header has impossible counts");
	return ABK_OK;
}

int
snapfile_read_header(int snapdir, struct snapfile_header *h, abk_err *err)
{
	uint8_t *buf = NULL;
	abk_rd r;
	ssize_t n;
	int fd, rc;

	fd = openat(snapdir, STG_MANIFEST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return abk_err_set(err, errno == ENOENT ? ABK_E_INTEGRITY : ABK_E_IO,
		    "open snapshot manifest: %s", strerror(errno));
	buf = malloc(SNAPFILE_HEADER_MAX);
	if (buf == NULL) {
		close(fd);
		return abk_err_set(err, ABK_E_NOMEM, "out of memory reading a manifest header");
	}
	do
		n = pread(fd, buf, SNAPFILE_HEADER_MAX, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		rc = abk_err_set(err, ABK_E_IO, "read snapshot manifest: %s", strerror(errno));
		goto out;
	}
	abk_rd_init(&r, buf, (size_t)n);
	rc = get_header(&r, h, err);
out:
	free(buf);
	close(fd);
	return rc;
}

void
snapfile_free(struct snapfile *sf)
{
	if (sf == NULL)
		return;
	if (sf->data != NULL)
		munmap((void *)(uintptr_t)sf->data, sf->len);
	free(sf->off);
	memset(sf, 0, sizeof(*sf));
}

/* Hand the mapped pages back: they stay in the page cache, a later access
 * maps them again (same bytes, same addresses). */
static void
snapfile_drop(const struct snapfile *sf, size_t from, size_t to)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	from -= from % pg;
	if (to > from)
		(void)madvise((void *)(uintptr_t)(sf->data + from), to - from, MADV_DONTNEED);
}

/* One more entry touched: every SNAPFILE_DROP_EVERY, hand the pages back. */
static void
snapfile_touch(struct snapfile *sf)
{
	if ((atomic_fetch_add_explicit(&sf->decoded, 1, memory_order_relaxed) + 1) %
	    SNAPFILE_DROP_EVERY == 0)
		snapfile_drop(sf, 0, sf->len);
}

const char *
snapfile_path(struct snapfile *sf, size_t i, size_t *len)
{
	const uint8_t *q = sf->data + sf->off[i];

	snapfile_touch(sf);
	/* abk_put_str: u32 big-endian length, then the bytes (checked at load) */
	*len = ((size_t)q[0] << 24) | ((size_t)q[1] << 16) | ((size_t)q[2] << 8) | q[3];
	return (const char *)q + 4;
}

void
snapfile_entry(struct snapfile *sf, size_t i, struct manifest_entry *e)
{
	size_t end = i + 1 < sf->n ? (size_t)sf->off[i + 1] : sf->len - 4;

	snapfile_touch(sf);
	/* checked at load (manifest_entry_decode); manifests are never
	 * changed in place (storage_publish.c writes a new one) */
	if (manifest_entry_decode_trusted(sf->data + sf->off[i], end - (size_t)sf->off[i], e) != 0)
		memset(e, 0, sizeof(*e));
}

int
snapfile_load(int snapdir, struct snapfile *sf, abk_err *err)
{
	uint32_t want, got;
	struct stat st;
	size_t dropped = 0;
	abk_rd r, tr;
	void *map;
	int fd, rc;

	memset(sf, 0, sizeof(*sf));
	fd = openat(snapdir, STG_MANIFEST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return abk_err_set(err, ABK_E_INTEGRITY, "snapshot manifest is missing");
		return abk_err_set(err, ABK_E_IO, "open snapshot manifest: %s", strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		rc = abk_err_set(err, ABK_E_IO, "stat snapshot manifest: %s", strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 4 || (uint64_t)st.st_size > SNAPFILE_MAX_SIZE) {
		close(fd);
		return abk_err_set(err, ABK_E_INTEGRITY, S_ISREG(st.st_mode) && st.st_size < 4 ?
		    "snapshot manifest is truncated" : "snapshot manifest has an impossible size");
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return abk_err_set(err, errno == ENOMEM ? ABK_E_NOMEM : ABK_E_IO,
		    "map snapshot manifest: %s", strerror(errno));
	sf->data = map;
	sf->len = (size_t)st.st_size;
	(void)madvise(map, sf->len, MADV_SEQUENTIAL);
	abk_rd_init(&tr, sf->data + sf->len - 4, 4);
	abk_get_u32(&tr, &want);
	got = (uint32_t)crc32(0, Z_NULL, 0);
	for (size_t at = 0; at < sf->len - 4; at += SNAPFILE_CHECK_CHUNK) {
		size_t n = sf->len - 4 - at < SNAPFILE_CHECK_CHUNK ? sf->len - 4 - at :
		    SNAPFILE_CHECK_CHUNK;

		got = storage_crc32(got, sf->data + at, n);
		snapfile_drop(sf, at, at + n);
	}
	if (got != want) {
		rc = abk_err_set(err, ABK_E_INTEGRITY,
		    "snapshot manifest is damaged (CRC mismatch)");
		goto fail;
	}
	abk_rd_init(&r, sf->data, sf->len - 4);
	rc = get_header(&r, &sf->hdr, err);
	if (rc != ABK_OK)
		goto fail;
	if (sf->hdr.entries > sf->len / SNAPFILE_MIN_ENTRY + 1) {
		rc = abk_err_set(err, ABK_E_INTEGRITY, "snapshot manifest entry count is impossible");
		goto fail;
	}
	sf->off = malloc((sf->hdr.entries ? sf->hdr.entries : 1) * sizeof(*sf->off));
	if (sf->off == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory loading a manifest");
		goto fail;
	}
	for (sf->n = 0; sf->n < sf->hdr.entries; sf->n++) {
		abk_err derr = ABK_ERR_INIT;
		struct manifest_entry e;
		size_t at = (size_t)(r.p - sf->data);

		sf->off[sf->n] = at;
		if (manifest_entry_decode(&r, &e, &derr) != ABK_OK) {
			rc = abk_err_set(err, ABK_E_INTEGRITY,
			    "snapshot manifest entry %zu is damaged: %s", sf->n, derr.msg);
			goto fail;
		}
		if (at - dropped >= SNAPFILE_CHECK_CHUNK) {
			snapfile_drop(sf, dropped, at);
			dropped = at;
		}
	}
	if (r.left != 0) {
		rc = abk_err_set(err, ABK_E_INTEGRITY, "snapshot manifest has trailing bytes");
		goto fail;
	}
	snapfile_drop(sf, 0, sf->len);
	(void)madvise((void *)(uintptr_t)sf->data, sf->len, MADV_NORMAL);
	return ABK_OK;
fail:
	snapfile_free(sf);
	return rc;
}

static int
writer_flush(struct snapfile_writer *w, abk_err *err)
{
	if (w->buf.failed)
		return abk_err_set(err, ABK_E_INTERNAL, "manifest buffer overflow");
	if (w->buf.len == 0)
		return ABK_OK;
	w->crc = storage_crc32(w->crc, w->buf.data, w->buf.len);
	if (fsops_write_all(w->fd, w->buf.data, w->buf.len) != 0)
		return abk_err_set(err, ABK_E_IO, "write snapshot manifest: %s", strerror(errno));
	w->size += w->buf.len;
	abk_buf_reset(&w->buf);
	return ABK_OK;
}

int
snapfile_write_begin(struct snapfile_writer *w, int fd, const struct snapfile_header *h,
    abk_err *err)
{
	w->fd = fd;
	w->crc = (uint32_t)crc32(0, Z_NULL, 0);
	w->size = 0;
	abk_buf_init(&w->buf, SNAPFILE_BUF_MAX);
	put_header(&w->buf, h);
	return w->buf.failed ? abk_err_set(err, ABK_E_INTERNAL, "manifest header too large")
	    : ABK_OK;
}

int
snapfile_write_entry(struct snapfile_writer *w, const struct manifest_entry *e, abk_err *err)
{
	if (manifest_entry_encode(&w->buf, e) != 0)
		return abk_err_set(err, ABK_E_INTERNAL, "manifest entry too large");
	if (w->buf.len >= SNAPFILE_FLUSH)
		return writer_flush(w, err);
	return ABK_OK;
}

int
snapfile_write_end(struct snapfile_writer *w, abk_err *err)
{
	uint32_t crc;
	int rc;

	rc = writer_flush(w, err);
	if (rc == ABK_OK) {
		crc = w->crc;
		abk_put_u32(&w->buf, crc);
		if (fsops_write_all(w->fd, w->buf.data, w->buf.len) != 0)
			rc = abk_err_set(err, ABK_E_IO, "write snapshot manifest: %s",
			    strerror(errno));
		else
			w->size += w->buf.len;
	}
	snapfile_writer_free(w);
	return rc;
}

void
snapfile_writer_free(struct snapfile_writer *w)
{
	abk_buf_free(&w->buf);
}

static int
digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
snapfile_id_parse(const char *id, int64_t *ms)
{
	char again[STORAGE_ID_LEN + 1];
	struct tm tm;
	int y, mo, d, h, mi, s, milli;
	time_t t;

	if (strlen(id) != STORAGE_ID_LEN || id[8] != 'T' || id[15] != '.' || id[19] != 'Z')
		return ABK_E_USAGE;
	if (digits(id, 4, &y) || digits(id + 4, 2, &mo) || digits(id + 6, 2, &d) ||
	    digits(id + 9, 2, &h) || digits(id + 11, 2, &mi) || digits(id + 13, 2, &s) ||
	    digits(id + 16, 3, &milli))
		return ABK_E_USAGE;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return ABK_E_USAGE;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return ABK_E_USAGE;
	/* One spelling per instant: "20240231T..." (normalised by timegm) is not an ID. */
	snapfile_id_format((int64_t)t * 1000 + milli, again);
	if (strcmp(again, id) != 0)
		return ABK_E_USAGE;
	*ms = (int64_t)t * 1000 + milli;
	return ABK_OK;
}

int
snapfile_id_valid(const char *s)
{
	int64_t ms;

	return snapfile_id_parse(s, &ms) == ABK_OK;
}

void
snapfile_id_format(int64_t ms, char out[STORAGE_ID_LEN + 1])
{
	time_t t = (time_t)(ms / 1000);
	char buf[80];
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, sizeof(buf), "%04d%02d%02dT%02d%02d%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(ms % 1000));
	memcpy(out, buf, STORAGE_ID_LEN);	/* years 1970..9999 fill it exactly */
	out[STORAGE_ID_LEN] = '\0';
}

/* ---- the damaged list ------------------------------------------------------------ */

#define DAMAGED_MAGIC "ABKD"
#define DAMAGED_VERSION 1u
#define DAMAGED_MAX_SIZE ((size_t)1 << 32)

int
damaged_add(struct damaged_set *d, uint64_t dev, uint64_t ino, abk_err *err)
{
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		struct damaged_inode *nv = realloc(d->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return abk_err_set(err, ABK_E_NOMEM, "out of memory listing damaged files");
		d->v = nv;
		d->cap = ncap;
	}
	d->v[d->n].dev = dev;
	d->v[d->n].ino = ino;
	d->n++;
	return ABK_OK;
}

int
damaged_has(const struct damaged_set *d, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < d->n; i++)	/* damage is rare: a short list */
		if (d->v[i].dev == dev && d->v[i].ino == ino)
			return 1;
	return 0;
}

void
damaged_free(struct damaged_set *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

int
damaged_write(int snapdir, const struct damaged_set *d, const char *const *paths,
    const size_t *lens, abk_err *err)
{
	static atomic_uint seq;
	char tmp[64];
	abk_buf b;
	int fd, rc = ABK_OK;

	/* two verifies of one snapshot at once each write their own file */
	snprintf(tmp, sizeof(tmp), "%s.%ld.%u.tmp", STG_DAMAGED, (long)getpid(),
	    atomic_fetch_add(&seq, 1u));
	if (d->n == 0) {
		if (unlinkat(snapdir, STG_DAMAGED, 0) != 0 && errno != ENOENT)
			return abk_err_set(err, ABK_E_IO, "remove the damaged list: %s",
			    strerror(errno));
		return ABK_OK;
	}
	abk_buf_init(&b, DAMAGED_MAX_SIZE);
	abk_put_bytes(&b, DAMAGED_MAGIC, 4);
	abk_put_u32(&b, DAMAGED_VERSION);
	abk_put_u64(&b, d->n);
	for (size_t i = 0; i < d->n; i++) {
		abk_put_u64(&b, d->v[i].dev);
		abk_put_u64(&b, d->v[i].ino);
		abk_put_str(&b, paths[i], lens[i]);
	}
	abk_put_u32(&b, storage_crc32((uint32_t)crc32(0, Z_NULL, 0), b.data, b.len));
	if (b.failed) {
		abk_buf_free(&b);
		return abk_err_set(err, ABK_E_NOMEM, "out of memory writing the damaged list");
	}
	fd = fsops_create_file(snapdir, tmp, err);
	if (fd < 0) {
		abk_buf_free(&b);
		return fd;
	}
	if (fsops_write_all(fd, b.data, b.len) != 0 || fsync(fd) != 0 ||
	    renameat(snapdir, tmp, snapdir, STG_DAMAGED) != 0)
		rc = abk_err_set(err, ABK_E_IO, "write the damaged list: %s", strerror(errno));
	close(fd);
	if (rc != ABK_OK)
		unlinkat(snapdir, tmp, 0);
	abk_buf_free(&b);
	return rc;
}

int
damaged_load(int snapdir, struct damaged_set *d, abk_err *err)
{
	abk_err tmp = ABK_ERR_INIT;
	uint8_t *data = NULL, magic[4];
	uint32_t version = 0, want = 0;
	uint64_t count = 0;
	size_t len = 0;
	abk_rd r, tr;
	int rc;

	rc = fsops_read_file(snapdir, STG_DAMAGED, DAMAGED_MAX_SIZE, &data, &len, &tmp);
	if (rc == ABK_E_NOTFOUND)
		return ABK_OK;
	if (rc == ABK_E_LIMIT)
		rc = ABK_OK;	/* absurd: ignore it, as a damaged list is ignored */
	if (rc != ABK_OK)
		return abk_err_set(err, rc, "%s", tmp.msg);
	if (data == NULL || len < 20)
		goto out;
	abk_rd_init(&tr, data + len - 4, 4);
	abk_get_u32(&tr, &want);
	if (storage_crc32((uint32_t)crc32(0, Z_NULL, 0), data, len - 4) != want)
		goto out;
	abk_rd_init(&r, data, len - 4);
	abk_get_bytes(&r, magic, 4);
	abk_get_u32(&r, &version);
	abk_get_u64(&r, &count);
	if (r.failed || memcmp(magic, DAMAGED_MAGIC, 4) != 0 || version != DAMAGED_VERSION)
		goto out;
	for (uint64_t i = 0; i < count && rc == ABK_OK; i++) {
		uint64_t dev = 0, ino = 0;
		const char *path;
		size_t plen;

		abk_get_u64(&r, &dev);
		abk_get_u64(&r, &ino);
		abk_get_str(&r, &path, &plen, ABK_PATH_MAX);
		if (r.failed)
			break;
		rc = damaged_add(d, dev, ino, err);
	}
out:
	free(data);
	return rc;
}
