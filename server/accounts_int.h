/*
 * accounts_int.h - private interface between the files of the accounts
 * module: accounts_env.c (environment, transactions, list walks), accounts.c
 * (users, passwords) and accounts_tokens.c (API tokens).  Nothing outside
 * them includes this file, so <db.h> stays inside the accounts module
 * (STYLE 4).
 */
#ifndef ABS_ACCOUNTS_INT_H
#define ABS_ACCOUNTS_INT_H

#include <db.h>

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "abkerr.h"
#include "accounts.h"

#define USER_SALT_MIN 16
#define USER_SALT_MAX 64
#define USER_REC_FIXED 44
#define USER_REC_MAX (USER_REC_FIXED + USER_SALT_MAX + ACCOUNTS_HASH_LEN)

#define TOKEN_REC_FIXED 52
#define TOKEN_REC_MAX (TOKEN_REC_FIXED + ACCOUNTS_NAME_MAX + ACCOUNTS_LABEL_MAX)

#define LIST_BATCH 32		/* records read per transaction of a list */
#define LIST_KEY_MAX (ACCOUNTS_NAME_MAX + 1)
#define LIST_VAL_MAX (USER_REC_MAX + TOKEN_REC_MAX)

/*
 * Private results of transaction bodies: lost a deadlock (run again), or
 * the environment panicked with DB_RUNRECOVERY (reopen, run again).
 */
#define ACCOUNTS_TXN_RETRY 1
#define ACCOUNTS_TXN_PANIC 2

/*
 * a_rw is held for reading by every transaction and for writing while a
 * panicked environment is reopened, which replaces a_env, a_users and
 * a_tokens: read those only inside a transaction body.
 */
struct accounts {
	pthread_rwlock_t a_rw;
	unsigned a_gen;			/* bumped by each reopen */
	char *a_dir;			/* the environment directory */
	DB_ENV *a_env;
	DB *a_users;			/* users.db: name -> user record */
	DB *a_tokens;			/* tokens.db: id -> token record */
	DB *a_policies;			/* policies.db: USER[/SOURCE] -> policy */
	pthread_mutex_t a_msg_lock;
	char a_msg[256];		/* last BDB diagnostic (errcall) */
	dev_t a_dev;			/* the environment directory */
	ino_t a_ino;
	pid_t a_pid;			/* process that opened it */
	struct accounts *a_next;	/* the process's list of open handles */
};

/* A decoded user record: the public part plus the secrets. */
struct user_rec {
	struct account_user u;
	uint8_t salt[USER_SALT_MAX];
	size_t salt_len;
	uint8_t hash[ACCOUNTS_HASH_LEN];
};

/*
 * One transaction of a list: from `from` (exclusive; the start if fromlen
 * is 0), read up to LIST_BATCH records, hand each to take (which decodes it
 * into its batch and bumps n, or skips it), and leave in next the key to
 * continue after.  done: the end was reached.
 */
struct list_pass {
	int tokens;			/* 0: users.db, 1: tokens.db */
	uint8_t from[LIST_KEY_MAX];
	size_t fromlen;
	uint8_t next[LIST_KEY_MAX];
	size_t nextlen;
	int (*take)(struct list_pass *lp, const uint8_t *k, size_t klen,
	    const uint8_t *v, size_t vlen, abk_err *err);
	void *ctx;
	size_t n;
	int done;
};

/* Big-endian fields of the stored records. */
static inline void
accounts_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
accounts_put_u64(uint8_t *p, uint64_t v)
{
	accounts_put_u32(p, (uint32_t)(v >> 32));
	accounts_put_u32(p + 4, (uint32_t)v);
}

static inline uint32_t
accounts_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
accounts_get_u64(const uint8_t *p)
{
	return (uint64_t)accounts_get_u32(p) << 32 | accounts_get_u32(p + 4);
}

typedef int (*accounts_txn_fn)(accounts *a, DB_TXN *txn, void *arg, abk_err *err);

/*
 * Run fn in a transaction, retried on deadlock, committed synchronously.
 * writes: a write transaction (may checkpoint afterwards).
 */
int accounts_txn_run(accounts *a, accounts_txn_fn fn, void *arg, int writes,
    abk_err *err);

/*
 * ACCOUNTS_TXN_RETRY for deadlocks, ACCOUNTS_TXN_PANIC for DB_RUNRECOVERY
 * (err filled), else ABK_E_DB with BDB's text.
 */
int accounts_db_fail(abk_err *err, int ret, const char *what);
/* ABK_E_DB "corrupt <what> record". */
int accounts_corrupt(abk_err *err, const char *what);

/* DBT for input data, and for output into a caller buffer (DB_DBT_USERMEM). */
void accounts_dbt_in(DBT *d, void *data, size_t len);
void accounts_dbt_out(DBT *d, void *buf, size_t cap);

int64_t accounts_now(void);

/*
 * A user name as it may appear in an error message: printable ASCII only
 * (others become '?'), at most ACCOUNTS_SHOWN_NAME_BUFSZ - 1 bytes.
 * Returns out.
 */
#define ACCOUNTS_SHOWN_NAME_BUFSZ 41
const char *accounts_shown_name(const char *name, char out[ACCOUNTS_SHOWN_NAME_BUFSZ]);

/* Read a (valid) user name into *r inside txn; flags 0 or DB_RMW. */
int accounts_user_read(accounts *a, DB_TXN *txn, const char *name,
    struct user_rec *r, u_int32_t flags, abk_err *err);

/* Run list passes until done; deliver(lp) after each, outside any txn. */
int accounts_list_run(accounts *a, struct list_pass *lp,
    int (*deliver)(struct list_pass *lp), abk_err *err);

/* Delete every policy of user inside txn (accounts_policy.c). */
int accounts_policies_delete_of(accounts *a, DB_TXN *txn, const char *user, abk_err *err);

/* Delete every token of user inside txn (accounts_tokens.c). */
int accounts_tokens_delete_of(accounts *a, DB_TXN *txn, const char *user,
    abk_err *err);

#endif
