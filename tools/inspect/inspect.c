/* inspect.c - the inspection result: model, per-port masquerade facts, findings. */
#include "inspect.h"
#include "../../common/hmap.h"
#include "../../control/k8s_field.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sp_inspect_init(struct sp_inspect *in)
{
	memset(in, 0, sizeof(*in));
	in->extra = sp_hmap_new();
	if (!in->extra || sp_model_init(&in->m)) {
		sp_hmap_free(in->extra);
		return -ENOMEM;
	}
	return 0;
}

void sp_inspect_fini(struct sp_inspect *in)
{
	struct sp_hmap_iter it = {0};

	while (in->extra && sp_hmap_next(in->extra, &it)) {
		struct sp_inspect_port *x = it.value;

		free(x->external);
		free(x);
	}
	sp_hmap_free(in->extra);
	for (size_t i = 0; i < in->nfindings; i++)
		free(in->findings[i]);
	free(in->findings);
	for (size_t i = 0; i < in->nnotes; i++)
		free(in->notes[i]);
	free(in->notes);
	sp_model_fini(&in->m);
	memset(in, 0, sizeof(*in));
}

/* Append @text to @v unless it is there already: a rule written once per
 * table or family must not repeat its finding. */
static void add_once(char ***v, size_t *n, const char *text)
{
	char **nv;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i], text))
			return;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return;
	*v = nv;
	if ((nv[*n] = strdup(text)))
		(*n)++;
}

void sp_inspect_finding(struct sp_inspect *in, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	add_once(&in->findings, &in->nfindings, buf);
}

void sp_inspect_port_finding(struct sp_inspect *in, const struct sp_svc_port *p, const char *fmt,
			     ...)
{
	char buf[512];
	size_t n;
	va_list ap;

	sp_inspect_port_name(p, buf, sizeof(buf));
	n = strlen(buf);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	add_once(&in->findings, &in->nfindings, buf);
}

void sp_inspect_note(struct sp_inspect *in, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	add_once(&in->notes, &in->nnotes, buf);
}

const char *sp_inspect_port_name(const struct sp_svc_port *p, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s%s%s/%s/%s", p->service, *p->port_name ? ":" : "", p->port_name,
		 sp_proto_name(p->protocol), sp_family_name(p->family));
	return buf;
}

struct sp_svc_port *sp_inspect_svc_port(struct sp_inspect *in, const char *name, uint8_t proto,
				       int family)
{
	char svc[300], pname[128] = "", key[512];
	const char *colon = strchr(name, ':');
	struct sp_svc_port *sp;

	snprintf(svc, sizeof(svc), "%.*s", colon ? (int)(colon - name) : (int)strlen(name), name);
	if (colon)
		snprintf(pname, sizeof(pname), "%s", colon + 1);
	if (!strchr(svc, '/') || !proto)
		return NULL;
	snprintf(key, sizeof(key), "%s:%s/%s/%s", svc, pname, sp_proto_name(proto),
		 sp_family_name(family));
	if ((sp = sp_hmap_get(in->m.ports, key)))
		return sp;
	sp = sp_svc_port_new(svc, pname, proto, family);
	if (!sp || sp_model_add_port(&in->m, sp))
		return NULL;
	return sp_hmap_get(in->m.ports, key);
}

void sp_inspect_add_addr(struct sp_addr_list *l, const struct sp_addr *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (!sp_addr_cmp(&l->v[i], a))
			return;
	sp_addr_list_add(l, a);
}

struct sp_inspect_port *sp_inspect_port_extra(struct sp_inspect *in, const char *key)
{
	struct sp_inspect_port *x = sp_hmap_get(in->extra, key);

	if (x)
		return x;
	x = calloc(1, sizeof(*x));
	if (!x || sp_hmap_put(in->extra, key, x, NULL)) {
		free(x);
		return NULL;
	}
	return x;
}

/* What the text shows beside the model: each endpoint's share, the
 * masquerade facts, the external list of a Local policy. */
static cJSON *port_json(const struct sp_svc_port *p, const struct sp_inspect_port *x)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char buf[SP_ADDRSTRLEN + 8], name[512];

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "port", sp_inspect_port_name(p, name, sizeof(name)));
	a = cJSON_AddArrayToObject(o, "shares");
	for (size_t i = 0; a && i < p->n_eps; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "ip", sp_addr_str(&p->eps[i].addr, buf));
		cJSON_AddNumberToObject(e, "port", p->eps[i].port);
		cJSON_AddNumberToObject(e, "share", p->eps[i].weight > 0 ? p->eps[i].weight
									 : 1.0 / (double)p->n_eps);
		cJSON_AddItemToArray(a, e);
	}
	if (!x)
		return o;
	cJSON_AddBoolToObject(o, "masqueradeInternal", x->masq_internal);
	cJSON_AddBoolToObject(o, "masqueradeExternal", x->masq_external);
	a = cJSON_AddArrayToObject(o, "notMasqueradedFrom");	/* the pod CIDR(s) */
	for (int i = 0; a && i < x->nkeep; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(sp_cidr_str(&x->keep_src[i], buf)));
	cJSON_AddBoolToObject(o, "noEndpointsDrop", x->no_endpoints_drop);
	if (x->has_external) {
		a = cJSON_AddArrayToObject(o, "externalEndpoints");
		for (size_t i = 0; a && i < x->n_external; i++) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "ip", sp_addr_str(&x->external[i].addr, buf));
			cJSON_AddNumberToObject(e, "port", x->external[i].port);
			cJSON_AddItemToArray(a, e);
		}
	}
	return o;
}

static cJSON *strings_json(char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

cJSON *sp_inspect_to_json(const struct sp_inspect *in)
{
	cJSON *o = cJSON_CreateObject(), *ports;
	size_t n;
	const struct sp_svc_port **v;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "format", in->format ? in->format : "");
	cJSON_AddBoolToObject(o, "partial", in->partial);
	cJSON_AddItemToObject(o, "model", sp_model_to_json(&in->m));
	ports = cJSON_AddArrayToObject(o, "ports");
	v = sp_model_sorted_ports(&in->m, &n);
	for (size_t i = 0; ports && v && i < n; i++)
		cJSON_AddItemToArray(ports, port_json(v[i], sp_hmap_get(in->extra, v[i]->key)));
	free(v);
	cJSON_AddItemToObject(o, "findings", strings_json(in->findings, in->nfindings));
	cJSON_AddItemToObject(o, "notes", strings_json(in->notes, in->nnotes));
	return o;
}

int sp_inspect_external_add(struct sp_inspect_port *x, const struct sp_addr *a, uint16_t port)
{
	struct sp_inspect_ep *v = realloc(x->external, (x->n_external + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	x->external = v;
	v[x->n_external].addr = *a;
	v[x->n_external++].port = port;
	x->has_external = true;
	return 0;
}
