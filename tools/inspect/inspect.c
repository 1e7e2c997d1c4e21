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
	sp_model_fini(&in->m);
	memset(in, 0, sizeof(*in));
}

void sp_inspect_finding(struct sp_inspect *in, const char *fmt, ...)
{
	char buf[512], **v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	v = realloc(in->findings, (in->nfindings + 1) * sizeof(*v));
	if (!v)
		return;
	in->findings = v;
	if ((v[in->nfindings] = strdup(buf)))
		in->nfindings++;
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

cJSON *sp_inspect_to_json(const struct sp_inspect *in)
{
	cJSON *o = cJSON_CreateObject(), *f;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "format", in->format ? in->format : "");
	cJSON_AddItemToObject(o, "model", sp_model_to_json(&in->m));
	f = cJSON_AddArrayToObject(o, "findings");
	for (size_t i = 0; f && i < in->nfindings; i++)
		cJSON_AddItemToArray(f, cJSON_CreateString(in->findings[i]));
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
