/* test_config.c - flags, durations and the KubeProxyConfiguration file. */
#include "helpers.h"
#include "../../agent/agent.h"
#include "../../agent/config.h"
#include "../../agent/duration.h"
#include "../../agent/kpconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int load(struct sp_config *cfg, struct captured_log *lg, int argc, char **argv)
{
	return sp_config_load(cfg, argc, argv, &lg->log);
}

START_TEST(test_duration_parse_go_forms)
{
	double d;
	int64_t ns;

	ck_assert_int_eq(sp_duration_parse("1s", &d), 0);
	ck_assert(d == 1);
	ck_assert_int_eq(sp_duration_parse("500ms", &d), 0);
	ck_assert(d == 0.5);
	ck_assert_int_eq(sp_duration_parse("1m30s", &d), 0);
	ck_assert(d == 90);
	ck_assert_int_eq(sp_duration_parse("1h", &d), 0);
	ck_assert(d == 3600);
	ck_assert_int_eq(sp_duration_parse("0", &d), 0);
	ck_assert(d == 0);
	ck_assert_int_eq(sp_duration_parse_ns("1.5h", &ns), 0);
	ck_assert(ns == 5400000000000LL);
	ck_assert_int_eq(sp_duration_parse_ns(".5s", &ns), 0);
	ck_assert(ns == 500000000LL);
	ck_assert_int_eq(sp_duration_parse_ns("1.s", &ns), 0);
	ck_assert(ns == 1000000000LL);
	ck_assert_int_eq(sp_duration_parse_ns("2h45m30.5s", &ns), 0);
	ck_assert(ns == 9930500000000LL);
	ck_assert_int_eq(sp_duration_parse_ns("10us", &ns), 0);
	ck_assert(ns == 10000);
	ck_assert_int_eq(sp_duration_parse_ns("10\xc2\xb5s", &ns), 0);
	ck_assert(ns == 10000);
	ck_assert_int_eq(sp_duration_parse_ns("1ns", &ns), 0);
	ck_assert(ns == 1);
	ck_assert_int_eq(sp_duration_parse_ns("-1.5s", &ns), 0);	/* Go takes a sign */
	ck_assert(ns == -1500000000LL);
	ck_assert_int_eq(sp_duration_parse_ns("2562047h47m16.854775807s", &ns), 0);
	ck_assert(ns == INT64_MAX);
}
END_TEST

/* What Go's time.ParseDuration refuses (issue 19 item 10: nan, inf, 1e400s). */
START_TEST(test_duration_parse_rejects_non_go)
{
	static const char *const bad[] = {
		"5", "1x", "", "nans", "infs", "inf", "NaNs", "1e400s", "1e3s", "0x10s", "s", ".s",
		" 1s", "1s ", "1 s", "1sec", "1.2.3s", "--1s", "+", "1S", "1d", "1m s", NULL,
	};
	int64_t ns;

	for (size_t i = 0; bad[i]; i++)
		ck_assert_msg(sp_duration_parse_ns(bad[i], &ns) == -EINVAL, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(sp_duration_parse_ns("2562048h", &ns), -ERANGE);
	ck_assert_int_eq(sp_duration_parse_ns("9223372036854775808ns", &ns), -ERANGE);
	ck_assert_int_eq(sp_duration_parse_ns("99999999999999999999999s", &ns), -ERANGE);
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
	ck_assert(!cfg.take_over_kube_proxy);
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
	/* The valid modes are listed, and which are built. */
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg), "--mode: invalid value \"ebpf\": valid modes: "
							     "nftables, bpf, userspace, dry-run (built"));
	captured_log_close(&lg);
}
END_TEST

