/*
 * crypto.h - the hashing, key derivation and randomness autobackup needs,
 * wrapping wolfCrypt so no other module includes it (certificate generation
 * in server/certgen.c is the one other wolfCrypt user).
 *
 * All functions are thread-safe; hash contexts belong to one thread at a time.
 * Random bytes come from getrandom(2), so there is no RNG state to share.
 */
#ifndef ABK_CRYPTO_H
#define ABK_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"

#define ABK_SHA256_LEN 32
#define ABK_DIGEST_LEN 32	/* whole-transfer digest: BLAKE2b-256 */

/* Opaque storage big enough for wolfCrypt's Sha256 / Blake2b structs. */
typedef struct abk_sha256_ctx {
	_Alignas(16) unsigned char opaque[512];
} abk_sha256_ctx;
typedef struct abk_digest_ctx {
	_Alignas(16) unsigned char opaque[512];
} abk_digest_ctx;

int abk_sha256_init(abk_sha256_ctx *ctx);
int abk_sha256_update(abk_sha256_ctx *ctx, const void *data, size_t len);
int abk_sha256_final(abk_sha256_ctx *ctx, uint8_t out[ABK_SHA256_LEN]);
/* One-shot SHA-256 of a buffer. */
int abk_sha256(const void *data, size_t len, uint8_t out[ABK_SHA256_LEN]);

/*
 * The whole-transfer digest (BLAKE2b with a 32-byte output): cheaper than
 * SHA-256 with wolfCrypt's C code (doc/ARCHITECTURE.md, measured facts).
 */
int abk_digest_init(abk_digest_ctx *ctx);
int abk_digest_update(abk_digest_ctx *ctx, const void *data, size_t len);
int abk_digest_final(abk_digest_ctx *ctx, uint8_t out[ABK_DIGEST_LEN]);

/* PBKDF2-HMAC-SHA256 into out[outlen]. Returns ABK_OK or ABK_E_CRYPTO. */
int abk_pbkdf2_sha256(const char *password, size_t passlen,
    const uint8_t *salt, size_t saltlen, uint32_t iterations,
    uint8_t *out, size_t outlen, abk_err *err);

/* Fill buf with len cryptographically random bytes (getrandom). */
int abk_random_bytes(void *buf, size_t len, abk_err *err);

/* 1 if a[0..len) equals b[0..len), in time independent of the content. */
int abk_ct_equal(const void *a, const void *b, size_t len);

/* Lower-case hex of in[len] into out (2*len+1 bytes, NUL-terminated). */
void abk_hex(const uint8_t *in, size_t len, char *out);
/* Parse exactly 2*len hex digits; returns ABK_OK or ABK_E_USAGE. */
int abk_unhex(const char *hex, uint8_t *out, size_t len);

#endif
