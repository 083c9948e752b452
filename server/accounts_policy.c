/*
 * accounts_policy.c - retention policies set by the administrator, per user
 * and per source, in policies.db of the accounts environment (key "USER" or
 * "USER/SOURCE", value a versioned big-endian record).  Each change is one
 * transaction; deleting a user deletes its policies in the same transaction
 * (accounts.c).  The rules themselves are retention.h's; this file only
 * stores them.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts_int.h"

#define POLICY_REC_VERSION 1
#define POLICY_REC_LEN (1 + 4 * (RET_NCOUNTS + 4))

static void
policy_encode(const struct retention_policy *p, uint8_t *v)
{
	v[0] = POLICY_REC_VERSION;
	for (int i = 0; i < RET_NCOUNTS; i++)
		accounts_put_u32(v + 1 + 4 * i, p->keep[i]);
	accounts_put_u32(v + 1 + 4 * RET_NCOUNTS, p->within_years);
	accounts_put_u32(v + 5 + 4 * RET_NCOUNTS, p->within_months);
	accounts_put_u32(v + 9 + 4 * RET_NCOUNTS, p->within_days);
	accounts_put_u32(v + 13 + 4 * RET_NCOUNTS, p->within_hours);
}

static int
policy_decode(const uint8_t *v, size_t len, struct retention_policy *p, abk_err *err)
{
	if (len != POLICY_REC_LEN || v[0] != POLICY_REC_VERSION)
		return accounts_corrupt(err, "policy");
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < RET_NCOUNTS; i++)
		p->keep[i] = accounts_get_u32(v + 1 + 4 * i);
	p->within_years = accounts_get_u32(v + 1 + 4 * RET_NCOUNTS);
	p->within_months = accounts_get_u32(v + 5 + 4 * RET_NCOUNTS);
	p->within_days = accounts_get_u32(v + 9 + 4 * RET_NCOUNTS);
	p->within_hours = accounts_get_u32(v + 13 + 4 * RET_NCOUNTS);
	return ABK_OK;
}

struct policy_op {
	char key[ACCOUNTS_POLICY_KEY_MAX + 1];
	const char *user;
	struct retention_policy pol;
	int found;
};

static int
policy_key(struct policy_op *op, const char *user, const char *source, abk_err *err)
{
	size_t slen = source ? strlen(source) : 0;

	if (!accounts_valid_username(user)) {
		char shown[ACCOUNTS_SHOWN_NAME_BUFSZ];

		return abk_err_set(err, ABK_E_NOTFOUND, "no user \"%s\"",
		    accounts_shown_name(user, shown));
	}
	if (source != NULL && (slen == 0 || slen > ACCOUNTS_POLICY_KEY_MAX - ACCOUNTS_NAME_MAX - 1 ||
	    strchr(source, '/') != NULL))
		return abk_err_set(err, ABK_E_USAGE, "invalid source name");
	snprintf(op->key, sizeof(op->key), "%s%s%s", user, source ? "/" : "", source ? source : "");
	op->user = user;
	return ABK_OK;
}

static int
txn_policy_set(accounts *a, DB_TXN *txn, void *arg, abk_err *err)
{
	struct policy_op *op = arg;
	uint8_t v[POLICY_REC_LEN];
	struct user_rec u;
	DBT key, data;
	int ret, rc;

	/* The user's record stays read-locked until commit: no delete races us. */
	rc = accounts_user_read(a, txn, op->user, &u, 0, err);
	explicit_bzero(&u, sizeof(u));
	if (rc != ABK_OK)
		return rc;
	policy_encode(&op->pol, v);
	accounts_dbt_in(&key, op->key, strlen(op->key));
	accounts_dbt_in(&data, v, sizeof(v));
	if ((ret = a->a_policies->put(a->a_policies, txn, &key, &data, 0)) != 0)
		return accounts_db_fail(err, ret, "write policy");
	return ABK_OK;
}

static int
txn_policy_get(accounts *a, DB_TXN *txn, void *arg, abk_err *err)
{
	struct policy_op *op = arg;
	uint8_t v[POLICY_REC_LEN + 8];
	DBT key, data;
	int ret;

	op->found = 0;
	accounts_dbt_in(&key, op->key, strlen(op->key));
	accounts_dbt_out(&data, v, sizeof(v));
	ret = a->a_policies->get(a->a_policies, txn, &key, &data, 0);
	if (ret == DB_NOTFOUND)
		return ABK_OK;
	if (ret == DB_BUFFER_SMALL)
		return accounts_corrupt(err, "policy");
	if (ret != 0)
		return accounts_db_fail(err, ret, "read policy");
	op->found = 1;
	return policy_decode(v, data.size, &op->pol, err);
}