/* Issue 19 item 10: finite, bounded periods; a number without a unit says so. */
START_TEST(test_config_period_bounds)
{
	static const struct {
		const char *flag, *value, *says;
	} cases[] = {
		{ "--sync-period", "1ns", "must be between 1s and 24h0m0s" },
		{ "--sync-period", "25h", "must be between 1s and 24h0m0s" },
		{ "--sync-period", "0", "must be between 1s and 24h0m0s" },
		{ "--sync-period", "nans", "not a duration" },
		{ "--sync-period", "1e400s", "not a duration" },
		{ "--min-sync-period", "infs", "not a duration" },
		{ "--min-sync-period", "-1s", "must be between 0s and 1h0m0s" },
		{ "--min-sync-period", "2h", "must be between 0s and 1h0m0s" },
		{ "--min-sync-period", "5", "a duration needs a unit (e.g. 5s)" },
		{ "--api-watch-timeout", "500ms", "must be between 1s and 24h0m0s" },
	};
	struct captured_log lg;
	struct sp_config cfg;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "svcplane", (char *)cases[i].flag, (char *)cases[i].value, NULL };

		captured_log_open(&lg);
		ck_assert_int_eq(load(&cfg, &lg, 3, argv), -EINVAL);
		ck_assert_int_eq(captured_log_lines(&lg), 1);
		ck_assert_msg(strstr(captured_log_text(&lg), cases[i].says), "%s %s: %s", cases[i].flag,
			      cases[i].value, captured_log_text(&lg));
		captured_log_close(&lg);
	}
	{
		char *argv[] = { "svcplane", "--min-sync-period", "1m", "--sync-period", "30s", NULL };

		captured_log_open(&lg);
		ck_assert_int_eq(load(&cfg, &lg, 5, argv), -EINVAL);
		ck_assert_ptr_nonnull(strstr(captured_log_text(&lg), "longer than --sync-period"));
		captured_log_close(&lg);
	}
	{
		char *argv[] = { "svcplane", "--min-sync-period", "0", "--sync-period", "1s", NULL };

		captured_log_open(&lg);
		ck_assert_int_eq(load(&cfg, &lg, 5, argv), 0);
		ck_assert(cfg.min_sync_period == 0 && cfg.sync_period == 1);
		captured_log_close(&lg);
	}
}
END_TEST

/* --mode iptables|ipvs: one plain warning, once, and nftables runs. */
START_TEST(test_config_mode_iptables_flag_warns_once)
{
	struct captured_log lg;
	struct sp_config cfg;
	char *argv[] = { "svcplane", "--mode", "iptables", NULL };
	char *later[] = { "svcplane", "--mode", "ipvs", "--mode", "dry-run", NULL };

	captured_log_open(&lg);
	ck_assert_int_eq(load(&cfg, &lg, 3, argv), 0);
	ck_assert_str_eq(cfg.mode, "nftables");
	ck_assert_int_eq(captured_log_lines(&lg), 1);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg),
				     "warning mode iptables: svcplane runs its nftables mode in its place"));
	ck_assert_ptr_null(strstr(captured_log_text(&lg), "--mode mode"));
	captured_log_close(&lg);
	captured_log_open(&lg);
	ck_assert_int_eq(load(&cfg, &lg, 5, later), 0);
	ck_assert_str_eq(cfg.mode, "dry-run");
	ck_assert_int_eq(captured_log_lines(&lg), 0);
	captured_log_close(&lg);
}
END_TEST

static const char kube_proxy_cfg[] =
	"apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
	"kind: KubeProxyConfiguration\n"
	"bindAddress: 10.0.0.5\n"
	"clusterCIDR: 10.244.0.0/16\n"
	"clientConnection:\n  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\n  qps: 5\n"
	"healthzBindAddress: 0.0.0.0:10256\n"
	"hostnameOverride: \"\"\n"
	"iptables:\n  masqueradeAll: true\n  minSyncPeriod: 2s\n  syncPeriod: 0s\n"
	"nftables:\n  masqueradeAll: false\n  minSyncPeriod: 3s\n  syncPeriod: 45s\n"
	"metricsBindAddress: \"\"\n"
	"mode: %s\n"
	"nodePortAddresses: [primary]\n"
	"svcplane:\n  manifests: /etc/svcplane/manifests\n  logFormat: json\n  takeOverKubeProxy: true\n";

static struct sp_config fresh(void)
{
	struct sp_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.mode, "nftables");
	cfg.sync_period = 30;
	cfg.min_sync_period = 1;
	cfg.nodeport_primary = true;
	return cfg;
}

