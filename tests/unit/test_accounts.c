/*
 * test_accounts.c - the account store against a real Berkeley DB environment
 * in a temporary directory: user and token life cycles, hostile names and
 * tokens, authentication failures that must all look alike, persistence
 * across reopen, two processes sharing the environment, recovery after a
 * process dies holding it, and concurrent threads on one handle.
 *
 * Iteration counts are ACCOUNTS_MIN_ITERATIONS except in the one test of the
 * default, so the file stays fast under the sanitizers.
 *
 * The test includes <db.h> itself for one purpose: planting corrupt records
 * through a transaction of its own, to check the store refuses them cleanly.
 */
#include "config.h"

#include <check.h>
#include <db.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"

/*
 * LeakSanitizer hook: Berkeley DB does not free everything when it closes an
 * environment that panicked (test_recovery_under_live_handle does that on
 * purpose).  Only libdb's own allocations are excused.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libdb-5.3.so\n";
}

#define IT ACCOUNTS_MIN_ITERATIONS
#define PW(s) (s), strlen(s)

static char base_dir[4096];
static char env_dir[sizeof(base_dir) + 32];
static int env_seq;

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Unchecked fixture (test runner process): one base directory for all. */
static void
base_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(base_dir, sizeof(base_dir), "%s/abk-test-accounts-XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(base_dir));
}

static void
base_teardown(void)
{
	nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh environment directory name under base_dir (not yet created). */
static const char *
fresh_env(void)
{
	snprintf(env_dir, sizeof(env_dir), "%s/db%d-%ld", base_dir, env_seq++,
	    (long)getpid());
	return env_dir;
}

static accounts *
open_ok(const char *dir)
{
	abk_err err = ABK_ERR_INIT;
	accounts *a = NULL;
	int rc = accounts_open(dir, &a, &err);

	ck_assert_msg(rc == ABK_OK, "accounts_open(%s): %d %s", dir, rc, err.msg);
	ck_assert_ptr_nonnull(a);
	return a;
}

static void
close_ok(accounts *a)
{
	abk_err err = ABK_ERR_INIT;

	ck_assert_msg(accounts_close(a, &err) == ABK_OK, "close: %s", err.msg);
}

static void
add_ok(accounts *a, const char *name, const char *pw)
{
	abk_err err = ABK_ERR_INIT;
	int rc = accounts_user_add(a, name, PW(pw), IT, 0, 0, &err);

	ck_assert_msg(rc == ABK_OK, "add %s: %d %s", name, rc, err.msg);
}

static int
verify(accounts *a, const char *name, const char *pw, enum accounts_reason *why,
    abk_err *err)
{
	abk_err_clear(err);
	return accounts_verify_password(a, name, pw, pw ? strlen(pw) : 0, why, err);
}

/* ---- retention policies (accounts_policy.c) -------------------------------- */

/* Set, get, resolve (source > user > default), clear, and deletion with the
 * user only: "al" must not take "al-x" or "al.y"'s policies along. */
START_TEST(test_policies)
{
	accounts *a = open_ok(fresh_env());
	struct retention_policy p, got, dflt;
	abk_err err = ABK_ERR_INIT;
	const char *from = NULL;

	add_ok(a, "al", "password al");
	add_ok(a, "al-x", "password al-x");
	add_ok(a, "al.y", "password al.y");
	retention_policy_default(&dflt);
	memset(&p, 0, sizeof(p));
	p.keep[RET_DAILY] = 9;
	p.within_months = 2;
	ck_assert_int_eq(accounts_policy_get(a, "al", NULL, &got, &err), ABK_E_NOTFOUND);
	ck_assert_int_eq(accounts_policy_set(a, "al", NULL, &p, &err), ABK_OK);
	ck_assert_int_eq(accounts_policy_get(a, "al", NULL, &got, &err), ABK_OK);
	ck_assert_int_eq(memcmp(&got, &p, sizeof(p)), 0);
	p.keep[RET_LAST] = 1;
	ck_assert_int_eq(accounts_policy_set(a, "al", "docs", &p, &err), ABK_OK);
	ck_assert_int_eq(accounts_policy_set(a, "al-x", "docs", &p, &err), ABK_OK);
	ck_assert_int_eq(accounts_policy_set(a, "al.y", NULL, &p, &err), ABK_OK);
	ck_assert_int_eq(accounts_policy_resolve(a, "al", "docs", &dflt, &got, &from, &err),
	    ABK_OK);
	ck_assert_str_eq(from, "source");
	ck_assert_uint_eq(got.keep[RET_LAST], 1);
	ck_assert_int_eq(accounts_policy_resolve(a, "al", "other", &dflt, &got, &from, &err),
	    ABK_OK);
	ck_assert_str_eq(from, "user");
	ck_assert_uint_eq(got.keep[RET_LAST], 0);
	ck_assert_int_eq(accounts_policy_resolve(a, "al-x", "other", &dflt, &got, &from, &err),
	    ABK_OK);
	ck_assert_str_eq(from, "server default");
	/* Refusals: an unknown user, a policy keeping nothing. */
	ck_assert_int_eq(accounts_policy_set(a, "nobody", NULL, &p, &err), ABK_E_NOTFOUND);
	abk_err_clear(&err);
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(accounts_policy_set(a, "al", NULL, &p, &err), ABK_E_USAGE);
	abk_err_clear(&err);
	/* Deleting al takes its two policies, and no one else's. */
	ck_assert_int_eq(accounts_user_del(a, "al", &err), ABK_OK);
	add_ok(a, "al", "password al");
	ck_assert_int_eq(accounts_policy_get(a, "al", NULL, &got, &err), ABK_E_NOTFOUND);
	ck_assert_int_eq(accounts_policy_get(a, "al", "docs", &got, &err), ABK_E_NOTFOUND);
	ck_assert_int_eq(accounts_policy_get(a, "al-x", "docs", &got, &err), ABK_OK);
	ck_assert_int_eq(accounts_policy_get(a, "al.y", NULL, &got, &err), ABK_OK);
	ck_assert_int_eq(accounts_policy_clear(a, "al.y", NULL, &err), ABK_OK);
	ck_assert_int_eq(accounts_policy_clear(a, "al.y", NULL, &err), ABK_E_NOTFOUND);
	close_ok(a);
}
END_TEST

/* ---- user names ----------------------------------------------------------- */

static const struct {
	const char *name;
	int valid;
} name_cases[] = {
	{ "alice", 1 },
	{ "a", 1 },
	{ "0", 1 },
	{ "bob.smith", 1 },
	{ "under_score", 1 },
	{ "dash-in", 1 },
	{ "trailing.", 1 },
	{ "a..b", 1 },
	{ "12345678901234567890123456789012", 1 },		/* 32 bytes */
	{ "", 0 },
	{ "Alice", 0 },
	{ "ALICE", 0 },
	{ ".hidden", 0 },
	{ ".", 0 },
	{ "..", 0 },
	{ "-rf", 0 },
	{ "x123456789012345678901234567890123", 0 },		/* 33 bytes */
	{ "a/b", 0 },
	{ "../etc", 0 },
	{ "with space", 0 },
	{ " lead", 0 },
	{ "tab\tname", 0 },
	{ "new\nline", 0 },
	{ "caf\xc3\xa9", 0 },					/* UTF-8 */
	{ "\xe6\x97\xa5\xe6\x9c\xac", 0 },
	{ "semi;colon", 0 },
	{ "back\\slash", 0 },
	{ "at@host", 0 },
	{ "plus+", 0 },
};

START_TEST(test_username_rules)
{
	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++)
		ck_assert_msg(accounts_valid_username(name_cases[i].name) ==
		    name_cases[i].valid, "case %zu \"%s\": want %d", i,
		    name_cases[i].name, name_cases[i].valid);
}
END_TEST

