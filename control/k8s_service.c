/* k8s_service.c - core/v1 Service: parse, validate, free. */
#include "k8s.h"
#include "k8s_field.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DEFAULT_AFFINITY_TIMEOUT 10800	/* seconds, core/v1 DefaultClientIPServiceAffinitySeconds */
#define MAX_AFFINITY_TIMEOUT 86400


void sp_service_free(struct sp_service *s)
{
	if (!s)
		return;
	free(s->ns);
	free(s->name);
	free(s->key);
	free(s->resource_version);
	sp_addr_list_fini(&s->cluster_ips);
	sp_addr_list_fini(&s->external_ips);
	sp_addr_list_fini(&s->lb_ips);
	sp_addr_list_fini(&s->lb_source_ranges);
	free(s->traffic_distribution);
	for (size_t i = 0; i < s->n_ports; i++) {
		free(s->ports[i].name);
		free(s->ports[i].target_name);
	}
	free(s->ports);
	free(s);
}

/* IANA service name as core/v1 validates a named port: 1-15 chars, [a-z0-9-],
 * at least one letter, no leading/trailing or double hyphen. */
static bool iana_svc_name(const char *s)
{
	size_t n = strlen(s);
	bool letter = false;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
		else if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			return false;
	}
	return letter;
}

static int parse_type(const cJSON *spec, struct sp_service *s, struct sp_perr *err)
{
	static const struct {
		const char *name;
		enum sp_svc_type type;
	} types[] = {
		{ "ClusterIP", SP_SVC_CLUSTER_IP },
		{ "NodePort", SP_SVC_NODE_PORT },
		{ "LoadBalancer", SP_SVC_LOAD_BALANCER },
		{ "ExternalName", SP_SVC_EXTERNAL_NAME },
	};
	const char *t;
	int e = sp_field_str(spec, "type", "spec.type", "ClusterIP", &t, err);

	if (e)
		return e;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (!strcmp(t, types[i].name)) {
			s->type = types[i].type;
			return 0;
		}
	}
	return sp_perr_set(err, "spec.type", "\"%.40s\" is not ClusterIP, NodePort, LoadBalancer or ExternalName", t);
}

static int parse_policy(const cJSON *spec, const char *key, enum sp_policy *out,
			struct sp_perr *err)
{
	char path[64];
	const char *v;
	int e;

	snprintf(path, sizeof(path), "spec.%s", key);
	if ((e = sp_field_str(spec, key, path, "Cluster", &v, err)))
		return e;
	if (!strcmp(v, "Cluster") || !strcmp(v, "Global")) /* Global: pre-1.22 spelling */
		*out = SP_POLICY_CLUSTER;
	else if (!strcmp(v, "Local"))
		*out = SP_POLICY_LOCAL;
	else
		return sp_perr_set(err, path, "\"%.40s\" is not Cluster or Local", v);
	return 0;
}

/* A list of IP strings at spec.<key> appended to @l; @cidr accepts prefixes. */
static int parse_ip_list(const cJSON *parent, const char *key, const char *path, bool cidr,
			 struct sp_addr_list *l, struct sp_perr *err)
{
	const cJSON *arr, *it;
	struct sp_addr a;
	char p[96];
	int i = 0, e;

	if ((e = sp_field_array(parent, key, path, &arr, err)))
		return e;
	cJSON_ArrayForEach(it, arr) {
		snprintf(p, sizeof(p), "%s[%d]", path, i++);
		if (!cJSON_IsString(it))
			return sp_perr_set(err, p, "must be a string");
		e = cidr ? sp_cidr_parse(it->valuestring, false, &a)
			 : sp_addr_parse(it->valuestring, &a);
		if (e)
			return sp_perr_set(err, p, "\"%.60s\" is not a valid %s", it->valuestring,
					   cidr ? "CIDR" : "IP address");
		if (sp_addr_list_add(l, &a))
			return -ENOMEM;
	}
	return 0;
}

