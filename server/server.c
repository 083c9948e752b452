/*
 * server.c - autobackupd's lifecycle: listen, queue, worker pool, shutdown.
 *
 * The accept loop (main thread) polls the listening socket and a self-pipe
 * written by the signal handler.  Accepted sockets go to a bounded queue;
 * workers take them and run one session each (session.c).  Over
 * max_sessions, a short-lived detached thread completes the TLS handshake
 * and answers "server busy" so the client gets a clear error, not a hang.
 * Connections not yet logged in have their own budget (server.h: at most
 * unauth_workers workers, a cap per address), so strangers that connect and
 * go silent cannot hold every worker; session.c bounds their time.
 * The sweep of abandoned staging runs on its own thread (server_sweep.c).
 * Shutdown: stop accepting, wake idle sessions, give busy ones the grace
 * period, then shut their sockets down, join every worker and close the
 * account database last.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accounts.h"
#include "budget.h"
#include "console.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "storage.h"
#include "throttle.h"
#include "tlsconn.h"

#define SRV_REJECTERS_MAX 4
#define SRV_BUSY_HANDSHAKE_MS 3000
#define SRV_THROTTLE_KEYS 4096
/* Blocks from this size up (frame buffers, zip batches, piece tables) are
 * mapped on their own and unmapped when freed (srv_memory_policy). */
#define SRV_MMAP_THRESHOLD (256u << 10)
/* An address a user logged in from stays "known good" this long: failures
 * under the user's name from elsewhere do not slow logins from it. */
#define SRV_KNOWN_GOOD_MS (30LL * 24 * 3600 * 1000)

/* The signal handler may touch only these two (STYLE: shutdown by flag). */
static volatile sig_atomic_t srv_signalled;
static int srv_signal_fd = -1;
/* While the interactive console reads a line, Ctrl-C (SIGINT) only clears
 * it: the handler writes a byte here instead of stopping the server. */
static volatile sig_atomic_t srv_console_int_fd = -1;

void
srv_console_take_sigint(int fd)
{
	srv_console_int_fd = fd;
}

static void
srv_on_signal(int sig)
{
	int saved = errno;
	int cfd = srv_console_int_fd;

	if (sig == SIGINT && cfd >= 0) {
		(void)!write(cfd, "i", 1);
		errno = saved;
		return;
	}
	srv_signalled = sig;
	if (srv_signal_fd >= 0)
		(void)!write(srv_signal_fd, "s", 1);
	errno = saved;
}

