/*
 * transfer.h - the conventions of a zip batch that both directions share
 * (push: client to server; restore: server to client): the batch digest of
 * ZIP_END and the unpacking of a batch (ZIP_BEGIN's units: proto_msg.h).
 *
 * The batch digest is BLAKE2b-256 of the archive's central directory, not of
 * every byte: the central directory holds each entry's name, sizes and
 * CRC-32, and the reader checks each entry's data against it, so the digest
 * binds the whole batch at a tiny fraction of the cost (hashing every byte
 * at ~750 MB/s was a fifth of a push's CPU; TLS's AEAD already authenticates
 * every byte in transit).  See doc/PROTOCOL.md.
 */
#ifndef ABK_TRANSFER_H
#define ABK_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"
#include "buf.h"
#include "crypto.h"
#include "piecehash.h"
#include "proto_msg.h"	/* struct transfer_unit, ZIP_BEGIN's codec */

/* Digest of the batch zip[0..len) into out. ABK_E_ZIP if it is no archive. */
int transfer_batch_digest(const uint8_t *zip, size_t len, uint8_t out[ABK_DIGEST_LEN],
    abk_err *err);

/*
 * What receives the pieces of an unpacked batch.  path gives the file name
 * a unit must carry in the zip; begin (may be NULL) is called before a
 * piece's data, data for each block of it in order (offset in the file),
 * end (may be NULL) once the piece is complete and its CRC-32 verified.
 * whole (may be NULL) takes the place of data for a piece that is handed
 * over in one block with its CRC-32 already verified (stored entries), so
 * that the sink need not compute it again.
 * Each returns ABK_OK or an error that stops the batch.
 */
struct transfer_sink {
	void *ctx;
	const char *(*path)(void *ctx, const struct transfer_unit *u, size_t *len);
	int (*begin)(void *ctx, const struct transfer_unit *u, abk_err *err);
	int (*data)(void *ctx, const struct transfer_unit *u, uint64_t offset,
	    const void *buf, size_t n, abk_err *err);
	int (*end)(void *ctx, const struct transfer_unit *u, abk_err *err);
	/* a TRANSFER_REUSE unit (NULL: refused as a protocol error) */
	int (*reuse)(void *ctx, const struct transfer_unit *u, abk_err *err);
	int (*whole)(void *ctx, const struct transfer_unit *u, const void *buf, size_t n,
	    uint32_t crc, abk_err *err);
};

/*
 * Unpack a verified batch zip[0..len) with the protocol's limits: the zip
 * must hold exactly the n units that are not TRANSFER_REUSE, in order, each
 * a regular-file entry named as sink->path says and of the announced
 * length; reuse units go to sink->reuse, in their place in the order.  buf[bufsz] is scratch.
 * Errors: ABK_E_PROTO/ABK_E_PATH/ABK_E_LIMIT for a batch that does not
 * match its ZIP_BEGIN, ABK_E_ZIP/ABK_E_INTEGRITY from the zip, or the sink's.
 */
int transfer_unpack(const uint8_t *zip, size_t len, const struct transfer_unit *units,
    uint32_t n, uint8_t *buf, size_t bufsz, const struct transfer_sink *sink, abk_err *err);

#define TRANSFER_HASH_THREADS_MAX 8

/*
 * The piece hash (piecehash.h: XXH3-128) of each PROTO_PIECE piece of fd's first size bytes into out[],
 * and, when crcs is not NULL, each piece's CRC-32 into crcs[] (same read).
 * Pieces are shared among threads (the caller's included, at most
 * TRANSFER_HASH_THREADS_MAX): a changed big file is hashed while the other
 * side waits, so it is worth every core.
 */
int transfer_piece_hashes(int fd, uint64_t size, uint8_t (*out)[ABK_PIECE_HASH_LEN],
    uint32_t *crcs, unsigned threads, abk_err *err);

#endif
