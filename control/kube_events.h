/* kube_events.h - what the API server sends about one resource (Services,
 * EndpointSlices, or this node's Node), applied to the store: list pages
 * (with the objects a finished list no longer holds removed) and watch
 * events (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR). Bad objects are one
 * error line each and are skipped; the store keeps their last good version.
 * No I/O: source_kube.c hands it the bytes kube_transfer.c reads. */
#ifndef SP_CONTROL_KUBE_EVENTS_H
#define SP_CONTROL_KUBE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "json_list_stream.h"

struct sp_store;
struct sp_log;
struct sp_hmap;

enum sp_kube_kind { SP_KUBE_SERVICES, SP_KUBE_SLICES, SP_KUBE_NODE, SP_KUBE_KINDS };

/* JSON values in one object (a list item or a watch event), checked before
 * it is parsed: each becomes a cJSON node of 64 bytes or more, so 16 MiB of
 * "[0,0,...]" would be 600 MB parsed; at this bound an object parses to at
 * most ~140 MB. Real ones hold far fewer: an EndpointSlice of 1,000
 * endpoints with every field is ~20,000; and etcd stores objects of at most
 * 1.5 MiB. */
#define SP_KUBE_MAX_VALUES 1000000

struct sp_kube_events {
	enum sp_kube_kind kind;
	struct sp_store *st;		/* borrowed */
	const struct sp_log *lg;	/* borrowed */
	const char *node_name;		/* borrowed: the one Node kept */
	char *rv;			/* last resourceVersion seen, or NULL */
	struct sp_hmap *seen;		/* keys the list in progress returned */
	size_t max_item;		/* largest list item, bytes; init: 16 MiB */
	size_t max_values;		/* most JSON values in one; init: SP_KUBE_MAX_VALUES */
	struct sp_json_list_stream page;	/* the list page arriving */
	struct sp_hmap *held;		/* its objects: key → parsed object, stored
					 * only when the page ends whole */
	char *page_rv, *page_cont;	/* its metadata's resourceVersion and continue */
	int page_err;			/* the page was refused (logged): this error */
	bool relist;			/* an ERROR 410 event: list again */
	size_t errors;			/* error lines logged */
};

/* "services", "endpointslices", "nodes"; and the API path listing them. */
const char *sp_kube_kind_name(enum sp_kube_kind k);
const char *sp_kube_kind_path(enum sp_kube_kind k);

void sp_kube_events_init(struct sp_kube_events *ev, enum sp_kube_kind kind, struct sp_store *st,
			 const struct sp_log *lg, const char *node_name);
void sp_kube_events_fini(struct sp_kube_events *ev);

/* A list starts: objects are remembered until list_end. Returns 0 or -ENOMEM. */
int sp_kube_list_begin(struct sp_kube_events *ev);
/* One page of a list response, fed as it arrives (decoded) and read as it
 * comes: each item is parsed once it is whole and held until the page ends,
 * so a page costs one item's bytes plus the objects it holds, and a page that
 * is refused part-way puts nothing in the store. page_begin drops a page in
 * progress. page_feed returns 0, or -EINVAL (not a list), -E2BIG (an item
 * over max_item bytes or max_values values), -ELOOP (nesting too deep) or
 * -ENOMEM, each logged once naming the kind; the page is then dropped.
 * page_end stores what the page held; *@cont receives a new string with the
 * continue token (NULL on the last page). It returns 0, or as page_feed
 * (logged). */
void sp_kube_page_begin(struct sp_kube_events *ev);
int sp_kube_page_feed(struct sp_kube_events *ev, const char *data, size_t n);
int sp_kube_page_end(struct sp_kube_events *ev, char **cont);
/* Drop the page in progress: nothing it held is stored. */
void sp_kube_page_abort(struct sp_kube_events *ev);
/* A whole page at once (begin, feed, end). */
int sp_kube_list_page(struct sp_kube_events *ev, const char *body, size_t len, char **cont);
/* The list is complete: what the store holds that it did not return is gone. */
void sp_kube_list_end(struct sp_kube_events *ev);
/* A list failed part-way: forget what it returned (nothing is removed). */
void sp_kube_list_abort(struct sp_kube_events *ev);

/* "API source: <message>" as an error line, counted in *@errors. */
void sp_kube_log_error(const struct sp_log *lg, size_t *errors, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One watch event (a JSON line). Returns 1 when the stream must end (an
 * ERROR event; relist is set for 410), else 0. */
int sp_kube_watch_event(struct sp_kube_events *ev, const char *line, size_t len);

#endif
