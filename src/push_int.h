/*
 * push_int.h - the state of one push on the client, shared by push.c (the
 * protocol: file list, needs, pieces, plan, sending, verdict) and
 * push_build.c (builder threads that read source files into zip batches).
 * Internal to the client engine.
 */
#ifndef ABK_PUSH_INT_H
#define ABK_PUSH_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"
#include "client_int.h"
#include "crypto.h"
#include "net.h"
#include "scan.h"
#include "transfer.h"
#include "zipio.h"

#define PUSH_BATCH_TARGET (4u << 20)	/* input bytes per zip batch */
#define PUSH_CHUNK PROTO_PIECE		/* big files travel in pieces this size */
#define PUSH_ENTRIES_FRAME (PROTO_FRAME_MAX / 2)
#define PUSH_PROGRESS_MS 100

/* A piece of a file: index in the scan result, offset, length. */
#define push_unit transfer_unit

struct push_skip {
	uint32_t index;
	char why[160];
};

enum slot_state { SLOT_FREE, SLOT_BUILDING, SLOT_READY };

struct push_slot {
	enum slot_state state;
	size_t next_batch;		/* the batch this slot may take next */
	zipio_writer *zw;
	uint8_t *data;			/* the finished zip (zipio_writer_archive) */
	size_t len;
	uint8_t digest[ABK_DIGEST_LEN];
	struct push_unit *sent;		/* units in the zip, in order */
	size_t n_sent;
	struct push_skip *skips;
	size_t n_skips, cap_skips;
	uint64_t input_bytes;
	uint64_t reused_bytes;		/* pieces the server copies itself */
	double build_seconds;
	int level_used;
	int rc;
	abk_err err;
};

struct push_batch {
	size_t first, count;		/* range of units */
};

/* Piece hashes of a needed file's previous version (PUSH_PIECES). */
struct push_prev {
	uint32_t index;
	uint64_t size;
	uint32_t n;
	uint8_t (*h)[ABK_PIECE_HASH_LEN];
};

struct push_job {
	abk_client *c;
	struct push_prev *prev;		/* ascending by index */
	size_t n_prev;
	const struct abk_push_opts *opts;
	struct scan_result *scan;
	unsigned n_threads;		/* builders, and piece hashing threads */
	int rootfd;
	struct push_unit *units;
	size_t n_units;
	struct push_batch *batches;
	size_t n_batches;
	struct push_slot *slots;
	size_t n_slots;

	long long t_start_ms;		/* for --bwlimit */
	uint64_t wire_sent;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t next_to_build;
	int abort;			/* set under lock with __atomic_store_n; read
					 * under lock, or with __atomic_load_n
					 * between files */
	atomic_int deflate;		/* 1: level 1 for compressible files */
};

static inline double
now_seconds(void)
{
	return (double)net_now_ms() / 1000.0;
}

/* push_build.c: a builder thread (arg: the push_job); builds batches in turn
 * into the ring of slots until all are built or job->abort. */
void *push_builder(void *arg);
/* Open source entry index for reading (also prefetch.h's callback): 0, or -1
 * with errno and *fd < 0. */
int push_open_source(void *ctx, uint32_t index, int *fd);

#endif
