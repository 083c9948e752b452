/*
 * session_account.c - a logged-in session follows its account (issue 8
 * item 8): the admin subcommands run in another process and share only the
 * account database, so the session re-reads its record between commands and
 * every SESSION_ACCOUNT_CHECK_MS while waiting or receiving.  A disabled or
 * deleted account (or one deleted and made again: another `created`), or a
 * revoked token, ends the session; a new quota or append-only flag applies
 * at once.  Quota: a push reserves the bytes it needs in the server-wide
 * table of bytes in flight (srv->quota_flight), so pushes running at the
 * same time cannot pass the quota together, and a quota lowered below what
 * is stored plus in flight stops the push as its data arrives.  Also the
 * session's share of file-list memory for the manifests it loads.
 */
#include "config.h"

#include <string.h>

#include "accounts.h"
#include "budget.h"
#include "log.h"
#include "session.h"
#include "strutil.h"
#include "storage.h"

#define SESSION_ACCOUNT_CHECK_MS 2000

struct token_find {
	const char *id;
	int found;
};

static int
token_find_cb(void *ctx, const struct account_token *t)
{
	struct token_find *tf = ctx;

	if (strcmp(t->id, tf->id) == 0) {
		tf->found = 1;
		return 1;
	}
	return 0;
}

void
session_account_logged_in(struct session *s, const struct account_user *rec,
    const char *token)
{
	s->acct_created = rec->created;
	s->acct_checked_ms = net_now_ms();
	s->token_id[0] = '\0';
	/* abk_<16 hex id>_<secret>: keep the id to see a revoke. */
	if (token != NULL && strncmp(token, "abk_", 4) == 0 &&
	    strlen(token) > 4 + ACCOUNTS_TOKEN_ID_LEN) {
		memcpy(s->token_id, token + 4, ACCOUNTS_TOKEN_ID_LEN);
		s->token_id[ACCOUNTS_TOKEN_ID_LEN] = '\0';
	}
}

/*
 * Stored + staged + in flight (all this user's pushes, this one's
 * reservation too).  Staged: bytes left in the staging areas of pushes that
 * were not published (issue 11: abandoned pushes to many sources must not
 * pass the quota together), of sources with no push running, plus
 * own_source's (NULL: none) when a push of it is being planned.
 */
static int
session_quota_over(struct session *s, const char *own_source, uint64_t extra,
    uint64_t *used, uint64_t *flight, abk_err *err)
{
	uint64_t staged = 0;
	int rc;

	*flight = budget_user_used(s->srv->quota_flight, s->user);
	rc = storage_usage(s->store, used, err);
	if (rc == ABK_OK)
		rc = storage_staged_bytes(s->store, own_source, &staged, err);
	if (rc != ABK_OK)
		return rc;
	*used = *used > UINT64_MAX - staged ? UINT64_MAX : *used + staged;
	return (*used > s->quota || *flight > s->quota - *used ||
	    extra > s->quota - *used - *flight) ? 1 : 0;
}

int
session_account_check(struct session *s, int force, abk_err *err)
{
	struct account_user rec;
	abk_err e = ABK_ERR_INIT;
	long long now = net_now_ms();
	const char *gone = NULL;
	int rc;

	if (!s->logged_in || (!force && now - s->acct_checked_ms < SESSION_ACCOUNT_CHECK_MS))
		return ABK_OK;
	s->acct_checked_ms = now;
	rc = accounts_user_get(s->srv->acc, s->user, &rec, &e);
	if (rc == ABK_E_NOTFOUND)
		gone = "deleted";
	else if (rc != ABK_OK) {
		/* The store failing is not the user's doing: keep serving. */
		log_event(LOG_LVL_ERROR, s->peer, s->user, "account", "cannot re-read: %s", e.msg);
		return ABK_OK;
	} else if (rec.created != s->acct_created)
		gone = "deleted";
	else if (rec.disabled)
		gone = "disabled";
	if (gone == NULL && s->token_id[0] != '\0') {
		struct token_find tf = { s->token_id, 0 };

		abk_err_clear(&e);
		if (accounts_token_list(s->srv->acc, s->user, token_find_cb, &tf, &e) < 0)
			log_event(LOG_LVL_ERROR, s->peer, s->user, "account",
			    "cannot re-read tokens: %s", e.msg);
		else if (!tf.found)
			gone = "token revoked";
	}
	if (gone != NULL) {
		s->acct_failed = 1;
		if (strcmp(gone, "token revoked") == 0)
			return abk_err_set(err, ABK_E_AUTH, "the token this session logged in "
			    "with was revoked: the session ends");
		return abk_err_set(err, ABK_E_AUTH, "your account was %s: the session ends",
		    gone);
	}
	s->quota = rec.quota;
	s->append_only = rec.append_only;
	if (s->quota > 0 && s->quota_reserved > 0) {
		uint64_t used = 0, flight = 0;

		abk_err_clear(&e);
		rc = session_quota_over(s, NULL, 0, &used, &flight, &e);
		if (rc == 1) {
			s->acct_failed = 1;
			char q[32], u[32], f[32];

			return abk_err_set(err, ABK_E_QUOTA, "quota exceeded: the quota is now %s, "
			    "and you store %s (staging included) with %s more on the way",
			    abk_format_size(s->quota, q, sizeof(q)), abk_format_size(used, u, sizeof(u)),
			    abk_format_size(flight, f, sizeof(f)));
		}
	}
	return ABK_OK;
}

int
session_quota_reserve(struct session *s, const char *source, uint64_t needed, abk_err *err)
{
	uint64_t used = 0, flight = 0;
	int rc;

	/* A push that adds nothing is never refused, even over the quota. */
	if (needed == 0)
		return ABK_OK;
	if (s->quota > 0) {
		rc = session_quota_over(s, source, needed, &used, &flight, err);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			char nd[32], fr[32], q[32], u[32], f[32];
			uint64_t taken = used + flight;

			return abk_err_set(err, ABK_E_QUOTA, "quota exceeded: the push needs %s "
			    "more; %s of %s free (%s stored, unfinished pushes included, and "
			    "other pushes running bring %s more)",
			    abk_format_size(needed, nd, sizeof(nd)),
			    abk_format_size(taken < s->quota ? s->quota - taken : 0, fr, sizeof(fr)),
			    abk_format_size(s->quota, q, sizeof(q)), abk_format_size(used, u, sizeof(u)),
			    abk_format_size(flight, f, sizeof(f)));
		}
	}
	rc = budget_add(s->srv->quota_flight, s->user, needed, err);
	if (rc == ABK_OK)
		s->quota_reserved += needed;
	return rc;
}

void
session_quota_release(struct session *s)
{
	if (s->quota_reserved > 0)
		budget_release(s->srv->quota_flight, s->user, s->quota_reserved);
	s->quota_reserved = 0;
}

int
session_list_mem_charge(struct session *s, const char *source, const char *id,
    uint64_t *charged, abk_err *err)
{
	uint64_t n = storage_snapshot_entries(s->store, source, id) *
	    BUDGET_LIST_BYTES_PER_ENTRY;
	int rc;

	*charged = 0;
	rc = budget_charge(s->srv->list_mem, s->user, n, err);
	if (rc == ABK_OK)
		*charged = n;
	return rc;
}

void
session_list_mem_release(struct session *s, uint64_t charged)
{
	budget_release(s->srv->list_mem, s->user, charged);
}
