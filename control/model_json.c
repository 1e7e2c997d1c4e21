/* model_json.c - encodes and decodes the model's JSON form. */
#include "model.h"
#include "k8s_field.h"
#include "../common/hmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

static cJSON *addr_array(const struct sp_addr_list *l, bool cidr)
{
	cJSON *a = cJSON_CreateArray();
	char buf[SP_ADDRSTRLEN];

	for (size_t i = 0; a && i < l->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(cidr ? sp_cidr_str(&l->v[i], buf)
								: sp_addr_str(&l->v[i], buf)));
	return a;
}

static cJSON *str_array(const struct sp_str_list *l)
{
	return cJSON_CreateStringArray((const char *const *)l->v, (int)l->n);
}

static const char *policy_name(enum sp_policy p)
{
	return p == SP_POLICY_LOCAL ? "Local" : "Cluster";
}

static cJSON *endpoint_json(const struct sp_endpoint *ep)
{
	cJSON *o = cJSON_CreateObject();
	char buf[SP_ADDRSTRLEN];

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "ip", sp_addr_str(&ep->addr, buf));
	cJSON_AddNumberToObject(o, "port", ep->port);
	cJSON_AddBoolToObject(o, "ready", ep->ready);
	cJSON_AddBoolToObject(o, "serving", ep->serving);
	cJSON_AddBoolToObject(o, "terminating", ep->terminating);
	cJSON_AddStringToObject(o, "nodeName", ep->node_name ? ep->node_name : "");
	cJSON_AddStringToObject(o, "zone", ep->zone ? ep->zone : "");
	cJSON_AddBoolToObject(o, "local", ep->local);
	cJSON_AddItemToObject(o, "forZones", str_array(&ep->for_zones));
	cJSON_AddItemToObject(o, "forNodes", str_array(&ep->for_nodes));
	return o;
}

static cJSON *port_json(const struct sp_svc_port *p)
{
	cJSON *o = cJSON_CreateObject(), *aff, *eps;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "service", p->service);
	cJSON_AddStringToObject(o, "portName", p->port_name);
	cJSON_AddStringToObject(o, "protocol", sp_proto_name(p->protocol));
	cJSON_AddStringToObject(o, "family", sp_family_name(p->family));
	cJSON_AddItemToObject(o, "clusterIPs", addr_array(&p->cluster_ips, false));
	cJSON_AddNumberToObject(o, "port", p->port);
	cJSON_AddNumberToObject(o, "nodePort", p->node_port);
	cJSON_AddItemToObject(o, "externalIPs", addr_array(&p->external_ips, false));
	cJSON_AddItemToObject(o, "loadBalancerIPs", addr_array(&p->lb_ips, false));
	cJSON_AddItemToObject(o, "loadBalancerSourceRanges", addr_array(&p->lb_source_ranges, true));
	aff = cJSON_AddObjectToObject(o, "sessionAffinity");
	cJSON_AddBoolToObject(aff, "clientIP", p->affinity_client_ip);
	cJSON_AddNumberToObject(aff, "timeoutSeconds",
				p->affinity_client_ip ? p->affinity_timeout : 0);
	cJSON_AddStringToObject(o, "externalTrafficPolicy", policy_name(p->etp));
	cJSON_AddStringToObject(o, "internalTrafficPolicy", policy_name(p->itp));
	cJSON_AddNumberToObject(o, "healthCheckNodePort", p->health_check_node_port);
	if (p->traffic_distribution)
		cJSON_AddStringToObject(o, "trafficDistribution", p->traffic_distribution);
	eps = cJSON_AddArrayToObject(o, "endpoints");
	for (size_t i = 0; eps && i < p->n_eps; i++)
		cJSON_AddItemToArray(eps, endpoint_json(&p->eps[i]));
	return o;
}

cJSON *sp_model_to_json(const struct sp_model *m)
{
	size_t n;
	const struct sp_svc_port **ports = sp_model_sorted_ports(m, &n);
	cJSON *root = cJSON_CreateObject(), *arr;

	if (!ports || !root)
		goto err_nomem;
	arr = cJSON_AddArrayToObject(root, "servicePorts");
	if (!arr)
		goto err_nomem;
	for (size_t i = 0; i < n; i++) {
		cJSON *p = port_json(ports[i]);

		if (!p)
			goto err_nomem;
		cJSON_AddItemToArray(arr, p);
	}
	free(ports);
	return root;

err_nomem:
	free(ports);
	cJSON_Delete(root);
	errno = ENOMEM;
	return NULL;
}

char *sp_model_to_text(const struct sp_model *m, bool pretty)
{
	cJSON *j = sp_model_to_json(m);
	char *s;

	if (!j)
		return NULL;
	s = pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		errno = ENOMEM;
	return s;
}

