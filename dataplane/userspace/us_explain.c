/* us_explain.c - explain's answer from the forwarder's live tables, with the
 * same decisions the relay makes for real traffic (us_client_pool,
 * us_client_allowed, us_pick), and its JSON form both ways: each field's
 * names and bounds in one place, read back by the same tables. */
#include "us_explain.h"
#include "us_addrs.h"
#include "us_flows.h"
#include "us_fwd.h"
#include "us_port.h"
#include "../../common/hmap.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* --- the answer --------------------------------------------------------------------- */

static enum sp_relay_verdict verdict(const struct us_lis *l, const struct us_pool *pool,
				     const struct sp_addr *src)
{
	if (!us_lis_endpoints(l))
		return SP_RELAY_NO_ENDPOINTS;
	if (l->fd < 0)
		return SP_RELAY_BIND_FAILED;
	if (!us_client_allowed(l, src))
		return SP_RELAY_SOURCE_RANGES;
	return pool->n ? SP_RELAY_RELAYED : SP_RELAY_NONE_FOR_CLIENT;
}

int us_explain(const struct us_ports *t, const struct us_explain_query *q, double now,
	       struct sp_relay_answer *out)
{
	const struct sp_node_addrs *na = &t->node[q->dst.family == AF_INET6];
	const struct us_lis *l;
	const struct us_svc *s;
	struct us_pool *pool;
	struct us_ep next;
	bool has_next;
	char name[80];

	memset(out, 0, sizeof(*out));
	snprintf(out->link, sizeof(out->link), "%s", US_LINK_NAME);
	for (int i = 0; i < na->n && out->n_node_addrs < SP_RELAY_MAX_NODE_ADDRS; i++)
		out->node_addrs[out->n_node_addrs++] = na->v[i];
	us_lis_name(&q->dst, q->port, q->proto, name, sizeof(name));
	if (!(l = sp_hmap_get(t->lis, name))) {
		out->verdict = SP_RELAY_NO_LISTENER;
		return 0;
	}
	s = l->svc;
	pool = us_client_pool(l, &q->src);
	snprintf(out->listener, sizeof(out->listener), "%s", l->name);
	snprintf(out->service_port, sizeof(out->service_port), "%s", s->key);
	out->on_link = l->vip;
	out->verdict = verdict(l, pool, &q->src);
	if (out->verdict == SP_RELAY_BIND_FAILED)
		snprintf(out->bind_err, sizeof(out->bind_err), "%s", strerror(-l->bind_err));
	out->list = pool == &s->internal   ? SP_RELAY_INTERNAL
		    : pool == &s->shortcut ? SP_RELAY_SHORTCUT
					   : SP_RELAY_EXTERNAL;
	out->choice = (enum sp_ep_choice)pool->choice;
	out->least_conns = pool->least_conns;
	if (s->aff) {
		struct us_ep ep;

		out->affinity_timeout = us_affinity_timeout(s->aff);
		out->has_affinity =
		    us_affinity_get(s->aff, &q->src, now, &ep, &out->affinity_left) &&
		    us_pool_has(pool, &ep);
		if (out->has_affinity)
			out->affinity_ep = (struct sp_relay_ep){.addr = ep.addr, .port = ep.port};
	}
	out->n_total = pool->n;
	if (!pool->n)
		return 0;
	out->n_eps = pool->n < US_EXPLAIN_MAX_EPS ? pool->n : US_EXPLAIN_MAX_EPS;
	if (!(out->eps = calloc(out->n_eps, sizeof(*out->eps))))
		return -ENOMEM;
	has_next = !us_pick_peek(pool, s->aff, &q->src, now, &next);
	/* In balancing order, from the round-robin cursor. */
	for (size_t k = 0; k < out->n_eps; k++) {
		size_t i = (pool->next + k) % pool->n;
		struct sp_relay_ep *e = &out->eps[k];

		e->addr = pool->v[i].addr;
		e->port = pool->v[i].port;
		e->active = pool->conns[i]; /* connections, or UDP flows */
		e->next = has_next && us_ep_equal(&pool->v[i], &next);
	}
	return 0;
}

/* --- JSON: names of the enums, both ways ----------------------------------------------- */

static const char *const verdict_names[] = {
    [SP_RELAY_RELAYED] = "relayed",
    [SP_RELAY_NO_ENDPOINTS] = "no-endpoints",
    [SP_RELAY_NONE_FOR_CLIENT] = "none-for-client",
    [SP_RELAY_SOURCE_RANGES] = "source-ranges",
    [SP_RELAY_BIND_FAILED] = "bind-failed",
    [SP_RELAY_NO_LISTENER] = "no-listener",
};
static const char *const list_names[] = {
    [SP_RELAY_INTERNAL] = "internal",
    [SP_RELAY_EXTERNAL] = "external",
    [SP_RELAY_SHORTCUT] = "shortcut",
};
static const char *const choice_names[] = {
    [SP_CHOICE_READY] = "ready",
    [SP_CHOICE_NODE_HINTS] = "node-hints",
    [SP_CHOICE_ZONE_HINTS] = "zone-hints",
    [SP_CHOICE_TERMINATING] = "terminating",
};
#define NAMES(v) (v), sizeof(v) / sizeof((v)[0])

