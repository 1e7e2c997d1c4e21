/* kpconfig.c - the KubeProxyConfiguration schema (every v1alpha1 key, its type
 * and kube-proxy's validation of it) and the flag settings svcplane takes from it. */
#include "kpconfig.h"
#include "duration.h"
#include "../common/addr.h"
#include "../control/k8s.h"
#include "../control/k8s_field.h"
#include "../control/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define KP_API_VERSION "kubeproxy.config.k8s.io/v1alpha1"

enum kind {
	K_OBJ,		/* a block of the keys below it (a mapping, or null) */
	K_STR,
	K_BOOL,
	K_INT,		/* an integer in [min, max] */
	K_FLOAT,	/* clientConnection.qps */
	K_DUR,		/* metav1.Duration: Go duration text, ≥ 0 */
	K_DUR_OR_NS,	/* logging.flushFrequency: Go duration text or nanoseconds */
	K_QUANTITY,	/* logging.options.*.infoBufferSize: "0", "64Ki", or a number */
	K_IP,		/* bindAddress: an IP, or "" */
	K_HOSTPORT,	/* healthzBindAddress, metricsBindAddress: IP:port, bare IP, or "" */
	K_CLUSTER_CIDR,	/* one CIDR or a dual-stack pair, comma separated */
	K_CIDR_LIST,	/* ipvs.excludeCIDRs */
	K_NODEPORTS,	/* nodePortAddresses: CIDRs, or "primary" alone */
	K_PORT_RANGE,	/* portRange: "", "N", "A-B" or "A+N" */
	K_ENUM,		/* one of @enums */
	K_BOOL_MAP,	/* featureGates: name → bool */
	K_VMODULE,	/* logging.vmodule: [{filePattern, verbosity}] */
	K_VERSION,	/* showHiddenMetricsForVersion: "" or "MAJOR.MINOR" */
};

struct key {
	const char *path;
	enum kind kind;
	const char *flag;	/* the flag it sets; NULL: svcplane does not use it */
	const char *block;	/* per-mode key: read only when this block is the mode's */
	long min, max;		/* K_INT */
	const char *const *enums;
};

static const char *const modes[] = { "", "iptables", "ipvs", "nftables",
				     /* svcplane's own modes, accepted here too */
				     "bpf", "userspace", "dry-run", NULL };
static const char *const local_modes[] = { "", "ClusterCIDR", "NodeCIDR", "BridgeInterface",
					   "InterfaceNamePrefix", NULL };
static const char *const schedulers[] = { "", "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh",
					  "dh", "sed", "nq", "mh", NULL };
static const char *const log_formats[] = { "", "text", "json", NULL };

