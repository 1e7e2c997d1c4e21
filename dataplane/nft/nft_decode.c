/* nft_decode.c - svcplane's sets, from either readback source (nft_readsrc.h),
 * decoded back into a model: dispatch elements and their comments give the
 * ports and addresses, the backends maps and affinity chains their endpoints,
 * local-* sets the external policy, firewall-allow the source ranges. Every
 * field goes through the codec (nft_codec.h); nothing here does I/O. */
#include "nft_readsrc.h"
#include "nft_codec.h"
#include "nft_render.h"
#include "../../common/hmap.h"
#include "../../common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>

const enum nft_set_id nft_decode_sets[] = {
    NS_BACKENDS,       NS_NP_BACKENDS,	     NS_LOCAL_VIPS,	 NS_LOCAL_NODEPORTS, NS_SERVICE_IPS,
    NS_NO_EP_SERVICES, NS_SERVICE_NODEPORTS, NS_NO_EP_NODEPORTS, NS_FIREWALL_ALLOW,
};
const size_t nft_decode_nsets = sizeof(nft_decode_sets) / sizeof(nft_decode_sets[0]);

struct rb {
	const struct nft_src *src;
	int family;
	struct sp_model *m;
	struct sp_hmap *backends; /* hex key without the slot → struct ep_list */
	struct sp_hmap *np_backends;
	struct sp_hmap *local_vips;   /* hex keys of local-vips, local-nodeports */
	struct sp_hmap *aff;	      /* affinity chain → struct aff_info */
	int pass;		      /* service-ips: 0 ClusterIPs, 1 external addresses */
	sp_external_list_fn external; /* optional: each Local port's external list */
	void *external_ctx;
};

/* The endpoints of one dispatch key, from a backends map or an affinity chain. */
struct ep_list {
	struct sp_endpoint *v;
	size_t n;
};

/* What an affinity chain's rules say: its timeout and endpoints. */
struct aff_info {
	unsigned timeout;
	struct ep_list eps;
};

static int sp_family(int family)
{
	return family == NFPROTO_IPV6 ? AF_INET6 : AF_INET;
}

/* "ns/name:port kind" → the model port, created on first sight; NULL (and
 * *@err 0) when the comment is not one svcplane writes. */
static struct sp_svc_port *port_for(struct rb *c, const char *comment, uint8_t proto, char *kind,
				    size_t ksz, int *err)
{
	char svc[300], pname[128] = "", key[512];
	const char *sp = strchr(comment, ' '), *colon;
	struct sp_svc_port *p;
	size_t n = sp ? (size_t)(sp - comment) : strlen(comment);

	snprintf(kind, ksz, "%s", sp ? sp + 1 : "");
	snprintf(svc, sizeof(svc), "%.*s", (int)n, comment);
	colon = strchr(svc, ':');
	if (colon) {
		snprintf(pname, sizeof(pname), "%s", colon + 1);
		svc[colon - svc] = '\0';
	}
	if (!strchr(svc, '/'))
		return NULL;
	snprintf(key, sizeof(key), "%s:%s/%s/%s", svc, pname, sp_proto_name(proto),
		 c->family == NFPROTO_IPV6 ? "IPv6" : "IPv4");
	p = sp_hmap_get(c->m->ports, key);
	if (p)
		return p;
	p = sp_svc_port_new(svc, pname, proto, sp_family(c->family));
	if (!p || sp_model_add_port(c->m, p)) {
		*err = -ENOMEM;
		return NULL;
	}
	return sp_hmap_get(c->m->ports, key);
}

static int add_unique(struct sp_addr_list *l, const struct sp_addr *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (!sp_addr_cmp(&l->v[i], a))
			return 0;
	return sp_addr_list_add(l, a);
}

