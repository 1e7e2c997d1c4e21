/* k8s_endpointslice.c - discovery.k8s.io/v1 EndpointSlice: parse, validate, free. */
#define _GNU_SOURCE
#include "k8s.h"
#include "k8s_field.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_ADDRESSES 100	/* discovery/v1 limit per endpoint */

void sp_slice_free(struct sp_slice *s)
{
	if (!s)
		return;
	free(s->ns);
	free(s->name);
	free(s->key);
	free(s->service_key);
	free(s->resource_version);
	for (size_t i = 0; i < s->n_ports; i++)
		free(s->ports[i].name);
	free(s->ports);
	for (size_t i = 0; i < s->n_endpoints; i++) {
		struct sp_slice_endpoint *ep = &s->endpoints[i];

		/* Node names and zones are shared between endpoints (see
		 * parse_endpoint): free each once. */
		for (size_t j = i + 1; j < s->n_endpoints; j++) {
			if (s->endpoints[j].node_name == ep->node_name)
				s->endpoints[j].node_name = NULL;
			if (s->endpoints[j].zone == ep->zone)
				s->endpoints[j].zone = NULL;
		}
		free(ep->node_name);
		free(ep->zone);
		sp_str_list_fini(&ep->for_zones);
		sp_str_list_fini(&ep->for_nodes);
	}
	free(s->endpoints);
	free(s);
}

/* RFC 3339 ("2024-05-01T10:00:00Z", fractional seconds and offsets allowed) to
 * Unix seconds. Returns 0 or -EINVAL. */
static int parse_rfc3339(const char *s, double *out)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	double frac = 0;
	long off = 0;

	if (!p)
		return -EINVAL;
	if (*p == '.') {
		double scale = 0.1;

		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;

		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -EINVAL;
		off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	*out = (double)timegm(&tm) - (double)off + frac;
	return 0;
}

static int parse_hint_names(const cJSON *hints, const char *key, const char *path,
			    struct sp_str_list *l, struct sp_perr *err)
{
	const cJSON *arr, *it;
	int e, i = 0;

	if ((e = sp_field_array(hints, key, path, &arr, err)))
		return e;
	cJSON_ArrayForEach(it, arr) {
		char f[128];
		const char *name;

		snprintf(f, sizeof(f), "%s[%d].name", path, i++);
		if ((e = sp_field_str(it, "name", f, NULL, &name, err)))
			return e;
		if (!name || !*name)
			return sp_perr_set(err, f, "missing");
		if (sp_str_list_add(l, name))
			return -ENOMEM;
	}
	return 0;
}

static int parse_endpoint(const cJSON *o, int i, int family, struct sp_slice_endpoint *ep,
			  const struct sp_slice_endpoint *before, struct sp_perr *err)
{
	char path[48], f[128];
	const cJSON *addrs, *it, *cond, *hints;
	const char *node, *zone;
	int e, j = 0;

	snprintf(path, sizeof(path), "endpoints[%d]", i);
	if (!cJSON_IsObject(o))
		return sp_perr_set(err, path, "must be an object");
	snprintf(f, sizeof(f), "%s.addresses", path);
	if ((e = sp_field_array(o, "addresses", f, &addrs, err)))
		return e;
	if (!addrs || cJSON_GetArraySize(addrs) == 0)
		return sp_perr_set(err, f, "at least one address is required");
	if (cJSON_GetArraySize(addrs) > MAX_ADDRESSES)
		return sp_perr_set(err, f, "more than %d addresses", MAX_ADDRESSES);
	cJSON_ArrayForEach(it, addrs) {
		struct sp_addr a;

		snprintf(f, sizeof(f), "%s.addresses[%d]", path, j);
		if (!cJSON_IsString(it) || sp_addr_parse(it->valuestring, &a))
			return sp_perr_set(err, f, "\"%.60s\" is not a valid IP address",
					   cJSON_IsString(it) ? it->valuestring : "(not a string)");
		if (a.family != family)
			return sp_perr_set(err, f, "%s is not of addressType %s", it->valuestring,
					   sp_family_name(family));
		if (j++ == 0)
			ep->addr = a;
	}

	/* Conditions as kube-proxy reads them: ready unset means ready; serving unset
	 * means "same as ready"; terminating unset means not terminating. */
	cond = sp_field(o, "conditions");
	snprintf(f, sizeof(f), "%s.conditions.ready", path);
	if ((e = sp_field_bool(cond, "ready", f, true, &ep->ready, err)))
		return e;
	snprintf(f, sizeof(f), "%s.conditions.serving", path);
	if ((e = sp_field_bool(cond, "serving", f, ep->ready, &ep->serving, err)))
		return e;
	snprintf(f, sizeof(f), "%s.conditions.terminating", path);
	if ((e = sp_field_bool(cond, "terminating", f, false, &ep->terminating, err)))
		return e;

	snprintf(f, sizeof(f), "%s.nodeName", path);
	if ((e = sp_field_str(o, "nodeName", f, NULL, &node, err)))
		return e;
	snprintf(f, sizeof(f), "%s.zone", path);
	if ((e = sp_field_str(o, "zone", f, NULL, &zone, err)))
		return e;
	for (int k = 0; k < i; k++) {	/* share strings with earlier endpoints */
		if (node && !ep->node_name && before[k].node_name && !strcmp(before[k].node_name, node))
			ep->node_name = before[k].node_name;
		if (zone && !ep->zone && before[k].zone && !strcmp(before[k].zone, zone))
			ep->zone = before[k].zone;
	}
	if ((node && !ep->node_name && !(ep->node_name = strdup(node))) ||
	    (zone && !ep->zone && !(ep->zone = strdup(zone))))
		return -ENOMEM;
	hints = sp_field(o, "hints");
	snprintf(f, sizeof(f), "%s.hints.forZones", path);
	if ((e = parse_hint_names(hints, "forZones", f, &ep->for_zones, err)))
		return e;
	snprintf(f, sizeof(f), "%s.hints.forNodes", path);
	return parse_hint_names(hints, "forNodes", f, &ep->for_nodes, err);
}

