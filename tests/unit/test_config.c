/* test_config.c - flags, durations and the KubeProxyConfiguration file. */
#include "helpers.h"
#include "../../agent/agent.h"
#include "../../agent/config.h"

#include <string.h>

static int load(struct sp_config *cfg, struct captured_log *lg, int argc, char **argv)
{
	return sp_config_load(cfg, argc, argv, &lg->log);
}

START_TEST(test_duration_parse_go_forms)
{
	double d;

	ck_assert_int_eq(sp_duration_parse("1s", &d), 0);
	ck_assert(d == 1);
	ck_assert_int_eq(sp_duration_parse("500ms", &d), 0);
	ck_assert(d == 0.5);
	ck_assert_int_eq(sp_duration_parse("1m30s", &d), 0);
	ck_assert(d == 90);
	ck_assert_int_eq(sp_duration_parse("1h", &d), 0);
	ck_assert(d == 3600);
	ck_assert_int_eq(sp_duration_parse("0", &d), 0);
	ck_assert_int_lt(sp_duration_parse("5", &d), 0);
	ck_assert_int_lt(sp_duration_parse("1x", &d), 0);
	ck_assert_int_lt(sp_duration_parse("", &d), 0);
	ck_assert_int_lt(sp_duration_parse("-1s", &d), 0);
}
END_TEST

START_TEST(test_config_flags_and_defaults)
{
	struct captured_log lg;
	struct sp_config cfg;
	char *argv[] = { "svcplane", "--mode", "dry-run", "--cluster-cidr", "198.18.0.0/16,fd00:10::/48",
			 "--min-sync-period=200ms", "--healthz-bind-address", "127.0.0.1:12345",
			 "--nodeport-addresses", "198.19.0.0/24", "--masquerade-all", NULL };

	captured_log_open(&lg);
	ck_assert_int_eq(load(&cfg, &lg, 11, argv), 0);
	ck_assert_str_eq(cfg.mode, "dry-run");
	ck_assert_int_eq(cfg.cluster_cidrs.n, 2);
	ck_assert(cfg.min_sync_period == 0.2);
	ck_assert(cfg.sync_period == 30);
	ck_assert_str_eq(cfg.healthz_bind, "127.0.0.1:12345");
	ck_assert_str_eq(cfg.metrics_bind, "127.0.0.1:10249");
	ck_assert(!cfg.nodeport_primary);
	ck_assert(cfg.masquerade_all);
	ck_assert_int_eq(captured_log_lines(&lg), 0);
	captured_log_close(&lg);
}
END_TEST

START_TEST(test_config_bad_flag_one_error_line)
{
	struct captured_log lg;
	struct sp_config cfg;
	char *bad_mode[] = { "svcplane", "--mode", "ebpf", NULL };
	char *bad_cidr[] = { "svcplane", "--cluster-cidr", "10.0.0.0/40", NULL };
	char *bad_bind[] = { "svcplane", "--metrics-bind-address", "localhost:x", NULL };
	char *unknown[] = { "svcplane", "--frobnicate", NULL };

	captured_log_open(&lg);
	ck_assert_int_eq(load(&cfg, &lg, 3, bad_mode), -EINVAL);
	ck_assert_int_eq(load(&cfg, &lg, 3, bad_cidr), -EINVAL);
	ck_assert_int_eq(load(&cfg, &lg, 3, bad_bind), -EINVAL);
	ck_assert_int_eq(load(&cfg, &lg, 2, unknown), -EINVAL);
	ck_assert_int_eq(captured_log_lines(&lg), 4);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg), "--mode: invalid value \"ebpf\""));
	captured_log_close(&lg);
}
END_TEST

static const char kube_proxy_cfg[] =
	"apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
	"kind: KubeProxyConfiguration\n"
	"bindAddress: 0.0.0.0\n"
	"clusterCIDR: 10.244.0.0/16\n"
	"clientConnection:\n  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\n  qps: 5\n"
	"healthzBindAddress: 0.0.0.0:10256\n"
	"hostnameOverride: \"\"\n"
	"iptables:\n  masqueradeAll: true\n  minSyncPeriod: 2s\n  syncPeriod: 0s\n"
	"nftables:\n  masqueradeAll: false\n  minSyncPeriod: 3s\n  syncPeriod: 45s\n"
	"metricsBindAddress: \"\"\n"
	"mode: %s\n"
	"nodePortAddresses: [primary]\n"
	"svcplane:\n  manifests: /etc/svcplane/manifests\n  logFormat: json\n";

