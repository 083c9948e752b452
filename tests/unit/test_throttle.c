/*
 * test_throttle.c - the failed-login slowdown: delay arithmetic, the table's
 * reset, expiry and size bound, and its mutex under several threads.
 */
#include "config.h"

#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "throttle.h"

static const struct {
	unsigned failures;
	unsigned want_ms;
} delay_cases[] = {
	{ 0, 0 }, { 1, 0 }, { 2, 0 }, { 3, 0 },
	{ 4, 250 }, { 5, 500 }, { 6, 1000 }, { 7, 2000 }, { 8, 4000 },
	{ 9, 8000 }, { 10, 8000 }, { 40, 8000 }, { 1000, 8000 },
	{ UINT_MAX, 8000 },
};

START_TEST(test_delay_arithmetic)
{
	unsigned got = throttle_delay_for_failures(delay_cases[_i].failures);

	ck_assert_msg(got == delay_cases[_i].want_ms, "%u failures: %u ms, want %u",
	    delay_cases[_i].failures, got, delay_cases[_i].want_ms);
}
END_TEST

START_TEST(test_delay_monotonic)
{
	for (unsigned f = 1; f < 100; f++)
		ck_assert_uint_ge(throttle_delay_for_failures(f),
		    throttle_delay_for_failures(f - 1));
}
END_TEST

START_TEST(test_grow_wait_and_reset)
{
	struct throttle *t = throttle_new(16);
	int64_t now = 1000000;

	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(throttle_delay_ms(t, "u:alice", now), 0);
	for (int i = 0; i < 3; i++)
		throttle_fail(t, "u:alice", now);
	ck_assert_uint_eq(throttle_failures(t, "u:alice", now), 3);
	ck_assert_uint_eq(throttle_delay_ms(t, "u:alice", now), 0);
	throttle_fail(t, "u:alice", now);
	/* Fourth failure: 250 ms from the failure, counting down. */
	ck_assert_uint_eq(throttle_delay_ms(t, "u:alice", now), 250);
	ck_assert_uint_eq(throttle_delay_ms(t, "u:alice", now + 100), 150);
	ck_assert_uint_eq(throttle_delay_ms(t, "u:alice", now + 250), 0);
	ck_assert_uint_eq(throttle_delay_ms(t, "u:alice", now + 5000), 0);
	throttle_fail(t, "u:alice", now + 300);
	ck_assert_uint_eq(throttle_delay_ms(t, "u:alice", now + 300), 500);
	/* Keys are independent. */
	ck_assert_uint_eq(throttle_delay_ms(t, "a:127.0.0.1", now + 300), 0);
	ck_assert_uint_eq(throttle_delay_ms(t, "u:bob", now + 300), 0);
	ck_assert_uint_eq(throttle_count(t), 1);
	/* Success forgets the key. */
	throttle_success(t, "u:alice");
	ck_assert_uint_eq(throttle_delay_ms(t, "u:alice", now + 300), 0);
	ck_assert_uint_eq(throttle_failures(t, "u:alice", now + 300), 0);
	ck_assert_uint_eq(throttle_count(t), 0);
	throttle_free(t);
}
END_TEST

START_TEST(test_cap)
{
	struct throttle *t = throttle_new(4);

	for (int i = 0; i < 50; i++)
		throttle_fail(t, "a:192.0.2.1", 0);
	ck_assert_uint_eq(throttle_delay_ms(t, "a:192.0.2.1", 0), THROTTLE_MAX_MS);
	throttle_free(t);
}
END_TEST

START_TEST(test_expiry)
{
	struct throttle *t = throttle_new(4);

	for (int i = 0; i < 6; i++)
		throttle_fail(t, "u:carol", 10);
	ck_assert_uint_eq(throttle_failures(t, "u:carol", 10 + THROTTLE_EXPIRE_MS - 1), 6);
	ck_assert_uint_eq(throttle_delay_ms(t, "u:carol", 10 + THROTTLE_EXPIRE_MS), 0);
	ck_assert_uint_eq(throttle_failures(t, "u:carol", 10 + THROTTLE_EXPIRE_MS), 0);
	/* After expiry the count starts again from one. */
	throttle_fail(t, "u:carol", 10 + THROTTLE_EXPIRE_MS);
	ck_assert_uint_eq(throttle_failures(t, "u:carol", 10 + THROTTLE_EXPIRE_MS), 1);
	/* A clock going backwards neither expires nor breaks anything. */
	ck_assert_uint_eq(throttle_failures(t, "u:carol", 0), 1);
	throttle_free(t);
}
END_TEST

