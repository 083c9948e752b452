/*
 * push.c - the client side of a push.
 *
 * 1. scan the source (scan.c) and send the whole file list first;
 * 2. the server answers which entries it needs (new or changed, not already
 *    in its staging area from an interrupted push);
 * 3. only those travel, as zip batches built in memory by builder threads
 *    (push_build.c)
 *    and sent in order by this thread while the next ones are being built
 *    (a ring of threads+1 slots bounds memory);
 * 4. a whole-push digest and the server's verdict end it.
 *
 * Compression adapts: deflate level 1 while the link is the bottleneck,
 * store when the builders are (on a fast link, deflating at ~108 MB/s per
 * core would only slow the push down: doc/ARCHITECTURE.md, measured facts), as
 * measured by adapt.h.  Files that do not compress are always stored.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapt.h"
#include "client_int.h"
#include "pathsafe.h"
#include "prefetch.h"
#include "proto_msg.h"
#include "crypto.h"
#include "net.h"
#include "scan.h"
#include "transfer.h"
#include "zipio.h"
#include "push_int.h"
#include "strutil.h"

/* Builder (and piece hashing) threads: --threads, else one per core. */
static unsigned
push_thread_count(const struct abk_push_opts *opts)
{
	long n = opts->threads > 0 ? opts->threads : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 16 ? 16 : (unsigned)n;
}

/* Piece hashes of our version of entry index, or NULL if it cannot be read. */
static uint8_t (*push_own_hashes(struct push_job *job, uint32_t index))[ABK_PIECE_HASH_LEN]
{
	const struct scan_entry *e = &job->scan->v[index];
	uint64_t n = (e->size + PUSH_CHUNK - 1) / PUSH_CHUNK;
	uint8_t (*h)[ABK_PIECE_HASH_LEN];
	abk_err ignored = ABK_ERR_INIT;
	int fd;

	if (n == 0 || n > PROTO_PIECES_MAX || (h = malloc(n * sizeof(*h))) == NULL)
		return NULL;
	(void)push_open_source(job, index, &fd);
	if (fd < 0 || transfer_piece_hashes(fd, e->size, h, NULL, job->n_threads, &ignored) != ABK_OK) {
		if (fd >= 0)
			close(fd);
		free(h);
		return NULL;	/* it travels whole (or is skipped when read) */
	}
	close(fd);
	return h;
}

/* Read PUSH_PIECES frames into job->prev. */
static int
push_read_pieces(struct push_job *job, abk_err *err)
{
	abk_client *c = job->c;
	size_t cap = 0;
	int64_t last_index = -1;

	for (;;) {
		struct msg_list_head head;
		abk_rd r;
		int rc = client_recv(c, PT_PUSH_PIECES, NULL, err);

		if (rc != ABK_OK)
			return rc;
		abk_rd_init(&r, c->in.data, c->in.len);
		if ((rc = msg_list_head_get(&r, PT_PUSH_PIECES, &head, err)) != ABK_OK) {
			c->broken = 1;
			return rc;
		}
		for (uint32_t i = 0; i < head.count; i++) {
			struct msg_pieces m;
			struct push_prev pv;

			if ((rc = msg_pieces_get(&r, &m, err)) != ABK_OK) {
				c->broken = 1;
				return rc;
			}
			pv.index = m.index;
			pv.size = m.prev_size;
			pv.n = m.n;
			if ((int64_t)pv.index <= last_index ||
			    pv.index >= job->scan->n || pv.n == 0 ||
			    (pv.size + PUSH_CHUNK - 1) / PUSH_CHUNK != pv.n) {
				c->broken = 1;
				return abk_err_set(err, ABK_E_PROTO, "malformed PUSH_PIECES");
			}
			last_index = pv.index;
			pv.h = malloc((size_t)pv.n * ABK_PIECE_HASH_LEN);
			if (pv.h == NULL)
				return abk_err_set(err, ABK_E_NOMEM, "out of memory");
			memcpy(pv.h, m.hashes, (size_t)pv.n * ABK_PIECE_HASH_LEN);
			if (job->n_prev == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct push_prev *np = realloc(job->prev, ncap * sizeof(*np));

				if (np == NULL) {
					free(pv.h);
					return abk_err_set(err, ABK_E_NOMEM, "out of memory");
				}
				job->prev = np;
				cap = ncap;
			}
			job->prev[job->n_prev++] = pv;
		}
		if (head.last)
			return ABK_OK;
	}
}

