/* k8s_field.h - typed field access on cJSON objects that fills struct sp_perr with
 * the field's path when a value is missing or of the wrong type (control/ only). */
#ifndef SP_CONTROL_K8S_FIELD_H
#define SP_CONTROL_K8S_FIELD_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "k8s.h"
#include "../common/lists.h"

/* Record @field (printf-formatted path) and a message; returns -EINVAL. */
int sp_perr_set(struct sp_perr *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Member @key of @obj if @obj is an object, else NULL. */
const cJSON *sp_field(const cJSON *obj, const char *key);

/* String member: absent or null → *out = @dflt, 0. Not a string → -EINVAL naming @path. */
int sp_field_str(const cJSON *obj, const char *key, const char *path, const char *dflt,
		 const char **out, struct sp_perr *err);
/* Integer member in [min, max]: absent/null → @dflt. Otherwise -EINVAL naming @path. */
int sp_field_int(const cJSON *obj, const char *key, const char *path, long dflt, long min,
		 long max, long *out, struct sp_perr *err);
/* Boolean member: absent/null → @dflt. */
int sp_field_bool(const cJSON *obj, const char *key, const char *path, bool dflt, bool *out,
		  struct sp_perr *err);
/* Array member: absent/null → *out = NULL, 0. Not an array → -EINVAL. */
int sp_field_array(const cJSON *obj, const char *key, const char *path, const cJSON **out,
		   struct sp_perr *err);

/* Common metadata: name (required), namespace (default "default" when @namespaced),
 * resourceVersion. Strings are borrowed from @obj. */
struct sp_meta {
	const char *name, *ns, *resource_version;
	const cJSON *labels, *annotations;
};
/* Names are validated as the API server does: a name is a DNS-1123 subdomain
 * (253 characters), a namespace a DNS-1123 label (63). */
int sp_meta_parse(const cJSON *obj, bool namespaced, struct sp_meta *m, struct sp_perr *err);
/* Label or annotation value (string) or NULL. */
/* Why @s is not a DNS-1035 label (a Service's name: at most 63 characters of
 * a-z, 0-9 and '-', starting with a letter), or NULL when it is one. */
const char *sp_dns1035_label_invalid(const char *s);
const char *sp_meta_get(const cJSON *map, const char *key);

/* strdup that tolerates NULL (returns NULL) — callers check the source first. */
char *sp_strdup0(const char *s);
/* "a/b" in a new string, or NULL. */
char *sp_join_key(const char *ns, const char *name);

#endif
