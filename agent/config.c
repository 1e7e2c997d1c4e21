/* config.c - flags (kube-proxy's names) and kube-proxy's KubeProxyConfiguration
 * file, merged into struct sp_config: flags win, unused keys are named once. */
#include "config.h"
#include "../control/k8s.h"
#include "../control/k8s_field.h"
#include "../control/maglev.h"
#include "../control/yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

enum flag_id {
	F_MODE = 1000, F_MANIFESTS, F_KUBECONFIG, F_MASTER, F_CONFIG, F_HOSTNAME, F_CLUSTER_CIDR,
	F_NODEPORT_ADDRS, F_MASQ_ALL, F_MIN_SYNC, F_SYNC, F_HEALTHZ, F_METRICS, F_CLEANUP,
	F_LOG_FORMAT, F_CGROUP, F_PIN, F_HELP, F_V, F_WATCH_TIMEOUT, F_BPF_MAP_MAX,
	F_BPF_LB_ALGORITHM, F_BPF_MAGLEV_SIZE,
	F_US_LB,
};

static const struct option options[] = {
	{ "mode", required_argument, NULL, F_MODE },
	{ "manifests", required_argument, NULL, F_MANIFESTS },
	{ "kubeconfig", required_argument, NULL, F_KUBECONFIG },
	{ "master", required_argument, NULL, F_MASTER },
	{ "config", required_argument, NULL, F_CONFIG },
	{ "hostname-override", required_argument, NULL, F_HOSTNAME },
	{ "cluster-cidr", required_argument, NULL, F_CLUSTER_CIDR },
	{ "nodeport-addresses", required_argument, NULL, F_NODEPORT_ADDRS },
	{ "masquerade-all", optional_argument, NULL, F_MASQ_ALL },
	{ "min-sync-period", required_argument, NULL, F_MIN_SYNC },
	{ "sync-period", required_argument, NULL, F_SYNC },
	{ "healthz-bind-address", required_argument, NULL, F_HEALTHZ },
	{ "metrics-bind-address", required_argument, NULL, F_METRICS },
	{ "cleanup", optional_argument, NULL, F_CLEANUP },
	{ "log-format", required_argument, NULL, F_LOG_FORMAT },
	{ "cgroup-path", required_argument, NULL, F_CGROUP },
	{ "bpf-pin-path", required_argument, NULL, F_PIN },
	{ "api-watch-timeout", required_argument, NULL, F_WATCH_TIMEOUT },
	{ "bpf-lb-map-max", required_argument, NULL, F_BPF_MAP_MAX },
	{ "bpf-lb-algorithm", required_argument, NULL, F_BPF_LB_ALGORITHM },
	{ "bpf-lb-maglev-table-size", required_argument, NULL, F_BPF_MAGLEV_SIZE },
	{ "userspace-lb-algorithm", required_argument, NULL, F_US_LB },
	{ "v", required_argument, NULL, F_V },
	{ "help", no_argument, NULL, F_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char usage[] =
	"usage: svcplane [flags]\n"
	"  --mode MODE                  nftables (default), bpf, userspace, dry-run\n"
	"  --manifests DIR              clusterless source: YAML/JSON manifests in DIR, watched\n"
	"  --kubeconfig FILE            Kubernetes API source (default: in-cluster)\n"
	"  --master URL                 API server URL, overrides the kubeconfig's\n"
	"  --api-watch-timeout DURATION each watch's timeoutSeconds (default 5-10m at random);\n"
	"                               a watch silent for longer (plus up to 30s) is restarted\n"
	"  --config FILE                KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1)\n"
	"  --hostname-override NAME     this node's name (default: hostname)\n"
	"  --cluster-cidr CIDR[,CIDR]   traffic from outside it is masqueraded\n"
	"  --nodeport-addresses LIST    CIDR list, or 'primary' (default)\n"
	"  --masquerade-all             masquerade all service traffic\n"
	"  --min-sync-period DURATION   at most one sync per period (default 1s)\n"
	"  --sync-period DURATION       full resync and drift repair (default 30s)\n"
	"  --healthz-bind-address ADDR  /healthz, /livez (default 0.0.0.0:10256)\n"
	"  --metrics-bind-address ADDR  /metrics, /proxyMode, /model (default 127.0.0.1:10249)\n"
	"  --cleanup                    remove everything svcplane installed, then exit\n"
	"  --log-format FORMAT          text (default) or json\n"
	"  --cgroup-path PATH           bpf mode: cgroup for socket hooks (default: v2 root)\n"
	"  --bpf-pin-path PATH          bpf mode: pin path (default /sys/fs/bpf/svcplane)\n"
	"  --bpf-lb-map-max N           bpf mode: entries of the service and endpoint maps\n"
	"                               (default 65536; slots and sockets get 4 × N)\n"
	"  --bpf-lb-algorithm ALG       bpf mode, traffic from outside the node: random (default)\n"
	"                               or maglev (every node picks the same endpoint for a flow)\n"
	"  --bpf-lb-maglev-table-size N bpf mode: slots of each service's Maglev table, a prime\n"
	"                               in 251-131071, at least 100 × endpoints (default 16381)\n"
	"  --userspace-lb-algorithm A   userspace mode: round-robin (default) or least-connections\n"
	"  --v N                        log verbosity: 0-1 info, 2+ debug\n";

int sp_duration_parse(const char *s, double *out)
{
	double total = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "0")) {
		*out = 0;
		return 0;
	}
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		double unit;

		if (end == p || v < 0)
			return -EINVAL;
		p = end;
		if (!strncmp(p, "ms", 2)) {
			unit = 0.001;
			p += 2;
		} else if (!strncmp(p, "us", 2)) {
			unit = 1e-6;
			p += 2;
		} else if (!strncmp(p, "ns", 2)) {
			unit = 1e-9;
			p += 2;
		} else if (*p == 's') {
			unit = 1;
			p++;
		} else if (*p == 'm') {
			unit = 60;
			p++;
		} else if (*p == 'h') {
			unit = 3600;
			p++;
		} else {
			return -EINVAL;
		}
		total += v * unit;
	}
	*out = total;
	return 0;
}

