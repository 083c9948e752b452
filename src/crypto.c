/*
 * crypto.c - wolfCrypt behind a small API: SHA-256, BLAKE2b, PBKDF2, random
 * bytes and constant-time comparison.
 */
#include "config.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/blake2.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/pwdbased.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "crypto.h"

_Static_assert(sizeof(wc_Sha256) <= sizeof(((abk_sha256_ctx *)0)->opaque),
    "abk_sha256 too small for wc_Sha256");
_Static_assert(sizeof(Blake2b) <= sizeof(((abk_digest_ctx *)0)->opaque),
    "abk_digest too small for Blake2b");

int
abk_sha256_init(abk_sha256_ctx *ctx)
{
	return wc_InitSha256((wc_Sha256 *)(void *)ctx->opaque) == 0 ? ABK_OK : ABK_E_CRYPTO;
}

int
abk_sha256_update(abk_sha256_ctx *ctx, const void *data, size_t len)
{
	const unsigned char *p = data;

	/* wolfCrypt takes word32 lengths: feed huge buffers in slices. */
	while (len > 0) {
		word32 n = len > 0x40000000u ? 0x40000000u : (word32)len;

		if (wc_Sha256Update((wc_Sha256 *)(void *)ctx->opaque, p, n) != 0)
			return ABK_E_CRYPTO;
		p += n;
		len -= n;
	}
	return ABK_OK;
}

int
abk_sha256_final(abk_sha256_ctx *ctx, uint8_t out[ABK_SHA256_LEN])
{
	int rc = wc_Sha256Final((wc_Sha256 *)(void *)ctx->opaque, out);

	wc_Sha256Free((wc_Sha256 *)(void *)ctx->opaque);
	return rc == 0 ? ABK_OK : ABK_E_CRYPTO;
}

int
abk_sha256(const void *data, size_t len, uint8_t out[ABK_SHA256_LEN])
{
	abk_sha256_ctx ctx;
	int rc = abk_sha256_init(&ctx);

	if (rc == ABK_OK)
		rc = abk_sha256_update(&ctx, data, len);
	if (rc == ABK_OK)
		rc = abk_sha256_final(&ctx, out);
	return rc;
}

int
abk_digest_init(abk_digest_ctx *ctx)
{
	return wc_InitBlake2b((Blake2b *)(void *)ctx->opaque, ABK_DIGEST_LEN) == 0 ?
	    ABK_OK : ABK_E_CRYPTO;
}

int
abk_digest_update(abk_digest_ctx *ctx, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		word32 n = len > 0x40000000u ? 0x40000000u : (word32)len;

		if (wc_Blake2bUpdate((Blake2b *)(void *)ctx->opaque, p, n) != 0)
			return ABK_E_CRYPTO;
		p += n;
		len -= n;
	}
	return ABK_OK;
}

int
abk_digest_final(abk_digest_ctx *ctx, uint8_t out[ABK_DIGEST_LEN])
{
	return wc_Blake2bFinal((Blake2b *)(void *)ctx->opaque, out, ABK_DIGEST_LEN) == 0 ?
	    ABK_OK : ABK_E_CRYPTO;
}

int
abk_pbkdf2_sha256(const char *password, size_t passlen, const uint8_t *salt,
    size_t saltlen, uint32_t iterations, uint8_t *out, size_t outlen, abk_err *err)
{
	int rc;

	if (passlen > 0x7fffffff || saltlen > 0x7fffffff || outlen > 0x7fffffff ||
	    iterations == 0 || iterations > 0x7fffffff)
		return abk_err_set(err, ABK_E_USAGE, "PBKDF2: parameter out of range");
	rc = wc_PBKDF2(out, (const byte *)password, (int)passlen, salt, (int)saltlen,
	    (int)iterations, (int)outlen, WC_SHA256);
	if (rc != 0)
		return abk_err_set(err, ABK_E_CRYPTO, "PBKDF2 failed: %s",
		    wc_GetErrorString(rc));
	return ABK_OK;
}

int
abk_random_bytes(void *buf, size_t len, abk_err *err)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return abk_err_set(err, ABK_E_CRYPTO, "getrandom: %s", strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return ABK_OK;
}

int
abk_ct_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a;
	const volatile unsigned char *y = b;
	unsigned char diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)(x[i] ^ y[i]);
	return diff == 0;
}

void
abk_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
abk_unhex(const char *hex, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(hex[2 * i]);
		int lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return ABK_E_USAGE;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return hex[2 * len] == '\0' ? ABK_OK : ABK_E_USAGE;
}
