/* us_fwd.h - the userspace forwarder's core objects, shared by its
 * connection relay (TCP, SCTP), its UDP relay and the service-port table: a service port as served
 * (its endpoint pools, affinity, counters), a listener (one Service address, port and protocol; a
 * socket only while its pool has endpoints, so that a port without endpoints is refused by the
 * kernel: TCP reset, ICMP port unreachable), and the forwarder (limits, deadline queues, pipe
 * pool). All of it runs on the agent's one loop through struct sp_loop_hooks. */
#ifndef SP_DATAPLANE_US_FWD_H
#define SP_DATAPLANE_US_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../backend.h"
#include "us_balance.h"
#include "../../common/lists.h"

#define US_CONNECT_TIMEOUT 1.0 /* seconds per connect attempt */
#define US_MAX_TRIES 4	       /* endpoints tried per connection */
#define US_UDP_IDLE 30.0       /* seconds without a datagram before a flow ends */
#define US_ACCEPT_RETRY 0.1    /* seconds accept stays paused after EMFILE/ENFILE */
#define US_PIPE_POOL 64	       /* idle pipes kept for reuse */
#define US_MAX_CONNS_CAP 20000 /* connections (and UDP flows) at most, fds permitting */
#define US_PIPE_HEADROOM 128   /* connections whose descriptors a new pipe leaves free */
/* Descriptors kept for the rest of the agent: its loop, HTTP servers and
 * their clients, netlink, files (about 20 when idle). */
#define US_FDS_OWN 128

struct us_flows;
struct us_conn;

/* Counters per service port, for /metrics. */
struct us_stats {
	uint64_t active;       /* TCP/SCTP connections open now (connecting or relaying) */
	uint64_t total;	       /* TCP/SCTP connections accepted */
	uint64_t flows;	       /* UDP flows now */
	uint64_t bytes_in;     /* client → endpoint */
	uint64_t bytes_out;    /* endpoint → client */
	uint64_t connect_fail; /* connect attempts refused or timed out */
	uint64_t retries;      /* connects retried on another endpoint */
	uint64_t refused;      /* connections reset: no endpoint answered */
};

/* One service port as the forwarder serves it (by the model's port key). */
struct us_svc {
	char *key; /* "ns/name:port/PROTO/IPvN" */
	uint8_t proto;
	int family;
	struct us_pool internal; /* ClusterIP traffic */
	struct us_pool external; /* NodePort, external and LB IP traffic */
	struct us_pool shortcut; /* external traffic of this node's pods and processes
				  * when externalTrafficPolicy is Local (the cluster
				  * list; empty otherwise) */
	bool ext_local;		 /* externalTrafficPolicy Local */
	struct sp_addr *ranges;	 /* loadBalancerSourceRanges (LB IP listeners only) */
	size_t nranges;
	struct us_affinity *aff; /* NULL without ClientIP affinity */
	struct us_stats st;
	struct us_lis **lis; /* its listeners */
	size_t nlis;
	int refs; /* the table's, and one per connection or flow */
};

struct us_lis {
	struct us_fwd *fwd;
	struct us_svc *svc; /* owner */
	bool external;	    /* NodePort, external or LB IP (else a ClusterIP) */
	uint32_t id;	    /* for UDP flow keys */
	struct sp_addr addr;
	uint16_t port;
	uint8_t proto;
	char name[80]; /* "198.19.128.10:80/TCP" */
	int fd;	       /* -1: not bound (its pool is empty) */
	int bind_err;  /* last bind error (-errno), 0 when bound or idle */
	bool paused;   /* TCP: accept paused (limits) */
	bool vip;      /* its address is on svcplane0 (not a node address) */
	bool lb;       /* a load-balancer IP: source ranges apply */
};

struct us_fwd {
	const struct sp_log *log;
	const struct sp_loop_hooks *loop;
	const struct sp_cidrs *cluster_cidrs; /* pods' addresses (borrowed) */
	uint32_t next_lis_id;
	struct us_lis **lis; /* every listener that has a socket */
	size_t nlis, caplis;
	size_t nofile; /* RLIMIT_NOFILE: descriptors the process may hold */
	/* TCP and SCTP */
	size_t max_conns, n_conns;
	bool full;	    /* accepting paused: max_conns, or no descriptors to spare */
	bool accept_paused; /* EMFILE/ENFILE: until the retry timer */
	uint64_t accept_timer;
	struct us_conn *connecting; /* FIFO by deadline (one timeout for all) */
	struct us_conn *connecting_tail;
	uint64_t connect_timer;
	struct us_conn *conns;	    /* every connection, for close-all */
	int pipes[US_PIPE_POOL][2]; /* idle pipes */
	size_t npipes;
	uint64_t pipes_in_use;
	uint64_t bufs_in_use; /* directions holding bytes in a buffer: no pipe to be had */
	/* UDP */
	struct us_flows *flows;
	uint64_t flow_timer;
	uint8_t *dgram;	      /* one datagram buffer (64 KiB) */
	uint64_t udp_dropped; /* datagrams with no flow possible */
};

