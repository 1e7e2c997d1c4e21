/* node_addrs.h - this node's addresses for NodePorts (libnl-route-3): the
 * primary ones (those of the interface holding the default route, else every
 * global non-loopback address), or those inside --nodeport-addresses CIDRs. */
#ifndef SP_DATAPLANE_NODE_ADDRS_H
#define SP_DATAPLANE_NODE_ADDRS_H

#include <stdbool.h>

#include "../../common/lists.h"

#define SP_MAX_NODE_ADDRS 64

struct sp_node_addrs {
	struct sp_addr v[SP_MAX_NODE_ADDRS];
	int n;
};

/* Fill @out for @family (AF_INET or AF_INET6): with @primary, the @known
 * addresses of that family when there are any (the Node's InternalIPs), else
 * those of the default-route interface in the calling process's network
 * namespace (else every global one); without, this namespace's addresses
 * inside @cidrs. Returns 0 or -errno. */
int sp_node_addrs_get(bool primary, const struct sp_cidrs *cidrs, const struct sp_addr_list *known,
		      int family, struct sp_node_addrs *out);

#endif
