/* us_fwd.h - the userspace forwarder's core objects, shared by its TCP and
 * UDP relays and the backend ops: a service port as served (its endpoint
 * pools, affinity, counters), a listener (one Service address, port and
 * protocol; a socket only while its pool has endpoints, so that a port
 * without endpoints is refused by the kernel: TCP reset, ICMP port
 * unreachable), and the forwarder (limits, deadline queues, pipe pool). All
 * of it runs on the agent's one loop through struct sp_loop_hooks. */
#ifndef SP_DATAPLANE_US_FWD_H
#define SP_DATAPLANE_US_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../backend.h"
#include "us_balance.h"

#define US_CONNECT_TIMEOUT 1.0	/* seconds per connect attempt */
#define US_MAX_TRIES 4		/* endpoints tried per connection */
#define US_UDP_IDLE 30.0	/* seconds without a datagram before a flow ends */
#define US_ACCEPT_RETRY 0.1	/* seconds accept stays paused after EMFILE/ENFILE */
#define US_PIPE_POOL 64		/* idle pipes kept for reuse */
#define US_MAX_CONNS_CAP 20000	/* connections (and UDP flows) at most, fds permitting */

struct us_flows;
struct us_conn;

/* Counters per service port, for /metrics. */
struct us_stats {
	uint64_t active;	/* TCP connections open now (connecting or relaying) */
	uint64_t total;		/* TCP connections accepted */
	uint64_t flows;		/* UDP flows now */
	uint64_t bytes_in;	/* client → endpoint */
	uint64_t bytes_out;	/* endpoint → client */
	uint64_t connect_fail;	/* connect attempts refused or timed out */
	uint64_t retries;	/* connects retried on another endpoint */
	uint64_t refused;	/* connections reset: no endpoint answered */
};

/* One service port as the forwarder serves it (by the model's port key). */
struct us_svc {
	char *key;			/* "ns/name:port/PROTO/IPvN" */
	uint8_t proto;
	int family;
	struct us_pool internal;	/* ClusterIP traffic */
	struct us_pool external;	/* NodePort, external and LB IP traffic */
	struct us_affinity *aff;	/* NULL without ClientIP affinity */
	struct us_stats st;
	struct us_lis **lis;		/* its listeners */
	size_t nlis;
	int refs;			/* the table's, and one per connection or flow */
};

struct us_lis {
	struct us_fwd *fwd;
	struct us_svc *svc;		/* owner */
	bool external;			/* uses svc->external */
	uint32_t id;			/* for UDP flow keys */
	struct sp_addr addr;
	uint16_t port;
	uint8_t proto;
	char name[80];			/* "198.19.128.10:80/TCP" */
	int fd;				/* -1: not bound (its pool is empty) */
	int bind_err;			/* last bind error (-errno), 0 when bound or idle */
	bool paused;			/* TCP: accept paused (limits) */
	bool vip;			/* its address is on svcplane0 (not a node address) */
};

struct us_fwd {
	const struct sp_log *log;
	const struct sp_loop_hooks *loop;
	uint32_t next_lis_id;
	struct us_lis **lis;		/* every listener that has a socket */
	size_t nlis, caplis;
	/* TCP */
	size_t max_conns, n_conns;
	bool accept_paused;		/* EMFILE/ENFILE: until the retry timer */
	uint64_t accept_timer;
	struct us_conn *connecting;	/* FIFO by deadline (one timeout for all) */
	struct us_conn *connecting_tail;
	uint64_t connect_timer;
	struct us_conn *conns;		/* every connection, for close-all */
	int pipes[US_PIPE_POOL][2];	/* idle pipes */
	size_t npipes;
	uint64_t pipes_in_use;
	/* UDP */
	struct us_flows *flows;
	uint64_t flow_timer;
	uint8_t *dgram;			/* one datagram buffer (64 KiB) */
	uint64_t udp_dropped;		/* datagrams with no flow possible */
};

/* Pool of @l->svc that @l's traffic uses. */
static inline struct us_pool *us_lis_pool(const struct us_lis *l)
{
	return l->external ? &l->svc->external : &l->svc->internal;
}

/* sockaddr for @a:@port; returns its length. */
socklen_t us_sockaddr(const struct sp_addr *a, uint16_t port, struct sockaddr_storage *ss);
/* Address and port of @ss (a zeroed sp_addr, host-order port). */
void us_from_sockaddr(const struct sockaddr_storage *ss, struct sp_addr *a, uint16_t *port);

/* Set up @f (limits from RLIMIT_NOFILE). Returns 0 or -ENOMEM. */
int us_fwd_init(struct us_fwd *f, const struct sp_log *lg, const struct sp_loop_hooks *loop,
		size_t max_conns);
/* Close every connection, flow, listener socket and pipe (listener structs
 * belong to their service ports: free those first). */
void us_fwd_fini(struct us_fwd *f);

/* Bind and register @l when its pool has endpoints, close it when it has
 * none. Returns 0 or -errno of socket/bind/listen (logged once per change). */
int us_lis_update(struct us_lis *l);
/* Close @l's socket and drop @l from the forwarder (its UDP flows end;
 * its TCP connections go on). Frees @l. */
void us_lis_free(struct us_lis *l);

void us_svc_put(struct us_svc *s);

/* TCP (us_tcp.c): @l's socket is readable. */
void us_tcp_accept(struct us_lis *l);
/* Pause or resume accepting on every TCP listener (limits). */
void us_tcp_pause(struct us_fwd *f, bool pause);
/* Close every connection (fini). */
void us_tcp_close_all(struct us_fwd *f);
/* Free the pipe pool. */
void us_pipes_fini(struct us_fwd *f);

/* UDP (us_udp.c): @l's socket is readable. */
void us_udp_read(struct us_lis *l);
/* Flows of @l end (listener closed or gone). */
void us_udp_drop_lis(struct us_fwd *f, const struct us_lis *l);
/* Flows of @s whose endpoint left its pool move to a live endpoint (or end
 * when there is none). */
void us_udp_repoint(struct us_fwd *f, const struct us_svc *s);

#endif
