/* yaml.c - libyaml event stream → cJSON, with limits for hostile input.
 *
 * The tree is built from libyaml's events, never from its document API: the
 * composer there builds the whole node graph before any limit can be checked,
 * and its cost grows with the square of the nesting depth. Here the depth is
 * checked as each collection opens, so a deep file stops after MAX_DEPTH
 * events; aliases are expanded by us, against a budget of bytes. */
#include "yaml.h"
#include "k8s.h"
#include "k8s_field.h"
#include "../common/hmap.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#define MAX_DEPTH 64		/* Kubernetes objects nest far less */
#define NODE_COST 64		/* bytes a node costs, before its text */

/* One anchored node of the current document. */
struct anchor {
	cJSON *node;		/* inside the document's tree (not owned) */
	size_t cost;		/* bytes it expanded to */
};

/* An open collection. */
struct frame {
	cJSON *node;		/* owned by its parent (or is the root) */
	char *key;		/* mapping: the key waiting for its value (malloc'd) */
	char *anchor;		/* its anchor name, or NULL (malloc'd) */
	size_t cost_at_start;
};

struct builder {
	struct frame st[MAX_DEPTH + 1];
	int depth;
	cJSON *root;
	cJSON *replaced;		/* values a repeated key replaced: anchors may point in */
	struct sp_hmap *anchors;	/* name → struct anchor */
	size_t cost;			/* bytes built so far in this document */
	size_t alias_bytes;		/* bytes added by aliases, whole stream */
	struct sp_perr *err;
};

/* Plain scalar → number, when the whole text is one (decimal, 0x, 0o, float). */
static bool scalar_number(const char *s, double *out)
{
	char *end;

	if (!*s)
		return false;
	if ((s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) ||
	    ((s[0] == '+' || s[0] == '-') && s[1] == '0' && (s[2] == 'x' || s[2] == 'o'))) {
		const char *p = s + (s[0] == '+' || s[0] == '-');
		long long v = strtoll(p + 2, &end, p[1] == 'x' ? 16 : 8);

		if (*end || end == p + 2)
			return false;
		*out = (double)(s[0] == '-' ? -v : v);
		return true;
	}
	if (strspn(s, "+-0123456789.eE") != strlen(s))
		return false;	/* keeps "inf", "nan" and hex floats as strings */
	*out = strtod(s, &end);
	return !*end && isfinite(*out);
}

/* Quoted, literal and folded scalars are strings, as is a plain one tagged
 * !!str; other plain ones are typed by their text. */
static cJSON *scalar(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	double d;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    (tag && !strcmp(tag, YAML_STR_TAG)))
		return cJSON_CreateString(s);
	if (!strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return cJSON_CreateNull();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return cJSON_CreateTrue();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return cJSON_CreateFalse();
	if (scalar_number(s, &d))
		return cJSON_CreateNumber(d);
	return cJSON_CreateString(s);
}

static int fail(struct builder *b, const yaml_mark_t *m, const char *what)
{
	sp_perr_set(b->err, "", "line %zu column %zu: %s", m->line + 1, m->column + 1, what);
	return -EINVAL;
}

static void free_anchors(struct builder *b)
{
	struct sp_hmap_iter it = {0};

	while (sp_hmap_next(b->anchors, &it))
		free(sp_hmap_del(b->anchors, it.key));
}

static int set_anchor(struct builder *b, const char *name, cJSON *node, size_t cost)
{
	struct anchor *a = malloc(sizeof(*a));
	void *old = NULL;

	if (!a || sp_hmap_put(b->anchors, name, a, &old)) {
		free(a);
		return -ENOMEM;
	}
	free(old);	/* a redefined anchor: the later one counts */
	*a = (struct anchor){ .node = node, .cost = cost };
	return 0;
}

/* Hand @v (owned) to the innermost open collection, or make it the root. */
static int attach(struct builder *b, cJSON *v, const yaml_mark_t *m)
{
	struct frame *f = b->depth ? &b->st[b->depth - 1] : NULL;
	cJSON *old;

	if (!v)
		return -ENOMEM;
	if (!f) {
		b->root = v;
		return 0;
	}
	if (cJSON_IsArray(f->node)) {
		cJSON_AddItemToArray(f->node, v);
		return 0;
	}
	if (!f->key) {
		cJSON_Delete(v);
		return fail(b, m, "mapping key is not a scalar");
	}
	/* A repeated key: the later value wins, as in JSON decoders. The earlier
	 * one is kept until the document ends, as an anchor may point into it. */
	old = cJSON_DetachItemFromObjectCaseSensitive(f->node, f->key);
	if (old)
		cJSON_AddItemToArray(b->replaced, old);
	cJSON_AddItemToObject(f->node, f->key, v);
	free(f->key);
	f->key = NULL;
	return 0;
}

/* The key of a mapping whose next item is a key: take @text as it. */
static bool wants_key(const struct builder *b)
{
	const struct frame *f = b->depth ? &b->st[b->depth - 1] : NULL;

	return f && cJSON_IsObject(f->node) && !f->key;
}

static int set_key(struct builder *b, const char *text)
{
	return (b->st[b->depth - 1].key = strdup(text)) ? 0 : -ENOMEM;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const char *anchor = (const char *)ev->data.scalar.anchor;
	cJSON *v;
	int e;

	if (wants_key(b))
		return set_key(b, (const char *)ev->data.scalar.value);
	if (!b->depth && !ev->data.scalar.length && ev->data.scalar.plain_implicit)
		return 0;	/* "---" with nothing after it: no document */
	b->cost += NODE_COST + ev->data.scalar.length;
	v = scalar(ev);
	if ((e = attach(b, v, &ev->start_mark)))
		return e;
	return anchor ? set_anchor(b, anchor, v, NODE_COST + ev->data.scalar.length) : 0;
}

