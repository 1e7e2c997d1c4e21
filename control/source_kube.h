/* source_kube.h - the Kubernetes API source: list + watch of Services,
 * EndpointSlices and this node's Node over HTTPS (libcurl), applied to the
 * store as they arrive. Runs inside the agent's event loop: one pollable fd. */
#ifndef SP_CONTROL_SOURCE_KUBE_H
#define SP_CONTROL_SOURCE_KUBE_H

#include <stdbool.h>
#include <stddef.h>

struct sp_kube_conn;
struct sp_store;
struct sp_log;
struct sp_kube_source;

struct sp_kube_opts {
	const char *node_name;		/* this node: its Node object is watched */
	unsigned page_size;		/* list limit; 0: 500 */
	double watch_timeout;		/* seconds asked of the server per watch; 0:
					 * 5-10 min at random, as client-go */
	size_t max_event_bytes;		/* larger watch events, and list items (each
					 * refuses its page), are refused; 0: 16 MiB */
	size_t max_list_bytes;		/* one list page, decoded bytes (read as it
					 * arrives, never held whole); 0: 1 GiB */
};

/* Start listing. @conn moves into the source (the caller's struct is left
 * empty; on failure it is left as it was). @st and @lg are borrowed. NULL +
 * errno on failure (logged). */
struct sp_kube_source *sp_kube_source_new(struct sp_kube_conn *conn, struct sp_store *st,
					  const struct sp_log *lg, const struct sp_kube_opts *o);
void sp_kube_source_free(struct sp_kube_source *src);
/* Poll this for readability; then call process. */
int sp_kube_source_fd(const struct sp_kube_source *src);
/* Move transfers on, apply what arrived to the store. Never blocks. */
void sp_kube_source_process(struct sp_kube_source *src);
/* Every initial list has completed (the store holds a whole view). */
bool sp_kube_source_synced(const struct sp_kube_source *src);
/* Errors logged since creation (bad objects, failed requests). */
/* Watches restarted without progress (ended with no useful event, or 410). */
size_t sp_kube_source_restarts(const struct sp_kube_source *s);
size_t sp_kube_source_errors(const struct sp_kube_source *src);

#endif
