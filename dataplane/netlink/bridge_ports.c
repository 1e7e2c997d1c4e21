/* bridge_ports.c - neighbours behind a bridge's ports (see bridge_ports.h):
 * one rtnetlink neighbour dump over IPv4, IPv6 and the bridge family. */
#include "bridge_ports.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/neighbour.h>
#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/rtnl.h>

/* The port of bridge @br the MAC @mac was learnt on, from the bridge
 * family's entries of @cache; 0 when none. */
static int port_of(struct nl_cache *cache, int br, const uint8_t mac[6])
{
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_neigh *f = (struct rtnl_neigh *)o;
		struct nl_addr *ll = rtnl_neigh_get_lladdr(f);

		if (rtnl_neigh_get_family(f) != AF_BRIDGE || rtnl_neigh_get_master(f) != br ||
		    !ll || nl_addr_get_len(ll) != 6 || (rtnl_neigh_get_state(f) & NUD_PERMANENT) ||
		    memcmp(nl_addr_get_binary_addr(ll), mac, 6))
			continue;
		return rtnl_neigh_get_ifindex(f);
	}
	return 0;
}

int sp_bridge_neighbours(int bridge_ifindex, struct sp_bridge_nbr *out, size_t max)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *cache = NULL;
	size_t n = 0;
	int e = 0;

	if (!sk)
		return -ENOMEM;
	if (nl_connect(sk, NETLINK_ROUTE) < 0 ||
	    rtnl_neigh_alloc_cache_flags(sk, &cache, NL_CACHE_AF_ITER) < 0) {
		e = -EIO;
		goto out;
	}
	for (struct nl_object *o = nl_cache_get_first(cache); o && n < max; o = nl_cache_get_next(o)) {
		struct rtnl_neigh *nb = (struct rtnl_neigh *)o;
		struct nl_addr *dst = rtnl_neigh_get_dst(nb), *ll = rtnl_neigh_get_lladdr(nb);
		int fam = rtnl_neigh_get_family(nb);
		struct sp_bridge_nbr *x = &out[n];

		if ((fam != AF_INET && fam != AF_INET6) || rtnl_neigh_get_ifindex(nb) != bridge_ifindex ||
		    !dst || !ll || nl_addr_get_len(ll) != 6 ||
		    (rtnl_neigh_get_state(nb) & (NUD_FAILED | NUD_INCOMPLETE | NUD_NOARP)))
			continue;
		memset(x, 0, sizeof(*x));
		x->addr.family = (uint8_t)fam;
		x->addr.prefix_len = fam == AF_INET6 ? 128 : 32;
		memcpy(x->addr.bytes, nl_addr_get_binary_addr(dst), fam == AF_INET6 ? 16 : 4);
		memcpy(x->mac, nl_addr_get_binary_addr(ll), 6);
		if ((x->port_ifindex = port_of(cache, bridge_ifindex, x->mac)))
			n++;
	}
out:
	if (cache)
		nl_cache_free(cache);
	nl_socket_free(sk);
	return e ? e : (int)n;
}
