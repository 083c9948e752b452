/*
 * batchrecv.h - the receiving half of zip batches, one for both directions
 * (the server receiving a push, the client receiving a restore).
 *
 * A batch is ZIP_BEGIN (units), ZIP_DATA frames (the archive), ZIP_END
 * (length and batch digest); see doc/PROTOCOL.md, "Push".  The receiver
 * holds two buffers: one is being received while the caller's worker
 * unpacks the other.  It checks the frame order, the archive size limit,
 * ZIP_END's length and digest, keeps the running digest of all batches, and
 * asks the caller's check function about every unit (whether its index,
 * offset and length fit the caller's file list).  The struct is owned by
 * one receiving thread; a completed batch belongs to the caller until the
 * next batch completes into the same buffer (two ZIP_ENDs later).
 */
#ifndef ABK_BATCHRECV_H
#define ABK_BATCHRECV_H

#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"
#include "buf.h"
#include "crypto.h"
#include "proto_msg.h"

/* Is unit u acceptable to the caller's list?  ABK_OK, or the error. */
typedef int (*batchrecv_check_fn)(void *ctx, const struct transfer_unit *u, abk_err *err);

struct batchrecv {
	abk_buf zips[2];		/* double buffer */
	struct transfer_unit *units[2];
	int fill;			/* which of the two is being received */
	uint32_t n_units;		/* units of the open batch; 0: none open */
	abk_digest_ctx total;		/* over the digests of the batches so far */
	uint64_t wire_bytes;		/* archive bytes of the completed batches */
	batchrecv_check_fn check;
	void *ctx;
};

/* A completed, verified batch. */
struct batchrecv_batch {
	const abk_buf *zip;
	const struct transfer_unit *units;
	uint32_t n_units;
};

int batchrecv_init(struct batchrecv *br, batchrecv_check_fn check, void *ctx, abk_err *err);
void batchrecv_free(struct batchrecv *br);

/*
 * Receive one frame from io and take it.  Returns 1 (and does nothing more)
 * if type is not ZIP_BEGIN, ZIP_DATA or ZIP_END: its payload is in in (whose
 * max bounds it); else ABK_OK or the error (PROTO out of order or malformed,
 * LIMIT over a bound, INTEGRITY digest mismatch, or the stream's error).
 * The payload of a ZIP_DATA inside a batch is read straight into the
 * batch's buffer (in is left empty).  When a ZIP_END completed a verified
 * batch, *done describes it (done->n_units > 0), else done->n_units is 0.
 */
int batchrecv_recv(struct batchrecv *br, const struct proto_io *io, uint8_t *type,
    abk_buf *in, struct batchrecv_batch *done, abk_err *err);

/*
 * The end frame (PUSH_END, RESTORE_END: a 32-byte digest): refuses it inside
 * a batch and compares its digest with the digest of all batches
 * (INTEGRITY "<what> digest mismatch" if they differ).
 */
int batchrecv_end(struct batchrecv *br, uint8_t type, const uint8_t *payload, size_t len,
    const char *what, abk_err *err);

#endif
