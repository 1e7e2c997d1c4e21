/* k8s_field.c - typed cJSON field access with field-path errors. */
#include "k8s_field.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sp_perr_set(struct sp_perr *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		snprintf(err->field, sizeof(err->field), "%s", field);
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

const cJSON *sp_field(const cJSON *obj, const char *key)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static bool absent(const cJSON *v)
{
	return !v || cJSON_IsNull(v);
}

int sp_field_str(const cJSON *obj, const char *key, const char *path, const char *dflt,
		 const char **out, struct sp_perr *err)
{
	const cJSON *v = sp_field(obj, key);

	if (absent(v)) {
		*out = dflt;
		return 0;
	}
	if (!cJSON_IsString(v))
		return sp_perr_set(err, path, "must be a string");
	*out = v->valuestring;
	return 0;
}

int sp_field_int(const cJSON *obj, const char *key, const char *path, long dflt, long min,
		 long max, long *out, struct sp_perr *err)
{
	const cJSON *v = sp_field(obj, key);
	double d;

	if (absent(v)) {
		*out = dflt;
		return 0;
	}
	if (!cJSON_IsNumber(v))
		return sp_perr_set(err, path, "must be an integer");
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d))
		return sp_perr_set(err, path, "must be an integer, got %g", d);
	if (d < (double)min || d > (double)max)
		return sp_perr_set(err, path, "%.0f is not in %ld-%ld", d, min, max);
	*out = (long)d;
	return 0;
}

int sp_field_bool(const cJSON *obj, const char *key, const char *path, bool dflt, bool *out,
		  struct sp_perr *err)
{
	const cJSON *v = sp_field(obj, key);

	if (absent(v)) {
		*out = dflt;
		return 0;
	}
	if (!cJSON_IsBool(v))
		return sp_perr_set(err, path, "must be true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

int sp_field_array(const cJSON *obj, const char *key, const char *path, const cJSON **out,
		   struct sp_perr *err)
{
	const cJSON *v = sp_field(obj, key);

	*out = NULL;
	if (absent(v))
		return 0;
	if (!cJSON_IsArray(v))
		return sp_perr_set(err, path, "must be a list");
	*out = v;
	return 0;
}

/* Why @s is not a DNS-1123 name of at most @max characters, dots allowed or
 * not (a subdomain or a label, as the API server validates them), or NULL. */
static const char *dns_invalid(const char *s, size_t max, bool dots)
{
	size_t n = strlen(s);

	if (n == 0)
		return "is empty";
	if (n > max)
		return max == 63 ? "is longer than 63 characters" : "is longer than 253 characters";
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (dots && c == '.')))
			return dots ? "may hold only a-z, 0-9, '-' and '.'" : "may hold only a-z, 0-9 and '-'";
	}
	if (s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.')
		return "must start and end with a letter or digit";
	return NULL;
}

const char *sp_dns1035_label_invalid(const char *s)
{
	const char *why = dns_invalid(s, 63, false);

	return why ? why : (s[0] >= 'a' && s[0] <= 'z') ? NULL : "must start with a letter";
}

int sp_meta_parse(const cJSON *obj, bool namespaced, struct sp_meta *m, struct sp_perr *err)
{
	const cJSON *meta = sp_field(obj, "metadata");
	const char *why;
	int e;

	memset(m, 0, sizeof(*m));
	if (!cJSON_IsObject(meta))
		return sp_perr_set(err, "metadata", "missing");
	if ((e = sp_field_str(meta, "name", "metadata.name", NULL, &m->name, err)))
		return e;
	if (!m->name)
		return sp_perr_set(err, "metadata.name", "missing");
	if ((why = dns_invalid(m->name, 253, true)))
		return sp_perr_set(err, "metadata.name", "\"%.80s%s\" %s", m->name,
				   strlen(m->name) > 80 ? "..." : "", why);
	if ((e = sp_field_str(meta, "namespace", "metadata.namespace",
			      namespaced ? "default" : "", &m->ns, err)))
		return e;
	if (namespaced && (why = dns_invalid(m->ns, 63, false)))
		return sp_perr_set(err, "metadata.namespace", "\"%.80s%s\" %s", m->ns,
				   strlen(m->ns) > 80 ? "..." : "", why);
	if ((e = sp_field_str(meta, "resourceVersion", "metadata.resourceVersion", "",
			      &m->resource_version, err)))
		return e;
	m->labels = sp_field(meta, "labels");
	if (m->labels && !cJSON_IsNull(m->labels) && !cJSON_IsObject(m->labels))
		return sp_perr_set(err, "metadata.labels", "must be a map");
	m->annotations = sp_field(meta, "annotations");
	if (m->annotations && !cJSON_IsNull(m->annotations) && !cJSON_IsObject(m->annotations))
		return sp_perr_set(err, "metadata.annotations", "must be a map");
	return 0;
}

const char *sp_meta_get(const cJSON *map, const char *key)
{
	const cJSON *v = sp_field(map, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

char *sp_strdup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *sp_join_key(const char *ns, const char *name)
{
	size_t a = strlen(ns), b = strlen(name);
	char *k = malloc(a + b + 2);

	if (!k)
		return NULL;
	memcpy(k, ns, a);
	k[a] = '/';
	memcpy(k + a + 1, name, b + 1);
	return k;
}