START_TEST(test_config_file_nftables_mode_reads_nftables_block)
{
	struct captured_log lg;
	struct sp_config cfg = fresh();
	char text[2048];
	const char *flags[] = { NULL };

	captured_log_open(&lg);
	snprintf(text, sizeof(text), kube_proxy_cfg, "nftables");
	ck_assert_int_eq(sp_config_apply_file(&cfg, text, strlen(text), "kp.yaml", flags, &lg.log), 0);
	ck_assert_str_eq(cfg.mode, "nftables");
	ck_assert(cfg.min_sync_period == 3);
	ck_assert(cfg.sync_period == 45);
	ck_assert(!cfg.masquerade_all);
	ck_assert(cfg.take_over_kube_proxy);
	ck_assert_str_eq(cfg.kubeconfig, "/var/lib/kube-proxy/kubeconfig.conf");
	ck_assert_str_eq(cfg.manifests, "/etc/svcplane/manifests");
	ck_assert_int_eq(cfg.log_format, SP_LOG_JSON);
	ck_assert_int_eq(cfg.cluster_cidrs.n, 1);
	ck_assert(cfg.nodeport_primary);
	/* One warning naming the keys set that svcplane does not use. */
	ck_assert_int_eq(captured_log_lines(&lg), 1);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg),
				     "keys svcplane does not use: clientConnection.qps, bindAddress, "
				     "iptables.masqueradeAll, iptables.minSyncPeriod\n"));
	captured_log_close(&lg);
}
END_TEST

/* mode "" is kube-proxy's iptables mode: the iptables block is in force, a
 * zero there is that mode's default, and flags still win. */
START_TEST(test_config_file_empty_mode_uses_iptables_block)
{
	struct captured_log lg;
	struct sp_config cfg = fresh();
	char text[2048];
	const char *none[] = { NULL };
	const char *flags[] = { "min-sync-period", NULL };

	captured_log_open(&lg);
	snprintf(text, sizeof(text), kube_proxy_cfg, "\"\"");
	ck_assert_int_eq(sp_config_apply_file(&cfg, text, strlen(text), "kp.yaml", none, &lg.log), 0);
	ck_assert(cfg.masquerade_all);
	ck_assert(cfg.min_sync_period == 2);
	ck_assert(cfg.sync_period == 30);	/* 0s: iptables mode's default */
	ck_assert_str_eq(cfg.config_block, "iptables");
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg), "nftables.syncPeriod, nftables.minSyncPeriod"));
	captured_log_close(&lg);

	cfg = fresh();
	cfg.min_sync_period = 0.1;
	captured_log_open(&lg);
	snprintf(text, sizeof(text), kube_proxy_cfg, "iptables");
	ck_assert_int_eq(sp_config_apply_file(&cfg, text, strlen(text), "kp.yaml", flags, &lg.log), 0);
	ck_assert_str_eq(cfg.mode, "nftables");
	ck_assert_str_eq(cfg.mode_asked, "iptables");
	ck_assert(cfg.masquerade_all);
	ck_assert(cfg.min_sync_period == 0.1);	/* the flag wins */
	captured_log_close(&lg);
}
END_TEST

/* --mode iptables (a flag) behaves as mode: iptables in the file: the
 * iptables block is read although the file says nftables. */
START_TEST(test_config_mode_flag_picks_block)
{
	struct captured_log lg;
	struct sp_config cfg = fresh();
	char text[2048];
	const char *flags[] = { "mode", NULL };

	strcpy(cfg.mode_asked, "iptables");
	captured_log_open(&lg);
	snprintf(text, sizeof(text), kube_proxy_cfg, "nftables");
	ck_assert_int_eq(sp_config_apply_file(&cfg, text, strlen(text), "kp.yaml", flags, &lg.log), 0);
	ck_assert(cfg.masquerade_all);	/* iptables.masqueradeAll: true */
	ck_assert(cfg.min_sync_period == 2);
	ck_assert_str_eq(cfg.config_block, "iptables");
	captured_log_close(&lg);
}
END_TEST

/* mode ipvs reads the ipvs block; its zero minSyncPeriod is kube-proxy's 0. */
START_TEST(test_config_file_ipvs_mode_uses_ipvs_block)
{
	struct captured_log lg;
	struct sp_config cfg = fresh();
	const char text[] = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
			    "mode: ipvs\nipvs: {syncPeriod: 20s, scheduler: rr}\n"
			    "iptables: {minSyncPeriod: 7s}\n";
	const char *none[] = { NULL };

	captured_log_open(&lg);
	ck_assert_int_eq(sp_config_apply_file(&cfg, text, strlen(text), "kp.yaml", none, &lg.log), 0);
	ck_assert(cfg.sync_period == 20);
	ck_assert(cfg.min_sync_period == 0);
	/* kube-proxy's ipvs mode serves NodePorts on every address. */
	ck_assert(!cfg.nodeport_primary);
	ck_assert_int_eq(cfg.nodeport_cidrs.n, 2);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg), "iptables.minSyncPeriod"));
	captured_log_close(&lg);
}
END_TEST