static int on_alias(struct builder *b, const yaml_event_t *ev, size_t max_alias_bytes)
{
	const struct anchor *a = sp_hmap_get(b->anchors, (const char *)ev->data.alias.anchor);

	if (!a)
		return fail(b, &ev->start_mark, "alias to an unknown or unfinished anchor");
	if (wants_key(b)) {
		if (!cJSON_IsString(a->node))
			return fail(b, &ev->start_mark, "mapping key is not a scalar");
		return set_key(b, a->node->valuestring);
	}
	if (a->cost > max_alias_bytes - b->alias_bytes) {
		char msg[96];

		snprintf(msg, sizeof(msg), "aliases expand to more than %zu bytes", max_alias_bytes);
		return fail(b, &ev->start_mark, msg);
	}
	b->alias_bytes += a->cost;
	b->cost += a->cost;
	return attach(b, cJSON_Duplicate(a->node, 1), &ev->start_mark);
}

static int on_open(struct builder *b, const yaml_event_t *ev, bool map)
{
	const char *anchor = map ? (const char *)ev->data.mapping_start.anchor
				 : (const char *)ev->data.sequence_start.anchor;
	struct frame *f;
	cJSON *v;
	int e;

	if (b->depth >= MAX_DEPTH) {
		char msg[64];

		snprintf(msg, sizeof(msg), "nested deeper than %d levels", MAX_DEPTH);
		return fail(b, &ev->start_mark, msg);
	}
	if (wants_key(b))
		return fail(b, &ev->start_mark, "mapping key is not a scalar");
	b->cost += NODE_COST;
	v = map ? cJSON_CreateObject() : cJSON_CreateArray();
	if ((e = attach(b, v, &ev->start_mark)))
		return e;
	f = &b->st[b->depth++];
	*f = (struct frame){ .node = v, .cost_at_start = b->cost - NODE_COST };
	if (anchor && !(f->anchor = strdup(anchor)))
		return -ENOMEM;
	return 0;
}

static int on_close(struct builder *b)
{
	struct frame *f = &b->st[--b->depth];
	int e = 0;

	if (f->anchor)
		e = set_anchor(b, f->anchor, f->node, b->cost - f->cost_at_start);
	free(f->anchor);
	free(f->key);	/* (set only for a malformed stream) */
	*f = (struct frame){0};
	return e;
}

/* Drop a document's anchors and replaced values, and its tree unless it went
 * to @docs (NULL: drop it). */
static void end_doc(struct builder *b, cJSON *docs)
{
	while (b->depth)
		on_close(b);
	free_anchors(b);
	if (b->root && docs)
		cJSON_AddItemToArray(docs, b->root);
	else
		cJSON_Delete(b->root);
	b->root = NULL;
	while (cJSON_GetArraySize(b->replaced))
		cJSON_DeleteItemFromArray(b->replaced, 0);
	b->cost = 0;
}

static int on_event(struct builder *b, const yaml_event_t *ev, cJSON *docs, size_t max_alias)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(b, ev, max_alias);
	case YAML_SEQUENCE_START_EVENT:
		return on_open(b, ev, false);
	case YAML_MAPPING_START_EVENT:
		return on_open(b, ev, true);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return b->depth ? on_close(b) : 0;
	case YAML_DOCUMENT_END_EVENT:
		end_doc(b, docs);
		return 0;
	default:
		return 0;
	}
}

cJSON *sp_yaml_load(const char *buf, size_t len, struct sp_perr *err)
{
	const size_t max_alias_bytes = SP_YAML_MAX_ALIAS_BYTES;
	struct builder b = { .err = err };
	yaml_parser_t parser;
	cJSON *docs;
	int e = 0;

	if (memchr(buf, '\0', len)) {
		sp_perr_set(err, "", "binary data (NUL byte at offset %zu)",
			    (size_t)((const char *)memchr(buf, '\0', len) - buf));
		errno = EINVAL;
		return NULL;
	}
	docs = cJSON_CreateArray();
	b.anchors = sp_hmap_new();
	b.replaced = cJSON_CreateArray();
	if (!docs || !b.anchors || !b.replaced || !yaml_parser_initialize(&parser)) {
		cJSON_Delete(docs);
		cJSON_Delete(b.replaced);
		sp_hmap_free(b.anchors);
		errno = ENOMEM;
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!e) {
		yaml_event_t ev;
		bool end;

		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_MEMORY_ERROR) {
				e = -ENOMEM;
				break;
			}
			sp_perr_set(err, "", "line %zu column %zu: %s", parser.problem_mark.line + 1,
				    parser.problem_mark.column + 1,
				    parser.problem ? parser.problem : "invalid YAML");
			e = -EINVAL;
			break;
		}
		end = ev.type == YAML_STREAM_END_EVENT;
		e = on_event(&b, &ev, docs, max_alias_bytes);
		yaml_event_delete(&ev);
		if (end)
			break;
	}
	end_doc(&b, NULL);
	sp_hmap_free(b.anchors);
	cJSON_Delete(b.replaced);
	yaml_parser_delete(&parser);
	if (e) {
		cJSON_Delete(docs);
		errno = -e;
		return NULL;
	}
	return docs;
}

