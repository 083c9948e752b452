/*
 * buf.c - bounded big-endian buffers.  The cap is checked before any
 * allocation or copy, so a hostile length can never make us allocate more
 * than the cap the caller chose.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
abk_buf_init(abk_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
abk_buf_free(abk_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
}

void
abk_buf_reset(abk_buf *b)
{
	b->len = 0;
	b->failed = 0;
}

int
abk_buf_reserve(abk_buf *b, size_t n)
{
	size_t want, ncap;
	uint8_t *nd;

	if (b->failed)
		return -1;
	if (n > b->max || b->len > b->max - n) {
		b->failed = 1;
		return -1;
	}
	want = b->len + n;
	if (want <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < want)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	nd = realloc(b->data, ncap);
	if (nd == NULL) {
		b->failed = 1;
		return -1;
	}
	b->data = nd;
	b->cap = ncap;
	return 0;
}

int
abk_put_bytes(abk_buf *b, const void *p, size_t n)
{
	if (abk_buf_reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
abk_put_u8(abk_buf *b, uint8_t v)
{
	return abk_put_bytes(b, &v, 1);
}

int
abk_put_u16(abk_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return abk_put_bytes(b, x, 2);
}

int
abk_put_u32(abk_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return abk_put_bytes(b, x, 4);
}

int
abk_put_u64(abk_buf *b, uint64_t v)
{
	if (abk_put_u32(b, (uint32_t)(v >> 32)) != 0)
		return -1;
	return abk_put_u32(b, (uint32_t)v);
}

int
abk_put_i64(abk_buf *b, int64_t v)
{
	return abk_put_u64(b, (uint64_t)v);
}

int
abk_put_str(abk_buf *b, const char *s, size_t n)
{
	if (n > UINT32_MAX) {
		b->failed = 1;
		return -1;
	}
	if (abk_put_u32(b, (uint32_t)n) != 0)
		return -1;
	return abk_put_bytes(b, s, n);
}

int
abk_put_cstr(abk_buf *b, const char *s)
{
	return abk_put_str(b, s, s ? strlen(s) : 0);
}

void
abk_rd_init(abk_rd *r, const void *data, size_t len)
{
	r->p = data;
	r->left = len;
	r->failed = 0;
	r->over_max = 0;
}

int
abk_get_bytes(abk_rd *r, void *out, size_t n)
{
	if (r->failed || n > r->left) {
		r->failed = 1;
		return -1;
	}
	if (n > 0)
		memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

int
abk_get_u8(abk_rd *r, uint8_t *v)
{
	return abk_get_bytes(r, v, 1);
}

int
abk_get_u16(abk_rd *r, uint16_t *v)
{
	uint8_t x[2];

	if (abk_get_bytes(r, x, 2) != 0)
		return -1;
	*v = (uint16_t)(x[0] << 8 | x[1]);
	return 0;
}

int
abk_get_u32(abk_rd *r, uint32_t *v)
{
	uint8_t x[4];

	if (abk_get_bytes(r, x, 4) != 0)
		return -1;
	*v = (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3];
	return 0;
}

int
abk_get_u64(abk_rd *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (abk_get_u32(r, &hi) != 0 || abk_get_u32(r, &lo) != 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
abk_get_i64(abk_rd *r, int64_t *v)
{
	uint64_t u;

	if (abk_get_u64(r, &u) != 0)
		return -1;
	*v = (int64_t)u;
	return 0;
}

int
abk_get_str(abk_rd *r, const char **s, size_t *n, size_t max)
{
	uint32_t len;

	if (abk_get_u32(r, &len) != 0)
		return -1;
	if (len > max) {
		/* a limit, not a short frame: the peer gets LIMIT naming it */
		r->failed = 1;
		r->over_max = max;
		return -1;
	}
	if (len > r->left) {
		r->failed = 1;
		return -1;
	}
	*s = (const char *)r->p;
	*n = len;
	r->p += len;
	r->left -= len;
	return 0;
}

int
abk_get_cstr(abk_rd *r, char *out, size_t outsz)
{
	const char *s;
	size_t n;

	if (outsz == 0 || abk_get_str(r, &s, &n, outsz - 1) != 0)
		return -1;
	if (memchr(s, '\0', n) != NULL) {
		r->failed = 1;
		return -1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int
abk_rd_error(const abk_rd *r, abk_err *err, const char *what)
{
	if (r->over_max != 0)
		return abk_err_set(err, ABK_E_LIMIT, "%s: a string is longer than its limit of "
		    "%zu bytes", what, r->over_max);
	return abk_err_set(err, ABK_E_PROTO, "malformed %s", what);
}
