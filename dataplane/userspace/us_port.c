/* us_port.c - the forwarder's service-port table: a sync turns each changed
 * port of the model into endpoint pools and listeners (addresses added to
 * svcplane0 before their sockets bind, pruned after), and a removed port's
 * listeners close. A port is switched between two events of the agent's one
 * loop, so no connection ever sees it half-updated. */
#include "us_port.h"
#include "us_addrs.h"
#include "us_fwd.h"
#include "../../common/hmap.h"
#include "../../common/log.h"
#include "../backend.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A listener a port wants: address, port, which pool, on svcplane0 or not. */
struct lspec {
	struct sp_addr addr;
	uint16_t port;
	bool external, vip, lb;
};

int us_ports_init(struct us_ports *t, struct us_fwd *fwd, const struct sp_log *lg)
{
	memset(t, 0, sizeof(*t));
	t->fwd = fwd;
	t->log = lg;
	if (!(t->svcs = sp_hmap_new()) || !(t->lis = sp_hmap_new())) {
		sp_hmap_free(t->svcs);
		t->svcs = NULL;
		return -ENOMEM;
	}
	return 0;
}

void us_ports_fini(struct us_ports *t)
{
	if (t->svcs) {
		struct sp_hmap_iter it = {0};

		while (sp_hmap_next(t->svcs, &it))
			us_port_remove(t, it.key); /* deletes the current key only */
		sp_hmap_free(t->svcs);
	}
	sp_hmap_free(t->lis);
	t->svcs = t->lis = NULL;
}

void us_lis_name(const struct sp_addr *a, uint16_t port, uint8_t proto, char *buf, size_t sz)
{
	char ip[SP_ADDRSTRLEN];

	sp_addr_str(a, ip);
	snprintf(buf, sz, a->family == AF_INET6 ? "[%s]:%u/%s" : "%s:%u/%s", ip, port,
		 sp_proto_name(proto));
}

static int add_spec(struct lspec **v, size_t *n, const struct sp_addr *a, uint16_t port,
		    bool external, bool vip, bool lb)
{
	struct lspec *nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] =
	    (struct lspec){.addr = *a, .port = port, .external = external, .vip = vip, .lb = lb};
	nv[*n].addr.prefix_len = (uint8_t)sp_addr_bits(a->family);
	(*n)++;
	return 0;
}

/* The listeners @p wants: ClusterIPs (internal list), external and LB IPs
 * and NodePorts on the node addresses (external list). */
static int port_specs(const struct us_ports *t, const struct sp_svc_port *p, struct lspec **v,
		      size_t *n)
{
	const struct sp_node_addrs *na = &t->node[p->family == AF_INET6];
	int e = 0;

	*v = NULL;
	*n = 0;
	for (size_t i = 0; !e && i < p->cluster_ips.n; i++)
		e = add_spec(v, n, &p->cluster_ips.v[i], p->port, false, true, false);
	for (size_t i = 0; !e && i < p->external_ips.n; i++)
		e = add_spec(v, n, &p->external_ips.v[i], p->port, true, true, false);
	for (size_t i = 0; !e && i < p->lb_ips.n; i++)
		e = add_spec(v, n, &p->lb_ips.v[i], p->port, true, true, true);
	for (int i = 0; !e && p->node_port && i < na->n; i++)
		e = add_spec(v, n, &na->v[i], p->node_port, true, false, false);
	return e;
}

static int set_pool(struct us_pool *pool, const struct sp_endpoint *const *eps, size_t n,
		    bool least_conns, enum sp_ep_choice choice)
{
	struct us_ep *v = calloc(n + 1, sizeof(*v));
	int e;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i].addr = eps[i]->addr;
		v[i].addr.prefix_len = (uint8_t)sp_addr_bits(v[i].addr.family);
		v[i].port = eps[i]->port;
	}
	pool->least_conns = least_conns;
	pool->choice = (int)choice;
	e = us_pool_set(pool, v, n);
	free(v);
	return e;
}

/* @s's pools from the model's decision: ClusterIP traffic the internal
 * policy's list, external traffic the external policy's, and with
 * externalTrafficPolicy Local the cluster list for the node's own pods and
 * processes (kube-proxy short-circuits their traffic the same way). */
static int set_pools(const struct us_ports *t, struct us_svc *s, const struct sp_svc_port *p)
{
	struct sp_ep_sets sets;
	bool lc = t->least_conns;
	int e;

	if ((e = sp_svc_port_ep_sets(p, &sets)))
		return e;
	s->ext_local = p->etp == SP_POLICY_LOCAL;
	e = set_pool(&s->internal, p->itp == SP_POLICY_LOCAL ? sets.local : sets.cluster,
		     p->itp == SP_POLICY_LOCAL ? sets.n_local : sets.n_cluster, lc,
		     p->itp == SP_POLICY_LOCAL ? p->local_choice : p->cluster_choice);
	if (!e)
		e = set_pool(&s->external, s->ext_local ? sets.local : sets.cluster,
			     s->ext_local ? sets.n_local : sets.n_cluster, lc,
			     s->ext_local ? p->local_choice : p->cluster_choice);
	if (!e)
		e = set_pool(&s->shortcut, sets.cluster, s->ext_local ? sets.n_cluster : 0, lc,
			     p->cluster_choice);
	sp_ep_sets_fini(&sets);
	return e;
}

/* loadBalancerSourceRanges, for the LB IP listeners. */
static int set_ranges(struct us_svc *s, const struct sp_svc_port *p)
{
	struct sp_addr *v = NULL;
	size_t n = p->lb_source_ranges.n;

	if (n && !(v = malloc(n * sizeof(*v))))
		return -ENOMEM;
	if (n)
		memcpy(v, p->lb_source_ranges.v, n * sizeof(*v));
	free(s->ranges);
	s->ranges = v;
	s->nranges = n;
	return 0;
}

