/*
 * accounts_env.c - the account store's Berkeley DB environment: opening it so
 * that several processes share it safely, closing it, reopening it after
 * another process ran recovery, the transaction/deadlock-retry loop every
 * operation goes through, and the batched cursor walk behind the list
 * functions.  Part of the accounts module (accounts.h, accounts_int.h).
 *
 * Environment flags: DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG |
 * DB_INIT_MPOOL | DB_RECOVER | DB_REGISTER | DB_THREAD.  With DB_REGISTER,
 * BDB keeps a registry of live processes (__db.register, fcntl locks) and
 * runs the recovery asked for by DB_RECOVER only when a registered process
 * died with the environment open; a plain DB_RECOVER would recover (and
 * corrupt) the environment under the feet of a running server.  When some
 * process does recover, BDB panics the environment of every other live
 * process (DB_RUNRECOVERY on each call); accounts_txn_run then reopens this
 * process's environment once, under a_rw held for writing, and runs the
 * transaction again.
 *
 * Durability: transactions commit synchronously (BDB's default; no
 * DB_TXN_NOSYNC / WRITE_NOSYNC anywhere).  Logs: DB_LOG_AUTO_REMOVE drops log
 * files no longer needed for normal recovery at each checkpoint, taken after
 * every CKP_KBYTES of log and at close.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "accounts_int.h"

#define CKP_KBYTES 256		/* checkpoint after this much log */

/*
 * DB_REGISTER keeps fcntl(2) locks on DB's __db.register file, and fcntl
 * locks belong to the process: a failed second open of the same environment
 * in this process would close that file and silently drop the first handle's
 * lock, letting another process "recover" the live environment.  So this
 * process-wide list (the module's one piece of global state, forced by BDB)
 * refuses a second open before BDB is asked.
 */
static pthread_mutex_t accounts_open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct accounts *accounts_open_list;

/* ---- small helpers ------------------------------------------------------ */

int64_t
accounts_now(void)
{
	return (int64_t)time(NULL);
}

void
accounts_dbt_in(DBT *d, void *data, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->data = data;
	d->size = (u_int32_t)len;
}

void
accounts_dbt_out(DBT *d, void *buf, size_t cap)
{
	memset(d, 0, sizeof(*d));
	d->data = buf;
	d->ulen = (u_int32_t)cap;
	d->flags = DB_DBT_USERMEM;
}

/* Berkeley DB's diagnostics go here instead of stderr. */
static void
bdb_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	accounts *a = env->app_private;

	(void)pfx;
	if (a == NULL || msg == NULL)
		return;
	pthread_mutex_lock(&a->a_msg_lock);
	snprintf(a->a_msg, sizeof(a->a_msg), "%s", msg);
	pthread_mutex_unlock(&a->a_msg_lock);
}

/*
 * Translate a BDB failure: ACCOUNTS_TXN_RETRY for a lost deadlock (the
 * transaction starts over), else BDB's text in err and ABK_E_DB, or
 * ACCOUNTS_TXN_PANIC for DB_RUNRECOVERY (the environment gets reopened).
 */
int
accounts_db_fail(abk_err *err, int ret, const char *what)
{
	if (ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED)
		return ACCOUNTS_TXN_RETRY;
	abk_err_set(err, ABK_E_DB, "accounts: %s: %s", what, db_strerror(ret));
	return ret == DB_RUNRECOVERY ? ACCOUNTS_TXN_PANIC : ABK_E_DB;
}

int
accounts_corrupt(abk_err *err, const char *what)
{
	return abk_err_set(err, ABK_E_DB, "accounts: corrupt %s record", what);
}

/* ---- transactions ------------------------------------------------------- */

/*
 * One go of fn in a transaction, retried on deadlock; the caller holds a_rw
 * for reading.  *panicked is set when BDB reports DB_RUNRECOVERY, and
 * *retryable then says whether fn may safely run again (nothing was
 * committed) or the outcome is unknown (the commit itself failed).
 */