/* Index of @s in @names, or -1. */
static int name_index(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return (int)i;
	return -1;
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A number of @o in [@min, @max] into *@out; absent: @dflt. -EINVAL when
 * it is not a number or out of range. */
static int num_of(const cJSON *o, const char *key, double min, double max, double dflt, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v) {
		*out = dflt;
		return 0;
	}
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= min && v->valuedouble <= max))
		return -EINVAL;
	*out = v->valuedouble;
	return 0;
}

/* A plain address of @o's @key, of @family when not 0. */
static int addr_of(const cJSON *o, const char *key, int family, struct sp_addr *out)
{
	if (sp_addr_parse(str_of(o, key), out))
		return -EINVAL;
	return family && out->family != family ? -EINVAL : 0;
}

/* Copy a string field into @buf; absent is "". -EINVAL when too long. */
static int text_of(const cJSON *o, const char *key, char *buf, size_t sz)
{
	const char *s = str_of(o, key);

	if (!s) {
		*buf = '\0';
		return 0;
	}
	if (strlen(s) >= sz)
		return -EINVAL;
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

static cJSON *parse(const char *buf, size_t len, size_t max)
{
	return len && len <= max ? cJSON_ParseWithLength(buf, len) : NULL;
}

static char *print_free(cJSON *o)
{
	char *txt = o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	if (!txt)
		errno = ENOMEM;
	return txt;
}

/* --- the query ------------------------------------------------------------------------- */

char *us_explain_query_fmt(const struct us_explain_query *q)
{
	cJSON *o = cJSON_CreateObject();
	char a[SP_ADDRSTRLEN];

	if (!o || !cJSON_AddStringToObject(o, "source", sp_addr_str(&q->src, a)) ||
	    !cJSON_AddStringToObject(o, "destination", sp_addr_str(&q->dst, a)) ||
	    !cJSON_AddNumberToObject(o, "port", q->port) ||
	    !cJSON_AddStringToObject(o, "protocol", sp_proto_name(q->proto))) {
		cJSON_Delete(o);
		errno = ENOMEM;
		return NULL;
	}
	return print_free(o);
}

int us_explain_query_parse(const char *buf, size_t len, struct us_explain_query *q)
{
	cJSON *o = parse(buf, len, US_EXPLAIN_MAX_QUERY);
	double port;
	int e = -EINVAL;

	memset(q, 0, sizeof(*q));
	if (cJSON_IsObject(o) && !addr_of(o, "destination", 0, &q->dst) &&
	    !addr_of(o, "source", q->dst.family, &q->src) &&
	    (q->proto = sp_proto_parse(str_of(o, "protocol") ? str_of(o, "protocol") : "")) &&
	    !num_of(o, "port", 1, 65535, 0, &port) && port >= 1) {
		q->port = (uint16_t)port;
		e = 0;
	}
	cJSON_Delete(o);
	return e;
}

/* --- the answer's JSON ----------------------------------------------------------------- */

static cJSON *ep_json(const struct sp_relay_ep *e)
{
	cJSON *o = cJSON_CreateObject();
	char a[SP_ADDRSTRLEN];

	if (!o || !cJSON_AddStringToObject(o, "ip", sp_addr_str(&e->addr, a)) ||
	    !cJSON_AddNumberToObject(o, "port", e->port) ||
	    !cJSON_AddNumberToObject(o, "active", e->active) ||
	    !cJSON_AddBoolToObject(o, "next", e->next)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int ep_from(const cJSON *o, int family, struct sp_relay_ep *e)
{
	double port, active;
	const cJSON *next = cJSON_GetObjectItemCaseSensitive(o, "next");

	memset(e, 0, sizeof(*e));
	if (!cJSON_IsObject(o) || addr_of(o, "ip", family, &e->addr) ||
	    num_of(o, "port", 1, 65535, 0, &port) || port < 1 ||
	    num_of(o, "active", 0, UINT32_MAX, 0, &active) || (next && !cJSON_IsBool(next)))
		return -EINVAL;
	e->port = (uint16_t)port;
	e->active = (uint32_t)active;
	e->next = cJSON_IsTrue(next);
	return 0;
}

char *us_explain_answer_fmt(const struct sp_relay_answer *a)
{
	cJSON *o = cJSON_CreateObject(), *arr, *x;
	char ip[SP_ADDRSTRLEN];
	bool ok;

	ok = o && cJSON_AddStringToObject(o, "verdict", verdict_names[a->verdict]) &&
	     cJSON_AddNumberToObject(o, "pid", a->pid) &&
	     cJSON_AddStringToObject(o, "listener", a->listener) &&
	     cJSON_AddStringToObject(o, "servicePort", a->service_port) &&
	     cJSON_AddBoolToObject(o, "onLink", a->on_link) &&
	     cJSON_AddStringToObject(o, "link", a->link) &&
	     cJSON_AddStringToObject(o, "bindError", a->bind_err) &&
	     cJSON_AddStringToObject(o, "list", list_names[a->list]) &&
	     cJSON_AddStringToObject(o, "choice", choice_names[a->choice]) &&
	     cJSON_AddStringToObject(o, "balancing",
				     a->least_conns ? "least-connections" : "round-robin") &&
	     cJSON_AddNumberToObject(o, "affinityTimeoutSeconds", a->affinity_timeout) &&
	     cJSON_AddNumberToObject(o, "total", (double)a->n_total) &&
	     (arr = cJSON_AddArrayToObject(o, "nodeAddresses"));
	for (int i = 0; ok && i < a->n_node_addrs; i++)
		ok = cJSON_AddItemToArray(arr,
					  cJSON_CreateString(sp_addr_str(&a->node_addrs[i], ip)));
	if (ok && a->has_affinity) {
		ok = (x = ep_json(&a->affinity_ep)) && cJSON_AddItemToObject(o, "affinity", x) &&
		     cJSON_AddNumberToObject(x, "secondsLeft", a->affinity_left);
	}
	ok = ok && (arr = cJSON_AddArrayToObject(o, "endpoints"));
	for (size_t i = 0; ok && i < a->n_eps; i++)
		ok = (x = ep_json(&a->eps[i])) && cJSON_AddItemToArray(arr, x);
	if (!ok) {
		cJSON_Delete(o);
		errno = ENOMEM;
		return NULL;
	}
	return print_free(o);
}

/* The enum of @o's @key by @names; -EINVAL when absent or unknown. */
static int enum_of(const cJSON *o, const char *key, const char *const *names, size_t n, int *out)
{
	return (*out = name_index(str_of(o, key), names, n)) < 0 ? -EINVAL : 0;
}

static int answer_from(const cJSON *o, struct sp_relay_answer *out)
{
	const cJSON *arr, *it, *aff = cJSON_GetObjectItemCaseSensitive(o, "affinity");
	const char *bal = str_of(o, "balancing");
	int v, l, c, family = 0;
	double pid, timeout, total, left;

	if (!cJSON_IsObject(o) || enum_of(o, "verdict", NAMES(verdict_names), &v) ||
	    enum_of(o, "list", NAMES(list_names), &l) ||
	    enum_of(o, "choice", NAMES(choice_names), &c) || !bal ||
	    (strcmp(bal, "round-robin") && strcmp(bal, "least-connections")) ||
	    num_of(o, "pid", 0, 1 << 30, 0, &pid) ||
	    num_of(o, "affinityTimeoutSeconds", 0, 86400, 0, &timeout) ||
	    num_of(o, "total", 0, 1 << 30, 0, &total) ||
	    text_of(o, "listener", out->listener, sizeof(out->listener)) ||
	    text_of(o, "servicePort", out->service_port, sizeof(out->service_port)) ||
	    text_of(o, "link", out->link, sizeof(out->link)) ||
	    text_of(o, "bindError", out->bind_err, sizeof(out->bind_err)))
		return -EINVAL;
	out->verdict = (enum sp_relay_verdict)v;
	out->list = (enum sp_relay_list)l;
	out->choice = (enum sp_ep_choice)c;
	out->least_conns = !strcmp(bal, "least-connections");
	out->pid = (int)pid;
	out->affinity_timeout = (uint32_t)timeout;
	out->n_total = (size_t)total;
	out->on_link = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "onLink"));
	arr = cJSON_GetObjectItemCaseSensitive(o, "nodeAddresses");
	if (arr && !cJSON_IsArray(arr))
		return -EINVAL;
	cJSON_ArrayForEach(it, arr)
	{
		if (out->n_node_addrs == SP_RELAY_MAX_NODE_ADDRS ||
		    sp_addr_parse(cJSON_IsString(it) ? it->valuestring : NULL,
				  &out->node_addrs[out->n_node_addrs++]))
			return -EINVAL;
	}
	if (aff) {
		if (ep_from(aff, 0, &out->affinity_ep) ||
		    num_of(aff, "secondsLeft", 0, 86400, 0, &left))
			return -EINVAL;
		out->has_affinity = true;
		out->affinity_left = left;
	}
	arr = cJSON_GetObjectItemCaseSensitive(o, "endpoints");
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > US_EXPLAIN_MAX_EPS ||
	    (size_t)cJSON_GetArraySize(arr) > out->n_total)
		return -EINVAL;
	if (cJSON_GetArraySize(arr) &&
	    !(out->eps = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*out->eps))))
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr)
	{
		/* one family: the first endpoint's */
		if (ep_from(it, family, &out->eps[out->n_eps]))
			return -EINVAL;
		family = out->eps[out->n_eps++].addr.family;
	}
	return 0;
}

int us_explain_answer_parse(const char *buf, size_t len, struct sp_relay_answer *out)
{
	cJSON *o = parse(buf, len, US_EXPLAIN_MAX_ANSWER);
	int e;

	memset(out, 0, sizeof(*out));
	e = o ? answer_from(o, out) : -EINVAL;
	cJSON_Delete(o);
	return e;
}
