/* config.c - flags (kube-proxy's names) and kube-proxy's KubeProxyConfiguration
 * file (read by kpconfig.c), merged into struct sp_config: flags win, unused
 * keys are named once, every value is checked before anything is touched. */
#include "config.h"
#include "duration.h"
#include "kpconfig.h"
#include "../common/version.h"
#include "../control/maglev.h"
#include "../dataplane/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum flag_id {
	F_MODE = 1000, F_MANIFESTS, F_KUBECONFIG, F_MASTER, F_CONFIG, F_HOSTNAME, F_CLUSTER_CIDR,
	F_NODEPORT_ADDRS, F_MASQ_ALL, F_MIN_SYNC, F_SYNC, F_HEALTHZ, F_METRICS, F_CLEANUP,
	F_LOG_FORMAT, F_CGROUP, F_PIN, F_HELP, F_V, F_WATCH_TIMEOUT, F_BPF_MAP_MAX, F_BPF_CT_MAX,
	F_BPF_LB_ALGORITHM, F_BPF_MAGLEV_SIZE, F_TAKEOVER, F_VERSION,
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
	{ "bpf-ct-max", required_argument, NULL, F_BPF_CT_MAX },
	{ "bpf-lb-algorithm", required_argument, NULL, F_BPF_LB_ALGORITHM },
	{ "bpf-lb-maglev-table-size", required_argument, NULL, F_BPF_MAGLEV_SIZE },
	{ "userspace-lb-algorithm", required_argument, NULL, F_US_LB },
	{ "take-over-kube-proxy", optional_argument, NULL, F_TAKEOVER },
	{ "v", required_argument, NULL, F_V },
	{ "help", no_argument, NULL, F_HELP },
	{ "version", no_argument, NULL, F_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* Bounds on durations: a period below these would spin the agent, one above
 * them would never come (kube-proxy has none; they are said in --help). */
#define MIN_SYNC_MAX	3600.0		/* --min-sync-period: 0 to 1h */
#define SYNC_MIN	1.0		/* --sync-period: 1s to 24h */
#define SYNC_MAX	86400.0
#define WATCH_MIN	1.0		/* --api-watch-timeout: 1s to 24h */
#define WATCH_MAX	86400.0
#define CONFIG_MAX	(1 << 20)	/* --config: at most 1 MiB */

static const char usage_head[] = "usage: svcplane [flags]\n";
static const char usage_rest[] =
	"  --manifests DIR              clusterless source: YAML/JSON manifests in DIR, watched\n"
	"  --kubeconfig FILE            Kubernetes API source (default: in-cluster)\n"
	"  --master URL                 API server URL, overrides the kubeconfig's\n"
	"  --api-watch-timeout DURATION each watch's timeoutSeconds, 1s to 24h (default 5-10m at\n"
	"                               random); a watch silent for longer (plus up to 30s) is restarted\n"
	"  --config FILE                KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1),\n"
	"                               at most 1 MiB; svcplane's own keys under svcplane:\n"
	"  --hostname-override NAME     this node's name (default: hostname)\n"
	"  --cluster-cidr CIDR[,CIDR]   traffic from outside it is masqueraded\n"
	"  --nodeport-addresses LIST    CIDR list, or 'primary' (default)\n"
	"  --masquerade-all             masquerade all service traffic\n"
	"  --min-sync-period DURATION   at most one sync per period, 0 to 1h and at most\n"
	"                               --sync-period (default 1s; 0: sync at every change)\n"
	"  --sync-period DURATION       full resync and drift repair, 1s to 24h (default 30s)\n"
	"  --healthz-bind-address ADDR  /healthz, /livez (default 0.0.0.0:10256)\n"
	"  --metrics-bind-address ADDR  /metrics, /proxyMode, /model (default 127.0.0.1:10249)\n"
	"  --take-over-kube-proxy       after the first successful sync, remove kube-proxy's rules\n"
	"                               (iptables-legacy, iptables-nft, nftables) from this node\n"
	"  --cleanup                    remove everything svcplane installed, then exit\n"
	"  --log-format FORMAT          text (default) or json\n"
	"  --cgroup-path PATH           bpf mode: cgroup for socket hooks (default: v2 root)\n"
	"  --bpf-pin-path PATH          bpf mode: pin path (default /sys/fs/bpf/svcplane)\n"
	"  --bpf-lb-map-max N           bpf mode: entries of the service and endpoint maps\n"
	"                               (default 65536; slots get 4 × N)\n"
	"  --bpf-ct-max N               bpf mode: flows the tc programs track (two entries each\n"
	"                               way; default 524288, Cilium's bpf-ct-global-tcp-max)\n"
	"  --bpf-lb-algorithm ALG       bpf mode, traffic from outside the node: random (default)\n"
	"                               or maglev (every node picks the same endpoint for a flow)\n"
	"  --bpf-lb-maglev-table-size N bpf mode: slots of each service's Maglev table, a prime\n"
	"                               in 251-131071, at least 100 × endpoints (default 16381)\n"
	"  --userspace-lb-algorithm A   userspace mode: round-robin (default) or least-connections\n"
	"  --v N                        log verbosity: 0-1 info, 2+ debug\n"
	"  --version                    print the version and exit\n"
	"DURATION is Go's syntax, as kube-proxy's: 500ms, 30s, 1m30s, 2h (a unit is needed).\n";

static const char *const agent_modes[] = { "nftables", "bpf", "userspace", "dry-run", NULL };

static void print_usage(FILE *f)
{
	fputs(usage_head, f);
	fputs("  --mode MODE                  ", f);
	for (size_t i = 0; agent_modes[i]; i++)
		fprintf(f, "%s%s%s%s", i ? ", " : "", agent_modes[i], i ? "" : " (default)",
			sp_backend_find(agent_modes[i]) ? "" : " (not built into this binary)");
	fputs(";\n                               iptables and ipvs run as nftables\n", f);
	fputs(usage_rest, f);
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

/* A reason for an error line, when the value's own text does not say it. */
struct why {
	char text[256];
};

static int fail(struct why *w, const char *fmt, const char *arg)
{
	snprintf(w->text, sizeof(w->text), fmt, arg);
	return -EINVAL;
}

static int parse_mode(const char *v, struct sp_config *cfg, struct why *w)
{
	char built[128] = "";

	cfg->mode_asked[0] = '\0';	/* the last --mode given wins */
	if (!*v || !strcmp(v, "nftables"))
		return set_str(cfg->mode, sizeof(cfg->mode), "nftables");
	if (!strcmp(v, "iptables") || !strcmp(v, "ipvs")) {
		/* Warned once, after flags and file are merged. */
		snprintf(cfg->mode_asked, sizeof(cfg->mode_asked), "%s", v);
		return set_str(cfg->mode, sizeof(cfg->mode), "nftables");
	}
	for (size_t i = 0; agent_modes[i]; i++)
		if (!strcmp(v, agent_modes[i]))
			return set_str(cfg->mode, sizeof(cfg->mode), v);
	for (size_t i = 0; agent_modes[i]; i++)
		if (sp_backend_find(agent_modes[i]))
			snprintf(built + strlen(built), sizeof(built) - strlen(built), "%s%s",
				 *built ? ", " : "", agent_modes[i]);
	return fail(w, "valid modes: nftables, bpf, userspace, dry-run (built into this binary: %s), "
		       "and kube-proxy's iptables and ipvs (run as nftables)", built);
}

/* A duration flag within [@lo, @hi] seconds. */
static int parse_period(const char *v, double lo, double hi, double *out, struct why *w)
{
	char *end;
	int e;

	e = sp_duration_parse(v, out);
	if (e == -EINVAL && strtod(v, &end) >= 0 && end != v && !*end)
		return fail(w, "a duration needs a unit (e.g. %ss)", v);
	if (e)
		return fail(w, "%s", "not a duration (Go syntax: 500ms, 30s, 1m30s, 2h)");
	if (*out < lo || *out > hi) {
		char a[32], b[32];

		snprintf(w->text, sizeof(w->text), "must be between %s and %s",
			 sp_duration_format(lo, a, sizeof(a)), sp_duration_format(hi, b, sizeof(b)));
		return -EINVAL;
	}
	return 0;
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
	cfg->bpf_ct_max = 524288;	/* Cilium's bpf-ct-global-tcp-max default */
	cfg->bpf_lb_algorithm = SP_LB_RANDOM;	/* Cilium's default too */
	cfg->bpf_maglev_table_size = SP_MAGLEV_SIZE_DEFAULT;
}

/* One flag's value into @cfg; on error, @w may say why. */
static int apply_flag(struct sp_config *cfg, int id, const char *v, struct why *w)
{
	switch (id) {
	case F_MODE:
		return parse_mode(v, cfg, w);
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
		return parse_period(v, 0, MIN_SYNC_MAX, &cfg->min_sync_period, w);
	case F_SYNC:
		return parse_period(v, SYNC_MIN, SYNC_MAX, &cfg->sync_period, w);
	case F_HEALTHZ:
		return !*v ? (cfg->healthz_bind[0] = '\0', 0)
			   : parse_bind(v, cfg->healthz_bind, sizeof(cfg->healthz_bind), "10256");
	case F_METRICS:
		return !*v ? (cfg->metrics_bind[0] = '\0', 0)
			   : parse_bind(v, cfg->metrics_bind, sizeof(cfg->metrics_bind), "10249");
	case F_CLEANUP:
		return parse_bool(v, &cfg->cleanup);
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
	case F_TAKEOVER:
		return parse_bool(v, &cfg->take_over_kube_proxy);
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
		return parse_period(v, WATCH_MIN, WATCH_MAX, &cfg->api_watch_timeout, w);
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
	case F_BPF_CT_MAX: {
		char *end;
		unsigned long n = strtoul(v, &end, 10);

		if (!*v || *end || n < 1024 || n > 16777216)
			return -EINVAL;
		cfg->bpf_ct_max = (uint32_t)n;
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

static int flag_id(const char *name)
{
	for (const struct option *o = options; o->name; o++)
		if (!strcmp(o->name, name))
			return o->val;
	return 0;
}

static bool flag_was_set(const char *name, const char *const *set_by_flag)
{
	for (size_t i = 0; set_by_flag && set_by_flag[i]; i++)
		if (!strcmp(set_by_flag[i], name))
			return true;
	return false;
}

int sp_config_apply_file(struct sp_config *cfg, const char *buf, size_t len, const char *file,
			 const char *const *set_by_flag, const struct sp_log *lg)
{
	struct sp_kpconfig *kp = malloc(sizeof(*kp));
	const char *mode_flag = NULL;
	int e;

	if (!kp)
		return -ENOMEM;
	/* --mode iptables|ipvs|nftables picks the block as the file's mode would. */
	if (flag_was_set("mode", set_by_flag))
		mode_flag = cfg->mode_asked[0]		   ? cfg->mode_asked
			    : !strcmp(cfg->mode, "nftables") ? "nftables"
							     : NULL;
	if ((e = sp_kpconfig_read(buf, len, file, mode_flag, kp, lg)))
		goto out;
	for (size_t i = 0; i < kp->n; i++) {
		const struct sp_kp_setting *st = &kp->set[i];
		struct why w = { "" };

		if (flag_was_set(st->flag, set_by_flag))
			continue;
		if (apply_flag(cfg, flag_id(st->flag), st->value, &w)) {
			sp_log_err(lg, "%s: %s: invalid value \"%s\"%s%s", file, st->key, st->value,
				   *w.text ? ": " : "", w.text);
			e = -EINVAL;
			goto out;
		}
	}
	snprintf(cfg->config_block, sizeof(cfg->config_block), "%s", kp->block);
	if (*kp->unused)
		sp_log_warn(lg, "%s: keys svcplane does not use: %s", file, kp->unused);
out:
	free(kp);
	return e;
}

/* The whole --config file, refused when over CONFIG_MAX (never cut short). */
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
	buf = malloc(CONFIG_MAX + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, CONFIG_MAX + 1, f);
	e = ferror(f) ? -EIO : 0;
	fclose(f);
	if (e) {
		sp_log_err(lg, "--config %s: %s", cfg->config_file, strerror(EIO));
	} else if (n > CONFIG_MAX) {
		sp_log_err(lg, "--config %s: larger than 1 MiB: refused (a KubeProxyConfiguration is a few KiB)",
			   cfg->config_file);
		e = -EFBIG;
	} else {
		e = sp_config_apply_file(cfg, buf, n, cfg->config_file, set_by_flag, lg);
	}
	free(buf);
	return e ? -EINVAL : 0;
}

/* Checks across settings, once flags and file are merged. */
static int check_merged(struct sp_config *cfg, const struct sp_log *lg)
{
	if (cfg->min_sync_period > cfg->sync_period) {
		char a[32], b[32];

		sp_log_err(lg, "--min-sync-period %s is longer than --sync-period %s: it must not be",
			   sp_duration_format(cfg->min_sync_period, a, sizeof(a)),
			   sp_duration_format(cfg->sync_period, b, sizeof(b)));
		return -EINVAL;
	}
	if (cfg->mode_asked[0])
		sp_log_warn(lg, "mode %s: svcplane runs its nftables mode in its place (same Services, "
				"nftables rules instead of kube-proxy's %s rules)",
			    cfg->mode_asked, cfg->mode_asked);
	return 0;
}

int sp_config_load(struct sp_config *cfg, int argc, char **argv, const struct sp_log *lg)
{
	const char *set[64] = { NULL };
	int nset = 0, opt, e;

	defaults(cfg);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		struct why w = { "" };

		if (opt == F_HELP || opt == 'h') {
			print_usage(stdout);
			return 1;
		}
		if (opt == F_VERSION) {
			printf("svcplane %s\n", SP_VERSION);
			return 1;
		}
		if (opt == '?' || opt == ':') {
			sp_log_err(lg, "unknown flag or missing value: %s (svcplane --help lists the flags)",
				   argv[optind - 1]);
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
		if ((e = apply_flag(cfg, opt, optarg, &w))) {
			sp_log_err(lg, "--%s: invalid value \"%s\"%s%s", flag_name(opt),
				   optarg ? optarg : "", *w.text ? ": " : "", w.text);
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
	return check_merged(cfg, lg);
}

/* printf at *@off into @buf, never past @sz. */
static void add(char *buf, size_t sz, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= sz)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, sz - *off, fmt, ap);
	va_end(ap);
	*off += n > 0 ? (size_t)n : 0;
}

static void add_cidrs(char *buf, size_t sz, size_t *off, const struct sp_cidrs *l)
{
	char c[SP_ADDRSTRLEN];

	for (int i = 0; i < l->n; i++)
		add(buf, sz, off, "%s%s", i ? "," : "", sp_cidr_str(&l->v[i], c));
	if (!l->n)
		add(buf, sz, off, "none");
}

const char *sp_config_summary(const struct sp_config *cfg, char *buf, size_t sz)
{
	char a[32], b[32];
	size_t off = 0;

	buf[0] = '\0';
	add(buf, sz, &off, "min-sync-period %s, sync-period %s",
	    sp_duration_format(cfg->min_sync_period, a, sizeof(a)),
	    sp_duration_format(cfg->sync_period, b, sizeof(b)));
	if (cfg->config_block[0])
		add(buf, sz, &off, " (config block %s:)", cfg->config_block);
	add(buf, sz, &off, ", masquerade-all %s, cluster-cidr ", cfg->masquerade_all ? "true" : "false");
	add_cidrs(buf, sz, &off, &cfg->cluster_cidrs);
	add(buf, sz, &off, ", nodeport-addresses ");
	if (cfg->nodeport_primary)
		add(buf, sz, &off, "primary");
	else
		add_cidrs(buf, sz, &off, &cfg->nodeport_cidrs);
	add(buf, sz, &off, ", take-over-kube-proxy %s", cfg->take_over_kube_proxy ? "true" : "false");
	return buf;
}