/* Plan units (chunks) and batches for the needed entries. */
static int
push_plan(struct push_job *job, const uint32_t *need, size_t n_need, abk_err *err)
{
	size_t cap_units = 0, n = 0, nb = 0;
	uint64_t batch_bytes = 0;
	size_t batch_count = 0;

	for (size_t i = 0; i < n_need; i++) {
		uint64_t size = job->scan->v[need[i]].size;

		cap_units += size == 0 ? 1 : (size_t)((size + PUSH_CHUNK - 1) / PUSH_CHUNK);
	}
	job->units = calloc(cap_units ? cap_units : 1, sizeof(*job->units));
	job->batches = calloc(cap_units ? cap_units : 1, sizeof(*job->batches));
	if (job->units == NULL || job->batches == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory planning the transfer");
	for (size_t i = 0, pi = 0; i < n_need; i++) {
		uint64_t size = job->scan->v[need[i]].size, off = 0;
		uint8_t (*own)[ABK_PIECE_HASH_LEN] = NULL;
		const struct push_prev *pv = NULL;

		while (pi < job->n_prev && job->prev[pi].index < need[i])
			pi++;
		if (pi < job->n_prev && job->prev[pi].index == need[i])
			pv = &job->prev[pi];
		if (pv != NULL)
			own = push_own_hashes(job, need[i]);
		do {
			uint64_t len = size - off > PUSH_CHUNK ? PUSH_CHUNK : size - off;
			uint64_t k = off / PUSH_CHUNK;
			int reuse = own != NULL && k < pv->n && pv->size - off >= len &&
			    (pv->size - off > PUSH_CHUNK ? PUSH_CHUNK : pv->size - off) == len &&
			    memcmp(own[k], pv->h[k], ABK_PIECE_HASH_LEN) == 0;
			uint64_t wire = reuse ? 0 : len;

			if (batch_count > 0 && (batch_bytes + wire > PUSH_BATCH_TARGET ||
			    batch_count >= PROTO_ZIP_BATCH_ENTRIES)) {
				job->batches[nb].first = n - batch_count;
				job->batches[nb].count = batch_count;
				nb++;
				batch_bytes = 0;
				batch_count = 0;
			}
			job->units[n].index = need[i];
			job->units[n].offset = off;
			job->units[n].len = len;
			job->units[n].flags = reuse ? TRANSFER_REUSE : 0;
			n++;
			batch_count++;
			batch_bytes += wire;
			off += len;
		} while (off < size);
		free(own);
	}
	if (batch_count > 0) {
		job->batches[nb].first = n - batch_count;
		job->batches[nb].count = batch_count;
		nb++;
	}
	job->n_units = n;
	job->n_batches = nb;
	return ABK_OK;
}

static void
push_progress(struct push_job *job, struct abk_progress *p, long long *last, int force)
{
	long long now = net_now_ms();

	if (job->opts->progress == NULL || (!force && now - *last < PUSH_PROGRESS_MS))
		return;
	*last = now;
	job->opts->progress(job->opts->ctx, p);
}

/* Send the file list in PUSH_ENTRIES frames. */
static int
push_send_entries(abk_client *c, const struct scan_result *scan, abk_err *err)
{
	size_t i = 0;

	do {
		abk_buf items;
		uint32_t n = 0;
		int rc;

		abk_buf_init(&items, PUSH_ENTRIES_FRAME + ABK_PATH_MAX + MF_TARGET_MAX + 128);
		while (i < scan->n && items.len < PUSH_ENTRIES_FRAME) {
			const struct scan_entry *se = &scan->v[i];
			struct manifest_entry e;

			memset(&e, 0, sizeof(e));
			e.path = se->path;
			e.path_len = se->path_len;
			e.type = se->type;
			e.mode = se->mode;
			e.mtime = se->mtime;
			e.mtime_nsec = se->mtime_nsec;
			e.ctime = se->ctime;
			e.ctime_nsec = se->ctime_nsec;
			e.inode = se->inode;
			e.flags = MF_HAS_STAT | (se->racy ? MF_RACY : 0);
			e.size = se->size;
			e.target = se->target;
			e.target_len = se->target ? strlen(se->target) : 0;
			if (se->has_sha256) {
				e.flags |= MF_HAS_SHA256;
				memcpy(e.sha256, se->sha256, sizeof(e.sha256));
			}
			if (manifest_entry_encode(&items, &e) != 0) {
				abk_buf_free(&items);
				return abk_err_set(err, ABK_E_INTERNAL, "file list frame overflow");
			}
			n++;
			i++;
		}
		msg_list_head_put(&c->out, i >= scan->n, n);
		abk_put_bytes(&c->out, items.data, items.len);
		abk_buf_free(&items);
		rc = client_send(c, PT_PUSH_ENTRIES, err);
		if (rc != ABK_OK)
			return rc;
	} while (i < scan->n);
	return ABK_OK;
}

/* Read PUSH_NEED frames: ascending indexes into the list. */
static int
push_read_need(abk_client *c, size_t n_entries, uint32_t **need_out, size_t *n_out,
    abk_err *err)
{
	uint32_t *need = NULL;
	size_t n = 0, cap = 0;
	int64_t prev = -1;
	int rc;

	for (;;) {
		struct msg_list_head head;
		uint32_t count;
		abk_rd r;

		rc = client_recv(c, PT_PUSH_NEED, NULL, err);
		if (rc != ABK_OK)
			goto fail;
		abk_rd_init(&r, c->in.data, c->in.len);
		if ((rc = msg_list_head_get(&r, PT_PUSH_NEED, &head, err)) != ABK_OK)
			goto fail;
		count = head.count;
		if (count > r.left / 4) {
			rc = abk_err_set(err, ABK_E_PROTO, "malformed PUSH_NEED");
			goto fail;
		}
		if (n + count > cap) {
			size_t ncap = (n + count) * 2;
			uint32_t *nn = realloc(need, ncap * sizeof(*nn));

			if (nn == NULL) {
				rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
				goto fail;
			}
			need = nn;
			cap = ncap;
		}
		for (uint32_t k = 0; k < count; k++) {
			uint32_t idx;

			(void)msg_need_get(&r, &idx, err);	/* cannot fail: count checked */
			if ((int64_t)idx <= prev || idx >= n_entries) {
				rc = abk_err_set(err, ABK_E_PROTO, "server asked for entry %u, "
				    "out of order or out of range", idx);
				goto fail;
			}
			prev = idx;
			need[n++] = idx;
		}
		if (head.last)
			break;
	}
	*need_out = need;
	*n_out = n;
	return ABK_OK;
fail:
	free(need);
	c->broken = 1;
	return rc;
}

/*
 * After each data frame: --bwlimit (sleep until the average is under the
 * limit) and Ctrl-C (stop between frames: CANCEL then stays in step).
 */
static int
push_after_frame(void *ctx, size_t n, abk_err *err)
{
	struct push_job *job = ctx;
	long long due, now;

	job->wire_sent += n;
	if (job->opts->bwlimit != 0) {
		due = job->t_start_ms + (long long)(job->wire_sent * 1000 / job->opts->bwlimit);
		while ((now = net_now_ms()) < due) {
			long long ms = due - now > 100 ? 100 : due - now;
			struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000 };

			if (abk_cancel_requested(job->opts->cancel))
				break;
			nanosleep(&ts, NULL);
		}
	}
	if (abk_cancel_requested(job->opts->cancel))
		return abk_err_set(err, ABK_E_CANCELED, "canceled");
	return ABK_OK;
}

