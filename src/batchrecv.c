/*
 * batchrecv.c - receive zip batches (see batchrecv.h), for push and restore.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "batchrecv.h"
#include "transfer.h"

int
batchrecv_init(struct batchrecv *br, batchrecv_check_fn check, void *ctx, abk_err *err)
{
	memset(br, 0, sizeof(*br));
	br->check = check;
	br->ctx = ctx;
	abk_digest_init(&br->total);
	for (int i = 0; i < 2; i++) {
		abk_buf_init(&br->zips[i], PROTO_ZIP_BATCH_MAX);
		br->units[i] = calloc(PROTO_ZIP_BATCH_ENTRIES, sizeof(struct transfer_unit));
	}
	if (br->units[0] == NULL || br->units[1] == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	return ABK_OK;
}

void
batchrecv_free(struct batchrecv *br)
{
	for (int i = 0; i < 2; i++) {
		abk_buf_free(&br->zips[i]);
		free(br->units[i]);
		br->units[i] = NULL;
	}
}

static int
batchrecv_begin(struct batchrecv *br, abk_rd *r, abk_err *err)
{
	struct transfer_unit *u = br->units[br->fill];
	uint32_t n = 0;
	int rc;

	if (br->n_units != 0)
		return abk_err_set(err, ABK_E_PROTO, "ZIP_BEGIN inside a batch");
	rc = msg_zip_begin_get(r, u, PROTO_ZIP_BATCH_ENTRIES, &n, err);
	for (uint32_t i = 0; rc == ABK_OK && i < n; i++)
		rc = br->check(br->ctx, &u[i], err);
	if (rc != ABK_OK)
		return rc;
	br->n_units = n;
	abk_buf_reset(&br->zips[br->fill]);
	return ABK_OK;
}

static int
batchrecv_zip_end(struct batchrecv *br, abk_rd *r, struct batchrecv_batch *done,
    abk_err *err)
{
	abk_buf *zip = &br->zips[br->fill];
	uint8_t got[ABK_DIGEST_LEN];
	struct msg_zip_end ze;
	int rc;

	if ((rc = msg_zip_end_get(r, &ze, err)) != ABK_OK)
		return rc;
	if (br->n_units == 0 || ze.length != zip->len)
		return abk_err_set(err, ABK_E_PROTO, "ZIP_END does not match the batch");
	if ((rc = transfer_batch_digest(zip->data, zip->len, got, err)) != ABK_OK)
		return rc;
	if (!abk_ct_equal(ze.digest, got, sizeof(got)))
		return abk_err_set(err, ABK_E_INTEGRITY, "zip batch digest mismatch");
	abk_digest_update(&br->total, got, sizeof(got));
	br->wire_bytes += zip->len;
	done->zip = zip;
	done->units = br->units[br->fill];
	done->n_units = br->n_units;
	br->n_units = 0;
	br->fill ^= 1;		/* receive the next batch into the other buffer */
	return ABK_OK;
}

/* Take one frame that was read whole (see batchrecv_recv). */
static int
batchrecv_frame(struct batchrecv *br, uint8_t type, const uint8_t *payload, size_t len,
    struct batchrecv_batch *done, abk_err *err)
{
	abk_rd r;

	memset(done, 0, sizeof(*done));
	abk_rd_init(&r, payload, len);
	switch (type) {
	case PT_ZIP_BEGIN:
		return batchrecv_begin(br, &r, err);
	case PT_ZIP_DATA:
		if (br->n_units == 0)
			return abk_err_set(err, ABK_E_PROTO, "ZIP_DATA outside a batch");
		if (abk_put_bytes(&br->zips[br->fill], payload, len) != 0)
			return abk_err_set(err, ABK_E_LIMIT, "zip batch over %u bytes",
			    PROTO_ZIP_BATCH_MAX);
		return ABK_OK;
	case PT_ZIP_END:
		return batchrecv_zip_end(br, &r, done, err);
	default:
		return 1;
	}
}

/*
 * Reading ZIP_DATA into a frame buffer and appending it to the batch was a
 * copy of every received byte on top of the TLS library's own.
 */
int
batchrecv_recv(struct batchrecv *br, const struct proto_io *io, uint8_t *type, abk_buf *in,
    struct batchrecv_batch *done, abk_err *err)
{
	abk_buf *zip = &br->zips[br->fill];
	uint32_t len;
	int rc;

	memset(done, 0, sizeof(*done));
	abk_buf_reset(in);
	if ((rc = proto_recv_header(io, in->max, type, &len, err)) != ABK_OK)
		return rc;
	if (*type != PT_ZIP_DATA || br->n_units == 0) {
		if (abk_buf_reserve(in, len) != 0)
			return abk_err_set(err, ABK_E_NOMEM, "cannot allocate a %u-byte frame", len);
		if (len > 0 && (rc = io->read_full(io->ctx, in->data, len, err)) != ABK_OK)
			return rc;
		in->len = len;
		return batchrecv_frame(br, *type, in->data, in->len, done, err);
	}
	if (abk_buf_reserve(zip, len) != 0)
		return abk_err_set(err, ABK_E_LIMIT, "zip batch over %u bytes",
		    PROTO_ZIP_BATCH_MAX);
	if (len > 0 && (rc = io->read_full(io->ctx, zip->data + zip->len, len, err)) != ABK_OK)
		return rc;
	zip->len += len;
	return ABK_OK;
}

int
batchrecv_end(struct batchrecv *br, uint8_t type, const uint8_t *payload, size_t len,
    const char *what, abk_err *err)
{
	uint8_t want[ABK_DIGEST_LEN], got[ABK_DIGEST_LEN];
	abk_rd r;
	int rc;

	abk_rd_init(&r, payload, len);
	if ((rc = msg_digest_get(&r, type, want, err)) != ABK_OK)
		return rc;
	if (br->n_units != 0)
		return abk_err_set(err, ABK_E_PROTO, "%s inside a batch", proto_type_name(type));
	abk_digest_final(&br->total, got);
	if (!abk_ct_equal(want, got, sizeof(got)))
		return abk_err_set(err, ABK_E_INTEGRITY, "%s digest mismatch", what);
	return ABK_OK;
}
