/* lb_pick.bpf.h - what every program of the eBPF dataplane does alike: find
 * the service entry for a destination (an exact service address, a ClusterIP
 * on a port it does not serve, a NodePort on one of this node's addresses)
 * and choose one endpoint of its list (ClientIP affinity first, then the slot
 * a random number or a flow hash falls on). */
#ifndef SP_BPF_LB_PICK_BPF_H
#define SP_BPF_LB_PICK_BPF_H

#include <stdbool.h>
#include "lb_maps.bpf.h"

#define NSEC_PER_SEC 1000000000ull

/* One destination, the same for both families. */
struct dest {
	__u8 addr[16];
	__u16 port_be;
	__u8 family;
	__u8 proto;
	__u8 mapped;	/* an IPv4 address dialled as ::ffff:a.b.c.d on an IPv6 socket */
	__u8 pad[3];
};

/* The service entry for @d: an exact service address, a ClusterIP on a port
 * it does not serve (an entry with count 0), or a NodePort on one of this
 * node's addresses. With @outside (traffic from outside the node) an
 * externalTrafficPolicy Local entry hands over to its local-endpoints entry.
 * An address that is neither a service's nor this node's costs one lookup
 * here (an unconnected send has asked its socket's storage first). */
static __always_inline const struct sp_svc_val *lookup_service(const struct dest *d, bool outside)
{
	struct sp_svc_key k = {};
	struct sp_addr_key ak = {};
	const struct sp_svc_val *v = 0;
	const __u8 *kind;
	__u8 flags;

	__builtin_memcpy(ak.addr, d->addr, 16);
	ak.family = d->family;
	kind = bpf_map_lookup_elem(&sp_addrs, &ak);
	if (!kind)
		return 0;
	flags = *kind;
	k.family = d->family;
	if (flags & SP_ADDR_SERVICE) {
		__builtin_memcpy(k.addr, d->addr, 16);
		k.port_be = d->port_be;
		k.proto = d->proto;
		k.scope = SP_SCOPE_VIP;
		v = bpf_map_lookup_elem(&sp_services, &k);
		if (!v) {
			/* A ClusterIP on a port it does not serve. */
			k.port_be = 0;
			k.proto = 0;
			k.scope = SP_SCOPE_ANY_PORT;
			v = bpf_map_lookup_elem(&sp_services, &k);
			if (v)
				return v;
		}
	}
	if (!v) {
		/* A NodePort on one of this node's addresses. */
		if (!(flags & SP_ADDR_NODE))
			return 0;
		__builtin_memset(k.addr, 0, 16);
		k.port_be = d->port_be;
		k.proto = d->proto;
		k.scope = SP_SCOPE_NODEPORT;
		v = bpf_map_lookup_elem(&sp_services, &k);
	}
	if (!v || !outside || !(v->flags & SP_SVC_ETP_LOCAL))
		return v;
	k.scope = k.scope == SP_SCOPE_VIP ? SP_SCOPE_VIP_LOCAL : SP_SCOPE_NODEPORT_LOCAL;
	return bpf_map_lookup_elem(&sp_services, &k);
}

static __always_inline const struct sp_svc_val *find_service(const struct dest *d)
{
	return lookup_service(d, false);
}

/* The endpoint this client had for the service, if it is still one of its
 * endpoints and the timeout has not passed. */
static __always_inline __u32 affinity_get(const struct sp_aff_key *ak, const struct sp_svc_val *svc,
					  __u64 now)
{
	struct sp_aff_match_key mk = { .svc_id = svc->id };
	struct sp_aff_val *av = bpf_map_lookup_elem(&sp_affinity, ak);

	/* (A time ahead of @now: the tc programs read the coarse clock.) */
	if (!av || (now > av->last_ns && now - av->last_ns > (__u64)svc->affinity_timeout * NSEC_PER_SEC))
		return 0;
	mk.ep_id = av->ep_id;
	if (!bpf_map_lookup_elem(&sp_aff_match, &mk))
		return 0;
	av->last_ns = now;
	return av->ep_id;
}

/* The endpoint in slot @r % count of @svc's list. 0: none (a slot is
 * always written before its count: not expected). */
static __always_inline __u32 slot_endpoint(const struct sp_svc_val *svc, __u32 r)
{
	struct sp_slot_key sk = {};
	const struct sp_slot_val *slot;

	sk.svc_id = svc->id;
	sk.rev = (__u16)svc->rev;
	sk.slot = (__u16)(r % svc->count);
	slot = bpf_map_lookup_elem(&sp_slots, &sk);
	return slot ? slot->ep_id : 0;
}

/* The endpoint affinity remembers for @ak's client of @svc (count > 0), or
 * 0; @ak->svc_id is set. */
static __always_inline __u32 affinity_endpoint(const struct sp_svc_val *svc, struct sp_aff_key *ak,
					       __u64 now)
{
	if (!(svc->flags & SP_SVC_AFFINITY))
		return 0;
	ak->svc_id = svc->id;
	return affinity_get(ak, svc, now);
}

/* @ep_id is @ak's client's endpoint of @svc from now on (with affinity). */
static __always_inline void affinity_remember(const struct sp_svc_val *svc,
					      const struct sp_aff_key *ak, __u32 ep_id, __u64 now)
{
	struct sp_aff_val av = { .ep_id = ep_id, .last_ns = now };

	if ((svc->flags & SP_SVC_AFFINITY) && ep_id)
		bpf_map_update_elem(&sp_affinity, ak, &av, BPF_ANY);
}

/* The endpoint id for a new connection to @svc (count > 0): the one
 * affinity remembers for @ak's client, else slot @r % count, remembered for
 * the client when the service has affinity. 0: none. */
static __always_inline __u32 choose_endpoint(const struct sp_svc_val *svc, struct sp_aff_key *ak,
					     __u32 r)
{
	__u64 now = (svc->flags & SP_SVC_AFFINITY) ? bpf_ktime_get_ns() : 0;
	__u32 ep_id = affinity_endpoint(svc, ak, now);

	if (ep_id)
		return ep_id;
	ep_id = slot_endpoint(svc, r);
	affinity_remember(svc, ak, ep_id, now);
	return ep_id;
}

#endif