/* Send one built batch: ZIP_BEGIN, ZIP_DATA..., ZIP_END, then its skips. */
static int
push_send_batch(struct push_job *job, struct push_slot *s, uint8_t *frame, abk_err *err)
{
	abk_client *c = job->c;
	int rc = ABK_OK;

	if (s->n_sent > 0) {
		msg_zip_begin_put(&c->out, s->sent, (uint32_t)s->n_sent);
		rc = client_send(c, PT_ZIP_BEGIN, err);
		if (rc == ABK_OK) {
			rc = proto_send_split(&c->io, PT_ZIP_DATA, s->data, s->len, frame,
			    push_after_frame, job, err);
			if (rc != ABK_OK && rc != ABK_E_CANCELED)
				c->broken = 1;
		}
		if (rc == ABK_OK) {
			msg_zip_end_put(&c->out, s->len, s->digest);
			rc = client_send(c, PT_ZIP_END, err);
		}
	}
	for (size_t i = 0; rc == ABK_OK && i < s->n_skips; i++) {
		const struct scan_entry *e = &job->scan->v[s->skips[i].index];

		if (job->opts->note != NULL)
			job->opts->note(job->opts->ctx, e->path, s->skips[i].why);
		msg_push_skip_put(&c->out, s->skips[i].index, s->skips[i].why);
		rc = client_send(c, PT_PUSH_SKIP, err);
	}
	return rc;
}

