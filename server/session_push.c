/*
 * session_push.c - the server side of a push: file list in, needs out, zip
 * batches in, verdict out (doc/PROTOCOL.md, "Push").
 *
 * Everything a client sends is checked before it touches the disk: entries
 * by manifest_entry_decode and storage_push_entry, each zip entry against the
 * unit list of its ZIP_BEGIN (same name, size within the declared file),
 * every batch by its BLAKE2b digest and its CRCs, the whole push by the
 * final digest.  Expanded bytes can never exceed what the list declared.
 * Any failure aborts the push: staging keeps what arrived (for a resume),
 * nothing is published.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "crypto.h"
#include "batchrecv.h"
#include "handoff.h"
#include "log.h"
#include "proto_msg.h"
#include "session.h"
#include "storage.h"
#include "tlsconn.h"
#include "transfer.h"
#include "zipio.h"

#define PUSH_READ_BUF (256u * 1024u)

/*
 * Receiving and unpacking run in two threads: this session's thread reads
 * frames (TLS decryption, the batch digest) while an unpacker thread inflates
 * the previous batch, checks its CRCs and writes it through storage.  They
 * meet at a mailbox of depth one; storage is only ever called by the
 * unpacker during the data phase, so it keeps its one-thread contract.
 */
enum mail_kind { MAIL_NONE, MAIL_BATCH, MAIL_SKIP };

struct push_mail {
	enum mail_kind kind;
	const abk_buf *zip;		/* MAIL_BATCH: one of the receiver's buffers */
	const struct transfer_unit *units;
	uint32_t n_units;
	uint32_t skip_index;		/* MAIL_SKIP */
};

/* The CRC-32 of each piece of a previous version offered in PUSH_PIECES:
 * reused pieces are then copied without being read again. */
struct piece_crcs {
	uint32_t index;			/* entry (ascending, as offered) */
	uint32_t n;
	uint32_t staged;		/* pieces [0, staged) are kept in staging from an
					 * interrupted push; the rest come from the
					 * previous version */
	uint64_t size;			/* of the previous version, or staged pieces */
	uint32_t *crc;			/* n, owned */
	uint8_t (*hash)[ABK_PIECE_HASH_LEN];	/* n, owned: kept for the piece cache */
};

struct srv_push {
	struct session *s;
	storage_push *p;
	char source[PROTO_SOURCE_MAX + 1];
	uint64_t declared_entries;
	uint32_t *need;
	size_t n_need;
	uint64_t list_mem;		/* charged to the file-list budget */
	/* receiver side */
	struct batchrecv br;
	/* the unpacker and its mailbox (handoff.h) */
	struct handoff ho;
	struct push_mail mails[2];	/* alternate: one may be in the unpacker */
	int mail_next;
	uint64_t files_done;		/* published by push_unpacked, under ho.lock */
	uint64_t files_shown;		/* receiver's copy of files_done */
	uint64_t files_unpacked;	/* unpacker only */
	/* unpacker only */
	uint8_t *buf;
	int reuse_fd;			/* previous version being copied from */
	uint32_t reuse_index;
	uint64_t reuse_size;		/* of that previous version */
	struct piece_crcs *pcrc;	/* written before the unpacker starts */
	size_t n_pcrc;
};

