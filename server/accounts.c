/*
 * accounts.c - the account store's environment and users: opening the
 * transactional Berkeley DB environment shared by several processes, the
 * transaction/deadlock-retry loop, user records, password hashing and
 * constant-time verification.  API tokens are in accounts_tokens.c; both
 * share accounts_int.h, and they are the only files that include <db.h>.
 * Every BDB error is translated to ABK_E_DB here.  See accounts.h for the
 * contract.
 *
 * User records are encoded by hand, big-endian, with a version byte first,
 * so the files depend on neither struct layout, compiler nor CPU.  Key: the
 * user name (no NUL).  Value, version 1:
 *
 *   0  u8  version = 1      16 u64 quota (bytes, 0 = none)
 *   1  u8  flags            24 u32 failed logins since the last success
 *          (1 disabled,     28 i64 time of the last failure
 *           2 append-only)  36 i64 time of the last success
 *   2  u8  salt length S    44 salt [S] (16..64 bytes)
 *   3  u8  hash length 32   44+S PBKDF2-HMAC-SHA256 [32]
 *   4  u32 iterations
 *   8  i64 created
 *
 * PBKDF2 runs outside transactions so no database lock is held during the
 * expensive part.
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
#include "crypto.h"

#define USER_REC_VERSION 1
#define USER_FLAG_DISABLED 0x01u
#define USER_FLAG_APPEND_ONLY 0x02u
#define USER_FLAGS_KNOWN (USER_FLAG_DISABLED | USER_FLAG_APPEND_ONLY)

#define CKP_KBYTES 256		/* checkpoint after this much log */
#define AUTH_PASSWORD_MSG "invalid user name or password"

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

/* Constant salt for the dummy PBKDF2 run of unknown users. */
static const uint8_t dummy_salt[USER_SALT_MIN] = {
	0x61, 0x62, 0x6b, 0x2d, 0x64, 0x75, 0x6d, 0x6d,
	0x79, 0x2d, 0x73, 0x61, 0x6c, 0x74, 0x2d, 0x31,
};

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