static int set_affinity(struct us_svc *s, const struct sp_svc_port *p)
{
	if (!p->affinity_client_ip) {
		us_affinity_free(s->aff);
		s->aff = NULL;
		return 0;
	}
	if (!s->aff && !(s->aff = us_affinity_new(p->affinity_timeout)))
		return -ENOMEM;
	us_affinity_set_timeout(s->aff, p->affinity_timeout);
	return 0;
}

static void drop_lis(struct us_ports *t, struct us_svc *s, size_t i)
{
	struct us_lis *l = s->lis[i];

	sp_hmap_del(t->lis, l->name);
	us_lis_free(l);
	s->lis[i] = s->lis[--s->nlis];
}

void us_port_remove(struct us_ports *t, const char *key)
{
	struct us_svc *s = sp_hmap_del(t->svcs, key);

	if (!s)
		return;
	while (s->nlis)
		drop_lis(t, s, s->nlis - 1);
	us_svc_put(s); /* connections still open keep it */
}

static bool spec_has(const struct lspec *v, size_t n, const struct us_lis *l)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].port == l->port && v[i].external == l->external && v[i].lb == l->lb &&
		    !sp_addr_cmp(&v[i].addr, &l->addr))
			return true;
	return false;
}

static struct us_svc *svc_get(struct us_ports *t, const struct sp_svc_port *p)
{
	struct us_svc *s = sp_hmap_get(t->svcs, p->key);

	if (s)
		return s;
	if (!(s = calloc(1, sizeof(*s))) || !(s->key = strdup(p->key))) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->proto = p->protocol;
	s->family = p->family;
	s->refs = 1;
	if (sp_hmap_put(t->svcs, p->key, s, NULL)) {
		us_svc_put(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

/* A listener for @sp of @s, unless one of that name exists (another port's
 * address and port: logged, not served twice). Returns 0 or -ENOMEM. */
static int lis_add(struct us_ports *t, struct us_svc *s, const struct lspec *sp)
{
	char name[80];
	struct us_lis *l, **v;

	us_lis_name(&sp->addr, sp->port, s->proto, name, sizeof(name));
	if ((l = sp_hmap_get(t->lis, name))) {
		if (l->svc != s)
			sp_log_warn(t->log, "userspace: %s is %s's already: not served for %s",
				    name, l->svc->key, s->key);
		return 0;
	}
	if (!(l = calloc(1, sizeof(*l))) || !(v = realloc(s->lis, (s->nlis + 1) * sizeof(*v)))) {
		free(l);
		return -ENOMEM;
	}
	s->lis = v;
	*l = (struct us_lis){.fwd = t->fwd,
			     .svc = s,
			     .external = sp->external,
			     .id = ++t->fwd->next_lis_id,
			     .addr = sp->addr,
			     .port = sp->port,
			     .proto = s->proto,
			     .fd = -1,
			     .vip = sp->vip,
			     .lb = sp->lb};
	snprintf(l->name, sizeof(l->name), "%s", name);
	if (sp_hmap_put(t->lis, name, l, NULL)) {
		free(l);
		return -ENOMEM;
	}
	s->lis[s->nlis++] = l;
	return 0;
}

/* Make @s's listeners exactly @spec's (addresses first: a socket binds only
 * to a local address). */
static int set_listeners(struct us_ports *t, struct us_svc *s, const struct lspec *spec, size_t n)
{
	struct sp_addr *vips = calloc(n + 1, sizeof(*vips));
	size_t nvips = 0;
	int e;

	if (!vips)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (spec[i].vip)
			vips[nvips++] = spec[i].addr;
	e = us_link_add(t->link, vips, nvips);
	free(vips);
	if (e)
		return e;
	for (size_t i = s->nlis; i-- > 0;)
		if (!spec_has(spec, n, s->lis[i]))
			drop_lis(t, s, i);
	for (size_t i = 0; i < n; i++)
		if ((e = lis_add(t, s, &spec[i])))
			return e;
	return 0;
}

int us_port_apply(struct us_ports *t, const struct sp_svc_port *p)
{
	struct lspec *spec = NULL;
	struct us_svc *s;
	size_t nspec = 0;
	int e;

	if (p->protocol == IPPROTO_SCTP && !t->sctp) {
		us_port_remove(t, p->key); /* no SCTP sockets here (logged at start) */
		return 0;
	}
	if (!(s = svc_get(t, p)))
		return -errno;
	if ((e = set_pools(t, s, p)) || (e = set_affinity(s, p)) || (e = set_ranges(s, p)))
		return e;
	if ((e = port_specs(t, p, &spec, &nspec)))
		goto out;
	if ((e = set_listeners(t, s, spec, nspec)))
		goto out;
	/* Bound while it has endpoints to offer: with none the kernel refuses. */
	for (size_t i = 0; i < s->nlis; i++)
		us_lis_update(s->lis[i]);
	if (s->proto == IPPROTO_UDP)
		us_udp_repoint(t->fwd, s);
out:
	free(spec);
	return e;
}

int us_ports_prune_addrs(struct us_ports *t)
{
	struct sp_hmap_iter it = {0};
	struct sp_addr *keep = calloc(sp_hmap_len(t->lis) + 1, sizeof(*keep));
	size_t n = 0;
	int e;

	if (!keep)
		return -ENOMEM;
	while (sp_hmap_next(t->lis, &it)) {
		const struct us_lis *l = it.value;

		if (l->vip)
			keep[n++] = l->addr;
	}
	e = us_link_prune(t->link, keep, n);
	free(keep);
	return e;
}
