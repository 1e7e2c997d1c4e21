/* nft_stale.c - conntrack matches for the UDP flows a sync makes stale (see
 * nft_stale.h): computed from a port's renders before and after. */
#include "nft_stale.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

static void add(struct nft_stale *l, uint8_t proto, const uint8_t *addr, int family,
		uint16_t port, bool endpoint)
{
	struct sp_ct_match *m;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct sp_ct_match *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return;	/* best effort: stale flows then age out by themselves */
		l->v = v;
		l->cap = cap;
	}
	m = &l->v[l->n++];
	memset(m, 0, sizeof(*m));
	m->proto = proto;
	m->addr.family = (uint8_t)(family == NFPROTO_IPV6 ? AF_INET6 : AF_INET);
	m->addr.prefix_len = (uint8_t)sp_addr_bits(m->addr.family);
	memcpy(m->addr.bytes, addr, family == NFPROTO_IPV6 ? 16 : 4);
	m->port = port;
	m->endpoint = endpoint;
}

static bool has_endpoint(const struct nft_render *r, const uint8_t *data, uint8_t dlen)
{
	uint8_t d[NFT_DATA_MAX];

	for (size_t i = 0; r && i < r->n; i++)
		if (nft_elem_is_backend(&r->v[i]) && r->v[i].dlen == dlen &&
		    !memcmp(r->v[i].data, data, dlen))
			return true;
	for (int a = 0; r && a < r->naff; a++)
		for (uint32_t i = 0; i < r->aff[a].n; i++)
			if (nft_affinity_ep_data(&r->aff[a], i, d) == dlen && !memcmp(d, data, dlen))
				return true;
	return false;
}

static bool any_endpoint(const struct nft_render *r)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (nft_elem_is_backend(&r->v[i]))
			return true;
	return r && r->naff > 0;
}

/* Endpoint @data (address . port) of @old, unless @keep still sends to it. */
static void gone_endpoint(struct nft_stale *l, uint8_t proto, int family,
			  const struct nft_render *keep, const uint8_t *data, uint8_t dlen)
{
	uint32_t alen = family == NFPROTO_IPV6 ? 16 : 4;

	if (keep && has_endpoint(keep, data, dlen))
		return;
	add(l, proto, data, family, (uint16_t)(data[alen] << 8 | data[alen + 1]), true);
}

void nft_stale_port(struct nft_stale *l, uint8_t proto, const struct sp_svc_port *p,
		    const struct nft_render *old, const struct nft_render *new)
{
	int family = old ? old->family : new ? new->family : NFPROTO_IPV4;
	uint8_t d[NFT_DATA_MAX];

	if (proto == IPPROTO_TCP)
		return;
	for (size_t i = 0; old && i < old->n; i++)
		if (nft_elem_is_backend(&old->v[i]))
			gone_endpoint(l, proto, family, new, old->v[i].data, old->v[i].dlen);
	for (int a = 0; old && a < old->naff; a++)
		for (uint32_t i = 0; i < old->aff[a].n; i++)
			gone_endpoint(l, proto, family, new, d,
				      nft_affinity_ep_data(&old->aff[a], i, d));
	/* Flows sent while the port had no endpoint at all were never NATed. */
	if (p && any_endpoint(new) && !any_endpoint(old)) {
		const struct sp_addr_list *lists[] = { &p->cluster_ips, &p->external_ips, &p->lb_ips };

		for (int k = 0; k < 3; k++)
			for (size_t i = 0; i < lists[k]->n; i++)
				add(l, proto, lists[k]->v[i].bytes, family, p->port, false);
	}
}

void nft_stale_fini(struct nft_stale *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}
