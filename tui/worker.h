/*
 * worker.h - the engine worker: one thread runs a job (push of several
 * items, a restore or its dry run, a verify) with a connection lent by the
 * UI thread.
 *
 * Hand-off contract: the UI thread calls worker_start with the connection
 * and does not touch it until worker_finish has joined the thread.  The
 * worker writes progress, notes and results into its struct under w->lock
 * only, and writes one byte to wake_fd (non-blocking, never more than every
 * ~100 ms for progress) so the UI's poll wakes.  The UI reads through
 * worker_snapshot (a copy made under the lock) and never calls the engine
 * meanwhile.  worker_cancel sets the flag the engine polls; a canceled push
 * publishes nothing.  No ncurses call happens on the worker.
 */
#ifndef ABT_WORKER_H
#define ABT_WORKER_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "engine.h"

enum job_kind { JOB_PUSH, JOB_RESTORE, JOB_DRYRUN, JOB_VERIFY };

#define WORKER_ITEMS_MAX 64
#define WORKER_LINES_MAX 2000

struct job {
	enum job_kind kind;
	/* push */
	const char *paths[WORKER_ITEMS_MAX];
	const char *names[WORKER_ITEMS_MAX];
	int n;
	int checksum, threads, compress;
	uint64_t bwlimit;
	char server_key[600], user[64];	/* for the origins record */
	/* restore / verify */
	const char *source, *snapshot, *to, *origin;
	const char *const *rpaths;
	int delete_extra;
};

struct worker_view {
	int running, done;
	enum job_kind kind;
	int item, nitems;		/* push: which item */
	struct abk_progress p;
	char source[256];
	char current[1024];
	double elapsed;			/* seconds since the job started */
	int rc;				/* worst abk_code */
	char err[ABK_ERR_MSG_MAX];
	int cancel_asked;
};

struct worker;

/* Start job on c; the job's strings must outlive the worker. */
int worker_start(struct worker **out, const struct job *job, abk_client *c, int wake_fd);
void worker_snapshot(struct worker *w, struct worker_view *v);
void worker_cancel(struct worker *w);
/* Once done: join; the summary text (caller frees) and the results. */
char *worker_finish(struct worker *w, struct abk_restore_result *rres);

/*
 * The login's connect on its own thread, so the screen keeps drawing: the
 * thread works on a copy of the profile (its secret wiped once used), calls
 * abk_engine_thread_done before it ends (the TLS library's per-thread
 * cache) and writes a byte to wake_fd when done.  connector_cancel makes
 * the engine's waits end at once (a host name being resolved still takes
 * its time).  connector_finish joins: call it once connector_done says so,
 * or after connector_cancel; it returns the abk_code and hands over the
 * client (NULL on failure) and the error.
 */
struct connector;

struct connector *connector_start(const struct abk_profile *p, int wake_fd);
int connector_done(struct connector *k);
void connector_cancel(struct connector *k);
int connector_finish(struct connector *k, abk_client **out, abk_err *err);

#endif
