/*
 * zipio_int.h - what the files of the zip module share: zipio.c (the
 * writer), zipio_sink.c (the writer's byte sink) and zipio_read.c (the
 * reader).  Not for other modules: only these files include minizip
 * (STYLE.md habit 4).
 */
#ifndef ABK_ZIPIO_INT_H
#define ABK_ZIPIO_INT_H

#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"

/* Last in the includer: ioapi.h defines large-file macros of its own. */
#include <zlib.h>
#include <minizip/zip.h>
#include <minizip/unzip.h>

#define ZIPIO_MADE_BY_UNIX (3u << 8)	/* host byte of "version made by" */
#define ZIPIO_GPBF_UTF8 (1u << 11)	/* general purpose bit: UTF-8 names */
#define ZIPIO_EXTRA_UT 0x5455u		/* Info-ZIP extended timestamp */
#define ZIPIO_EXTRA_ZIP64 0x0001u
#define ZIPIO_CENTRAL_HDR 46		/* fixed part of a central header */
#define ZIPIO_EOCD_LEN 22		/* end of central directory record, no comment */
#define ZIPIO_DOS_DIR 0x10u		/* DOS attribute bits */
#define ZIPIO_DOS_RDONLY 0x01u
#define ZIPIO_IO_MAX (1u << 30)		/* minizip takes unsigned lengths */

/*
 * Translate a minizip/zlib return code into an abk code with a sentence
 * "<what> <name>: <cause>"; io_errno is the errno our I/O callbacks saw,
 * short_read whether a read went past the end of the archive.
 */
int zipio_zip_error(abk_err *err, int zrc, int io_errno, int short_read,
    const char *what, const char *name);

/* The writer's byte sink (zipio_sink.c). */
struct zipio_sink {
	int fd;			/* -1: the archive lives in buf */
	int capture;		/* fd: writes at offsets >= base go to buf */
	int discard;		/* drop writes (closing an abandoned archive) */
	uint8_t *buf;
	size_t cap;
	size_t len;		/* valid bytes in buf */
	uint64_t base;		/* archive offset of buf[0] */
	uint64_t pos;
	uint64_t end;		/* archive size so far */
	int err;		/* errno of the first failure */
};

/* Make room for need bytes in the memory buffer: 0 or an errno. */
int zipio_sink_grow(struct zipio_sink *s, size_t need);
/* Read back n bytes the sink holds at off (in memory or in the file):
 * 0 or an errno. */
int zipio_sink_pread(struct zipio_sink *s, void *out, size_t n, uint64_t off);
/* minizip's callbacks over s. */
void zipio_sink_filefunc(struct zipio_sink *s, zlib_filefunc64_def *ff);

/* minizip "opens" the stream we hand it as opaque and closes nothing. */
static inline voidpf
zipio_io_open(voidpf opaque, const void *filename, int mode)
{
	(void)filename;
	(void)mode;
	return opaque;
}

static inline int
zipio_io_close(voidpf opaque, voidpf stream)
{
	(void)opaque;
	(void)stream;
	return 0;
}

#endif