static void hexkey(const uint8_t *b, uint32_t n, char *out)
{
	for (uint32_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* Append endpoint @ep to @l unless it is there. Returns 0 or -ENOMEM. */
static int list_add(struct ep_list *l, const struct sp_endpoint *ep)
{
	struct sp_endpoint *eps;

	for (size_t i = 0; i < l->n; i++)
		if (!sp_addr_cmp(&l->v[i].addr, &ep->addr) && l->v[i].port == ep->port)
			return 0;
	if (!(eps = realloc(l->v, (l->n + 1) * sizeof(*eps))))
		return -ENOMEM;
	l->v = eps;
	l->v[l->n++] = *ep;
	return 0;
}

/* An endpoint map's data (address . port) as a ready endpoint. -EINVAL when
 * it is not that. */
static int endpoint_of(int family, const struct elem_view *v, struct sp_endpoint *ep)
{
	struct nft_value d[2];

	if (!v->data || nft_fields_decode(nft_endpoint_fields, family, v->data, NULL, v->dlen, d))
		return -EINVAL;
	memset(ep, 0, sizeof(*ep));
	ep->addr = d[0].addr;
	ep->port = (uint16_t)d[1].num;
	ep->ready = ep->serving = true;
	return 0;
}

struct index_ctx {
	struct rb *c;
	struct sp_hmap *idx;
};

/* One backends element into the index under its key minus the slot. */
static int index_ep(void *ctx, const struct elem_view *v)
{
	struct index_ctx *x = ctx;
	uint32_t slot = nft_field_len(F_SLOT, x->c->family);
	struct sp_endpoint ep;
	struct ep_list *l;
	char hk[128];

	if (v->klen < slot || v->klen - slot > 60 || endpoint_of(x->c->family, v, &ep))
		return 0; /* not an element svcplane writes */
	hexkey(v->key, v->klen - slot, hk);
	if (!(l = sp_hmap_get(x->idx, hk))) {
		if (!(l = calloc(1, sizeof(*l))) || sp_hmap_put(x->idx, hk, l, NULL)) {
			free(l);
			return -ENOMEM;
		}
	}
	return list_add(l, &ep);
}

static void index_free(struct sp_hmap *idx)
{
	struct sp_hmap_iter it = {0};

	while (idx && sp_hmap_next(idx, &it)) {
		struct ep_list *l = it.value;

		free(l->v);
		free(l);
	}
	sp_hmap_free(idx);
}

/* Map @name of @family as an index by dispatch key into *@out. */
static int index_backends(struct rb *c, const char *name, struct sp_hmap **out)
{
	struct index_ctx x = {c, sp_hmap_new()};
	int e;

	if (!x.idx)
		return -ENOMEM;
	if ((e = c->src->each(c->src, c->family, name, index_ep, &x))) {
		index_free(x.idx);
		return e;
	}
	*out = x.idx;
	return 0;
}

/* The list a dispatch element leads to: its backends, or its affinity chain's. */
static const struct ep_list *list_of(struct rb *c, const struct elem_view *v,
				     struct sp_hmap *backends, const struct aff_info **aff)
{
	static const struct ep_list none;
	char hk[128];

	*aff = NULL;
	if (!v->chain || v->klen > 60)
		return &none;
	if (!strncmp(v->chain, "affinity-", 9)) {
		*aff = sp_hmap_get(c->aff, v->chain);
		return *aff ? &(*aff)->eps : &none;
	}
	hexkey(v->key, v->klen, hk);
	return sp_hmap_get(backends, hk) ?: &none;
}

/* Endpoints behind a dispatch element into @p (the first address's list
 * stands for the port); with a callback, a Local external element's own list. */
static int endpoints_of(struct rb *c, struct sp_svc_port *p, const struct elem_view *v,
			struct sp_hmap *backends, bool local_external)
{
	const struct aff_info *a;
	const struct ep_list *l = list_of(c, v, backends, &a);

	if (local_external && c->external)
		c->external(c->external_ctx, p, l->v, l->n);
	if (p->n_eps || !v->chain)
		return 0;
	if (a) {
		p->affinity_client_ip = true;
		p->affinity_timeout = a->timeout;
	}
	if (!l->n)
		return 0;
	free(p->eps);
	if (!(p->eps = calloc(l->n + 1, sizeof(*p->eps))))
		return -ENOMEM;
	memcpy(p->eps, l->v, l->n * sizeof(*p->eps));
	p->n_eps = l->n;
	return 0;
}

static bool is_local(struct rb *c, const struct elem_view *v)
{
	char hk[128];

	if (v->klen > 60)
		return false;
	hexkey(v->key, v->klen, hk);
	return sp_hmap_get(c->local_vips, hk) != NULL;
}

/* The port dispatch element @v of @set ([address .] l4proto . port, with the
 * port's comment) names, its key into @k; NULL with *@err 0 when the element
 * is not one svcplane writes. */
static struct sp_svc_port *dispatch_port(struct rb *c, const struct elem_view *v,
					 enum nft_set_id set, struct nft_value *k, char *kind,
					 size_t ksz, int *err)
{
	const enum nft_field *fields = sp_nft_sets[set].key;
	uint32_t n = 0;

	*err = 0;
	while (n < 5 && fields[n])
		n++;
	if (!v->comment[0] || nft_fields_decode(fields, c->family, v->key, NULL, v->klen, k))
		return NULL;
	return port_for(c, v->comment, (uint8_t)k[n - 2].num, kind, ksz, err);
}

/* service-ips and no-endpoint-services. */
static int on_service_ip(void *ctx, const struct elem_view *v)
{
	struct rb *c = ctx;
	struct nft_value k[3];
	struct sp_svc_port *p;
	char kind[64];
	bool external;
	int e;

	/* ClusterIPs first: their endpoint list stands for the port. */
	external =
	    strstr(v->comment, " " NFT_COMMENT_EXTERNAL) || strstr(v->comment, " " NFT_COMMENT_LB);
	if (external != (c->pass == 1))
		return 0;
	if (!(p = dispatch_port(c, v, NS_SERVICE_IPS, k, kind, sizeof(kind), &e)))
		return e;
	p->port = (uint16_t)k[2].num;
	if (!strcmp(kind, NFT_COMMENT_EXTERNAL) || !strcmp(kind, NFT_COMMENT_LB)) {
		bool first = !p->external_ips.n && !p->lb_ips.n;

		if ((e = add_unique(!strcmp(kind, NFT_COMMENT_LB) ? &p->lb_ips : &p->external_ips,
				    &k[0].addr)))
			return e;
		if (is_local(c, v))
			p->etp = SP_POLICY_LOCAL;
		return endpoints_of(c, p, v, c->backends, first && p->etp == SP_POLICY_LOCAL);
	}
	if ((e = add_unique(&p->cluster_ips, &k[0].addr)))
		return e;
	return endpoints_of(c, p, v, c->backends, false);
}

/* service-nodeports and no-endpoint-nodeports. */
static int on_nodeport(void *ctx, const struct elem_view *v)
{
	struct rb *c = ctx;
	struct nft_value k[2];
	struct sp_svc_port *p;
	char kind[64];
	int e;

	if (!(p = dispatch_port(c, v, NS_SERVICE_NODEPORTS, k, kind, sizeof(kind), &e)))
		return e;
	p->node_port = (uint16_t)k[1].num;
	if (is_local(c, v))
		p->etp = SP_POLICY_LOCAL;
	/* (a port with external addresses reported its list from the first one) */
	return endpoints_of(c, p, v, c->np_backends,
			    p->etp == SP_POLICY_LOCAL && !p->external_ips.n && !p->lb_ips.n);
}

static int on_local(void *ctx, const struct elem_view *v)
{
	struct rb *c = ctx;
	char hk[128];

	if (v->klen > 60)
		return 0;
	hexkey(v->key, v->klen, hk);
	return sp_hmap_put(c->local_vips, hk, (void *)1, NULL) ? -ENOMEM : 0;
}

/* LoadBalancerSourceRanges: firewall-allow elements are VIP . proto . port .
 * source range. */
static int on_firewall(void *ctx, const struct elem_view *v)
{
	const enum nft_field *fields = sp_nft_sets[NS_FIREWALL_ALLOW].key;
	struct rb *c = ctx;
	struct sp_hmap_iter it = {0};
	struct nft_value k[4];
	int e;

	if (!v->key_end || nft_fields_decode(fields, c->family, v->key, v->key_end, v->klen, k))
		return 0;
	while (sp_hmap_next(c->m->ports, &it)) {
		struct sp_svc_port *p = it.value;

		if (p->family != sp_family(c->family) || p->port != k[2].num ||
		    p->protocol != k[1].num)
			continue;
		for (size_t i = 0; i < p->lb_ips.n; i++)
			if (!sp_addr_cmp(&p->lb_ips.v[i], &k[0].addr) &&
			    (e = add_unique(&p->lb_source_ranges, &k[3].addr)))
				return e;
	}
	return 0;
}

struct sp_hmap *nft_affinity_map_new(void)
{
	return sp_hmap_new();
}

void nft_affinity_map_free(struct sp_hmap *aff)
{
	struct sp_hmap_iter it = {0};

	while (aff && sp_hmap_next(aff, &it)) {
		struct aff_info *a = it.value;

		free(a->eps.v);
		free(a);
	}
	sp_hmap_free(aff);
}

int nft_affinity_record(struct sp_hmap *aff, const char *chain, const struct sp_endpoint *ep,
			const unsigned *timeout)
{
	struct aff_info *a = sp_hmap_get(aff, chain);

	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a || sp_hmap_put(aff, chain, a, NULL)) {
			free(a);
			return -ENOMEM;
		}
	}
	if (timeout)
		a->timeout = *timeout;
	return ep ? list_add(&a->eps, ep) : 0;
}

