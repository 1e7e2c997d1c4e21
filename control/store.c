/* store.c - keeps the last good objects and tracks which services changed. */
#include "store.h"
#include "../common/hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sp_store_init(struct sp_store *st, const char *node_name)
{
	memset(st, 0, sizeof(*st));
	st->services = sp_hmap_new();
	st->slices = sp_hmap_new();
	st->slices_by_svc = sp_hmap_new();
	st->dirty = sp_hmap_new();
	st->triggers = sp_hmap_new();
	if (node_name)
		st->node_name = strdup(node_name);
	if (!st->services || !st->slices || !st->slices_by_svc || !st->dirty || !st->triggers ||
	    (node_name && !st->node_name)) {
		sp_store_fini(st);
		return -ENOMEM;
	}
	return 0;
}

static void free_values(struct sp_hmap *h, void (*fn)(void *))
{
	struct sp_hmap_iter it = {0};

	if (!h)
		return;
	while (sp_hmap_next(h, &it))
		fn(it.value);
	sp_hmap_free(h);
}

static void free_set(void *v)
{
	sp_hmap_free(v);
}

static void free_svc(void *v)
{
	sp_service_free(v);
}

static void free_slice(void *v)
{
	sp_slice_free(v);
}

void sp_store_fini(struct sp_store *st)
{
	free_values(st->services, free_svc);
	free_values(st->slices, free_slice);
	free_values(st->slices_by_svc, free_set);
	free_values(st->triggers, free);
	sp_hmap_free(st->dirty);
	sp_node_free(st->node);
	free(st->node_name);
	memset(st, 0, sizeof(*st));
}

static int mark(struct sp_store *st, const char *svc_key)
{
	st->generation++;
	if (sp_hmap_get(st->dirty, svc_key))
		return 0;
	return sp_hmap_put(st->dirty, svc_key, (void *)1, NULL);
}

static int note_trigger(struct sp_store *st, const char *svc_key, double t)
{
	double *cur = sp_hmap_get(st->triggers, svc_key);

	if (t <= 0)
		return 0;
	if (cur) {
		if (t < *cur)
			*cur = t;
		return 0;
	}
	cur = malloc(sizeof(*cur));
	if (!cur)
		return -ENOMEM;
	*cur = t;
	if (sp_hmap_put(st->triggers, svc_key, cur, NULL)) {
		free(cur);
		return -ENOMEM;
	}
	return 0;
}

int sp_store_set_service(struct sp_store *st, struct sp_service *svc)
{
	void *old = sp_hmap_get(st->services, svc->key);
	const struct sp_service *o = old;

	if (o && *svc->resource_version && !strcmp(o->resource_version, svc->resource_version)) {
		sp_service_free(svc);
		return 0;
	}
	if (sp_hmap_put(st->services, svc->key, svc, &old)) {
		sp_service_free(svc);
		return -ENOMEM;
	}
	sp_service_free(old);
	st->service_changes_total++;
	st->service_changes_pending++;
	return mark(st, svc->key);
}

void sp_store_del_service(struct sp_store *st, const char *key)
{
	struct sp_service *old = sp_hmap_del(st->services, key);

	if (!old)
		return;
	st->service_changes_total++;
	st->service_changes_pending++;
	/* On -ENOMEM the next full sync (sync-period) repairs the rules. */
	(void)mark(st, key);
	sp_service_free(old);
}

static int index_add(struct sp_store *st, const char *svc_key, const char *slice_key)
{
	struct sp_hmap *set = sp_hmap_get(st->slices_by_svc, svc_key);

	if (!set) {
		set = sp_hmap_new();
		if (!set)
			return -ENOMEM;
		if (sp_hmap_put(st->slices_by_svc, svc_key, set, NULL)) {
			sp_hmap_free(set);
			return -ENOMEM;
		}
	}
	return sp_hmap_put(set, slice_key, (void *)1, NULL);
}

static void index_del(struct sp_store *st, const char *svc_key, const char *slice_key)
{
	struct sp_hmap *set = sp_hmap_get(st->slices_by_svc, svc_key);

	if (!set)
		return;
	sp_hmap_del(set, slice_key);
	if (sp_hmap_len(set) == 0)
		sp_hmap_free(sp_hmap_del(st->slices_by_svc, svc_key));
}