START_TEST(test_bound_evicts_oldest)
{
	struct throttle *t = throttle_new(4);
	char key[32];

	/* key0 is the oldest and the most failed; a flood of new keys evicts it. */
	for (int i = 0; i < 8; i++)
		throttle_fail(t, "a:key0", 0);
	for (int k = 1; k <= 100; k++) {
		snprintf(key, sizeof(key), "a:key%d", k);
		throttle_fail(t, key, k);
		ck_assert_uint_le(throttle_count(t), 4);
	}
	ck_assert_uint_eq(throttle_count(t), 4);
	ck_assert_uint_eq(throttle_failures(t, "a:key0", 100), 0);
	ck_assert_uint_eq(throttle_failures(t, "a:key96", 100), 0);
	for (int k = 97; k <= 100; k++) {
		snprintf(key, sizeof(key), "a:key%d", k);
		ck_assert_uint_eq(throttle_failures(t, key, 100), 1);
	}
	throttle_free(t);
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct throttle *t = throttle_new(2);
	char longkey[200];

	ck_assert_ptr_null(throttle_new(0));
	ck_assert_uint_eq(throttle_delay_ms(NULL, "u:x", 0), 0);
	throttle_fail(NULL, "u:x", 0);
	throttle_success(NULL, "u:x");
	throttle_free(NULL);
	throttle_fail(t, NULL, 0);
	throttle_fail(t, "", 0);
	ck_assert_uint_eq(throttle_count(t), 0);
	ck_assert_uint_eq(throttle_delay_ms(t, NULL, 0), 0);
	/* Over-long keys are cut, not overflowed; the cut key still counts. */
	memset(longkey, 'x', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	for (int i = 0; i < 5; i++)
		throttle_fail(t, longkey, 0);
	ck_assert_uint_eq(throttle_failures(t, longkey, 0), 5);
	ck_assert_uint_eq(throttle_delay_ms(t, longkey, 0), 500);
	throttle_free(t);
}
END_TEST

#define HAMMER_THREADS 4
#define HAMMER_ROUNDS 2000

static void *
hammer(void *arg)
{
	struct throttle *t = arg;
	char key[32];

	for (int i = 0; i < HAMMER_ROUNDS; i++) {
		throttle_fail(t, "u:shared", 1);
		snprintf(key, sizeof(key), "a:%d", i % 50);
		throttle_fail(t, key, 1);
		(void)throttle_delay_ms(t, "u:shared", 1);
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct throttle *t = throttle_new(8);
	pthread_t th[HAMMER_THREADS];

	for (int i = 0; i < HAMMER_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, t), 0);
	for (int i = 0; i < HAMMER_THREADS; i++)
		pthread_join(th[i], NULL);
	/* No lost update on the shared key unless it was evicted (8 slots). */
	ck_assert_uint_le(throttle_count(t), 8);
	ck_assert_uint_le(throttle_failures(t, "u:shared", 1),
	    HAMMER_THREADS * HAMMER_ROUNDS);
	throttle_free(t);
}
END_TEST

START_TEST(test_threads_no_lost_update)
{
	struct throttle *t = throttle_new(64);
	pthread_t th[HAMMER_THREADS];

	for (int i = 0; i < HAMMER_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, t), 0);
	for (int i = 0; i < HAMMER_THREADS; i++)
		pthread_join(th[i], NULL);
	/* 51 keys fit in 64 slots: every failure is counted. */
	ck_assert_uint_eq(throttle_failures(t, "u:shared", 1),
	    HAMMER_THREADS * HAMMER_ROUNDS);
	ck_assert_uint_eq(throttle_count(t), 51);
	throttle_free(t);
}
END_TEST

static Suite *
throttle_suite(void)
{
	Suite *s = suite_create("throttle");
	TCase *tc = tcase_create("throttle");

	tcase_add_loop_test(tc, test_delay_arithmetic, 0,
	    (int)(sizeof(delay_cases) / sizeof(delay_cases[0])));
	tcase_add_test(tc, test_delay_monotonic);
	tcase_add_test(tc, test_grow_wait_and_reset);
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_bound_evicts_oldest);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_threads_no_lost_update);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(throttle_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
