/* test_metrics.c - the metrics text with kube-proxy's names. */
#include "helpers.h"
#include "../../agent/metrics.h"

#include <stdlib.h>
#include <string.h>

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

Suite *suite_metrics(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_metrics_render_kube_proxy_names);
	suite_add_tcase(s, tc);
	return s;
}
