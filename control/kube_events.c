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

static void page_clear(struct sp_kube_events *ev);

void sp_kube_events_init(struct sp_kube_events *ev, enum sp_kube_kind kind, struct sp_store *st,
			 const struct sp_log *lg, const char *node_name)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->st = st;
	ev->lg = lg;
	ev->node_name = node_name ? node_name : "";
	ev->max_item = 16u << 20;
	ev->max_values = SP_KUBE_MAX_VALUES;
	sp_json_list_stream_init(&ev->page, ev->max_item);
	ev->page.max_values = ev->max_values;
}

void sp_kube_events_fini(struct sp_kube_events *ev)
{
	page_clear(ev);
	sp_json_list_stream_fini(&ev->page);
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

/* @obj's key into @key, marked as returned by the list in progress; false
 * when the object is skipped (logged, or another node's Node). */
static bool take_key(struct sp_kube_events *ev, const cJSON *obj, const char *where, char *key,
		     size_t sz)
{
	if (!object_key(obj, ev->kind != SP_KUBE_NODE, key, sz)) {
		ev_error(ev, "%s %s: an object without metadata.name%s: skipped", kind_name[ev->kind], where,
		      ev->kind != SP_KUBE_NODE ? " and metadata.namespace" : "");
		return false;
	}
	if (ev->kind == SP_KUBE_NODE && strcmp(key, ev->node_name))
		return false;	/* not this node (a server that ignores fieldSelector) */
	if (ev->seen && sp_hmap_put(ev->seen, key, (void *)1, NULL)) {
		ev_error(ev, "%s %s %s: out of memory", kind_name[ev->kind], where, key);
		return false;
	}
	return true;
}

/* @obj read as an object of ev's kind: a new sp_service, sp_slice or
 * sp_node, or NULL when it is refused (logged). */
static void *parse(struct sp_kube_events *ev, const cJSON *obj, const char *key, const char *where)
{
	struct sp_perr perr = {0};
	void *parsed = NULL;
	int e;

	if (ev->kind == SP_KUBE_SERVICES)
		e = sp_service_parse(obj, (struct sp_service **)&parsed, &perr);
	else if (ev->kind == SP_KUBE_SLICES)
		e = sp_slice_parse(obj, (struct sp_slice **)&parsed, &perr);
	else
		e = sp_node_parse(obj, (struct sp_node **)&parsed, &perr);
	if (e == -EINVAL)
		ev_error(ev, "%s %s %s: %s%s%s; this version is skipped", kind_name[ev->kind], where, key,
		      perr.field, perr.field[0] ? ": " : "", perr.msg);
	else if (e)
		ev_error(ev, "%s %s %s: %s", kind_name[ev->kind], where, key, strerror(-e));
	return e ? NULL : parsed;
}

static void free_parsed(enum sp_kube_kind kind, void *parsed)
{
	if (kind == SP_KUBE_SERVICES)
		sp_service_free(parsed);
	else if (kind == SP_KUBE_SLICES)
		sp_slice_free(parsed);
	else
		sp_node_free(parsed);
}

/* Hand @parsed (from parse) to the store, which owns it from here. */
static void store(struct sp_kube_events *ev, void *parsed, const char *key, const char *where)
{
	int e;

	if (ev->kind == SP_KUBE_SERVICES)
		e = sp_store_set_service(ev->st, parsed);
	else if (ev->kind == SP_KUBE_SLICES)
		e = sp_store_set_slice(ev->st, parsed);
	else
		e = sp_store_set_node(ev->st, parsed);
	if (e)
		ev_error(ev, "%s %s %s: %s", kind_name[ev->kind], where, key, strerror(-e));
}

/* An object added or changed (@deleted false), or removed. */
static void apply(struct sp_kube_events *ev, const cJSON *obj, bool deleted, const char *where)
{
	char key[320];
	void *parsed;

	if (!take_key(ev, obj, where, key, sizeof(key)))
		return;
	if (deleted) {
		if (ev->kind == SP_KUBE_SERVICES)
			sp_store_del_service(ev->st, key);
		else if (ev->kind == SP_KUBE_SLICES)
			sp_store_del_slice(ev->st, key);
		else
			sp_store_del_node(ev->st, key);
		return;
	}
	if ((parsed = parse(ev, obj, key, where)))
		store(ev, parsed, key, where);
}

/* --- list pages ------------------------------------------------------------------ */

/* An object of the page arriving, held until the page ends whole (the same
 * object twice in a page: the later one, as the store would keep). */
static void hold(struct sp_kube_events *ev, const cJSON *obj)
{
	char key[320];
	void *parsed, *old = NULL;

	if (!take_key(ev, obj, "list", key, sizeof(key)) || !(parsed = parse(ev, obj, key, "list")))
		return;
	if ((!ev->held && !(ev->held = sp_hmap_new())) || sp_hmap_put(ev->held, key, parsed, &old)) {
		ev_error(ev, "%s list %s: out of memory", kind_name[ev->kind], key);
		free_parsed(ev->kind, parsed);
		return;
	}
	if (old)
		free_parsed(ev->kind, old);
}

/* Forget the page arriving: what it held, its metadata, the scanner's state. */
static void page_clear(struct sp_kube_events *ev)
{
	struct sp_hmap_iter it = {0};

	while (ev->held && sp_hmap_next(ev->held, &it))
		free_parsed(ev->kind, it.value);
	sp_hmap_free(ev->held);
	ev->held = NULL;
	free(ev->page_rv);
	free(ev->page_cont);
	ev->page_rv = ev->page_cont = NULL;
	sp_json_list_stream_reset(&ev->page);
	ev->page.max = ev->max_item;
	ev->page.max_values = ev->max_values;
	ev->page_err = 0;
}

/* The scanner's error as one line naming the kind; the page is dropped. */
static void page_refused(struct sp_kube_events *ev, int e)
{
	const char *why = sp_json_list_stream_error(&ev->page);

	if (*why)
		ev_error(ev, "list %s: %s: the page is refused", kind_name[ev->kind], why);
	else
		ev_error(ev, "list %s: %s before byte %zu: the page is refused", kind_name[ev->kind],
			 e == -ENOMEM ? "out of memory" : "an item the JSON parser cannot read",
			 ev->page.off);
	page_clear(ev);
	ev->page_err = e;	/* until the next page begins */
}

/* A string member of @obj, copied into *@out (replacing it); -ENOMEM. */
static int copy_str(const cJSON *obj, const char *key, char **out)
{
	const char *v = cJSON_GetStringValue(sp_field(obj, key));
	char *c = NULL;

	if (v && !(c = strdup(v)))
		return -ENOMEM;
	free(*out);
	*out = c;
	return 0;
}

/* An item or the list's metadata, whole. The scanner has checked it is JSON;
 * one cJSON still refuses (a lone UTF-16 surrogate, \ud800) fails the page:
 * its key is unknown, so skipping it would remove the object at the list's end. */
static int on_part(void *ctx, enum sp_json_list_part part, char *json, size_t len)
{
	struct sp_kube_events *ev = ctx;
	cJSON *obj = cJSON_ParseWithLength(json, len);
	int e = 0;

	if (!obj)
		return -EBADMSG;
	if (part == SP_JSON_LIST_ITEM)
		hold(ev, obj);
	else if (!(e = copy_str(obj, "resourceVersion", &ev->page_rv)))
		e = copy_str(obj, "continue", &ev->page_cont);
	cJSON_Delete(obj);
	return e;
}

void sp_kube_page_begin(struct sp_kube_events *ev)
{
	page_clear(ev);
}

void sp_kube_page_abort(struct sp_kube_events *ev)
{
	page_clear(ev);
}

int sp_kube_page_feed(struct sp_kube_events *ev, const char *data, size_t n)
{
	int e;

	if (ev->page_err)
		return ev->page_err;	/* (refused and logged already) */
	if ((e = sp_json_list_stream_feed(&ev->page, data, n, on_part, ev)))
		page_refused(ev, e);
	return e;
}

int sp_kube_page_end(struct sp_kube_events *ev, char **cont)
{
	struct sp_hmap_iter it = {0};
	int e;

	*cont = NULL;
	if (ev->page_err)
		return ev->page_err;	/* (refused and logged by page_feed) */
	if ((e = sp_json_list_stream_finish(&ev->page))) {
		page_refused(ev, e);
		return e;
	}
	while (ev->held && sp_hmap_next(ev->held, &it))
		store(ev, it.value, it.key, "list");
	sp_hmap_free(ev->held);
	ev->held = NULL;
	if (ev->page_cont && *ev->page_cont) {
		*cont = ev->page_cont;
		ev->page_cont = NULL;
	} else if (ev->page_rv && *ev->page_rv) {
		free(ev->rv);	/* the list's version: the watch starts there */
		ev->rv = ev->page_rv;
		ev->page_rv = NULL;
	}
	page_clear(ev);
	return 0;
}

int sp_kube_list_page(struct sp_kube_events *ev, const char *body, size_t len, char **cont)
{
	int e;

	sp_kube_page_begin(ev);
	if ((e = sp_kube_page_feed(ev, body, len))) {
		*cont = NULL;
		return e;
	}
	return sp_kube_page_end(ev, cont);
}

int sp_kube_list_begin(struct sp_kube_events *ev)
{
	page_clear(ev);
	sp_hmap_free(ev->seen);
	ev->seen = sp_hmap_new();
	return ev->seen ? 0 : -ENOMEM;
}

void sp_kube_list_abort(struct sp_kube_events *ev)
{
	page_clear(ev);
	sp_hmap_free(ev->seen);
	ev->seen = NULL;
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