#define I32 -2147483648L, 2147483647L
static const struct key keys[] = {
	{ "apiVersion", K_STR },
	{ "kind", K_STR },
	{ "featureGates", K_BOOL_MAP },
	{ "clientConnection", K_OBJ },
	{ "clientConnection.kubeconfig", K_STR, "kubeconfig" },
	{ "clientConnection.acceptContentTypes", K_STR },
	{ "clientConnection.contentType", K_STR },
	{ "clientConnection.qps", K_FLOAT },
	{ "clientConnection.burst", K_INT, NULL, NULL, 0, 2147483647L },
	{ "logging", K_OBJ },
	{ "logging.format", K_ENUM, NULL, NULL, 0, 0, log_formats },
	{ "logging.flushFrequency", K_DUR_OR_NS },
	{ "logging.verbosity", K_INT, NULL, NULL, 0, 4294967295L },
	{ "logging.vmodule", K_VMODULE },
	{ "logging.options", K_OBJ },
	{ "logging.options.json", K_OBJ },
	{ "logging.options.json.splitStream", K_BOOL },
	{ "logging.options.json.infoBufferSize", K_QUANTITY },
	{ "logging.options.text", K_OBJ },
	{ "logging.options.text.splitStream", K_BOOL },
	{ "logging.options.text.infoBufferSize", K_QUANTITY },
	{ "hostnameOverride", K_STR, "hostname-override" },
	{ "bindAddress", K_IP },
	{ "healthzBindAddress", K_HOSTPORT, "healthz-bind-address" },
	{ "metricsBindAddress", K_HOSTPORT, "metrics-bind-address" },
	{ "bindAddressHardFail", K_BOOL },
	{ "enableProfiling", K_BOOL },
	{ "showHiddenMetricsForVersion", K_VERSION },
	{ "mode", K_ENUM, "mode", NULL, 0, 0, modes },
	{ "iptables", K_OBJ },
	{ "iptables.masqueradeBit", K_INT, NULL, NULL, 0, 31 },
	{ "iptables.masqueradeAll", K_BOOL, "masquerade-all", "iptables" },
	{ "iptables.localhostNodePorts", K_BOOL },
	{ "iptables.snatNodeInternalIP", K_BOOL },
	{ "iptables.syncPeriod", K_DUR, "sync-period", "iptables" },
	{ "iptables.minSyncPeriod", K_DUR, "min-sync-period", "iptables" },
	{ "ipvs", K_OBJ },
	{ "ipvs.syncPeriod", K_DUR, "sync-period", "ipvs" },
	{ "ipvs.minSyncPeriod", K_DUR, "min-sync-period", "ipvs" },
	{ "ipvs.scheduler", K_ENUM, NULL, NULL, 0, 0, schedulers },
	{ "ipvs.excludeCIDRs", K_CIDR_LIST },
	{ "ipvs.strictARP", K_BOOL },
	{ "ipvs.tcpTimeout", K_DUR },
	{ "ipvs.tcpFinTimeout", K_DUR },
	{ "ipvs.udpTimeout", K_DUR },
	{ "nftables", K_OBJ },
	{ "nftables.masqueradeBit", K_INT, NULL, NULL, 0, 31 },
	{ "nftables.masqueradeAll", K_BOOL, "masquerade-all", "nftables" },
	{ "nftables.syncPeriod", K_DUR, "sync-period", "nftables" },
	{ "nftables.minSyncPeriod", K_DUR, "min-sync-period", "nftables" },
	{ "winkernel", K_OBJ },
	{ "winkernel.networkName", K_STR },
	{ "winkernel.sourceVip", K_STR },
	{ "winkernel.enableDSR", K_BOOL },
	{ "winkernel.rootHnsEndpointName", K_STR },
	{ "winkernel.forwardHealthCheckVip", K_BOOL },
	{ "detectLocalMode", K_ENUM, NULL, NULL, 0, 0, local_modes },
	{ "detectLocal", K_OBJ },
	{ "detectLocal.bridgeInterface", K_STR },
	{ "detectLocal.interfaceNamePrefix", K_STR },
	{ "clusterCIDR", K_CLUSTER_CIDR, "cluster-cidr" },
	{ "nodePortAddresses", K_NODEPORTS, "nodeport-addresses" },
	{ "oomScoreAdj", K_INT, NULL, NULL, -1000, 1000 },
	{ "conntrack", K_OBJ },
	{ "conntrack.maxPerCore", K_INT, NULL, NULL, 0, 2147483647L },
	{ "conntrack.min", K_INT, NULL, NULL, 0, 2147483647L },
	{ "conntrack.tcpEstablishedTimeout", K_DUR },
	{ "conntrack.tcpCloseWaitTimeout", K_DUR },
	{ "conntrack.tcpBeLiberal", K_BOOL },
	{ "conntrack.udpTimeout", K_DUR },
	{ "conntrack.udpStreamTimeout", K_DUR },
	{ "configSyncPeriod", K_DUR },
	{ "portRange", K_PORT_RANGE },
	{ "windowsRunAsService", K_BOOL },
	/* svcplane's own settings, for which kube-proxy has no key */
	{ "svcplane", K_OBJ },
	{ "svcplane.manifests", K_STR, "manifests" },
	{ "svcplane.cgroupPath", K_STR, "cgroup-path" },
	{ "svcplane.bpfPinPath", K_STR, "bpf-pin-path" },
	{ "svcplane.bpfLBMapMax", K_INT, "bpf-lb-map-max", NULL, 16, 4194304 },
	{ "svcplane.bpfCTMax", K_INT, "bpf-ct-max", NULL, 1024, 16777216 },
	{ "svcplane.bpfLBAlgorithm", K_STR, "bpf-lb-algorithm" },
	{ "svcplane.bpfLBMaglevTableSize", K_INT, "bpf-lb-maglev-table-size", NULL, 251, 131071 },
	{ "svcplane.logFormat", K_ENUM, "log-format", NULL, 0, 0, log_formats },
	{ "svcplane.takeOverKubeProxy", K_BOOL, "take-over-kube-proxy" },
};