static int set_str(char *dst, size_t sz, const char *v)
{
	if (strlen(v) >= sz)
		return -ENAMETOOLONG;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* "1.2.3.0/24,fd00::/64" → @out. Returns 0 or -EINVAL. */
static int parse_cidr_list(const char *s, struct sp_cidrs *out)
{
	char buf[1024], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	out->n = 0;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (out->n == SP_MAX_CIDRS || sp_cidr_parse(tok, false, &out->v[out->n]))
			return -EINVAL;
		out->n++;
	}
	return 0;
}

static int parse_nodeport(const char *s, struct sp_config *cfg)
{
	if (!strcmp(s, "primary") || !*s) {
		cfg->nodeport_primary = true;
		cfg->nodeport_cidrs.n = 0;
		return 0;
	}
	cfg->nodeport_primary = false;
	return parse_cidr_list(s, &cfg->nodeport_cidrs);
}

/* "host:port" with an IPv4 host, "[v6]:port", or a bare IP (port kept from @dflt). */
static int parse_bind(const char *s, char *dst, size_t sz, const char *dflt_port)
{
	char host[128];
	const char *colon;
	struct sp_addr a;
	long port;
	char *end;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (size_t)(close - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, close - s - 1);
		host[close - s - 1] = '\0';
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] && !colon)
			return -EINVAL;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			colon = NULL;	/* bare IPv6 */
		if ((colon ? (size_t)(colon - s) : strlen(s)) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - s) : (int)strlen(s), s);
	}
	if (sp_addr_parse(host, &a))
		return -EINVAL;
	if (colon) {
		port = strtol(colon + 1, &end, 10);
		if (*end || end == colon + 1 || port < 0 || port > 65535)
			return -EINVAL;
	} else {
		port = strtol(dflt_port, NULL, 10);
	}
	snprintf(dst, sz, a.family == AF_INET6 ? "[%s]:%ld" : "%s:%ld", host, port);
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (!s || !strcmp(s, "true") || !strcmp(s, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "false") || !strcmp(s, "0")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

static int parse_mode(const char *v, struct sp_config *cfg, const struct sp_log *lg, bool from_file)
{
	if (!*v || !strcmp(v, "nftables"))
		return set_str(cfg->mode, sizeof(cfg->mode), "nftables");
	if (!strcmp(v, "iptables") || !strcmp(v, "ipvs")) {
		sp_log_warn(lg, "%s mode \"%s\": svcplane programs nftables in its place",
			    from_file ? "config" : "--mode", v);
		return set_str(cfg->mode, sizeof(cfg->mode), "nftables");
	}
	if (!strcmp(v, "bpf") || !strcmp(v, "userspace") || !strcmp(v, "dry-run"))
		return set_str(cfg->mode, sizeof(cfg->mode), v);
	return -EINVAL;
}

static void defaults(struct sp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->mode, "nftables");
	if (gethostname(cfg->hostname, sizeof(cfg->hostname)) == -1)
		strcpy(cfg->hostname, "localhost");
	cfg->hostname[sizeof(cfg->hostname) - 1] = '\0';
	for (char *p = cfg->hostname; *p; p++)	/* node names are lower case */
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	cfg->nodeport_primary = true;
	cfg->min_sync_period = 1;
	cfg->sync_period = 30;
	strcpy(cfg->healthz_bind, "0.0.0.0:10256");
	strcpy(cfg->metrics_bind, "127.0.0.1:10249");
	strcpy(cfg->bpf_pin_path, "/sys/fs/bpf/svcplane");
	cfg->bpf_lb_map_max = 65536;	/* Cilium's bpf-lb-map-max default */
	cfg->bpf_lb_algorithm = SP_LB_RANDOM;	/* Cilium's default too */
	cfg->bpf_maglev_table_size = SP_MAGLEV_SIZE_DEFAULT;
}