START_TEST(test_username_null)
{
	ck_assert_int_eq(accounts_valid_username(NULL), 0);
}
END_TEST

/* Invalid names are refused by user_add, whatever they are. */
START_TEST(test_error_messages_are_printable)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;

	ck_assert_int_eq(accounts_user_add(a, "evil\x1b]0;owned\x07\n", PW("pw"), IT,
	    0, 0, &err), ABK_E_USAGE);
	for (const char *p = err.msg; *p != '\0'; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
		    "control byte in \"%s\"", err.msg);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_del(a, "\x1b[2J", &err), ABK_E_NOTFOUND);
	ck_assert_ptr_null(strchr(err.msg, '\x1b'));
	close_ok(a);
}
END_TEST

START_TEST(test_add_refuses_bad_names)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;
	int n = 0;

	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		if (name_cases[i].valid)
			continue;
		abk_err_clear(&err);
		ck_assert_int_eq(accounts_user_add(a, name_cases[i].name, PW("pw"), IT,
		    0, 0, &err), ABK_E_USAGE);
		ck_assert_ptr_nonnull(strstr(err.msg, "invalid user name"));
		n++;
	}
	ck_assert_int_ge(n, 10);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_add(a, NULL, PW("pw"), IT, 0, 0, &err),
	    ABK_E_USAGE);
	close_ok(a);
}
END_TEST

/* ---- user life cycle ------------------------------------------------------ */

START_TEST(test_user_crud)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;
	struct account_user u;
	int64_t before = (int64_t)time(NULL);

	ck_assert_int_eq(accounts_user_add(a, "alice", PW("correct horse"), IT,
	    5000000, 1, &err), ABK_OK);
	memset(&u, 0xaa, sizeof(u));
	ck_assert_int_eq(accounts_user_get(a, "alice", &u, &err), ABK_OK);
	ck_assert_str_eq(u.name, "alice");
	ck_assert_uint_eq(u.iterations, IT);
	ck_assert_uint_eq(u.quota, 5000000);
	ck_assert_int_eq(u.append_only, 1);
	ck_assert_int_eq(u.disabled, 0);
	ck_assert_uint_eq(u.failures, 0);
	ck_assert_int_eq(u.last_failure, 0);
	ck_assert_int_eq(u.last_login, 0);
	ck_assert_int_ge(u.created, before);
	ck_assert_int_le(u.created, (int64_t)time(NULL));

	/* Duplicate refused, original untouched. */
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_add(a, "alice", PW("other"), IT, 0, 0, &err),
	    ABK_E_EXISTS);
	ck_assert_ptr_nonnull(strstr(err.msg, "alice"));
	ck_assert_int_eq(verify(a, "alice", "correct horse", NULL, &err), ABK_OK);

	/* Updates. */
	ck_assert_int_eq(accounts_user_set_quota(a, "alice", 0, &err), ABK_OK);
	ck_assert_int_eq(accounts_user_set_append_only(a, "alice", 0, &err), ABK_OK);
	ck_assert_int_eq(accounts_user_get(a, "alice", &u, &err), ABK_OK);
	ck_assert_uint_eq(u.quota, 0);
	ck_assert_int_eq(u.append_only, 0);

	/* Delete. */
	ck_assert_int_eq(accounts_user_del(a, "alice", &err), ABK_OK);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_get(a, "alice", &u, &err), ABK_E_NOTFOUND);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_del(a, "alice", &err), ABK_E_NOTFOUND);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_set_quota(a, "alice", 1, &err), ABK_E_NOTFOUND);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_del(a, "../x", &err), ABK_E_NOTFOUND);
	/* The name is free again. */
	add_ok(a, "alice", "new");
	close_ok(a);
}
END_TEST

START_TEST(test_add_refuses_bad_parameters)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;
	char big[ACCOUNTS_PASSWORD_MAX + 2];

	ck_assert_int_eq(accounts_user_add(a, "bob", "", 0, IT, 0, 0, &err), ABK_E_USAGE);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_add(a, "bob", NULL, 3, IT, 0, 0, &err),
	    ABK_E_USAGE);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_add(a, "bob", "pw\0", 3, IT, 0, 0, &err),
	    ABK_E_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "NUL"));
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_add(a, "bob", PW("pw"), IT - 1, 0, 0, &err),
	    ABK_E_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "iteration"));
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_add(a, "bob", PW("pw"),
	    ACCOUNTS_MAX_ITERATIONS + 1, 0, 0, &err), ABK_E_USAGE);
	memset(big, 'p', sizeof(big));
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_add(a, "bob", big, ACCOUNTS_PASSWORD_MAX + 1,
	    IT, 0, 0, &err), ABK_E_USAGE);
	/* Nothing was created by the refusals; the longest password works. */
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_get(a, "bob", &(struct account_user){ 0 },
	    &err), ABK_E_NOTFOUND);
	ck_assert_int_eq(accounts_user_add(a, "bob", big, ACCOUNTS_PASSWORD_MAX, IT,
	    0, 0, &err), ABK_OK);
	ck_assert_int_eq(accounts_verify_password(a, "bob", big, ACCOUNTS_PASSWORD_MAX,
	    NULL, &err), ABK_OK);
	/* A password one byte longer (never storable) is simply wrong. */
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_verify_password(a, "bob", big,
	    ACCOUNTS_PASSWORD_MAX + 1, NULL, &err), ABK_E_AUTH);
	close_ok(a);
}
END_TEST

