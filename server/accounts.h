/*
 * accounts.h - the account store of autobackupd: users and API tokens in a
 * transactional BDB 5.3 environment (invariants 4 and 5, doc/ARCHITECTURE.md).
 * Its files (accounts.c, accounts_env.c, accounts_tokens.c) are the only ones
 * that include <db.h>.
 *
 * Storage.  One environment directory (DATA/db) holds users.db (key: user
 * name, value: a versioned big-endian user record) and tokens.db (key: token
 * id, value: a versioned token record).  Every change runs in a transaction
 * committed synchronously, so a crash loses no committed change; transactions
 * that lose a deadlock are retried up to ACCOUNTS_TXN_RETRIES times.  Log
 * files no longer needed are removed automatically (DB_LOG_AUTO_REMOVE), so
 * the directory stays small; that also means no catastrophic recovery from
 * old logs: back the directory up with db5.3_hotbackup or by copying it
 * while the server is stopped.
 *
 * Several processes at once.  The server and the admin subcommands
 * (`autobackupd user add ...`) open the same environment at the same time.
 * accounts_open uses DB_REGISTER with DB_RECOVER: Berkeley DB runs recovery
 * only when a process died with the environment open, never under the feet of
 * a live one.  Consequence of DB_REGISTER: a process may hold only ONE open
 * accounts handle per environment; a second accounts_open of the same
 * directory in the same process fails with ABK_E_DB: share the handle
 * between threads instead.  A process must not use (or close) a handle it
 * inherited through fork(); open accounts after daemonizing.  When another
 * process has to run recovery (a third one died holding the environment),
 * BDB invalidates the environment of every live process; the next call on
 * this handle notices, reopens the environment itself and carries on (a
 * call whose commit was cut short by that reports ABK_E_DB, as its outcome
 * is unknown).
 *
 * Secrets.  Passwords are hashed with PBKDF2-HMAC-SHA256, a random
 * ACCOUNTS_SALT_LEN-byte salt and a per-record iteration count; API tokens
 * are 32 random bytes of which only the SHA-256 is stored.  Verification
 * compares in constant time and gives the same answer (ABK_E_AUTH, same
 * message) at the same cost for unknown users, wrong passwords and disabled
 * accounts; why it failed is only told through an enum accounts_reason
 * out-parameter, for the log.  Nothing here logs or prints.
 *
 * Thread-safety: an accounts handle may be used by any number of threads at
 * once (DB_THREAD environment and databases; besides BDB's own locking, a
 * mutex guards a diagnostic buffer and a read/write lock keeps calls out
 * while a reopen replaces the environment).  accounts_open and accounts_close are not
 * concurrent with other calls on the same handle.  Callbacks of the *_list
 * functions run with no database lock held and may call other accounts
 * functions.
 *
 * Every function returns ABK_E_USAGE for a NULL handle or a missing
 * required pointer, besides the errors listed with it.
 */
#ifndef ABS_ACCOUNTS_H
#define ABS_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"
#include "retention.h"

#define ACCOUNTS_NAME_MAX 32		/* bytes in a user name */
#define ACCOUNTS_DEFAULT_ITERATIONS 600000u
#define ACCOUNTS_MIN_ITERATIONS 1000u
#define ACCOUNTS_MAX_ITERATIONS 100000000u
#define ACCOUNTS_SALT_LEN 16		/* salt bytes of new records */
#define ACCOUNTS_HASH_LEN 32		/* PBKDF2 output bytes */
#define ACCOUNTS_PASSWORD_MAX 1024	/* bytes; longer passwords are refused */
#define ACCOUNTS_LABEL_MAX 64		/* bytes in a token label */
#define ACCOUNTS_TOKENS_PER_USER_MAX 64
#define ACCOUNTS_TXN_RETRIES 16		/* attempts of one transaction on deadlock */

/*
 * A token string is "abk_<id>_<secret>": id is ACCOUNTS_TOKEN_ID_LEN
 * lower-case hex digits (8 random bytes), secret 64 lower-case hex digits
 * (32 random bytes).  Buffers: ACCOUNTS_TOKEN_BUFSZ and ACCOUNTS_TOKEN_ID_BUFSZ.
 */
#define ACCOUNTS_TOKEN_ID_LEN 16
#define ACCOUNTS_TOKEN_SECRET_LEN 64
#define ACCOUNTS_TOKEN_LEN (4 + ACCOUNTS_TOKEN_ID_LEN + 1 + ACCOUNTS_TOKEN_SECRET_LEN)
#define ACCOUNTS_TOKEN_BUFSZ (ACCOUNTS_TOKEN_LEN + 1)
#define ACCOUNTS_TOKEN_ID_BUFSZ (ACCOUNTS_TOKEN_ID_LEN + 1)

typedef struct accounts accounts;