/* One flag's value into @cfg. @name is used in the error line. */
static int apply_flag(struct sp_config *cfg, int id, const char *v, const struct sp_log *lg)
{
	double d;

	switch (id) {
	case F_MODE:
		return parse_mode(v, cfg, lg, false);
	case F_MANIFESTS:
		return set_str(cfg->manifests, sizeof(cfg->manifests), v);
	case F_KUBECONFIG:
		return set_str(cfg->kubeconfig, sizeof(cfg->kubeconfig), v);
	case F_MASTER:
		return set_str(cfg->master, sizeof(cfg->master), v);
	case F_CONFIG:
		return set_str(cfg->config_file, sizeof(cfg->config_file), v);
	case F_HOSTNAME:
		return *v ? set_str(cfg->hostname, sizeof(cfg->hostname), v) : -EINVAL;
	case F_CLUSTER_CIDR:
		return parse_cidr_list(v, &cfg->cluster_cidrs);
	case F_NODEPORT_ADDRS:
		return parse_nodeport(v, cfg);
	case F_MASQ_ALL:
		return parse_bool(v, &cfg->masquerade_all);
	case F_MIN_SYNC:
	case F_SYNC:
		if (sp_duration_parse(v, &d) || (id == F_SYNC && d <= 0))
			return -EINVAL;
		*(id == F_SYNC ? &cfg->sync_period : &cfg->min_sync_period) = d;
		return 0;
	case F_HEALTHZ:
		return !*v ? (cfg->healthz_bind[0] = '\0', 0)
			   : parse_bind(v, cfg->healthz_bind, sizeof(cfg->healthz_bind), "10256");
	case F_METRICS:
		return !*v ? (cfg->metrics_bind[0] = '\0', 0)
			   : parse_bind(v, cfg->metrics_bind, sizeof(cfg->metrics_bind), "10249");
	case F_CLEANUP:
		return parse_bool(v, &cfg->cleanup);
	case F_LOG_FORMAT:
		if (!strcmp(v, "text"))
			cfg->log_format = SP_LOG_TEXT;
		else if (!strcmp(v, "json"))
			cfg->log_format = SP_LOG_JSON;
		else
			return -EINVAL;
		return 0;
	case F_CGROUP:
		return set_str(cfg->cgroup_path, sizeof(cfg->cgroup_path), v);
	case F_PIN:
		return set_str(cfg->bpf_pin_path, sizeof(cfg->bpf_pin_path), v);
	case F_WATCH_TIMEOUT:
		if (sp_duration_parse(v, &d) || d < 1)
			return -EINVAL;
		cfg->api_watch_timeout = d;
		return 0;
	case F_US_LB:
		if (strcmp(v, "round-robin") && strcmp(v, "least-connections"))
			return -EINVAL;
		cfg->us_least_conns = !strcmp(v, "least-connections");
		return 0;
	case F_BPF_MAP_MAX: {
		char *end;
		unsigned long n = strtoul(v, &end, 10);

		if (!*v || *end || n < 16 || n > 4194304)	/* 4 × N slots must fit a u32 */
			return -EINVAL;
		cfg->bpf_lb_map_max = (uint32_t)n;
		return 0;
	}
	case F_BPF_LB_ALGORITHM:
		return sp_lb_algorithm_parse(v, &cfg->bpf_lb_algorithm);
	case F_BPF_MAGLEV_SIZE: {
		char *end;
		unsigned long n = strtoul(v, &end, 10);

		/* a prime in Cilium's range; each table checks its endpoints itself */
		if (!*v || *end || n < SP_MAGLEV_SIZE_MIN || n > SP_MAGLEV_SIZE_MAX ||
		    sp_maglev_check_size((uint32_t)n, 0, NULL))
			return -EINVAL;
		cfg->bpf_maglev_table_size = (uint32_t)n;
		return 0;
	}
	}
	return -EINVAL;
}

