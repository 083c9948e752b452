/*
 * session_restore.c - the server side of a restore: the snapshot's file
 * list, then its data as zip batches (stored, not deflated, unless the
 * client asks: on a fast link deflate is the bottleneck, doc/ARCHITECTURE.md),
 * each with a BLAKE2b digest, and a whole-restore digest at the end.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "pathsafe.h"
#include "log.h"
#include "proto_msg.h"
#include "pathtab.h"
#include "prefetch.h"
#include "session.h"
#include "storage.h"
#include "transfer.h"
#include "zipio.h"

#define RESTORE_BATCH_TARGET (4u << 20)
#define RESTORE_CHUNK (4u << 20)
#define RESTORE_FLAG_DEFLATE 0x01
#define RESTORE_FLAG_LIST_ONLY 0x02	/* --dry-run: the list, no data */
#define RESTORE_FLAG_HAVE 0x04		/* RESTORE_HAVE follows the list */

struct srv_restore {
	struct session *s;
	storage_snapshot *snap;
	uint32_t *v;			/* entries of snap, decoded when used */
	size_t n, cap;
	struct pathtab seen;
	int seen_ready;
	uint64_t bytes;
	int level;
	uint8_t *have;			/* [n]: the client holds this file already */
	uint64_t n_have;
};

static const char *
restore_key(void *ctx, uint32_t idx, size_t *len)
{
	struct srv_restore *sr = ctx;

	return storage_snapshot_entry_path(sr->snap, sr->v[idx], len);
}

/* Decode the i-th entry being restored. */
static void
restore_entry(struct srv_restore *sr, size_t i, struct manifest_entry *e)
{
	storage_snapshot_entry(sr->snap, sr->v[i], e);
}