static int
txn_policy_del(accounts *a, DB_TXN *txn, void *arg, abk_err *err)
{
	struct policy_op *op = arg;
	DBT key;
	int ret;

	accounts_dbt_in(&key, op->key, strlen(op->key));
	ret = a->a_policies->del(a->a_policies, txn, &key, 0);
	if (ret == DB_NOTFOUND)
		return abk_err_set(err, ABK_E_NOTFOUND, "no policy set for %s", op->key);
	if (ret != 0)
		return accounts_db_fail(err, ret, "delete policy");
	return ABK_OK;
}

int
accounts_policy_set(accounts *a, const char *user, const char *source,
    const struct retention_policy *p, abk_err *err)
{
	struct policy_op op;
	int rc;

	if (a == NULL || p == NULL)
		return abk_err_set(err, ABK_E_USAGE, "accounts: no handle or policy");
	memset(&op, 0, sizeof(op));
	if ((rc = policy_key(&op, user, source, err)) != ABK_OK ||
	    (rc = retention_check(p, "a policy", err)) != ABK_OK)
		return rc;
	op.pol = *p;
	return accounts_txn_run(a, txn_policy_set, &op, 1, err);
}

int
accounts_policy_get(accounts *a, const char *user, const char *source,
    struct retention_policy *out, abk_err *err)
{
	struct policy_op op;
	int rc;

	if (a == NULL || out == NULL)
		return abk_err_set(err, ABK_E_USAGE, "accounts: no handle or output");
	memset(&op, 0, sizeof(op));
	if ((rc = policy_key(&op, user, source, err)) != ABK_OK ||
	    (rc = accounts_txn_run(a, txn_policy_get, &op, 0, err)) != ABK_OK)
		return rc;
	if (!op.found)
		return ABK_E_NOTFOUND;	/* no message: "not set" is not a failure */
	*out = op.pol;
	return ABK_OK;
}

int
accounts_policy_clear(accounts *a, const char *user, const char *source, abk_err *err)
{
	struct policy_op op;
	int rc;

	if (a == NULL)
		return abk_err_set(err, ABK_E_USAGE, "accounts: no handle");
	memset(&op, 0, sizeof(op));
	if ((rc = policy_key(&op, user, source, err)) != ABK_OK)
		return rc;
	return accounts_txn_run(a, txn_policy_del, &op, 1, err);
}

int
accounts_policy_resolve(accounts *a, const char *user, const char *source,
    const struct retention_policy *dflt, struct retention_policy *out, const char **from,
    abk_err *err)
{
	const char *f = "server default";
	int rc = ABK_E_NOTFOUND;

	if (source != NULL) {
		rc = accounts_policy_get(a, user, source, out, err);
		f = "source";
	}
	if (rc == ABK_E_NOTFOUND) {
		rc = accounts_policy_get(a, user, NULL, out, err);
		f = "user";
	}
	if (rc == ABK_E_NOTFOUND) {
		*out = *dflt;
		f = "server default";
		rc = ABK_OK;
	}
	if (from != NULL)
		*from = f;
	return rc;
}

/* Inside txn_user_del: every policy of user ("USER" and "USER/..."). */
int
accounts_policies_delete_of(accounts *a, DB_TXN *txn, const char *user, abk_err *err)
{
	char kbuf[ACCOUNTS_POLICY_KEY_MAX + 1];
	uint8_t vbuf[POLICY_REC_LEN + 8];
	size_t ulen = strlen(user);
	DBT key, data;
	DBC *c = NULL;
	int ret, rc = ABK_OK;
	u_int32_t how = DB_SET_RANGE;

	if ((ret = a->a_policies->cursor(a->a_policies, txn, &c, 0)) != 0)
		return accounts_db_fail(err, ret, "policy cursor");
	memcpy(kbuf, user, ulen);
	for (;;) {
		accounts_dbt_out(&key, kbuf, sizeof(kbuf));
		if (how == DB_SET_RANGE)
			key.size = (u_int32_t)ulen;
		accounts_dbt_out(&data, vbuf, sizeof(vbuf));
		ret = c->get(c, &key, &data, how | DB_RMW);
		how = DB_NEXT;
		if (ret == DB_NOTFOUND)
			break;
		if (ret != 0) {
			rc = ret == DB_BUFFER_SMALL ? accounts_corrupt(err, "policy") :
			    accounts_db_fail(err, ret, "scan policies");
			break;
		}
		if (key.size < ulen || memcmp(kbuf, user, ulen) != 0)
			break;	/* past every key starting with USER */
		if (key.size > ulen && kbuf[ulen] != '/')
			continue;	/* "USER-x", "USER.y": other users, sorted among ours */
		if ((ret = c->del(c, 0)) != 0) {
			rc = accounts_db_fail(err, ret, "delete policy");
			break;
		}
	}
	if ((ret = c->close(c)) != 0 && rc == ABK_OK)
		rc = accounts_db_fail(err, ret, "close policy cursor");
	return rc;
}