/* ---- passwords -------------------------------------------------------- */

START_TEST(test_verify_failures_look_alike)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT, first = ABK_ERR_INIT;
	enum accounts_reason why;

	add_ok(a, "alice", "s3cret");
	add_ok(a, "dora", "d0ra");
	ck_assert_int_eq(accounts_user_set_disabled(a, "dora", 1, &err), ABK_OK);

	ck_assert_int_eq(verify(a, "alice", "s3cret", &why, &err), ABK_OK);
	ck_assert_int_eq(why, ACCOUNTS_AUTH_OK);

	ck_assert_int_eq(verify(a, "alice", "s3cre", &why, &first), ABK_E_AUTH);
	ck_assert_int_eq(why, ACCOUNTS_AUTH_BAD_PASSWORD);
	ck_assert_int_eq(first.code, ABK_E_AUTH);

	ck_assert_int_eq(verify(a, "mallory", "s3cret", &why, &err), ABK_E_AUTH);
	ck_assert_int_eq(why, ACCOUNTS_AUTH_NO_USER);
	ck_assert_str_eq(err.msg, first.msg);

	ck_assert_int_eq(verify(a, "dora", "d0ra", &why, &err), ABK_E_AUTH);
	ck_assert_int_eq(why, ACCOUNTS_AUTH_DISABLED);
	ck_assert_str_eq(err.msg, first.msg);

	ck_assert_int_eq(verify(a, "dora", "wrong", &why, &err), ABK_E_AUTH);
	ck_assert_int_eq(why, ACCOUNTS_AUTH_BAD_PASSWORD);
	ck_assert_str_eq(err.msg, first.msg);

	ck_assert_int_eq(verify(a, "../etc/passwd", "x", &why, &err), ABK_E_AUTH);
	ck_assert_int_eq(why, ACCOUNTS_AUTH_NO_USER);
	ck_assert_str_eq(err.msg, first.msg);

	ck_assert_int_eq(verify(a, NULL, "x", &why, &err), ABK_E_AUTH);
	ck_assert_int_eq(verify(a, "alice", NULL, &why, &err), ABK_E_AUTH);
	ck_assert_int_eq(verify(a, "alice", "", &why, &err), ABK_E_AUTH);
	/* The right password plus a NUL (HMAC zero-pads keys: must not pass). */
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_verify_password(a, "alice", "s3cret\0", 7, &why,
	    &err), ABK_E_AUTH);

	/* Enabling again lets dora in; the reason strings exist. */
	ck_assert_int_eq(accounts_user_set_disabled(a, "dora", 0, &err), ABK_OK);
	ck_assert_int_eq(verify(a, "dora", "d0ra", &why, &err), ABK_OK);
	for (int r = ACCOUNTS_AUTH_OK; r <= ACCOUNTS_AUTH_BAD_SECRET; r++)
		ck_assert_str_ne(accounts_reason_str((enum accounts_reason)r),
		    "unknown reason");
	close_ok(a);
}
END_TEST

START_TEST(test_passwd_changes_hash)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;
	struct account_user u;

	add_ok(a, "alice", "old password");
	ck_assert_int_eq(accounts_record_failure(a, "alice", &err), ABK_OK);
	ck_assert_int_eq(accounts_user_passwd(a, "alice", PW("new password"), IT + 1,
	    &err), ABK_OK);
	ck_assert_int_eq(verify(a, "alice", "old password", NULL, &err), ABK_E_AUTH);
	ck_assert_int_eq(verify(a, "alice", "new password", NULL, &err), ABK_OK);
	ck_assert_int_eq(accounts_user_get(a, "alice", &u, &err), ABK_OK);
	ck_assert_uint_eq(u.iterations, IT + 1);
	ck_assert_uint_eq(u.failures, 0);
	/* Same password again: a new salt, still accepted. */
	ck_assert_int_eq(accounts_user_passwd(a, "alice", PW("new password"), IT,
	    &err), ABK_OK);
	ck_assert_int_eq(verify(a, "alice", "new password", NULL, &err), ABK_OK);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_passwd(a, "nobody", PW("x"), IT, &err),
	    ABK_E_NOTFOUND);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_passwd(a, "alice", "", 0, IT, &err), ABK_E_USAGE);
	ck_assert_int_eq(verify(a, "alice", "new password", NULL, &err), ABK_OK);
	close_ok(a);
}
END_TEST

START_TEST(test_default_iterations)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;
	struct account_user u;

	ck_assert_uint_ge(ACCOUNTS_DEFAULT_ITERATIONS, 600000);
	ck_assert_int_eq(accounts_user_add(a, "slow", PW("pw"), 0, 0, 0, &err), ABK_OK);
	ck_assert_int_eq(accounts_user_get(a, "slow", &u, &err), ABK_OK);
	ck_assert_uint_eq(u.iterations, ACCOUNTS_DEFAULT_ITERATIONS);
	ck_assert_int_eq(verify(a, "slow", "pw", NULL, &err), ABK_OK);
	close_ok(a);
}
END_TEST

START_TEST(test_failure_counters)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;
	struct account_user u;
	int64_t before = (int64_t)time(NULL);

	add_ok(a, "alice", "pw");
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(accounts_record_failure(a, "alice", &err), ABK_OK);
	ck_assert_int_eq(accounts_user_get(a, "alice", &u, &err), ABK_OK);
	ck_assert_uint_eq(u.failures, 3);
	ck_assert_int_ge(u.last_failure, before);
	ck_assert_int_eq(u.last_login, 0);
	ck_assert_int_eq(accounts_record_success(a, "alice", &err), ABK_OK);
	ck_assert_int_eq(accounts_user_get(a, "alice", &u, &err), ABK_OK);
	ck_assert_uint_eq(u.failures, 0);
	ck_assert_int_ge(u.last_login, before);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_record_failure(a, "ghost", &err), ABK_E_NOTFOUND);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_record_success(a, "Bad Name", &err), ABK_E_NOTFOUND);
	close_ok(a);
}
END_TEST