void
srv_config_defaults(struct srv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
	cfg->listen_port = ABK_DEFAULT_PORT;
	cfg->threads = 64;
	cfg->max_sessions = 128;
	retention_policy_default(&cfg->retention);
	cfg->handshake_timeout_ms = 10000;
	cfg->login_timeout_ms = 15000;
	cfg->frame_timeout_ms = 120000;
	cfg->idle_timeout_ms = 300000;
	cfg->min_rate = 1024;
	cfg->unauth_workers = 0;	/* 0: half the workers, at least one */
	cfg->unauth_per_addr = 8;
	cfg->shutdown_grace_ms = 10000;
	cfg->staging_max_age_s = 7 * 24 * 3600;
	/* Small stacks: a session needs little (buffers are on the heap), and
	 * 64 of them must not cost 64 x 8 MiB of address space.  Sanitizers
	 * need much more stack. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	cfg->thread_stack = 4u << 20;
#else
	cfg->thread_stack = 512u << 10;
#endif
}

void
srv_stat_add(struct srv *srv, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&srv->lock);
	*counter += n;
	pthread_mutex_unlock(&srv->lock);
}

void
srv_stats_get(struct srv *srv, struct srv_stats *st, unsigned *active, unsigned *queued)
{
	pthread_mutex_lock(&srv->lock);
	*st = srv->stats;
	for (struct srv_session_info *s = srv->sessions; s != NULL; s = s->next) {
		st->bytes_in += __atomic_load_n(&s->bytes_in, __ATOMIC_RELAXED);
		st->bytes_out += __atomic_load_n(&s->bytes_out, __ATOMIC_RELAXED);
	}
	*active = srv->active;
	*queued = srv->queue_len;
	pthread_mutex_unlock(&srv->lock);
}

int
srv_sessions_copy(struct srv *srv, struct srv_session_info **rows, size_t *n)
{
	size_t cap = 0;

	*rows = NULL;
	*n = 0;
	pthread_mutex_lock(&srv->lock);
	for (struct srv_session_info *s = srv->sessions; s != NULL; s = s->next)
		cap++;
	if (cap > 0 && (*rows = calloc(cap, sizeof(**rows))) != NULL)
		for (struct srv_session_info *s = srv->sessions; s != NULL && *n < cap;
		    s = s->next) {
			struct srv_session_info *r = &(*rows)[(*n)++];

			/* Field by field: the byte counters move under our feet. */
			r->id = s->id;
			memcpy(r->peer, s->peer, sizeof(r->peer));
			memcpy(r->user, s->user, sizeof(r->user));
			memcpy(r->action, s->action, sizeof(r->action));
			r->since = s->since;
			r->fd = s->fd;
			r->bytes_in = __atomic_load_n(&s->bytes_in, __ATOMIC_RELAXED);
			r->bytes_out = __atomic_load_n(&s->bytes_out, __ATOMIC_RELAXED);
			r->next = NULL;
		}
	pthread_mutex_unlock(&srv->lock);
	return cap > 0 && *rows == NULL ? ABK_E_NOMEM : ABK_OK;
}

void
srv_auth_enter(struct srv *srv)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned limit = cores > 2 ? (unsigned)cores * 2 : 4;

	pthread_mutex_lock(&srv->lock);
	while (srv->auth_active >= limit)
		pthread_cond_wait(&srv->cond, &srv->lock);
	srv->auth_active++;
	pthread_mutex_unlock(&srv->lock);
}