static int
push_read_entries(struct srv_push *sp, abk_err *err)
{
	struct session *s = sp->s;
	size_t cap = 0;
	uint64_t seen = 0;

	for (;;) {
		struct msg_list_head head;
		abk_rd r;
		int rc = session_recv_list(s, PT_PUSH_ENTRIES, &r, &head, err);

		if (rc != ABK_OK)
			return rc;
		for (uint32_t i = 0; i < head.count; i++) {
			struct manifest_entry e;
			int needed = 0;

			if (seen >= sp->declared_entries)
				return abk_err_set(err, ABK_E_LIMIT,
				    "more entries than the %llu announced",
				    (unsigned long long)sp->declared_entries);
			rc = manifest_entry_decode(&r, &e, err);
			if (rc == ABK_OK)
				rc = storage_push_entry(sp->p, &e, &needed, err);
			if (rc != ABK_OK)
				return rc;
			if (needed) {
				if (sp->n_need == cap) {
					size_t ncap = cap ? cap * 2 : 1024;
					uint32_t *nn = realloc(sp->need, ncap * sizeof(*nn));

					if (nn == NULL)
						return abk_err_set(err, ABK_E_NOMEM, "out of memory");
					sp->need = nn;
					cap = ncap;
				}
				sp->need[sp->n_need++] = (uint32_t)seen;
			}
			seen++;
		}
		if (r.left != 0)
			return abk_err_set(err, ABK_E_PROTO, "trailing bytes in PUSH_ENTRIES");
		if (head.last)
			break;
	}
	if (seen != sp->declared_entries)
		return abk_err_set(err, ABK_E_PROTO, "%llu entries announced, %llu sent",
		    (unsigned long long)sp->declared_entries, (unsigned long long)seen);
	return ABK_OK;
}

static int
push_send_need(struct srv_push *sp, abk_err *err)
{
	struct session *s = sp->s;
	const size_t per_frame = (PROTO_FRAME_MAX - 16) / 4;
	size_t i = 0;

	do {
		size_t n = sp->n_need - i > per_frame ? per_frame : sp->n_need - i;
		int rc;

		abk_buf_reset(&s->out);
		msg_list_head_put(&s->out, i + n >= sp->n_need, (uint32_t)n);
		for (size_t k = 0; k < n; k++)
			msg_need_put(&s->out, sp->need[i + k]);
		rc = session_send_out(s, PT_PUSH_NEED, err);
		if (rc != ABK_OK)
			return rc;
		i += n;
	} while (i < sp->n_need);
	return ABK_OK;
}

/*
 * PUSH_PIECES: for every needed file bigger than one piece whose previous
 * version is a regular file, the piece hash of each piece of that version,
 * so the client sends only the pieces that changed (a log that grew, an
 * image edited in place).  They come from the snapshot's piece cache, or
 * from reading the previous version once (storage_push_prev_pieces).
 */
#define PIECES_FILE_MAX 16384u		/* pieces offered per file (64 GiB) */
/* The client waits while we hash: two threads halve that on any server
 * without letting one push take every core of a busy one. */
#define PIECES_HASH_THREADS 2

