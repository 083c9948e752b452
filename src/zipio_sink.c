/*
 * zipio_sink.c - the zip writer's byte sink: minizip's I/O callbacks over a
 * growable memory buffer, or a file written with pwrite whose central
 * directory can be captured in memory (zipio.c patches it).  The writer
 * reads and moves the sink's fields itself (zipio_int.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsops.h"
#include "zipio.h"
#include "zipio_int.h"

static int
sink_in_memory(const struct zipio_sink *s, uint64_t off)
{
	return s->fd < 0 || (s->capture && off >= s->base);
}

int
zipio_sink_grow(struct zipio_sink *s, size_t need)
{
	size_t ncap = s->cap ? s->cap : (size_t)1 << 20;
	uint8_t *nbuf;

	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return ENOMEM;
		ncap *= 2;
	}
	if (ncap == s->cap)
		return 0;
	if ((nbuf = realloc(s->buf, ncap)) == NULL)
		return ENOMEM;
	s->buf = nbuf;
	s->cap = ncap;
	return 0;
}

static uLong
sink_write(voidpf opaque, voidpf stream, const void *data, uLong size)
{
	struct zipio_sink *s = opaque;
	const uint8_t *p = data;
	size_t done = 0;

	(void)stream;
	if (s->err != 0)
		return 0;
	if (s->discard) {
		s->pos += size;
		return size;
	}
	if (sink_in_memory(s, s->pos)) {
		uint64_t off = s->pos - s->base;

		if (off > SIZE_MAX - size) {
			s->err = ENOMEM;
			return 0;
		}
		if ((s->err = zipio_sink_grow(s, (size_t)off + size)) != 0)
			return 0;
		if (off > s->len)
			memset(s->buf + s->len, 0, (size_t)off - s->len);
		memcpy(s->buf + off, p, size);
		if ((size_t)off + size > s->len)
			s->len = (size_t)off + size;
		done = size;
	} else if (fsops_pwrite_all(s->fd, p, size, s->pos) != 0) {
		s->err = errno;
	} else {
		done = size;
	}
	s->pos += done;
	if (s->pos > s->end)
		s->end = s->pos;
	return (uLong)done;
}

int
zipio_sink_pread(struct zipio_sink *s, void *out, size_t n, uint64_t off)
{
	if (sink_in_memory(s, off)) {
		if (off < s->base || off - s->base > s->len || s->len - (off - s->base) < n)
			return EINVAL;
		memcpy(out, s->buf + (off - s->base), n);
		return 0;
	}
	while (n > 0) {
		ssize_t r = pread(s->fd, out, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? errno : EIO;
		out = (uint8_t *)out + r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static uLong
sink_read(voidpf opaque, voidpf stream, void *buf, uLong size)
{
	struct zipio_sink *s = opaque;
	uint64_t avail = s->end > s->pos ? s->end - s->pos : 0;

	(void)stream;
	if (size > avail)
		size = (uLong)avail;
	if (size == 0 || zipio_sink_pread(s, buf, size, s->pos) != 0)
		return 0;
	s->pos += size;
	return size;
}

static ZPOS64_T
sink_tell(voidpf opaque, voidpf stream)
{
	(void)stream;
	return ((struct zipio_sink *)opaque)->pos;
}

static long
sink_seek(voidpf opaque, voidpf stream, ZPOS64_T off, int origin)
{
	struct zipio_sink *s = opaque;

	(void)stream;
	switch (origin) {
	case ZLIB_FILEFUNC_SEEK_SET:
		s->pos = off;
		return 0;
	case ZLIB_FILEFUNC_SEEK_CUR:
		s->pos += off;
		return 0;
	case ZLIB_FILEFUNC_SEEK_END:
		s->pos = s->end + off;
		return 0;
	default:
		return -1;
	}
}

static int
sink_error(voidpf opaque, voidpf stream)
{
	(void)stream;
	return ((struct zipio_sink *)opaque)->err;
}

void
zipio_sink_filefunc(struct zipio_sink *s, zlib_filefunc64_def *ff)
{
	memset(ff, 0, sizeof(*ff));
	ff->zopen64_file = zipio_io_open;
	ff->zread_file = sink_read;
	ff->zwrite_file = sink_write;
	ff->ztell64_file = sink_tell;
	ff->zseek64_file = sink_seek;
	ff->zclose_file = zipio_io_close;
	ff->zerror_file = sink_error;
	ff->opaque = s;
}
