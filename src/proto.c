/*
 * proto.c - frame header checks and frame I/O (protocol version in proto.h).
 *
 * The header is validated (known type, length within the caller's limit)
 * before a single payload byte is read, so an oversized or unknown frame
 * costs the reader five bytes, never an allocation.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "strutil.h"

static const struct {
	uint8_t type;
	const char *name;
} proto_types[] = {
#define PROTO_TYPE_NAME(name, value) { PT_##name, #name },
	PROTO_TYPES(PROTO_TYPE_NAME)
#undef PROTO_TYPE_NAME
};

static const struct {
	uint16_t perr;
	int code;
} proto_errors[] = {
	/* The server answered: whatever it reports is its refusal, not a lost
	 * connection (exit 6, not 4), unless it is a timeout. */
	{ PE_PROTOCOL, ABK_E_REFUSED },
	{ PE_VERSION, ABK_E_REFUSED },
	{ PE_AUTH, ABK_E_AUTH },
	{ PE_NOT_LOGGED_IN, ABK_E_AUTH },
	{ PE_BUSY, ABK_E_BUSY },
	{ PE_QUOTA, ABK_E_QUOTA },
	{ PE_NOT_FOUND, ABK_E_NOTFOUND },
	{ PE_INVALID, ABK_E_USAGE },
	{ PE_LIMIT, ABK_E_LIMIT },
	{ PE_INTEGRITY, ABK_E_INTEGRITY },
	{ PE_INTERNAL, ABK_E_REFUSED },
	{ PE_SHUTDOWN, ABK_E_BUSY },
	{ PE_TIMEOUT, ABK_E_TIMEOUT },
	{ PE_CANCELED, ABK_E_CANCELED },
};

const char *
proto_type_name(uint8_t type)
{
	for (size_t i = 0; i < sizeof(proto_types) / sizeof(proto_types[0]); i++)
		if (proto_types[i].type == type)
			return proto_types[i].name;
	return NULL;
}

uint16_t
proto_error_from_code(int code)
{
	switch (code) {
	case ABK_E_PATH:
	case ABK_E_USAGE:
		return PE_INVALID;
	case ABK_E_EXISTS:
		return PE_INVALID;
	case ABK_E_ZIP:
	case ABK_E_PROTO:	/* the peer broke the protocol: not our failure */
		return PE_PROTOCOL;
	default:
		break;
	}
	for (size_t i = 0; i < sizeof(proto_errors) / sizeof(proto_errors[0]); i++)
		if (proto_errors[i].code == code)
			return proto_errors[i].perr;
	return PE_INTERNAL;
}

int
proto_code_from_error(uint16_t perr)
{
	for (size_t i = 0; i < sizeof(proto_errors) / sizeof(proto_errors[0]); i++)
		if (proto_errors[i].perr == perr)
			return proto_errors[i].code;
	return ABK_E_REFUSED;
}

int
proto_parse_header(const uint8_t hdr[PROTO_HEADER_LEN], size_t max_len,
    uint8_t *type, uint32_t *len, abk_err *err)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];

	if (proto_type_name(hdr[4]) == NULL)
		return abk_err_set(err, ABK_E_PROTO, "unknown frame type 0x%02x", hdr[4]);
	if (n > max_len)
		return abk_err_set(err, ABK_E_LIMIT,
		    "frame of %u bytes is over the limit of %zu", n, max_len);
	*type = hdr[4];
	*len = n;
	return ABK_OK;
}

void
proto_make_header(uint8_t hdr[PROTO_HEADER_LEN], uint8_t type, uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	hdr[4] = type;
}

int
proto_recv_header(const struct proto_io *io, size_t max, uint8_t *type, uint32_t *len,
    abk_err *err)
{
	uint8_t hdr[PROTO_HEADER_LEN];
	int rc = io->read_full(io->ctx, hdr, sizeof(hdr), err);

	if (rc != ABK_OK)
		return rc;
	return proto_parse_header(hdr, max < PROTO_FRAME_MAX ? max : PROTO_FRAME_MAX, type,
	    len, err);
}

int
proto_recv(const struct proto_io *io, uint8_t *type, abk_buf *payload, abk_err *err)
{
	uint32_t len;
	int rc;

	abk_buf_reset(payload);
	rc = proto_recv_header(io, payload->max, type, &len, err);
	if (rc != ABK_OK)
		return rc;
	if (abk_buf_reserve(payload, len) != 0)
		return abk_err_set(err, ABK_E_NOMEM, "cannot allocate a %u-byte frame", len);
	if (len > 0) {
		rc = io->read_full(io->ctx, payload->data, len, err);
		if (rc != ABK_OK)
			return rc;
	}
	payload->len = len;
	return ABK_OK;
}