static int
txn_attempts(accounts *a, accounts_txn_fn fn, void *arg, int writes,
    int *panicked, int *retryable, abk_err *err)
{
	DB_ENV *env = a->a_env;
	int ret, rc;

	*panicked = 0;
	*retryable = 1;
	if (env == NULL) {	/* an earlier reopen failed */
		*panicked = 1;
		return abk_err_set(err, ABK_E_DB, "accounts: environment is not open");
	}
	for (int attempt = 0; attempt < ACCOUNTS_TXN_RETRIES; attempt++) {
		abk_err local = ABK_ERR_INIT;
		DB_TXN *txn = NULL;

		if ((ret = env->txn_begin(env, NULL, &txn, 0)) != 0) {
			*panicked = ret == DB_RUNRECOVERY;
			return abk_err_set(err, ABK_E_DB, "accounts: begin transaction: %s",
			    db_strerror(ret));
		}
		rc = fn(a, txn, arg, &local);
		if (rc != ABK_OK) {
			(void)txn->abort(txn);
			if (rc == ACCOUNTS_TXN_RETRY) {
				/* Let the winner finish; grow the pause a little. */
				struct timespec ts = { 0, (long)(attempt + 1) * 1000000L };

				nanosleep(&ts, NULL);
				continue;
			}
			*panicked = rc == ACCOUNTS_TXN_PANIC;
			if (*panicked)
				rc = ABK_E_DB;
			if (local.code == ABK_OK)
				return abk_err_set(err, rc, "accounts: %s",
				    abk_strerror(rc));
			return abk_err_set(err, rc, "%s", local.msg);
		}
		if ((ret = txn->commit(txn, 0)) != 0) {
			*panicked = ret == DB_RUNRECOVERY;
			*retryable = 0;
			return abk_err_set(err, ABK_E_DB, "accounts: commit: %s",
			    db_strerror(ret));
		}
		/* The change is durable: a failed checkpoint only delays cleanup. */
		if (writes)
			(void)env->txn_checkpoint(env, CKP_KBYTES, 0, 0);
		return ABK_OK;
	}
	return abk_err_set(err, ABK_E_BUSY,
	    "accounts: transaction lost %d deadlocks in a row, giving up",
	    ACCOUNTS_TXN_RETRIES);
}

static int env_start(accounts *a, abk_err *err);
static int env_stop(accounts *a, abk_err *err);

/*
 * The environment of generation gen panicked (another process recovered it
 * after a third one died holding it open): close and reopen it, unless
 * another thread already did.  Takes a_rw for writing.
 */
static int
env_reopen(accounts *a, unsigned gen, abk_err *err)
{
	int rc = ABK_OK;

	pthread_rwlock_wrlock(&a->a_rw);
	if (a->a_gen == gen) {
		(void)env_stop(a, NULL);	/* a panicked env reports errors */
		rc = env_start(a, err);
		a->a_gen++;
	}
	pthread_rwlock_unlock(&a->a_rw);
	return rc;
}

/*
 * Run fn inside a transaction and commit it (synchronously: the default,
 * no DB_TXN_NOSYNC).  fn returns ABK_OK, an abk_code with err filled,
 * ACCOUNTS_TXN_RETRY when BDB chose it as a deadlock victim (the transaction
 * is aborted and fn runs again, at most ACCOUNTS_TXN_RETRIES times) or
 * ACCOUNTS_TXN_PANIC for DB_RUNRECOVERY (the environment is reopened and fn
 * runs once more).  fn must leave no cursor open.  writes: checkpoint now
 * and then afterwards, which is also when DB_LOG_AUTO_REMOVE drops logs.
 */