size_t nft_affinity_eps(const struct sp_hmap *aff, const char *chain,
			const struct sp_endpoint **eps)
{
	const struct aff_info *a = sp_hmap_get(aff, chain);

	*eps = a ? a->eps.v : NULL;
	return a ? a->eps.n : 0;
}

static int each(struct rb *c, enum nft_set_id set, elem_fn fn)
{
	return c->src->each(c->src, c->family, sp_nft_sets[set].name, fn, c);
}

static int read_family(const struct nft_src *src, int family, struct sp_model *out,
		       sp_external_list_fn ext, void *ext_ctx)
{
	struct rb c = {
	    .src = src, .family = family, .m = out, .external = ext, .external_ctx = ext_ctx};
	int e = -ENOMEM;

	c.local_vips = sp_hmap_new();
	c.aff = nft_affinity_map_new();
	if (!c.local_vips || !c.aff)
		goto out;
	if ((e = src->affinity(src, family, c.aff)) ||
	    (e = index_backends(&c, sp_nft_sets[NS_BACKENDS].name, &c.backends)) ||
	    (e = index_backends(&c, sp_nft_sets[NS_NP_BACKENDS].name, &c.np_backends)))
		goto out;
	if ((e = each(&c, NS_LOCAL_VIPS, on_local)) || (e = each(&c, NS_LOCAL_NODEPORTS, on_local)))
		goto out;
	/* no-endpoint-services has the same key and comment, no endpoints behind it. */
	for (c.pass = 0; c.pass < 2 && !e; c.pass++)
		if (!(e = each(&c, NS_SERVICE_IPS, on_service_ip)))
			e = each(&c, NS_NO_EP_SERVICES, on_service_ip);
	if (!e && !(e = each(&c, NS_SERVICE_NODEPORTS, on_nodeport)) &&
	    !(e = each(&c, NS_NO_EP_NODEPORTS, on_nodeport)))
		e = each(&c, NS_FIREWALL_ALLOW, on_firewall);
out:
	index_free(c.backends);
	index_free(c.np_backends);
	nft_affinity_map_free(c.aff);
	sp_hmap_free(c.local_vips);
	return e;
}

int nft_read_source(const struct nft_src *src, struct sp_model *out, const struct sp_log *lg,
		    sp_external_list_fn ext, void *ctx)
{
	struct sp_hmap_iter it = {0};
	int e = read_family(src, NFPROTO_IPV4, out, ext, ctx);

	if (!e)
		e = read_family(src, NFPROTO_IPV6, out, ext, ctx);
	if (e) {
		sp_log_err(lg, "nftables: reading the tables back: %s", strerror(-e));
		return e;
	}
	/* Endpoint order as the model keeps it. */
	while (sp_hmap_next(out->ports, &it))
		sp_svc_port_sort_eps(it.value);
	return 0;
}