START_TEST(test_persist_across_reopen)
{
	const char *dir = fresh_env();
	accounts *a = open_ok(dir);
	abk_err err = ABK_ERR_INIT;
	struct account_user u;

	add_ok(a, "alice", "pw-a");
	add_ok(a, "bob", "pw-b");
	ck_assert_int_eq(accounts_user_set_quota(a, "alice", 123456789012ULL, &err),
	    ABK_OK);
	ck_assert_int_eq(accounts_user_set_disabled(a, "alice", 1, &err), ABK_OK);
	ck_assert_int_eq(accounts_user_set_disabled(a, "bob", 1, &err), ABK_OK);
	ck_assert_int_eq(accounts_user_set_disabled(a, "bob", 0, &err), ABK_OK);
	ck_assert_int_eq(accounts_user_set_append_only(a, "bob", 1, &err), ABK_OK);
	close_ok(a);

	a = open_ok(dir);
	ck_assert_int_eq(accounts_user_get(a, "alice", &u, &err), ABK_OK);
	ck_assert_uint_eq(u.quota, 123456789012ULL);
	ck_assert_int_eq(u.disabled, 1);
	ck_assert_int_eq(accounts_user_get(a, "bob", &u, &err), ABK_OK);
	ck_assert_int_eq(u.disabled, 0);
	ck_assert_int_eq(u.append_only, 1);
	ck_assert_int_eq(verify(a, "bob", "pw-b", NULL, &err), ABK_OK);
	ck_assert_int_eq(verify(a, "alice", "pw-a", NULL, &err), ABK_E_AUTH);
	close_ok(a);
}
END_TEST

/* ---- listing ------------------------------------------------------------ */

struct collect {
	int n;
	int stop_at;		/* stop after this many (0 = never) */
	char names[128][ACCOUNTS_NAME_MAX + 1];
	char ids[128][ACCOUNTS_TOKEN_ID_BUFSZ];
	accounts *a;		/* when set, the callback calls into the store */
};

static int
collect_user(void *ctx, const struct account_user *u)
{
	struct collect *c = ctx;

	if (c->a != NULL) {
		/* Callbacks hold no lock: a write from inside must not hang. */
		abk_err err = ABK_ERR_INIT;

		ck_assert_int_eq(accounts_record_failure(c->a, u->name, &err), ABK_OK);
	}
	snprintf(c->names[c->n++], sizeof(c->names[0]), "%s", u->name);
	return c->stop_at != 0 && c->n == c->stop_at ? 42 : 0;
}

START_TEST(test_user_list)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;
	static struct collect c;
	char name[16];

	/* 70 users: more than two list batches. */
	for (int i = 69; i >= 0; i--) {
		snprintf(name, sizeof(name), "user%02d", i);
		add_ok(a, name, "pw");
	}
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(accounts_user_list(a, collect_user, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, 70);
	for (int i = 0; i < 70; i++) {
		snprintf(name, sizeof(name), "user%02d", i);
		ck_assert_str_eq(c.names[i], name);
	}
	/* A non-zero callback result stops the walk and is returned. */
	memset(&c, 0, sizeof(c));
	c.stop_at = 33;
	ck_assert_int_eq(accounts_user_list(a, collect_user, &c, &err), 42);
	ck_assert_int_eq(c.n, 33);
	/* The callback may write to the store. */
	memset(&c, 0, sizeof(c));
	c.a = a;
	ck_assert_int_eq(accounts_user_list(a, collect_user, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, 70);
	{
		struct account_user u;

		ck_assert_int_eq(accounts_user_get(a, "user69", &u, &err), ABK_OK);
		ck_assert_uint_eq(u.failures, 1);
	}
	close_ok(a);
}
END_TEST

START_TEST(test_user_list_empty)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;
	static struct collect c;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(accounts_user_list(a, collect_user, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, 0);
	ck_assert_int_eq(accounts_user_list(a, NULL, &c, &err), ABK_E_USAGE);
	close_ok(a);
}
END_TEST

/* ---- tokens ------------------------------------------------------------- */

static int
collect_token(void *ctx, const struct account_token *t)
{
	struct collect *c = ctx;

	snprintf(c->names[c->n], sizeof(c->names[0]), "%s", t->user);
	snprintf(c->ids[c->n], sizeof(c->ids[0]), "%s", t->id);
	c->n++;
	return 0;
}

static int
collect_token_count(void *ctx, const struct account_token *t)
{
	(void)t;
	(*(int *)ctx)++;
	return 0;
}

static void
token_ok(accounts *a, const char *user, const char *label, char tok[ACCOUNTS_TOKEN_BUFSZ],
    char id[ACCOUNTS_TOKEN_ID_BUFSZ])
{
	abk_err err = ABK_ERR_INIT;
	int rc = accounts_token_add(a, user, label, tok, ACCOUNTS_TOKEN_BUFSZ, id,
	    ACCOUNTS_TOKEN_ID_BUFSZ, &err);

	ck_assert_msg(rc == ABK_OK, "token_add %s: %d %s", user, rc, err.msg);
}

static int
verify_tok(accounts *a, const char *tok, char user[ACCOUNTS_NAME_MAX + 1],
    enum accounts_reason *why)
{
	abk_err err = ABK_ERR_INIT;

	return accounts_verify_token(a, tok, user, ACCOUNTS_NAME_MAX + 1, why, &err);
}

START_TEST(test_token_life_cycle)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;
	char tok[ACCOUNTS_TOKEN_BUFSZ], tok2[ACCOUNTS_TOKEN_BUFSZ];
	char id[ACCOUNTS_TOKEN_ID_BUFSZ], id2[ACCOUNTS_TOKEN_ID_BUFSZ];
	char bob_tok[ACCOUNTS_TOKEN_BUFSZ], bob_id[ACCOUNTS_TOKEN_ID_BUFSZ];
	char user[ACCOUNTS_NAME_MAX + 1];
	enum accounts_reason why;
	static struct collect c;

	add_ok(a, "alice", "pw");
	add_ok(a, "bob", "pw");
	token_ok(a, "alice", "laptop cron", tok, id);
	token_ok(a, "alice", NULL, tok2, id2);
	token_ok(a, "bob", "", bob_tok, bob_id);

	/* Format: abk_<16 hex>_<64 hex>, id embedded, all different. */
	ck_assert_uint_eq(strlen(tok), ACCOUNTS_TOKEN_LEN);
	ck_assert_int_eq(strncmp(tok, "abk_", 4), 0);
	ck_assert_uint_eq(strlen(id), ACCOUNTS_TOKEN_ID_LEN);
	ck_assert_int_eq(strncmp(tok + 4, id, ACCOUNTS_TOKEN_ID_LEN), 0);
	ck_assert_int_eq(tok[4 + ACCOUNTS_TOKEN_ID_LEN], '_');
	ck_assert_uint_eq(strspn(tok + 21, "0123456789abcdef"), 64);
	ck_assert_str_ne(tok, tok2);
	ck_assert_str_ne(id, id2);

	/* Verify: right token gives the owner and stamps last_used. */
	ck_assert_int_eq(verify_tok(a, tok, user, &why), ABK_OK);
	ck_assert_int_eq(why, ACCOUNTS_AUTH_OK);
	ck_assert_str_eq(user, "alice");
	ck_assert_int_eq(verify_tok(a, bob_tok, user, &why), ABK_OK);
	ck_assert_str_eq(user, "bob");

	/* Wrong secret with a known id. */
	memcpy(tok2 + 21, tok + 21, 64);
	ck_assert_int_eq(verify_tok(a, tok2, user, &why), ABK_E_AUTH);
	ck_assert_int_eq(why, ACCOUNTS_AUTH_BAD_SECRET);
	ck_assert_str_eq(user, "");

	/* Listing: per user and all. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(accounts_token_list(a, "alice", collect_token, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, 2);
	ck_assert_str_eq(c.names[0], "alice");
	ck_assert_str_eq(c.names[1], "alice");
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(accounts_token_list(a, NULL, collect_token, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, 3);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(accounts_token_list(a, "nobody", collect_token, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, 0);

	/* Revoke: the token stops working, a second revoke finds nothing. */
	ck_assert_int_eq(accounts_token_revoke(a, id, &err), ABK_OK);
	ck_assert_int_eq(verify_tok(a, tok, user, &why), ABK_E_AUTH);
	ck_assert_int_eq(why, ACCOUNTS_AUTH_NO_TOKEN);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_token_revoke(a, id, &err), ABK_E_NOTFOUND);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_token_revoke(a, "not-an-id", &err), ABK_E_USAGE);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_token_revoke(a, tok, &err), ABK_E_USAGE);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(accounts_token_list(a, "alice", collect_token, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, 1);
	ck_assert_str_eq(c.ids[0], id2);
	close_ok(a);
}
END_TEST

