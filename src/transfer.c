/*
 * transfer.c - unit lists and batch digests of zip batches.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

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

static int
unpack_view(zipio_reader *zr, const struct transfer_sink *sink, const struct transfer_unit *u,
    uint32_t crc, uint64_t *pos, abk_err *err)
{
	const uint8_t *view;
	size_t vlen;
	int viewed = zipio_view(zr, &view, &vlen, err);

	if (viewed <= 0)
		return viewed;
	*pos = vlen;
	if (sink->whole != NULL)
		return sink->whole(sink->ctx, u, view, vlen, crc, err);
	return sink->data(sink->ctx, u, u->offset, view, vlen, err);
}

int
transfer_unpack(const uint8_t *zip, size_t len, const struct transfer_unit *units, uint32_t n,
    uint8_t *buf, size_t bufsz, const struct transfer_sink *sink, abk_err *err)
{
	struct zipio_limits lim = { PROTO_ZIP_BATCH_ENTRIES, PROTO_CHUNK_MAX,
	    PROTO_ZIP_RATIO_MAX, 4096 };
	zipio_reader *zr = NULL;
	int rc = zipio_reader_open(zip, len, &lim, &zr, err);

	for (uint32_t i = 0; rc == ABK_OK && i < n; i++) {
		const struct transfer_unit *u = &units[i];
		struct zipio_entry ze;
		size_t plen = 0;
		const char *path = sink->path(sink->ctx, u, &plen);
		uint64_t pos = 0;
		int more;

		if (u->flags & TRANSFER_REUSE) {
			if (sink->reuse == NULL) {
				rc = abk_err_set(err, ABK_E_PROTO, "a reused piece in this direction");
				break;
			}
			if (sink->begin != NULL && (rc = sink->begin(sink->ctx, u, err)) != ABK_OK)
				break;
			rc = sink->reuse(sink->ctx, u, err);
			if (rc == ABK_OK && sink->end != NULL)
				rc = sink->end(sink->ctx, u, err);
			continue;
		}
		more = zipio_next(zr, &ze, err);

		if (more <= 0) {
			rc = more < 0 ? more : abk_err_set(err, ABK_E_PROTO,
			    "zip batch has fewer entries than announced");
			break;
		}
		if (ze.name_has_nul || ze.type != ZIPIO_FILE || ze.name_len != plen ||
		    memcmp(ze.name, path, plen) != 0) {
			rc = abk_err_set(err, ABK_E_PATH, "zip entry %llu is not the announced file",
			    (unsigned long long)ze.index);
			break;
		}
		if (ze.size != u->len) {
			rc = abk_err_set(err, ABK_E_LIMIT, "zip entry %llu declares %llu bytes, "
			    "%llu announced", (unsigned long long)ze.index,
			    (unsigned long long)ze.size, (unsigned long long)u->len);
			break;
		}
		if (sink->begin != NULL && (rc = sink->begin(sink->ctx, u, err)) != ABK_OK)
			break;
		/* A stored entry goes to the sink in place; then zipio_read only
		 * reports its end.  Deflated data comes through buf. */
		rc = unpack_view(zr, sink, u, ze.crc, &pos, err);
		if (rc != ABK_OK)
			break;
		for (;;) {
			ssize_t got = zipio_read(zr, buf, bufsz, err);

			if (got < 0) {
				rc = (int)got;
				break;
			}
			if (got == 0)
				break;
			if (pos + (uint64_t)got > u->len) {
				rc = abk_err_set(err, ABK_E_LIMIT, "zip entry longer than announced");
				break;
			}
			rc = sink->data(sink->ctx, u, u->offset + pos, buf, (size_t)got, err);
			if (rc != ABK_OK)
				break;
			pos += (uint64_t)got;
		}
		if (rc == ABK_OK && pos != u->len)
			rc = abk_err_set(err, ABK_E_INTEGRITY, "zip entry shorter than announced");
		if (rc == ABK_OK && sink->end != NULL)
			rc = sink->end(sink->ctx, u, err);
	}
	if (rc == ABK_OK) {
		struct zipio_entry extra;
		int more = zipio_next(zr, &extra, err);

		if (more != 0)
			rc = more < 0 ? more : abk_err_set(err, ABK_E_PROTO,
			    "zip batch has more entries than announced");
	}
	zipio_reader_free(zr);
	return rc;
}