static int parse_cluster_ips(const cJSON *spec, struct sp_service *s, struct sp_perr *err)
{
	const char *cip;
	const cJSON *fams, *it;
	int e, i = 0;

	if ((e = sp_field_str(spec, "clusterIP", "spec.clusterIP", "", &cip, err)))
		return e;
	fams = sp_field(spec, "clusterIPs");
	if (!strcmp(cip, "None") ||
	    (cJSON_IsArray(fams) && cJSON_IsString(cJSON_GetArrayItem(fams, 0)) &&
	     !strcmp(cJSON_GetArrayItem(fams, 0)->valuestring, "None"))) {
		s->headless = true;
		return 0;
	}
	if ((e = parse_ip_list(spec, "clusterIPs", "spec.clusterIPs", false, &s->cluster_ips,
			       err)))
		return e;
	if (*cip) {
		struct sp_addr a;

		if (sp_addr_parse(cip, &a))
			return sp_perr_set(err, "spec.clusterIP", "\"%.60s\" is not a valid IP address", cip);
		if (s->cluster_ips.n == 0) {
			if (sp_addr_list_add(&s->cluster_ips, &a))
				return -ENOMEM;
		} else if (sp_addr_cmp(&a, &s->cluster_ips.v[0])) {
			return sp_perr_set(err, "spec.clusterIPs[0]", "must equal spec.clusterIP (%.60s)", cip);
		}
	}
	if (s->cluster_ips.n > 2)
		return sp_perr_set(err, "spec.clusterIPs", "at most two addresses (one per family)");
	if (s->cluster_ips.n == 2 && s->cluster_ips.v[0].family == s->cluster_ips.v[1].family)
		return sp_perr_set(err, "spec.clusterIPs[1]", "must be of the other IP family");

	if ((e = sp_field_array(spec, "ipFamilies", "spec.ipFamilies", &fams, err)))
		return e;
	cJSON_ArrayForEach(it, fams) {
		char p[48];
		int fam;

		snprintf(p, sizeof(p), "spec.ipFamilies[%d]", i);
		if (!cJSON_IsString(it) || (strcmp(it->valuestring, "IPv4") &&
					    strcmp(it->valuestring, "IPv6")))
			return sp_perr_set(err, p, "must be IPv4 or IPv6");
		fam = strcmp(it->valuestring, "IPv4") ? AF_INET6 : AF_INET;
		if ((size_t)i < s->cluster_ips.n && s->cluster_ips.v[i].family != fam)
			return sp_perr_set(err, p, "%s does not match spec.clusterIPs[%d]",
					   it->valuestring, i);
		if (++i > 2)
			return sp_perr_set(err, "spec.ipFamilies", "at most two families");
	}
	return 0;
}

static int parse_port(const cJSON *p, int i, size_t nports, struct sp_service_port *out,
		      struct sp_perr *err)
{
	char path[64], f[96];
	const char *name, *proto;
	const cJSON *tp;
	long v;
	int e;

	snprintf(path, sizeof(path), "spec.ports[%d]", i);
	if (!cJSON_IsObject(p))
		return sp_perr_set(err, path, "must be an object");
	snprintf(f, sizeof(f), "%s.name", path);
	if ((e = sp_field_str(p, "name", f, "", &name, err)))
		return e;
	if (nports > 1 && !*name)
		return sp_perr_set(err, f, "required when a service has more than one port");
	out->name = strdup(name);
	snprintf(f, sizeof(f), "%s.protocol", path);
	if ((e = sp_field_str(p, "protocol", f, "TCP", &proto, err)))
		return e;
	out->protocol = sp_proto_parse(proto);
	if (!out->protocol)
		return sp_perr_set(err, f, "\"%.20s\" is not TCP, UDP or SCTP", proto);
	snprintf(f, sizeof(f), "%s.port", path);
	if (!sp_field(p, "port"))
		return sp_perr_set(err, f, "missing");
	if ((e = sp_field_int(p, "port", f, 0, 1, 65535, &v, err)))
		return e;
	out->port = (uint16_t)v;
	snprintf(f, sizeof(f), "%s.nodePort", path);
	if ((e = sp_field_int(p, "nodePort", f, 0, 0, 65535, &v, err)))
		return e;
	out->node_port = (uint16_t)v;