/* The pool of @l->svc that traffic from @client to @l draws from: a
 * ClusterIP's the internal list; external addresses the external list,
 * except with externalTrafficPolicy Local for a client of this node (a pod
 * in the cluster CIDR, or the node itself: the client's address is the
 * listener's own), which gets the cluster list. May be empty (a client
 * from outside and no local endpoint: refused). */
struct us_pool *us_client_pool(const struct us_lis *l, const struct sp_addr *client);
/* May @client use @l? Not when @l is a load-balancer IP whose service has
 * loadBalancerSourceRanges that do not contain it (kube-proxy drops such
 * traffic; the relay resets a TCP connection it was handed, drops a UDP
 * datagram). */
bool us_client_allowed(const struct us_lis *l, const struct sp_addr *client);
/* Endpoints @l may offer any client (it listens only while there are). */
size_t us_lis_endpoints(const struct us_lis *l);

/* sockaddr for @a:@port; returns its length. */
socklen_t us_sockaddr(const struct sp_addr *a, uint16_t port, struct sockaddr_storage *ss);
/* Address and port of @ss (a zeroed sp_addr, host-order port). */
void us_from_sockaddr(const struct sockaddr_storage *ss, struct sp_addr *a, uint16_t *port);

/* Connections @nofile descriptors allow: two each (the client's and the
 * endpoint's sockets; a pipe only while bytes are in flight, and none
 * needed: us_splice.c), US_FDS_OWN kept for the rest of the agent, at most
 * US_MAX_CONNS_CAP. */
size_t us_fwd_max_conns(size_t nofile);
/* Descriptors the forwarder holds now: two per connection, one per UDP
 * flow, its listeners' sockets, pipes in flight and idle. */
size_t us_fwd_fds(const struct us_fwd *f);
/* Connections the forwarder could hold now: max_conns, or fewer when its
 * listeners, UDP flows and pipes in flight leave less room (the /metrics
 * gauge). */
size_t us_fwd_conns_max_now(const struct us_fwd *f);
/* May the forwarder open @n more descriptors now, keeping US_FDS_OWN for
 * the rest of the agent? Closes idle pipes of the pool when that makes
 * room. */
bool us_fwd_room(struct us_fwd *f, size_t n);

/* May a new pipe take two descriptors now? Only while it leaves room for
 * US_PIPE_HEADROOM more connections (or for all that max_conns still
 * allows): pipes speed bytes up, they must not keep connections out (a
 * direction without one moves through a buffer). */
bool us_fwd_pipe_room(struct us_fwd *f);

/* Set up @f for a process that may hold @nofile descriptors: at most
 * us_fwd_max_conns(@nofile) connections, and UDP flows in the descriptors
 * they leave. Returns 0 or -ENOMEM. */
int us_fwd_init(struct us_fwd *f, const struct sp_log *lg, const struct sp_loop_hooks *loop,
		size_t nofile, const struct sp_cidrs *cluster_cidrs);
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

/* TCP and SCTP (us_conn.c): @l's socket is readable. */
void us_conn_accept(struct us_lis *l);
/* Pause or resume accepting on every TCP listener (limits). */
void us_conn_pause(struct us_fwd *f, bool pause);
/* Descriptors or a connection slot were freed: resume accepting if it was
 * paused for the limits and there is room again (cheap when it was not). */
void us_conn_resume(struct us_fwd *f);
/* Close every connection (fini). */
void us_conn_close_all(struct us_fwd *f);

/* UDP (us_udp.c): @l's socket is readable. */
void us_udp_read(struct us_lis *l);
/* Flows of @l end (listener closed or gone). */
void us_udp_drop_lis(struct us_fwd *f, const struct us_lis *l);
/* Flows of @s whose endpoint left its pool move to a live endpoint (or end
 * when there is none). */
void us_udp_repoint(struct us_fwd *f, const struct us_svc *s);

#endif
