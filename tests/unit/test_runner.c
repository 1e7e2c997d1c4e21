/* test_runner.c - the sync schedule: first sync full, then bounded; backoff on failure. */
#include "helpers.h"
#include "../../agent/runner.h"

START_TEST(test_runner_first_sync_full_then_bounded)
{
	struct sp_runner r;
	bool full;

	sp_runner_init(&r, 1.0, 30.0);
	ck_assert(sp_runner_due(&r, 100.0, &full));
	ck_assert(full);
	sp_runner_ran(&r, 100.0, true, true);
	ck_assert(!sp_runner_due(&r, 100.5, &full));
	sp_runner_request(&r, false);
	ck_assert(!sp_runner_due(&r, 100.5, &full));	/* min-sync-period holds it */
	ck_assert(sp_runner_deadline(&r) == 101.0);
	ck_assert(sp_runner_due(&r, 101.0, &full));
	ck_assert(!full);
	sp_runner_ran(&r, 101.0, false, true);
	ck_assert(!sp_runner_due(&r, 129.9, &full));	/* nothing pending */
	ck_assert(sp_runner_due(&r, 130.0, &full));	/* sync-period: full */
	ck_assert(full);
}
END_TEST

START_TEST(test_runner_first_sync_fails_backs_off)
{
	struct sp_runner r;
	bool full;

	sp_runner_init(&r, 1.0, 30.0);
	ck_assert(sp_runner_due(&r, 5000.0, &full));
	sp_runner_ran(&r, 5000.0, true, false);
	ck_assert(!sp_runner_due(&r, 5000.5, &full));	/* no hot retry loop */
	ck_assert(sp_runner_due(&r, 5001.0, &full));
	ck_assert(full);
}
END_TEST

START_TEST(test_runner_failure_backoff_and_full_retry)
{
	struct sp_runner r;
	bool full;

	sp_runner_init(&r, 1.0, 30.0);
	sp_runner_ran(&r, 10.0, true, true);
	sp_runner_request(&r, false);
	sp_runner_ran(&r, 11.0, false, false);
	ck_assert(sp_runner_deadline(&r) == 12.0);
	sp_runner_ran(&r, 12.0, true, false);
	ck_assert(sp_runner_deadline(&r) == 14.0);
	sp_runner_ran(&r, 14.0, true, false);
	ck_assert(sp_runner_deadline(&r) == 18.0);
	ck_assert(sp_runner_due(&r, 18.0, &full));
	ck_assert(full);
	for (int i = 0; i < 10; i++)
		sp_runner_ran(&r, 20.0, true, false);
	ck_assert(sp_runner_deadline(&r) == 40.0 || sp_runner_deadline(&r) <= 50.0);
	sp_runner_ran(&r, 50.0, true, true);
	ck_assert(!sp_runner_due(&r, 50.5, &full));
}
END_TEST

Suite *suite_runner(void)
{
	Suite *s = suite_create("runner");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_runner_first_sync_full_then_bounded);
	tcase_add_test(tc, test_runner_first_sync_fails_backs_off);
	tcase_add_test(tc, test_runner_failure_backoff_and_full_retry);
	suite_add_tcase(s, tc);
	return s;
}
