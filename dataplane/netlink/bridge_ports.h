/* bridge_ports.h - which port of a bridge each neighbour sits behind: the
 * kernel's neighbour table (address → MAC on the bridge) joined with the
 * bridge's forwarding database (MAC → port), both over rtnetlink
 * (libnl-route-3; no sysfs, which a network namespace's view may lack). For
 * a pod behind a bridge CNI's bridge: its address, its MAC and the host side
 * of its veth. */
#ifndef SP_DATAPLANE_BRIDGE_PORTS_H
#define SP_DATAPLANE_BRIDGE_PORTS_H

#include <stddef.h>
#include <stdint.h>

#include "../../common/addr.h"

struct sp_bridge_nbr {
	struct sp_addr addr;
	uint8_t mac[6];
	int port_ifindex; /* the bridge port the MAC was learnt on */
};

/* Neighbours of bridge @bridge_ifindex reachable through one of its ports,
 * up to @max into @out (none when it is not a bridge). Returns their number,
 * or -errno. */
int sp_bridge_neighbours(int bridge_ifindex, struct sp_bridge_nbr *out, size_t max);

#endif