/* What kube-proxy runs for a mode's zero periods (pkg/proxy/apis/config/v1alpha1 defaults). */
static const struct {
	const char *block, *min_sync, *sync;
} mode_defaults[] = {
	{ "iptables", "1s", "30s" },
	{ "ipvs", "0s", "30s" },
	{ "nftables", "1s", "30s" },
};

struct ctx {
	const char *file;
	const struct sp_log *lg;
};

static const struct key *find_key(const char *path)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].path, path))
			return &keys[i];
	return NULL;
}

/* @v as text for an error line (strings unquoted, others as JSON, cut short). */
static const char *show(const cJSON *v, char *buf, size_t sz)
{
	char *j;

	if (cJSON_IsString(v)) {
		snprintf(buf, sz, "%s", v->valuestring);
		return buf;
	}
	j = cJSON_PrintUnformatted(v);
	snprintf(buf, sz, "%s", j ? j : "?");
	free(j);
	if (strlen(buf) > 80)
		strcpy(buf + 77, "...");
	return buf;
}

static int bad(const struct ctx *c, const char *path, const cJSON *v, const char *why)
{
	char txt[128];

	sp_log_err(c->lg, "%s: %s: invalid value \"%s\": %s", c->file, path, show(v, txt, sizeof(txt)),
		   why);
	return -EINVAL;
}

static bool is_int(const cJSON *v, long min, long max)
{
	return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
	       v->valuedouble >= (double)min && v->valuedouble <= (double)max;
}

/* "0", "64Ki", "1M", "1.5e3": resource.Quantity's shape, loosely. */
static bool quantity(const char *s)
{
	char *end;

	if (!*s)
		return false;
	strtod(s, &end);
	if (end == s || isinf(strtod(s, NULL)) || isnan(strtod(s, NULL)))
		return false;
	return !*end || !strcmp(end, "Ki") || !strcmp(end, "Mi") || !strcmp(end, "Gi") ||
	       !strcmp(end, "Ti") || !strcmp(end, "k") || !strcmp(end, "M") || !strcmp(end, "G") ||
	       !strcmp(end, "T") || !strcmp(end, "m");
}

/* "N", "A-B", "A+N" with ports in 0-65535 (utilnet.ParsePortRange). */
static bool port_range(const char *s)
{
	char *end;
	long a, b;

	if (!*s)
		return true;
	a = strtol(s, &end, 10);
	if (end == s || a < 0 || a > 65535)
		return false;
	if (!*end)
		return true;
	if (*end != '-' && *end != '+')
		return false;
	s = end + 1;
	b = strtol(s, &end, 10);
	if (end == s || *end || b < 0)
		return false;
	return s[-1] == '-' ? b <= 65535 && b >= a : a + b - 1 <= 65535;
}

static bool cidr_ok(const char *s)
{
	struct sp_addr a;

	return sp_cidr_parse(s, false, &a) == 0 && strchr(s, '/');
}