struct last_used {
	int64_t created, last_used;
	int seen;
};

static int
token_times(void *ctx, const struct account_token *t)
{
	struct last_used *lu = ctx;

	lu->created = t->created;
	lu->last_used = t->last_used;
	lu->seen++;
	return 0;
}

START_TEST(test_token_last_used_persisted)
{
	const char *dir = fresh_env();
	accounts *a = open_ok(dir);
	abk_err err = ABK_ERR_INIT;
	char tok[ACCOUNTS_TOKEN_BUFSZ], user[ACCOUNTS_NAME_MAX + 1];
	struct last_used lu = { 0, 0, 0 };

	add_ok(a, "alice", "pw");
	token_ok(a, "alice", "x", tok, NULL);
	ck_assert_int_eq(accounts_token_list(a, "alice", token_times, &lu, &err), ABK_OK);
	ck_assert_int_eq(lu.seen, 1);
	ck_assert_int_gt(lu.created, 0);
	ck_assert_int_eq(lu.last_used, 0);
	ck_assert_int_eq(verify_tok(a, tok, user, NULL), ABK_OK);
	close_ok(a);
	a = open_ok(dir);
	memset(&lu, 0, sizeof(lu));
	ck_assert_int_eq(accounts_token_list(a, NULL, token_times, &lu, &err), ABK_OK);
	ck_assert_int_eq(lu.seen, 1);
	ck_assert_int_ge(lu.last_used, lu.created);
	ck_assert_int_eq(verify_tok(a, tok, user, NULL), ABK_OK);
	close_ok(a);
}
END_TEST

START_TEST(test_token_bad_requests)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;
	char tok[ACCOUNTS_TOKEN_BUFSZ], user[8];
	char label[ACCOUNTS_LABEL_MAX + 2];

	add_ok(a, "alice", "pw");
	ck_assert_int_eq(accounts_token_add(a, "ghost", NULL, tok, sizeof(tok), NULL, 0,
	    &err), ABK_E_NOTFOUND);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_token_add(a, "Alice!", NULL, tok, sizeof(tok), NULL, 0,
	    &err), ABK_E_NOTFOUND);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_token_add(a, "alice", NULL, tok, sizeof(tok) - 1, NULL,
	    0, &err), ABK_E_USAGE);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_token_add(a, "alice", "tab\there", tok, sizeof(tok),
	    NULL, 0, &err), ABK_E_USAGE);
	memset(label, 'l', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_token_add(a, "alice", label, tok, sizeof(tok), NULL, 0,
	    &err), ABK_E_USAGE);
	label[ACCOUNTS_LABEL_MAX] = '\0';
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_token_add(a, "alice", label, tok, sizeof(tok), NULL, 0,
	    &err), ABK_OK);
	/* User buffer too small. */
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_verify_token(a, tok, user, sizeof(user), NULL, &err),
	    ABK_E_USAGE);
	close_ok(a);
}
END_TEST

START_TEST(test_token_limit)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;
	char tok[ACCOUNTS_TOKEN_BUFSZ];

	add_ok(a, "alice", "pw");
	add_ok(a, "bob", "pw");
	for (int i = 0; i < ACCOUNTS_TOKENS_PER_USER_MAX; i++)
		token_ok(a, "alice", NULL, tok, NULL);
	ck_assert_int_eq(accounts_token_add(a, "alice", NULL, tok, sizeof(tok), NULL, 0,
	    &err), ABK_E_LIMIT);
	/* The bound is per user. */
	token_ok(a, "bob", NULL, tok, NULL);
	close_ok(a);
}
END_TEST

static const char *malformed_tokens[] = {
	"",
	"abk_",
	"abk",
	"garbage",
	/* right length, wrong prefix */
	"xyz_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	/* upper-case hex */
	"abk_0123456789ABCDEF_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"abk_0123456789abcdef_0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	/* separator missing / moved */
	"abk_0123456789abcdef00123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"abk_0123456789abcde_f0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	/* one digit short, one digit long */
	"abk_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
	"abk_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
	/* non-hex, space, newline */
	"abk_0123456789abcdeg_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"abk_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde ",
	"abk_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n",
	/* trailing newline after a full token (a careless token file) */
	"abk_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
	NULL,
};