static int addr_list_from(const cJSON *o, const char *key, const char *base, bool cidr,
			  struct sp_addr_list *l, struct sp_perr *err)
{
	const cJSON *arr, *it;
	char path[160];
	int i = 0, e;

	snprintf(path, sizeof(path), "%s.%s", base, key);
	if ((e = sp_field_array(o, key, path, &arr, err)))
		return e;
	cJSON_ArrayForEach(it, arr) {
		struct sp_addr a;

		snprintf(path, sizeof(path), "%s.%s[%d]", base, key, i++);
		if (!cJSON_IsString(it) || (cidr ? sp_cidr_parse(it->valuestring, false, &a)
						 : sp_addr_parse(it->valuestring, &a)))
			return sp_perr_set(err, path, "not a valid %s", cidr ? "CIDR" : "IP address");
		if (sp_addr_list_add(l, &a))
			return -ENOMEM;
	}
	return 0;
}

static int str_list_from(const cJSON *o, const char *key, const char *base,
			 struct sp_str_list *l, struct sp_perr *err)
{
	const cJSON *arr, *it;
	char path[160];
	int e;

	snprintf(path, sizeof(path), "%s.%s", base, key);
	if ((e = sp_field_array(o, key, path, &arr, err)))
		return e;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it))
			return sp_perr_set(err, path, "must hold strings");
		if (sp_str_list_add(l, it->valuestring))
			return -ENOMEM;
	}
	return 0;
}

static int policy_from(const cJSON *o, const char *key, const char *base, enum sp_policy *out,
		       struct sp_perr *err)
{
	char path[160];
	const char *v;
	int e;

	snprintf(path, sizeof(path), "%s.%s", base, key);
	if ((e = sp_field_str(o, key, path, "Cluster", &v, err)))
		return e;
	if (strcmp(v, "Cluster") && strcmp(v, "Local"))
		return sp_perr_set(err, path, "\"%.20s\" is not Cluster or Local", v);
	*out = strcmp(v, "Local") ? SP_POLICY_CLUSTER : SP_POLICY_LOCAL;
	return 0;
}

static int optional_str(const cJSON *o, const char *key, const char *path, char **out,
			struct sp_perr *err)
{
	const char *v;
	int e = sp_field_str(o, key, path, NULL, &v, err);

	if (e || !v || !*v)
		return e;
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

static int endpoint_from(const cJSON *o, const char *base, struct sp_endpoint *ep,
			 struct sp_perr *err)
{
	char path[160];
	const char *ip;
	long port;
	int e;