/* What a user record tells the outside (never the salt or the hash). */
struct account_user {
	char name[ACCOUNTS_NAME_MAX + 1];
	uint32_t iterations;		/* PBKDF2 iterations of the stored hash */
	int64_t created;		/* Unix time */
	uint64_t quota;			/* bytes, 0 = no quota */
	int disabled;			/* 1: every login refused */
	int append_only;		/* 1: the user may not delete snapshots */
	uint32_t failures;		/* failed logins since the last success */
	int64_t last_failure;		/* Unix time, 0 = never */
	int64_t last_login;		/* Unix time of the last success, 0 = never */
};

/* What a token record tells the outside (never the secret or its hash). */
struct account_token {
	char id[ACCOUNTS_TOKEN_ID_BUFSZ];
	char user[ACCOUNTS_NAME_MAX + 1];
	char label[ACCOUNTS_LABEL_MAX + 1];
	int64_t created;		/* Unix time */
	int64_t last_used;		/* Unix time, 0 = never */
};

/* Why a verification failed; for the server's log only, never the peer. */
enum accounts_reason {
	ACCOUNTS_AUTH_OK = 0,
	ACCOUNTS_AUTH_NO_USER,		/* unknown or invalid user name */
	ACCOUNTS_AUTH_BAD_PASSWORD,
	ACCOUNTS_AUTH_DISABLED,		/* right credentials, account disabled */
	ACCOUNTS_AUTH_MALFORMED_TOKEN,	/* not abk_<16 hex>_<64 hex> */
	ACCOUNTS_AUTH_NO_TOKEN,		/* well-formed, unknown id (revoked?) */
	ACCOUNTS_AUTH_BAD_SECRET,	/* id known, secret wrong */
};

/* Short English text for a reason ("unknown user", ...); never NULL. */
const char *accounts_reason_str(enum accounts_reason r);

/*
 * 1 if name is a valid user name: 1..ACCOUNTS_NAME_MAX bytes of [a-z0-9._-],
 * not starting with '.' or '-'; else 0.  NULL gives 0.  Pure function.
 */
int accounts_valid_username(const char *name);

/*
 * Open (creating if needed) the environment in directory envdir (created
 * with mode 0700 if missing; its parent must exist) and its databases.  On
 * success *out is a handle to free with accounts_close.  Errors: ABK_E_USAGE
 * (bad arguments), ABK_E_IO (directory), ABK_E_DB (Berkeley DB, including a
 * second open of the same environment in one process), ABK_E_NOMEM.
 */
int accounts_open(const char *envdir, accounts **out, abk_err *err);

/* Checkpoint and close; NULL is ignored.  Returns ABK_OK or ABK_E_DB. */
int accounts_close(accounts *a, abk_err *err);

/*
 * Add a user.  password[0..passlen) is 1..ACCOUNTS_PASSWORD_MAX bytes, any
 * but NUL (HMAC zero-pads keys, so "pw" and "pw\0" would be equal).
 * iterations 0 means ACCOUNTS_DEFAULT_ITERATIONS, else it must lie in
 * [ACCOUNTS_MIN_ITERATIONS, ACCOUNTS_MAX_ITERATIONS].  quota in bytes
 * (0 = none).  Errors: ABK_E_USAGE (invalid name, password or iterations),
 * ABK_E_EXISTS, ABK_E_CRYPTO, ABK_E_DB.
 */
int accounts_user_add(accounts *a, const char *name, const char *password,
    size_t passlen, uint32_t iterations, uint64_t quota, int append_only,
    abk_err *err);

/*
 * Delete a user and, in the same transaction, every token of that user.
 * Errors: ABK_E_NOTFOUND (also for invalid names), ABK_E_DB.
 */
int accounts_user_del(accounts *a, const char *name, abk_err *err);

/*
 * Set a new password with a new salt (iterations as for accounts_user_add)
 * and reset the failure counter.  Errors: ABK_E_USAGE, ABK_E_NOTFOUND,
 * ABK_E_CRYPTO, ABK_E_DB.
 */
int accounts_user_passwd(accounts *a, const char *name, const char *password,
    size_t passlen, uint32_t iterations, abk_err *err);

/* Copy user `name` into *out.  Errors: ABK_E_NOTFOUND, ABK_E_DB. */
int accounts_user_get(accounts *a, const char *name, struct account_user *out,
    abk_err *err);

/* Change one field.  Errors: ABK_E_NOTFOUND, ABK_E_DB. */
int accounts_user_set_disabled(accounts *a, const char *name, int disabled,
    abk_err *err);
int accounts_user_set_quota(accounts *a, const char *name, uint64_t quota,
    abk_err *err);
int accounts_user_set_append_only(accounts *a, const char *name,
    int append_only, abk_err *err);

/*
 * Call cb for every user in name order.  cb returns 0 to go on; any other
 * value stops the walk and is returned by accounts_user_list.  The record
 * given to cb is only valid during the call.  Users added or deleted during
 * the walk may or may not be seen.  Errors: ABK_E_DB.
 */
