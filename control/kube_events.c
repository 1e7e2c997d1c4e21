/* kube_events.c - list pages and watch events applied to the store. */
#include "kube_events.h"
#include "k8s.h"
#include "k8s_field.h"
#include "store.h"
#include "../common/hmap.h"
#include "../common/log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_name[SP_KUBE_KINDS] = { "services", "endpointslices", "nodes" };
static const char *const kind_path[SP_KUBE_KINDS] = {
	"/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices", "/api/v1/nodes",
};

const char *sp_kube_kind_name(enum sp_kube_kind k)
{
	return kind_name[k];
}

const char *sp_kube_kind_path(enum sp_kube_kind k)
{
	return kind_path[k];
}

void sp_kube_events_init(struct sp_kube_events *ev, enum sp_kube_kind kind, struct sp_store *st,
			 const struct sp_log *lg, const char *node_name)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->st = st;
	ev->lg = lg;
	ev->node_name = node_name ? node_name : "";
}

void sp_kube_events_fini(struct sp_kube_events *ev)
{
	sp_hmap_free(ev->seen);
	free(ev->rv);
	memset(ev, 0, sizeof(*ev));
}

void sp_kube_log_error(const struct sp_log *lg, size_t *errors, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(*errors)++;
	sp_log_err(lg, "API source: %s", msg);
}

#define ev_error(ev, ...) sp_kube_log_error((ev)->lg, &(ev)->errors, __VA_ARGS__)

/* "ns/name" (or "name") of @obj's metadata into @key; false when absent. */
static bool object_key(const cJSON *obj, bool namespaced, char *key, size_t sz)
{
	const cJSON *md = sp_field(obj, "metadata");
	const char *ns = cJSON_GetStringValue(sp_field(md, "namespace")),
		   *name = cJSON_GetStringValue(sp_field(md, "name"));

	if (!name || !*name || (namespaced && (!ns || !*ns)))
		return false;
	snprintf(key, sz, "%s%s%s", namespaced ? ns : "", namespaced ? "/" : "", name);
	return true;
}

static void set_rv(struct sp_kube_events *ev, const cJSON *obj)
{
	const char *rv = cJSON_GetStringValue(sp_field(sp_field(obj, "metadata"), "resourceVersion"));
	char *c;

	if (!rv || !*rv || !(c = strdup(rv)))
		return;
	free(ev->rv);
	ev->rv = c;
}

/* An object added or changed (@deleted false), or removed. */
static void apply(struct sp_kube_events *ev, const cJSON *obj, bool deleted, const char *where)
{
	struct sp_perr perr = {0};
	char key[320];
	void *parsed = NULL;
	int e = 0;

	if (!object_key(obj, ev->kind != SP_KUBE_NODE, key, sizeof(key))) {
		ev_error(ev, "%s %s: an object without metadata.name%s: skipped", kind_name[ev->kind], where,
		      ev->kind != SP_KUBE_NODE ? " and metadata.namespace" : "");
		return;
	}
	if (ev->kind == SP_KUBE_NODE && strcmp(key, ev->node_name))
		return;		/* not this node (a server that ignores fieldSelector) */
	if (ev->seen && sp_hmap_put(ev->seen, key, (void *)1, NULL)) {
		ev_error(ev, "%s %s %s: out of memory", kind_name[ev->kind], where, key);
		return;
	}
	if (deleted) {
		if (ev->kind == SP_KUBE_SERVICES)
			sp_store_del_service(ev->st, key);
		else if (ev->kind == SP_KUBE_SLICES)
			sp_store_del_slice(ev->st, key);
		else
			sp_store_del_node(ev->st, key);
		return;
	}
	if (ev->kind == SP_KUBE_SERVICES && !(e = sp_service_parse(obj, (struct sp_service **)&parsed, &perr)))
		e = sp_store_set_service(ev->st, parsed);
	else if (ev->kind == SP_KUBE_SLICES && !(e = sp_slice_parse(obj, (struct sp_slice **)&parsed, &perr)))
		e = sp_store_set_slice(ev->st, parsed);
	else if (ev->kind == SP_KUBE_NODE && !(e = sp_node_parse(obj, (struct sp_node **)&parsed, &perr)))
		e = sp_store_set_node(ev->st, parsed);
	if (e == -EINVAL)
		ev_error(ev, "%s %s %s: %s%s%s; this version is skipped", kind_name[ev->kind], where, key,
		      perr.field, perr.field[0] ? ": " : "", perr.msg);
	else if (e)
		ev_error(ev, "%s %s %s: %s", kind_name[ev->kind], where, key, strerror(-e));
}

