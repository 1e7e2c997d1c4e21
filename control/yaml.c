/* yaml.c - libyaml document API → cJSON, with limits for hostile input. */
#include "yaml.h"
#include "k8s.h"
#include "k8s_field.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#define MAX_DEPTH 64		/* Kubernetes objects nest far less */
#define MAX_NODES 2000000	/* after alias expansion: stops "billion laughs" */

struct conv {
	yaml_document_t *doc;
	size_t nodes;
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

/* Quoted, literal and folded scalars are strings; plain ones are typed by their
 * text. (libyaml's loader tags every untagged scalar !!str, so a plain "!!str 1"
 * cannot be told apart and is read as a number, a case manifests do not use.) */
static cJSON *scalar(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	double d;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
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

static cJSON *convert(struct conv *c, yaml_node_t *n, int depth)
{
	cJSON *out;

	if (!n) {
		sp_perr_set(c->err, "", "dangling alias");
		return NULL;
	}
	if (depth > MAX_DEPTH) {
		sp_perr_set(c->err, "", "line %zu: nested deeper than %d levels",
			    n->start_mark.line + 1, MAX_DEPTH);
		return NULL;
	}
	if (++c->nodes > MAX_NODES) {
		sp_perr_set(c->err, "", "more than %d nodes after expanding aliases", MAX_NODES);
		return NULL;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE:
		out = scalar(n);
		if (!out)
			errno = ENOMEM;
		return out;
	case YAML_SEQUENCE_NODE:
		out = cJSON_CreateArray();
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     out && i < n->data.sequence.items.top; i++) {
			cJSON *v = convert(c, yaml_document_get_node(c->doc, *i), depth + 1);

			if (!v) {
				cJSON_Delete(out);
				return NULL;
			}
			cJSON_AddItemToArray(out, v);
		}
		return out;
	case YAML_MAPPING_NODE:
		out = cJSON_CreateObject();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     out && p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
			cJSON *v;

			if (!k || k->type != YAML_SCALAR_NODE) {
				sp_perr_set(c->err, "", "line %zu: mapping key is not a scalar",
					    n->start_mark.line + 1);
				cJSON_Delete(out);
				return NULL;
			}
			v = convert(c, yaml_document_get_node(c->doc, p->value), depth + 1);
			if (!v) {
				cJSON_Delete(out);
				return NULL;
			}
			/* A repeated key: the later value wins, as in JSON decoders. */
			cJSON_DeleteItemFromObjectCaseSensitive(out, (const char *)k->data.scalar.value);
			cJSON_AddItemToObject(out, (const char *)k->data.scalar.value, v);
		}
		return out;
	default:
		sp_perr_set(c->err, "", "empty node");
		return NULL;
	}
}

cJSON *sp_yaml_load(const char *buf, size_t len, struct sp_perr *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	cJSON *docs = cJSON_CreateArray();
	struct conv c = { .err = err };

	if (!docs) {
		errno = ENOMEM;
		return NULL;
	}
	if (memchr(buf, '\0', len)) {
		sp_perr_set(err, "", "binary data (NUL byte at offset %zu)",
			    (size_t)((const char *)memchr(buf, '\0', len) - buf));
		goto err_inval;
	}
	if (!yaml_parser_initialize(&parser)) {
		cJSON_Delete(docs);
		errno = ENOMEM;
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		yaml_node_t *root;
		cJSON *v;

		if (!yaml_parser_load(&parser, &doc)) {
			sp_perr_set(err, "", "line %zu column %zu: %s", parser.problem_mark.line + 1,
				    parser.problem_mark.column + 1,
				    parser.problem ? parser.problem : "invalid YAML");
			yaml_parser_delete(&parser);
			goto err_inval;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;	/* end of stream */
		}
		if (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0) {
			yaml_document_delete(&doc);
			continue;	/* "---" with nothing after it */
		}
		c.doc = &doc;
		v = convert(&c, root, 0);
		yaml_document_delete(&doc);
		if (!v) {
			yaml_parser_delete(&parser);
			if (errno == ENOMEM && !err->msg[0]) {
				cJSON_Delete(docs);
				return NULL;
			}
			goto err_inval;
		}
		cJSON_AddItemToArray(docs, v);
	}
	yaml_parser_delete(&parser);
	return docs;

err_inval:
	cJSON_Delete(docs);
	errno = EINVAL;
	return NULL;
}
