/*
 * bench_cipher.c - what the cipher and the hashes cost on this machine, per
 * core, with the libraries as the distribution builds them: the floor
 * under any transfer.  TLS 1.3's ChaCha20-Poly1305 (as wolfSSL's record
 * layer calls it, 16 KiB records) and its two halves, AES-128-GCM for
 * comparison, the BLAKE2b-256 of piece hashes and batch digests, SHA-256
 * (--checksum, verify) and zlib's CRC-32.  A full push or restore of N MB
 * with both ends on one machine costs at least 2 * N / (ChaCha20-Poly1305
 * MB/s) CPU-seconds.  Not part of `make check`; build with
 * `make tests/bench/bench_cipher` and run ./tests/bench/bench_cipher [MB].
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfcrypt/poly1305.h>
#include <zlib.h>

#include "crypto.h"

#define RECORD 16384u

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
row(const char *what, size_t bytes, double secs)
{
	printf("%-28s %8.0f MB/s\n", what, (double)bytes / secs / 1e6);
}

int
main(int argc, char **argv)
{
	size_t mb = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 256;
	size_t total = (mb ? mb : 256) << 20, records = total / RECORD;
	uint8_t *in = malloc(RECORD), *out = malloc(RECORD + 16);
	uint8_t key[32] = { 1 }, iv[12] = { 2 }, tag[16], digest[64];
	ChaCha chacha;
	Poly1305 poly;
	Aes aes;
	uLong crc = crc32(0L, Z_NULL, 0);
	double t;

	if (in == NULL || out == NULL)
		return 1;
	for (size_t i = 0; i < RECORD; i++)
		in[i] = (uint8_t)(i * 131u);
	printf("# %zu MB in %u-byte records, one core\n", total >> 20, RECORD);

	t = now();
	for (size_t r = 0; r < records; r++)
		wc_ChaCha20Poly1305_Encrypt(key, iv, NULL, 0, in, RECORD, out, tag);
	row("ChaCha20-Poly1305 (TLS)", total, now() - t);

	wc_Chacha_SetKey(&chacha, key, sizeof(key));
	wc_Chacha_SetIV(&chacha, iv, 0);
	t = now();
	for (size_t r = 0; r < records; r++)
		wc_Chacha_Process(&chacha, out, in, RECORD);
	row("  ChaCha20 alone", total, now() - t);

	wc_Poly1305SetKey(&poly, key, sizeof(key));
	t = now();
	for (size_t r = 0; r < records; r++)
		wc_Poly1305Update(&poly, in, RECORD);
	wc_Poly1305Final(&poly, tag);
	row("  Poly1305 alone", total, now() - t);

	if (wc_AesGcmSetKey(&aes, key, 16) == 0) {
		t = now();
		for (size_t r = 0; r < records; r++)
			wc_AesGcmEncrypt(&aes, out, in, RECORD, iv, sizeof(iv), tag, sizeof(tag),
			    NULL, 0);
		row("AES-128-GCM", total, now() - t);
	}

	{
		abk_digest_ctx d;

		abk_digest_init(&d);
		t = now();
		for (size_t r = 0; r < records; r++)
			abk_digest_update(&d, in, RECORD);
		abk_digest_final(&d, digest);
		row("BLAKE2b-256 (piece hashes)", total, now() - t);
	}
	{
		abk_sha256_ctx s;

		if (abk_sha256_init(&s) == ABK_OK) {
			t = now();
			for (size_t r = 0; r < records; r++)
				abk_sha256_update(&s, in, RECORD);
			abk_sha256_final(&s, digest);
			row("SHA-256 (--checksum)", total, now() - t);
		}
	}

	t = now();
	for (size_t r = 0; r < records; r++)
		crc = crc32_z(crc, in, RECORD);
	row("CRC-32 (zlib)", total, now() - t);
	printf("# (crc %08lx tag %02x)\n", crc, tag[0]);	/* keep the work */
	free(in);
	free(out);
	return 0;
}
