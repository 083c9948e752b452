/*
 * buf.h - bounded byte buffers with big-endian put/get (OpenSSH sshbuf style).
 *
 * A writer (abk_buf) grows up to a hard cap fixed at creation and refuses to
 * grow past it.  A reader (abk_rd) is a view over bytes someone else owns;
 * every getter checks the remaining length before copying anything and, once
 * a get fails, the reader stays failed so a decoder can check once at the end.
 * Used for wire frames (proto.c) and the on-disk manifest (manifest.c).
 */
#ifndef ABK_BUF_H
#define ABK_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"

typedef struct abk_buf {
	uint8_t *data;		/* owned; NULL until first growth */
	size_t len;
	size_t cap;		/* allocated */
	size_t max;		/* hard cap on len */
	int failed;		/* a put went over max or out of memory */
} abk_buf;

/* Initialise an empty buffer that may hold at most max bytes. */
void abk_buf_init(abk_buf *b, size_t max);
/* Free the bytes; the buffer can be initialised again. NULL-safe. */
void abk_buf_free(abk_buf *b);
/* Forget the content, keep the allocation and the cap. */
void abk_buf_reset(abk_buf *b);
/* Make sure n more bytes fit; returns 0 or -1 (and sets failed). */
int abk_buf_reserve(abk_buf *b, size_t n);

/* Appenders: all return 0, or -1 and set b->failed (later puts are no-ops). */
int abk_put_u8(abk_buf *b, uint8_t v);
int abk_put_u16(abk_buf *b, uint16_t v);
int abk_put_u32(abk_buf *b, uint32_t v);
int abk_put_u64(abk_buf *b, uint64_t v);
int abk_put_i64(abk_buf *b, int64_t v);
int abk_put_bytes(abk_buf *b, const void *p, size_t n);
/* u32 length then the bytes (no NUL on the wire). */
int abk_put_str(abk_buf *b, const char *s, size_t n);
int abk_put_cstr(abk_buf *b, const char *s);

typedef struct abk_rd {
	const uint8_t *p;
	size_t left;
	int failed;
	size_t over_max;	/* non-zero: failed on a string longer than this limit */
} abk_rd;

void abk_rd_init(abk_rd *r, const void *data, size_t len);
/* Getters: 0 on success, -1 (and r->failed) when short. */
int abk_get_u8(abk_rd *r, uint8_t *v);
int abk_get_u16(abk_rd *r, uint16_t *v);
int abk_get_u32(abk_rd *r, uint32_t *v);
int abk_get_u64(abk_rd *r, uint64_t *v);
int abk_get_i64(abk_rd *r, int64_t *v);
int abk_get_bytes(abk_rd *r, void *out, size_t n);
/*
 * A u32-length string, limited to max bytes: *s points into the reader's
 * bytes (not NUL-terminated, valid as long as they are), *n is its length.
 */
int abk_get_str(abk_rd *r, const char **s, size_t *n, size_t max);
/* Same but copied into out[outsz] with a NUL; fails if it has a NUL or does not fit. */
int abk_get_cstr(abk_rd *r, char *out, size_t outsz);

/*
 * The error for a failed reader, so that every decoder answers alike (see
 * doc/PROTOCOL.md, "Errors"): a string over its limit is ABK_E_LIMIT naming
 * the limit, anything else (short, trailing bytes) ABK_E_PROTO "malformed
 * <what>".  Returns the code recorded in err.
 */
int abk_rd_error(const abk_rd *r, abk_err *err, const char *what);

#endif
