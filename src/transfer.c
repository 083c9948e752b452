/*
 * transfer.c - unit lists and batch digests of zip batches.
 */
#include "config.h"

#include "proto.h"
#include "transfer.h"
#include "zipio.h"

int
transfer_batch_digest(const uint8_t *zip, size_t len, uint8_t out[ABK_DIGEST_LEN],
    abk_err *err)
{
	const uint8_t *cd;
	size_t cdlen;
	abk_digest_ctx d;
	int rc = zipio_central_directory(zip, len, &cd, &cdlen, err);

	if (rc != ABK_OK)
		return rc;
	if (abk_digest_init(&d) != ABK_OK || abk_digest_update(&d, cd, cdlen) != ABK_OK ||
	    abk_digest_final(&d, out) != ABK_OK)
		return abk_err_set(err, ABK_E_CRYPTO, "BLAKE2b failed");
	return ABK_OK;
}

void
transfer_put_units(abk_buf *b, const struct transfer_unit *u, uint32_t n)
{
	abk_put_u32(b, n);
	for (uint32_t i = 0; i < n; i++) {
		abk_put_u32(b, u[i].index);
		abk_put_u64(b, u[i].offset);
		abk_put_u64(b, u[i].len);
	}
}

int
transfer_get_units(abk_rd *r, struct transfer_unit *u, uint32_t max, uint32_t *n,
    abk_err *err)
{
	uint32_t count = 0;

	abk_get_u32(r, &count);
	if (r->failed || count == 0 || count > max)
		return abk_err_set(err, ABK_E_PROTO, "ZIP_BEGIN with %u entries (1 to %u allowed)",
		    count, max);
	for (uint32_t i = 0; i < count; i++) {
		abk_get_u32(r, &u[i].index);
		abk_get_u64(r, &u[i].offset);
		abk_get_u64(r, &u[i].len);
		if (r->failed)
			return abk_err_set(err, ABK_E_PROTO, "truncated ZIP_BEGIN");
		if (u[i].len == 0 || u[i].len > PROTO_CHUNK_MAX)
			return abk_err_set(err, ABK_E_LIMIT, "ZIP_BEGIN: a piece of %llu bytes",
			    (unsigned long long)u[i].len);
	}
	if (r->left != 0)
		return abk_err_set(err, ABK_E_PROTO, "trailing bytes in ZIP_BEGIN");
	*n = count;
	return ABK_OK;
}