typedef int (*accounts_user_cb)(void *ctx, const struct account_user *u);
int accounts_user_list(accounts *a, accounts_user_cb cb, void *ctx,
    abk_err *err);

/*
 * Check a password.  ABK_OK if name exists, is enabled and the password is
 * right; else ABK_E_AUTH with one fixed message whatever the cause, after the
 * same work: an unknown (or invalid) name runs PBKDF2 with
 * ACCOUNTS_DEFAULT_ITERATIONS against a dummy hash, and a disabled account is
 * checked in full before being refused.  *reason (may be NULL) tells the log
 * why.  Does not change the record: the caller reports the outcome with
 * accounts_record_failure / accounts_record_success.  A password with a NUL
 * byte or over ACCOUNTS_PASSWORD_MAX bytes is never right.  Other errors
 * (ABK_E_DB, ABK_E_CRYPTO) are failures of the store, not of the user.
 */
int accounts_verify_password(accounts *a, const char *name,
    const char *password, size_t passlen, enum accounts_reason *reason,
    abk_err *err);

/*
 * Count one failed login of name (failures + 1, last_failure = now) or one
 * success (failures = 0, last_login = now).  Errors: ABK_E_NOTFOUND (unknown
 * or invalid name: nothing to count), ABK_E_DB.
 */
int accounts_record_failure(accounts *a, const char *name, abk_err *err);
int accounts_record_success(accounts *a, const char *name, abk_err *err);

/*
 * Create an API token for user with an optional label (NULL or "" = none;
 * at most ACCOUNTS_LABEL_MAX bytes, no control characters).  The token
 * string, to be shown once, goes to token_out[tokensz >=
 * ACCOUNTS_TOKEN_BUFSZ]; its id to id_out[idsz >= ACCOUNTS_TOKEN_ID_BUFSZ]
 * (id_out may be NULL).  Only the SHA-256 of the secret is stored.
 * Errors: ABK_E_USAGE, ABK_E_NOTFOUND (no such user), ABK_E_LIMIT (user has
 * ACCOUNTS_TOKENS_PER_USER_MAX tokens), ABK_E_CRYPTO, ABK_E_DB.
 */
int accounts_token_add(accounts *a, const char *user, const char *label,
    char *token_out, size_t tokensz, char *id_out, size_t idsz, abk_err *err);

/*
 * Call cb for every token of user (all tokens if user is NULL), in id order;
 * same contract as accounts_user_list.  Errors: ABK_E_DB.
 */
typedef int (*accounts_token_cb)(void *ctx, const struct account_token *t);
int accounts_token_list(accounts *a, const char *user, accounts_token_cb cb,
    void *ctx, abk_err *err);

/* Delete token id.  Errors: ABK_E_USAGE (not an id), ABK_E_NOTFOUND, ABK_E_DB. */
int accounts_token_revoke(accounts *a, const char *id, abk_err *err);

/*
 * Check a token string.  ABK_OK if well formed, known, its secret matches
 * (SHA-256 compared in constant time) and its owner is enabled; the owner's
 * name then goes to user_out[usersz >= ACCOUNTS_NAME_MAX + 1] and the
 * token's last_used is set to now.  Else ABK_E_AUTH with one fixed message,
 * *reason (may be NULL) telling why.  Errors: ABK_E_USAGE (user_out too
 * small), ABK_E_DB, ABK_E_CRYPTO.
 */
int accounts_verify_token(accounts *a, const char *token, char *user_out,
    size_t usersz, enum accounts_reason *reason, abk_err *err);

/*
 * Retention policies (accounts_policy.c, policies.db): one per user (source
 * NULL) and one per user and source, set by the administrator.  The user
 * must exist; deleting the user deletes its policies.  A policy must keep
 * something (retention_check).  Errors: ABK_E_NOTFOUND (no such user; for
 * get and clear also "no policy set": get then fills no message),
 * ABK_E_USAGE, ABK_E_DB.
 */
#define ACCOUNTS_POLICY_KEY_MAX (ACCOUNTS_NAME_MAX + 1 + 255)
int accounts_policy_set(accounts *a, const char *user, const char *source,
    const struct retention_policy *p, abk_err *err);
int accounts_policy_get(accounts *a, const char *user, const char *source,
    struct retention_policy *out, abk_err *err);
int accounts_policy_clear(accounts *a, const char *user, const char *source, abk_err *err);

/*
 * The policy that applies to user's source (NULL: to the user): the
 * source's, else the user's, else *dflt.  *from (may be NULL) says which:
 * "source", "user" or "server default".
 */
int accounts_policy_resolve(accounts *a, const char *user, const char *source,
    const struct retention_policy *dflt, struct retention_policy *out, const char **from,
    abk_err *err);

#endif