static int
push_send_pieces(struct srv_push *sp, abk_err *err)
{
	struct session *s = sp->s;
	uint8_t (*h)[ABK_PIECE_HASH_LEN] = NULL, (*sh)[ABK_PIECE_HASH_LEN] = NULL;
	uint32_t *c = NULL, *scrc = NULL;
	abk_buf items;
	uint32_t count = 0;
	int rc = ABK_OK;

	abk_buf_init(&items, PROTO_FRAME_MAX - 64);
	h = malloc(PIECES_FILE_MAX * sizeof(*h));
	sp->pcrc = calloc(sp->n_need ? sp->n_need : 1, sizeof(*sp->pcrc));
	if (h == NULL || sp->pcrc == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
		goto out;
	}
	sh = malloc(PIECES_FILE_MAX * sizeof(*sh));
	scrc = malloc(PIECES_FILE_MAX * sizeof(*scrc));
	c = malloc(PIECES_FILE_MAX * sizeof(*c));
	if (sh == NULL || scrc == NULL || c == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; rc == ABK_OK && i < sp->n_need; i++) {
		struct manifest_entry ent, *e = &ent;
		abk_err ignored = ABK_ERR_INIT;
		uint8_t (*hash)[ABK_PIECE_HASH_LEN];
		uint64_t prev_size = 0;
		uint32_t n = 0, ns = 0, *crc;

		(void)storage_push_get_entry(sp->p, sp->need[i], &ent);	/* need: in range */
		if (e->size <= PROTO_PIECE)
			continue;
		/* pieces an interrupted push left in staging come first (resume) */
		rc = storage_push_staged_pieces(sp->p, sp->need[i], sh, scrc, PIECES_FILE_MAX,
		    PIECES_HASH_THREADS, &ns, err);
		if (rc != ABK_OK)
			break;
		(void)storage_push_prev_pieces(sp->p, sp->need[i], h, c, PIECES_FILE_MAX,
		    PIECES_HASH_THREADS, &n, &prev_size, &ignored);
		if (n <= ns) {
			n = ns;
			prev_size = (uint64_t)ns * PROTO_PIECE;
		}
		if (n == 0)
			continue;	/* no reuse for this one: it travels whole */
		crc = malloc((size_t)n * sizeof(*crc));
		hash = malloc((size_t)n * sizeof(*hash));
		if (crc == NULL || hash == NULL) {
			free(crc);
			free(hash);
			continue;
		}
		memcpy(h, sh, (size_t)ns * sizeof(*h));
		memcpy(c, scrc, (size_t)ns * sizeof(*c));
		memcpy(hash, h, (size_t)n * sizeof(*h));
		memcpy(crc, c, (size_t)n * sizeof(*c));
		sp->pcrc[sp->n_pcrc++] = (struct piece_crcs){ sp->need[i], n, ns, prev_size, crc,
		    hash };
		if (items.len + 16 + (size_t)n * ABK_PIECE_HASH_LEN > PROTO_FRAME_MAX / 2 && count > 0) {
			abk_buf_reset(&s->out);
			msg_list_head_put(&s->out, 0, count);
			abk_put_bytes(&s->out, items.data, items.len);
			if ((rc = session_send_out(s, PT_PUSH_PIECES, err)) != ABK_OK)
				break;
			abk_buf_reset(&items);
			count = 0;
		}
		msg_pieces_put(&items, &(struct msg_pieces){ sp->need[i], prev_size, n, h[0] });
		count++;
	}
	if (rc == ABK_OK) {
		struct storage_push_counts pc;

		storage_push_get_counts(sp->p, &pc);
		if (pc.pieces_cached + pc.pieces_hashed > 0)
			log_event(LOG_LVL_INFO, s->peer, s->user, "push", "%s: piece hashes of "
			    "previous versions: %llu from the piece cache, %llu read (%llu bytes)",
			    sp->source, (unsigned long long)pc.pieces_cached,
			    (unsigned long long)pc.pieces_hashed,
			    (unsigned long long)pc.pieces_hashed_bytes);
		abk_buf_reset(&s->out);
		msg_list_head_put(&s->out, 1, count);
		abk_put_bytes(&s->out, items.data, items.len);
		rc = session_send_out(s, PT_PUSH_PIECES, err);
	}
out:
	free(h);
	free(sh);
	free(scrc);
	free(c);
	abk_buf_free(&items);
	return rc;
}

/* A unit of ZIP_BEGIN must be a piece of a file of this push (batchrecv). */
static int
push_check_unit(void *ctx, const struct transfer_unit *u, abk_err *err)
{
	struct manifest_entry ent, *e = &ent;

	if (storage_push_get_entry(((struct srv_push *)ctx)->p, u->index, &ent) != 0 ||
	    e->type != MF_FILE)
		return abk_err_set(err, ABK_E_PROTO, "ZIP_BEGIN names entry %u, "
		    "which is not a file of this push", u->index);
	if (u->len == 0 || u->len > PROTO_CHUNK_MAX || u->offset > e->size ||
	    u->len > e->size - u->offset)
		return abk_err_set(err, ABK_E_LIMIT, "ZIP_BEGIN: piece of %llu bytes at "
		    "%llu is outside the declared size of entry %u",
		    (unsigned long long)u->len, (unsigned long long)u->offset, u->index);
	return ABK_OK;
}

