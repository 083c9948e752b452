/*
 * handoff.c - the one-deep mailbox between a reading thread and a worker.
 */
#include "config.h"

#include <string.h>

#include "handoff.h"

static void *
handoff_worker(void *arg)
{
	struct handoff *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		abk_err e = ABK_ERR_INIT;
		void *item;
		int rc;

		while (h->item == NULL && !h->stop)
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->item == NULL)
			break;		/* stopped, nothing left */
		item = h->item;
		h->busy = 1;
		pthread_mutex_unlock(&h->lock);

		rc = h->work(h->ctx, item, &e);

		pthread_mutex_lock(&h->lock);
		h->item = NULL;
		h->busy = 0;
		if (h->done != NULL)
			h->done(h->ctx);
		if (rc != ABK_OK && h->rc == ABK_OK) {
			h->rc = rc;
			h->err = e;
		}
		pthread_cond_broadcast(&h->cond);
		if (rc != ABK_OK)
			break;
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

int
handoff_start(struct handoff *h, int (*work)(void *ctx, void *item, abk_err *err),
    void (*done)(void *ctx), void *ctx, abk_err *err)
{
	memset(h, 0, sizeof(*h));
	h->work = work;
	h->done = done;
	h->ctx = ctx;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (pthread_create(&h->tid, NULL, handoff_worker, h) != 0)
		return abk_err_set(err, ABK_E_INTERNAL, "cannot start a worker thread");
	h->started = 1;
	return ABK_OK;
}

int
handoff_post(struct handoff *h, void *item, abk_err *err)
{
	int rc;

	pthread_mutex_lock(&h->lock);
	while ((h->item != NULL || h->busy) && h->rc == ABK_OK)
		pthread_cond_wait(&h->cond, &h->lock);
	rc = h->rc;
	if (rc != ABK_OK) {
		abk_err_set(err, rc, "%s", h->err.msg);
	} else if (item != NULL) {
		h->item = item;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

void
handoff_locked(struct handoff *h, void (*fn)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&h->lock);
	fn(ctx);
	pthread_mutex_unlock(&h->lock);
}

int
handoff_finish(struct handoff *h, int rc, abk_err *err)
{
	if (h->started) {
		pthread_mutex_lock(&h->lock);
		h->stop = 1;
		pthread_cond_broadcast(&h->cond);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->tid, NULL);
		h->started = 0;
		if (rc == ABK_OK && h->rc != ABK_OK)
			rc = abk_err_set(err, h->rc, "%s", h->err.msg);
	}
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	return rc;
}
