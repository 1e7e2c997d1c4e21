/* store.h - the last good version of every Service, EndpointSlice and this node's
 * Node, with the set of services whose rules must be recomputed. */
#ifndef SP_CONTROL_STORE_H
#define SP_CONTROL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s.h"

struct sp_hmap;

struct sp_store {
	struct sp_hmap *services;	/* "ns/name" → struct sp_service * */
	struct sp_hmap *slices;		/* slice "ns/name" → struct sp_slice * */
	struct sp_hmap *slices_by_svc;	/* service "ns/name" → struct sp_hmap * of slice keys */
	struct sp_node *node;		/* this node's Node, or NULL */
	char *node_name;		/* --hostname-override */
	struct sp_hmap *dirty;		/* service keys changed since sp_store_take_dirty */
	struct sp_hmap *triggers;	/* service key → double * earliest trigger time pending */
	bool node_changed;		/* zone or addresses changed: full sync needed */
	uint64_t generation;		/* bumped on every change */
	uint64_t service_changes_total;
	uint64_t endpoint_changes_total;
	size_t service_changes_pending;
	size_t endpoint_changes_pending;
};

/* Returns 0 or -ENOMEM. @node_name may be NULL (no Local endpoints then). */
int sp_store_init(struct sp_store *st, const char *node_name);
void sp_store_fini(struct sp_store *st);

/* Insert or replace; the store takes ownership of the object in every case
 * (freed on error). Returns 0 or -ENOMEM. An unchanged resourceVersion (non-empty)
 * is a no-op, as informers skip resyncs. */
int sp_store_set_service(struct sp_store *st, struct sp_service *svc);
int sp_store_set_slice(struct sp_store *st, struct sp_slice *slice);
int sp_store_set_node(struct sp_store *st, struct sp_node *node);
/* Remove by key; absent keys are ignored. */
void sp_store_del_service(struct sp_store *st, const char *key);
void sp_store_del_slice(struct sp_store *st, const char *key);
void sp_store_del_node(struct sp_store *st, const char *name);

const struct sp_service *sp_store_service(const struct sp_store *st, const char *key);
/* The slices of service @svc_key, in slice-name order, in a new array of borrowed
 * pointers (free the array). *@n receives the count. NULL + errno on failure. */
const struct sp_slice **sp_store_service_slices(const struct sp_store *st, const char *svc_key,
						size_t *n);

/* Hand the set of dirty service keys (a struct sp_hmap *, values unused) to the
 * caller and start an empty one. NULL + errno on failure (store unchanged). */
struct sp_hmap *sp_store_take_dirty(struct sp_store *st);
/* Mark every service dirty (full resync). Returns 0 or -ENOMEM. */
int sp_store_mark_all(struct sp_store *st);

#endif
