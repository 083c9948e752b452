/*
 * restore.c - the client side of a restore: the request, the file list and
 * the stream of zip batches (restore_write.c puts entries on disk,
 * restore_plan.c checks the list and walks the target for --delete and
 * --dry-run).
 *
 * The server sends the snapshot's file list first, then the file data as zip
 * batches.  Every name is checked by the same rules the server applies to a
 * push (manifest_entry_decode runs pathsafe), and the whole list is checked
 * (no path twice, every parent listed before as a folder, nothing outside
 * the requested paths) before anything touches the disk.  --zip FILE writes
 * one archive instead (Info-ZIP compatible).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "batchrecv.h"
#include "handoff.h"
#include "net.h"
#include "origins.h"
#include "proto_msg.h"
#include "restore_int.h"

#define RESTORE_PROGRESS_MS 100
#define RESTORE_FLAG_LIST_ONLY 0x02	/* PROTOCOL.md: the list, no data */
#define RESTORE_FLAG_HAVE 0x04		/* we send RESTORE_HAVE after the list */

/*
 * Issue 10 item 5: a restore into a target that already holds something may
 * be a restore run again after it was stopped.  Then the files found there
 * identical (restore_check_present) are named in RESTORE_HAVE and the server
 * sends no data for them.  Into a new or empty target nothing can be
 * identical: no RESTORE_HAVE, the data starts at once.
 */
