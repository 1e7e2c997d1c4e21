/* manifest.c - splits a manifest into objects and hands each to its kind's parser. */
#include "manifest.h"
#include "k8s_field.h"
#include "yaml.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

struct kind_def {
	const char *kind;
	const char *api_version;
	enum sp_kind id;
	bool namespaced;
};

static const struct kind_def kinds[] = {
	{ "Service", "v1", SP_KIND_SERVICE, true },
	{ "EndpointSlice", "discovery.k8s.io/v1", SP_KIND_SLICE, true },
	{ "Node", "v1", SP_KIND_NODE, false },
};

/* Best-effort "ns/name" of an object, even one that fails validation, so that
 * errors name it and the last good version can stay in force. A key that does
 * not fit is never cut (two objects would become one): it is left "" and the
 * object is named by its position (its name fails validation anyway). */
static void object_key(const cJSON *obj, bool namespaced, char *key, size_t sz)
{
	const cJSON *meta = sp_field(obj, "metadata");
	const cJSON *name = sp_field(meta, "name"), *ns = sp_field(meta, "namespace");

	key[0] = '\0';
	if (!cJSON_IsString(name) || !*name->valuestring)
		return;
	if ((size_t)(namespaced ? snprintf(key, sz, "%s/%s", cJSON_IsString(ns) ? ns->valuestring : "default",
					    name->valuestring)
			       : snprintf(key, sz, "%s", name->valuestring)) >= sz)
		key[0] = '\0';
}

void sp_manifest_item_free(struct sp_manifest_item *it)
{
	switch (it->kind) {
	case SP_KIND_SERVICE:
		sp_service_free(it->obj);
		break;
	case SP_KIND_SLICE:
		sp_slice_free(it->obj);
		break;
	case SP_KIND_NODE:
		sp_node_free(it->obj);
		break;
	}
	it->obj = NULL;
}

static uint64_t object_hash(const cJSON *obj)
{
	char *txt = cJSON_PrintUnformatted(obj);
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = txt ? txt : ""; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	cJSON_free(txt);
	return h;
}

static int parse_one(const cJSON *obj, const struct kind_def *k, struct sp_manifest_item *it)
{
	const cJSON *av = sp_field(obj, "apiVersion");

	if (cJSON_IsString(av) && strcmp(av->valuestring, k->api_version))
		return sp_perr_set(&it->perr, "apiVersion", "\"%.40s\" is not %s", av->valuestring,
				   k->api_version);
	switch (k->id) {
	case SP_KIND_SERVICE:
		return sp_service_parse(obj, (struct sp_service **)&it->obj, &it->perr);
	case SP_KIND_SLICE:
		return sp_slice_parse(obj, (struct sp_slice **)&it->obj, &it->perr);
	case SP_KIND_NODE:
		return sp_node_parse(obj, (struct sp_node **)&it->obj, &it->perr);
	}
	return -EINVAL;
}

int sp_manifest_walk(const cJSON *obj, int *index, sp_manifest_cb cb, void *ctx)
{
	const cJSON *kind = sp_field(obj, "kind"), *items = sp_field(obj, "items");
	struct sp_manifest_item it;
	int e;

	/* kind: List, ServiceList, EndpointSliceList, ... (kubectl get -o json/yaml) */
	if (cJSON_IsArray(items) && (!cJSON_IsString(kind) ||
				     strstr(kind->valuestring, "List"))) {
		const cJSON *o;

		cJSON_ArrayForEach(o, items) {
			/* Typed lists omit kind on their items. */
			if (!sp_field(o, "kind") && cJSON_IsString(kind) && cJSON_IsObject(o)) {
				char k[64];
				size_t n = strlen(kind->valuestring) - 4;

				if (n < sizeof(k) && !strcmp(kind->valuestring + n, "List")) {
					cJSON *copy = cJSON_Duplicate(o, 1);

					if (!copy)
						return -ENOMEM;
					memcpy(k, kind->valuestring, n);
					k[n] = '\0';
					cJSON_AddStringToObject(copy, "kind", k);
					e = sp_manifest_walk(copy, index, cb, ctx);
					cJSON_Delete(copy);
					if (e)
						return e;
					continue;
				}
			}
			if ((e = sp_manifest_walk(o, index, cb, ctx)))
				return e;
		}
		return 0;
	}
	memset(&it, 0, sizeof(it));
	it.index = (*index)++;
	if (!cJSON_IsObject(obj) || !cJSON_IsString(kind)) {
		/* Not an object at all: report it, as nothing can be derived from it. */
		it.kind_name = "object";
		it.err = sp_perr_set(&it.perr, "kind", cJSON_IsObject(obj) ? "missing" :
				     "the document is not an object");
		return cb(ctx, &it);
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(kind->valuestring, kinds[i].kind))
			continue;
		it.kind = kinds[i].id;
		it.kind_name = kinds[i].kind;
		object_key(obj, kinds[i].namespaced, it.key, sizeof(it.key));
		it.hash = object_hash(obj);
		it.err = parse_one(obj, &kinds[i], &it);
		if (it.err == -ENOMEM)
			return -ENOMEM;
		return cb(ctx, &it);
	}
	return 0;	/* Deployments, ConfigMaps, ...: not the proxy's business */
}

int sp_manifest_decode(const char *buf, size_t len, sp_manifest_cb cb, void *ctx,
		       struct sp_perr *err)
{
	cJSON *root, *doc;
	size_t i = 0;
	int index = 0, e = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	if (i < len && (buf[i] == '{' || buf[i] == '[')) {
		const char *end = NULL;

		root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
		if (!root) {
			size_t off = end ? (size_t)(end - buf) : 0, line = 1;

			for (size_t j = 0; j < off && j < len; j++)
				line += buf[j] == '\n';
			return sp_perr_set(err, "", "invalid JSON near line %zu (offset %zu)", line, off);
		}
		while (end < buf + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
			end++;
		if (end < buf + len) {
			cJSON_Delete(root);
			return sp_perr_set(err, "", "trailing data after the JSON value at offset %zu",
					   (size_t)(end - buf));
		}
		if (cJSON_IsArray(root)) {
			cJSON_ArrayForEach(doc, root)
				if ((e = sp_manifest_walk(doc, &index, cb, ctx)))
					break;
		} else {
			e = sp_manifest_walk(root, &index, cb, ctx);
		}
		cJSON_Delete(root);
		return e;
	}
	root = sp_yaml_load(buf, len, err);
	if (!root)
		return -errno;
	cJSON_ArrayForEach(doc, root)
		if ((e = sp_manifest_walk(doc, &index, cb, ctx)))
			break;
	cJSON_Delete(root);
	return e;
}
