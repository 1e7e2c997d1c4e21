/* test_log.c - the log line: control bytes escaped; the rate limiter. */
#include "helpers.h"
#include "../../common/log.h"
#include "../../common/ratelimit.h"

#include <string.h>

START_TEST(test_log_control_bytes_escaped)
{
	struct captured_log lg;
	const char *t;

	captured_log_open(&lg);
	sp_log_err(&lg.log, "service %s", "a\x1b]0;owned\x07\x1b[2Jb\r\nc\x7f");
	t = captured_log_text(&lg);
	ck_assert_ptr_null(strchr(t, '\x1b'));
	ck_assert_ptr_null(strchr(t, '\x07'));
	ck_assert_ptr_null(strchr(t, '\x7f'));
	ck_assert_msg(strstr(t, "service a\\x1b]0;owned\\x07\\x1b[2Jb  c\\x7f\n"), "%s", t);
	ck_assert_int_eq(captured_log_lines(&lg), 1);
	captured_log_close(&lg);

	captured_log_open(&lg);
	lg.log.format = SP_LOG_JSON;
	sp_log_err(&lg.log, "service %s", "a\x1b[2J");
	t = captured_log_text(&lg);
	ck_assert_ptr_null(strchr(t, '\x1b'));
	ck_assert_ptr_nonnull(strstr(t, "a\\u001b[2J"));
	captured_log_close(&lg);
}
END_TEST

START_TEST(test_ratelimit_pass_one_per_interval_with_count)
{
	struct sp_ratelimit rl = { .interval = 10 };
	unsigned long skipped = 99;

	ck_assert(sp_ratelimit_pass(&rl, 100, &skipped));
	ck_assert_uint_eq(skipped, 0);
	for (int i = 0; i < 2000; i++)
		ck_assert(!sp_ratelimit_pass(&rl, 100 + i * 0.001, &skipped));
	ck_assert(sp_ratelimit_pass(&rl, 110.5, &skipped));
	ck_assert_uint_eq(skipped, 2000);
}
END_TEST

Suite *suite_log(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_log_control_bytes_escaped);
	tcase_add_test(tc, test_ratelimit_pass_one_per_interval_with_count);
	suite_add_tcase(s, tc);
	return s;
}