static int
restore_target_has_files(const struct abk_restore_opts *o)
{
	const char *t = o->to != NULL ? o->to : o->origin;
	struct dirent *de;
	struct stat st;
	int found = 0;
	DIR *d;

	if (o->dry_run || o->zip_file != NULL || t == NULL || lstat(t, &st) != 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return 1;	/* a single-file source's origin */
	if (!S_ISDIR(st.st_mode) || (d = opendir(t)) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL)
		found = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return found;
}

/* RESTORE_HAVE: the indexes of the files already there, ascending. */
static int
restore_send_have(struct rjob *j, abk_err *err)
{
	const size_t per_frame = (PROTO_FRAME_MAX - 16) / 4;
	abk_client *c = j->c;
	size_t i = 0;

	for (;;) {
		size_t n = 0, k = i, end;
		int rc;

		for (; k < j->n && n < per_frame; k++)
			n += j->v[k].state == RENTRY_PRESENT;
		for (end = k; end < j->n && j->v[end].state != RENTRY_PRESENT; end++)
			;
		abk_buf_reset(&c->out);
		msg_list_head_put(&c->out, end >= j->n, (uint32_t)n);
		for (; i < k; i++)
			if (j->v[i].state == RENTRY_PRESENT)
				msg_need_put(&c->out, (uint32_t)i);
		i = end;
		if ((rc = client_send(c, PT_RESTORE_HAVE, err)) != ABK_OK)
			return rc;
		if (i >= j->n)
			return ABK_OK;
	}
}

static void
restore_progress(struct rjob *j, int force)
{
	long long now = net_now_ms();

	if (j->opts->progress == NULL || (!force && now - j->last_progress < RESTORE_PROGRESS_MS))
		return;
	j->last_progress = now;
	j->prog.rate = (double)j->prog.bytes_done * 1000.0 / (double)(now - j->t_start + 1);
	j->opts->progress(j->opts->ctx, &j->prog);
}

/*
 * Receiving and writing run in two threads (handoff.h): the caller's thread
 * reads frames (TLS decryption, digests) while a writer thread unpacks the
 * previous batch into the target.  Only the writer touches the target and
 * the job's counters during this phase; the progress callback stays on the
 * caller's thread and reads a copy of the counters published after each
 * batch.
 */
struct rpipe {
	struct rjob *j;
	struct handoff ho;
	struct abk_progress pub;	/* counters as of the last batch written */
	uint8_t *buf;			/* writer's read buffer */
};

/* Writer (handoff worker): unpack one verified batch. */
static int
restore_write_batch(void *ctx, void *item, abk_err *err)
{
	struct rpipe *rp = ctx;
	const struct batchrecv_batch *b = item;
	struct transfer_sink sink;
	int rc;

	restore_sink(rp->j, &sink);
	rc = transfer_unpack(b->zip->data, b->zip->len, b->units, b->n_units, rp->buf,
	    256 * 1024, &sink, err);
	if (rc == ABK_OK)
		return restore_flush_pending(rp->j, err);
	restore_drop_pending(rp->j);
	return rc;
}

/* Called under the mailbox lock after each batch. */
static void
restore_written(void *ctx)
{
	struct rpipe *rp = ctx;

	rp->pub = rp->j->prog;
}

static void
restore_copy_pub(void *ctx)
{
	struct rpipe *rp = ctx;

	rp->j->shown = rp->pub;
}

static void
restore_report(struct rpipe *rp)
{
	struct rjob *j = rp->j;
	long long now = net_now_ms();

	if (j->opts->progress == NULL || now - j->last_progress < RESTORE_PROGRESS_MS)
		return;
	handoff_locked(&rp->ho, restore_copy_pub, rp);
	j->last_progress = now;
	j->shown.rate = (double)j->shown.bytes_done * 1000.0 / (double)(now - j->t_start + 1);
	j->opts->progress(j->opts->ctx, &j->shown);
}

/* A unit of ZIP_BEGIN must be a piece of a file of the list (batchrecv). */
static int
restore_check_unit(void *ctx, const struct transfer_unit *u, abk_err *err)
{
	const struct rjob *j = ctx;

	if (u->index >= j->n || j->v[u->index].type != MF_FILE ||
	    u->offset > j->v[u->index].size || u->len > j->v[u->index].size - u->offset)
		return abk_err_set(err, ABK_E_PROTO, "ZIP_BEGIN lists an invalid entry");
	return ABK_OK;
}

/* Read the zip batches until RESTORE_END (batchrecv.h checks them). */
static int
restore_receive(struct rjob *j, abk_err *err)
{
	abk_client *c = j->c;
	struct batchrecv br;
	struct batchrecv_batch done[2];	/* one may be in the writer */
	struct rpipe rp;
	int next = 0, rc, started = 0;

	memset(&rp, 0, sizeof(rp));
	rp.j = j;
	rp.pub = j->prog;
	rc = batchrecv_init(&br, restore_check_unit, j, err);
	rp.buf = malloc(256 * 1024);
	if (rc == ABK_OK && rp.buf == NULL)
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
	if (rc != ABK_OK)
		goto out;
	started = 1;
	rc = handoff_start(&rp.ho, restore_write_batch, restore_written, &rp, err);
	if (rc == ABK_OK && c->broken)
		rc = abk_err_set(err, ABK_E_NET, "connection is no longer usable");
	while (rc == ABK_OK) {
		uint8_t type;

		if (abk_cancel_requested(j->opts->cancel)) {
			rc = abk_err_set(err, ABK_E_CANCELED, "canceled");
			break;
		}
		/* client_recv, with ZIP_DATA read straight into the batch */
		rc = batchrecv_recv(&br, &c->io, &type, &c->in, &done[next], err);
		if (rc > 0 && type == PT_ERROR) {
			rc = proto_decode_error(c->in.data, c->in.len, err);
			break;
		}
		if (rc > 0 && type == PT_RESTORE_END) {
			rc = batchrecv_end(&br, type, c->in.data, c->in.len, "restore", err);
			if (rc == ABK_OK)
				rc = handoff_post(&rp.ho, NULL, err);	/* all written? */
			break;
		}
		if (rc > 0) {
			rc = abk_err_set(err, ABK_E_PROTO, "unexpected %s during a restore",
			    proto_type_name(type));
		} else if (rc == ABK_OK && done[next].n_units > 0) {
			/* the writer is idle once this returns, so the other
			 * buffer is free for the next batch */
			rc = handoff_post(&rp.ho, &done[next], err);
			next ^= 1;
			if (rc == ABK_OK)
				restore_report(&rp);
		}
	}
out:
	if (started)
		rc = handoff_finish(&rp.ho, rc, err);
	if (rc != ABK_OK)
		c->broken = 1;
	batchrecv_free(&br);
	free(rp.buf);
	return rc;
}

/* --dry-run: the server sends no batch, only RESTORE_END. */
static int
restore_receive_end(struct rjob *j, abk_err *err)
{
	abk_digest_ctx total;
	uint8_t want[ABK_DIGEST_LEN], got[ABK_DIGEST_LEN];
	uint8_t type;
	abk_rd r;
	int rc = client_recv(j->c, 0, &type, err);

	if (rc == ABK_OK && type != PT_RESTORE_END)
		rc = abk_err_set(err, ABK_E_PROTO, "%s in a restore that asked for the list only",
		    proto_type_name(type));
	if (rc != ABK_OK)
		return rc;
	abk_rd_init(&r, j->c->in.data, j->c->in.len);
	if ((rc = msg_digest_get(&r, PT_RESTORE_END, want, err)) != ABK_OK)
		return rc;
	abk_digest_init(&total);
	abk_digest_final(&total, got);
	if (!abk_ct_equal(want, got, sizeof(got)))
		return abk_err_set(err, ABK_E_INTEGRITY, "restore digest mismatch");
	return ABK_OK;
}

static int
restore_read_list(struct rjob *j, abk_err *err)
{
	for (;;) {
		struct msg_list_head head;
		abk_rd r;
		int rc = client_recv(j->c, PT_RESTORE_ENTRIES, NULL, err);

		if (rc != ABK_OK)
			return rc;
		abk_rd_init(&r, j->c->in.data, j->c->in.len);
		if ((rc = msg_list_head_get(&r, PT_RESTORE_ENTRIES, &head, err)) != ABK_OK)
			return rc;
		for (uint32_t i = 0; i < head.count; i++) {
			struct manifest_entry e;

			rc = manifest_entry_decode(&r, &e, err);
			if (rc != ABK_OK)
				return rc;
			if ((rc = restore_list_take(j, &e, err)) != ABK_OK)
				return rc;
		}
		if (r.left != 0)
			return abk_err_set(err, ABK_E_PROTO, "trailing bytes in RESTORE_ENTRIES");
		if (head.last)
			return ABK_OK;
	}
}

/*
 * Where a restore goes: --to, else the caller's own record of where this
 * machine pushed the source from.  The server's origin is never used to
 * choose where to write; it is only shown (and compared with the record).
 */
static int
restore_pick_target(struct rjob *j, const char *origin, abk_err *err)
{
	const struct abk_restore_opts *opts = j->opts;
	struct abk_restore_result *res = j->res;
	const char *from = opts->origin, *slash;
	char q[FSOPS_QUOTE_MAX], q2[FSOPS_QUOTE_MAX];

	if (opts->to != NULL) {
		snprintf(res->target, sizeof(res->target), "%s", opts->to);
		return ABK_OK;
	}
	if (from == NULL)
		return abk_err_set(err, ABK_E_USAGE, "there is no record that this machine pushed "
		    "%s; the server says it came from %s: to restore there, confirm with --to "
		    "(for a single file, its folder)", opts->source,
		    fsops_quote(origin, strlen(origin), q, sizeof(q)));
	if (!origins_valid(from))
		return abk_err_set(err, ABK_E_USAGE, "the recorded origin of %s is not an "
		    "absolute, normalised path: %s", opts->source,
		    fsops_quote(from, strlen(from), q, sizeof(q)));
	if (strcmp(from, origin) != 0) {
		char why[2 * FSOPS_QUOTE_MAX + 120];

		snprintf(why, sizeof(why), "the server says this source came from %s; restoring "
		    "to %s, where this machine pushed it from",
		    fsops_quote(origin, strlen(origin), q, sizeof(q)),
		    fsops_quote(from, strlen(from), q2, sizeof(q2)));
		restore_note(j, opts->source, why);
	}
	slash = strrchr(from, '/');
	if (j->single) {
		/* the file goes back into its folder, under its own name */
		if (strlen(slash + 1) != j->v[0].path_len ||
		    memcmp(slash + 1, j->v[0].path, j->v[0].path_len) != 0)
			return abk_err_set(err, ABK_E_PROTO, "the server's file %s is not %s, "
			    "the file this machine pushed",
			    fsops_quote(j->v[0].path, j->v[0].path_len, q, sizeof(q)),
			    fsops_quote(from, strlen(from), q2, sizeof(q2)));
		snprintf(res->target, sizeof(res->target), "%.*s",
		    slash == from ? 1 : (int)(slash - from), from);
	} else {
		snprintf(res->target, sizeof(res->target), "%s", from);
	}
	return ABK_OK;
}

/*
 * Report the entries that were not restored, and the status they give:
 * damage (a CRC-32 mismatch, bytes the server never sent) is
 * ABK_E_INTEGRITY, entries that could not be created ABK_E_PARTIAL.
 */
static int
restore_account(struct rjob *j, abk_err *err)
{
	uint64_t missing = 0;
	char why[160];

	for (size_t i = 0; i < j->n; i++) {
		struct rentry *e = &j->v[i];

		if (e->state == RENTRY_FAILED) {
			j->res->failed++;
			restore_note(j, e->path, e->why ? e->why : "could not be restored");
		} else if (e->state == RENTRY_DAMAGED) {
			j->res->damaged++;
			snprintf(why, sizeof(why), "damaged: its content does not match the "
			    "checksum recorded at backup (CRC-32 %08x, got %08x); %s", e->crc,
			    e->crc_got, j->zw != NULL ? "stored in the archive as it came" :
			    "not restored, the file at the target was left as it was");
			restore_note(j, e->path, why);
		} else if (e->type == MF_FILE && e->size > 0 && e->written < e->size &&
		    e->state != RENTRY_PRESENT) {
			missing++;
			snprintf(why, sizeof(why), "incomplete: the server sent %llu of %llu bytes; "
			    "not restored", (unsigned long long)e->written,
			    (unsigned long long)e->size);
			restore_note(j, e->path, why);
		}
	}
	if (j->res->damaged > 0 || missing > 0)
		return abk_err_set(err, ABK_E_INTEGRITY, "%llu damaged and %llu incomplete "
		    "file%s not restored%s", (unsigned long long)j->res->damaged,
		    (unsigned long long)missing, j->res->damaged + missing == 1 ? "" : "s",
		    j->res->failed > 0 ? "; some entries could not be created" : "");
	if (j->res->failed > 0)
		return abk_err_set(err, ABK_E_PARTIAL, "%llu entr%s could not be restored",
		    (unsigned long long)j->res->failed, j->res->failed == 1 ? "y" : "ies");
	return ABK_OK;
}

/* Ask for the restore, read RESTORE_BEGIN and the list; *began once the
 * server streams (from then on an error leaves the connection out of step). */
static int
restore_begin(struct rjob *j, struct msg_restore_begin *begin, int *began, abk_err *err)
{
	abk_client *c = j->c;
	const struct abk_restore_opts *opts = j->opts;
	abk_rd r;
	int rc;

	j->have = restore_target_has_files(opts);
	(void)msg_restore_put(&c->out, opts->source, opts->snapshot,
	    opts->dry_run ? RESTORE_FLAG_LIST_ONLY : j->have ? RESTORE_FLAG_HAVE : 0,	/* stored */
	    (const char *const *)j->scope, (uint32_t)j->n_scope);
	if ((rc = client_send(c, PT_RESTORE, err)) != ABK_OK ||
	    (rc = client_recv(c, PT_RESTORE_BEGIN, NULL, err)) != ABK_OK)
		return rc;
	*began = 1;
	abk_rd_init(&r, c->in.data, c->in.len);
	if ((rc = msg_restore_begin_get(&r, begin, err)) != ABK_OK)
		return rc;
	if (!origins_valid(begin->origin))
		return abk_err_set(err, ABK_E_PROTO,
		    "the server sent an origin that is not an absolute, normalised path");
	memcpy(j->res->snapshot, begin->snapshot, sizeof(begin->snapshot));
	snprintf(j->res->server_origin, sizeof(j->res->server_origin), "%s", begin->origin);
	j->single = begin->single_file != 0;
	if ((rc = restore_read_list(j, err)) != ABK_OK)
		return rc;
	if (j->single && (j->n != 1 || j->v[0].type != MF_FILE))
		return abk_err_set(err, ABK_E_PROTO, "the server calls the source a single file "
		    "but lists %zu entries", j->n);
	j->prog.files_total = j->n;
	j->prog.phase = ABK_PHASE_TRANSFER;
	return ABK_OK;
}

/* Open where the restore goes: the zip file, or the target folder (which a
 * dry run does not create). */
static int
restore_open_output(struct rjob *j, const char *server_origin, abk_err *err)
{
	const struct abk_restore_opts *opts = j->opts;
	int rc;

	if (opts->zip_file != NULL) {
		snprintf(j->res->target, sizeof(j->res->target), "%s", opts->zip_file);
		return zipio_writer_open_file(opts->zip_file, &j->zw, err);
	}
	if ((rc = restore_pick_target(j, server_origin, err)) != ABK_OK)
		return rc;
	j->rootfd = restore_open_target(j->res->target, opts->dry_run, err);
	rc = j->rootfd < 0 ? j->rootfd : ABK_OK;
	if (rc == ABK_E_NOTFOUND && opts->dry_run) {
		abk_err_clear(err);	/* everything would be created */
		rc = ABK_OK;
	}
	if (rc == ABK_OK && j->rootfd >= 0)
		fsops_dircache_init(&j->dc, j->rootfd, !opts->dry_run);
	return rc;
}

/* A dry run: the plan, what --delete would remove, the end of the stream. */
static int
restore_dry(struct rjob *j, int *streamed, abk_err *err)
{
	int rc = restore_plan_dry(j, err);

	if (rc == ABK_OK && j->opts->delete_extra)
		rc = restore_delete_extra(j, err);
	if (rc == ABK_OK)
		rc = restore_receive_end(j, err);
	*streamed = rc == ABK_OK;
	return rc;
}

/* The real restore: entries without data, the data, --delete, folder modes,
 * the zip's end, one sync. */
static int
restore_write(struct rjob *j, int *streamed, int *zip_done, abk_err *err)
{
	int rc = ABK_OK;

	for (size_t i = 0; i < j->n && rc == ABK_OK; i++) {
		rc = restore_entry_now(j, &j->v[i], err);
		if (rc != ABK_OK && rc != ABK_E_NOMEM && j->zw == NULL) {
			/* one entry that cannot be made is reported, not fatal */
			restore_fail_entry(j, &j->v[i], err->msg);
			abk_err_clear(err);
			rc = ABK_OK;
		}
	}
	if (j->have) {	/* those files get no data */
		j->prog.bytes_total -= j->res->identical_bytes;
		j->prog.files_done += j->res->identical;
	}
	restore_progress(j, 1);
	if (rc == ABK_OK && j->have)
		rc = restore_send_have(j, err);
	if (rc == ABK_OK)
		rc = restore_receive(j, err);
	*streamed = rc == ABK_OK;
	if (rc == ABK_OK && j->zw == NULL) {
		if (j->opts->delete_extra)
			rc = restore_delete_extra(j, err);
		restore_finish_dirs(j);
	}
	if (rc == ABK_OK && j->zw != NULL) {
		rc = zipio_writer_finish(j->zw, NULL, NULL, err);
		*zip_done = rc == ABK_OK;
	}
	/* new files were not synced one by one: once for the whole restore */
#ifdef HAVE_SYNCFS
	if (rc == ABK_OK && j->rootfd >= 0 && syncfs(j->rootfd) != 0)
		rc = abk_err_set(err, ABK_E_IO, "syncing %s: %s", j->res->target, strerror(errno));
#else
	sync();
#endif
	if (rc == ABK_OK) {
		j->prog.phase = ABK_PHASE_DONE;
		restore_progress(j, 1);
		rc = restore_account(j, err);
	}
	return rc;
}

int
abk_restore(abk_client *c, const struct abk_restore_opts *opts,
    struct abk_restore_result *res, abk_err *err)
{
	struct rjob j;
	struct msg_restore_begin begin;
	int rc, began = 0, streamed = 0, zip_done = 0;

	memset(res, 0, sizeof(*res));
	memset(&j, 0, sizeof(j));
	j.c = c;
	j.opts = opts;
	j.res = res;
	j.rootfd = -1;
	j.cur_fd = -1;
	j.cur_dirfd = -1;
	j.cur_index = UINT32_MAX;
	j.t_start = net_now_ms();
	j.prog.source = opts->source;

	if (opts->dry_run && opts->zip_file != NULL) {
		rc = abk_err_set(err, ABK_E_USAGE, "a dry run cannot write a zip file");
		goto out;
	}
	if ((rc = restore_scope_init(&j, err)) != ABK_OK ||
	    (rc = restore_begin(&j, &begin, &began, err)) != ABK_OK ||
	    (rc = restore_open_output(&j, begin.origin, err)) != ABK_OK)
		goto out;
	if (opts->dry_run)
		rc = restore_dry(&j, &streamed, err);
	else
		rc = restore_write(&j, &streamed, &zip_done, err);
out:
	/* the server streams from RESTORE_BEGIN to RESTORE_END: stopping in
	 * between leaves the connection out of step */
	if (began && !streamed && rc != ABK_OK)
		c->broken = 1;
	if (began && !opts->dry_run && j.zw == NULL && (abk_code_is_disconnect(rc) ||
	    rc == ABK_E_CANCELED))
		client_resume_hint(err, rc, "(files already restored are skipped)");
	restore_drop_current(&j);
	restore_drop_pending(&j);
	free(j.pend);
	if (j.zw != NULL) {
		zipio_writer_free(j.zw);
		if (!zip_done)
			(void)unlink(opts->zip_file);
	}
	if (j.rootfd >= 0) {
		fsops_dircache_reset(&j.dc);
		close(j.rootfd);
	}
	if (j.tab_ready)
		pathtab_free(&j.tab);
	restore_scope_free(&j);
	arena_free(&j.arena);
	free(j.v);
	return rc;
}