int
proto_send(const struct proto_io *io, uint8_t type, const void *payload,
    size_t len, abk_err *err)
{
	uint8_t hdr[PROTO_HEADER_LEN];
	int rc;

	if (len > PROTO_FRAME_MAX)
		return abk_err_set(err, ABK_E_INTERNAL,
		    "refusing to send a %zu-byte frame (limit %u)", len, PROTO_FRAME_MAX);
	proto_make_header(hdr, type, (uint32_t)len);
	/* Small frames go out in one write: one TLS record, no Nagle stall. */
	if (len <= 16384 - sizeof(hdr)) {
		uint8_t one[16384];

		memcpy(one, hdr, sizeof(hdr));
		if (len > 0)
			memcpy(one + sizeof(hdr), payload, len);
		return io->write_all(io->ctx, one, sizeof(hdr) + len, err);
	}
	rc = io->write_all(io->ctx, hdr, sizeof(hdr), err);
	if (rc == ABK_OK)
		rc = io->write_all(io->ctx, payload, len, err);
	return rc;
}

/*
 * Copying every frame's payload behind its header cost a pass over all the
 * data sent (the TLS library copies it once more into its records): only
 * the first frame is copied, small; the later ones borrow the bytes in
 * front of them for their header.
 */
int
proto_send_split(const struct proto_io *io, uint8_t type, uint8_t *data, size_t len,
    uint8_t *scratch, int (*after)(void *ctx, size_t n, abk_err *err), void *ctx,
    abk_err *err)
{
	size_t n = len < PROTO_SPLIT_FIRST ? len : PROTO_SPLIT_FIRST;
	int rc;

	if (len == 0)
		return ABK_OK;
	proto_make_header(scratch, type, (uint32_t)n);
	memcpy(scratch + PROTO_HEADER_LEN, data, n);
	rc = io->write_all(io->ctx, scratch, PROTO_HEADER_LEN + n, err);
	if (rc == ABK_OK && after != NULL)
		rc = after(ctx, PROTO_HEADER_LEN + n, err);
	for (size_t off = n; rc == ABK_OK && off < len; off += n) {
		uint8_t *hdr = data + off - PROTO_HEADER_LEN;
		uint8_t saved[PROTO_HEADER_LEN];

		n = len - off > PROTO_ZIP_DATA_MAX ? PROTO_ZIP_DATA_MAX : len - off;
		memcpy(saved, hdr, sizeof(saved));
		proto_make_header(hdr, type, (uint32_t)n);
		rc = io->write_all(io->ctx, hdr, PROTO_HEADER_LEN + n, err);
		memcpy(hdr, saved, sizeof(saved));
		if (rc == ABK_OK && after != NULL)
			rc = after(ctx, PROTO_HEADER_LEN + n, err);
	}
	return rc;
}

int
proto_send_error(const struct proto_io *io, uint16_t code, abk_err *err,
    const char *fmt, ...)
{
	char msg[PROTO_MESSAGE_MAX];
	abk_buf b;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	abk_buf_init(&b, PROTO_MESSAGE_MAX + 16);
	abk_put_u16(&b, code);
	abk_put_cstr(&b, msg);
	rc = b.failed ? ABK_E_NOMEM : proto_send(io, PT_ERROR, b.data, b.len, err);
	abk_buf_free(&b);
	return rc;
}

int
proto_decode_error(const void *payload, size_t len, abk_err *err)
{
	abk_rd r;
	uint16_t perr = 0;
	const char *msg = "";
	size_t mlen = 0;
	int code;

	abk_rd_init(&r, payload, len);
	abk_get_u16(&r, &perr);
	abk_get_str(&r, &msg, &mlen, PROTO_MESSAGE_MAX);
	if (r.failed)
		return abk_rd_error(&r, err, "ERROR frame from server");
	code = proto_code_from_error(perr);
	/* A peer-chosen string: it may hold control bytes; keep them out of the
	 * terminal with the one escaper (abk_escape_name). */
	{
		char clean[ABK_ERR_MSG_MAX];

		abk_escape_name(msg, mlen, clean, sizeof(clean), 0);
		return abk_err_set(err, code, "server: %s", clean);
	}
}