static int check_cluster_cidr(const struct ctx *c, const char *path, const cJSON *v)
{
	char buf[512], *save = NULL, *tok;
	int n = 0, fam[3] = {0};
	struct sp_addr a;

	if (strlen(v->valuestring) >= sizeof(buf))
		return bad(c, path, v, "too long");
	strcpy(buf, v->valuestring);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == 2)
			return bad(c, path, v, "one CIDR, or a dual-stack pair (e.g. 10.100.0.0/16,fde4:8dba:82e1::/48)");
		if (!cidr_ok(tok) || sp_cidr_parse(tok, false, &a))
			return bad(c, path, v, "must be a valid CIDR block (e.g. 10.100.0.0/16 or fde4:8dba:82e1::/48)");
		fam[n++] = a.family;
	}
	if (n == 2 && fam[0] == fam[1])
		return bad(c, path, v, "two CIDRs must be one IPv4 and one IPv6");
	return 0;
}

static int check_list(const struct ctx *c, const struct key *k, const char *path, const cJSON *v)
{
	const cJSON *it;
	int i = 0, n = cJSON_GetArraySize(v);

	if (!cJSON_IsArray(v))
		return bad(c, path, v, "must be a list");
	cJSON_ArrayForEach(it, v) {
		char ip[300];

		snprintf(ip, sizeof(ip), "%s[%d]", path, i++);
		if (!cJSON_IsString(it))
			return bad(c, ip, it, "must be a string");
		if (k->kind == K_NODEPORTS && !strcmp(it->valuestring, "primary")) {
			if (n != 1)
				return bad(c, ip, it, "can't use both 'primary' and CIDRs");
			continue;
		}
		if (!cidr_ok(it->valuestring))
			return bad(c, ip, it, "must be a valid CIDR");
	}
	return 0;
}

static int check_vmodule(const struct ctx *c, const char *path, const cJSON *v)
{
	const cJSON *it;

	if (!cJSON_IsArray(v))
		return bad(c, path, v, "must be a list of {filePattern, verbosity}");
	cJSON_ArrayForEach(it, v) {
		const cJSON *f;

		if (!cJSON_IsObject(it))
			return bad(c, path, it, "must be a list of {filePattern, verbosity}");
		cJSON_ArrayForEach(f, it) {
			if (!strcmp(f->string, "filePattern") && cJSON_IsString(f))
				continue;
			if (!strcmp(f->string, "verbosity") && is_int(f, 0, 4294967295L))
				continue;
			return bad(c, path, it, "must be a list of {filePattern, verbosity}");
		}
	}
	return 0;
}

static int check_obj(const struct ctx *c, const cJSON *o, const char *prefix);