static int parse_ports(const cJSON *obj, struct sp_slice *s, struct sp_perr *err)
{
	const cJSON *arr, *it;
	int e, i = 0;

	if ((e = sp_field_array(obj, "ports", "ports", &arr, err)))
		return e;
	if (!arr)
		return 0;
	s->ports = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*s->ports));
	if (!s->ports)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr) {
		struct sp_slice_port *p = &s->ports[i];
		char f[64];
		const char *name, *proto;
		long port;

		s->n_ports = (size_t)i + 1;
		snprintf(f, sizeof(f), "ports[%d]", i);
		if (!cJSON_IsObject(it))
			return sp_perr_set(err, f, "must be an object");
		snprintf(f, sizeof(f), "ports[%d].name", i);
		if ((e = sp_field_str(it, "name", f, "", &name, err)))
			return e;
		if (!(p->name = strdup(name)))
			return -ENOMEM;
		snprintf(f, sizeof(f), "ports[%d].protocol", i);
		if ((e = sp_field_str(it, "protocol", f, "TCP", &proto, err)))
			return e;
		if (!(p->protocol = sp_proto_parse(proto)))
			return sp_perr_set(err, f, "\"%.20s\" is not TCP, UDP or SCTP", proto);
		snprintf(f, sizeof(f), "ports[%d].port", i);
		if ((e = sp_field_int(it, "port", f, 0, 1, 65535, &port, err)))
			return e;
		p->port = (uint16_t)port;
		i++;
	}
	return 0;
}

static int parse_body(const cJSON *obj, const struct sp_meta *m, struct sp_slice *s,
		      struct sp_perr *err)
{
	const char *at, *svc, *trig;
	const cJSON *arr, *it;
	int e, i = 0;

	if ((e = sp_field_str(obj, "addressType", "addressType", NULL, &at, err)))
		return e;
	if (!at)
		return sp_perr_set(err, "addressType", "missing");
	if (!strcmp(at, "IPv4"))
		s->family = AF_INET;
	else if (!strcmp(at, "IPv6"))
		s->family = AF_INET6;
	else if (strcmp(at, "FQDN"))
		return sp_perr_set(err, "addressType", "\"%.20s\" is not IPv4, IPv6 or FQDN", at);

	svc = sp_meta_get(m->labels, "kubernetes.io/service-name");
	if (!svc || !*svc)
		return sp_perr_set(err, "metadata.labels[kubernetes.io/service-name]",
				   "missing: the slice belongs to no service");
	if (!(s->service_key = sp_join_key(m->ns, svc)))
		return -ENOMEM;
	trig = sp_meta_get(m->annotations, "endpoints.kubernetes.io/last-change-trigger-time");
	if (trig && parse_rfc3339(trig, &s->trigger_time))
		return sp_perr_set(err, "metadata.annotations[endpoints.kubernetes.io/last-change-trigger-time]",
				   "\"%.40s\" is not an RFC 3339 time", trig);
	if ((e = parse_ports(obj, s, err)))
		return e;
	if (s->family == 0)
		return 0;	/* FQDN slices carry nothing a proxy uses */
	if ((e = sp_field_array(obj, "endpoints", "endpoints", &arr, err)))
		return e;
	if (!arr)
		return 0;
	s->endpoints = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*s->endpoints));
	if (!s->endpoints)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr) {
		s->n_endpoints = (size_t)i + 1;
		if ((e = parse_endpoint(it, i, s->family, &s->endpoints[i], s->endpoints, err)))
			return e;
		i++;
	}
	return 0;
}

int sp_slice_parse(const cJSON *obj, struct sp_slice **out, struct sp_perr *err)
{
	struct sp_slice *s;
	struct sp_meta m;
	int e;

	*out = NULL;
	if ((e = sp_meta_parse(obj, true, &m, err)))
		return e;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ns = strdup(m.ns);
	s->name = strdup(m.name);
	s->key = sp_join_key(m.ns, m.name);
	s->resource_version = strdup(m.resource_version);
	if (!s->ns || !s->name || !s->key || !s->resource_version) {
		sp_slice_free(s);
		return -ENOMEM;
	}
	if ((e = parse_body(obj, &m, s, err))) {
		sp_slice_free(s);
		return e;
	}
	*out = s;
	return 0;
}