static const char *flag_name(int id)
{
	for (const struct option *o = options; o->name; o++)
		if (o->val == id)
			return o->name;
	return "?";
}

/* Config keys, their flag, and where they live. */
struct key_map {
	const char *path;	/* dotted path in the file */
	int flag;
};

static const struct key_map file_keys[] = {
	{ "mode", F_MODE },
	{ "clusterCIDR", F_CLUSTER_CIDR },
	{ "hostnameOverride", F_HOSTNAME },
	{ "healthzBindAddress", F_HEALTHZ },
	{ "metricsBindAddress", F_METRICS },
	{ "nodePortAddresses", F_NODEPORT_ADDRS },
	{ "clientConnection.kubeconfig", F_KUBECONFIG },
	{ "minSyncPeriod", F_MIN_SYNC },	/* v1alpha2 puts these at the top level */
	{ "syncPeriod", F_SYNC },
	{ "@proxier.minSyncPeriod", F_MIN_SYNC },	/* nftables: or iptables: block */
	{ "@proxier.syncPeriod", F_SYNC },
	{ "@proxier.masqueradeAll", F_MASQ_ALL },
	{ "svcplane.manifests", F_MANIFESTS },
	{ "svcplane.cgroupPath", F_CGROUP },
	{ "svcplane.bpfPinPath", F_PIN },
	{ "svcplane.bpfLBMapMax", F_BPF_MAP_MAX },
	{ "svcplane.bpfLBAlgorithm", F_BPF_LB_ALGORITHM },
	{ "svcplane.bpfLBMaglevTableSize", F_BPF_MAGLEV_SIZE },
	{ "svcplane.logFormat", F_LOG_FORMAT },
};

/* The value at @path as flag text in @buf; NULL when absent, null or "". */
static const char *value_text(const cJSON *v, char *buf, size_t sz)
{
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (cJSON_IsString(v))
		return *v->valuestring ? v->valuestring : NULL;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (cJSON_IsNumber(v)) {
		snprintf(buf, sz, "%g", v->valuedouble);
		return buf;
	}
	if (cJSON_IsArray(v)) {
		const cJSON *it;
		size_t off = 0;

		buf[0] = '\0';
		cJSON_ArrayForEach(it, v) {
			if (!cJSON_IsString(it))
				return "(not a list of strings)";
			off += (size_t)snprintf(buf + off, off < sz ? sz - off : 0, "%s%s",
						off ? "," : "", it->valuestring);
		}
		return off ? buf : NULL;
	}
	return "(not a scalar)";
}

static bool flag_was_set(int id, const char *const *set_by_flag)
{
	for (size_t i = 0; set_by_flag && set_by_flag[i]; i++)
		if (!strcmp(set_by_flag[i], flag_name(id)))
			return true;
	return false;
}

/* Every key path under @o not marked used, as "a.b, c" into @buf. */
static void unused_keys(const cJSON *o, const char *prefix, const cJSON *used, char *buf,
			size_t sz)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, o) {
		char path[256];

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", it->string);
		if (cJSON_GetObjectItemCaseSensitive(used, path))
			continue;
		/* Blocks holding keys we use: name their unused members one by one. */
		if (cJSON_IsObject(it) && it->child &&
		    (!strcmp(path, "nftables") || !strcmp(path, "iptables") ||
		     !strcmp(path, "svcplane") || !strcmp(path, "clientConnection"))) {
			unused_keys(it, path, used, buf, sz);
			continue;
		}
		if (!strcmp(path, "apiVersion") || !strcmp(path, "kind"))
			continue;
		if (strlen(buf) + strlen(path) + 3 < sz)
			strcat(strcat(buf, *buf ? ", " : ""), path);
	}
}

