/*
 * piecehash.h - the piece hash of PUSH_PIECES (protocol 3): XXH3-128 of one
 * piece, big-endian (xxHash's canonical form).  The only module that
 * includes <xxhash.h> (one module per outside library).
 *
 * Non-cryptographic on purpose: it only decides which pieces a client need
 * not send; every file is still checked end to end against the client's
 * CRC-32, and TLS authenticates every byte in transit (doc/PROTOCOL.md,
 * "Push", why this is enough).  ~10x cheaper than BLAKE2b-256 per byte.
 */
#ifndef ABK_PIECEHASH_H
#define ABK_PIECEHASH_H

#include <stddef.h>
#include <stdint.h>

#define ABK_PIECE_HASH_LEN 16

/* A streaming hasher: owned by its creator, one thread at a time. */
typedef struct abk_piecehash abk_piecehash;

/* A new hasher, reset; NULL when out of memory. */
abk_piecehash *abk_piecehash_new(void);
void abk_piecehash_free(abk_piecehash *h);
void abk_piecehash_reset(abk_piecehash *h);
void abk_piecehash_update(abk_piecehash *h, const void *data, size_t len);
/* The hash of everything since the last reset (h stays usable). */
void abk_piecehash_final(abk_piecehash *h, uint8_t out[ABK_PIECE_HASH_LEN]);
/* One block at once. */
void abk_piecehash_once(const void *data, size_t len, uint8_t out[ABK_PIECE_HASH_LEN]);

#endif