/* kubeadm's generated kube-proxy ConfigMap, unchanged: accepted without a
 * line of warning (all it sets is zero or kube-proxy's default); with its
 * iptables block tuned, those values are in force. */
START_TEST(test_config_file_kubeadm_unchanged)
{
	struct captured_log lg;
	struct sp_config cfg = fresh();
	const char *none[] = { NULL };
	char *text, *p;
	size_t len;
	FILE *f = fopen(FIXTURES "/kube-proxy/kubeadm-config.conf", "r");

	ck_assert_ptr_nonnull(f);
	text = calloc(1, 65536);
	len = fread(text, 1, 65535, f);
	fclose(f);
	captured_log_open(&lg);
	ck_assert_int_eq(sp_config_apply_file(&cfg, text, len, "config.conf", none, &lg.log), 0);
	ck_assert_msg(captured_log_lines(&lg) == 0, "%s", captured_log_text(&lg));
	ck_assert(cfg.min_sync_period == 1 && cfg.sync_period == 30);
	ck_assert_str_eq(cfg.config_block, "iptables");
	ck_assert_int_eq(cfg.cluster_cidrs.n, 1);
	ck_assert(!cfg.nodeport_primary);	/* iptables mode: NodePorts on every address */
	captured_log_close(&lg);

	/* iptables:\n  ...\n  minSyncPeriod: 0s\n  syncPeriod: 0s: tune both */
	p = strstr(text, "  minSyncPeriod: 0s\n  syncPeriod: 0s\nipvs:");
	ck_assert_ptr_nonnull(p);
	memcpy(p, "  minSyncPeriod: 5s\n  syncPeriod: 9s", 36);
	cfg = fresh();
	captured_log_open(&lg);
	ck_assert_int_eq(sp_config_apply_file(&cfg, text, len, "config.conf", none, &lg.log), 0);
	ck_assert(cfg.min_sync_period == 5 && cfg.sync_period == 9);
	captured_log_close(&lg);
	free(text);
}
END_TEST

/* Every key kube-proxy knows, with a value its strict decoding or
 * validation refuses: one line naming the key and the value. */
