/*
 * proto.h - protocol v2: frame types, every protocol limit, and the frame
 * reader/writer over an abstract byte stream (TLS in practice).
 *
 * A frame is a 5-byte header, u32 payload length (big-endian) then u8 type,
 * followed by the payload.  Payload fields are encoded with buf.h.  The
 * version, every message and every limit here are described in
 * doc/PROTOCOL.md, which is the reference for anyone writing a second peer.
 * A frame longer than PROTO_FRAME_MAX or of a type not in the table is a
 * protocol error: the reader refuses it before reading its payload.
 */
#ifndef ABK_PROTO_H
#define ABK_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"
#include "buf.h"

#define PROTO_MAGIC 0x41424b31u		/* "ABK1" */
/* 2: Entry stat fields (mtime_nsec, ctime, inode), MF_RACY.  3: PUSH_PIECES
 * hashes are XXH3-128 (16 bytes) instead of BLAKE2b-256 (piecehash.h). */
#define PROTO_VERSION 3
#define PROTO_HEADER_LEN 5

/* Limits (invariant 7).  Both peers enforce the ones that concern them. */
#define PROTO_FRAME_MAX (1024u * 1024u)		/* payload bytes in one frame */
#define PROTO_ZIP_DATA_MAX (256u * 1024u)	/* payload of one ZIP_DATA frame */
/* proto_send_split's first frame of a batch: one TLS record */
#define PROTO_SPLIT_FIRST (16384u - PROTO_HEADER_LEN)
#define PROTO_ZIP_BATCH_MAX (64u * 1024u * 1024u) /* bytes of one zip batch */
#define PROTO_ZIP_BATCH_ENTRIES 4096u		/* entries in one zip batch */
#define PROTO_CHUNK_MAX (8u * 1024u * 1024u)	/* uncompressed bytes of one chunk */
#define PROTO_PIECE (4u * 1024u * 1024u)	/* piece of a file for reuse hashes */
#define PROTO_PIECES_MAX 4000000u		/* pieces of one file (16 TiB) */
#define PROTO_MAX_ENTRIES 10000000u		/* entries in one push or restore */
#define PROTO_PATH_DEPTH_MAX 127		/* components in one entry path */
#define PROTO_LIST_BATCH 1000u			/* items per listing frame (sender) */
#define PROTO_USER_MAX 32
#define PROTO_PASSWORD_MAX 1024
#define PROTO_TOKEN_MAX 256
#define PROTO_SOURCE_MAX 255
#define PROTO_ORIGIN_MAX 4095
#define PROTO_SNAPSHOT_ID_MAX 64
#define PROTO_MESSAGE_MAX 1024			/* error sentence */
#define PROTO_POLICY_MAX 255			/* a source's retention policy, in words */
#define PROTO_SOFTWARE_MAX 128
#define PROTO_RESTORE_PATHS_MAX 1024		/* subpaths in one RESTORE */
#define PROTO_ZIP_RATIO_MAX 1100u		/* deflate cannot exceed ~1032:1 */

/*
 * Every frame type, once: the enum and the name table (proto.c) are
 * generated from this list, so a new frame is one line here plus its
 * codec in proto_msg.c and its section in doc/PROTOCOL.md.
 */
#define PROTO_TYPES(X) \
	X(HELLO, 0x01) \
	X(HELLO_OK, 0x02) \
	X(ERROR, 0x03) \
	X(BYE, 0x04) \
	X(CANCEL, 0x05) \
	X(LOGIN_PASSWORD, 0x10) \
	X(LOGIN_TOKEN, 0x11) \
	X(LOGIN_OK, 0x12) \
	X(LIST_SOURCES, 0x20) \
	X(SOURCES, 0x21) \
	X(LIST_SNAPSHOTS, 0x22) \
	X(SNAPSHOTS, 0x23) \
	X(LIST_FILES, 0x24) \
	X(FILES, 0x25) \
	X(PUSH_BEGIN, 0x30) \
	X(PUSH_READY, 0x31) \
	X(PUSH_ENTRIES, 0x32) \
	X(PUSH_NEED, 0x33) \
	X(ZIP_BEGIN, 0x34) \
	X(ZIP_DATA, 0x35) \
	X(ZIP_END, 0x36) \
	X(PUSH_END, 0x37) \
	X(PUSH_VERDICT, 0x38) \
	X(PUSH_SKIP, 0x39) \
	X(PUSH_PIECES, 0x3a) \
	X(RESTORE, 0x40) \
	X(RESTORE_BEGIN, 0x41) \
	X(RESTORE_ENTRIES, 0x42) \
	X(RESTORE_END, 0x43) \
	X(RESTORE_HAVE, 0x44) \
	X(VERIFY, 0x50) \
	X(VERIFY_PROBLEMS, 0x51) \
	X(VERIFY_RESULT, 0x52)