int sp_config_apply_file(struct sp_config *cfg, const char *buf, size_t len, const char *file,
			 const char *const *set_by_flag, const struct sp_log *lg)
{
	struct sp_perr perr = {0};
	cJSON *docs = sp_yaml_load(buf, len, &perr), *root, *used = cJSON_CreateObject();
	const char *kind, *mode_txt, *proxier;
	char unused[1024] = "";
	int e = -EINVAL;

	if (!docs) {
		sp_log_err(lg, "%s: %s", file, errno == ENOMEM ? "out of memory" : perr.msg);
		goto out;
	}
	root = cJSON_GetArrayItem(docs, 0);
	if (!cJSON_IsObject(root)) {
		sp_log_err(lg, "%s: not a KubeProxyConfiguration (no YAML mapping)", file);
		goto out;
	}
	kind = sp_meta_get(root, "kind");
	if (kind && strcmp(kind, "KubeProxyConfiguration")) {
		sp_log_err(lg, "%s: kind \"%s\" is not KubeProxyConfiguration", file, kind);
		goto out;
	}
	mode_txt = sp_meta_get(root, "mode");
	proxier = mode_txt && !strcmp(mode_txt, "iptables") ? "iptables" : "nftables";
	for (size_t i = 0; i < sizeof(file_keys) / sizeof(file_keys[0]); i++) {
		const struct key_map *k = &file_keys[i];
		char path[128], txt[1024], *dot;
		const cJSON *v = root;
		const char *val;

		if (k->path[0] == '@')
			snprintf(path, sizeof(path), "%s%s", proxier, strchr(k->path, '.'));
		else
			snprintf(path, sizeof(path), "%s", k->path);
		for (char *seg = path, *next; seg && v; seg = next) {
			dot = strchr(seg, '.');
			next = dot ? dot + 1 : NULL;
			if (dot)
				*dot = '\0';
			v = sp_field(v, seg);
			if (dot)
				*dot = '.';
		}
		if (!v)
			continue;
		cJSON_AddTrueToObject(used, path);
		val = value_text(v, txt, sizeof(txt));
		if (!val || flag_was_set(k->flag, set_by_flag))
			continue;
		/* "0s" in a generated file means "use the default". */
		if (k->flag == F_SYNC && (!strcmp(val, "0s") || !strcmp(val, "0")))
			continue;
		if (apply_flag(cfg, k->flag, val, lg)) {
			sp_log_err(lg, "%s: %s: invalid value \"%s\"", file, path, val);
			goto out;
		}
	}
	unused_keys(root, "", used, unused, sizeof(unused));
	if (*unused)
		sp_log_warn(lg, "%s: keys svcplane does not use: %s", file, unused);
	e = 0;
out:
	cJSON_Delete(docs);
	cJSON_Delete(used);
	return e;
}

static int load_file(struct sp_config *cfg, const char *const *set_by_flag,
		     const struct sp_log *lg)
{
	FILE *f = fopen(cfg->config_file, "re");
	char *buf;
	size_t n;
	int e;

	if (!f) {
		sp_log_err(lg, "--config %s: %s", cfg->config_file, strerror(errno));
		return -EINVAL;
	}
	buf = malloc(1 << 20);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	e = sp_config_apply_file(cfg, buf, n, cfg->config_file, set_by_flag, lg);
	free(buf);
	return e;
}

int sp_config_load(struct sp_config *cfg, int argc, char **argv, const struct sp_log *lg)
{
	const char *set[64] = { NULL };
	int nset = 0, opt, e;

	defaults(cfg);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == F_HELP) {
			fputs(usage, stdout);
			return 1;
		}
		if (opt == '?' || opt == ':') {
			sp_log_err(lg, "unknown flag or missing value: %s", argv[optind - 1]);
			return -EINVAL;
		}
		if (opt == F_V) {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v < 0) {
				sp_log_err(lg, "--v: invalid value \"%s\"", optarg);
				return -EINVAL;
			}
			cfg->verbosity = (int)v;
			continue;
		}
		if ((e = apply_flag(cfg, opt, optarg, lg))) {
			sp_log_err(lg, "--%s: invalid value \"%s\"", flag_name(opt),
				   optarg ? optarg : "");
			return -EINVAL;
		}
		if (nset < 63)
			set[nset++] = flag_name(opt);
	}
	if (optind < argc) {
		sp_log_err(lg, "unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	if (cfg->config_file[0] && (e = load_file(cfg, set, lg)))
		return e;
	return 0;
}
