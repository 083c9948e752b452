/*
 * test_adapt.c - --compress auto's decisions on simulated links: deflate
 * where it is clearly faster (a slow link), store where it is not (a fast
 * link, or a gain inside the margin), holds that double while the answer
 * stays, batches built before a switch ignored, and a disabled adapter
 * (never, always, loopback) that never changes its mode.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "adapt.h"

#define MB 4000000ull	/* input bytes of one batch */

/* Feed batches until the adapter is holding (decided); rate[m] is the
 * pipeline's input bytes per second in mode m. */
static int
run_until_decided(struct adapt *ad, const double rate[2], unsigned *batches)
{
	int mode = ad->mode;
	unsigned n = 0;

	do {
		mode = adapt_batch_sent(ad, mode, MB, (double)MB / rate[mode]);
		n++;
	} while ((ad->held == 0 || ad->decided < 0) && n < 10000);
	if (batches != NULL)
		*batches = n;
	return mode;
}

START_TEST(test_slow_link_deflates)
{
	const double rate[2] = { 10e6, 35e6 };	/* deflate 3.5x faster */
	struct adapt ad;
	unsigned n;

	adapt_init(&ad, 1, 0, 3);
	ck_assert_int_eq(run_until_decided(&ad, rate, &n), 1);
	ck_assert_uint_eq(n, 3 + 2 * ADAPT_ROUNDS * ADAPT_WINDOW);	/* warm-up, then windows */
	ck_assert_uint_eq(ad.held, ADAPT_HOLD_DEFLATE);
	/* the same answer again: the hold doubles */
	while (ad.held > 0)
		adapt_batch_sent(&ad, 1, MB, (double)MB / rate[1]);
	ck_assert_int_eq(run_until_decided(&ad, rate, NULL), 1);
	ck_assert_uint_eq(ad.held, 2 * ADAPT_HOLD_DEFLATE);
}
END_TEST

START_TEST(test_fast_link_stores)
{
	const double rate[2] = { 400e6, 180e6 };	/* deflate is the bottleneck */
	struct adapt ad;
	unsigned hold = ADAPT_HOLD_STORE;

	adapt_init(&ad, 1, 0, 0);
	for (int round = 0; round < 8; round++) {
		ck_assert_int_eq(run_until_decided(&ad, rate, NULL), 0);
		ck_assert_uint_eq(ad.held, hold);
		while (ad.held > 0)
			adapt_batch_sent(&ad, 0, MB, (double)MB / rate[0]);
		hold = hold * 2 > ADAPT_HOLD_MAX ? ADAPT_HOLD_MAX : hold * 2;
	}
	ck_assert_uint_eq(ad.hold, ADAPT_HOLD_MAX);	/* capped */
}
END_TEST

START_TEST(test_margin)
{
	const double rate[2] = { 100e6, 110e6 };	/* deflate only 10% faster */
	struct adapt ad;

	adapt_init(&ad, 1, 0, 0);
	ck_assert_int_eq(run_until_decided(&ad, rate, NULL), 0);
}
END_TEST

START_TEST(test_answer_changes)
{
	const double slow[2] = { 10e6, 40e6 }, fast[2] = { 400e6, 100e6 };
	struct adapt ad;

	adapt_init(&ad, 1, 0, 0);
	ck_assert_int_eq(run_until_decided(&ad, slow, NULL), 1);
	while (ad.held > 0)
		adapt_batch_sent(&ad, 1, MB, (double)MB / slow[1]);
	/* the link got fast: store, with the store hold starting over */
	ck_assert_int_eq(run_until_decided(&ad, fast, NULL), 0);
	ck_assert_uint_eq(ad.held, ADAPT_HOLD_STORE);
}
END_TEST

START_TEST(test_stale_batches_ignored)
{
	struct adapt ad;

	adapt_init(&ad, 1, 0, 0);
	/* batches built in the other mode (before a switch) change nothing */
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(adapt_batch_sent(&ad, 1, MB, 1e-6), 0);
	ck_assert_uint_eq(ad.counted, 0);
	ck_assert_int_eq(ad.decided, -1);
}
END_TEST

START_TEST(test_disabled)
{
	struct adapt ad;

	adapt_init(&ad, 0, 1, 0);	/* --compress always */
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(adapt_batch_sent(&ad, 1, MB, i % 2 ? 10.0 : 0.001), 1);
	adapt_init(&ad, 0, 0, 0);	/* never, or auto to a loopback server */
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(adapt_batch_sent(&ad, 0, MB, i % 2 ? 10.0 : 0.001), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("adapt");
	TCase *tc = tcase_create("adapt");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_slow_link_deflates);
	tcase_add_test(tc, test_fast_link_stores);
	tcase_add_test(tc, test_margin);
	tcase_add_test(tc, test_answer_changes);
	tcase_add_test(tc, test_stale_batches_ignored);
	tcase_add_test(tc, test_disabled);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
