/*
 * server_sweep.c - the sweep of abandoned staging (--staging-ttl, issue 11):
 * once at start (before the listening socket opens), then on a thread of its
 * own every quarter of the TTL, so that abandoned pushes stop counting
 * against a quota.  The periodic sweep used to run on the accept thread: a
 * slow walk of a big data directory held every new connection in the
 * listen backlog for as long as it took.
 *
 * Locks: storage_cleanup_staging takes each source's push lock (flock, so
 * it excludes the sessions' pushes in this process as well as other
 * processes) and skips a source whose push runs; the sweeper itself only
 * reads srv->stopping under srv->lock and owns nothing else.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "server.h"
#include "storage.h"

/* A quarter of the TTL, between 1 s and an hour. */
static long long
sweep_period_ms(const struct srv *srv)
{
	unsigned q = srv->cfg.staging_max_age_s / 4;

	return q < 1 ? 1000 : q > 3600 ? 3600000 : (long long)q * 1000;
}

/* Wait until ms have passed (1) or the server stops (0).  srv->cond is
 * broadcast for many reasons: wait again until the time is really up. */
static int
sweep_sleep(struct srv *srv, long long ms)
{
	struct timespec until;
	int stopping;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&srv->lock);
	while (!srv->stopping && pthread_cond_timedwait(&srv->cond, &srv->lock, &until) == 0)
		;
	stopping = srv->stopping;
	pthread_mutex_unlock(&srv->lock);
	return !stopping;
}

/*
 * TEST ONLY: AUTOBACKUPD_TEST_SWEEP_MS=N makes every periodic sweep wait N
 * ms first (woken by a shutdown), standing in for the walk of a very big
 * data directory; sweep.test checks that logins go on meanwhile.
 */
static long long
sweep_test_delay_ms(void)
{
	const char *v = getenv("AUTOBACKUPD_TEST_SWEEP_MS");

	return v != NULL && *v != '\0' ? strtoll(v, NULL, 10) : 0;
}

void
srv_sweep_staging(struct srv *srv, const char *when)
{
	abk_err err = ABK_ERR_INIT;
	unsigned removed = 0;

	if (storage_cleanup_staging(srv->cfg.data_dir, srv->cfg.staging_max_age_s, &removed,
	    &err) != ABK_OK)
		log_event(LOG_LVL_WARN, NULL, NULL, when, "staging cleanup: %s", err.msg);
	else if (removed > 0)
		log_event(LOG_LVL_INFO, NULL, NULL, when,
		    "removed %u abandoned staging area(s) older than %u s", removed,
		    srv->cfg.staging_max_age_s);
}

void *
srv_sweeper(void *arg)
{
	struct srv *srv = arg;
	long long period = sweep_period_ms(srv), delay = sweep_test_delay_ms();

	while (sweep_sleep(srv, period)) {
		if (delay > 0) {
			log_event(LOG_LVL_INFO, NULL, NULL, "sweep", "test: slow sweep (%lld ms)",
			    delay);
			if (!sweep_sleep(srv, delay))
				break;
		}
		srv_sweep_staging(srv, "sweep");
	}
	return NULL;
}