void
srv_auth_leave(struct srv *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->auth_active--;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

/* Row of addr in the pre-login table, or a free one (create), or NULL.
 * Caller holds the lock. */
static struct srv_addr_count *
srv_addr_find(struct srv *srv, const char *addr, int create)
{
	struct srv_addr_count *free_row = NULL;

	for (unsigned i = 0; i < srv->unauth_addrs_cap; i++) {
		struct srv_addr_count *a = &srv->unauth_addrs[i];

		if (a->n > 0 && strcmp(a->addr, addr) == 0)
			return a;
		if (a->n == 0 && free_row == NULL)
			free_row = a;
	}
	if (create && free_row != NULL) {
		snprintf(free_row->addr, sizeof(free_row->addr), "%s", addr);
		free_row->pre = 0;
	}
	return create ? free_row : NULL;
}

/* One queued or pre-login connection of addr is gone.  Caller holds the lock. */
static void
srv_addr_drop(struct srv *srv, const char *addr)
{
	struct srv_addr_count *a = srv_addr_find(srv, addr, 0);

	if (a != NULL && a->n > 0)
		a->n--;
}

/*
 * Take the first queued connection whose address has a pre-login slot left
 * (other addresses pass a flooding one).  Caller holds the lock.
 */
static int
srv_queue_take(struct srv *srv, struct srv_queued *out)
{
	for (unsigned i = 0; i < srv->queue_len; i++) {
		struct srv_queued *q = &srv->queue[(srv->queue_head + i) % srv->queue_cap];
		struct srv_addr_count *a = srv_addr_find(srv, q->peer, 0);

		if (a != NULL && a->pre >= srv->cfg.unauth_per_addr)
			continue;
		*out = *q;
		for (unsigned j = i; j + 1 < srv->queue_len; j++)
			srv->queue[(srv->queue_head + j) % srv->queue_cap] =
			    srv->queue[(srv->queue_head + j + 1) % srv->queue_cap];
		srv->queue_len--;
		if (a != NULL)
			a->pre++;
		return 1;
	}
	return 0;
}

void
srv_unauth_release(struct srv *srv, const char *peer)
{
	struct srv_addr_count *a;

	pthread_mutex_lock(&srv->lock);
	if (srv->unauth_active > 0)
		srv->unauth_active--;
	if ((a = srv_addr_find(srv, peer, 0)) != NULL && a->pre > 0)
		a->pre--;
	srv_addr_drop(srv, peer);
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

void
srv_session_register(struct srv *srv, struct srv_session_info *info)
{
	pthread_mutex_lock(&srv->lock);
	info->id = ++srv->next_session_id;
	info->since = time(NULL);
	info->next = srv->sessions;
	srv->sessions = info;
	srv->stats.connections++;
	pthread_mutex_unlock(&srv->lock);
}

void
srv_session_unregister(struct srv *srv, struct srv_session_info *info)
{
	struct srv_session_info **pp;

	pthread_mutex_lock(&srv->lock);
	for (pp = &srv->sessions; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == info) {
			*pp = info->next;
			break;
		}
	}
	srv->stats.bytes_in += __atomic_load_n(&info->bytes_in, __ATOMIC_RELAXED);
	srv->stats.bytes_out += __atomic_load_n(&info->bytes_out, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&srv->lock);
}

void
srv_session_set_action(struct srv *srv, struct srv_session_info *info,
    const char *user, const char *action)
{
	pthread_mutex_lock(&srv->lock);
	if (user != NULL)
		snprintf(info->user, sizeof(info->user), "%s", user);
	if (action != NULL)
		snprintf(info->action, sizeof(info->action), "%s", action);
	pthread_mutex_unlock(&srv->lock);
}

void
srv_request_stop(struct srv *srv)
{
	pthread_mutex_lock(&srv->lock);
	if (!srv->stopping) {
		srv->stopping = 1;
		(void)!write(srv->wake_pipe[1], "x", 1);
	}
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

int
srv_is_stopping(struct srv *srv)
{
	int stopping;

	pthread_mutex_lock(&srv->lock);
	stopping = srv->stopping;
	pthread_mutex_unlock(&srv->lock);
	return stopping;
}

static void *
srv_worker(void *arg)
{
	struct srv *srv = arg;

	for (;;) {
		struct srv_queued q;
		int idle;

		/* A queued connection is a stranger until it logs in: take it
		 * only while the strangers' budget has room, so that they never
		 * hold more than unauth_workers workers. */
		pthread_mutex_lock(&srv->lock);
		while (!srv->stopping && (srv->unauth_active >= srv->cfg.unauth_workers ||
		    !srv_queue_take(srv, &q)))
			pthread_cond_wait(&srv->cond, &srv->lock);
		if (srv->stopping) {
			pthread_mutex_unlock(&srv->lock);
			break;
		}
		srv->active++;
		srv->unauth_active++;
		pthread_mutex_unlock(&srv->lock);

		session_run(srv, q.fd, q.peer);
		/* wolfSSL's FP_ECC point cache is per thread, about 3 MB once a
		 * thread has done a handshake, and lives until the thread ends:
		 * kept, it made the server's RSS grow by 3 MB a worker up to
		 * --threads x 3 MB (192 MB with 64 workers; issue 11's 272 MiB).
		 * Freed after each session, a worker's memory is what its
		 * session needs; the cost, the next handshake on this worker
		 * without the cache, measured 0.5% more server CPU a session. */
		tls_thread_cleanup();

		pthread_mutex_lock(&srv->lock);
		srv->active--;
		idle = srv->active == 0 && srv->queue_len == 0;
		pthread_cond_broadcast(&srv->cond);
		pthread_mutex_unlock(&srv->lock);
		/* The last session of a busy spell: give the free pages of
		 * every malloc arena back (what a load left behind). */
		if (idle)
			(void)malloc_trim(0);
	}
	tls_thread_cleanup();
	return NULL;
}

struct srv_reject {
	struct srv *srv;
	int fd;
	char why[160];		/* the sentence the client gets */
};

/* Detached: tell one over-the-limit client why it cannot be served. */
static void *
srv_rejecter(void *arg)
{
	struct srv_reject *rj = arg;
	struct srv *srv = rj->srv;
	tls_conn *conn = NULL;
	abk_err err = ABK_ERR_INIT;
	char peer[64];

	net_peer_name(rj->fd, peer, sizeof(peer));
	if (tls_accept(srv->tls, rj->fd, SRV_BUSY_HANDSHAKE_MS, &conn, &err) == ABK_OK) {
		struct proto_io io;

		tls_conn_set_timeout(conn, SRV_BUSY_HANDSHAKE_MS);
		tls_conn_io(conn, &io);
		(void)proto_send_error(&io, PE_BUSY, &err, "%s", rj->why);
		tls_conn_free(conn);
	}
	log_event(LOG_LVL_WARN, peer, NULL, "connect", "refused: %s", rj->why);
	tls_thread_cleanup();
	free(rj);
	pthread_mutex_lock(&srv->lock);
	srv->rejecters--;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

static void
srv_reject_busy(struct srv *srv, int fd, const char *why)
{
	struct srv_reject *rj;
	pthread_attr_t attr;
	pthread_t tid;
	int started = 0;

	/* Caller holds the lock. */
	srv->stats.rejected_busy++;
	if (srv->rejecters >= SRV_REJECTERS_MAX || (rj = malloc(sizeof(*rj))) == NULL) {
		close(fd);
		return;
	}
	rj->srv = srv;
	rj->fd = fd;
	snprintf(rj->why, sizeof(rj->why), "%s", why);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, srv->cfg.thread_stack);
	if (pthread_create(&tid, &attr, srv_rejecter, rj) == 0) {
		srv->rejecters++;
		started = 1;
	}
	pthread_attr_destroy(&attr);
	if (!started) {
		close(fd);
		free(rj);
	}
}

static void
srv_accept_one(struct srv *srv)
{
	int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct srv_addr_count *a;
	char peer[64], why[160];

	if (fd < 0)
		return;		/* EAGAIN, ECONNABORTED, EMFILE: try again later */
	{
		int one = 1;

		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	}
	net_peer_name(fd, peer, sizeof(peer));
	pthread_mutex_lock(&srv->lock);
	if (srv->stopping) {
		close(fd);
	} else if (srv->active + srv->queue_len >= srv->cfg.max_sessions ||
	    srv->queue_len >= srv->queue_cap) {
		snprintf(why, sizeof(why),
		    "server busy: %u sessions at once is the limit; try again later",
		    srv->cfg.max_sessions);
		srv_reject_busy(srv, fd, why);
	} else if ((a = srv_addr_find(srv, peer, 1)) == NULL ||
	    a->n >= srv->unauth_addr_wait) {
		snprintf(why, sizeof(why), "server busy: %u connections not yet logged in "
		    "from one address is the limit; try again later",
		    srv->unauth_addr_wait);
		srv_reject_busy(srv, fd, why);
	} else {
		struct srv_queued *q = &srv->queue[(srv->queue_head + srv->queue_len) %
		    srv->queue_cap];

		a->n++;
		q->fd = fd;
		snprintf(q->peer, sizeof(q->peer), "%s", peer);
		srv->queue_len++;
		pthread_cond_broadcast(&srv->cond);
	}
	pthread_mutex_unlock(&srv->lock);
}

static int
srv_write_port_file(const char *path, int port, abk_err *err)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return abk_err_set(err, ABK_E_IO, "cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return abk_err_set(err, ABK_E_IO, "cannot write %s: %s", path, strerror(errno));
	}
	return ABK_OK;
}

/* After the grace period: force every remaining session's socket down. */
static void
srv_force_sessions_down(struct srv *srv)
{
	struct srv_session_info *s;

	pthread_mutex_lock(&srv->lock);
	for (s = srv->sessions; s != NULL; s = s->next)
		(void)shutdown(s->fd, SHUT_RDWR);
	pthread_mutex_unlock(&srv->lock);
}

static void
srv_drain(struct srv *srv)
{
	struct timespec until;
	long long ms;

	pthread_mutex_lock(&srv->lock);
	while (srv->queue_len > 0) {
		close(srv->queue[srv->queue_head].fd);
		srv_addr_drop(srv, srv->queue[srv->queue_head].peer);
		srv->queue_head = (srv->queue_head + 1) % srv->queue_cap;
		srv->queue_len--;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	ms = srv->cfg.shutdown_grace_ms;
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	while ((srv->active > 0 || srv->rejecters > 0) &&
	    pthread_cond_timedwait(&srv->cond, &srv->lock, &until) == 0)
		;
	pthread_mutex_unlock(&srv->lock);
	srv_force_sessions_down(srv);
}

/*
 * glibc raises its mmap threshold each time a mapped block is freed (up to
 * 32 MiB), after which the sessions' big buffers come from the arenas and
 * stay resident once freed: after 32 pushes and 32 restores at once the RSS
 * stayed at the peak, 300 MiB.  A fixed threshold keeps them mapped, so a
 * freed batch goes back to the system at once.  Before any thread starts.
 */
static void
srv_memory_policy(void)
{
	(void)mallopt(M_MMAP_THRESHOLD, (int)SRV_MMAP_THRESHOLD);
}

/*
 * Every session may hold a batch of files open (the restore builder reads
 * ahead, prefetch.h) plus its sockets and snapshot folders: raise the soft
 * open-file limit to the hard one, as the systemd unit does, so that a
 * server started by hand is not limited to 1024.
 */
static void
srv_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Settings that follow from others: login workers, per-address wait, budgets. */
static void
srv_settle_config(struct srv *srv)
{
	struct srv_config *c = &srv->cfg;

	srv->queue_cap = c->max_sessions > 0 ? c->max_sessions : 1;
	if (c->unauth_workers == 0)
		c->unauth_workers = c->threads > 1 ? c->threads / 2 : 1;
	if (c->unauth_workers > c->threads)
		c->unauth_workers = c->threads;
	srv->unauth_addr_wait = srv->queue_cap / 2 > c->unauth_per_addr ?
	    srv->queue_cap / 2 : c->unauth_per_addr;
	/* Every queued or pre-login connection has its address row. */
	srv->unauth_addrs_cap = srv->queue_cap + c->unauth_workers;
	if (c->list_memory == 0)
		c->list_memory = budget_default_list_memory();
	if (c->list_memory_user == 0 || c->list_memory_user > c->list_memory)
		c->list_memory_user = c->list_memory / 2;
}

/* The struct srv, its lock, wake pipe, queue, tables and budgets. */
static int
srv_new(const struct srv_config *cfg, struct srv **out, abk_err *err)
{
	struct srv *srv;

	*out = srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	srv->cfg = *cfg;
	srv->listen_fd = -1;
	srv->wake_pipe[0] = srv->wake_pipe[1] = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	srv->stats.started = time(NULL);
	if (pipe2(srv->wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return abk_err_set(err, ABK_E_IO, "pipe: %s", strerror(errno));
	srv_settle_config(srv);
	srv->queue = calloc(srv->queue_cap, sizeof(*srv->queue));
	srv->unauth_addrs = calloc(srv->unauth_addrs_cap, sizeof(*srv->unauth_addrs));
	srv->thr = throttle_new(SRV_THROTTLE_KEYS);
	srv->known_good = throttle_new(SRV_THROTTLE_KEYS);
	throttle_set_expire(srv->known_good, SRV_KNOWN_GOOD_MS);
	srv->list_mem = budget_new("file-list memory", "--list-memory", srv->cfg.list_memory,
	    srv->cfg.list_memory_user);
	srv->quota_flight = budget_new("bytes in flight", "quota", 0, 0);
	if (srv->queue == NULL || srv->thr == NULL || srv->known_good == NULL ||
	    srv->unauth_addrs == NULL ||
	    srv->list_mem == NULL || srv->quota_flight == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	return ABK_OK;
}

/* TLS context, account store, staging cleanup, listening socket. */
static int
srv_open(struct srv *srv, abk_err *err)
{
	const struct srv_config *cfg = &srv->cfg;
	char dbdir[PATH_MAX + 8];
	int rc;

	if ((rc = tls_global_init(err)) != ABK_OK ||
	    (rc = tls_server_ctx_new(cfg->cert_file, cfg->key_file, &srv->tls, err)) != ABK_OK)
		return rc;
	snprintf(dbdir, sizeof(dbdir), "%s/db", cfg->data_dir);
	if ((rc = accounts_open(dbdir, &srv->acc, err)) != ABK_OK)
		return rc;
	srv_sweep_staging(srv, "startup");
	return net_listen(cfg->listen_host, cfg->listen_port, 128, &srv->listen_fd, err);
}

/* SIGPIPE ignored; SIGINT and SIGTERM write to the wake pipe. */
static void
srv_install_signals(struct srv *srv)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	srv_signal_fd = srv->wake_pipe[1];
	sa.sa_handler = srv_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* The threads srv_run starts and joins. */
struct srv_threads {
	pthread_t *workers;
	unsigned nworkers;		/* started */
	pthread_t console;
	int console_started;
	pthread_t sweeper;
	int sweeper_started;
};

static int
srv_start_threads(struct srv *srv, struct srv_threads *t, abk_err *err)
{
	const struct srv_config *cfg = &srv->cfg;

	t->workers = calloc(cfg->threads, sizeof(*t->workers));
	if (t->workers == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	for (t->nworkers = 0; t->nworkers < cfg->threads; t->nworkers++) {
		pthread_attr_t attr;
		int e;

		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, cfg->thread_stack);
		e = pthread_create(&t->workers[t->nworkers], &attr, srv_worker, srv);
		pthread_attr_destroy(&attr);
		if (e != 0)
			return abk_err_set(err, ABK_E_INTERNAL, "cannot start worker thread: %s",
			    strerror(e));
	}
	if (pthread_create(&t->sweeper, NULL, srv_sweeper, srv) != 0)
		return abk_err_set(err, ABK_E_INTERNAL, "cannot start the staging sweeper");
	t->sweeper_started = 1;
	if (cfg->console) {
		if (pthread_create(&t->console, NULL, console_thread, srv) == 0)
			t->console_started = 1;
		else
			log_event(LOG_LVL_WARN, NULL, NULL, "startup", "console not started");
	}
	return ABK_OK;
}

/* Accept until a signal or srv_request_stop. */
static int
srv_accept_loop(struct srv *srv, abk_err *err)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = srv->listen_fd, .events = POLLIN },
			{ .fd = srv->wake_pipe[0], .events = POLLIN },
		};
		int n = poll(pfd, 2, -1);

		if (n < 0 && errno != EINTR)
			return abk_err_set(err, ABK_E_INTERNAL, "poll: %s", strerror(errno));
		if (srv_signalled || (n > 0 && (pfd[1].revents & POLLIN)))
			return ABK_OK;
		if (n > 0 && (pfd[0].revents & POLLIN))
			srv_accept_one(srv);
	}
}

/* Stop accepting, drain the sessions, join every thread (threads t started). */
static void
srv_stop(struct srv *srv, struct srv_threads *t)
{
	log_event(LOG_LVL_INFO, NULL, NULL, "shutdown", "stopping (%s)",
	    srv_signalled == SIGINT ? "SIGINT" : srv_signalled == SIGTERM ? "SIGTERM" :
	    "requested");
	srv_request_stop(srv);
	close(srv->listen_fd);
	srv->listen_fd = -1;
	srv_drain(srv);
	for (unsigned i = 0; i < t->nworkers; i++)
		pthread_join(t->workers[i], NULL);
	if (t->console_started) {
		/* The console polls the wake pipe too, so it has ended. */
		pthread_join(t->console, NULL);
	}
	/* The sweeper waits on srv->cond, broadcast by srv_request_stop; a
	 * sweep under way finishes its walk first. */
	if (t->sweeper_started)
		pthread_join(t->sweeper, NULL);
	/* Rejecters are detached; wait for them so srv outlives them. */
	pthread_mutex_lock(&srv->lock);
	while (srv->rejecters > 0)
		pthread_cond_wait(&srv->cond, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
	log_event(LOG_LVL_INFO, NULL, NULL, "shutdown", "stopped");
}

/* Close and free what srv_new and srv_open made (no thread runs). NULL-safe. */
static void
srv_free(struct srv *srv)
{
	if (srv == NULL)
		return;
	srv_signal_fd = -1;
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->acc != NULL) {
		abk_err cerr = ABK_ERR_INIT;

		if (accounts_close(srv->acc, &cerr) != ABK_OK)
			log_event(LOG_LVL_ERROR, NULL, NULL, "shutdown", "%s", cerr.msg);
	}
	tls_ctx_free(srv->tls);
	tls_global_cleanup();
	throttle_free(srv->thr);
	throttle_free(srv->known_good);
	budget_free(srv->list_mem);
	budget_free(srv->quota_flight);
	free(srv->queue);
	free(srv->unauth_addrs);
	if (srv->wake_pipe[0] >= 0)
		close(srv->wake_pipe[0]);
	if (srv->wake_pipe[1] >= 0)
		close(srv->wake_pipe[1]);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

int
srv_policy_for(void *ctx, const char *user, const char *source, struct retention_policy *out,
    abk_err *err)
{
	struct srv *srv = ctx;

	return accounts_policy_resolve(srv->acc, user, source, &srv->cfg.retention, out, NULL,
	    err);
}

int
srv_run(const struct srv_config *cfg, abk_err *err)
{
	struct srv *srv = NULL;
	struct srv_threads t;
	char polbuf[128];
	int rc;

	memset(&t, 0, sizeof(t));
	log_init(cfg->use_syslog, 0);
	srv_raise_nofile();
	srv_memory_policy();
	rc = srv_new(cfg, &srv, err);
	if (rc == ABK_OK)
		rc = srv_open(srv, err);
	if (rc != ABK_OK)
		goto out;
	srv_install_signals(srv);
	rc = srv_start_threads(srv, &t, err);
	if (rc == ABK_OK)
		log_event(LOG_LVL_INFO, NULL, NULL, "startup",
		    "listening on %s port %d (%u workers, %u of them for logins, %u sessions "
		    "max, default retention %s, file lists %llu MiB, %llu MiB per user)",
		    cfg->listen_host,
		    net_local_port(srv->listen_fd), cfg->threads, srv->cfg.unauth_workers,
		    cfg->max_sessions, retention_format(&cfg->retention, polbuf, sizeof(polbuf)),
		    (unsigned long long)(srv->cfg.list_memory >> 20),
		    (unsigned long long)(srv->cfg.list_memory_user >> 20));
	if (rc == ABK_OK && cfg->port_file[0] != '\0')
		rc = srv_write_port_file(cfg->port_file, net_local_port(srv->listen_fd), err);
	if (rc == ABK_OK)
		rc = srv_accept_loop(srv, err);
	srv_stop(srv, &t);
out:
	free(t.workers);
	srv_free(srv);
	return rc;
}