static const char *
push_sink_path(void *ctx, const struct transfer_unit *u, size_t *len)
{
	struct manifest_entry e;

	/* ZIP_BEGIN checked that index is a file of the list */
	(void)storage_push_get_entry(((struct srv_push *)ctx)->p, u->index, &e);
	*len = e.path_len;
	return e.path;
}

static int
push_sink_data(void *ctx, const struct transfer_unit *u, uint64_t offset, const void *buf,
    size_t n, abk_err *err)
{
	return storage_push_file_write(((struct srv_push *)ctx)->p, u->index, offset, buf, n,
	    err);
}

/* A stored piece in one block, its CRC-32 verified by the zip reader. */
static int
push_sink_whole(void *ctx, const struct transfer_unit *u, const void *buf, size_t n,
    uint32_t crc, abk_err *err)
{
	return storage_push_file_write_crc(((struct srv_push *)ctx)->p, u->index, u->offset, buf,
	    n, crc, err);
}

static int
push_sink_end(void *ctx, const struct transfer_unit *u, abk_err *err)
{
	struct srv_push *sp = ctx;
	struct manifest_entry e;
	int rc;

	(void)storage_push_get_entry(sp->p, u->index, &e);	/* checked at ZIP_BEGIN */
	if (u->offset + u->len != e.size)
		return ABK_OK;		/* more pieces of this file follow */
	rc = storage_push_file_done(sp->p, u->index, err);
	if (rc == ABK_OK)
		sp->files_unpacked++;
	return rc;
}