START_TEST(test_token_malformed)
{
	accounts *a = open_ok(fresh_env());
	char user[ACCOUNTS_NAME_MAX + 1];
	enum accounts_reason why;
	abk_err err = ABK_ERR_INIT, first = ABK_ERR_INIT;

	add_ok(a, "alice", "pw");
	/* The message of a well-formed unknown token, for comparison. */
	ck_assert_int_eq(accounts_verify_token(a, "abk_0123456789abcdef_0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef", user, sizeof(user), &why,
	    &first), ABK_E_AUTH);
	ck_assert_int_eq(why, ACCOUNTS_AUTH_NO_TOKEN);
	for (size_t i = 0; i < sizeof(malformed_tokens) / sizeof(malformed_tokens[0]); i++) {
		const char *t = malformed_tokens[i];

		abk_err_clear(&err);
		ck_assert_msg(accounts_verify_token(a, t, user, sizeof(user), &why, &err) ==
		    ABK_E_AUTH, "malformed token %zu accepted", i);
		ck_assert_msg(why == ACCOUNTS_AUTH_MALFORMED_TOKEN, "token %zu: reason %d",
		    i, why);
		ck_assert_str_eq(user, "");
		ck_assert_str_eq(err.msg, first.msg);
	}
	close_ok(a);
}
END_TEST

START_TEST(test_token_of_deleted_or_disabled_user)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;
	char t1[ACCOUNTS_TOKEN_BUFSZ], t2[ACCOUNTS_TOKEN_BUFSZ], tb[ACCOUNTS_TOKEN_BUFSZ];
	char user[ACCOUNTS_NAME_MAX + 1];
	enum accounts_reason why;
	static struct collect c;

	add_ok(a, "alice", "pw");
	add_ok(a, "bob", "pw");
	token_ok(a, "alice", "one", t1, NULL);
	token_ok(a, "alice", "two", t2, NULL);
	token_ok(a, "bob", "b", tb, NULL);

	/* Disabled owner: refused, and enabled again: accepted. */
	ck_assert_int_eq(accounts_user_set_disabled(a, "alice", 1, &err), ABK_OK);
	ck_assert_int_eq(verify_tok(a, t1, user, &why), ABK_E_AUTH);
	ck_assert_int_eq(why, ACCOUNTS_AUTH_DISABLED);
	ck_assert_int_eq(accounts_user_set_disabled(a, "alice", 0, &err), ABK_OK);
	ck_assert_int_eq(verify_tok(a, t1, user, &why), ABK_OK);

	/* Deleting the owner deletes the tokens, and only those. */
	ck_assert_int_eq(accounts_user_del(a, "alice", &err), ABK_OK);
	ck_assert_int_eq(verify_tok(a, t1, user, &why), ABK_E_AUTH);
	ck_assert_int_eq(why, ACCOUNTS_AUTH_NO_TOKEN);
	ck_assert_int_eq(verify_tok(a, t2, user, &why), ABK_E_AUTH);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(accounts_token_list(a, NULL, collect_token, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, 1);
	ck_assert_str_eq(c.names[0], "bob");
	ck_assert_int_eq(verify_tok(a, tb, user, &why), ABK_OK);
	/* A new alice does not inherit the old tokens. */
	add_ok(a, "alice", "pw");
	ck_assert_int_eq(verify_tok(a, t1, user, &why), ABK_E_AUTH);
	close_ok(a);
}
END_TEST

/* ---- corrupt records ----------------------------------------------------- */

/* Store key -> val[len] in file of the environment dir, in a transaction. */
static void
raw_put(const char *dir, const char *file, const char *key, const void *val,
    size_t len)
{
	DB_ENV *env = NULL;
	DB *db = NULL;
	DBT k, v;

	ck_assert_int_eq(db_env_create(&env, 0), 0);
	ck_assert_int_eq(env->open(env, dir, DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK |
	    DB_INIT_LOG | DB_INIT_MPOOL | DB_REGISTER | DB_RECOVER, 0600), 0);
	ck_assert_int_eq(db_create(&db, env, 0), 0);
	ck_assert_int_eq(db->open(db, NULL, file, NULL, DB_BTREE, DB_AUTO_COMMIT, 0), 0);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)(uintptr_t)key;
	k.size = (u_int32_t)strlen(key);
	v.data = (void *)(uintptr_t)val;
	v.size = (u_int32_t)len;
	ck_assert_int_eq(db->put(db, NULL, &k, &v, DB_AUTO_COMMIT), 0);
	ck_assert_int_eq(db->close(db, 0), 0);
	ck_assert_int_eq(env->close(env, 0), 0);
}

static int
count_user(void *ctx, const struct account_user *u)
{
	(void)u;
	(*(int *)ctx)++;
	return 0;
}

static const struct {
	const char *what;
	size_t len;
	uint8_t rec[96];
} bad_users[] = {
	{ "empty", 0, { 0 } },
	{ "truncated", 10, { 1, 0, 16, 32 } },
	{ "future version", 92, { 2, 0, 16, 32, 0, 0, 3, 232 } },
	{ "unknown flag", 92, { 1, 0x80, 16, 32, 0, 0, 3, 232 } },
	{ "short salt", 84, { 1, 0, 8, 32, 0, 0, 3, 232 } },
	{ "zero iterations", 92, { 1, 0, 16, 32, 0, 0, 0, 0 } },
	{ "length mismatch", 93, { 1, 0, 16, 32, 0, 0, 3, 232 } },
};

START_TEST(test_corrupt_user_records)
{
	const size_t nbad = sizeof(bad_users) / sizeof(bad_users[0]);
	const char *dir = fresh_env();
	accounts *a = open_ok(dir);
	abk_err err = ABK_ERR_INIT;
	struct account_user u;
	char name[16];
	int n = 0;

	add_ok(a, "alice", "pw");
	close_ok(a);
	for (size_t i = 0; i < nbad; i++) {
		snprintf(name, sizeof(name), "mallory%zu", i);
		raw_put(dir, "users.db", name, bad_users[i].rec, bad_users[i].len);
	}
	a = open_ok(dir);
	for (size_t i = 0; i < nbad; i++) {
		snprintf(name, sizeof(name), "mallory%zu", i);
		abk_err_clear(&err);
		ck_assert_msg(accounts_user_get(a, name, &u, &err) == ABK_E_DB,
		    "%s: accepted", bad_users[i].what);
		ck_assert_ptr_nonnull(strstr(err.msg, "corrupt"));
		abk_err_clear(&err);
		ck_assert_int_eq(accounts_verify_password(a, name, PW("pw"), NULL, &err),
		    ABK_E_DB);
		abk_err_clear(&err);
		ck_assert_int_eq(accounts_record_failure(a, name, &err), ABK_E_DB);
	}
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_user_list(a, count_user, &n, &err), ABK_E_DB);
	/* The rest of the store still works, and the bad records can go. */
	ck_assert_int_eq(verify(a, "alice", "pw", NULL, &err), ABK_OK);
	for (size_t i = 0; i < nbad; i++) {
		snprintf(name, sizeof(name), "mallory%zu", i);
		ck_assert_int_eq(accounts_user_del(a, name, &err), ABK_OK);
	}
	n = 0;
	ck_assert_int_eq(accounts_user_list(a, count_user, &n, &err), ABK_OK);
	ck_assert_int_eq(n, 1);
	close_ok(a);
}
END_TEST