/* One value against its key's type and kube-proxy's validation. */
static int check_value(const struct ctx *c, const struct key *k, const char *path, const cJSON *v)
{
	struct sp_addr a;
	int64_t ns;
	int e;

	if (cJSON_IsNull(v))
		return 0;	/* absent: kube-proxy's default */
	switch (k->kind) {
	case K_OBJ:
		return cJSON_IsObject(v) ? check_obj(c, v, path) : bad(c, path, v, "must be a mapping");
	case K_BOOL:
		return cJSON_IsBool(v) ? 0 : bad(c, path, v, "must be true or false");
	case K_INT:
		if (is_int(v, k->min, k->max))
			return 0;
		if (!is_int(v, -9007199254740992L, 9007199254740992L))
			return bad(c, path, v, "must be an integer");
		{
			char why[96];

			snprintf(why, sizeof(why), "must be within the range [%ld, %ld]", k->min, k->max);
			return bad(c, path, v, why);
		}
	case K_FLOAT:
		return cJSON_IsNumber(v) ? 0 : bad(c, path, v, "must be a number");
	case K_DUR_OR_NS:
		if (is_int(v, 0, 9007199254740992L))
			return 0;
		/* fall through */
	case K_DUR:
		if (!cJSON_IsString(v))
			return bad(c, path, v, "must be a duration string (e.g. \"30s\", \"1m\")");
		e = sp_duration_parse_ns(v->valuestring, &ns);
		if (e == -ERANGE)
			return bad(c, path, v, "duration out of range");
		if (e)
			return bad(c, path, v, "not a duration (Go syntax: \"500ms\", \"30s\", \"1m30s\", \"2h\")");
		return ns < 0 ? bad(c, path, v, "must be greater than or equal to 0") : 0;
	case K_QUANTITY:
		if (cJSON_IsNumber(v) || (cJSON_IsString(v) && quantity(v->valuestring)))
			return 0;
		return bad(c, path, v, "must be a quantity (e.g. \"0\", \"64Ki\")");
	case K_BOOL_MAP: {
		const cJSON *it;

		if (!cJSON_IsObject(v))
			return bad(c, path, v, "must be a mapping of feature names to true or false");
		cJSON_ArrayForEach(it, v) {
			char fp[300];

			snprintf(fp, sizeof(fp), "%s.%s", path, it->string);
			if (!cJSON_IsBool(it))
				return bad(c, fp, it, "must be true or false");
		}
		return 0;
	}
	case K_VMODULE:
		return check_vmodule(c, path, v);
	case K_CIDR_LIST:
	case K_NODEPORTS:
		return check_list(c, k, path, v);
	default:
		break;
	}
	/* The rest are strings. */
	if (!cJSON_IsString(v))
		return bad(c, path, v, "must be a string");
	switch (k->kind) {
	case K_ENUM:
		for (const char *const *m = k->enums; *m; m++)
			if (!strcmp(*m, v->valuestring))
				return 0;
		{
			char why[256] = "must be one of:";

			for (const char *const *m = k->enums; *m; m++)
				if (**m && strlen(why) + strlen(*m) + 4 < sizeof(why))
					strcat(strcat(why, m == k->enums + 1 ? " " : ", "), *m);
			strcat(why, k->enums[0][0] ? "" : ", or \"\"");
			return bad(c, path, v, why);
		}
	case K_IP:
		return !*v->valuestring || !sp_addr_parse(v->valuestring, &a)
			       ? 0
			       : bad(c, path, v, "not a valid textual representation of an IP address");
	case K_CLUSTER_CIDR:
		return *v->valuestring ? check_cluster_cidr(c, path, v) : 0;
	case K_PORT_RANGE:
		return port_range(v->valuestring) ? 0
						 : bad(c, path, v, "must be a valid port range (e.g. 300-2000)");
	case K_VERSION: {
		unsigned maj, min;
		char end;

		if (!*v->valuestring || sscanf(v->valuestring, "%u.%u%c", &maj, &min, &end) == 2)
			return 0;
		return bad(c, path, v, "must be MAJOR.MINOR (e.g. \"1.33\")");
	}
	default:
		return 0;	/* K_STR, K_HOSTPORT (its flag checks the form) */
	}
}

/* Every member of @o is a key kube-proxy knows (or svcplane's block's), and valid. */
static int check_obj(const struct ctx *c, const cJSON *o, const char *prefix)
{
	const cJSON *it;
	int e;

	cJSON_ArrayForEach(it, o) {
		char path[256];
		const struct key *k;

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", it->string);
		k = find_key(path);
		if (!k) {
			sp_log_err(c->lg, "%s: %s: unknown key (not a KubeProxyConfiguration %s key%s)",
				   c->file, path, KP_API_VERSION,
				   strncmp(path, "svcplane.", 9) ? "; svcplane's own go under svcplane:"
								 : ", nor svcplane's");
			return -EINVAL;
		}
		if ((e = check_value(c, k, path, it)))
			return e;
	}
	return 0;
}

/* The value at dotted @path of @root, or NULL. */
static const cJSON *at(const cJSON *root, const char *path)
{
	char buf[256], *save = NULL, *seg;
	const cJSON *v = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = strtok_r(buf, ".", &save); seg && v; seg = strtok_r(NULL, ".", &save))
		v = cJSON_IsObject(v) ? sp_field(v, seg) : NULL;
	return v;
}