static int
restore_collect(void *ctx, uint32_t index, const struct manifest_entry *e)
{
	struct srv_restore *sr = ctx;
	uint32_t existing;
	int ins;

	if (sr->n == sr->cap) {
		size_t ncap = sr->cap ? sr->cap * 2 : 1024;
		uint32_t *nv = realloc(sr->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return ABK_E_NOMEM;
		sr->v = nv;
		sr->cap = ncap;
	}
	sr->v[sr->n] = index;
	ins = pathtab_insert(&sr->seen, e->path, e->path_len, (uint32_t)sr->n, &existing);
	if (ins < 0)
		return ABK_E_NOMEM;
	if (ins == 1)
		return 0;	/* overlapping --path arguments: keep one copy */
	if (e->type == MF_FILE)
		sr->bytes += e->size;
	sr->n++;
	return 0;
}

static int
restore_send_list(struct srv_restore *sr, abk_err *err)
{
	struct session *s = sr->s;
	size_t i = 0;

	do {
		abk_buf items;
		uint32_t n = 0;
		int rc;

		abk_buf_init(&items, PROTO_FRAME_MAX - 64);
		while (i < sr->n && items.len < PROTO_FRAME_MAX / 2) {
			struct manifest_entry e;

			restore_entry(sr, i, &e);
			if (manifest_entry_encode(&items, &e) != 0) {
				abk_buf_free(&items);
				return abk_err_set(err, ABK_E_INTERNAL, "entry too large");
			}
			n++;
			i++;
		}
		abk_buf_reset(&s->out);
		msg_list_head_put(&s->out, i >= sr->n, n);
		abk_put_bytes(&s->out, items.data, items.len);
		abk_buf_free(&items);
		rc = session_send_out(s, PT_RESTORE_ENTRIES, err);
		if (rc != ABK_OK)
			return rc;
	} while (i < sr->n);
	return ABK_OK;
}

/*
 * Issue 10 item 5: a restore run again names, after the list, the files it
 * already holds identical (RESTORE_HAVE: ascending indexes of regular files
 * with data); they get no data.
 */
static int
restore_read_have(struct srv_restore *sr, abk_err *err)
{
	struct session *s = sr->s;
	int64_t prev = -1;

	sr->have = calloc(sr->n ? sr->n : 1, 1);
	if (sr->have == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	for (;;) {
		struct msg_list_head head;
		abk_rd r;
		int rc = session_recv_list(s, PT_RESTORE_HAVE, &r, &head, err);

		if (rc != ABK_OK)
			return rc;
		if (head.count > r.left / 4)
			return abk_err_set(err, ABK_E_PROTO, "malformed RESTORE_HAVE");
		for (uint32_t k = 0; k < head.count; k++) {
			struct manifest_entry e;
			uint32_t idx = 0;
			int bad;

			(void)msg_need_get(&r, &idx, err);	/* cannot fail: count checked */
			bad = (int64_t)idx <= prev || idx >= sr->n;

			if (!bad) {
				restore_entry(sr, idx, &e);
				bad = e.type != MF_FILE || e.size == 0;
			}
			if (bad)
				return abk_err_set(err, ABK_E_PROTO, "RESTORE_HAVE names entry %u: "
				    "out of order, out of range or not a file with data", idx);
			prev = idx;
			sr->have[idx] = 1;
			sr->n_have++;
		}
		if (r.left != 0)
			return abk_err_set(err, ABK_E_PROTO, "trailing bytes in RESTORE_HAVE");
		if (head.last)
			return ABK_OK;
	}
}

/*
 * The data phase runs in two threads: a builder reads stored files into zip
 * batches (two slots, so one is built while the other is on the wire) and
 * this session's thread sends them in order.  Only the builder touches the
 * snapshot handle during this phase.
 */
enum rslot_state { RSLOT_FREE, RSLOT_READY };

struct restore_slot {
	enum rslot_state state;
	zipio_writer *zw;
	uint8_t *data;		/* the finished zip (zipio_writer_archive) */
	size_t len;
	struct transfer_unit units[PROTO_ZIP_BATCH_ENTRIES];
	uint32_t n;
	uint8_t digest[ABK_DIGEST_LEN];
};

struct restore_pipe {
	struct srv_restore *sr;
	struct restore_slot *slots;	/* 2 */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t built;			/* batches built so far */
	int done;			/* the builder has built everything */
	int stop;			/* the sender gave up */
	int rc;
	abk_err err;
};

static int
restore_open_stored(void *ctx, uint32_t index, int *fd)
{
	struct srv_restore *sr = ctx;
	abk_err ignored = ABK_ERR_INIT;
	struct manifest_entry e;

	restore_entry(sr, index, &e);
	errno = 0;
	return storage_snapshot_open_file(sr->snap, &e, fd, &ignored) == ABK_OK ? 0 : -1;
}

/* Builder: zip units[0..n) into slot. */
static int
restore_build_batch(struct srv_restore *sr, struct restore_slot *sl, abk_err *err)
{
	int rc = zipio_writer_reset(sl->zw, err);
	int fd = -1;
	uint32_t fd_index = UINT32_MAX;
	char name[ABK_PATH_MAX + 1];
	struct prefetch pf;

	/* a cold cache (a restore after a disaster) reads the batch at once */
	prefetch_start(&pf, sl->units, sl->n, PREFETCH_FILES, restore_open_stored, sr);
	for (uint32_t i = 0; rc == ABK_OK && i < sl->n; i++) {
		struct manifest_entry ent, *e = &ent;

		restore_entry(sr, sl->units[i].index, &ent);
		/* manifest paths point into the manifest, unterminated */
		memcpy(name, e->path, e->path_len);
		name[e->path_len] = '\0';
		if (fd_index != sl->units[i].index) {
			if (fd >= 0)
				close(fd);
			fd = prefetch_take(&pf, sl->units[i].index);
			if (fd < 0)
				rc = storage_snapshot_open_file(sr->snap, e, &fd, err);
			if (rc != ABK_OK)
				break;
			fd_index = sl->units[i].index;
		}
		rc = zipio_add_file(sl->zw, name, fd, sl->units[i].offset, sl->units[i].len,
		    e->mode, e->mtime, sr->level, NULL, err);
	}
	if (fd >= 0)
		close(fd);
	prefetch_end(&pf);
	if (rc == ABK_OK)
		rc = zipio_writer_finish(sl->zw, NULL, &sl->len, err);
	sl->data = zipio_writer_archive(sl->zw);
	if (rc == ABK_OK)
		rc = transfer_batch_digest(sl->data, sl->len, sl->digest, err);
	return rc;
}

/* Builder: wait for the slot of batch number b, fill and publish it. */
static int
restore_publish(struct restore_pipe *rp, struct restore_slot *sl, abk_err *err)
{
	int rc = restore_build_batch(rp->sr, sl, err);

	pthread_mutex_lock(&rp->lock);
	if (rc == ABK_OK) {
		sl->state = RSLOT_READY;
		rp->built++;
	}
	pthread_cond_broadcast(&rp->cond);
	pthread_mutex_unlock(&rp->lock);
	return rc;
}

static struct restore_slot *
restore_next_free(struct restore_pipe *rp)
{
	struct restore_slot *sl = &rp->slots[rp->built % 2];

	pthread_mutex_lock(&rp->lock);
	while (sl->state != RSLOT_FREE && !rp->stop)
		pthread_cond_wait(&rp->cond, &rp->lock);
	if (rp->stop)
		sl = NULL;
	pthread_mutex_unlock(&rp->lock);
	if (sl != NULL)
		sl->n = 0;
	return sl;
}

static void *
restore_builder(void *arg)
{
	struct restore_pipe *rp = arg;
	struct srv_restore *sr = rp->sr;
	struct restore_slot *sl = restore_next_free(rp);
	abk_err err = ABK_ERR_INIT;
	uint64_t batch_bytes = 0;
	int rc = sl == NULL ? ABK_E_CANCELED : ABK_OK;

	for (size_t i = 0; rc == ABK_OK && i < sr->n; i++) {
		struct manifest_entry ent, *e = &ent;
		uint64_t off = 0;

		if (sr->have != NULL && sr->have[i])
			continue;
		restore_entry(sr, i, &ent);
		if (e->type != MF_FILE || e->size == 0 || (sr->have != NULL && sr->have[i]))
			continue;
		while (rc == ABK_OK && off < e->size) {
			uint64_t len = e->size - off > RESTORE_CHUNK ? RESTORE_CHUNK : e->size - off;

			if (sl->n > 0 && (batch_bytes + len > RESTORE_BATCH_TARGET ||
			    sl->n >= PROTO_ZIP_BATCH_ENTRIES)) {
				rc = restore_publish(rp, sl, &err);
				if (rc != ABK_OK)
					break;
				sl = restore_next_free(rp);
				if (sl == NULL) {
					rc = ABK_E_CANCELED;
					break;
				}
				batch_bytes = 0;
			}
			sl->units[sl->n].index = (uint32_t)i;
			sl->units[sl->n].offset = off;
			sl->units[sl->n].len = len;
			sl->n++;
			batch_bytes += len;
			off += len;
		}
	}
	if (rc == ABK_OK && sl->n > 0)
		rc = restore_publish(rp, sl, &err);
	pthread_mutex_lock(&rp->lock);
	rp->done = 1;
	if (rc != ABK_OK && rc != ABK_E_CANCELED) {
		rp->rc = rc;
		rp->err = err;
	}
	pthread_cond_broadcast(&rp->cond);
	pthread_mutex_unlock(&rp->lock);
	return NULL;
}

/* Sender: ZIP_BEGIN, ZIP_DATA..., ZIP_END for one built slot. */
static int
restore_send_slot(struct srv_restore *sr, const struct restore_slot *sl, uint8_t *frame,
    abk_err *err)
{
	struct session *s = sr->s;
	int rc;

	abk_buf_reset(&s->out);
	msg_zip_begin_put(&s->out, sl->units, sl->n);
	rc = session_send_out(s, PT_ZIP_BEGIN, err);
	if (rc == ABK_OK)
		rc = proto_send_split(&s->io, PT_ZIP_DATA, sl->data, sl->len, frame, NULL, NULL,
		    err);
	if (rc == ABK_OK) {
		abk_buf_reset(&s->out);
		msg_zip_end_put(&s->out, sl->len, sl->digest);
		rc = session_send_out(s, PT_ZIP_END, err);
	}
	return rc;
}

static int
restore_send_data(struct srv_restore *sr, abk_err *err)
{
	struct restore_pipe rp;
	uint8_t *frame = malloc(PROTO_HEADER_LEN + PROTO_SPLIT_FIRST);
	abk_digest_ctx total;
	uint8_t digest[ABK_DIGEST_LEN];
	pthread_t tid;
	size_t sent = 0;
	int rc = ABK_OK;

	memset(&rp, 0, sizeof(rp));
	rp.sr = sr;
	pthread_mutex_init(&rp.lock, NULL);
	pthread_cond_init(&rp.cond, NULL);
	abk_digest_init(&total);
	rp.slots = calloc(2, sizeof(*rp.slots));
	if (frame == NULL || rp.slots == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < 2 && rc == ABK_OK; i++)
		rc = zipio_writer_new(&rp.slots[i].zw, err);
	if (rc != ABK_OK)
		goto out;
	if (pthread_create(&tid, NULL, restore_builder, &rp) != 0) {
		rc = abk_err_set(err, ABK_E_INTERNAL, "cannot start the zip builder thread");
		goto out;
	}
	for (;;) {
		struct restore_slot *sl = &rp.slots[sent % 2];

		pthread_mutex_lock(&rp.lock);
		while (sl->state != RSLOT_READY && !rp.done)
			pthread_cond_wait(&rp.cond, &rp.lock);
		if (sl->state != RSLOT_READY) {		/* done, nothing more */
			rc = rp.rc;
			if (rc != ABK_OK)
				abk_err_set(err, rc, "%s", rp.err.msg);
			pthread_mutex_unlock(&rp.lock);
			break;
		}
		pthread_mutex_unlock(&rp.lock);
		rc = restore_send_slot(sr, sl, frame, err);
		if (rc != ABK_OK)
			break;
		abk_digest_update(&total, sl->digest, sizeof(sl->digest));
		sent++;
		pthread_mutex_lock(&rp.lock);
		sl->state = RSLOT_FREE;
		pthread_cond_broadcast(&rp.cond);
		pthread_mutex_unlock(&rp.lock);
	}
	pthread_mutex_lock(&rp.lock);
	rp.stop = 1;
	pthread_cond_broadcast(&rp.cond);
	pthread_mutex_unlock(&rp.lock);
	pthread_join(tid, NULL);
	if (rc == ABK_OK) {
		abk_digest_final(&total, digest);
		abk_buf_reset(&sr->s->out);
		msg_digest_put(&sr->s->out, digest);
		rc = session_send_out(sr->s, PT_RESTORE_END, err);
	}
out:
	if (rp.slots != NULL) {
		zipio_writer_free(rp.slots[0].zw);
		zipio_writer_free(rp.slots[1].zw);
	}
	free(rp.slots);
	free(frame);
	pthread_cond_destroy(&rp.cond);
	pthread_mutex_destroy(&rp.lock);
	return rc;
}

/* List only: RESTORE_END with the digest of zero batches. */
static int
restore_send_no_data(struct srv_restore *sr, abk_err *err)
{
	abk_digest_ctx total;
	uint8_t digest[ABK_DIGEST_LEN];

	abk_digest_init(&total);
	abk_digest_final(&total, digest);
	abk_buf_reset(&sr->s->out);
	msg_digest_put(&sr->s->out, digest);
	return session_send_out(sr->s, PT_RESTORE_END, err);
}

int
session_restore(struct session *s, abk_err *err)
{
	struct srv_restore sr;
	struct msg_restore req;
	struct msg_restore_begin begin;
	const char *source = req.source, *id = req.snapshot;
	char path[ABK_PATH_MAX + 1];
	uint8_t flags;
	uint64_t list_mem = 0;
	abk_rd r;
	int rc, started = 0;

	memset(&sr, 0, sizeof(sr));
	sr.s = s;
	abk_rd_init(&r, s->in.data, s->in.len);
	/* every path decoded (and its limit checked) before anything is
	 * looked up */
	if ((rc = msg_restore_get(&r, &req, err)) != ABK_OK)
		goto out;
	flags = req.flags;
	sr.level = (flags & RESTORE_FLAG_DEFLATE) ? 1 : 0;
	rc = session_list_mem_charge(s, source, id[0] ? id : NULL, &list_mem, err);
	if (rc == ABK_OK)
		rc = storage_snapshot_open(s->store, source, id[0] ? id : NULL, &sr.snap, err);
	if (rc == ABK_OK)
		rc = pathtab_init(&sr.seen, 1024, restore_key, &sr, err);
	if (rc != ABK_OK)
		goto out;
	sr.seen_ready = 1;
	if (req.n_paths == 0)
		rc = storage_snapshot_foreach(sr.snap, NULL, restore_collect, &sr, err);
	while (rc == ABK_OK && msg_restore_next_path(&req, path) == 0)
		rc = storage_snapshot_foreach(sr.snap, path, restore_collect, &sr, err);
	if (rc > 0)
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
	if (rc != ABK_OK)
		goto out;
	srv_session_set_action(s->srv, &s->info, NULL, "restore");
	abk_buf_reset(&s->out);
	memset(&begin, 0, sizeof(begin));
	snprintf(begin.snapshot, sizeof(begin.snapshot), "%s", storage_snapshot_id(sr.snap));
	snprintf(begin.origin, sizeof(begin.origin), "%s", storage_snapshot_origin(sr.snap));
	begin.single_file = storage_snapshot_single_file(sr.snap) ? 1 : 0;
	begin.entries = sr.n;
	begin.bytes = sr.bytes;
	(void)msg_restore_begin_put(&s->out, &begin);
	started = 1;
	if ((rc = session_send_out(s, PT_RESTORE_BEGIN, err)) != ABK_OK ||
	    (rc = restore_send_list(&sr, err)) != ABK_OK ||
	    ((flags & RESTORE_FLAG_HAVE) && !(flags & RESTORE_FLAG_LIST_ONLY) &&
	    (rc = restore_read_have(&sr, err)) != ABK_OK) ||
	    (rc = (flags & RESTORE_FLAG_LIST_ONLY) ? restore_send_no_data(&sr, err) :
	    restore_send_data(&sr, err)) != ABK_OK)
		goto out;
	srv_stat_add(s->srv, &s->srv->stats.restores, 1);
	log_event(LOG_LVL_INFO, s->peer, s->user, "restore", "ok: %s snapshot %s, %zu entries, "
	    "%llu bytes; %llu files already at the client", source, storage_snapshot_id(sr.snap),
	    sr.n, (unsigned long long)sr.bytes, (unsigned long long)sr.n_have);
out:
	if (rc != ABK_OK && !abk_code_is_disconnect(rc))
		(void)session_fail(s, "restore", err);
	if (sr.seen_ready)
		pathtab_free(&sr.seen);
	free(sr.v);
	free(sr.have);
	storage_snapshot_close(sr.snap);
	session_list_mem_release(s, list_mem);
	/* An error before RESTORE_BEGIN leaves the client in step. */
	if (rc == ABK_OK || (!started && !abk_code_is_disconnect(rc)))
		return ABK_OK;
	return abk_code_is_disconnect(rc) ? rc : ABK_E_PROTO;
}