int
accounts_valid_username(const char *name)
{
	size_t n;

	if (name == NULL)
		return 0;
	n = strnlen(name, ACCOUNTS_NAME_MAX + 1);
	if (n == 0 || n > ACCOUNTS_NAME_MAX || name[0] == '.' || name[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

const char *
accounts_reason_str(enum accounts_reason r)
{
	switch (r) {
	case ACCOUNTS_AUTH_OK:
		return "accepted";
	case ACCOUNTS_AUTH_NO_USER:
		return "unknown user";
	case ACCOUNTS_AUTH_BAD_PASSWORD:
		return "wrong password";
	case ACCOUNTS_AUTH_DISABLED:
		return "account disabled";
	case ACCOUNTS_AUTH_MALFORMED_TOKEN:
		return "malformed token";
	case ACCOUNTS_AUTH_NO_TOKEN:
		return "unknown token";
	case ACCOUNTS_AUTH_BAD_SECRET:
		return "wrong token secret";
	}
	return "unknown reason";
}

/* ---- record encoding ---------------------------------------------------- */

static size_t
user_encode(const struct user_rec *r, uint8_t buf[USER_REC_MAX])
{
	uint8_t flags = 0;

	if (r->u.disabled)
		flags |= USER_FLAG_DISABLED;
	if (r->u.append_only)
		flags |= USER_FLAG_APPEND_ONLY;
	buf[0] = USER_REC_VERSION;
	buf[1] = flags;
	buf[2] = (uint8_t)r->salt_len;
	buf[3] = ACCOUNTS_HASH_LEN;
	accounts_put_u32(buf + 4, r->u.iterations);
	accounts_put_u64(buf + 8, (uint64_t)r->u.created);
	accounts_put_u64(buf + 16, r->u.quota);
	accounts_put_u32(buf + 24, r->u.failures);
	accounts_put_u64(buf + 28, (uint64_t)r->u.last_failure);
	accounts_put_u64(buf + 36, (uint64_t)r->u.last_login);
	memcpy(buf + USER_REC_FIXED, r->salt, r->salt_len);
	memcpy(buf + USER_REC_FIXED + r->salt_len, r->hash, ACCOUNTS_HASH_LEN);
	return USER_REC_FIXED + r->salt_len + ACCOUNTS_HASH_LEN;
}

/* Decode a user record whose key (the name) is name[0..namelen). */
static int
user_decode(const uint8_t *buf, size_t len, const char *name, size_t namelen,
    struct user_rec *r, abk_err *err)
{
	memset(r, 0, sizeof(*r));
	if (len < USER_REC_FIXED || buf[0] != USER_REC_VERSION ||
	    (buf[1] & ~USER_FLAGS_KNOWN) != 0 || buf[2] < USER_SALT_MIN ||
	    buf[2] > USER_SALT_MAX || buf[3] != ACCOUNTS_HASH_LEN ||
	    len != USER_REC_FIXED + (size_t)buf[2] + ACCOUNTS_HASH_LEN ||
	    namelen == 0 || namelen > ACCOUNTS_NAME_MAX)
		return accounts_corrupt(err, "user");
	memcpy(r->u.name, name, namelen);
	r->u.name[namelen] = '\0';
	if (!accounts_valid_username(r->u.name))
		return accounts_corrupt(err, "user");
	r->u.disabled = (buf[1] & USER_FLAG_DISABLED) != 0;
	r->u.append_only = (buf[1] & USER_FLAG_APPEND_ONLY) != 0;
	r->salt_len = buf[2];
	r->u.iterations = accounts_get_u32(buf + 4);
	r->u.created = (int64_t)accounts_get_u64(buf + 8);
	r->u.quota = accounts_get_u64(buf + 16);
	r->u.failures = accounts_get_u32(buf + 24);
	r->u.last_failure = (int64_t)accounts_get_u64(buf + 28);
	r->u.last_login = (int64_t)accounts_get_u64(buf + 36);
	if (r->u.iterations == 0 || r->u.iterations > ACCOUNTS_MAX_ITERATIONS)
		return accounts_corrupt(err, "user");
	memcpy(r->salt, buf + USER_REC_FIXED, r->salt_len);
	memcpy(r->hash, buf + USER_REC_FIXED + r->salt_len, ACCOUNTS_HASH_LEN);
	return ABK_OK;
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
				return abk_err_set(err, rc, "accounts: %s", abk_strerror(rc));
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

/* Read user name (validated by the caller) into *r; flags 0 or DB_RMW. */
int
accounts_user_read(accounts *a, DB_TXN *txn, const char *name, struct user_rec *r,
    u_int32_t flags, abk_err *err)
{
	char kbuf[ACCOUNTS_NAME_MAX + 1];
	uint8_t vbuf[USER_REC_MAX];
	size_t klen = strlen(name);
	DBT key, data;
	int ret;

	memcpy(kbuf, name, klen + 1);
	accounts_dbt_in(&key, kbuf, klen);
	accounts_dbt_out(&data, vbuf, sizeof(vbuf));
	ret = a->a_users->get(a->a_users, txn, &key, &data, flags);
	if (ret == DB_NOTFOUND)
		return abk_err_set(err, ABK_E_NOTFOUND, "no user \"%s\"", name);
	if (ret == DB_BUFFER_SMALL)
		return accounts_corrupt(err, "user");
	if (ret != 0)
		return accounts_db_fail(err, ret, "read user");
	return user_decode(vbuf, data.size, name, klen, r, err);
}

/* Write *r; flags DB_NOOVERWRITE (ABK_E_EXISTS if present) or 0. */
static int
user_write(accounts *a, DB_TXN *txn, const struct user_rec *r, u_int32_t flags,
    abk_err *err)
{
	char kbuf[ACCOUNTS_NAME_MAX + 1];
	uint8_t vbuf[USER_REC_MAX];
	size_t klen = strlen(r->u.name);
	DBT key, data;
	int ret;

	memcpy(kbuf, r->u.name, klen + 1);
	accounts_dbt_in(&key, kbuf, klen);
	accounts_dbt_in(&data, vbuf, user_encode(r, vbuf));
	ret = a->a_users->put(a->a_users, txn, &key, &data, flags);
	if (ret == DB_KEYEXIST)
		return abk_err_set(err, ABK_E_EXISTS, "user \"%s\" already exists",
		    r->u.name);
	if (ret != 0)
		return accounts_db_fail(err, ret, "write user");
	return ABK_OK;
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
	    (rc = open_db(a, &a->a_tokens, "tokens.db", err)) != ABK_OK)
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
	if ((a = calloc(1, sizeof(*a))) == NULL || (a->a_dir = strdup(envdir)) == NULL) {
		free(a);
		a = NULL;
		rc = abk_err_set(err, ABK_E_NOMEM, "accounts: out of memory");
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

/* ---- users -------------------------------------------------------------- */

static int
check_iterations(uint32_t *iterations, abk_err *err)
{
	if (*iterations == 0)
		*iterations = ACCOUNTS_DEFAULT_ITERATIONS;
	if (*iterations < ACCOUNTS_MIN_ITERATIONS || *iterations > ACCOUNTS_MAX_ITERATIONS)
		return abk_err_set(err, ABK_E_USAGE,
		    "iteration count %u outside [%u, %u]", (unsigned)*iterations,
		    ACCOUNTS_MIN_ITERATIONS, ACCOUNTS_MAX_ITERATIONS);
	return ABK_OK;
}

/* A fresh salt and the PBKDF2 hash of password into r (outside any txn). */
static int
hash_new_password(struct user_rec *r, const char *password, size_t passlen,
    uint32_t iterations, abk_err *err)
{
	int rc;

	if (password == NULL || passlen == 0)
		return abk_err_set(err, ABK_E_USAGE, "empty password");
	if (passlen > ACCOUNTS_PASSWORD_MAX)
		return abk_err_set(err, ABK_E_USAGE, "password longer than %d bytes",
		    ACCOUNTS_PASSWORD_MAX);
	/* HMAC pads short keys with zeros: "pw" and "pw\0" would be one key. */
	if (memchr(password, '\0', passlen) != NULL)
		return abk_err_set(err, ABK_E_USAGE, "password contains a NUL byte");
	if ((rc = check_iterations(&iterations, err)) != ABK_OK)
		return rc;
	r->salt_len = ACCOUNTS_SALT_LEN;
	if ((rc = abk_random_bytes(r->salt, r->salt_len, err)) != ABK_OK)
		return rc;
	r->u.iterations = iterations;
	return abk_pbkdf2_sha256(password, passlen, r->salt, r->salt_len, iterations,
	    r->hash, ACCOUNTS_HASH_LEN, err);
}

static int
txn_user_add(accounts *a, DB_TXN *txn, void *arg, abk_err *err)
{
	return user_write(a, txn, arg, DB_NOOVERWRITE, err);
}

int
accounts_user_add(accounts *a, const char *name, const char *password,
    size_t passlen, uint32_t iterations, uint64_t quota, int append_only,
    abk_err *err)
{
	struct user_rec r;
	int rc;

	memset(&r, 0, sizeof(r));
	if (a == NULL || !accounts_valid_username(name))
		return abk_err_set(err, ABK_E_USAGE, "invalid user name \"%s\" (1-%d of "
		    "a-z 0-9 . _ -, not starting with . or -)", name ? name : "",
		    ACCOUNTS_NAME_MAX);
	if ((rc = hash_new_password(&r, password, passlen, iterations, err)) != ABK_OK)
		goto out;
	strcpy(r.u.name, name);
	r.u.created = accounts_now();
	r.u.quota = quota;
	r.u.append_only = append_only != 0;
	rc = accounts_txn_run(a, txn_user_add, &r, 1, err);
out:
	memset(&r, 0, sizeof(r));
	return rc;
}

static int
txn_user_del(accounts *a, DB_TXN *txn, void *arg, abk_err *err)
{
	const char *name = arg;
	char kbuf[ACCOUNTS_NAME_MAX + 1];
	DBT key;
	int ret;

	memcpy(kbuf, name, strlen(name) + 1);
	accounts_dbt_in(&key, kbuf, strlen(name));
	ret = a->a_users->del(a->a_users, txn, &key, 0);
	if (ret == DB_NOTFOUND)
		return abk_err_set(err, ABK_E_NOTFOUND, "no user \"%s\"", name);
	if (ret != 0)
		return accounts_db_fail(err, ret, "delete user");
	return accounts_tokens_delete_of(a, txn, name, err);
}

int
accounts_user_del(accounts *a, const char *name, abk_err *err)
{
	if (a == NULL || !accounts_valid_username(name))
		return abk_err_set(err, ABK_E_NOTFOUND, "no user \"%s\"", name ? name : "");
	return accounts_txn_run(a, txn_user_del, (void *)(uintptr_t)name, 1, err);
}

/* Read-modify-write of one user record. */
struct user_update {
	const char *name;
	void (*apply)(struct user_rec *r, const void *ctx);
	const void *ctx;
};

static int
txn_user_update(accounts *a, DB_TXN *txn, void *arg, abk_err *err)
{
	struct user_update *up = arg;
	struct user_rec r;
	int rc;

	if ((rc = accounts_user_read(a, txn, up->name, &r, DB_RMW, err)) == ABK_OK) {
		up->apply(&r, up->ctx);
		rc = user_write(a, txn, &r, 0, err);
	}
	memset(&r, 0, sizeof(r));
	return rc;
}

static int
user_update(accounts *a, const char *name,
    void (*apply)(struct user_rec *, const void *), const void *ctx, abk_err *err)
{
	struct user_update up = { name, apply, ctx };

	if (a == NULL || !accounts_valid_username(name))
		return abk_err_set(err, ABK_E_NOTFOUND, "no user \"%s\"", name ? name : "");
	return accounts_txn_run(a, txn_user_update, &up, 1, err);
}

static void
apply_passwd(struct user_rec *r, const void *ctx)
{
	const struct user_rec *n = ctx;

	memcpy(r->salt, n->salt, n->salt_len);
	r->salt_len = n->salt_len;
	memcpy(r->hash, n->hash, sizeof(r->hash));
	r->u.iterations = n->u.iterations;
	r->u.failures = 0;
}

static void
apply_disabled(struct user_rec *r, const void *ctx)
{
	r->u.disabled = *(const int *)ctx != 0;
}

static void
apply_quota(struct user_rec *r, const void *ctx)
{
	r->u.quota = *(const uint64_t *)ctx;
}

static void
apply_append_only(struct user_rec *r, const void *ctx)
{
	r->u.append_only = *(const int *)ctx != 0;
}

static void
apply_failure(struct user_rec *r, const void *ctx)
{
	if (r->u.failures < UINT32_MAX)
		r->u.failures++;
	r->u.last_failure = *(const int64_t *)ctx;
}

static void
apply_success(struct user_rec *r, const void *ctx)
{
	r->u.failures = 0;
	r->u.last_login = *(const int64_t *)ctx;
}

int
accounts_user_passwd(accounts *a, const char *name, const char *password,
    size_t passlen, uint32_t iterations, abk_err *err)
{
	struct user_rec n;
	int rc;

	memset(&n, 0, sizeof(n));
	if (a == NULL || !accounts_valid_username(name))
		return abk_err_set(err, ABK_E_NOTFOUND, "no user \"%s\"", name ? name : "");
	if ((rc = hash_new_password(&n, password, passlen, iterations, err)) == ABK_OK)
		rc = user_update(a, name, apply_passwd, &n, err);
	memset(&n, 0, sizeof(n));
	return rc;
}

int
accounts_user_set_disabled(accounts *a, const char *name, int disabled, abk_err *err)
{
	return user_update(a, name, apply_disabled, &disabled, err);
}

int
accounts_user_set_quota(accounts *a, const char *name, uint64_t quota, abk_err *err)
{
	return user_update(a, name, apply_quota, &quota, err);
}

int
accounts_user_set_append_only(accounts *a, const char *name, int append_only,
    abk_err *err)
{
	return user_update(a, name, apply_append_only, &append_only, err);
}

int
accounts_record_failure(accounts *a, const char *name, abk_err *err)
{
	int64_t now = accounts_now();

	return user_update(a, name, apply_failure, &now, err);
}

int
accounts_record_success(accounts *a, const char *name, abk_err *err)
{
	int64_t now = accounts_now();

	return user_update(a, name, apply_success, &now, err);
}

struct user_get {
	const char *name;
	struct user_rec r;
};

static int
txn_user_get(accounts *a, DB_TXN *txn, void *arg, abk_err *err)
{
	struct user_get *g = arg;

	return accounts_user_read(a, txn, g->name, &g->r, 0, err);
}

int
accounts_user_get(accounts *a, const char *name, struct account_user *out,
    abk_err *err)
{
	struct user_get g;
	int rc;

	memset(&g, 0, sizeof(g));
	g.name = name;
	if (a == NULL || out == NULL || !accounts_valid_username(name))
		return abk_err_set(err, ABK_E_NOTFOUND, "no user \"%s\"", name ? name : "");
	if ((rc = accounts_txn_run(a, txn_user_get, &g, 0, err)) == ABK_OK)
		*out = g.r.u;
	memset(&g, 0, sizeof(g));
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
			rc = abk_err_set(err, ABK_E_DB, "accounts: corrupt record (too long)");
			goto out;
		}
		if (ret != 0) {
			rc = accounts_db_fail(err, ret, "list");
			goto out;
		}
		if (key.size == 0) {
			rc = abk_err_set(err, ABK_E_DB, "accounts: corrupt record (empty key)");
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

struct user_list {
	accounts_user_cb cb;
	void *cbctx;
	struct account_user batch[LIST_BATCH];
};

static int
take_user(struct list_pass *lp, const uint8_t *k, size_t klen, const uint8_t *v,
    size_t vlen, abk_err *err)
{
	struct user_list *ul = lp->ctx;
	struct user_rec r;
	int rc;

	if (klen > ACCOUNTS_NAME_MAX)
		return accounts_corrupt(err, "user");
	if ((rc = user_decode(v, vlen, (const char *)k, klen, &r, err)) == ABK_OK)
		ul->batch[lp->n++] = r.u;
	memset(&r, 0, sizeof(r));
	return rc;
}

static int
deliver_users(struct list_pass *lp)
{
	struct user_list *ul = lp->ctx;
	int rc;

	for (size_t i = 0; i < lp->n; i++)
		if ((rc = ul->cb(ul->cbctx, &ul->batch[i])) != 0)
			return rc;
	return 0;
}

int
accounts_user_list(accounts *a, accounts_user_cb cb, void *ctx, abk_err *err)
{
	struct user_list ul;
	struct list_pass lp;

	if (a == NULL || cb == NULL)
		return abk_err_set(err, ABK_E_USAGE, "accounts_user_list: no callback");
	memset(&lp, 0, sizeof(lp));
	ul.cb = cb;
	ul.cbctx = ctx;
	lp.take = take_user;
	lp.ctx = &ul;
	return accounts_list_run(a, &lp, deliver_users, err);
}

/* ---- password verification ---------------------------------------------- */

int
accounts_verify_password(accounts *a, const char *name, const char *password,
    size_t passlen, enum accounts_reason *reason, abk_err *err)
{
	uint8_t derived[ACCOUNTS_HASH_LEN];
	static const uint8_t zero_hash[ACCOUNTS_HASH_LEN];
	enum accounts_reason why;
	struct user_get g;
	int found = 0, match, rc;

	memset(&g, 0, sizeof(g));
	g.name = name;
	if (reason != NULL)
		*reason = ACCOUNTS_AUTH_NO_USER;
	if (a == NULL)
		return abk_err_set(err, ABK_E_USAGE, "accounts_verify_password: no handle");
	if (password == NULL)
		password = "";
	/* Longer passwords never match (refused at creation); bound the work. */
	if (passlen > ACCOUNTS_PASSWORD_MAX)
		passlen = ACCOUNTS_PASSWORD_MAX + 1;

	if (accounts_valid_username(name)) {
		abk_err local = ABK_ERR_INIT;

		rc = accounts_txn_run(a, txn_user_get, &g, 0, &local);
		if (rc == ABK_OK)
			found = 1;
		else if (rc != ABK_E_NOTFOUND)
			return abk_err_set(err, rc, "%s", local.msg);
	}
	/*
	 * Same work whatever happened: unknown names hash with the default
	 * cost against a hash nothing matches.
	 */
	if (found)
		rc = abk_pbkdf2_sha256(password, passlen, g.r.salt, g.r.salt_len,
		    g.r.u.iterations, derived, sizeof(derived), err);
	else
		rc = abk_pbkdf2_sha256(password, passlen, dummy_salt, sizeof(dummy_salt),
		    ACCOUNTS_DEFAULT_ITERATIONS, derived, sizeof(derived), err);
	if (rc != ABK_OK)
		goto out;
	match = abk_ct_equal(derived, found ? g.r.hash : zero_hash, sizeof(derived));
	if (!found)
		why = ACCOUNTS_AUTH_NO_USER;
	else if (!match || passlen > ACCOUNTS_PASSWORD_MAX ||
	    memchr(password, '\0', passlen) != NULL)
		why = ACCOUNTS_AUTH_BAD_PASSWORD;
	else if (g.r.u.disabled)
		why = ACCOUNTS_AUTH_DISABLED;
	else
		why = ACCOUNTS_AUTH_OK;
	if (reason != NULL)
		*reason = why;
	rc = why == ACCOUNTS_AUTH_OK ? ABK_OK :
	    abk_err_set(err, ABK_E_AUTH, AUTH_PASSWORD_MSG);
out:
	memset(derived, 0, sizeof(derived));
	memset(&g, 0, sizeof(g));
	return rc;
}
