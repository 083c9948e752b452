/*
 * test_budget.c - server-wide budgets (budget.h): the file-list memory
 * charged by PUSH_BEGIN, per user and in total, refused with LIMIT naming
 * the limit, released exactly; and the counter under several threads.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"

#define MIB (1024u * 1024u)

START_TEST(test_charge_user_share)
{
	struct budget *b = budget_new("file-list memory", "--list-memory", 10 * MIB, 4 * MIB);
	abk_err err = ABK_ERR_INIT;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(budget_charge(b, "alice", 3 * MIB, &err), ABK_OK);
	/* A second push of alice's over her share: refused, nothing charged. */
	ck_assert_int_eq(budget_charge(b, "alice", 2 * MIB, &err), ABK_E_LIMIT);
	ck_assert_ptr_nonnull(strstr(err.msg, "file-list memory"));
	ck_assert_ptr_nonnull(strstr(err.msg, "--list-memory"));
	ck_assert_ptr_nonnull(strstr(err.msg, "share of 4 MiB"));
	ck_assert_uint_eq(budget_user_used(b, "alice"), 3 * MIB);
	/* Others still have room. */
	abk_err_clear(&err);
	ck_assert_int_eq(budget_charge(b, "bob", 4 * MIB, &err), ABK_OK);
	ck_assert_uint_eq(budget_total_used(b), 7 * MIB);
	budget_release(b, "alice", 3 * MIB);
	ck_assert_uint_eq(budget_user_used(b, "alice"), 0);
	ck_assert_int_eq(budget_charge(b, "alice", 4 * MIB, &err), ABK_OK);
	budget_free(b);
}
END_TEST

START_TEST(test_charge_total)
{
	struct budget *b = budget_new("file-list memory", "--list-memory", 10 * MIB, 6 * MIB);
	abk_err err = ABK_ERR_INIT;

	ck_assert_int_eq(budget_charge(b, "alice", 6 * MIB, &err), ABK_OK);
	ck_assert_int_eq(budget_charge(b, "bob", 5 * MIB, &err), ABK_E_LIMIT);
	ck_assert_ptr_nonnull(strstr(err.msg, "server's 10 MiB"));
	abk_err_clear(&err);
	ck_assert_int_eq(budget_charge(b, "bob", 4 * MIB, &err), ABK_OK);
	ck_assert_uint_eq(budget_total_used(b), 10 * MIB);
	/* One push larger than the whole budget; no overflow near 2^64. */
	ck_assert_int_eq(budget_charge(b, "carol", UINT64_MAX, &err), ABK_E_LIMIT);
	budget_release(b, "bob", 4 * MIB);
	budget_release(b, "alice", 100 * MIB);	/* never below zero */
	ck_assert_uint_eq(budget_total_used(b), 0);
	budget_free(b);
}
END_TEST

START_TEST(test_unlimited_counting)
{
	struct budget *b = budget_new("bytes in flight", "quota", 0, 0);
	abk_err err = ABK_ERR_INIT;

	ck_assert_int_eq(budget_charge(b, "alice", UINT64_MAX / 2, &err), ABK_OK);
	ck_assert_int_eq(budget_add(b, "alice", 5, &err), ABK_OK);
	ck_assert_uint_eq(budget_user_used(b, "alice"), UINT64_MAX / 2 + 5);
	ck_assert_uint_eq(budget_user_used(b, "nobody"), 0);
	budget_free(b);
	budget_free(NULL);
}
END_TEST

struct hammer {
	struct budget *b;
	char user[8];
};

static void *
hammer_thread(void *arg)
{
	struct hammer *h = arg;

	for (int i = 0; i < 20000; i++) {
		abk_err err = ABK_ERR_INIT;

		if (budget_charge(h->b, h->user, 3, &err) == ABK_OK)
			budget_release(h->b, h->user, 3);
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct hammer h[8];
	pthread_t t[8];
	struct budget *b = budget_new("file-list memory", "--list-memory", 1000, 500);

	for (int i = 0; i < 8; i++) {
		h[i].b = b;
		snprintf(h[i].user, sizeof(h[i].user), "u%d", i % 3);
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer_thread, &h[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_eq(budget_total_used(b), 0);
	budget_free(b);
}
END_TEST

START_TEST(test_default_list_memory)
{
	ck_assert_uint_ge(budget_default_list_memory(), 64 * MIB);
}
END_TEST

static Suite *
budget_suite(void)
{
	Suite *s = suite_create("budget");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_charge_user_share);
	tcase_add_test(tc, test_charge_total);
	tcase_add_test(tc, test_unlimited_counting);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_default_list_memory);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(budget_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