int sp_kube_list_begin(struct sp_kube_events *ev)
{
	sp_hmap_free(ev->seen);
	ev->seen = sp_hmap_new();
	return ev->seen ? 0 : -ENOMEM;
}

void sp_kube_list_abort(struct sp_kube_events *ev)
{
	sp_hmap_free(ev->seen);
	ev->seen = NULL;
}

int sp_kube_list_page(struct sp_kube_events *ev, const char *body, size_t len, char **cont)
{
	cJSON *list = cJSON_ParseWithLength(body, len);
	const cJSON *items = sp_field(list, "items"), *it;
	const char *c;

	*cont = NULL;
	if (!list || !cJSON_IsArray(items)) {
		ev_error(ev, "list %s: the response is not a list (%zu bytes)", kind_name[ev->kind], len);
		cJSON_Delete(list);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, items)
		apply(ev, it, false, "list");
	c = cJSON_GetStringValue(sp_field(sp_field(list, "metadata"), "continue"));
	if (c && *c)
		*cont = strdup(c);
	else
		set_rv(ev, list);	/* the list's version: the watch starts there */
	cJSON_Delete(list);
	return 0;
}

void sp_kube_list_end(struct sp_kube_events *ev)
{
	struct sp_store *st = ev->st;
	struct sp_hmap *h = ev->kind == SP_KUBE_SERVICES ? st->services : st->slices;
	const char **keys;
	size_t n;

	if (!ev->seen)
		return;
	if (ev->kind == SP_KUBE_NODE) {
		if (st->node && !sp_hmap_get(ev->seen, st->node->name))
			sp_store_del_node(st, st->node->name);
		sp_kube_list_abort(ev);
		return;
	}
	keys = sp_hmap_sorted_keys(h, &n);
	for (size_t i = 0; keys && i < n; i++) {
		char *k;

		if (sp_hmap_get(ev->seen, keys[i]) || !(k = strdup(keys[i])))
			continue;	/* (a copy: the delete frees the store's key) */
		if (ev->kind == SP_KUBE_SERVICES)
			sp_store_del_service(st, k);
		else
			sp_store_del_slice(st, k);
		free(k);
	}
	free(keys);
	sp_kube_list_abort(ev);
}

int sp_kube_watch_event(struct sp_kube_events *ev, const char *line, size_t len)
{
	cJSON *e = cJSON_ParseWithLength(line, len);
	const char *type = cJSON_GetStringValue(sp_field(e, "type"));
	const cJSON *obj = sp_field(e, "object");
	int stop = 0;

	if (!e || !type || !cJSON_IsObject(obj)) {
		ev_error(ev, "watch %s: an event that is not {\"type\", \"object\"} JSON (%zu bytes): skipped",
		      kind_name[ev->kind], len);
	} else if (!strcmp(type, "BOOKMARK")) {
		set_rv(ev, obj);
	} else if (!strcmp(type, "ERROR")) {
		if (cJSON_GetNumberValue(sp_field(obj, "code")) == 410) {
			sp_log_info(ev->lg, "API source: watch %s: resourceVersion %s is too old (410 Gone): listing again",
				    kind_name[ev->kind], ev->rv ? ev->rv : "");
			ev->relist = true;
		} else {
			ev_error(ev, "watch %s: error event: %.200s", kind_name[ev->kind],
			      cJSON_GetStringValue(sp_field(obj, "message")) ?: "(no message)");
		}
		stop = 1;	/* the server ends this stream */
	} else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") || !strcmp(type, "DELETED")) {
		apply(ev, obj, type[0] == 'D', "watch");
		set_rv(ev, obj);
	} else {
		ev_error(ev, "watch %s: unknown event type %.32s: skipped", kind_name[ev->kind], type);
	}
	cJSON_Delete(e);
	return stop;
}