START_TEST(test_corrupt_token_record)
{
	const char *dir = fresh_env();
	accounts *a = open_ok(dir);
	abk_err err = ABK_ERR_INIT;
	char tok[ACCOUNTS_TOKEN_BUFSZ], id[ACCOUNTS_TOKEN_ID_BUFSZ];
	char user[ACCOUNTS_NAME_MAX + 1];
	uint8_t rec[60] = { 1, 40, 0, 0 };	/* user length past the end */
	int n = 0;

	add_ok(a, "alice", "pw");
	token_ok(a, "alice", NULL, tok, id);
	close_ok(a);
	raw_put(dir, "tokens.db", id, rec, sizeof(rec));
	a = open_ok(dir);
	ck_assert_int_eq(accounts_verify_token(a, tok, user, sizeof(user), NULL, &err),
	    ABK_E_DB);
	ck_assert_ptr_nonnull(strstr(err.msg, "corrupt"));
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_token_list(a, NULL, collect_token_count, &n, &err),
	    ABK_E_DB);
	/* Revoking removes it. */
	ck_assert_int_eq(accounts_token_revoke(a, id, &err), ABK_OK);
	close_ok(a);
}
END_TEST

/* ---- environment: several processes, crashes, threads ------------------ */

/* Run fn(dir) in a child process; returns its exit status (0 = success). */
static int
in_child(void (*fn)(const char *dir), const char *dir)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fn(dir);
		_exit(0);	/* not reached: fn exits */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The "admin subcommand": open, add a user, read the server's, close. */
static void
child_admin(const char *dir)
{
	abk_err err = ABK_ERR_INIT;
	struct account_user u;
	accounts *a = NULL;

	if (accounts_open(dir, &a, &err) != ABK_OK)
		_exit(10);
	if (accounts_user_add(a, "from-admin", PW("pw"), IT, 7, 0, &err) != ABK_OK)
		_exit(11);
	if (accounts_user_get(a, "from-server", &u, &err) != ABK_OK || u.quota != 99)
		_exit(12);
	if (accounts_close(a, &err) != ABK_OK)
		_exit(13);
	_exit(0);
}

START_TEST(test_two_processes_share_env)
{
	const char *dir = fresh_env();
	accounts *a = open_ok(dir);
	abk_err err = ABK_ERR_INIT;
	struct account_user u;

	add_ok(a, "from-server", "pw");
	ck_assert_int_eq(accounts_user_set_quota(a, "from-server", 99, &err), ABK_OK);
	/* The child opens while we hold the environment open: no recovery. */
	ck_assert_int_eq(in_child(child_admin, dir), 0);
	ck_assert_int_eq(accounts_user_get(a, "from-admin", &u, &err), ABK_OK);
	ck_assert_uint_eq(u.quota, 7);
	/* Our handle survived the other process's open and close. */
	add_ok(a, "after", "pw");
	ck_assert_int_eq(verify(a, "from-admin", "pw", NULL, &err), ABK_OK);
	ck_assert_int_eq(accounts_user_del(a, "from-admin", &err), ABK_OK);
	/* Second round: the child sees our delete and adds again. */
	ck_assert_int_eq(in_child(child_admin, dir), 0);
	ck_assert_int_eq(accounts_user_get(a, "from-admin", &u, &err), ABK_OK);
	close_ok(a);
}
END_TEST

START_TEST(test_second_open_same_process_refused)
{
	const char *dir = fresh_env();
	accounts *a = open_ok(dir), *b = NULL;
	abk_err err = ABK_ERR_INIT;

	ck_assert_int_eq(accounts_open(dir, &b, &err), ABK_E_DB);
	ck_assert_ptr_null(b);
	ck_assert_ptr_nonnull(strstr(err.msg, "already open"));
	/* The first handle is unharmed, and after closing it a reopen works. */
	add_ok(a, "alice", "pw");
	close_ok(a);
	a = open_ok(dir);
	ck_assert_int_eq(verify(a, "alice", "pw", NULL, &err), ABK_OK);
	close_ok(a);
}
END_TEST

/* A process that commits and dies without closing anything. */
static void
child_crash(const char *dir)
{
	abk_err err = ABK_ERR_INIT;
	accounts *a = NULL;

	if (accounts_open(dir, &a, &err) != ABK_OK)
		_exit(10);
	if (accounts_user_add(a, "committed", PW("pw"), IT, 0, 0, &err) != ABK_OK)
		_exit(11);
	_exit(0);	/* no accounts_close: like kill -9 after the commit */
}

START_TEST(test_crash_recovery)
{
	const char *dir = fresh_env();
	accounts *a = open_ok(dir);
	abk_err err = ABK_ERR_INIT;
	struct account_user u;

	add_ok(a, "before", "pw");
	close_ok(a);
	ck_assert_int_eq(in_child(child_crash, dir), 0);
	/* The next open notices the dead process, recovers, keeps the commit. */
	a = open_ok(dir);
	ck_assert_int_eq(accounts_user_get(a, "committed", &u, &err), ABK_OK);
	ck_assert_int_eq(accounts_user_get(a, "before", &u, &err), ABK_OK);
	add_ok(a, "after", "pw");
	close_ok(a);
	a = open_ok(dir);
	ck_assert_int_eq(accounts_user_get(a, "after", &u, &err), ABK_OK);
	close_ok(a);
}
END_TEST

/* A process that opens and closes cleanly (recovering if needed). */
static void
child_open_close(const char *dir)
{
	abk_err err = ABK_ERR_INIT;
	accounts *a = NULL;

	if (accounts_open(dir, &a, &err) != ABK_OK)
		_exit(10);
	if (accounts_close(a, &err) != ABK_OK)
		_exit(13);
	_exit(0);
}

