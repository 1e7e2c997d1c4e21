/* us_balance.h - the userspace forwarder's endpoint choice: a pool per
 * service-port list (round robin, or least connections with round robin
 * between equals), ClientIP affinity with a timeout, and
 * skipping endpoints a connection already tried. Pure: no sockets, no clock
 * of its own (callers pass the time), unit-tested without root. */
#ifndef SP_DATAPLANE_US_BALANCE_H
#define SP_DATAPLANE_US_BALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../common/addr.h"

/* One endpoint: address and port (host order). */
struct us_ep {
	struct sp_addr addr;
	uint16_t port;
};

/* The endpoints one kind of traffic of a service port goes to (the model's
 * decision: the internal list for ClusterIPs, the external policy's list for
 * NodePorts, external and LB IPs), with a round-robin cursor and, per
 * endpoint, the connections open to it through this pool. */
struct us_pool {
	struct us_ep *v;
	uint32_t *conns; /* open connections per endpoint (v's order) */
	size_t n;
	size_t next;	  /* index where round robin (and the tie-break) starts */
	bool least_conns; /* pick the endpoint with fewest open connections */
	int choice;	  /* the model's rule behind the list (enum sp_ep_choice), for explain */
};

struct us_affinity; /* opaque: client address → endpoint, with expiry */

bool us_ep_equal(const struct us_ep *a, const struct us_ep *b);

/* Replace @p's endpoints with a copy of @v[0..@n). The cursor is kept (modulo
 * the new size), so a sync does not send the next connections back to the
 * first endpoint; the open-connection counts of endpoints that stay are
 * kept. Returns 0 or -ENOMEM (@p unchanged). */
int us_pool_set(struct us_pool *p, const struct us_ep *v, size_t n);
void us_pool_fini(struct us_pool *p);
/* True when @e is in @p. */
bool us_pool_has(const struct us_pool *p, const struct us_ep *e);
/* A connection to @e through @p opened (@delta 1) or closed (-1); an
 * endpoint no longer in @p is ignored, a count never goes below 0. */
void us_pool_count(struct us_pool *p, const struct us_ep *e, int delta);

/* Affinity entries expire @timeout seconds after their last use (the
 * Service's sessionAffinityConfig.clientIP.timeoutSeconds). NULL + errno. */
struct us_affinity *us_affinity_new(uint32_t timeout);
void us_affinity_free(struct us_affinity *a);
void us_affinity_set_timeout(struct us_affinity *a, uint32_t timeout);
uint32_t us_affinity_timeout(const struct us_affinity *a);
/* Remember that @client goes to @ep, from @now on. Returns 0 or -ENOMEM
 * (then the client is simply balanced anew next time). */
int us_affinity_put(struct us_affinity *a, const struct sp_addr *client, const struct us_ep *ep,
		    double now);
/* Entries now (expired ones swept at most once a second of @now). */
size_t us_affinity_len(struct us_affinity *a, double now);
/* @client's entry at @now, if it has one that has not expired: true with
 * its endpoint in *@ep and the seconds it has left in *@left. Changes
 * nothing (explain asks). */
bool us_affinity_get(const struct us_affinity *a, const struct sp_addr *client, double now,
		     struct us_ep *ep, double *left);

/* Choose the endpoint of @p for a new connection or flow from @client at
 * @now, none of @skip[0..@nskip) (those a connection already failed on):
 * the client's affinity endpoint when @aff is not NULL, its entry has not
 * expired and the endpoint is still in @p; else the next one round-robin,
 * or with least_conns the one with fewest open connections (the first such
 * from the round-robin cursor, which then moves past it).
 * Does not record affinity (the caller does once the endpoint answered).
 * Returns 0 with *@out set, or -ENOENT when every endpoint is skipped or
 * @p is empty. */
int us_pick(struct us_pool *p, struct us_affinity *aff, const struct sp_addr *client, double now,
	    const struct us_ep *skip, size_t nskip, struct us_ep *out);
/* What us_pick would choose for a first attempt now, without moving the
 * cursor: explain's "next". Returns 0 with *@out set, or -ENOENT. */
int us_pick_peek(const struct us_pool *p, struct us_affinity *aff, const struct sp_addr *client,
		 double now, struct us_ep *out);

#endif
