/* node_addrs.c - node addresses from the kernel's address and route tables. */
#include "node_addrs.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/rtnl.h>

/* Interface index of the default route for @family, or 0. */
static int default_oif(struct nl_cache *routes, int family)
{
	int oif = 0;

	for (struct nl_object *o = nl_cache_get_first(routes); o && !oif; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(r);
		struct rtnl_nexthop *nh;

		if (rtnl_route_get_family(r) != family || rtnl_route_get_table(r) != RT_TABLE_MAIN ||
		    (dst && nl_addr_get_prefixlen(dst) != 0) || rtnl_route_get_nnexthops(r) < 1)
			continue;
		nh = rtnl_route_nexthop_n(r, 0);
		oif = rtnl_route_nh_get_ifindex(nh);
	}
	return oif;
}

static void add(struct sp_node_addrs *out, const struct sp_addr *a)
{
	for (int i = 0; i < out->n; i++)
		if (!sp_addr_cmp(&out->v[i], a))
			return;
	if (out->n < SP_MAX_NODE_ADDRS)
		out->v[out->n++] = *a;
}

int sp_node_addrs_get(bool primary, const struct sp_cidrs *cidrs, const struct sp_addr_list *known,
		      int family, struct sp_node_addrs *out)
{
	struct nl_sock *sk;
	struct nl_cache *addrs = NULL, *routes = NULL;
	int oif = 0, e;

	out->n = 0;
	for (size_t i = 0; primary && known && i < known->n; i++)
		if (known->v[i].family == family)
			add(out, &known->v[i]);
	if (out->n)
		return 0;
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	if ((e = nl_connect(sk, NETLINK_ROUTE)) < 0 ||
	    (e = rtnl_addr_alloc_cache(sk, &addrs)) < 0 ||
	    (e = rtnl_route_alloc_cache(sk, family, 0, &routes)) < 0) {
		e = -EIO;
		goto out;
	}
	if (primary)
		oif = default_oif(routes, family);
	for (int pass = 0; pass < 2 && out->n == 0; pass++) {
		for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
			struct rtnl_addr *ra = (struct rtnl_addr *)o;
			struct nl_addr *local = rtnl_addr_get_local(ra);
			struct sp_addr a = {0};
			bool want;

			if (rtnl_addr_get_family(ra) != family || !local ||
			    rtnl_addr_get_scope(ra) != RT_SCOPE_UNIVERSE)
				continue;
			a.family = (uint8_t)family;
			a.prefix_len = (uint8_t)sp_addr_bits(family);
			memcpy(a.bytes, nl_addr_get_binary_addr(local), family == AF_INET6 ? 16 : 4);
			if (!primary) {
				want = false;
				for (int i = 0; i < cidrs->n; i++)
					want |= sp_cidr_contains(&cidrs->v[i], &a);
			} else {
				/* First pass: the default route's interface; if that
				 * gives nothing, every global address. */
				want = pass == 1 || rtnl_addr_get_ifindex(ra) == oif;
			}
			if (want)
				add(out, &a);
		}
		if (!primary)
			break;
	}
	e = 0;
out:
	nl_cache_free(addrs);
	nl_cache_free(routes);
	nl_socket_free(sk);
	return e;
}
