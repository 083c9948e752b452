/*
 * accounts_tokens.c - API tokens of the account store (for `--batch`):
 * creation, listing, revocation and constant-time verification.  Part of the
 * accounts module (see accounts.h, accounts_int.h).
 *
 * A token string is "abk_<id>_<secret>": the id (8 random bytes, 16 hex
 * digits) is the database key, so the server finds the record without
 * scanning; the secret (32 random bytes, 64 hex digits) is never stored, only
 * its SHA-256, which is compared in constant time.  A secret of 256 random
 * bits needs no slow hash: there is nothing to brute-force.
 *
 * Token records (key: the id, no NUL), version 1, big-endian:
 *
 *   0  u8  version = 1      4  i64 created
 *   1  u8  user length U    12 i64 last used (0 = never)
 *   2  u8  label length L   20 SHA-256 of the secret [32]
 *   3  u8  0                52 user name [U], then label [L]
 *
 * Tokens of one user are found by a cursor scan of tokens.db: the table is
 * small (at most ACCOUNTS_TOKENS_PER_USER_MAX per user) and a scan needs no
 * secondary index that every process would have to keep associated.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "accounts_int.h"
#include "crypto.h"

#define TOKEN_REC_VERSION 1
#define TOKEN_ID_BYTES (ACCOUNTS_TOKEN_ID_LEN / 2)
#define TOKEN_SECRET_BYTES (ACCOUNTS_TOKEN_SECRET_LEN / 2)
#define TOKEN_PREFIX "abk_"
#define TOKEN_PREFIX_LEN 4
#define TOKEN_ID_ATTEMPTS 4	/* fresh ids to try if one is taken */
#define AUTH_TOKEN_MSG "invalid or revoked token"

_Static_assert(TOKEN_PREFIX_LEN + ACCOUNTS_TOKEN_ID_LEN + 1 + ACCOUNTS_TOKEN_SECRET_LEN ==
    ACCOUNTS_TOKEN_LEN, "token layout");

struct token_rec {
	struct account_token t;
	uint8_t hash[ABK_SHA256_LEN];
};