int sp_store_set_slice(struct sp_store *st, struct sp_slice *slice)
{
	struct sp_slice *old = sp_hmap_get(st->slices, slice->key);
	void *prev;
	int e;

	if (old && *slice->resource_version &&
	    !strcmp(old->resource_version, slice->resource_version)) {
		sp_slice_free(slice);
		return 0;
	}
	if ((e = index_add(st, slice->service_key, slice->key))) {
		sp_slice_free(slice);
		return e;
	}
	if (sp_hmap_put(st->slices, slice->key, slice, &prev)) {
		index_del(st, slice->service_key, slice->key);
		sp_slice_free(slice);
		return -ENOMEM;
	}
	if (old && strcmp(old->service_key, slice->service_key)) {
		/* The slice moved to another service: the old one changed too. */
		index_del(st, old->service_key, old->key);
		(void)mark(st, old->service_key);
	}
	sp_slice_free(old);
	st->endpoint_changes_total++;
	st->endpoint_changes_pending++;
	if ((e = note_trigger(st, slice->service_key, slice->trigger_time)))
		return e;
	return mark(st, slice->service_key);
}

void sp_store_del_slice(struct sp_store *st, const char *key)
{
	struct sp_slice *old = sp_hmap_del(st->slices, key);

	if (!old)
		return;
	index_del(st, old->service_key, old->key);
	st->endpoint_changes_total++;
	st->endpoint_changes_pending++;
	(void)mark(st, old->service_key);
	sp_slice_free(old);
}

static bool same_node_view(const struct sp_node *a, const struct sp_node *b)
{
	if (!a || !b)
		return a == b;
	if ((a->zone == NULL) != (b->zone == NULL) || (a->zone && strcmp(a->zone, b->zone)))
		return false;
	if (a->internal_ips.n != b->internal_ips.n)
		return false;
	for (size_t i = 0; i < a->internal_ips.n; i++)
		if (sp_addr_cmp(&a->internal_ips.v[i], &b->internal_ips.v[i]))
			return false;
	return true;
}

int sp_store_set_node(struct sp_store *st, struct sp_node *node)
{
	if (!st->node_name || strcmp(node->name, st->node_name)) {
		sp_node_free(node);	/* another node: only ours matters */
		return 0;
	}
	if (!same_node_view(st->node, node)) {
		st->node_changed = true;
		st->generation++;
	}
	sp_node_free(st->node);
	st->node = node;
	return 0;
}

void sp_store_del_node(struct sp_store *st, const char *name)
{
	if (!st->node || strcmp(st->node->name, name))
		return;
	sp_node_free(st->node);
	st->node = NULL;
	st->node_changed = true;
	st->generation++;
}

const struct sp_service *sp_store_service(const struct sp_store *st, const char *key)
{
	return sp_hmap_get(st->services, key);
}

const struct sp_slice **sp_store_service_slices(const struct sp_store *st, const char *svc_key,
						size_t *n)
{
	const struct sp_hmap *set = sp_hmap_get(st->slices_by_svc, svc_key);
	const char **keys;
	const struct sp_slice **out;

	*n = 0;
	if (!set)
		return calloc(1, sizeof(*out));
	keys = sp_hmap_sorted_keys(set, n);
	if (!keys)
		return NULL;
	out = calloc(*n + 1, sizeof(*out));
	for (size_t i = 0; out && i < *n; i++)
		out[i] = sp_hmap_get(st->slices, keys[i]);
	free(keys);
	return out;
}

struct sp_hmap *sp_store_take_dirty(struct sp_store *st)
{
	struct sp_hmap *fresh = sp_hmap_new(), *d;

	if (!fresh)
		return NULL;
	d = st->dirty;
	st->dirty = fresh;
	st->service_changes_pending = 0;
	st->endpoint_changes_pending = 0;
	return d;
}

int sp_store_mark_all(struct sp_store *st)
{
	struct sp_hmap_iter it = {0};
	int e;

	while (sp_hmap_next(st->services, &it))
		if ((e = mark(st, it.key)))
			return e;
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(st->slices_by_svc, &it))
		if ((e = mark(st, it.key)))
			return e;
	return 0;
}