/* An ERROR the server sent while we were streaming, if any. */
static int
push_check_server(abk_client *c, abk_err *err)
{
	uint8_t type;
	int rc;

	if (!tls_conn_readable(c->conn))
		return ABK_OK;
	rc = client_recv(c, 0, &type, err);
	if (rc == ABK_OK) {
		c->broken = 1;
		return abk_err_set(err, ABK_E_PROTO, "unexpected %s during the transfer",
		    proto_type_name(type));
	}
	c->broken = 1;
	return rc;
}

/* The ring of slots the builders fill and the sender empties: n_threads + 1
 * slots, each with its zip writer and sent-units table. */
static int
push_slots_new(struct push_job *job, abk_err *err)
{
	job->n_slots = job->n_threads + 1;
	job->slots = calloc(job->n_slots, sizeof(*job->slots));
	if (job->slots == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	for (size_t i = 0; i < job->n_slots; i++) {
		job->slots[i].next_batch = i;
		job->slots[i].sent = calloc(PROTO_ZIP_BATCH_ENTRIES, sizeof(struct push_unit));
		if (job->slots[i].sent == NULL ||
		    zipio_writer_new(&job->slots[i].zw, err) != ABK_OK)
			return err->code ? err->code : abk_err_set(err, ABK_E_NOMEM, "out of memory");
	}
	return ABK_OK;
}

/* Free what push_slots_new made (job->slots itself is freed with the job). */
static void
push_slots_free(struct push_job *job)
{
	if (job->slots == NULL)
		return;
	for (size_t i = 0; i < job->n_slots; i++) {
		zipio_writer_free(job->slots[i].zw);
		free(job->slots[i].sent);
		free(job->slots[i].skips);
	}
}

/* Wait until the builders have put batch b in slot s. */
static void
push_slot_wait(struct push_job *job, struct push_slot *s, size_t b)
{
	pthread_mutex_lock(&job->lock);
	while (!(s->state == SLOT_READY && s->next_batch == b))
		pthread_cond_wait(&job->cond, &job->lock);
	pthread_mutex_unlock(&job->lock);
}

/* Give slot s back to the builders for batch b + n_slots. */
static void
push_slot_release(struct push_job *job, struct push_slot *s, size_t b)
{
	pthread_mutex_lock(&job->lock);
	s->state = SLOT_FREE;
	s->next_batch = b + job->n_slots;
	pthread_cond_broadcast(&job->cond);
	pthread_mutex_unlock(&job->lock);
}

/* Send the batch in slot s.  When the connection broke, the server may have
 * said why before closing: that reason replaces the network error. */
static int
push_send_slot(struct push_job *job, struct push_slot *s, uint8_t *frame, abk_err *err)
{
	int rc = push_check_server(job->c, err);

	if (rc == ABK_OK)
		rc = push_send_batch(job, s, frame, err);
	if (rc != ABK_OK && job->c->broken && abk_code_is_disconnect(err->code)) {
		abk_err why = ABK_ERR_INIT;

		job->c->broken = 0;
		if (client_recv(job->c, 0, NULL, &why) != ABK_OK &&
		    !abk_code_is_disconnect(why.code)) {
			abk_err_clear(err);
			rc = abk_err_set(err, why.code, "%s", why.msg);
		}
		job->c->broken = 1;
	}
	return rc;
}

/* Account a sent batch: totals, files finished, the next compression
 * choice, the rate and progress. */
static void
push_slot_sent(struct push_job *job, struct push_slot *s, struct adapt *ad, double t0,
    double t_begin, abk_digest_ctx *total, struct abk_progress *prog,
    long long *last_progress, uint64_t *wire_bytes, uint64_t *skipped)
{
	if (s->n_sent > 0)
		abk_digest_update(total, s->digest, sizeof(s->digest));
	*wire_bytes += s->len;
	*skipped += s->n_skips;
	prog->bytes_done += s->input_bytes + s->reused_bytes;
	for (size_t i = 0; i < s->n_sent; i++) {
		const struct push_unit *u = &s->sent[i];

		if (u->offset + u->len == job->scan->v[u->index].size) {
			prog->files_done++;
			prog->current = job->scan->v[u->index].path;
		}
	}
	atomic_store(&job->deflate,
	    adapt_batch_sent(ad, s->level_used, s->input_bytes, now_seconds() - t0));
	prog->rate = (double)prog->bytes_done / (now_seconds() - t_begin + 1e-9);
	push_progress(job, prog, last_progress, 0);
}

/* Tell the builders to stop and wait for them. */
static void
push_builders_join(struct push_job *job, pthread_t *threads, size_t started)
{
	pthread_mutex_lock(&job->lock);
	__atomic_store_n(&job->abort, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&job->cond);
	pthread_mutex_unlock(&job->lock);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

/* The transfer: builders fill the ring, this thread sends each batch in
 * order, then PUSH_END with the digest of all batches. */
static int
push_transfer(struct push_job *job, struct abk_progress *prog, uint64_t *wire_bytes,
    uint64_t *skipped, abk_err *err)
{
	pthread_t *threads = NULL;
	size_t n_threads = job->n_threads;
	size_t started = 0;
	uint8_t *frame = NULL;
	abk_digest_ctx total;
	uint8_t total_digest[ABK_DIGEST_LEN];
	struct adapt ad;
	long long last_progress = 0;
	double t_begin = now_seconds();
	int rc = ABK_OK;

	/* auto starts storing and measures once the ring of built batches is
	 * in its steady state; to a server on loopback it just stores: the
	 * link is memory, compressing could only cost CPU */
	adapt_init(&ad, job->opts->compress == ABK_COMPRESS_AUTO &&
	    !net_peer_is_loopback(tls_conn_fd(job->c->conn)),
	    job->opts->compress == ABK_COMPRESS_ALWAYS, (unsigned)(2 * (n_threads + 1)));
	atomic_store(&job->deflate, ad.mode);
	threads = calloc(n_threads, sizeof(*threads));
	frame = malloc(PROTO_HEADER_LEN + PROTO_SPLIT_FIRST);
	if ((rc = push_slots_new(job, err)) != ABK_OK)
		goto out;
	if (threads == NULL || frame == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
		goto out;
	}
	abk_digest_init(&total);
	for (started = 0; started < n_threads && started < job->n_batches; started++)
		if (pthread_create(&threads[started], NULL, push_builder, job) != 0)
			break;
	if (started == 0 && job->n_batches > 0) {
		rc = abk_err_set(err, ABK_E_INTERNAL, "cannot start zip builder threads");
		goto out;
	}
	for (size_t b = 0; b < job->n_batches && rc == ABK_OK; b++) {
		struct push_slot *s = &job->slots[b % job->n_slots];
		double t0 = now_seconds();

		if (abk_cancel_requested(job->opts->cancel)) {
			rc = abk_err_set(err, ABK_E_CANCELED, "canceled");
			break;
		}
		push_slot_wait(job, s, b);
		if (s->rc != ABK_OK) {
			rc = abk_err_set(err, s->rc, "%s", s->err.msg);
			break;
		}
		if (s->n_sent > 0 && prog->current != job->scan->v[s->sent[0].index].path) {
			/* the file on the wire now (not the last finished): say it at once */
			prog->current = job->scan->v[s->sent[0].index].path;
			push_progress(job, prog, &last_progress, 1);
		}
		if ((rc = push_send_slot(job, s, frame, err)) != ABK_OK)
			break;
		push_slot_sent(job, s, &ad, t0, t_begin, &total, prog, &last_progress,
		    wire_bytes, skipped);
		push_slot_release(job, s, b);
	}
	push_builders_join(job, threads, started);
	if (rc == ABK_OK) {
		abk_digest_final(&total, total_digest);
		msg_digest_put(&job->c->out, total_digest);
		rc = client_send(job->c, PT_PUSH_END, err);
	}
out:
	push_slots_free(job);
	free(threads);
	free(frame);
	return rc;
}

/* PUSH_READY: the server's batch bound must hold what the builders make (a
 * batch of PUSH_BATCH_TARGET input bytes, or one whole piece, plus zip
 * headers), or every batch would be refused half-way through the push. */
static int
push_read_ready(abk_client *c, abk_err *err)
{
	uint32_t max_batch = 0;
	abk_rd r;
	int rc = client_recv(c, PT_PUSH_READY, NULL, err);

	if (rc != ABK_OK)
		return rc;
	abk_rd_init(&r, c->in.data, c->in.len);
	if ((rc = msg_push_ready_get(&r, &max_batch, err)) != ABK_OK)
		return rc;
	if (max_batch < PUSH_BATCH_TARGET + PROTO_PIECE + (1u << 20))
		return abk_err_set(err, ABK_E_PROTO, "the server accepts zip batches of at most "
		    "%u bytes; this client needs %u", max_batch,
		    PUSH_BATCH_TARGET + PROTO_PIECE + (1u << 20));
	return ABK_OK;
}

/* The scan step: scan options from opts, scan the source, check the entry
 * limit.  *name is the snapshot source name (--name or the base name). */
static int
push_scan(const struct abk_push_opts *opts, struct scan_result *scan, const char **name,
    abk_err *err)
{
	struct scan_opts so;
	int rc;

	memset(&so, 0, sizeof(so));
	so.excludes = opts->excludes;
	so.checksum = opts->checksum;
	so.one_fs = opts->one_file_system;
	so.note = opts->note;
	so.ctx = opts->ctx;
	so.cancel = opts->cancel;
	rc = scan_source(opts->path, &so, scan, err);
	if (rc != ABK_OK)
		return rc;
	/* a push of / needs a usable source name */
	*name = opts->name ? opts->name : strcmp(scan->origin, "/") == 0 ? "root" :
	    abk_base_name(scan->origin);
	if (scan->n > PROTO_MAX_ENTRIES)
		return abk_err_set(err, ABK_E_LIMIT, "%s has %zu entries; the limit is %u",
		    opts->path, scan->n, PROTO_MAX_ENTRIES);
	return ABK_OK;
}

/* Ready the job for the transfer once the server said what it needs: the
 * builders' lock, the source root, the pieces to send, the batches. */
static int
push_job_start(struct push_job *job, abk_client *c, struct scan_result *scan,
    const uint32_t *need, size_t n_need, abk_err *err)
{
	int rc;

	job->c = c;
	job->scan = scan;
	pthread_mutex_init(&job->lock, NULL);
	pthread_cond_init(&job->cond, NULL);
	atomic_init(&job->deflate, 1);
	job->rootfd = open(scan->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (job->rootfd < 0)
		return abk_err_set(err, ABK_E_IO, "cannot open %s: %s", scan->root,
		    strerror(errno));
	if ((rc = push_read_pieces(job, err)) != ABK_OK ||
	    (rc = push_plan(job, need, n_need, err)) != ABK_OK)
		return rc;
	job->t_start_ms = net_now_ms();
	return ABK_OK;
}

/* Free what push_job_start made. */
static void
push_job_free(struct push_job *job)
{
	if (job->rootfd >= 0)
		close(job->rootfd);
	for (size_t i = 0; i < job->n_prev; i++)
		free(job->prev[i].h);
	free(job->prev);
	free(job->units);
	free(job->batches);
	free(job->slots);
	pthread_mutex_destroy(&job->lock);
	pthread_cond_destroy(&job->cond);
}

/* A canceled transfer on a live connection: tell the server, so it drops
 * the staging now, and wait for its answer (best effort). */
static void
push_cancel_server(abk_client *c)
{
	abk_err ignored = ABK_ERR_INIT;

	if (client_send(c, PT_CANCEL, &ignored) == ABK_OK)
		(void)client_recv(c, 0, NULL, &ignored);
}

int
abk_push(abk_client *c, const struct abk_push_opts *opts, struct abk_push_result *res,
    abk_err *err)
{
	struct scan_result scan;
	struct push_job job;
	struct abk_progress prog;
	uint32_t *need = NULL;
	size_t n_need = 0;
	long long last = 0, t_start = net_now_ms();
	const char *name = NULL;
	struct msg_push_verdict verdict;
	abk_rd r;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&scan, 0, sizeof(scan));
	memset(&job, 0, sizeof(job));
	memset(&prog, 0, sizeof(prog));
	job.rootfd = -1;
	job.opts = opts;
	job.n_threads = push_thread_count(opts);

	prog.phase = ABK_PHASE_SCAN;
	rc = push_scan(opts, &scan, &name, err);
	if (name != NULL) {
		prog.source = name;
		prog.files_total = scan.n;
		res->entries = scan.n;
		res->skipped = scan.skipped;
		res->special = scan.special;
	}
	if (rc != ABK_OK)
		goto out;
	prog.phase = ABK_PHASE_COMPARE;
	push_progress(&job, &prog, &last, 1);

	msg_push_begin_put(&c->out, name, scan.origin, (opts->checksum ? PROTO_PUSH_CHECKSUM : 0) |
	    (scan.single_file ? PROTO_PUSH_SINGLE_FILE : 0), scan.n, scan.total_bytes);
	if ((rc = client_send(c, PT_PUSH_BEGIN, err)) != ABK_OK ||
	    (rc = push_read_ready(c, err)) != ABK_OK ||
	    (rc = push_send_entries(c, &scan, err)) != ABK_OK ||
	    (rc = push_read_need(c, scan.n, &need, &n_need, err)) != ABK_OK)
		goto out;

	if ((rc = push_job_start(&job, c, &scan, need, n_need, err)) != ABK_OK)
		goto out_job;
	prog.phase = ABK_PHASE_TRANSFER;
	prog.files_total = n_need;
	for (size_t i = 0; i < n_need; i++)
		prog.bytes_total += scan.v[need[i]].size;
	push_progress(&job, &prog, &last, 1);
	rc = push_transfer(&job, &prog, &res->bytes_sent, &res->skipped, err);
	if (rc == ABK_E_CANCELED && !c->broken)
		push_cancel_server(c);
	if (rc != ABK_OK)
		goto out_job;

	prog.phase = ABK_PHASE_COMMIT;
	push_progress(&job, &prog, &last, 1);
	rc = client_recv(c, PT_PUSH_VERDICT, NULL, err);
	if (rc != ABK_OK)
		goto out_job;
	abk_rd_init(&r, c->in.data, c->in.len);
	if ((rc = msg_push_verdict_get(&r, &verdict, err)) != ABK_OK)
		goto out_job;
	memcpy(res->snapshot, verdict.snapshot, sizeof(verdict.snapshot));
	res->added = verdict.added;
	res->changed = verdict.changed;
	res->removed = verdict.removed;
	res->unchanged = verdict.unchanged;
	res->bytes_received = verdict.bytes_received;
	res->bytes_stored = verdict.bytes_stored;
	res->kept = verdict.kept;
	prog.phase = ABK_PHASE_DONE;
	prog.rate = (double)prog.bytes_done * 1000.0 / (double)(net_now_ms() - t_start + 1);
	push_progress(&job, &prog, &last, 1);
	if (res->skipped > 0)
		rc = abk_err_set(err, ABK_E_PARTIAL, "%llu entr%s skipped",
		    (unsigned long long)res->skipped, res->skipped == 1 ? "y was" : "ies were");
out_job:
	push_job_free(&job);
out:
	/* Once data flowed, the server keeps what arrived (issue 10 item 5). */
	if (prog.phase >= ABK_PHASE_TRANSFER && (abk_code_is_disconnect(rc) ||
	    rc == ABK_E_CANCELED || (rc == ABK_E_BUSY && c->broken)))
		client_resume_hint(err, rc, "(the server keeps what arrived)");
	free(need);
	scan_result_free(&scan);
	return rc;
}