/* Pieces first, first + stride, ... of one file: one hashing thread's share. */
struct hash_share {
	int fd;
	uint64_t size;
	uint8_t (*out)[ABK_PIECE_HASH_LEN];
	uint32_t *crcs;
	uint64_t first, stride;
	int rc;
	abk_err err;
};

static void *
hash_share_run(void *arg)
{
	static const size_t bufsz = 256 * 1024;
	struct hash_share *h = arg;
	uint8_t *buf = malloc(bufsz);
	abk_piecehash *d = abk_piecehash_new();
	uint64_t pieces = (h->size + PROTO_PIECE - 1) / PROTO_PIECE;

	h->rc = buf == NULL || d == NULL ? abk_err_set(&h->err, ABK_E_NOMEM, "out of memory") :
	    ABK_OK;
	for (uint64_t k = h->first; h->rc == ABK_OK && k < pieces; k += h->stride) {
		uint64_t off = k * PROTO_PIECE;
		uint64_t end = h->size - off > PROTO_PIECE ? off + PROTO_PIECE : h->size;
		uLong crc = crc32(0L, Z_NULL, 0);

		abk_piecehash_reset(d);
		while (off < end) {
			size_t want = end - off > bufsz ? bufsz : (size_t)(end - off);
			ssize_t n = pread(h->fd, buf, want, (off_t)off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				h->rc = abk_err_set(&h->err, ABK_E_IO, "reading for piece hashes: %s",
				    n < 0 ? strerror(errno) : "file shrank");
				break;
			}
			abk_piecehash_update(d, buf, (size_t)n);
			if (h->crcs != NULL)
				crc = crc32_z(crc, buf, (size_t)n);
			off += (uint64_t)n;
		}
		if (h->crcs != NULL)
			h->crcs[k] = (uint32_t)crc;
		abk_piecehash_final(d, h->out[k]);
	}
	abk_piecehash_free(d);
	free(buf);
	return NULL;
}

int
transfer_piece_hashes(int fd, uint64_t size, uint8_t (*out)[ABK_PIECE_HASH_LEN], uint32_t *crcs,
    unsigned threads, abk_err *err)
{
	struct hash_share share[TRANSFER_HASH_THREADS_MAX];
	pthread_t tid[TRANSFER_HASH_THREADS_MAX];
	uint64_t pieces = (size + PROTO_PIECE - 1) / PROTO_PIECE;
	unsigned n = threads < 1 ? 1 : threads > TRANSFER_HASH_THREADS_MAX ?
	    TRANSFER_HASH_THREADS_MAX : threads, started = 1;
	int rc = ABK_OK;

	if (n > pieces)
		n = pieces > 0 ? (unsigned)pieces : 1;
	for (unsigned t = 0; t < n; t++)
		share[t] = (struct hash_share){ .fd = fd, .size = size, .out = out, .crcs = crcs,
		    .first = t, .stride = n, .rc = ABK_OK, .err = ABK_ERR_INIT };
	/* the caller's thread takes share 0; a thread that will not start
	 * leaves its share to a second pass below */
	for (; started < n; started++)
		if (pthread_create(&tid[started], NULL, hash_share_run, &share[started]) != 0)
			break;
	hash_share_run(&share[0]);
	for (unsigned t = 1; t < started; t++)
		pthread_join(tid[t], NULL);
	for (unsigned t = started; t < n; t++)
		hash_share_run(&share[t]);
	for (unsigned t = 0; t < n && rc == ABK_OK; t++)
		if (share[t].rc != ABK_OK)
			rc = abk_err_set(err, share[t].rc, "%s", share[t].err.msg);
	return rc;
}