static int
valid_label(const char *label)
{
	size_t n = strnlen(label, ACCOUNTS_LABEL_MAX + 1);

	if (n > ACCOUNTS_LABEL_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)label[i];

		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

/* len lower-case hex digits? */
static int
lower_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
valid_token_id(const char *id, size_t len)
{
	return len == ACCOUNTS_TOKEN_ID_LEN && lower_hex(id, len);
}

static size_t
token_encode(const struct token_rec *r, uint8_t buf[TOKEN_REC_MAX])
{
	size_t ulen = strlen(r->t.user), llen = strlen(r->t.label);

	buf[0] = TOKEN_REC_VERSION;
	buf[1] = (uint8_t)ulen;
	buf[2] = (uint8_t)llen;
	buf[3] = 0;
	accounts_put_u64(buf + 4, (uint64_t)r->t.created);
	accounts_put_u64(buf + 12, (uint64_t)r->t.last_used);
	memcpy(buf + 20, r->hash, ABK_SHA256_LEN);
	memcpy(buf + TOKEN_REC_FIXED, r->t.user, ulen);
	memcpy(buf + TOKEN_REC_FIXED + ulen, r->t.label, llen);
	return TOKEN_REC_FIXED + ulen + llen;
}

/* Decode a token record whose key (the id) is id[0..idlen). */
static int
token_decode(const uint8_t *buf, size_t len, const char *id, size_t idlen,
    struct token_rec *r, abk_err *err)
{
	memset(r, 0, sizeof(*r));
	if (len < TOKEN_REC_FIXED || buf[0] != TOKEN_REC_VERSION || buf[3] != 0 ||
	    buf[1] == 0 || buf[1] > ACCOUNTS_NAME_MAX || buf[2] > ACCOUNTS_LABEL_MAX ||
	    len != TOKEN_REC_FIXED + (size_t)buf[1] + buf[2] || !valid_token_id(id, idlen))
		return accounts_corrupt(err, "token");
	memcpy(r->t.id, id, idlen);
	r->t.id[idlen] = '\0';
	r->t.created = (int64_t)accounts_get_u64(buf + 4);
	r->t.last_used = (int64_t)accounts_get_u64(buf + 12);
	memcpy(r->hash, buf + 20, ABK_SHA256_LEN);
	memcpy(r->t.user, buf + TOKEN_REC_FIXED, buf[1]);
	r->t.user[buf[1]] = '\0';
	memcpy(r->t.label, buf + TOKEN_REC_FIXED + buf[1], buf[2]);
	r->t.label[buf[2]] = '\0';
	if (!accounts_valid_username(r->t.user) || !valid_label(r->t.label))
		return accounts_corrupt(err, "token");
	return ABK_OK;
}

/* Read token id (valid) inside txn; flags 0 or DB_RMW. */
static int
token_read(accounts *a, DB_TXN *txn, const char *id, struct token_rec *r,
    u_int32_t flags, abk_err *err)
{
	char kbuf[ACCOUNTS_TOKEN_ID_BUFSZ];
	uint8_t vbuf[TOKEN_REC_MAX];
	DBT key, data;
	int ret;

	memcpy(kbuf, id, ACCOUNTS_TOKEN_ID_BUFSZ);
	accounts_dbt_in(&key, kbuf, ACCOUNTS_TOKEN_ID_LEN);
	accounts_dbt_out(&data, vbuf, sizeof(vbuf));
	ret = a->a_tokens->get(a->a_tokens, txn, &key, &data, flags);
	if (ret == DB_NOTFOUND)
		return abk_err_set(err, ABK_E_NOTFOUND, "no token %s", id);
	if (ret == DB_BUFFER_SMALL)
		return accounts_corrupt(err, "token");
	if (ret != 0)
		return accounts_db_fail(err, ret, "read token");
	return token_decode(vbuf, data.size, id, ACCOUNTS_TOKEN_ID_LEN, r, err);
}

/* Write *r; flags DB_NOOVERWRITE (ABK_E_EXISTS if the id is taken) or 0. */
static int
token_write(accounts *a, DB_TXN *txn, const struct token_rec *r, u_int32_t flags,
    abk_err *err)
{
	char kbuf[ACCOUNTS_TOKEN_ID_BUFSZ];
	uint8_t vbuf[TOKEN_REC_MAX];
	DBT key, data;
	int ret;

	memcpy(kbuf, r->t.id, ACCOUNTS_TOKEN_ID_BUFSZ);
	accounts_dbt_in(&key, kbuf, ACCOUNTS_TOKEN_ID_LEN);
	accounts_dbt_in(&data, vbuf, token_encode(r, vbuf));
	ret = a->a_tokens->put(a->a_tokens, txn, &key, &data, flags);
	if (ret == DB_KEYEXIST)
		return abk_err_set(err, ABK_E_EXISTS, "token id %s taken", r->t.id);
	if (ret != 0)
		return accounts_db_fail(err, ret, "write token");
	return ABK_OK;
}

/*
 * Walk every token inside txn, calling each(c, record, ctx) with the cursor
 * on it.  write: take write locks as we go (DB_RMW), for walks that delete.
 */
static int
tokens_walk(accounts *a, DB_TXN *txn, int write,
    int (*each)(DBC *c, const struct token_rec *r, void *ctx, abk_err *err),
    void *ctx, abk_err *err)
{
	char kbuf[ACCOUNTS_TOKEN_ID_BUFSZ];
	uint8_t vbuf[TOKEN_REC_MAX];
	struct token_rec r;
	DBC *c = NULL;
	DBT key, data;
	int ret, rc = ABK_OK;

	if ((ret = a->a_tokens->cursor(a->a_tokens, txn, &c, 0)) != 0)
		return accounts_db_fail(err, ret, "token cursor");
	for (;;) {
		accounts_dbt_out(&key, kbuf, sizeof(kbuf));
		accounts_dbt_out(&data, vbuf, sizeof(vbuf));
		ret = c->get(c, &key, &data, DB_NEXT | (write ? DB_RMW : 0));
		if (ret == DB_NOTFOUND)
			break;
		if (ret == DB_BUFFER_SMALL) {
			rc = accounts_corrupt(err, "token");
			goto out;
		}
		if (ret != 0) {
			rc = accounts_db_fail(err, ret, "scan tokens");
			goto out;
		}
		rc = token_decode(vbuf, data.size, kbuf, key.size, &r, err);
		if (rc != ABK_OK || (rc = each(c, &r, ctx, err)) != ABK_OK)
			goto out;
	}
out:
	if ((ret = c->close(c)) != 0 && rc == ABK_OK)
		rc = accounts_db_fail(err, ret, "close token cursor");
	return rc;
}

static int
each_delete_of(DBC *c, const struct token_rec *r, void *ctx, abk_err *err)
{
	int ret;

	if (strcmp(r->t.user, ctx) != 0)
		return ABK_OK;
	if ((ret = c->del(c, 0)) != 0)
		return accounts_db_fail(err, ret, "delete token");
	return ABK_OK;
}

int
accounts_tokens_delete_of(accounts *a, DB_TXN *txn, const char *user, abk_err *err)
{
	return tokens_walk(a, txn, 1, each_delete_of, (void *)(uintptr_t)user, err);
}

struct count_of {
	const char *user;
	unsigned n;
};

static int
each_count_of(DBC *c, const struct token_rec *r, void *ctx, abk_err *err)
{
	struct count_of *co = ctx;

	(void)c;
	(void)err;
	if (strcmp(r->t.user, co->user) == 0)
		co->n++;
	return ABK_OK;
}

static int
txn_token_add(accounts *a, DB_TXN *txn, void *arg, abk_err *err)
{
	struct token_rec *r = arg;
	struct count_of co = { r->t.user, 0 };
	struct user_rec u;
	int rc;

	/* The owner's record stays read-locked until commit: no delete races us. */
	rc = accounts_user_read(a, txn, r->t.user, &u, 0, err);
	explicit_bzero(&u, sizeof(u));
	if (rc != ABK_OK)
		return rc;
	if ((rc = tokens_walk(a, txn, 0, each_count_of, &co, err)) != ABK_OK)
		return rc;
	if (co.n >= ACCOUNTS_TOKENS_PER_USER_MAX)
		return abk_err_set(err, ABK_E_LIMIT, "user \"%s\" already has %u tokens "
		    "(the most allowed); revoke one first", r->t.user, co.n);
	return token_write(a, txn, r, DB_NOOVERWRITE, err);
}

int
accounts_token_add(accounts *a, const char *user, const char *label,
    char *token_out, size_t tokensz, char *id_out, size_t idsz, abk_err *err)
{
	char shown[ACCOUNTS_SHOWN_NAME_BUFSZ];
	uint8_t id[TOKEN_ID_BYTES], secret[TOKEN_SECRET_BYTES];
	char secret_hex[ACCOUNTS_TOKEN_SECRET_LEN + 1];
	struct token_rec r;
	int rc = ABK_E_INTERNAL;

	memset(&r, 0, sizeof(r));
	if (a == NULL || token_out == NULL || tokensz < ACCOUNTS_TOKEN_BUFSZ ||
	    (id_out != NULL && idsz < ACCOUNTS_TOKEN_ID_BUFSZ))
		return abk_err_set(err, ABK_E_USAGE, "accounts_token_add: output buffer "
		    "too small");
	if (label == NULL)
		label = "";
	if (!valid_label(label))
		return abk_err_set(err, ABK_E_USAGE, "token label must be at most %d "
		    "bytes without control characters", ACCOUNTS_LABEL_MAX);
	if (!accounts_valid_username(user))
		return abk_err_set(err, ABK_E_NOTFOUND, "no user \"%s\"",
		    accounts_shown_name(user, shown));
	strcpy(r.t.user, user);
	strcpy(r.t.label, label);
	r.t.created = accounts_now();
	if ((rc = abk_random_bytes(secret, sizeof(secret), err)) != ABK_OK ||
	    (rc = abk_sha256(secret, sizeof(secret), r.hash)) != ABK_OK) {
		rc = abk_err_set(err, rc, "token: cannot make a secret");
		goto out;
	}
	for (int attempt = 0; attempt < TOKEN_ID_ATTEMPTS; attempt++) {
		abk_err local = ABK_ERR_INIT;

		if ((rc = abk_random_bytes(id, sizeof(id), err)) != ABK_OK)
			goto out;
		abk_hex(id, sizeof(id), r.t.id);
		rc = accounts_txn_run(a, txn_token_add, &r, 1, &local);
		if (rc == ABK_E_EXISTS)		/* 2^-64 per token: try another id */
			continue;
		if (rc != ABK_OK) {
			abk_err_set(err, rc, "%s", local.msg);
			goto out;
		}
		break;
	}
	if (rc != ABK_OK) {
		rc = abk_err_set(err, ABK_E_INTERNAL, "token: no free id after %d tries",
		    TOKEN_ID_ATTEMPTS);
		goto out;
	}
	abk_hex(secret, sizeof(secret), secret_hex);
	snprintf(token_out, tokensz, TOKEN_PREFIX "%s_%s", r.t.id, secret_hex);
	if (id_out != NULL)
		snprintf(id_out, idsz, "%s", r.t.id);
out:
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(secret_hex, sizeof(secret_hex));
	explicit_bzero(&r, sizeof(r));
	return rc;
}

/* ---- listing ------------------------------------------------------------- */

struct token_list {
	const char *user;		/* NULL: every token */
	accounts_token_cb cb;
	void *cbctx;
	struct account_token batch[LIST_BATCH];
};

static int
take_token(struct list_pass *lp, const uint8_t *k, size_t klen, const uint8_t *v,
    size_t vlen, abk_err *err)
{
	struct token_list *tl = lp->ctx;
	struct token_rec r;
	int rc;

	if ((rc = token_decode(v, vlen, (const char *)k, klen, &r, err)) != ABK_OK)
		return rc;
	if (tl->user == NULL || strcmp(tl->user, r.t.user) == 0)
		tl->batch[lp->n++] = r.t;
	return ABK_OK;
}

static int
deliver_tokens(struct list_pass *lp)
{
	struct token_list *tl = lp->ctx;
	int rc;

	for (size_t i = 0; i < lp->n; i++)
		if ((rc = tl->cb(tl->cbctx, &tl->batch[i])) != 0)
			return rc;
	return 0;
}

int
accounts_token_list(accounts *a, const char *user, accounts_token_cb cb, void *ctx,
    abk_err *err)
{
	struct token_list tl;
	struct list_pass lp;

	if (a == NULL || cb == NULL)
		return abk_err_set(err, ABK_E_USAGE, "accounts_token_list: no callback");
	memset(&lp, 0, sizeof(lp));
	tl.user = user;
	tl.cb = cb;
	tl.cbctx = ctx;
	lp.tokens = 1;
	lp.take = take_token;
	lp.ctx = &tl;
	return accounts_list_run(a, &lp, deliver_tokens, err);
}

/* ---- revoke and verify --------------------------------------------------- */

static int
txn_token_revoke(accounts *a, DB_TXN *txn, void *arg, abk_err *err)
{
	char kbuf[ACCOUNTS_TOKEN_ID_BUFSZ];
	DBT key;
	int ret;

	memcpy(kbuf, arg, ACCOUNTS_TOKEN_ID_BUFSZ);
	accounts_dbt_in(&key, kbuf, ACCOUNTS_TOKEN_ID_LEN);
	ret = a->a_tokens->del(a->a_tokens, txn, &key, 0);
	if (ret == DB_NOTFOUND)
		return abk_err_set(err, ABK_E_NOTFOUND, "no token %s", kbuf);
	if (ret != 0)
		return accounts_db_fail(err, ret, "delete token");
	return ABK_OK;
}

int
accounts_token_revoke(accounts *a, const char *id, abk_err *err)
{
	char idbuf[ACCOUNTS_TOKEN_ID_BUFSZ];

	if (a == NULL || id == NULL ||
	    !valid_token_id(id, strnlen(id, ACCOUNTS_TOKEN_ID_BUFSZ)))
		return abk_err_set(err, ABK_E_USAGE, "not a token id (%d lower-case hex "
		    "digits): \"%.40s\"", ACCOUNTS_TOKEN_ID_LEN, id ? id : "");
	memcpy(idbuf, id, ACCOUNTS_TOKEN_ID_BUFSZ);
	return accounts_txn_run(a, txn_token_revoke, idbuf, 1, err);
}

/* Split "abk_<id>_<secret>" into id and secret bytes; 0 if malformed. */
static int
token_parse(const char *token, char id[ACCOUNTS_TOKEN_ID_BUFSZ],
    uint8_t secret[TOKEN_SECRET_BYTES])
{
	const char *p = token, *s;

	if (p == NULL || strnlen(p, ACCOUNTS_TOKEN_BUFSZ) != ACCOUNTS_TOKEN_LEN ||
	    memcmp(p, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0 ||
	    p[TOKEN_PREFIX_LEN + ACCOUNTS_TOKEN_ID_LEN] != '_')
		return 0;
	s = p + TOKEN_PREFIX_LEN + ACCOUNTS_TOKEN_ID_LEN + 1;
	if (!lower_hex(p + TOKEN_PREFIX_LEN, ACCOUNTS_TOKEN_ID_LEN) ||
	    !lower_hex(s, ACCOUNTS_TOKEN_SECRET_LEN))
		return 0;
	memcpy(id, p + TOKEN_PREFIX_LEN, ACCOUNTS_TOKEN_ID_LEN);
	id[ACCOUNTS_TOKEN_ID_LEN] = '\0';
	return abk_unhex(s, secret, TOKEN_SECRET_BYTES) == ABK_OK;
}

struct token_verify {
	char id[ACCOUNTS_TOKEN_ID_BUFSZ];
	uint8_t hash[ABK_SHA256_LEN];		/* SHA-256 of the presented secret */
	enum accounts_reason why;
	char user[ACCOUNTS_NAME_MAX + 1];
};

static int
txn_token_verify(accounts *a, DB_TXN *txn, void *arg, abk_err *err)
{
	static const uint8_t no_hash[ABK_SHA256_LEN];
	struct token_verify *v = arg;
	struct token_rec r;
	struct user_rec u;
	int found, match, rc;

	/* DB_RMW: the record is rewritten below (last used). */
	rc = token_read(a, txn, v->id, &r, DB_RMW, err);
	if (rc != ABK_OK && rc != ABK_E_NOTFOUND)
		return rc;
	found = rc == ABK_OK;
	/* Compare even for unknown ids, so both paths do the same work. */
	match = abk_ct_equal(v->hash, found ? r.hash : no_hash, ABK_SHA256_LEN);
	if (!found) {
		v->why = ACCOUNTS_AUTH_NO_TOKEN;
		return ABK_OK;
	}
	if (!match) {
		v->why = ACCOUNTS_AUTH_BAD_SECRET;
		return ABK_OK;
	}
	rc = accounts_user_read(a, txn, r.t.user, &u, 0, err);
	if (rc == ABK_E_NOTFOUND) {
		v->why = ACCOUNTS_AUTH_NO_USER;
		return ABK_OK;
	}
	if (rc != ABK_OK)
		return rc;
	if (u.u.disabled) {
		v->why = ACCOUNTS_AUTH_DISABLED;
		explicit_bzero(&u, sizeof(u));
		return ABK_OK;
	}
	explicit_bzero(&u, sizeof(u));
	r.t.last_used = accounts_now();
	if ((rc = token_write(a, txn, &r, 0, err)) != ABK_OK)
		return rc;
	snprintf(v->user, sizeof(v->user), "%s", r.t.user);
	v->why = ACCOUNTS_AUTH_OK;
	return ABK_OK;
}

int
accounts_verify_token(accounts *a, const char *token, char *user_out, size_t usersz,
    enum accounts_reason *reason, abk_err *err)
{
	uint8_t secret[TOKEN_SECRET_BYTES];
	struct token_verify v;
	int rc;

	memset(&v, 0, sizeof(v));
	if (reason != NULL)
		*reason = ACCOUNTS_AUTH_MALFORMED_TOKEN;
	if (a == NULL || user_out == NULL || usersz < ACCOUNTS_NAME_MAX + 1)
		return abk_err_set(err, ABK_E_USAGE, "accounts_verify_token: user buffer "
		    "too small");
	user_out[0] = '\0';
	if (!token_parse(token, v.id, secret)) {
		rc = abk_err_set(err, ABK_E_AUTH, AUTH_TOKEN_MSG);
		goto out;
	}
	if ((rc = abk_sha256(secret, sizeof(secret), v.hash)) != ABK_OK) {
		rc = abk_err_set(err, rc, "token: SHA-256 failed");
		goto out;
	}
	if ((rc = accounts_txn_run(a, txn_token_verify, &v, 1, err)) != ABK_OK)
		goto out;
	if (reason != NULL)
		*reason = v.why;
	if (v.why != ACCOUNTS_AUTH_OK) {
		rc = abk_err_set(err, ABK_E_AUTH, AUTH_TOKEN_MSG);
		goto out;
	}
	snprintf(user_out, usersz, "%s", v.user);
out:
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(&v, sizeof(v));
	return rc;
}