static const struct {
	const char *key, *value, *says;
} bad_values[] = {
	{ "apiVersion", "kubeproxy.config.k8s.io/v1alpha2", "svcplane reads kubeproxy.config.k8s.io/v1alpha1" },
	{ "kind", "KubeletConfiguration", "is not KubeProxyConfiguration" },
	{ "featureGates", "{SomeGate: maybe}", "featureGates.SomeGate: invalid value \"maybe\"" },
	{ "clientConnection", "[1]", "must be a mapping" },
	{ "clientConnection.kubeconfig", "[a]", "must be a string" },
	{ "clientConnection.acceptContentTypes", "7", "must be a string" },
	{ "clientConnection.contentType", "true", "must be a string" },
	{ "clientConnection.qps", "fast", "must be a number" },
	{ "clientConnection.burst", "-1", "must be within the range [0, 2147483647]" },
	{ "logging", "x", "must be a mapping" },
	{ "logging.format", "xml", "must be one of" },
	{ "logging.flushFrequency", "soon", "not a duration" },
	{ "logging.verbosity", "-2", "must be within the range" },
	{ "logging.vmodule", "[{filePattern: x, verbosity: high}]", "filePattern, verbosity" },
	{ "logging.options", "1", "must be a mapping" },
	{ "logging.options.json", "1", "must be a mapping" },
	{ "logging.options.json.splitStream", "yes please", "must be true or false" },
	{ "logging.options.json.infoBufferSize", "lots", "must be a quantity" },
	{ "logging.options.text", "1", "must be a mapping" },
	{ "logging.options.text.splitStream", "\"true\"", "must be true or false" },
	{ "logging.options.text.infoBufferSize", "1Qi", "must be a quantity" },
	{ "hostnameOverride", "12", "must be a string" },
	{ "bindAddress", "0.0.0.256", "not a valid textual representation of an IP address" },
	{ "healthzBindAddress", "0.0.0.0:70000", "healthzBindAddress: invalid value \"0.0.0.0:70000\"" },
	{ "metricsBindAddress", "localhost:x", "metricsBindAddress: invalid value \"localhost:x\"" },
	{ "bindAddressHardFail", "1", "must be true or false" },
	{ "enableProfiling", "on please", "must be true or false" },
	{ "showHiddenMetricsForVersion", "v1", "must be MAJOR.MINOR" },
	{ "mode", "kernelspace", "must be one of: iptables, ipvs, nftables" },
	{ "iptables", "1", "must be a mapping" },
	{ "iptables.masqueradeBit", "32", "must be within the range [0, 31]" },
	{ "iptables.masqueradeAll", "sometimes", "must be true or false" },
	{ "iptables.localhostNodePorts", "0", "must be true or false" },
	{ "iptables.snatNodeInternalIP", "2", "must be true or false" },
	{ "iptables.syncPeriod", "often", "not a duration" },
	{ "iptables.minSyncPeriod", "soon", "iptables.minSyncPeriod: invalid value \"soon\": not a duration" },
	{ "ipvs", "1", "must be a mapping" },
	{ "ipvs.syncPeriod", "30", "must be a duration string" },
	{ "ipvs.minSyncPeriod", "-1s", "must be greater than or equal to 0" },
	{ "ipvs.scheduler", "fastest", "must be one of" },
	{ "ipvs.excludeCIDRs", "[10.0.0.0/33]", "ipvs.excludeCIDRs[0]: invalid value \"10.0.0.0/33\"" },
	{ "ipvs.strictARP", "strict", "must be true or false" },
	{ "ipvs.tcpTimeout", "1e400s", "not a duration" },
	{ "ipvs.tcpFinTimeout", "nans", "not a duration" },
	{ "ipvs.udpTimeout", "infs", "not a duration" },
	{ "nftables", "1", "must be a mapping" },
	{ "nftables.masqueradeBit", "-1", "must be within the range [0, 31]" },
	{ "nftables.masqueradeAll", "null-ish", "must be true or false" },
	{ "nftables.syncPeriod", "1x", "not a duration" },
	{ "nftables.minSyncPeriod", "5", "must be a duration string" },
	{ "winkernel", "1", "must be a mapping" },
	{ "winkernel.networkName", "1", "must be a string" },
	{ "winkernel.sourceVip", "false", "must be a string" },
	{ "winkernel.enableDSR", "dsr", "must be true or false" },
	{ "winkernel.rootHnsEndpointName", "[]", "must be a string" },
	{ "winkernel.forwardHealthCheckVip", "vip", "must be true or false" },
	{ "detectLocalMode", "PodCIDR", "must be one of" },
	{ "detectLocal", "1", "must be a mapping" },
	{ "detectLocal.bridgeInterface", "1", "must be a string" },
	{ "detectLocal.interfaceNamePrefix", "{}", "must be a string" },
	{ "clusterCIDR", "10.0.0.0/8,10.1.0.0/16", "two CIDRs must be one IPv4 and one IPv6" },
	{ "nodePortAddresses", "[primary, 10.0.0.0/8]", "can't use both 'primary' and CIDRs" },
	{ "oomScoreAdj", "-1001", "must be within the range [-1000, 1000]" },
	{ "conntrack", "1", "must be a mapping" },
	{ "conntrack.maxPerCore", "-1", "must be within the range [0, 2147483647]" },
	{ "conntrack.min", "1.5", "must be an integer" },
	{ "conntrack.tcpEstablishedTimeout", "-24h", "must be greater than or equal to 0" },
	{ "conntrack.tcpCloseWaitTimeout", "1hour", "not a duration" },
	{ "conntrack.tcpBeLiberal", "liberal", "must be true or false" },
	{ "conntrack.udpTimeout", "30", "must be a duration string" },
	{ "conntrack.udpStreamTimeout", "5 m", "not a duration" },
	{ "configSyncPeriod", "15 minutes", "not a duration" },
	{ "portRange", "2000-300", "must be a valid port range" },
	{ "windowsRunAsService", "service", "must be true or false" },
	{ "svcplane", "1", "must be a mapping" },
	{ "svcplane.manifests", "[a, b]", "must be a string" },
	{ "svcplane.cgroupPath", "1", "must be a string" },
	{ "svcplane.bpfPinPath", "true", "must be a string" },
	{ "svcplane.bpfLBMapMax", "8", "must be within the range [16, 4194304]" },
	{ "svcplane.bpfCTMax", "1000", "must be within the range [1024, 16777216]" },
	{ "svcplane.bpfLBAlgorithm", "roundrobin", "svcplane.bpfLBAlgorithm: invalid value \"roundrobin\"" },
	{ "svcplane.bpfLBMaglevTableSize", "131101", "must be within the range [251, 131071]" },
	{ "svcplane.logFormat", "xml", "must be one of" },
	{ "svcplane.takeOverKubeProxy", "please", "must be true or false" },
};