int
accounts_txn_run(accounts *a, accounts_txn_fn fn, void *arg, int writes, abk_err *err)
{
	for (int round = 0;; round++) {
		abk_err local = ABK_ERR_INIT;
		int panicked, retryable, rc;
		unsigned gen;

		pthread_rwlock_rdlock(&a->a_rw);
		gen = a->a_gen;
		rc = txn_attempts(a, fn, arg, writes, &panicked, &retryable, &local);
		pthread_rwlock_unlock(&a->a_rw);
		if (!panicked || round > 0) {
			if (rc != ABK_OK)
				abk_err_set(err, rc, "%s", local.msg);
			return rc;
		}
		if (env_reopen(a, gen, err) != ABK_OK)
			return abk_err_set(err, ABK_E_DB, "%s (and reopening failed)",
			    local.msg);
		if (!retryable)
			return abk_err_set(err, ABK_E_DB, "%s: the environment was "
			    "recovered; the change may or may not have been kept",
			    local.msg);
	}
}

/* ---- open / close ------------------------------------------------------- */

/* Copy the last BDB diagnostic (or "") into buf. */
static void
last_msg(accounts *a, char *buf, size_t len)
{
	pthread_mutex_lock(&a->a_msg_lock);
	snprintf(buf, len, "%s", a->a_msg);
	a->a_msg[0] = '\0';
	pthread_mutex_unlock(&a->a_msg_lock);
}

static int
open_db(accounts *a, DB **dbp, const char *file, abk_err *err)
{
	char detail[sizeof(a->a_msg)];
	DB *db = NULL;
	int ret;

	if ((ret = db_create(&db, a->a_env, 0)) != 0)
		return abk_err_set(err, ABK_E_DB, "accounts: create handle for %s: %s",
		    file, db_strerror(ret));
	ret = db->open(db, NULL, file, NULL, DB_BTREE,
	    DB_CREATE | DB_AUTO_COMMIT | DB_THREAD, 0600);
	if (ret != 0) {
		(void)db->close(db, 0);
		last_msg(a, detail, sizeof(detail));
		return abk_err_set(err, ABK_E_DB, "accounts: open %s/%s: %s%s%s", a->a_dir,
		    file, db_strerror(ret), detail[0] ? ": " : "", detail);
	}
	*dbp = db;
	return ABK_OK;
}

/* Open the environment in a->a_dir and its databases. */
static int
env_start(accounts *a, abk_err *err)
{
	const u_int32_t flags = DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK |
	    DB_INIT_LOG | DB_INIT_MPOOL | DB_RECOVER | DB_REGISTER | DB_THREAD;
	char detail[sizeof(a->a_msg)];
	int ret, rc;

	if ((ret = db_env_create(&a->a_env, 0)) != 0) {
		a->a_env = NULL;
		return abk_err_set(err, ABK_E_DB, "accounts: create environment: %s",
		    db_strerror(ret));
	}
	a->a_env->app_private = a;
	a->a_env->set_errcall(a->a_env, bdb_errcall);
	/* Run the deadlock detector whenever a lock request blocks. */
	if ((ret = a->a_env->set_lk_detect(a->a_env, DB_LOCK_DEFAULT)) != 0 ||
	    (ret = a->a_env->log_set_config(a->a_env, DB_LOG_AUTO_REMOVE, 1)) != 0) {
		rc = abk_err_set(err, ABK_E_DB, "accounts: configure environment: %s",
		    db_strerror(ret));
		goto fail;
	}
	/*
	 * DB_REGISTER + DB_RECOVER: recovery runs only if a process died with
	 * the environment open, never while a live process uses it.
	 */
	if ((ret = a->a_env->open(a->a_env, a->a_dir, flags, 0600)) != 0) {
		last_msg(a, detail, sizeof(detail));
		rc = abk_err_set(err, ABK_E_DB, "accounts: open environment %s: %s%s%s",
		    a->a_dir, db_strerror(ret), detail[0] ? ": " : "", detail);
		goto fail;
	}
	if ((rc = open_db(a, &a->a_users, "users.db", err)) != ABK_OK ||
	    (rc = open_db(a, &a->a_tokens, "tokens.db", err)) != ABK_OK ||
	    (rc = open_db(a, &a->a_policies, "policies.db", err)) != ABK_OK)
		goto fail;
	return ABK_OK;
fail:
	(void)env_stop(a, NULL);
	return rc;
}

