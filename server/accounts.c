/*
 * accounts.c - users of the account store: name rules, the user record,
 * adding, changing, listing and deleting users, password hashing and
 * constant-work password verification.  The environment and the transaction
 * loop are in accounts_env.c, API tokens in accounts_tokens.c; the three
 * files share accounts_int.h and are the only ones that include <db.h>.
 * See accounts.h for the contract.
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

#include <stdint.h>
#include <string.h>

#include "accounts.h"
#include "accounts_int.h"
#include "crypto.h"

#define USER_REC_VERSION 1
#define USER_FLAG_DISABLED 0x01u
#define USER_FLAG_APPEND_ONLY 0x02u
#define USER_FLAGS_KNOWN (USER_FLAG_DISABLED | USER_FLAG_APPEND_ONLY)

#define AUTH_PASSWORD_MSG "invalid user name or password"

/* Constant salt for the dummy PBKDF2 run of unknown users. */
static const uint8_t dummy_salt[USER_SALT_MIN] = {
	0x61, 0x62, 0x6b, 0x2d, 0x64, 0x75, 0x6d, 0x6d,
	0x79, 0x2d, 0x73, 0x61, 0x6c, 0x74, 0x2d, 0x31,
};

const char *
accounts_shown_name(const char *name, char out[ACCOUNTS_SHOWN_NAME_BUFSZ])
{
	size_t i;

	if (name == NULL)
		name = "";
	for (i = 0; i < ACCOUNTS_SHOWN_NAME_BUFSZ - 1 && name[i] != '\0'; i++)
		out[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
	out[i] = '\0';
	return out;
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
	char shown[ACCOUNTS_SHOWN_NAME_BUFSZ];
	struct user_rec r;
	int rc;

	memset(&r, 0, sizeof(r));
	if (a == NULL || !accounts_valid_username(name))
		return abk_err_set(err, ABK_E_USAGE, "invalid user name \"%s\" (1-%d "
		    "of a-z 0-9 . _ -, not starting with . or -)",
		    accounts_shown_name(name, shown), ACCOUNTS_NAME_MAX);
	if ((rc = hash_new_password(&r, password, passlen, iterations, err)) != ABK_OK)
		goto out;
	strcpy(r.u.name, name);
	r.u.created = accounts_now();
	r.u.quota = quota;
	r.u.append_only = append_only != 0;
	rc = accounts_txn_run(a, txn_user_add, &r, 1, err);
out:
	explicit_bzero(&r, sizeof(r));
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
	ret = accounts_policies_delete_of(a, txn, name, err);
	if (ret != ABK_OK)
		return ret;
	return accounts_tokens_delete_of(a, txn, name, err);
}

int
accounts_user_del(accounts *a, const char *name, abk_err *err)
{
	char shown[ACCOUNTS_SHOWN_NAME_BUFSZ];
	if (a == NULL)
		return abk_err_set(err, ABK_E_USAGE, "accounts: no handle or output");
	if (!accounts_valid_username(name))
		return abk_err_set(err, ABK_E_NOTFOUND, "no user \"%s\"",
		    accounts_shown_name(name, shown));
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
	explicit_bzero(&r, sizeof(r));
	return rc;
}

static int
user_update(accounts *a, const char *name,
    void (*apply)(struct user_rec *, const void *), const void *ctx, abk_err *err)
{
	char shown[ACCOUNTS_SHOWN_NAME_BUFSZ];
	struct user_update up = { name, apply, ctx };

	if (a == NULL)
		return abk_err_set(err, ABK_E_USAGE, "accounts: no handle or output");
	if (!accounts_valid_username(name))
		return abk_err_set(err, ABK_E_NOTFOUND, "no user \"%s\"",
		    accounts_shown_name(name, shown));
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
	char shown[ACCOUNTS_SHOWN_NAME_BUFSZ];
	struct user_rec n;
	int rc;

	memset(&n, 0, sizeof(n));
	if (a == NULL)
		return abk_err_set(err, ABK_E_USAGE, "accounts: no handle or output");
	if (!accounts_valid_username(name))
		return abk_err_set(err, ABK_E_NOTFOUND, "no user \"%s\"",
		    accounts_shown_name(name, shown));
	if ((rc = hash_new_password(&n, password, passlen, iterations, err)) == ABK_OK)
		rc = user_update(a, name, apply_passwd, &n, err);
	explicit_bzero(&n, sizeof(n));
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
	char shown[ACCOUNTS_SHOWN_NAME_BUFSZ];
	struct user_get g;
	int rc;

	memset(&g, 0, sizeof(g));
	g.name = name;
	if (a == NULL || out == NULL)
		return abk_err_set(err, ABK_E_USAGE, "accounts: no handle or output");
	if (!accounts_valid_username(name))
		return abk_err_set(err, ABK_E_NOTFOUND, "no user \"%s\"",
		    accounts_shown_name(name, shown));
	if ((rc = accounts_txn_run(a, txn_user_get, &g, 0, err)) == ABK_OK)
		*out = g.r.u;
	explicit_bzero(&g, sizeof(g));
	return rc;
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
	explicit_bzero(&r, sizeof(r));
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
	explicit_bzero(derived, sizeof(derived));
	explicit_bzero(&g, sizeof(g));
	return rc;
}