/* Zero, null, "", "0s", false, [] and {}: what a generated file writes for "unset". */
static bool is_zero(const cJSON *v)
{
	if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return true;
	if (cJSON_IsNumber(v))
		return v->valuedouble == 0;
	if (cJSON_IsString(v))
		return !*v->valuestring || !strcmp(v->valuestring, "0s") || !strcmp(v->valuestring, "0");
	if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
		const cJSON *it;

		cJSON_ArrayForEach(it, v)
			if (!is_zero(it))
				return false;
		return true;
	}
	return false;
}

/* Values of keys svcplane does not read that say what svcplane does anyway:
 * not worth a warning. */
static bool means_default(const struct key *k, const cJSON *v)
{
	if (!strcmp(k->path, "apiVersion") || !strcmp(k->path, "kind"))
		return true;
	/* kube-proxy's default: no override of the node's primary IP */
	if (!strcmp(k->path, "bindAddress"))
		return !strcmp(v->valuestring, "0.0.0.0") || !strcmp(v->valuestring, "::");
	/* svcplane's masquerade mark is bit 14 (0x4000) */
	if (strstr(k->path, ".masqueradeBit"))
		return v->valuedouble == 14;
	return false;
}

static void add_unused(struct sp_kpconfig *out, const char *path)
{
	size_t l = strlen(out->unused);

	if (l + strlen(path) + 3 < sizeof(out->unused))
		snprintf(out->unused + l, sizeof(out->unused) - l, "%s%s", l ? ", " : "", path);
}

static int add_setting(struct sp_kpconfig *out, const char *path, const char *flag, const char *val)
{
	struct sp_kp_setting *s;

	if (out->n == SP_KP_MAX_SETTINGS)
		return -ENOSPC;
	s = &out->set[out->n++];
	snprintf(s->key, sizeof(s->key), "%s", path);
	s->flag = flag;
	snprintf(s->value, sizeof(s->value), "%s", val);
	return 0;
}

/* @v as flag text (lists comma-joined) into @buf; NULL for null or "". */
static const char *flag_text(const cJSON *v, char *buf, size_t sz)
{
	const cJSON *it;
	size_t off = 0;

	if (cJSON_IsString(v))
		return *v->valuestring ? v->valuestring : NULL;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (cJSON_IsNumber(v)) {
		snprintf(buf, sz, "%.0f", v->valuedouble);
		return buf;
	}
	if (!cJSON_IsArray(v))
		return NULL;
	buf[0] = '\0';
	cJSON_ArrayForEach(it, v)
		off += (size_t)snprintf(buf + off, off < sz ? sz - off : 0, "%s%s", off ? "," : "",
					it->valuestring);
	return off ? buf : NULL;
}

/* Values svcplane cannot honour: refused, never ignored. */
static int refuse(const struct ctx *c, const cJSON *root, const char *block)
{
	const cJSON *v = at(root, "detectLocalMode");
	char path[64];

	if (cJSON_IsString(v) && *v->valuestring && strcmp(v->valuestring, "ClusterCIDR"))
		return bad(c, "detectLocalMode", v,
			   "svcplane implements ClusterCIDR only (traffic from clusterCIDR is a local pod's)");
	snprintf(path, sizeof(path), "%s.masqueradeBit", block);
	v = at(root, path);
	if (v && cJSON_IsNumber(v) && v->valuedouble != 14)
		return bad(c, path, v, "svcplane marks packets to masquerade with bit 14 (0x4000) only");
	return 0;
}

