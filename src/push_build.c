/*
 * push_build.c - the client's zip builders: threads that read the needed
 * pieces of source files into zip batches in memory, in a ring of slots the
 * sending thread (push.c) empties in order.  A file that cannot be read, or
 * that changes while it is read, is noted as a skip (PUSH_SKIP) instead of
 * being sent cut or mixed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prefetch.h"
#include "push_int.h"

static int
push_add_skip(struct push_slot *s, uint32_t index, const char *why)
{
	if (s->n_skips == s->cap_skips) {
		size_t ncap = s->cap_skips ? s->cap_skips * 2 : 8;
		struct push_skip *n = realloc(s->skips, ncap * sizeof(*n));

		if (n == NULL)
			return ABK_E_NOMEM;
		s->skips = n;
		s->cap_skips = ncap;
	}
	s->skips[s->n_skips].index = index;
	snprintf(s->skips[s->n_skips].why, sizeof(s->skips[0].why), "%s", why);
	s->n_skips++;
	return ABK_OK;
}

/*
 * Test hook (integration tests run as root, where chmod 000 cannot make a
 * read fail): AUTOBACKUP_TEST_HOOK="unreadable:REL" makes opening source
 * entry REL fail with EACCES; "grow:REL" appends a byte to REL right after
 * it is opened for reading, as a writer racing the backup would.  Unset in
 * normal use; it changes nothing else.
 */
static int
push_test_hook(const char *kind, const struct scan_entry *e)
{
	const char *h = getenv("AUTOBACKUP_TEST_HOOK");
	size_t k = strlen(kind);

	return h != NULL && strncmp(h, kind, k) == 0 && h[k] == ':' &&
	    strlen(h + k + 1) == e->path_len && memcmp(h + k + 1, e->path, e->path_len) == 0;
}

int
push_open_source(void *ctx, uint32_t index, int *fd)
{
	const struct push_job *job = ctx;
	const struct scan_entry *e = &job->scan->v[index];

	if (push_test_hook("unreadable", e)) {
		*fd = -1;
		errno = EACCES;
		return -1;
	}
	*fd = openat(job->rootfd, e->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd >= 0 && push_test_hook("grow", e)) {
		int w = openat(job->rootfd, e->path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);

		if (w >= 0) {
			(void)!write(w, "+", 1);
			close(w);
		}
	}
	return *fd < 0 ? -1 : 0;
}

/*
 * After the last piece of a file was read (or found reusable): is it still
 * what the scan listed?  A file that grew, shrank or was written meanwhile
 * would be stored cut at its scanned size or mixed from two versions; it
 * is skipped with a note instead (issue 8 item 3).  fd is the file read
 * from, or -1 when no piece of it was read in this batch.
 */
static int
push_changed_while_reading(const struct push_job *job, const struct scan_entry *e, int fd)
{
	struct stat st;
	int rc = fd >= 0 ? fstat(fd, &st) :
	    fstatat(job->rootfd, e->path, &st, AT_SYMLINK_NOFOLLOW);

	return rc != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size ||
	    (int64_t)st.st_mtim.tv_sec != e->mtime ||
	    (uint32_t)st.st_mtim.tv_nsec != e->mtime_nsec;
}

/* Empty slot s for a new batch; the deflate choice is the batch's. */
static int
push_slot_reset(struct push_slot *s, int deflate)
{
	s->rc = ABK_OK;
	abk_err_clear(&s->err);
	s->n_sent = 0;
	s->n_skips = 0;
	s->input_bytes = 0;
	s->reused_bytes = 0;
	s->level_used = deflate;
	s->data = NULL;
	s->len = 0;
	if (zipio_writer_reset(s->zw, &s->err) != ABK_OK)
		s->rc = s->err.code;
	return s->rc;
}

/* Note a skip of u's file in s; running out of memory fails the batch. */
static void
push_skip_unit(struct push_slot *s, uint32_t index, const char *why)
{
	if (push_add_skip(s, index, why) != ABK_OK)
		s->rc = abk_err_set(&s->err, ABK_E_NOMEM, "out of memory");
}

/* A piece the server reuses from its previous snapshot: nothing to read,
 * but the file's last piece still checks that the file did not change. */
static void
push_unit_reused(struct push_job *job, struct push_slot *s, const struct push_unit *u,
    int fd)
{
	const struct scan_entry *e = &job->scan->v[u->index];

	s->sent[s->n_sent++] = *u;
	s->reused_bytes += u->len;
	if (u->offset + u->len == e->size && push_changed_while_reading(job, e, fd))
		push_skip_unit(s, u->index, "changed while reading: skipped");
}

/* Make *fd the open source of u's file (prefetched or opened now), closing
 * the previous file's.  0, or -1 when the file was skipped. */
static int
push_unit_open(struct push_job *job, struct push_slot *s, const struct push_unit *u,
    struct prefetch *pf, int *fd, uint32_t *fd_index)
{
	struct stat st;

