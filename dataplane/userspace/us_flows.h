/* us_flows.h - the UDP flow table of the userspace forwarder: one flow per
 * (listener, client address, client port), each with the endpoint it goes to
 * and the upstream socket that carries it (owned by the caller), in
 * least-recently-used order for the idle sweep. Pure: no sockets are opened
 * or closed here, unit-tested without root. */
#ifndef SP_DATAPLANE_US_FLOWS_H
#define SP_DATAPLANE_US_FLOWS_H

#include <stddef.h>
#include <stdint.h>

#include "us_balance.h"

struct us_flow_key {
	uint32_t lis;	/* the listener's id */
	uint16_t cport; /* client port, host order */
	struct sp_addr client;
};

struct us_flow {
	struct us_flow_key key;
	struct us_ep ep; /* where it goes now */
	int fd;		 /* upstream socket (caller's), -1 until set */
	double last;	 /* last datagram either way */
	void *owner;	 /* the caller's (its listener) */
	void *pool;	 /* the caller's (the pool it draws from) */
	/* private */
	struct us_flow *older, *newer; /* LRU list, oldest first */
	struct us_flow *hnext;	       /* hash chain */
	uint64_t hash;
};

struct us_flows;

/* A table of at most @max flows. NULL + errno. */
struct us_flows *us_flows_new(size_t max);
/* Frees the flows; their fds are the caller's (close them first). */
void us_flows_free(struct us_flows *t);
struct us_flow *us_flows_get(struct us_flows *t, const struct us_flow_key *k);
/* A new flow for @k (not in the table), newest, fd -1. NULL + errno: ENOSPC
 * when the table is full, ENOMEM. */
struct us_flow *us_flows_add(struct us_flows *t, const struct us_flow_key *k, double now);
/* @f was used at @now: it becomes the newest. */
void us_flows_touch(struct us_flows *t, struct us_flow *f, double now);
/* Remove and free @f. */
void us_flows_del(struct us_flows *t, struct us_flow *f);
/* The least recently used flow, or NULL; then each newer one. Deleting the
 * flow just returned is allowed during a walk (take ->newer first). */
struct us_flow *us_flows_oldest(const struct us_flows *t);
size_t us_flows_len(const struct us_flows *t);

#endif
