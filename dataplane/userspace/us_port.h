/* us_port.h - the forwarder's table of service ports: each port of the model
 * turned into endpoint pools, affinity and listeners (its Service addresses
 * put on svcplane0 before their sockets bind), changed in place by a sync
 * and removed with its listeners; addresses no listener wants are pruned. */
#ifndef SP_DATAPLANE_US_PORT_H
#define SP_DATAPLANE_US_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../netlink/node_addrs.h"

struct sp_hmap;
struct sp_log;
struct sp_svc_port;
struct us_fwd;
struct us_link;

struct us_ports {
	struct us_fwd *fwd;   /* borrowed */
	struct us_link *link; /* borrowed; set before each sync */
	const struct sp_log *log;
	struct sp_hmap *svcs;	      /* port key → struct us_svc */
	struct sp_hmap *lis;	      /* listener name → struct us_lis */
	struct sp_node_addrs node[2]; /* IPv4, IPv6: where NodePorts listen */
	bool sctp;		      /* the kernel has SCTP sockets */
	bool least_conns;	      /* pools balance by least connections */
};

/* A listener's name, its key in @lis: "198.19.128.10:80/TCP",
 * "[fd00:96::a]:80/UDP" (@a a plain address). */
void us_lis_name(const struct sp_addr *a, uint16_t port, uint8_t proto, char *buf, size_t sz);

/* Empty tables. Returns 0 or -ENOMEM. */
int us_ports_init(struct us_ports *t, struct us_fwd *fwd, const struct sp_log *lg);
/* Remove every port (listeners closed; connections still open keep their
 * service port until they end) and free the tables. */
void us_ports_fini(struct us_ports *t);

/* Serve @p as the model says: pools, affinity, listeners. Returns 0 or
 * -errno of an address or allocation (a listener that cannot bind is
 * logged, not fatal: the rest of the port is served). */
int us_port_apply(struct us_ports *t, const struct sp_svc_port *p);
/* Stop serving the port @key (absent is fine). */
void us_port_remove(struct us_ports *t, const char *key);
/* Remove the addresses on svcplane0 that no listener wants any more.
 * Returns 0 or -errno. */
int us_ports_prune_addrs(struct us_ports *t);

#endif