	snprintf(f, sizeof(f), "%s.targetPort", path);
	tp = sp_field(p, "targetPort");
	if (!tp || cJSON_IsNull(tp)) {
		out->target_port = out->port;
	} else if (cJSON_IsString(tp)) {
		char *end;
		long n = strtol(tp->valuestring, &end, 10);

		/* The API accepts an int-or-string; "8080" as a string is a number. */
		if (*tp->valuestring && !*end) {
			if (n < 1 || n > 65535)
				return sp_perr_set(err, f, "%ld is not in 1-65535", n);
			out->target_port = (uint16_t)n;
		} else if (!iana_svc_name(tp->valuestring)) {
			return sp_perr_set(err, f, "\"%.40s\" is not a port number or a port name", tp->valuestring);
		} else if (!(out->target_name = strdup(tp->valuestring))) {
			return -ENOMEM;
		}
	} else {
		if ((e = sp_field_int(p, "targetPort", f, 0, 1, 65535, &v, err)))
			return e;
		out->target_port = (uint16_t)v;
	}
	return out->name ? 0 : -ENOMEM;
}

static int parse_ports(const cJSON *spec, struct sp_service *s, struct sp_perr *err)
{
	const cJSON *arr, *it;
	int e, i = 0;
	size_t n;

	if ((e = sp_field_array(spec, "ports", "spec.ports", &arr, err)))
		return e;
	n = arr ? (size_t)cJSON_GetArraySize(arr) : 0;
	if (n == 0)
		return s->headless || s->type == SP_SVC_EXTERNAL_NAME
			       ? 0 : sp_perr_set(err, "spec.ports", "at least one port is required");
	s->ports = calloc(n, sizeof(*s->ports));
	if (!s->ports)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr) {
		if ((e = parse_port(it, i, n, &s->ports[i], err))) {
			s->n_ports = (size_t)i + 1;
			return e;
		}
		for (int j = 0; j < i; j++) {
			char f[64];

			snprintf(f, sizeof(f), "spec.ports[%d]", i);
			if (!strcmp(s->ports[j].name, s->ports[i].name)) {
				s->n_ports = (size_t)i + 1;
				return sp_perr_set(err, f, "duplicate port name \"%s\"", s->ports[i].name);
			}
			if (s->ports[j].port == s->ports[i].port &&
			    s->ports[j].protocol == s->ports[i].protocol) {
				s->n_ports = (size_t)i + 1;
				return sp_perr_set(err, f, "duplicate port %u/%s", s->ports[i].port,
						   sp_proto_name(s->ports[i].protocol));
			}
		}
		i++;
	}
	s->n_ports = n;
	return 0;
}

static int parse_affinity(const cJSON *spec, struct sp_service *s, struct sp_perr *err)
{
	const char *aff;
	const cJSON *cfg;
	long t;
	int e;

	if ((e = sp_field_str(spec, "sessionAffinity", "spec.sessionAffinity", "None", &aff, err)))
		return e;
	if (!strcmp(aff, "ClientIP"))
		s->affinity_client_ip = true;
	else if (strcmp(aff, "None"))
		return sp_perr_set(err, "spec.sessionAffinity", "\"%.40s\" is not None or ClientIP", aff);
	cfg = sp_field(sp_field(spec, "sessionAffinityConfig"), "clientIP");
	if ((e = sp_field_int(cfg, "timeoutSeconds", "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
			      DEFAULT_AFFINITY_TIMEOUT, 1, MAX_AFFINITY_TIMEOUT, &t, err)))
		return e;
	s->affinity_timeout = (uint32_t)t;
	return 0;
}

/* status.loadBalancer.ingress[].ip; entries with only a hostname, or with
 * ipMode Proxy (the load balancer proxies, so the node must not capture the IP),
 * are skipped as kube-proxy skips them. */
