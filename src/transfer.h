/*
 * transfer.h - the conventions of a zip batch that both directions share
 * (push: client to server; restore: server to client): the unit list of
 * ZIP_BEGIN and the batch digest of ZIP_END.
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

/* One piece of one file in a batch. */
struct transfer_unit {
	uint32_t index;		/* position in the file list */
	uint64_t offset;	/* where the piece starts in the file */
	uint64_t len;		/* uncompressed bytes */
};

/* Digest of the batch zip[0..len) into out. ABK_E_ZIP if it is no archive. */
int transfer_batch_digest(const uint8_t *zip, size_t len, uint8_t out[ABK_DIGEST_LEN],
    abk_err *err);

/* ZIP_BEGIN payload: u32 n, n x (u32 index, u64 offset, u64 len). */
void transfer_put_units(abk_buf *b, const struct transfer_unit *u, uint32_t n);
/*
 * Parse a ZIP_BEGIN payload into u[max]; checks 1 <= n <= max and lengths
 * 1..PROTO_CHUNK_MAX.  The caller checks indexes against its list.
 */
int transfer_get_units(abk_rd *r, struct transfer_unit *u, uint32_t max, uint32_t *n,
    abk_err *err);

#endif