/* Close whatever of the environment is open (idempotent). */
static int
env_stop(accounts *a, abk_err *err)
{
	int ret, rc = ABK_OK;

	if (a->a_users != NULL && (ret = a->a_users->close(a->a_users, 0)) != 0)
		rc = abk_err_set(err, ABK_E_DB, "accounts: close users: %s",
		    db_strerror(ret));
	if (a->a_tokens != NULL && (ret = a->a_tokens->close(a->a_tokens, 0)) != 0)
		rc = abk_err_set(err, ABK_E_DB, "accounts: close tokens: %s",
		    db_strerror(ret));
	if (a->a_policies != NULL && (ret = a->a_policies->close(a->a_policies, 0)) != 0)
		rc = abk_err_set(err, ABK_E_DB, "accounts: close policies: %s",
		    db_strerror(ret));
	if (a->a_env != NULL) {
		/* A checkpoint lets the next open skip log replay. */
		if (a->a_users != NULL && a->a_tokens != NULL && rc == ABK_OK)
			(void)a->a_env->txn_checkpoint(a->a_env, 0, 0, 0);
		/* Discards the handle even on error (BDB's contract). */
		if ((ret = a->a_env->close(a->a_env, 0)) != 0)
			rc = abk_err_set(err, ABK_E_DB, "accounts: close environment: %s",
			    db_strerror(ret));
	}
	a->a_users = NULL;
	a->a_tokens = NULL;
	a->a_policies = NULL;
	a->a_env = NULL;
	return rc;
}

/* Free a handle; the caller holds accounts_open_lock. */
static int
close_locked(accounts *a, abk_err *err)
{
	int rc = env_stop(a, err);

	for (accounts **pp = &accounts_open_list; *pp != NULL; pp = &(*pp)->a_next)
		if (*pp == a) {
			*pp = a->a_next;
			break;
		}
	pthread_rwlock_destroy(&a->a_rw);
	pthread_mutex_destroy(&a->a_msg_lock);
	free(a->a_dir);
	free(a);
	return rc;
}

int
accounts_open(const char *envdir, accounts **out, abk_err *err)
{
	accounts *a = NULL;
	struct stat st;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (envdir == NULL || envdir[0] == '\0' || out == NULL)
		return abk_err_set(err, ABK_E_USAGE, "accounts_open: no directory given");
	if (mkdir(envdir, 0700) != 0 && errno != EEXIST)
		return abk_err_set(err, ABK_E_IO, "create %s: %s", envdir, strerror(errno));
	if (stat(envdir, &st) != 0)
		return abk_err_set(err, ABK_E_IO, "%s: %s", envdir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return abk_err_set(err, ABK_E_IO, "%s: not a directory", envdir);

	pthread_mutex_lock(&accounts_open_lock);
	for (accounts *o = accounts_open_list; o != NULL; o = o->a_next)
		if (o->a_dev == st.st_dev && o->a_ino == st.st_ino && o->a_pid == getpid()) {
			rc = abk_err_set(err, ABK_E_DB, "accounts database %s is already "
			    "open in this process (share that handle)", envdir);
			goto out;
		}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "accounts: out of memory");
		goto out;
	}
	/* Absolute, so a reopen works whatever the working directory is then. */
	if ((a->a_dir = realpath(envdir, NULL)) == NULL) {
		rc = abk_err_set(err, ABK_E_IO, "%s: %s", envdir, strerror(errno));
		free(a);
		a = NULL;
		goto out;
	}
	if (pthread_mutex_init(&a->a_msg_lock, NULL) != 0) {
		free(a->a_dir);
		free(a);
		a = NULL;
		rc = abk_err_set(err, ABK_E_NOMEM, "accounts: cannot create a mutex");
		goto out;
	}
	if (pthread_rwlock_init(&a->a_rw, NULL) != 0) {
		pthread_mutex_destroy(&a->a_msg_lock);
		free(a->a_dir);
		free(a);
		a = NULL;
		rc = abk_err_set(err, ABK_E_NOMEM, "accounts: cannot create a lock");
		goto out;
	}
	a->a_dev = st.st_dev;
	a->a_ino = st.st_ino;
	a->a_pid = getpid();
	a->a_next = accounts_open_list;
	accounts_open_list = a;
	if ((rc = env_start(a, err)) != ABK_OK)
		goto out;
	*out = a;
	a = NULL;