static const struct piece_crcs *
push_piece_crcs(const struct srv_push *sp, uint32_t index)
{
	size_t lo = 0, hi = sp->n_pcrc;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp->pcrc[mid].index == index)
			return &sp->pcrc[mid];
		if (sp->pcrc[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A piece the client did not send: copy it from the previous version. */
static int
push_sink_reuse(void *ctx, const struct transfer_unit *u, abk_err *err)
{
	struct srv_push *sp = ctx;
	const struct piece_crcs *pc = push_piece_crcs(sp, u->index);
	uint64_t k = u->offset / PROTO_PIECE;

	if (pc != NULL && k < pc->staged && u->offset % PROTO_PIECE == 0 && u->len == PROTO_PIECE)
		return storage_push_file_keep(sp->p, u->index, u->offset, u->len, pc->crc[k],
		    pc->hash[k], err);
	if (sp->reuse_fd < 0 || sp->reuse_index != u->index) {
		if (sp->reuse_fd >= 0)
			close(sp->reuse_fd);
		sp->reuse_fd = -1;
		if (storage_push_open_previous(sp->p, u->index, &sp->reuse_fd, &sp->reuse_size,
		    err) != ABK_OK)
			return abk_err_set(err, ABK_E_PROTO, "a reused piece of entry %u, which has "
			    "no previous version", u->index);
		sp->reuse_index = u->index;
	}
	if (u->offset > sp->reuse_size || u->len > sp->reuse_size - u->offset)
		return abk_err_set(err, ABK_E_PROTO, "a reused piece beyond the previous "
		    "version of entry %u", u->index);
	/* a whole piece we hashed: its CRC-32 is known, the kernel may copy it;
	 * anything else is read again and checked as it is copied */
	if (pc != NULL && k < pc->n &&
	    (pc->size - u->offset > PROTO_PIECE ? PROTO_PIECE : pc->size - u->offset) == u->len)
		return storage_push_file_copy(sp->p, u->index, u->offset, sp->reuse_fd, u->offset,
		    u->len, &pc->crc[k], pc->hash[k], err);
	return storage_push_file_copy(sp->p, u->index, u->offset, sp->reuse_fd, u->offset, u->len,
	    NULL, NULL, err);
}

/* Unpacker: write one verified batch through storage. */
static int
push_unpack_batch(struct srv_push *sp, const struct push_mail *m, abk_err *err)
{
	const struct transfer_sink sink = { sp, push_sink_path, NULL, push_sink_data,
	    push_sink_end, push_sink_reuse, push_sink_whole };

	int rc = transfer_unpack(m->zip->data, m->zip->len, m->units, m->n_units, sp->buf,
	    PUSH_READ_BUF, &sink, err);

	return rc == ABK_OK ? storage_push_journal_flush(sp->p, err) : rc;
}

/* Unpacker (handoff worker): one mail. */
static int
push_unpack_mail(void *ctx, void *item, abk_err *err)
{
	struct srv_push *sp = ctx;
	const struct push_mail *m = item;

	if (m->kind == MAIL_BATCH)
		return push_unpack_batch(sp, m, err);
	return storage_push_skip(sp->p, m->skip_index, err);
}

/* Called under the mailbox lock after each mail. */
static void
push_unpacked(void *ctx)
{
	struct srv_push *sp = ctx;

	sp->files_done = sp->files_unpacked;
}

/* Called under the mailbox lock: the receiver's copy of the count. */
static void
push_read_done(void *ctx)
{
	struct srv_push *sp = ctx;

	sp->files_shown = sp->files_done;
}

/* Give a mail to the unpacker (m NULL: wait until all is unpacked). */
static int
push_post(struct srv_push *sp, const struct push_mail *m, abk_err *err)
{
	struct push_mail *slot = NULL;

	if (m != NULL) {
		slot = &sp->mails[sp->mail_next];
		sp->mail_next ^= 1;
		/* handoff_post waits for the unpacker to be idle before it takes
		 * the new mail, so the other slot is never in use here */
		*slot = *m;
	}
	return handoff_post(&sp->ho, slot, err);
}

/* Receiver: a batch is complete and verified; give it to the unpacker. */
static int
push_batch_done(struct srv_push *sp, const struct batchrecv_batch *b, abk_err *err)
{
	struct push_mail m;

	memset(&m, 0, sizeof(m));
	m.kind = MAIL_BATCH;
	m.zip = b->zip;
	m.units = b->units;
	m.n_units = b->n_units;
	return push_post(sp, &m, err);
}

/* Receive batches until PUSH_END; ABK_OK when the digest matched. */
static int
push_receive(struct srv_push *sp, abk_err *err)
{
	struct session *s = sp->s;
	char action[96];

	for (;;) {
		struct batchrecv_batch done;
		uint8_t type;
		abk_rd r;
		int rc = batchrecv_recv(&sp->br, &s->io, &type, &s->in, &done, err);

		if (rc < 0)
			return rc;
		/* From the first batch on (not while the client hashes pieces),
		 * the data must keep up --min-rate. */
		if (type == PT_ZIP_BEGIN && !s->rate_on)
			session_rate(s, 1);
		if (rc == ABK_OK) {
			if (done.n_units == 0)
				continue;	/* ZIP_BEGIN, ZIP_DATA */
			if ((rc = push_batch_done(sp, &done, err)) != ABK_OK)
				return rc;
			handoff_locked(&sp->ho, push_read_done, sp);
			snprintf(action, sizeof(action), "push %.40s: %llu/%zu files", sp->source,
			    (unsigned long long)sp->files_shown, sp->n_need);
			srv_session_set_action(s->srv, &s->info, NULL, action);
			continue;
		}
		abk_rd_init(&r, s->in.data, s->in.len);
		switch (type) {
		case PT_PUSH_SKIP: {
			struct msg_push_skip skip;
			struct push_mail m;

			if ((rc = msg_push_skip_get(&r, &skip, err)) != ABK_OK)
				return rc;
			if (sp->br.n_units != 0)
				return abk_err_set(err, ABK_E_PROTO, "PUSH_SKIP inside a batch");
			memset(&m, 0, sizeof(m));
			m.kind = MAIL_SKIP;
			m.skip_index = skip.index;
			rc = push_post(sp, &m, err);
			break;
		}
		case PT_CANCEL:
			return abk_err_set(err, ABK_E_CANCELED, "push canceled by the client");
		case PT_PUSH_END:
			rc = batchrecv_end(&sp->br, type, s->in.data, s->in.len, "push", err);
			if (rc == ABK_OK)
				rc = push_post(sp, NULL, err);	/* everything unpacked? */
			return rc;
		default:
			return abk_err_set(err, ABK_E_PROTO, "unexpected %s during a push",
			    proto_type_name(type));
		}
		if (rc != ABK_OK)
			return rc;
	}
}

/*
 * PUSH_BEGIN: decode it, check its limits, charge the file-list memory and
 * lock the source.  *fatal is set when the session cannot go on (malformed
 * PUSH_BEGIN, out of memory); a refusal (limit, busy, bad name) leaves the
 * client in step.
 */
static int
push_open(struct srv_push *sp, int *fatal, abk_err *err)
{
	struct session *s = sp->s;
	struct msg_push_begin pb;
	abk_rd r;
	int rc;

	abk_rd_init(&r, s->in.data, s->in.len);
	if ((rc = msg_push_begin_get(&r, &pb, err)) != ABK_OK || pb.origin[0] != '/') {
		if (rc == ABK_OK)
			rc = abk_err_set(err, ABK_E_PROTO, "PUSH_BEGIN: origin is not absolute");
		*fatal = 1;
		return rc;
	}
	memcpy(sp->source, pb.source, sizeof(sp->source));
	sp->declared_entries = pb.entries;
	if (sp->declared_entries > PROTO_MAX_ENTRIES)
		return abk_err_set(err, ABK_E_LIMIT, "a push may hold at most %u entries",
		    PROTO_MAX_ENTRIES);
	/* The file lists this push will hold (budget.h), its own and the
	 * previous snapshot's manifest: refused with LIMIT before anything is
	 * held; the count sent must match (push_read_entries). */
	sp->list_mem = (sp->declared_entries + storage_snapshot_entries(s->store, sp->source,
	    NULL)) * BUDGET_LIST_BYTES_PER_ENTRY;
	if ((rc = budget_charge(s->srv->list_mem, s->user, sp->list_mem, err)) != ABK_OK) {
		sp->list_mem = 0;
		return rc;
	}
	rc = batchrecv_init(&sp->br, push_check_unit, sp, err);
	sp->buf = malloc(PUSH_READ_BUF);
	if (rc != ABK_OK || sp->buf == NULL) {
		*fatal = 1;
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	}
	rc = storage_push_begin(s->store, sp->source, pb.origin,
	    pb.flags & PROTO_PUSH_CHECKSUM, &sp->p, err);
	if (rc != ABK_OK)
		return rc;	/* busy, bad name: the session goes on */
	storage_push_set_single_file(sp->p, (pb.flags & PROTO_PUSH_SINGLE_FILE) != 0);
	storage_push_set_max_entries(sp->p, sp->declared_entries ? sp->declared_entries : 1);
	return ABK_OK;
}

/*
 * After the list: plan, and reserve the quota.  The quota is the session's
 * to check (session_account.c): with the bytes other pushes of this user
 * have in flight, and never against a push that adds nothing.
 */
static int
push_reserve(struct srv_push *sp, abk_err *err)
{
	struct storage_push_counts c;
	int rc = storage_push_plan(sp->p, 0, err);

	if (rc != ABK_OK)
		return rc;
	storage_push_get_counts(sp->p, &c);
	return session_quota_reserve(sp->s, sp->source, c.needed_bytes, err);
}

/* Everything arrived: publish the snapshot and send PUSH_VERDICT. */
static int
push_publish(struct srv_push *sp, abk_err *err)
{
	struct session *s = sp->s;
	struct msg_push_verdict verdict;
	struct storage_verdict v;
	int rc;

	srv_session_set_action(s->srv, &s->info, NULL, "push: publishing");
	/* Account, quota and append-only as they are now, not at login. */
	if ((rc = session_account_check(s, 1, err)) != ABK_OK)
		return rc;
	rc = storage_push_commit(sp->p, s->append_only, &s->srv->cfg.retention, &v, err);
	if (rc != ABK_OK)
		return rc;
	srv_stat_add(s->srv, &s->srv->stats.pushes, 1);
	log_event(LOG_LVL_INFO, s->peer, s->user, "push",
	    "ok: %s snapshot %s, %llu entries (+%llu ~%llu -%llu =%llu), %llu bytes received",
	    sp->source, v.id, (unsigned long long)v.entries, (unsigned long long)v.added,
	    (unsigned long long)v.changed, (unsigned long long)v.removed,
	    (unsigned long long)v.unchanged, (unsigned long long)v.bytes_received);
	abk_buf_reset(&s->out);
	memset(&verdict, 0, sizeof(verdict));
	snprintf(verdict.snapshot, sizeof(verdict.snapshot), "%s", v.id);
	verdict.added = v.added;
	verdict.changed = v.changed;
	verdict.removed = v.removed;
	verdict.unchanged = v.unchanged;
	verdict.bytes_received = v.bytes_received;
	verdict.bytes_stored = v.bytes_stored;
	verdict.kept = v.kept;
	(void)msg_push_verdict_put(&s->out, &verdict);
	return session_send_out(s, PT_PUSH_VERDICT, err);
}

int
session_push(struct session *s, abk_err *err)
{
	struct srv_push sp;
	int rc, fatal = 0;

	memset(&sp, 0, sizeof(sp));
	sp.s = s;
	sp.reuse_fd = -1;
	if ((rc = push_open(&sp, &fatal, err)) != ABK_OK)
		goto out;
	abk_buf_reset(&s->out);
	(void)msg_push_ready_put(&s->out, PROTO_ZIP_BATCH_MAX);
	fatal = 1;	/* from here on the client streams: errors end the session */
	if ((rc = session_send_out(s, PT_PUSH_READY, err)) != ABK_OK ||
	    (rc = push_read_entries(&sp, err)) != ABK_OK)
		goto out;
	if ((rc = push_reserve(&sp, err)) != ABK_OK) {
		fatal = 0;	/* the client waits for PUSH_NEED: an ERROR is in sync */
		goto out;
	}
	if ((rc = push_send_need(&sp, err)) != ABK_OK ||
	    (rc = push_send_pieces(&sp, err)) != ABK_OK)
		goto out;
	rc = handoff_start(&sp.ho, push_unpack_mail, push_unpacked, &sp, err);
	if (rc == ABK_OK)
		rc = push_receive(&sp, err);
	session_rate(s, 0);
	rc = handoff_finish(&sp.ho, rc, err);
	if (rc == ABK_OK)
		rc = push_publish(&sp, err);
out:
	/* Sync what arrived and release the source's lock before the client
	 * hears the answer: a push run again at once must not find it busy. */
	storage_push_free(sp.p);	/* aborts (keeps staging) unless committed */
	sp.p = NULL;
	if (abk_code_is_disconnect(rc)) {
		if (!session_deadline_passed(s, rc, err))
			log_event(LOG_LVL_WARN, s->peer, s->user, "push", "connection lost: "
			    "%s (what arrived stays in staging for a resume)", err->msg);
	} else if (rc != ABK_OK)
		(void)session_fail(s, "push", err);
	if (sp.reuse_fd >= 0)
		close(sp.reuse_fd);
	for (size_t i = 0; i < sp.n_pcrc; i++) {
		free(sp.pcrc[i].crc);
		free(sp.pcrc[i].hash);
	}
	free(sp.pcrc);
	budget_release(s->srv->list_mem, s->user, sp.list_mem);
	session_quota_release(s);
	batchrecv_free(&sp.br);
	free(sp.need);
	free(sp.buf);
	/* After a refusal the client and we are still in step; else end it. */
	if (rc == ABK_OK || rc == ABK_E_CANCELED || (!fatal && !abk_code_is_disconnect(rc)))
		return ABK_OK;
	return abk_code_is_disconnect(rc) ? rc : ABK_E_PROTO;
}
