/*
 * handoff.h - a one-deep mailbox between the thread that reads a stream and
 * one worker thread that processes what was read, so that reading the next
 * item overlaps processing the previous one (server push: receive and
 * unpack; client restore: receive and write).
 *
 * The poster owns the items: an item must stay valid until the worker is
 * done with it, which is at the latest when the next handoff_post returns
 * (it waits for the worker to be idle), so two alternating item buffers are
 * enough.  The first error of the worker stops it; every later post and
 * handoff_finish return that error.  One poster thread, one worker thread.
 */
#ifndef ABK_HANDOFF_H
#define ABK_HANDOFF_H

#include <pthread.h>

#include "abkerr.h"

struct handoff {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t tid;
	int started;
	void *item;		/* posted, not yet taken: NULL when empty */
	int busy;		/* the worker is processing an item */
	int stop;
	int rc;			/* the worker's first error */
	abk_err err;
	/* process one item (worker thread) */
	int (*work)(void *ctx, void *item, abk_err *err);
	/* after each item, called under the lock (may be NULL): publish counters */
	void (*done)(void *ctx);
	void *ctx;
};

/* Start the worker.  ABK_OK or ABK_E_INTERNAL. */
int handoff_start(struct handoff *h, int (*work)(void *ctx, void *item, abk_err *err),
    void (*done)(void *ctx), void *ctx, abk_err *err);

/*
 * Wait until the worker is idle, then give it item (NULL: only wait, e.g.
 * before a final step that needs everything processed).  Returns the
 * worker's error, if it has failed, without posting.
 */
int handoff_post(struct handoff *h, void *item, abk_err *err);

/* Run fn(ctx) under the mailbox lock (to read what done published). */
void handoff_locked(struct handoff *h, void (*fn)(void *ctx), void *ctx);

/*
 * Stop the worker after what was posted, join it and free the mailbox.
 * Returns the worker's error (copied into err when rc is ABK_OK so far).
 * Safe on a mailbox whose start failed.
 */
int handoff_finish(struct handoff *h, int rc, abk_err *err);

#endif