/* "a.b.c" with @value as nested YAML, after apiVersion and kind. */
static void nested_yaml(char *buf, size_t sz, const char *key, const char *value)
{
	char path[128], *save = NULL, *seg, *next;
	size_t off;
	int depth = 0;

	if (!strcmp(key, "apiVersion") || !strcmp(key, "kind")) {
		snprintf(buf, sz, "apiVersion: %s\nkind: %s\n",
			 !strcmp(key, "apiVersion") ? value : "kubeproxy.config.k8s.io/v1alpha1",
			 !strcmp(key, "kind") ? value : "KubeProxyConfiguration");
		return;
	}
	off = (size_t)snprintf(buf, sz, "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n");
	snprintf(path, sizeof(path), "%s", key);
	for (seg = strtok_r(path, ".", &save); seg; seg = next, depth++) {
		next = strtok_r(NULL, ".", &save);
		off += (size_t)snprintf(buf + off, sz - off, "%*s%s:%s%s\n", depth * 2, "", seg,
					next ? "" : " ", next ? "" : value);
	}
}

/* Apply @text to a fresh config: @says NULL wants success and no error line;
 * else -EINVAL and exactly one line containing @says and naming the file. */
static void expect_file(const char *text, const char *says, const char *what)
{
	struct captured_log lg;
	struct sp_config cfg = fresh();
	const char *none[] = { NULL };
	int e;

	captured_log_open(&lg);
	e = sp_config_apply_file(&cfg, text, strlen(text), "kp.yaml", none, &lg.log);
	if (!says) {
		ck_assert_msg(e == 0, "%s: %s", what, captured_log_text(&lg));
		ck_assert_msg(!strstr(captured_log_text(&lg), "error"), "%s", captured_log_text(&lg));
	} else {
		ck_assert_msg(e == -EINVAL, "accepted %s", what);
		ck_assert_msg(captured_log_lines(&lg) == 1, "%s: %s", what, captured_log_text(&lg));
		ck_assert_msg(strstr(captured_log_text(&lg), says), "%s: %s", what, captured_log_text(&lg));
		ck_assert_msg(strstr(captured_log_text(&lg), "kp.yaml: "), "%s", captured_log_text(&lg));
	}
	captured_log_close(&lg);
}

START_TEST(test_kpconfig_every_key_validated)
{
	size_t n = sizeof(bad_values) / sizeof(bad_values[0]);
	const char *key;
	int is_block;

	/* Every key of the schema has a case here. */
	for (size_t i = 0; (key = sp_kpconfig_key(i, &is_block)); i++) {
		bool found = false;

		for (size_t j = 0; j < n && !found; j++)
			found = !strcmp(bad_values[j].key, key);
		ck_assert_msg(found, "no validation case for key %s", key);
	}
	for (size_t j = 0; j < n; j++) {
		char text[1024];

		nested_yaml(text, sizeof(text), bad_values[j].key, bad_values[j].value);
		expect_file(text, bad_values[j].says, bad_values[j].key);
	}
}
END_TEST

