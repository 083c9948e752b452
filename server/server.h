/*
 * server.h - the server-wide state of autobackupd and its lifecycle:
 * listening socket, bounded connection queue, worker pool, session registry,
 * statistics and orderly shutdown.
 *
 * struct srv is the one server-wide structure.  Fields marked "read-only"
 * are written before the first thread starts; everything else is guarded by
 * srv->lock.  Sessions run one per worker thread (session.c); a session holds
 * its worker while connected, so the pool is sized for concurrent sessions.
 */
#ifndef ABS_SERVER_H
#define ABS_SERVER_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "abkerr.h"
#include "net.h"
#include "proto.h"
#include "retention.h"

struct accounts;
struct budget;
struct throttle;
struct tls_ctx;

struct srv_config {
	char data_dir[PATH_MAX];
	char listen_host[NET_HOST_MAX];
	int listen_port;
	char port_file[PATH_MAX];	/* "" = none */
	char cert_file[PATH_MAX];
	char key_file[PATH_MAX];
	unsigned threads;		/* workers = concurrent sessions */
	unsigned max_sessions;		/* active + queued */
	struct retention_policy retention;	/* after each push (not append-only) */
	int handshake_timeout_ms;
	int login_timeout_ms;		/* accept to LOGIN_OK, whole */
	int frame_timeout_ms;		/* first byte to last of one frame */
	int idle_timeout_ms;
	unsigned min_rate;		/* bytes/s a push's data must keep up, over
					 * each frame_timeout_ms; 0 = none */
	unsigned unauth_workers;	/* workers for not-logged-in sessions */
	unsigned unauth_per_addr;	/* queued + pre-login per address */
	uint64_t list_memory;		/* file lists of all pushes; 0 = default */
	uint64_t list_memory_user;	/* one user's share; 0 = half */
	int shutdown_grace_ms;
	unsigned staging_max_age_s;
	int console;			/* run the admin console on stdin */
	int use_syslog;
	size_t thread_stack;
};

/* Defaults of `autobackupd serve`. */
void srv_config_defaults(struct srv_config *cfg);

/* One registry row per live session (for the console's `sessions`). */
struct srv_session_info {
	uint64_t id;
	char peer[64];
	char user[PROTO_USER_MAX + 1];
	char action[96];
	time_t since;
	int fd;				/* socket, for forced shutdown */
	/* Bytes read and written on the connection (TLS payload: every frame
	 * and all data); updated with __atomic builtins by the session's
	 * threads, read under srv->lock by the copies below. */
	uint64_t bytes_in, bytes_out;
	struct srv_session_info *next;
};

struct srv_stats {
	uint64_t connections;
	uint64_t rejected_busy;
	uint64_t logins_ok;
	uint64_t logins_failed;
	uint64_t pushes;
	uint64_t restores;
	uint64_t bytes_in;		/* of ended sessions; srv_stats_get adds live ones */
	uint64_t bytes_out;
	time_t started;
};

/* A connection accepted and not yet logged in, counted per address. */
struct srv_addr_count {
	char addr[64];
	unsigned n;			/* queued + in pre-login; 0 = free row */
	unsigned pre;			/* in pre-login (holding a worker) */
};

/* An accepted socket waiting for a worker. */
struct srv_queued {
	int fd;
	char peer[64];
};

struct srv {
	struct srv_config cfg;		/* read-only */
	struct tls_ctx *tls;		/* read-only */
	struct accounts *acc;		/* thread-safe on its own */
	struct throttle *thr;		/* thread-safe on its own */
	struct throttle *known_good;	/* thread-safe on its own: "user|address"
					 * pairs that logged in recently */
	struct budget *list_mem;	/* thread-safe on its own: push file lists */
	struct budget *quota_flight;	/* thread-safe on its own: bytes reserved by
					 * running pushes, per user (quota) */
	int listen_fd;			/* read-only */
	int wake_pipe[2];		/* readable once stopping */