START_TEST(test_config_file_kube_proxy_unchanged)
{
	struct captured_log lg;
	struct sp_config cfg;
	char text[2048];
	const char *flags[] = { NULL };

	captured_log_open(&lg);
	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.mode, "nftables");
	cfg.sync_period = 30;
	snprintf(text, sizeof(text), kube_proxy_cfg, "\"\"");
	ck_assert_int_eq(sp_config_apply_file(&cfg, text, strlen(text), "kp.yaml", flags, &lg.log), 0);
	ck_assert_str_eq(cfg.mode, "nftables");
	ck_assert(cfg.min_sync_period == 3);
	ck_assert(cfg.sync_period == 45);
	ck_assert(!cfg.masquerade_all);
	ck_assert_str_eq(cfg.kubeconfig, "/var/lib/kube-proxy/kubeconfig.conf");
	ck_assert_str_eq(cfg.manifests, "/etc/svcplane/manifests");
	ck_assert_int_eq(cfg.log_format, SP_LOG_JSON);
	ck_assert_int_eq(cfg.cluster_cidrs.n, 1);
	ck_assert(cfg.nodeport_primary);
	/* One warning naming the keys svcplane does not use. */
	ck_assert_int_eq(captured_log_lines(&lg), 1);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg), "bindAddress, clientConnection.qps, iptables.masqueradeAll"));
	captured_log_close(&lg);
}
END_TEST

START_TEST(test_config_file_iptables_mode_uses_iptables_block)
{
	struct captured_log lg;
	struct sp_config cfg;
	char text[2048];
	const char *flags[] = { "min-sync-period", NULL };

	captured_log_open(&lg);
	memset(&cfg, 0, sizeof(cfg));
	cfg.sync_period = 30;
	cfg.min_sync_period = 0.1;
	snprintf(text, sizeof(text), kube_proxy_cfg, "iptables");
	ck_assert_int_eq(sp_config_apply_file(&cfg, text, strlen(text), "kp.yaml", flags, &lg.log), 0);
	ck_assert_str_eq(cfg.mode, "nftables");
	ck_assert(cfg.masquerade_all);
	ck_assert(cfg.min_sync_period == 0.1);	/* the flag wins */
	ck_assert(cfg.sync_period == 30);	/* 0s means the default */
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg), "svcplane programs nftables"));
	captured_log_close(&lg);
}
END_TEST

START_TEST(test_config_file_malformed_value)
{
	struct captured_log lg;
	struct sp_config cfg;
	const char text[] = "kind: KubeProxyConfiguration\nnftables: {minSyncPeriod: soon}\n";
	const char *flags[] = { NULL };

	captured_log_open(&lg);
	memset(&cfg, 0, sizeof(cfg));
	ck_assert_int_eq(sp_config_apply_file(&cfg, text, strlen(text), "kp.yaml", flags, &lg.log), -EINVAL);
	ck_assert_int_eq(captured_log_lines(&lg), 1);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg),
				     "kp.yaml: nftables.minSyncPeriod: invalid value \"soon\""));
	ck_assert_int_eq(sp_config_apply_file(&cfg, "a: [", 4, "kp.yaml", flags, &lg.log), -EINVAL);
	ck_assert_int_eq(sp_config_apply_file(&cfg, "kind: Pod\n", 10, "kp.yaml", flags, &lg.log), -EINVAL);
	captured_log_close(&lg);
}
END_TEST

