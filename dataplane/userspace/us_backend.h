/* us_backend.h - --mode userspace: the agent itself accepts connections and
 * datagrams for every Service address (ClusterIPs, external and LB IPs as
 * local addresses on svcplane0, NodePorts on the node addresses) and relays
 * them to endpoints; no netfilter rule is involved. */
#ifndef SP_DATAPLANE_US_BACKEND_H
#define SP_DATAPLANE_US_BACKEND_H

#include "../backend.h"

extern const struct sp_backend_ops sp_userspace_ops;

#endif