	if (*fd_index == u->index)
		return 0;
	if (*fd >= 0)
		close(*fd);
	*fd_index = u->index;
	*fd = prefetch_take(pf, u->index);
	if (*fd < 0)
		(void)push_open_source(job, u->index, fd);
	if (*fd < 0 || fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < u->offset + u->len) {
		char why[160];

		snprintf(why, sizeof(why), "%s", *fd < 0 ? strerror(errno) :
		    "changed or shrank during the backup");
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		push_skip_unit(s, u->index, why);
		return -1;
	}
	return 0;
}

/* Add piece u of the open file fd to the zip of slot s.  -1 when the batch
 * fails (s->rc set); a file that cannot be read is a skip, not a failure. */
static int
push_unit_add(struct push_job *job, struct push_slot *s, const struct push_unit *u, int fd,
    unsigned char *sample, int deflate)
{
	const struct scan_entry *e = &job->scan->v[u->index];
	abk_err ferr = ABK_ERR_INIT;
	int level = 0;

	if (deflate) {
		ssize_t n = pread(fd, sample, u->len < ZIPIO_SAMPLE_MAX ? u->len :
		    ZIPIO_SAMPLE_MAX, (off_t)u->offset);

		level = (n > 0 && !zipio_should_store(e->path, sample, (size_t)n)) ? 1 : 0;
	}
	if (zipio_add_file(s->zw, e->path, fd, u->offset, u->len, e->mode, e->mtime,
	    level, NULL, &ferr) != ABK_OK) {
		if (ferr.code == ABK_E_IO) {
			/* the file shrank or failed to read: skip it, go on */
			/* an earlier chunk already in this zip is dropped by the
			 * server when it sees the skip */
			push_skip_unit(s, u->index, ferr.msg);
			return 0;
		}
		s->rc = abk_err_set(&s->err, ferr.code, "%s", ferr.msg);
		return -1;
	}
	s->sent[s->n_sent++] = *u;
	s->input_bytes += u->len;
	if (u->offset + u->len == e->size && push_changed_while_reading(job, e, fd))
		push_skip_unit(s, u->index, "changed while reading: skipped");
	return 0;
}

/* Build one batch into slot s (builder thread): reset the slot, read each
 * piece into the zip (prefetching the batch's files), finish the zip. */
static void
push_build(struct push_job *job, size_t b, struct push_slot *s)
{
	const struct push_batch *batch = &job->batches[b];
	int deflate = atomic_load(&job->deflate);
	double t0 = now_seconds();
	int fd = -1;
	uint32_t fd_index = UINT32_MAX;
	unsigned char *sample = NULL;
	struct prefetch pf;

	if (push_slot_reset(s, deflate) != ABK_OK)
		return;
	sample = malloc(ZIPIO_SAMPLE_MAX);
	if (sample == NULL) {
		s->rc = abk_err_set(&s->err, ABK_E_NOMEM, "out of memory");
		return;
	}
	/* a first backup reads from a cold disk: the batch's files at once */
	prefetch_start(&pf, &job->units[batch->first], batch->count,
	    PREFETCH_FILES / job->n_threads, push_open_source, job);
	for (size_t i = 0; i < batch->count && s->rc == ABK_OK; i++) {
		const struct push_unit *u = &job->units[batch->first + i];

		/* Without the lock, between files: atomic (TSan: a plain read
		 * raced the store in push_builders_join). */
		if (__atomic_load_n(&job->abort, __ATOMIC_RELAXED))
			break;
		/* a skipped file's later chunks are skipped too */
		if (s->n_skips > 0 && s->skips[s->n_skips - 1].index == u->index)
			continue;
		if (u->flags & TRANSFER_REUSE) {
			push_unit_reused(job, s, u, fd_index == u->index ? fd : -1);
			continue;
		}
		if (push_unit_open(job, s, u, &pf, &fd, &fd_index) != 0)
			continue;
		if (push_unit_add(job, s, u, fd, sample, deflate) != 0)
			break;
	}
	if (fd >= 0)
		close(fd);
	prefetch_end(&pf);
	free(sample);
	if (s->rc == ABK_OK && s->n_sent > 0) {
		s->rc = zipio_writer_finish(s->zw, NULL, &s->len, &s->err);
		s->data = zipio_writer_archive(s->zw);
		if (s->rc == ABK_OK)
			s->rc = transfer_batch_digest(s->data, s->len, s->digest, &s->err);
	}
	s->build_seconds = now_seconds() - t0;
}

void *
push_builder(void *arg)
{
	struct push_job *job = arg;

	for (;;) {
		struct push_slot *s;
		size_t b;

		pthread_mutex_lock(&job->lock);
		if (job->abort || job->next_to_build >= job->n_batches) {
			pthread_mutex_unlock(&job->lock);
			break;
		}
		b = job->next_to_build++;
		s = &job->slots[b % job->n_slots];
		while (!job->abort && !(s->state == SLOT_FREE && s->next_batch == b))
			pthread_cond_wait(&job->cond, &job->lock);
		if (job->abort) {
			pthread_mutex_unlock(&job->lock);
			break;
		}
		s->state = SLOT_BUILDING;
		pthread_mutex_unlock(&job->lock);

		push_build(job, b, s);

		pthread_mutex_lock(&job->lock);
		s->state = SLOT_READY;
		pthread_cond_broadcast(&job->cond);
		pthread_mutex_unlock(&job->lock);
	}
	return NULL;
}
