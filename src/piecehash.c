/*
 * piecehash.c - XXH3-128 behind piecehash.h (libxxhash, Debian
 * libxxhash-dev).  See piecehash.h for why a non-cryptographic hash.
 */
#include "config.h"

#include <stdlib.h>
#include <xxhash.h>

#include "piecehash.h"

struct abk_piecehash {
	XXH3_state_t *st;
};

abk_piecehash *
abk_piecehash_new(void)
{
	abk_piecehash *h = malloc(sizeof(*h));

	if (h == NULL)
		return NULL;
	h->st = XXH3_createState();	/* aligned as XXH3 wants it */
	if (h->st == NULL) {
		free(h);
		return NULL;
	}
	abk_piecehash_reset(h);
	return h;
}

void
abk_piecehash_free(abk_piecehash *h)
{
	if (h == NULL)
		return;
	XXH3_freeState(h->st);
	free(h);
}

void
abk_piecehash_reset(abk_piecehash *h)
{
	(void)XXH3_128bits_reset(h->st);
}

void
abk_piecehash_update(abk_piecehash *h, const void *data, size_t len)
{
	(void)XXH3_128bits_update(h->st, data, len);
}

static void
canonical(XXH128_hash_t v, uint8_t out[ABK_PIECE_HASH_LEN])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, v);
	for (int i = 0; i < ABK_PIECE_HASH_LEN; i++)
		out[i] = c.digest[i];
}

void
abk_piecehash_final(abk_piecehash *h, uint8_t out[ABK_PIECE_HASH_LEN])
{
	canonical(XXH3_128bits_digest(h->st), out);
}

void
abk_piecehash_once(const void *data, size_t len, uint8_t out[ABK_PIECE_HASH_LEN])
{
	canonical(XXH3_128bits(data, len), out);
}