/* The settings svcplane takes, and the keys it does not use. */
static int collect(const cJSON *root, struct sp_kpconfig *out)
{
	size_t d;
	int e;

	for (d = 0; strcmp(mode_defaults[d].block, out->block); d++)
		;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key *k = &keys[i];
		const cJSON *v = at(root, k->path);
		char txt[1024];
		const char *val;

		if (k->kind == K_OBJ)
			continue;
		if (!k->flag || (k->block && strcmp(k->block, out->block))) {
			if (v && !is_zero(v) && !means_default(k, v))
				add_unused(out, k->path);
			continue;
		}
		val = v ? flag_text(v, txt, sizeof(txt)) : NULL;
		/* A zero period in the mode's block is kube-proxy's default for that mode. */
		if (k->block && (!val || is_zero(v)) && strcmp(k->flag, "masquerade-all"))
			val = !strcmp(k->flag, "sync-period") ? mode_defaults[d].sync
							       : mode_defaults[d].min_sync;
		if (!val)
			continue;
		/* kube-proxy's iptables and ipvs modes serve NodePorts on every address. */
		if ((e = add_setting(out, k->path, k->flag, val)))
			return e;
	}
	if (!at(root, "nodePortAddresses") || cJSON_IsNull(at(root, "nodePortAddresses")) ||
	    is_zero(at(root, "nodePortAddresses")))
		if (strcmp(out->block, "nftables"))
			return add_setting(out, "nodePortAddresses", "nodeport-addresses",
					   "0.0.0.0/0,::/0");
	return 0;
}

int sp_kpconfig_read(const char *buf, size_t len, const char *file, const char *mode_flag,
		     struct sp_kpconfig *out, const struct sp_log *lg)
{
	struct ctx c = { .file = file, .lg = lg };
	struct sp_perr perr = {0};
	cJSON *docs = sp_yaml_load(buf, len, &perr);
	const cJSON *root, *v;
	const char *s;
	int e = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!docs) {
		if (errno == ENOMEM)
			return -ENOMEM;
		sp_log_err(lg, "%s: %s", file, perr.msg);
		return -EINVAL;
	}
	root = cJSON_GetArrayItem(docs, 0);
	if (cJSON_GetArraySize(docs) > 1) {
		sp_log_err(lg, "%s: a second YAML document: a KubeProxyConfiguration file holds one", file);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		sp_log_err(lg, "%s: not a KubeProxyConfiguration (no YAML mapping)", file);
		goto out;
	}
	s = sp_meta_get(root, "kind");
	if (!s || strcmp(s, "KubeProxyConfiguration")) {
		sp_log_err(lg, "%s: kind: \"%s\" is not KubeProxyConfiguration", file, s ? s : "");
		goto out;
	}
	s = sp_meta_get(root, "apiVersion");
	if (!s || strcmp(s, KP_API_VERSION)) {
		sp_log_err(lg, "%s: apiVersion: \"%s\": svcplane reads %s", file, s ? s : "",
			   KP_API_VERSION);
		goto out;
	}
	if ((e = check_obj(&c, root, "")))
		goto out;
	v = at(root, "mode");
	snprintf(out->mode, sizeof(out->mode), "%s",
		 mode_flag ? mode_flag : cJSON_IsString(v) ? v->valuestring : "");
	out->block = !strcmp(out->mode, "ipvs") ? "ipvs" : !strcmp(out->mode, "nftables") ? "nftables"
											 : "iptables";
	/* svcplane's own modes run as its nftables mode does by default. */
	if (!strcmp(out->mode, "bpf") || !strcmp(out->mode, "userspace") ||
	    !strcmp(out->mode, "dry-run"))
		out->block = "nftables";
	if ((e = refuse(&c, root, out->block)))
		goto out;
	if ((e = collect(root, out)) == -ENOSPC) {
		sp_log_err(lg, "%s: too many settings", file);
		e = -EINVAL;
	}
out:
	cJSON_Delete(docs);
	return e;
}

const char *sp_kpconfig_key(size_t i, int *is_block)
{
	if (i >= sizeof(keys) / sizeof(keys[0]))
		return NULL;
	*is_block = keys[i].kind == K_OBJ;
	return keys[i].path;
}