enum proto_type {
#define PROTO_TYPE_ENUM(name, value) PT_##name = value,
	PROTO_TYPES(PROTO_TYPE_ENUM)
#undef PROTO_TYPE_ENUM
};

/* Error codes carried by PT_ERROR (u16).  Stable: documented in PROTOCOL.md. */
enum proto_error {
	PE_PROTOCOL = 1,	/* malformed, unexpected or oversized frame */
	PE_VERSION = 2,		/* no common protocol version */
	PE_AUTH = 3,		/* login refused (always the same sentence) */
	PE_NOT_LOGGED_IN = 4,
	PE_BUSY = 5,		/* server full, or source locked by another push */
	PE_QUOTA = 6,
	PE_NOT_FOUND = 7,
	PE_INVALID = 8,		/* invalid name or argument */
	PE_LIMIT = 9,		/* a bound was crossed */
	PE_INTEGRITY = 10,	/* CRC or digest mismatch */
	PE_INTERNAL = 11,	/* server-side failure (disk, database) */
	PE_SHUTDOWN = 12,	/* server is stopping */
	PE_TIMEOUT = 13,	/* idle or handshake timeout */
	PE_CANCELED = 14,
};

/* Flags of PT_PUSH_BEGIN. */
#define PROTO_PUSH_CHECKSUM 0x01	/* compare by SHA-256 */
#define PROTO_PUSH_SINGLE_FILE 0x02	/* the source is one file, not a folder */

/* Name of a frame type for logs ("PUSH_BEGIN"), or NULL if unknown. */
const char *proto_type_name(uint8_t type);

/* Map an abk_code to the wire error code and back. */
uint16_t proto_error_from_code(int code);
int proto_code_from_error(uint16_t perr);

/*
 * The byte stream under the frames.  read returns bytes read (> 0) or a
 * negative abk_code (ABK_E_NET on EOF/timeout, ABK_E_TLS...); write writes
 * everything or fails.  tlsconn.c provides one; tests use socketpairs.
 */
struct proto_io {
	void *ctx;
	int (*read_full)(void *ctx, void *buf, size_t len, abk_err *err);
	int (*write_all)(void *ctx, const void *buf, size_t len, abk_err *err);
};

/*
 * Parse a frame header.  Refuses unknown types and lengths above max_len.
 * Returns ABK_OK or ABK_E_PROTO / ABK_E_LIMIT with the reason in err.
 */
int proto_parse_header(const uint8_t hdr[PROTO_HEADER_LEN], size_t max_len,
    uint8_t *type, uint32_t *len, abk_err *err);

/* Encode the header for a payload of len bytes into hdr. */
void proto_make_header(uint8_t hdr[PROTO_HEADER_LEN], uint8_t type, uint32_t len);

/*
 * Read one frame: header then payload into payload (reset first; its cap
 * must be at least PROTO_FRAME_MAX).  Returns ABK_OK, or the stream's error,
 * or ABK_E_PROTO/ABK_E_LIMIT for a bad header.
 */
int proto_recv(const struct proto_io *io, uint8_t *type, abk_buf *payload, abk_err *err);

/* The first half of proto_recv: read and check one header (payload length
 * at most max, and PROTO_FRAME_MAX); the caller then reads *len bytes. */
int proto_recv_header(const struct proto_io *io, size_t max, uint8_t *type, uint32_t *len,
    abk_err *err);

/* Write one frame (header + payload). */
int proto_send(const struct proto_io *io, uint8_t type, const void *payload,
    size_t len, abk_err *err);

/*
 * Send data[0..len) as consecutive frames of type with payloads of at most
 * PROTO_ZIP_DATA_MAX bytes, each header and payload in one write (one TLS
 * record train).  The data is not copied: the first frame, of
 * PROTO_SPLIT_FIRST bytes at most, goes out through scratch (which holds
 * PROTO_HEADER_LEN + PROTO_SPLIT_FIRST bytes); every later frame's header is
 * written over the PROTO_HEADER_LEN bytes in front of its payload (already
 * sent) and they are put back after the write, so data is unchanged on
 * return.  after (may be NULL) runs after each frame with its size on the
 * wire; a non-zero return stops the sending and is returned.
 */
int proto_send_split(const struct proto_io *io, uint8_t type, uint8_t *data,
    size_t len, uint8_t *scratch, int (*after)(void *ctx, size_t n, abk_err *err),
    void *ctx, abk_err *err);

/* Send PT_ERROR with a code and a printf-style sentence (truncated to fit). */
int proto_send_error(const struct proto_io *io, uint16_t code, abk_err *err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Decode a PT_ERROR payload into err (code mapped with proto_code_from_error,
 * message "server: <sentence>").  Returns the mapped code.
 */
int proto_decode_error(const void *payload, size_t len, abk_err *err);

#endif
