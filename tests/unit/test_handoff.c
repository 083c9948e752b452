/*
 * test_handoff.c - the one-deep mailbox between a reading thread and its
 * worker: order, the poster waits for an idle worker, the first error wins.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handoff.h"

struct ctx {
	int seen[64];
	int n;
	int fail_at;		/* item value that fails, or -1 */
	int done_calls;
	int busy_now;		/* 1 while work() runs: never two at once */
	int overlap;
};

static int
work(void *vctx, void *item, abk_err *err)
{
	struct ctx *c = vctx;
	int v = *(int *)item;

	if (c->busy_now)
		c->overlap = 1;
	c->busy_now = 1;
	usleep(1000);		/* the poster must really wait */
	c->seen[c->n++] = v;
	c->busy_now = 0;
	if (v == c->fail_at)
		return abk_err_set(err, ABK_E_IO, "item %d failed", v);
	return ABK_OK;
}

static void
done(void *vctx)
{
	((struct ctx *)vctx)->done_calls++;
}

static void
read_done(void *vctx)
{
	int *out = vctx;

	*out = 1;
}

START_TEST(test_order_and_idle)
{
	struct handoff h;
	struct ctx c;
	int items[2];
	abk_err err = ABK_ERR_INIT;
	int flag = 0;

	memset(&c, 0, sizeof(c));
	c.fail_at = -1;
	ck_assert_int_eq(handoff_start(&h, work, done, &c, &err), ABK_OK);
	for (int i = 0; i < 20; i++) {
		/* two alternating buffers are enough: post waits for idle */
		items[i % 2] = i;
		ck_assert_int_eq(handoff_post(&h, &items[i % 2], &err), ABK_OK);
	}
	ck_assert_int_eq(handoff_post(&h, NULL, &err), ABK_OK);	/* wait only */
	ck_assert_int_eq(c.n, 20);
	handoff_locked(&h, read_done, &flag);
	ck_assert_int_eq(flag, 1);
	ck_assert_int_eq(handoff_finish(&h, ABK_OK, &err), ABK_OK);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(c.seen[i], i);
	ck_assert_int_eq(c.done_calls, 20);
	ck_assert_int_eq(c.overlap, 0);
}
END_TEST

START_TEST(test_first_error_wins)
{
	struct handoff h;
	struct ctx c;
	int items[2];
	abk_err err = ABK_ERR_INIT;
	int rc = ABK_OK, i;

	memset(&c, 0, sizeof(c));
	c.fail_at = 3;
	ck_assert_int_eq(handoff_start(&h, work, NULL, &c, &err), ABK_OK);
	for (i = 0; i < 10 && rc == ABK_OK; i++) {
		items[i % 2] = i;
		rc = handoff_post(&h, &items[i % 2], &err);
	}
	/* the post after the failing item returns its error, without posting */
	ck_assert_int_eq(rc, ABK_E_IO);
	ck_assert_int_eq(i, 5);
	ck_assert_int_eq(c.n, 4);
	ck_assert_str_eq(err.msg, "item 3 failed");
	abk_err_clear(&err);
	ck_assert_int_eq(handoff_finish(&h, ABK_OK, &err), ABK_E_IO);
	ck_assert_str_eq(err.msg, "item 3 failed");
}
END_TEST

START_TEST(test_finish_without_items)
{
	struct handoff h;
	struct ctx c;
	abk_err err = ABK_ERR_INIT;

	memset(&c, 0, sizeof(c));
	c.fail_at = -1;
	ck_assert_int_eq(handoff_start(&h, work, NULL, &c, &err), ABK_OK);
	ck_assert_int_eq(handoff_finish(&h, ABK_OK, &err), ABK_OK);
	ck_assert_int_eq(c.n, 0);
}
END_TEST

static Suite *
handoff_suite(void)
{
	Suite *s = suite_create("handoff");
	TCase *tc = tcase_create("mailbox");

	tcase_add_test(tc, test_order_and_idle);
	tcase_add_test(tc, test_first_error_wins);
	tcase_add_test(tc, test_finish_without_items);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(handoff_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