/*
 * The server holds the environment while an admin command dies in it and
 * the next one recovers: BDB panics the server's environment, and the
 * store reopens it on the next call instead of failing from then on.
 */
START_TEST(test_recovery_under_live_handle)
{
	const char *dir = fresh_env();
	accounts *a = open_ok(dir);
	abk_err err = ABK_ERR_INIT;
	char tok[ACCOUNTS_TOKEN_BUFSZ], user[ACCOUNTS_NAME_MAX + 1];
	struct account_user u;

	add_ok(a, "server-side", "pw");
	token_ok(a, "server-side", NULL, tok, NULL);
	ck_assert_int_eq(in_child(child_crash, dir), 0);
	ck_assert_int_eq(in_child(child_open_close, dir), 0);
	ck_assert_msg(accounts_user_get(a, "committed", &u, &err) == ABK_OK,
	    "after recovery: %s", err.msg);
	ck_assert_int_eq(verify(a, "server-side", "pw", NULL, &err), ABK_OK);
	ck_assert_int_eq(verify_tok(a, tok, user, NULL), ABK_OK);
	add_ok(a, "after", "pw");
	close_ok(a);
}
END_TEST

START_TEST(test_open_errors)
{
	char path[sizeof(base_dir) + 64];
	abk_err err = ABK_ERR_INIT;
	accounts *a = (accounts *)&err;
	FILE *f;

	ck_assert_int_eq(accounts_open(NULL, &a, &err), ABK_E_USAGE);
	ck_assert_ptr_null(a);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_open("", &a, &err), ABK_E_USAGE);
	snprintf(path, sizeof(path), "%s/no/such/parent", base_dir);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_open(path, &a, &err), ABK_E_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	snprintf(path, sizeof(path), "%s/plainfile%ld", base_dir, (long)getpid());
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fclose(f);
	abk_err_clear(&err);
	ck_assert_int_eq(accounts_open(path, &a, &err), ABK_E_IO);
	ck_assert_int_eq(accounts_close(NULL, &err), ABK_OK);
}
END_TEST

#define THREADS 4
#define ROUNDS 25
#define TOKEN_ROUNDS 10	/* THREADS * TOKEN_ROUNDS <= ACCOUNTS_TOKENS_PER_USER_MAX */

struct hammer {
	accounts *a;
	int failures;	/* calls that did not return ABK_OK */
};

static void *
hammer(void *arg)
{
	struct hammer *h = arg;

	for (int i = 0; i < ROUNDS; i++) {
		abk_err err = ABK_ERR_INIT;
		char tok[ACCOUNTS_TOKEN_BUFSZ], user[ACCOUNTS_NAME_MAX + 1];

		if (accounts_record_failure(h->a, "shared", &err) != ABK_OK ||
		    accounts_verify_password(h->a, "shared", "pw", 2, NULL, &err) != ABK_OK)
			__atomic_add_fetch(&h->failures, 1, __ATOMIC_SEQ_CST);
		if (i < TOKEN_ROUNDS &&
		    (accounts_token_add(h->a, "shared", NULL, tok, sizeof(tok), NULL, 0,
		    &err) != ABK_OK ||
		    accounts_verify_token(h->a, tok, user, sizeof(user), NULL, &err) != ABK_OK ||
		    strcmp(user, "shared") != 0))
			__atomic_add_fetch(&h->failures, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

START_TEST(test_threads_share_handle)
{
	accounts *a = open_ok(fresh_env());
	abk_err err = ABK_ERR_INIT;
	struct hammer h = { a, 0 };
	pthread_t th[THREADS];
	struct account_user u;
	static struct collect c;

	add_ok(a, "shared", "pw");
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, &h), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(h.failures, 0);
	/* Read-modify-write in transactions: no failure count was lost. */
	ck_assert_int_eq(accounts_user_get(a, "shared", &u, &err), ABK_OK);
	ck_assert_uint_eq(u.failures, THREADS * ROUNDS);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(accounts_token_list(a, "shared", collect_token, &c, &err), ABK_OK);
	ck_assert_int_eq(c.n, THREADS * TOKEN_ROUNDS);
	close_ok(a);
}
END_TEST

static Suite *
accounts_suite(void)
{
	Suite *s = suite_create("accounts");
	TCase *names = tcase_create("names");
	TCase *users = tcase_create("users");
	TCase *tokens = tcase_create("tokens");
	TCase *env = tcase_create("environment");

	tcase_add_test(names, test_username_rules);
	tcase_add_test(names, test_username_null);
	suite_add_tcase(s, names);

	tcase_add_unchecked_fixture(users, base_setup, base_teardown);
	tcase_set_timeout(users, 60);
	tcase_add_test(users, test_add_refuses_bad_names);
	tcase_add_test(users, test_error_messages_are_printable);
	tcase_add_test(users, test_user_crud);
	tcase_add_test(users, test_add_refuses_bad_parameters);
	tcase_add_test(users, test_verify_failures_look_alike);
	tcase_add_test(users, test_passwd_changes_hash);
	tcase_add_test(users, test_default_iterations);
	tcase_add_test(users, test_failure_counters);
	tcase_add_test(users, test_persist_across_reopen);
	tcase_add_test(users, test_user_list);
	tcase_add_test(users, test_user_list_empty);
	tcase_add_test(users, test_policies);
	suite_add_tcase(s, users);

	tcase_add_unchecked_fixture(tokens, base_setup, base_teardown);
	tcase_set_timeout(tokens, 60);
	tcase_add_test(tokens, test_token_life_cycle);
	tcase_add_test(tokens, test_token_last_used_persisted);
	tcase_add_test(tokens, test_token_bad_requests);
	tcase_add_test(tokens, test_token_limit);
	tcase_add_test(tokens, test_token_malformed);
	tcase_add_test(tokens, test_token_of_deleted_or_disabled_user);
	tcase_add_test(tokens, test_corrupt_user_records);
	tcase_add_test(tokens, test_corrupt_token_record);
	suite_add_tcase(s, tokens);

	tcase_add_unchecked_fixture(env, base_setup, base_teardown);
	tcase_set_timeout(env, 60);
	tcase_add_test(env, test_two_processes_share_env);
	tcase_add_test(env, test_second_open_same_process_refused);
	tcase_add_test(env, test_crash_recovery);
	tcase_add_test(env, test_recovery_under_live_handle);
	tcase_add_test(env, test_open_errors);
	tcase_add_test(env, test_threads_share_handle);
	suite_add_tcase(s, env);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(accounts_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
