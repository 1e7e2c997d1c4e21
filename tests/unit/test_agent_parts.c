/* test_agent_parts.c - the sync schedule, the healthz rule and the metrics text. */
#include "helpers.h"
#include "../../agent/health.h"
#include "../../agent/metrics.h"
#include "../../agent/runner.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

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

START_TEST(test_health_rule)
{
	struct sp_health_state h;
	int code;
	char *body;
	cJSON *j;

	sp_health_init(&h, 30);
	ck_assert(!sp_health_ok(&h, 1000));	/* before the first sync */
	sp_health_updated(&h, 1000);
	ck_assert(sp_health_ok(&h, 1000));
	sp_health_queued(&h, 1001);
	ck_assert(sp_health_ok(&h, 1060));
	ck_assert(!sp_health_ok(&h, 1062));	/* waited > 2 × sync-period */
	body = sp_health_body(&h, 1062, false, &code);
	ck_assert_int_eq(code, 503);
	j = cJSON_Parse(body);
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(j, "lastUpdated"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(j, "currentTime"));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "nodeEligible")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "healthy")));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "status"), "IPv4"));
	cJSON_Delete(j);
	free(body);
	sp_health_updated(&h, 1063);
	h.node_eligible = false;
	body = sp_health_body(&h, 1063, false, &code);
	ck_assert_int_eq(code, 503);		/* healthz: node being deleted */
	free(body);
	body = sp_health_body(&h, 1063, true, &code);
	ck_assert_int_eq(code, 200);		/* livez ignores eligibility */
	ck_assert_ptr_null(strstr(body, "nodeEligible"));
	free(body);
}
END_TEST

START_TEST(test_metrics_render_kube_proxy_names)
{
	struct sp_metrics m;
	struct sp_store st;
	char *txt;

	sp_metrics_init(&m, 1700000000);
	ck_assert_int_eq(sp_store_init(&st, "n"), 0);
	sp_histogram_observe(&m.sync, 0.003);
	sp_histogram_observe(&m.sync, 100);
	sp_histogram_observe(&m.netprog, 0.3);
	txt = sp_metrics_render(&m, &st, "nftables");
	ck_assert_ptr_nonnull(txt);
	ck_assert_ptr_nonnull(strstr(txt, "# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(txt, "kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.002\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(txt, "kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.004\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(txt, "kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(txt, "kubeproxy_sync_proxy_rules_duration_seconds_count 2\n"));
	ck_assert_ptr_nonnull(strstr(txt, "kubeproxy_network_programming_duration_seconds_bucket{le=\"0.5\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(txt, "kubeproxy_sync_proxy_rules_endpoint_changes_total 0\n"));
	ck_assert_ptr_nonnull(strstr(txt, "kubeproxy_sync_proxy_rules_nftables_sync_failures_total 0\n"));
	ck_assert_ptr_nonnull(strstr(txt, "process_resident_memory_bytes "));
	free(txt);
	sp_store_fini(&st);
}
END_TEST

Suite *suite_runner(void)
{
	Suite *s = suite_create("runner");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_runner_first_sync_full_then_bounded);
	tcase_add_test(tc, test_runner_failure_backoff_and_full_retry);
	tcase_add_test(tc, test_runner_first_sync_fails_backs_off);
	suite_add_tcase(s, tc);
	return s;
}

Suite *suite_health(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_health_rule);
	suite_add_tcase(s, tc);
	return s;
}

Suite *suite_metrics(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_metrics_render_kube_proxy_names);
	suite_add_tcase(s, tc);
	return s;
}