/* Values kube-proxy accepts, and svcplane with them. */
START_TEST(test_kpconfig_good_values_accepted)
{
	static const struct {
		const char *key, *value;
	} good[] = {
		{ "featureGates", "{NFTablesProxyMode: true}" },
		{ "logging.flushFrequency", "5000000000" },
		{ "logging.flushFrequency", "5s" },
		{ "logging.vmodule", "[{filePattern: 'proxier*', verbosity: 4}]" },
		{ "logging.options.json.infoBufferSize", "64Ki" },
		{ "clusterCIDR", "10.244.0.0/16,fd00:10::/48" },
		{ "nodePortAddresses", "[10.0.0.0/8, 'fd00::/64']" },
		{ "portRange", "30000-32767" },
		{ "portRange", "30000+100" },
		{ "showHiddenMetricsForVersion", "\"1.33\"" },
		{ "iptables.masqueradeBit", "14" },
		{ "nftables.masqueradeBit", "14" },
		{ "ipvs.masqueradeBit", NULL },	/* not a key: checked below */
		{ "detectLocalMode", "ClusterCIDR" },
		{ "healthzBindAddress", "\"[::]:10256\"" },
		{ "metricsBindAddress", "127.0.0.1" },
		{ "conntrack.tcpEstablishedTimeout", "24h0m0s" },
		{ "ipvs.excludeCIDRs", "['10.0.0.0/8']" },
	};
	for (size_t j = 0; j < sizeof(good) / sizeof(good[0]); j++) {
		char text[1024];

		if (!good[j].value)
			continue;
		nested_yaml(text, sizeof(text), good[j].key, good[j].value);
		expect_file(text, NULL, good[j].key);
	}
}
END_TEST

/* Unknown keys, a second document, and values svcplane does not implement
 * are one error line each: never ignored. */
START_TEST(test_kpconfig_unknown_and_refused)
{
	static const struct {
		const char *text, *says;
	} cases[] = {
		{ "frobnicate: 1\n", "kp.yaml: frobnicate: unknown key" },
		{ "iptables: {minSyncPeriod: 1s, minSyncPeriodd: 2s}\n", "iptables.minSyncPeriodd: unknown key" },
		{ "svcplane: {manifest: /x}\n", "svcplane.manifest: unknown key" },
		{ "minSyncPeriod: 1s\n", "minSyncPeriod: unknown key" },
		{ "mode: iptables\n---\nmode: ipvs\n", "a second YAML document" },
		{ "detectLocalMode: NodeCIDR\n", "detectLocalMode: invalid value \"NodeCIDR\": svcplane implements ClusterCIDR only" },
		{ "detectLocalMode: BridgeInterface\ndetectLocal: {bridgeInterface: cbr0}\n", "svcplane implements ClusterCIDR only" },
		{ "detectLocalMode: InterfaceNamePrefix\n", "svcplane implements ClusterCIDR only" },
		{ "iptables: {masqueradeBit: 15}\n", "iptables.masqueradeBit: invalid value \"15\": svcplane marks" },
		{ "mode: nftables\nnftables: {masqueradeBit: 13}\n", "nftables.masqueradeBit: invalid value \"13\"" },
	};
	for (size_t j = 0; j < sizeof(cases) / sizeof(cases[0]); j++) {
		char text[1024];

		snprintf(text, sizeof(text), "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n%s",
			 cases[j].text);
		expect_file(text, cases[j].says, cases[j].text);
	}
}
END_TEST

START_TEST(test_config_file_malformed_value)
{
	struct captured_log lg;
	struct sp_config cfg = fresh();
	const char text[] = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
			    "nftables: {minSyncPeriod: soon}\n";
	const char *flags[] = { NULL };

	captured_log_open(&lg);
	ck_assert_int_eq(sp_config_apply_file(&cfg, text, strlen(text), "kp.yaml", flags, &lg.log), -EINVAL);
	ck_assert_int_eq(captured_log_lines(&lg), 1);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg), "kp.yaml: nftables.minSyncPeriod: invalid value \"soon\""));
	ck_assert_int_eq(sp_config_apply_file(&cfg, "a: [", 4, "kp.yaml", flags, &lg.log), -EINVAL);
	ck_assert_int_eq(sp_config_apply_file(&cfg, "kind: Pod\n", 10, "kp.yaml", flags, &lg.log), -EINVAL);
	captured_log_close(&lg);
}
END_TEST

/* Issue 19 item 12: a --config over 1 MiB is refused with one line, never
 * read in part (a bad value past the cut used to go unseen). */