static int parse_lb_ingress(const cJSON *obj, struct sp_service *s, struct sp_perr *err)
{
	const cJSON *arr, *it;
	int e, i = 0;

	if ((e = sp_field_array(sp_field(sp_field(obj, "status"), "loadBalancer"), "ingress",
				"status.loadBalancer.ingress", &arr, err)))
		return e;
	cJSON_ArrayForEach(it, arr) {
		char f[80];
		const char *ip, *mode;
		struct sp_addr a;

		snprintf(f, sizeof(f), "status.loadBalancer.ingress[%d].ip", i);
		if ((e = sp_field_str(it, "ip", f, NULL, &ip, err)))
			return e;
		snprintf(f, sizeof(f), "status.loadBalancer.ingress[%d].ipMode", i);
		if ((e = sp_field_str(it, "ipMode", f, "VIP", &mode, err)))
			return e;
		snprintf(f, sizeof(f), "status.loadBalancer.ingress[%d].ip", i++);
		if (!ip || !strcmp(mode, "Proxy"))
			continue;
		if (sp_addr_parse(ip, &a))
			return sp_perr_set(err, f, "\"%.60s\" is not a valid IP address", ip);
		if (sp_addr_list_add(&s->lb_ips, &a))
			return -ENOMEM;
	}
	return 0;
}

static int parse_spec(const cJSON *obj, struct sp_service *s, struct sp_perr *err)
{
	const cJSON *spec = sp_field(obj, "spec");
	const char *td;
	long v;
	int e;

	if (!cJSON_IsObject(spec))
		return sp_perr_set(err, "spec", "missing");
	if ((e = parse_type(spec, s, err)) || (e = parse_cluster_ips(spec, s, err)) ||
	    (e = parse_ports(spec, s, err)) || (e = parse_affinity(spec, s, err)) ||
	    (e = parse_policy(spec, "externalTrafficPolicy", &s->etp, err)) ||
	    (e = parse_policy(spec, "internalTrafficPolicy", &s->itp, err)))
		return e;
	if ((e = parse_ip_list(spec, "externalIPs", "spec.externalIPs", false, &s->external_ips, err)) ||
	    (e = parse_ip_list(spec, "loadBalancerSourceRanges", "spec.loadBalancerSourceRanges",
			       true, &s->lb_source_ranges, err)) ||
	    (e = parse_lb_ingress(obj, s, err)))
		return e;
	if ((e = sp_field_int(spec, "healthCheckNodePort", "spec.healthCheckNodePort", 0, 0, 65535,
			      &v, err)))
		return e;
	s->health_check_node_port = (uint16_t)v;
	if ((e = sp_field_str(spec, "trafficDistribution", "spec.trafficDistribution", NULL, &td, err)))
		return e;
	if (td) {
		if (strcmp(td, "PreferClose") && strcmp(td, "PreferSameZone") &&
		    strcmp(td, "PreferSameNode"))
			return sp_perr_set(err, "spec.trafficDistribution",
					   "\"%.40s\" is not PreferClose, PreferSameZone or PreferSameNode", td);
		if (!(s->traffic_distribution = strdup(td)))
			return -ENOMEM;
	}
	/* eTP only applies to services reachable from outside (core/v1 ExternalPolicyLocal). */
	if (s->type != SP_SVC_NODE_PORT && s->type != SP_SVC_LOAD_BALANCER && s->external_ips.n == 0)
		s->etp = SP_POLICY_CLUSTER;
	return 0;
}

int sp_service_parse(const cJSON *obj, struct sp_service **out, struct sp_perr *err)
{
	struct sp_service *s;
	struct sp_meta m;
	const char *proxy_name, *headless, *why;
	int e;

	*out = NULL;
	if ((e = sp_meta_parse(obj, true, &m, err)))
		return e;
	if ((why = sp_dns1035_label_invalid(m.name)))
		return sp_perr_set(err, "metadata.name", "\"%.80s%s\" %s (a Service's name is a DNS-1035 label)",
				   m.name, strlen(m.name) > 80 ? "..." : "", why);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ns = strdup(m.ns);
	s->name = strdup(m.name);
	s->key = sp_join_key(m.ns, m.name);
	s->resource_version = strdup(m.resource_version);
	if (!s->ns || !s->name || !s->key || !s->resource_version) {
		sp_service_free(s);
		return -ENOMEM;
	}
	proxy_name = sp_meta_get(m.labels, "service.kubernetes.io/service-proxy-name");
	headless = sp_meta_get(m.labels, "service.kubernetes.io/headless");
	s->ignored = proxy_name != NULL || headless != NULL;
	if ((e = parse_spec(obj, s, err))) {
		sp_service_free(s);
		return e;
	}
	*out = s;
	return 0;
}
