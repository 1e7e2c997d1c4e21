/* nft_dispatch.c - the live tables' answers to svcplanectl explain: where a
 * new connection to one address and port is sent now (its dispatch element,
 * then its backends or affinity chain), and which traffic the services chain
 * masquerades. Reads through the netlink source (nft_readsrc.h), fields
 * through the codec (nft_codec.h). */
#include "nft_readback.h"
#include "nft_readsrc.h"
#include "nft_render.h"
#include "nft_codec.h"
#include "../../common/hmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

struct masq_ctx {
	int family;
	struct sp_addr *keep;
	int max, n;
	bool masq;
};

/* services: "ip daddr @cluster-ips [ip saddr != P/len ...] jump mark-for-masquerade":
 * lookup of cluster-ips, then (mask, value) pairs compared not-equal. */
static int masq_rule(void *ctx, struct nftnl_rule *r)
{
	struct masq_ctx *c = ctx;
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	const uint8_t *mask = NULL;
	bool cluster = false;
	uint32_t len;

	if (c->masq)
		return 0; /* the first such rule is the one */
	if (!(it = nftnl_expr_iter_create(r)))
		return -ENOMEM;
	while ((e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

		if (!strcmp(name, "lookup") &&
		    !strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), "cluster-ips")) {
			cluster = true;
		} else if (cluster && !strcmp(name, "bitwise")) {
			mask = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &len);
		} else if (cluster && !strcmp(name, "cmp") &&
			   nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP) == NFT_CMP_NEQ &&
			   c->n < c->max) {
			/* nft itself loads only the prefix's bytes, and leaves the
			 * mask out when the prefix ends on a byte boundary. */
			const uint8_t *v = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
			uint32_t alen = nft_field_bytes(F_ADDR, c->family);
			uint8_t bytes[16] = {0};
			struct nft_value a;
			int plen = 0;

			memcpy(bytes, v, len < alen ? len : alen);
			nft_field_decode(F_ADDR, c->family, bytes, NULL, &a);
			for (uint32_t i = 0; i < len && i < alen; i++)
				for (int b = 7; b >= 0; b--)
					plen += mask ? (mask[i] >> b) & 1 : 1;
			a.addr.prefix_len = (uint8_t)plen;
			c->keep[c->n++] = a.addr;
			mask = NULL;
		} else if (cluster && !strcmp(name, "immediate") &&
			   nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN) &&
			   !strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN),
				   "mark-for-masquerade")) {
			c->masq = true;
		}
	}
	nftnl_expr_iter_destroy(it);
	if (!c->masq)
		c->n = 0; /* not the masquerade rule: its comparisons are not ours */
	return 0;
}

int sp_nft_read_masq(struct mnl_socket *nl, int family, struct sp_addr *keep, int max, bool *masq)
{
	struct masq_ctx c = {family, keep, max, 0, false};
	int e = nft_nl_each_rule(nl, family, "services", masq_rule, &c);

	*masq = c.masq;
	return e ? e : c.n;
}

struct dispatch_find {
	uint8_t key[NFT_KEY_MAX];
	uint32_t klen;
	char chain[256];
};

static int on_dispatch(void *ctx, const struct elem_view *v)
{
	struct dispatch_find *d = ctx;

	if (v->klen == d->klen && !memcmp(v->key, d->key, d->klen) && v->chain)
		snprintf(d->chain, sizeof(d->chain), "%s", v->chain);
	return 0;
}

struct ep_find {
	const struct dispatch_find *d;
	struct sp_svc_port *p;
	int family;
};

/* A backends element under the dispatch key: its endpoint into the port. */
static int add_ep(void *ctx, const struct elem_view *v)
{
	struct ep_find *f = ctx;
	struct nft_value d[2];
	struct sp_endpoint *eps, *ep;

	if (v->klen != f->d->klen + nft_field_len(F_SLOT, f->family) ||
	    memcmp(v->key, f->d->key, f->d->klen) || !v->data ||
	    nft_fields_decode(nft_endpoint_fields, f->family, v->data, NULL, v->dlen, d))
		return 0;
	for (size_t i = 0; i < f->p->n_eps; i++)
		if (!sp_addr_cmp(&f->p->eps[i].addr, &d[0].addr) && f->p->eps[i].port == d[1].num)
			return 0;
	if (!(eps = realloc(f->p->eps, (f->p->n_eps + 1) * sizeof(*eps))))
		return -ENOMEM;
	f->p->eps = eps;
	ep = &eps[f->p->n_eps++];
	memset(ep, 0, sizeof(*ep));
	ep->addr = d[0].addr;
	ep->port = (uint16_t)d[1].num;
	ep->ready = ep->serving = true;
	return 0;
}

/* The endpoints of affinity chain @chain into @p. */
static int affinity_eps(const struct nft_src *src, int nfam, const char *chain,
			struct sp_svc_port *p)
{
	struct sp_hmap *aff = nft_affinity_map_new();
	const struct sp_endpoint *eps;
	size_t n;
	int e;

	if (!aff)
		return -ENOMEM;
	if (!(e = src->affinity(src, nfam, aff))) {
		n = nft_affinity_eps(aff, chain, &eps);
		if (n && !(p->eps = realloc(p->eps, (n + 1) * sizeof(*p->eps))))
			e = -ENOMEM;
		else if (n)
			memcpy(p->eps, eps, n * sizeof(*p->eps));
		p->n_eps = e ? 0 : n;
	}
	nft_affinity_map_free(aff);
	return e;
}

int sp_nft_read_dispatch(struct mnl_socket *nl, int family, const struct sp_addr *vip,
			 uint8_t proto, uint16_t port, struct sp_svc_port *p)
{
	int nfam = family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	enum nft_set_id map = vip ? NS_SERVICE_IPS : NS_SERVICE_NODEPORTS;
	enum nft_set_id backends = vip ? NS_BACKENDS : NS_NP_BACKENDS;
	const enum nft_set_id sets[] = {map, backends};
	struct nft_value k[3] = {{.num = proto}, {.num = port}};
	struct dispatch_find d = {0};
	struct ep_find f = {&d, p, nfam};
	struct nft_src src;
	int e;

	if (vip) {
		k[2] = k[1];
		k[1] = k[0];
		k[0] = (struct nft_value){.addr = *vip};
	}
	d.klen = nft_fields_encode(sp_nft_sets[map].key, nfam, k, d.key, NULL);
	if ((e = nft_nl_source_init(&src, nl, nfam, sets, 2, true, NULL)))
		return e;
	for (size_t i = 0; i < p->n_eps; i++)
		sp_endpoint_fini(&p->eps[i]);
	p->n_eps = 0;
	if (!nft_nl_source_present(&src, nfam))
		e = -ENOENT; /* no table of this family */
	else
		e = src.each(&src, nfam, sp_nft_sets[map].name, on_dispatch, &d);
	if (!e && d.chain[0] && !strncmp(d.chain, "affinity-", 9))
		e = affinity_eps(&src, nfam, d.chain, p);
	else if (!e && d.chain[0])
		e = src.each(&src, nfam, sp_nft_sets[backends].name, add_ep, &f);
	nft_nl_source_fini(&src);
	sp_svc_port_sort_eps(p);
	return e ? e : (int)p->n_eps;
}
