/* manifest.h - one file's bytes (JSON, YAML, multi-document, List) to the proxy's
 * objects, one callback per object, valid or not. */
#ifndef SP_CONTROL_MANIFEST_H
#define SP_CONTROL_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "k8s.h"

struct cJSON;

enum sp_kind { SP_KIND_SERVICE, SP_KIND_SLICE, SP_KIND_NODE };

/* One object found in a manifest. */
struct sp_manifest_item {
	enum sp_kind kind;
	const char *kind_name;	/* "Service", "EndpointSlice", "Node" */
	char key[320];		/* "ns/name" (Node: "name"); "" when unreadable or too long
				 * (valid keys fit: a 63-character namespace, a 253-character name) */
	int index;		/* position among the file's objects, from 0 */
	void *obj;		/* parsed object; the callback takes ownership. NULL on error */
	uint64_t hash;		/* of the object's JSON text: equal hashes, same object */
	int err;		/* 0, or -EINVAL with perr set */
	struct sp_perr perr;
};

/* Called for each Service, EndpointSlice and Node; other kinds are skipped, as
 * the proxy never watches them. A non-zero return stops the walk and is returned. */
typedef int (*sp_manifest_cb)(void *ctx, struct sp_manifest_item *it);

/* Decode @len bytes. Returns 0 after all objects were passed to @cb; -EINVAL with
 * @err set when the text itself is not JSON/YAML (no callback has run then);
 * -ENOMEM; or the callback's non-zero return. */
int sp_manifest_decode(const char *buf, size_t len, sp_manifest_cb cb, void *ctx,
		       struct sp_perr *err);

/* Free the parsed object of @it (if any) by its kind; it->obj becomes NULL. */
void sp_manifest_item_free(struct sp_manifest_item *it);

/* The same walk over one already-parsed object or List (the API source uses it). */
int sp_manifest_walk(const struct cJSON *obj, int *index, sp_manifest_cb cb, void *ctx);

#endif