	pthread_mutex_t lock;		/* guards everything below */
	pthread_cond_t cond;
	struct srv_queued *queue;	/* accepted fds waiting for a worker */
	unsigned queue_head, queue_len, queue_cap;
	unsigned active;		/* sessions held by workers */
	/*
	 * Strangers' budget (invariant 7): sessions not yet logged in hold at
	 * most cfg.unauth_workers workers (the rest stay for logged-in users;
	 * a queued connection waits for a pre-login slot without taking a
	 * worker); one address has at most cfg.unauth_per_addr of them (its
	 * others wait in the queue while other addresses go first), and at
	 * most unauth_addr_wait connections queued or in pre-login (more are
	 * refused BUSY), so one address cannot fill the queue either.
	 */
	unsigned unauth_addr_wait;
	unsigned unauth_active;
	struct srv_addr_count *unauth_addrs;	/* unauth_addrs_cap rows, n = 0 free */
	unsigned unauth_addrs_cap;
	unsigned rejecters;		/* detached "busy" replies in flight */
	unsigned auth_active;		/* password/token checks running */
	struct srv_session_info *sessions;
	uint64_t next_session_id;
	struct srv_stats stats;
	int stopping;
};

/* Run `serve` with cfg until SIGINT/SIGTERM or console shutdown. */
int srv_run(const struct srv_config *cfg, abk_err *err);

/* A storage_policy_fn (storage.h): the accounts store's policy for
 * user/source, else the server's default; ctx is the struct srv. */
int srv_policy_for(void *ctx, const char *user, const char *source, struct retention_policy *out,
    abk_err *err);

/*
 * fd >= 0: SIGINT writes a byte to fd instead of stopping the server (the
 * interactive console clears its line); -1: SIGINT stops the server again.
 */
void srv_console_take_sigint(int fd);

/* Ask the server to stop (console `shutdown`); async-signal-unsafe. */
void srv_request_stop(struct srv *srv);

/* 1 once the server is stopping (a signal or srv_request_stop). */
int srv_is_stopping(struct srv *srv);

/*
 * The session on peer no longer counts against the strangers' budget: it
 * logged in, or it ended before.  session.c calls it exactly once.
 */
void srv_unauth_release(struct srv *srv, const char *peer);

/* Registry, used by session.c. */
void srv_session_register(struct srv *srv, struct srv_session_info *info);
void srv_session_unregister(struct srv *srv, struct srv_session_info *info);
void srv_session_set_action(struct srv *srv, struct srv_session_info *info,
    const char *user, const char *action);
/*
 * Bound the PBKDF2 checks running at once (each costs ~0.3 s of CPU), so a
 * flood of logins cannot starve the sessions already working.
 */
void srv_auth_enter(struct srv *srv);
void srv_auth_leave(struct srv *srv);

/*
 * The staging sweep (server_sweep.c): srv_sweep_staging removes staging
 * older than cfg.staging_max_age_s once (logged under `when`);
 * srv_sweeper is the thread that repeats it every quarter of the TTL until
 * srv->stopping, off the accept thread.
 */
void srv_sweep_staging(struct srv *srv, const char *when);
void *srv_sweeper(void *arg);

/* Add to a statistics counter under the lock. */
void srv_stat_add(struct srv *srv, uint64_t *counter, uint64_t n);

/*
 * For the console: copies taken under srv->lock, so the caller prints after
 * the lock is released (a stuck terminal must not hold the lock every
 * session needs, issue 8 item 12).  srv_stats_get copies the counters and
 * how many sessions are active and queued.  srv_sessions_copy gives the
 * registry as an array (*rows, freed by the caller with free(); next is
 * NULL in each row): ABK_OK, or ABK_E_NOMEM.
 */
void srv_stats_get(struct srv *srv, struct srv_stats *st, unsigned *active, unsigned *queued);
int srv_sessions_copy(struct srv *srv, struct srv_session_info **rows, size_t *n);

#endif
