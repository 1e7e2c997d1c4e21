/* k8s_node.c - core/v1 Node: the name, zone label and InternalIP addresses. */
#include "k8s.h"
#include "k8s_field.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sp_node_free(struct sp_node *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->resource_version);
	free(n->zone);
	sp_addr_list_fini(&n->internal_ips);
	free(n);
}

static int parse_addresses(const cJSON *obj, struct sp_node *n, struct sp_perr *err)
{
	const cJSON *arr, *it;
	int e, i = 0;

	if ((e = sp_field_array(sp_field(obj, "status"), "addresses", "status.addresses", &arr, err)))
		return e;
	cJSON_ArrayForEach(it, arr) {
		char f[64];
		const char *type, *addr;
		struct sp_addr a;

		snprintf(f, sizeof(f), "status.addresses[%d].type", i);
		if ((e = sp_field_str(it, "type", f, "", &type, err)))
			return e;
		snprintf(f, sizeof(f), "status.addresses[%d].address", i++);
		if ((e = sp_field_str(it, "address", f, "", &addr, err)))
			return e;
		if (strcmp(type, "InternalIP"))
			continue;
		if (sp_addr_parse(addr, &a))
			return sp_perr_set(err, f, "\"%.60s\" is not a valid IP address", addr);
		if (sp_addr_list_add(&n->internal_ips, &a))
			return -ENOMEM;
	}
	return 0;
}

int sp_node_parse(const cJSON *obj, struct sp_node **out, struct sp_perr *err)
{
	struct sp_node *n;
	struct sp_meta m;
	const char *zone;
	int e;

	*out = NULL;
	if ((e = sp_meta_parse(obj, false, &m, err)))
		return e;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	zone = sp_meta_get(m.labels, "topology.kubernetes.io/zone");
	n->name = strdup(m.name);
	n->resource_version = strdup(m.resource_version);
	if (!n->name || !n->resource_version || (zone && !(n->zone = strdup(zone)))) {
		sp_node_free(n);
		return -ENOMEM;
	}
	n->deleting = sp_field(sp_field(obj, "metadata"), "deletionTimestamp") != NULL &&
		      !cJSON_IsNull(sp_field(sp_field(obj, "metadata"), "deletionTimestamp"));
	{
		const cJSON *taint;

		cJSON_ArrayForEach(taint, sp_field(sp_field(obj, "spec"), "taints"))
			if (sp_meta_get(taint, "key") &&
			    !strcmp(sp_meta_get(taint, "key"), "ToBeDeletedByClusterAutoscaler"))
				n->deleting = true;
	}
	if ((e = parse_addresses(obj, n, err))) {
		sp_node_free(n);
		return e;
	}
	*out = n;
	return 0;
}