START_TEST(test_config_bpf_lb_algorithm_flags)
{
	struct captured_log lg;
	struct sp_config cfg;
	char *none[] = { "svcplane", NULL };
	char *maglev[] = { "svcplane", "--bpf-lb-algorithm", "maglev",
			   "--bpf-lb-maglev-table-size", "65521", NULL };
	char *bad_alg[] = { "svcplane", "--bpf-lb-algorithm", "roundrobin", NULL };
	char *not_prime[] = { "svcplane", "--bpf-lb-maglev-table-size", "16380", NULL };
	char *too_small[] = { "svcplane", "--bpf-lb-maglev-table-size", "241", NULL };
	char *too_big[] = { "svcplane", "--bpf-lb-maglev-table-size", "131101", NULL };
	char *not_number[] = { "svcplane", "--bpf-lb-maglev-table-size", "16381x", NULL };
	struct sp_backend_cfg bcfg;

	captured_log_open(&lg);
	ck_assert_int_eq(load(&cfg, &lg, 1, none), 0);
	ck_assert_int_eq(cfg.bpf_lb_algorithm, SP_LB_RANDOM);
	ck_assert_uint_eq(cfg.bpf_maglev_table_size, 16381);
	ck_assert_int_eq(load(&cfg, &lg, 5, maglev), 0);
	ck_assert_int_eq(cfg.bpf_lb_algorithm, SP_LB_MAGLEV);
	ck_assert_uint_eq(cfg.bpf_maglev_table_size, 65521);
	sp_agent_backend_cfg(&cfg, &lg.log, NULL, &bcfg);
	ck_assert_int_eq(bcfg.bpf_lb_algorithm, SP_LB_MAGLEV);
	ck_assert_uint_eq(bcfg.bpf_maglev_table_size, 65521);
	ck_assert_int_eq(captured_log_lines(&lg), 0);
	ck_assert_int_eq(load(&cfg, &lg, 3, bad_alg), -EINVAL);
	ck_assert_int_eq(load(&cfg, &lg, 3, not_prime), -EINVAL);
	ck_assert_int_eq(load(&cfg, &lg, 3, too_small), -EINVAL);	/* prime, below 251 */
	ck_assert_int_eq(load(&cfg, &lg, 3, too_big), -EINVAL);	/* prime, above 131071 */
	ck_assert_int_eq(load(&cfg, &lg, 3, not_number), -EINVAL);
	ck_assert_int_eq(captured_log_lines(&lg), 5);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg),
				     "--bpf-lb-algorithm: invalid value \"roundrobin\""));
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg),
				     "--bpf-lb-maglev-table-size: invalid value \"16380\""));
	captured_log_close(&lg);
}
END_TEST

START_TEST(test_config_file_bpf_lb_algorithm_keys)
{
	struct captured_log lg;
	struct sp_config cfg;
	const char text[] = "kind: KubeProxyConfiguration\n"
			    "svcplane:\n  bpfLBAlgorithm: maglev\n  bpfLBMaglevTableSize: 32749\n";
	const char bad[] = "kind: KubeProxyConfiguration\nsvcplane:\n  bpfLBMaglevTableSize: 1000\n";
	const char *flags[] = { NULL };

	captured_log_open(&lg);
	memset(&cfg, 0, sizeof(cfg));
	ck_assert_int_eq(sp_config_apply_file(&cfg, text, strlen(text), "kp.yaml", flags, &lg.log), 0);
	ck_assert_int_eq(cfg.bpf_lb_algorithm, SP_LB_MAGLEV);
	ck_assert_uint_eq(cfg.bpf_maglev_table_size, 32749);
	ck_assert_int_eq(captured_log_lines(&lg), 0);	/* no key left unused */
	ck_assert_int_eq(sp_config_apply_file(&cfg, bad, strlen(bad), "kp.yaml", flags, &lg.log),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg),
				     "kp.yaml: svcplane.bpfLBMaglevTableSize: invalid value \"1000\""));
	captured_log_close(&lg);
}
END_TEST

Suite *suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_duration_parse_go_forms);
	tcase_add_test(tc, test_config_flags_and_defaults);
	tcase_add_test(tc, test_config_bad_flag_one_error_line);
	tcase_add_test(tc, test_config_file_kube_proxy_unchanged);
	tcase_add_test(tc, test_config_file_iptables_mode_uses_iptables_block);
	tcase_add_test(tc, test_config_file_malformed_value);
	tcase_add_test(tc, test_config_bpf_lb_algorithm_flags);
	tcase_add_test(tc, test_config_file_bpf_lb_algorithm_keys);
	suite_add_tcase(s, tc);
	return s;
}