out:
	if (a != NULL)
		(void)close_locked(a, NULL);
	pthread_mutex_unlock(&accounts_open_lock);
	return rc;
}

int
accounts_close(accounts *a, abk_err *err)
{
	int rc;

	if (a == NULL)
		return ABK_OK;
	pthread_mutex_lock(&accounts_open_lock);
	rc = close_locked(a, err);
	pthread_mutex_unlock(&accounts_open_lock);
	return rc;
}

/* ---- listing: batches read under short transactions, callbacks outside -- */

static int
txn_list_pass(accounts *a, DB_TXN *txn, void *arg, abk_err *err)
{
	struct list_pass *lp = arg;
	DB *db = lp->tokens ? a->a_tokens : a->a_users;
	uint8_t kbuf[LIST_KEY_MAX], vbuf[LIST_VAL_MAX];
	u_int32_t op = lp->fromlen ? DB_SET_RANGE : DB_FIRST;
	DBC *c = NULL;
	DBT key, data;
	int ret, rc = ABK_OK;

	/* Start from lp->from on every attempt: a retried pass repeats itself. */
	lp->n = 0;
	lp->done = 0;
	lp->nextlen = lp->fromlen;
	memcpy(lp->next, lp->from, lp->fromlen);
	if ((ret = db->cursor(db, txn, &c, 0)) != 0)
		return accounts_db_fail(err, ret, "cursor");
	memcpy(kbuf, lp->from, lp->fromlen);
	for (size_t scanned = 0; scanned < LIST_BATCH;) {
		accounts_dbt_out(&key, kbuf, sizeof(kbuf));
		key.size = (u_int32_t)lp->fromlen;
		accounts_dbt_out(&data, vbuf, sizeof(vbuf));
		ret = c->get(c, &key, &data, op);
		if (ret == DB_NOTFOUND) {
			lp->done = 1;
			break;
		}
		if (ret == DB_BUFFER_SMALL) {
			rc = accounts_corrupt(err, "over-long");
			goto out;
		}
		if (ret != 0) {
			rc = accounts_db_fail(err, ret, "list");
			goto out;
		}
		if (key.size == 0) {
			rc = accounts_corrupt(err, "empty-key");
			goto out;
		}
		/* DB_SET_RANGE lands on the start key itself when it still exists. */
		if (op == DB_SET_RANGE && key.size == lp->fromlen &&
		    memcmp(kbuf, lp->from, lp->fromlen) == 0) {
			op = DB_NEXT;
			continue;
		}
		op = DB_NEXT;
		scanned++;
		memcpy(lp->next, kbuf, key.size);
		lp->nextlen = key.size;
		if ((rc = lp->take(lp, kbuf, key.size, vbuf, data.size, err)) != ABK_OK)
			goto out;
	}
out:
	if ((ret = c->close(c)) != 0 && rc == ABK_OK)
		rc = accounts_db_fail(err, ret, "close cursor");
	return rc;
}

int
accounts_list_run(accounts *a, struct list_pass *lp,
    int (*deliver)(struct list_pass *lp), abk_err *err)
{
	int rc;

	do {
		if ((rc = accounts_txn_run(a, txn_list_pass, lp, 0, err)) != ABK_OK)
			return rc;
		memcpy(lp->from, lp->next, lp->nextlen);
		lp->fromlen = lp->nextlen;
		/* Callbacks run here, with no transaction and no lock held. */
		if ((rc = deliver(lp)) != 0)
			return rc;
	} while (!lp->done);
	return ABK_OK;
}