	snprintf(path, sizeof(path), "%s.ip", base);
	if ((e = sp_field_str(o, "ip", path, "", &ip, err)))
		return e;
	if (sp_addr_parse(ip, &ep->addr))
		return sp_perr_set(err, path, "\"%.60s\" is not a valid IP address", ip);
	snprintf(path, sizeof(path), "%s.port", base);
	if ((e = sp_field_int(o, "port", path, 0, 1, 65535, &port, err)))
		return e;
	if (!port)
		return sp_perr_set(err, path, "missing");
	ep->port = (uint16_t)port;
#define BOOL_FIELD(name, dst, dflt)                                                          \
	do {                                                                                 \
		snprintf(path, sizeof(path), "%s.%s", base, name);                           \
		if ((e = sp_field_bool(o, name, path, dflt, dst, err)))                      \
			return e;                                                            \
	} while (0)
	BOOL_FIELD("ready", &ep->ready, true);
	BOOL_FIELD("serving", &ep->serving, ep->ready);
	BOOL_FIELD("terminating", &ep->terminating, false);
	BOOL_FIELD("local", &ep->local, false);
#undef BOOL_FIELD
	snprintf(path, sizeof(path), "%s.nodeName", base);
	if ((e = optional_str(o, "nodeName", path, &ep->node_name, err)))
		return e;
	snprintf(path, sizeof(path), "%s.zone", base);
	if ((e = optional_str(o, "zone", path, &ep->zone, err)))
		return e;
	if ((e = str_list_from(o, "forZones", base, &ep->for_zones, err)))
		return e;
	return str_list_from(o, "forNodes", base, &ep->for_nodes, err);
}

static int port_fields(const cJSON *o, const char *base, struct sp_svc_port *p,
		       struct sp_perr *err)
{
	const cJSON *aff = sp_field(o, "sessionAffinity"), *eps, *it;
	char path[160];
	long v;
	int e, i = 0;

#define INT_FIELD(obj, name, dst, min)                                                         \
	do {                                                                                 \
		snprintf(path, sizeof(path), "%s.%s", base, name);                           \
		if ((e = sp_field_int(obj, name, path, 0, min, 65535, &v, err)))             \
			return e;                                                            \
		dst = v;                                                                     \
	} while (0)
	INT_FIELD(o, "port", p->port, 1);
	INT_FIELD(o, "nodePort", p->node_port, 0);
	INT_FIELD(o, "healthCheckNodePort", p->health_check_node_port, 0);
	snprintf(path, sizeof(path), "%s.sessionAffinity.clientIP", base);
	if ((e = sp_field_bool(aff, "clientIP", path, false, &p->affinity_client_ip, err)))
		return e;
	snprintf(path, sizeof(path), "%s.sessionAffinity.timeoutSeconds", base);
	if ((e = sp_field_int(aff, "timeoutSeconds", path, 0, 0, 86400, &v, err)))
		return e;
	p->affinity_timeout = (uint32_t)v;
#undef INT_FIELD
	if ((e = addr_list_from(o, "clusterIPs", base, false, &p->cluster_ips, err)) ||
	    (e = addr_list_from(o, "externalIPs", base, false, &p->external_ips, err)) ||
	    (e = addr_list_from(o, "loadBalancerIPs", base, false, &p->lb_ips, err)) ||
	    (e = addr_list_from(o, "loadBalancerSourceRanges", base, true, &p->lb_source_ranges,
				err)) ||
	    (e = policy_from(o, "externalTrafficPolicy", base, &p->etp, err)) ||
	    (e = policy_from(o, "internalTrafficPolicy", base, &p->itp, err)))
		return e;
	snprintf(path, sizeof(path), "%s.trafficDistribution", base);
	if ((e = optional_str(o, "trafficDistribution", path, &p->traffic_distribution, err)))
		return e;
	snprintf(path, sizeof(path), "%s.endpoints", base);
	if ((e = sp_field_array(o, "endpoints", path, &eps, err)))
		return e;
	p->eps = calloc((size_t)cJSON_GetArraySize(eps) + 1, sizeof(*p->eps));
	if (!p->eps)
		return -ENOMEM;
	cJSON_ArrayForEach(it, eps) {
		snprintf(path, sizeof(path), "%s.endpoints[%d]", base, i++);
		p->n_eps++;
		if ((e = endpoint_from(it, path, &p->eps[p->n_eps - 1], err)))
			return e;
	}
	return 0;
}

static int port_from(const cJSON *o, int i, struct sp_model *m, struct sp_perr *err)
{
	char base[48], path[96];
	const char *svc, *name, *proto, *fam;
	struct sp_svc_port *p;
	uint8_t pr;
	int e;

	snprintf(base, sizeof(base), "servicePorts[%d]", i);
	snprintf(path, sizeof(path), "%s.service", base);
	if ((e = sp_field_str(o, "service", path, NULL, &svc, err)))
		return e;
	if (!svc || !strchr(svc, '/'))
		return sp_perr_set(err, path, "must be \"namespace/name\"");
	snprintf(path, sizeof(path), "%s.portName", base);
	if ((e = sp_field_str(o, "portName", path, "", &name, err)))
		return e;
	snprintf(path, sizeof(path), "%s.protocol", base);
	if ((e = sp_field_str(o, "protocol", path, "TCP", &proto, err)))
		return e;
	if (!(pr = sp_proto_parse(proto)))
		return sp_perr_set(err, path, "\"%.20s\" is not TCP, UDP or SCTP", proto);
	snprintf(path, sizeof(path), "%s.family", base);
	if ((e = sp_field_str(o, "family", path, "IPv4", &fam, err)))
		return e;
	if (strcmp(fam, "IPv4") && strcmp(fam, "IPv6"))
		return sp_perr_set(err, path, "\"%.20s\" is not IPv4 or IPv6", fam);
	p = sp_svc_port_new(svc, name, pr, strcmp(fam, "IPv4") ? AF_INET6 : AF_INET);
	if (!p)
		return -ENOMEM;
	if ((e = port_fields(o, base, p, err))) {
		sp_svc_port_free(p);
		return e;
	}
	return sp_model_add_port(m, p);
}

int sp_model_from_json(struct sp_model *m, const cJSON *root, struct sp_perr *err)
{
	const cJSON *arr, *it;
	int e, i = 0;

	if (!cJSON_IsObject(root))
		return sp_perr_set(err, "", "the model must be a JSON object");
	if ((e = sp_field_array(root, "servicePorts", "servicePorts", &arr, err)))
		return e;
	cJSON_ArrayForEach(it, arr)
		if ((e = port_from(it, i++, m, err)))
			return e;
	return 0;
}