START_TEST(test_config_file_over_1mib_refused)
{
	char path[] = "/tmp/sp-test-config-XXXXXX";
	int fd = mkstemp(path);
	struct captured_log lg;
	struct sp_config cfg;
	char *argv[] = { "svcplane", "--config", path, NULL };
	const char head[] = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n";
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs(head, f);
	for (size_t n = sizeof(head); n < (1 << 20) + 10; n += 10)
		fputs("#comment.\n", f);
	fputs("iptables: {minSyncPeriod: soon}\n", f);
	fclose(f);
	captured_log_open(&lg);
	ck_assert_int_eq(load(&cfg, &lg, 3, argv), -EINVAL);
	ck_assert_int_eq(captured_log_lines(&lg), 1);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg), "larger than 1 MiB: refused"));
	captured_log_close(&lg);
	/* Just under the limit: read whole, and the bad value is seen. */
	ck_assert_int_eq(truncate(path, (1 << 20) - 40), 0);
	f = fopen(path, "a");
	fputs("\niptables: {minSyncPeriod: soon}\n", f);
	fclose(f);
	captured_log_open(&lg);
	ck_assert_int_eq(load(&cfg, &lg, 3, argv), -EINVAL);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg), "iptables.minSyncPeriod: invalid value \"soon\""));
	captured_log_close(&lg);
	unlink(path);
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

/* --bpf-ct-max: Cilium's default, a value passed to the backend, bounds. */
START_TEST(test_config_bpf_ct_max_flag)
{
	struct captured_log lg;
	struct sp_config cfg;
	char *none[] = { "svcplane", NULL };
	char *big[] = { "svcplane", "--bpf-ct-max", "1048576", NULL };
	char *too_small[] = { "svcplane", "--bpf-ct-max", "1023", NULL };
	char *too_big[] = { "svcplane", "--bpf-ct-max", "16777217", NULL };
	char *not_number[] = { "svcplane", "--bpf-ct-max", "1M", NULL };
	struct sp_backend_cfg bcfg;

	captured_log_open(&lg);
	ck_assert_int_eq(load(&cfg, &lg, 1, none), 0);
	ck_assert_uint_eq(cfg.bpf_ct_max, 524288);
	ck_assert_int_eq(load(&cfg, &lg, 3, big), 0);
	sp_agent_backend_cfg(&cfg, &lg.log, NULL, &bcfg);
	ck_assert_uint_eq(bcfg.bpf_ct_max, 1048576);
	ck_assert_int_eq(load(&cfg, &lg, 3, too_small), -EINVAL);
	ck_assert_int_eq(load(&cfg, &lg, 3, too_big), -EINVAL);
	ck_assert_int_eq(load(&cfg, &lg, 3, not_number), -EINVAL);
	ck_assert_int_eq(captured_log_lines(&lg), 3);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&lg), "--bpf-ct-max: invalid value \"1M\""));
	captured_log_close(&lg);
}
END_TEST

START_TEST(test_config_file_bpf_lb_algorithm_keys)
{
	struct captured_log lg;
	struct sp_config cfg;
	const char text[] = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
			    "svcplane:\n  bpfLBAlgorithm: maglev\n  bpfLBMaglevTableSize: 32749\n";
	const char bad[] = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
			   "svcplane:\n  bpfLBMaglevTableSize: 1000\n";
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
	tcase_add_test(tc, test_duration_parse_rejects_non_go);
	tcase_add_test(tc, test_config_flags_and_defaults);
	tcase_add_test(tc, test_config_bad_flag_one_error_line);
	tcase_add_test(tc, test_config_period_bounds);
	tcase_add_test(tc, test_config_mode_iptables_flag_warns_once);
	tcase_add_test(tc, test_config_file_nftables_mode_reads_nftables_block);
	tcase_add_test(tc, test_config_file_empty_mode_uses_iptables_block);
	tcase_add_test(tc, test_config_file_ipvs_mode_uses_ipvs_block);
	tcase_add_test(tc, test_config_mode_flag_picks_block);
	tcase_add_test(tc, test_config_file_kubeadm_unchanged);
	tcase_add_test(tc, test_kpconfig_every_key_validated);
	tcase_add_test(tc, test_kpconfig_good_values_accepted);
	tcase_add_test(tc, test_kpconfig_unknown_and_refused);
	tcase_add_test(tc, test_config_file_malformed_value);
	tcase_add_test(tc, test_config_file_over_1mib_refused);
	tcase_add_test(tc, test_config_bpf_lb_algorithm_flags);
	tcase_add_test(tc, test_config_bpf_ct_max_flag);
	tcase_add_test(tc, test_config_file_bpf_lb_algorithm_keys);
	suite_add_tcase(s, tc);
	return s;
}
