/* model.c - builds svc_ports from the store: one per (service, port, family),
 * endpoints merged across the service's slices, each port's endpoint decision,
 * stable port ids, and the change list a sync hands the backend. */
#include "model.h"
#include "store.h"
#include "k8s.h"
#include "k8s_field.h"
#include "topology.h"
#include "../common/hmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int sp_model_init(struct sp_model *m)
{
	memset(m, 0, sizeof(*m));
	m->ports = sp_hmap_new();
	m->by_service = sp_hmap_new();
	if (!m->ports || !m->by_service) {
		sp_model_fini(m);
		return -ENOMEM;
	}
	return 0;
}

void sp_model_fini(struct sp_model *m)
{
	struct sp_hmap_iter it = {0};

	if (m->ports) {
		while (sp_hmap_next(m->ports, &it))
			sp_svc_port_free(it.value);
		sp_hmap_free(m->ports);
	}
	if (m->by_service) {
		memset(&it, 0, sizeof(it));
		while (sp_hmap_next(m->by_service, &it))
			sp_hmap_free(it.value);
		sp_hmap_free(m->by_service);
	}
	free(m->node.name);
	free(m->node.zone);
	sp_addr_list_fini(&m->node.ips);
	free(m->free_ids);
	memset(m, 0, sizeof(*m));
}

int sp_change_init(struct sp_change *c)
{
	memset(c, 0, sizeof(*c));
	c->index = sp_hmap_new();
	return c->index ? 0 : -ENOMEM;
}

static void change_clear(struct sp_change *c)
{
	struct sp_hmap_iter it = {0};

	for (size_t i = 0; i < c->n_owned; i++)
		sp_svc_port_free(c->owned[i]);
	c->n_owned = 0;
	c->n = 0;
	c->node_changed = false;
	while (c->index && sp_hmap_next(c->index, &it))
		sp_hmap_del(c->index, it.key);
}

void sp_change_fini(struct sp_change *c)
{
	change_clear(c);
	free(c->v);
	free(c->owned);
	sp_hmap_free(c->index);
	memset(c, 0, sizeof(*c));
}

/* Port @key (id @id) went from @old (detached from the model: @c owns it now;
 * or NULL) to @new (in the model, or NULL). */
static int note_change(struct sp_change *c, const char *key, uint32_t id, struct sp_svc_port *old,
		       const struct sp_svc_port *new)
{
	uintptr_t ix = (uintptr_t)sp_hmap_get(c->index, key);

	if (ix) {
		/* Changed again before a sync: the first old stays what the
		 * backend has; the port replaced now was never synced. (No
		 * allocation here: a merge cannot fail.) */
		c->v[ix - 1].new = new;
		sp_svc_port_free(old);
		return 0;
	}
	if (old && c->n_owned == c->cap_owned) {
		size_t cap = c->cap_owned ? c->cap_owned * 2 : 64;
		struct sp_svc_port **v = realloc(c->owned, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->owned = v;
		c->cap_owned = cap;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct sp_port_change *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	if (sp_hmap_put(c->index, key, (void *)(uintptr_t)(c->n + 1), NULL))
		return -ENOMEM;
	c->v[c->n++] = (struct sp_port_change){ .id = id, .old = old, .new = new };
	if (old)
		c->owned[c->n_owned++] = old;
	return 0;
}

static uint32_t take_id(struct sp_model *m)
{
	if (m->n_free_ids)
		return m->free_ids[--m->n_free_ids];
	return ++m->next_id;
}

void sp_model_commit(struct sp_model *m, struct sp_change *chg)
{
	size_t n_removed = 0;
	uint32_t *v;

	for (size_t i = 0; i < chg->n; i++)
		n_removed += !chg->v[i].new;
	v = n_removed ? realloc(m->free_ids, (m->n_free_ids + n_removed) * sizeof(*v)) : NULL;
	if (v) {
		m->free_ids = v;
		for (size_t i = 0; i < chg->n; i++)
			if (!chg->v[i].new)
				m->free_ids[m->n_free_ids++] = chg->v[i].id;
	}	/* (out of memory: those ids are simply not reused) */
	change_clear(chg);
}

bool sp_svc_port_external(const struct sp_svc_port *p)
{
	return p->node_port || p->external_ips.n || p->lb_ips.n;
}

bool sp_svc_port_uses_cluster(const struct sp_svc_port *p)
{
	return p->itp == SP_POLICY_CLUSTER ||
	       (sp_svc_port_external(p) && p->etp == SP_POLICY_CLUSTER);
}

bool sp_svc_port_uses_local(const struct sp_svc_port *p)
{
	return p->itp == SP_POLICY_LOCAL || (sp_svc_port_external(p) && p->etp == SP_POLICY_LOCAL);
}

int sp_svc_port_decide(struct sp_svc_port *p, const char *node, const char *zone)
{
	sp_topology_decide(p, node, zone);
	return 0;
}

int sp_svc_port_ep_sets(const struct sp_svc_port *p, struct sp_ep_sets *out)
{
	memset(out, 0, sizeof(*out));
	out->cluster = calloc(p->n_cluster + 1, sizeof(*out->cluster));
	out->local = calloc(p->n_local + 1, sizeof(*out->local));
	if (!out->cluster || !out->local) {
		sp_ep_sets_fini(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->n_eps; i++) {
		if (p->eps[i].for_cluster && out->n_cluster < p->n_cluster)
			out->cluster[out->n_cluster++] = &p->eps[i];
		if (p->eps[i].for_local && out->n_local < p->n_local)
			out->local[out->n_local++] = &p->eps[i];
	}
	out->has_any = p->has_any;
	return 0;
}

void sp_ep_sets_fini(struct sp_ep_sets *s)
{
	free(s->cluster);
	free(s->local);
	memset(s, 0, sizeof(*s));
}

void sp_endpoint_fini(struct sp_endpoint *ep)
{
	/* Node names and zones may be shared with earlier endpoints of the same
	 * port (see add_endpoint); sp_svc_port_free frees each string once. */
	free(ep->node_name);
	free(ep->zone);
	sp_str_list_fini(&ep->for_zones);
	sp_str_list_fini(&ep->for_nodes);
}

void sp_svc_port_free(struct sp_svc_port *p)
{
	if (!p)
		return;
	free(p->key);
	free(p->service);
	free(p->port_name);
	sp_addr_list_fini(&p->cluster_ips);
	sp_addr_list_fini(&p->external_ips);
	sp_addr_list_fini(&p->lb_ips);
	sp_addr_list_fini(&p->lb_source_ranges);
	free(p->traffic_distribution);
	for (size_t i = 0; i < p->n_eps; i++) {
		struct sp_endpoint *ep = &p->eps[i];

		for (size_t j = i + 1; j < p->n_eps; j++) {
			if (p->eps[j].node_name == ep->node_name)
				p->eps[j].node_name = NULL;
			if (p->eps[j].zone == ep->zone)
				p->eps[j].zone = NULL;
		}
		sp_endpoint_fini(ep);
	}
	free(p->eps);
	free(p);
}

struct sp_svc_port *sp_svc_port_new(const char *service, const char *port_name,
				    uint8_t protocol, int family)
{
	struct sp_svc_port *p = calloc(1, sizeof(*p));
	int n;

	if (!p)
		return NULL;
	p->protocol = protocol;
	p->family = family;
	p->service = strdup(service);
	p->port_name = strdup(port_name);
	n = snprintf(NULL, 0, "%s:%s/%s/%s", service, port_name, sp_proto_name(protocol),
		     sp_family_name(family));
	p->key = malloc((size_t)n + 1);
	if (!p->service || !p->port_name || !p->key) {
		sp_svc_port_free(p);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(p->key, (size_t)n + 1, "%s:%s/%s/%s", service, port_name,
		 sp_proto_name(protocol), sp_family_name(family));
	return p;
}

static int ep_cmp(const void *a, const void *b)
{
	const struct sp_endpoint *x = a, *y = b;
	int c = sp_addr_cmp(&x->addr, &y->addr);

	return c ? c : (int)x->port - (int)y->port;
}

void sp_svc_port_sort_eps(struct sp_svc_port *p)
{
	if (p->n_eps > 1)
		qsort(p->eps, p->n_eps, sizeof(*p->eps), ep_cmp);
}

int sp_model_add_port(struct sp_model *m, struct sp_svc_port *p)
{
	struct sp_hmap *set = sp_hmap_get(m->by_service, p->service);
	void *old;

	sp_svc_port_sort_eps(p);
	if (!set) {
		set = sp_hmap_new();
		if (!set || sp_hmap_put(m->by_service, p->service, set, NULL)) {
			sp_hmap_free(set);
			sp_svc_port_free(p);
			return -ENOMEM;
		}
	}
	if (sp_hmap_put(set, p->key, (void *)1, NULL) || sp_hmap_put(m->ports, p->key, p, &old)) {
		sp_hmap_del(set, p->key);
		sp_svc_port_free(p);
		return -ENOMEM;
	}
	sp_svc_port_free(old);
	return 0;
}

static int copy_family(struct sp_addr_list *dst, const struct sp_addr_list *src, int family)
{
	for (size_t i = 0; i < src->n; i++)
		if (src->v[i].family == family && sp_addr_list_add(dst, &src->v[i]))
			return -ENOMEM;
	return 0;
}

static int copy_strs(struct sp_str_list *dst, const struct sp_str_list *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (sp_str_list_add(dst, src->v[i]))
			return -ENOMEM;
	return 0;
}

/* Add @sep at @port unless the same address:port is already there (one pod
 * listed in two slices during a slice split); a ready copy wins. */
static int add_endpoint(struct sp_svc_port *p, const struct sp_slice_endpoint *sep,
			uint16_t port, const char *node_name)
{
	struct sp_endpoint *ep, *v;

	for (size_t i = 0; i < p->n_eps; i++) {
		ep = &p->eps[i];
		if (ep->port == port && !sp_addr_cmp(&ep->addr, &sep->addr)) {
			if (!ep->ready && sep->ready) {
				ep->ready = true;
				ep->serving = sep->serving;
				ep->terminating = sep->terminating;
			}
			return 0;
		}
	}
	v = realloc(p->eps, (p->n_eps + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->eps = v;
	ep = &v[p->n_eps++];
	memset(ep, 0, sizeof(*ep));
	ep->addr = sep->addr;
	ep->port = port;
	ep->ready = sep->ready;
	ep->serving = sep->serving;
	ep->terminating = sep->terminating;
	ep->local = node_name && sep->node_name && !strcmp(node_name, sep->node_name);
	/* Most endpoints of a port share a handful of node names and zones:
	 * share the strings (freed once by sp_svc_port_free). */
	for (size_t i = 0; i + 1 < p->n_eps; i++) {
		if (!ep->node_name && sep->node_name && p->eps[i].node_name &&
		    !strcmp(p->eps[i].node_name, sep->node_name))
			ep->node_name = p->eps[i].node_name;
		if (!ep->zone && sep->zone && p->eps[i].zone && !strcmp(p->eps[i].zone, sep->zone))
			ep->zone = p->eps[i].zone;
	}
	if ((sep->node_name && !ep->node_name && !(ep->node_name = strdup(sep->node_name))) ||
	    (sep->zone && !ep->zone && !(ep->zone = strdup(sep->zone))) ||
	    copy_strs(&ep->for_zones, &sep->for_zones) || copy_strs(&ep->for_nodes, &sep->for_nodes))
		return -ENOMEM;
	return 0;
}

static int add_slice_endpoints(struct sp_svc_port *p, const struct sp_slice *sl,
			       const char *node_name)
{
	uint16_t port = 0;

	if (sl->family != p->family)
		return 0;
	/* The EndpointSlice controller resolved targetPort; its port is named as the
	 * service port is (kube-proxy matches by name and protocol). */
	for (size_t i = 0; i < sl->n_ports; i++)
		if (!strcmp(sl->ports[i].name, p->port_name) &&
		    sl->ports[i].protocol == p->protocol && sl->ports[i].port)
			port = sl->ports[i].port;
	if (!port)
		return 0;
	for (size_t i = 0; i < sl->n_endpoints; i++)
		if (add_endpoint(p, &sl->endpoints[i], port, node_name))
			return -ENOMEM;
	return 0;
}

static int service_families(const struct sp_service *s, int fams[2])
{
	int n = 0;
	const struct sp_addr_list *lists[] = { &s->cluster_ips, &s->external_ips, &s->lb_ips };

	/* A service's families are its clusterIPs'; one without a ClusterIP (a
	 * manifest the API server never allocated) takes those of its other VIPs. */
	for (size_t l = 0; l < 3 && (l == 0 || n == 0); l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			if (n == 0 || (n == 1 && fams[0] != lists[l]->v[i].family))
				fams[n++] = lists[l]->v[i].family;
	if (n == 0)
		fams[n++] = AF_INET;
	return n;
}

static struct sp_svc_port *build_port(const struct sp_service *s, const struct sp_service_port *sp,
				      int family, const struct sp_slice **slices, size_t n_slices,
				      const char *node_name)
{
	struct sp_svc_port *p = sp_svc_port_new(s->key, sp->name, sp->protocol, family);

	if (!p)
		return NULL;
	p->port = sp->port;
	p->node_port = sp->node_port;
	p->affinity_client_ip = s->affinity_client_ip;
	p->affinity_timeout = s->affinity_timeout;
	p->etp = s->etp;
	p->itp = s->itp;
	p->health_check_node_port = s->health_check_node_port;
	if ((s->traffic_distribution && !(p->traffic_distribution = strdup(s->traffic_distribution))) ||
	    copy_family(&p->cluster_ips, &s->cluster_ips, family) ||
	    copy_family(&p->external_ips, &s->external_ips, family) ||
	    copy_family(&p->lb_ips, &s->lb_ips, family) ||
	    copy_family(&p->lb_source_ranges, &s->lb_source_ranges, family))
		goto err_free;
	for (size_t i = 0; i < n_slices; i++)
		if (add_slice_endpoints(p, slices[i], node_name))
			goto err_free;
	sp_svc_port_sort_eps(p);
	return p;

err_free:
	sp_svc_port_free(p);
	errno = ENOMEM;
	return NULL;
}

/* The ports @st gives service @key now, into @out (up to 2 families × its ports). */
static int build_service(const struct sp_model *m, const struct sp_store *st, const char *key,
			 struct sp_svc_port ***out, size_t *n)
{
	const struct sp_service *s = sp_store_service(st, key);
	const struct sp_slice **slices;
	size_t n_slices;
	int fams[2], nf;

	*out = NULL;
	*n = 0;
	if (!s || s->ignored || s->headless || s->type == SP_SVC_EXTERNAL_NAME)
		return 0;
	slices = sp_store_service_slices(st, key, &n_slices);
	*out = calloc(2 * s->n_ports + 1, sizeof(**out));
	if (!slices || !*out) {
		free(slices);
		return -ENOMEM;
	}
	nf = service_families(s, fams);
	for (int f = 0; f < nf; f++) {
		for (size_t i = 0; i < s->n_ports; i++) {
			struct sp_svc_port *p = build_port(s, &s->ports[i], fams[f], slices,
							   n_slices, st->node_name);

			if (!p) {
				free(slices);
				return -ENOMEM;
			}
			sp_topology_decide(p, m->node.name, m->node.zone);
			(*out)[(*n)++] = p;
		}
	}
	free(slices);
	return 0;
}

static bool port_same(const struct sp_svc_port *a, const struct sp_svc_port *b);

/* Put port @p (built for its service just now) in the model, unless an equal
 * one is there already. */
static int place_port(struct sp_model *m, struct sp_hmap *set, struct sp_svc_port *p,
		      struct sp_change *chg)
{
	struct sp_svc_port *old = sp_hmap_get(m->ports, p->key);
	int e;

	if (old && port_same(old, p)) {
		sp_svc_port_free(p);
		return sp_hmap_put(set, old->key, (void *)1, NULL);
	}
	if (old) {
		p->id = old->id;
	} else {
		/* Removed and added again before a sync: the same port to the
		 * backend, under the id it knows. */
		uintptr_t ix = (uintptr_t)sp_hmap_get(chg->index, p->key);

		p->id = ix ? chg->v[ix - 1].id : take_id(m);
	}
	if (sp_hmap_put(set, p->key, (void *)1, NULL) || sp_hmap_put(m->ports, p->key, p, NULL)) {
		sp_svc_port_free(p);
		return -ENOMEM;
	}
	if ((e = note_change(chg, p->key, p->id, old, p)))
		sp_svc_port_free(old);	/* the model holds @p in its place */
	return e;
}

/* Rebuild service @key's ports: new ones in, equal ones kept, gone ones out. */
static int update_service(struct sp_model *m, const struct sp_store *st, const char *key,
			  struct sp_change *chg)
{
	struct sp_hmap *old_set = sp_hmap_del(m->by_service, key), *set = sp_hmap_new();
	struct sp_svc_port **ports = NULL;
	struct sp_hmap_iter it = {0};
	size_t n = 0, i = 0;
	int e = set ? build_service(m, st, key, &ports, &n) : -ENOMEM;

	for (; !e && i < n; i++)
		e = place_port(m, set, ports[i], chg);
	for (; i < n; i++)
		sp_svc_port_free(ports[i]);
	free(ports);
	/* Ports of the old set that the new one lacks are removed. */
	while (old_set && sp_hmap_next(old_set, &it)) {
		struct sp_svc_port *old;

		if (set && sp_hmap_get(set, it.key))
			continue;
		old = sp_hmap_del(m->ports, it.key);
		if (old && note_change(chg, old->key, old->id, old, NULL)) {
			sp_svc_port_free(old);
			e = -ENOMEM;
		}
	}
	sp_hmap_free(old_set);
	/* The set names every port of the service in m->ports, also after an
	 * error, so that the caller's full rebuild finds them. */
	if (set && sp_hmap_len(set)) {
		if (!sp_hmap_put(m->by_service, key, set, NULL))
			return e;
		e = -ENOMEM;
	}
	sp_hmap_free(set);
	return e;
}
static int set_str(char **dst, const char *src)
{
	char *c = src ? strdup(src) : NULL;

	if (src && !c)
		return -ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

static bool str0_equal(const char *a, const char *b);
static bool addrs_equal(const struct sp_addr_list *a, const struct sp_addr_list *b);

/* The node's name, zone and InternalIPs from the store; @chg notes a change. */
static int update_node(struct sp_model *m, const struct sp_store *st, struct sp_change *chg)
{
	const char *zone = st->node ? st->node->zone : NULL;
	struct sp_addr_list ips = {0};

	if (st->node)
		for (size_t i = 0; i < st->node->internal_ips.n; i++)
			if (sp_addr_list_add(&ips, &st->node->internal_ips.v[i])) {
				sp_addr_list_fini(&ips);
				return -ENOMEM;
			}
	if (str0_equal(m->node.name, st->node_name) && str0_equal(m->node.zone, zone) &&
	    addrs_equal(&m->node.ips, &ips)) {
		sp_addr_list_fini(&ips);
		return 0;
	}
	if (set_str(&m->node.name, st->node_name) || set_str(&m->node.zone, zone)) {
		sp_addr_list_fini(&ips);
		return -ENOMEM;
	}
	sp_addr_list_fini(&m->node.ips);
	m->node.ips = ips;
	chg->node_changed = true;
	return 0;
}

int sp_model_update(struct sp_model *m, const struct sp_store *st, const struct sp_hmap *dirty,
		    struct sp_change *chg)
{
	struct sp_hmap_iter it = {0};
	int e;

	if ((e = update_node(m, st, chg)))
		return e;
	while (dirty && sp_hmap_next(dirty, &it))
		if ((e = update_service(m, st, it.key, chg)))
			return e;
	m->generation = st->generation;
	return 0;
}

int sp_model_build(struct sp_model *m, struct sp_store *st)
{
	struct sp_change chg;
	struct sp_hmap *dirty;
	int e;

	if ((e = sp_change_init(&chg)))
		return e;
	dirty = sp_store_mark_all(st) ? NULL : sp_store_take_dirty(st);
	e = dirty ? sp_model_update(m, st, dirty, &chg) : -ENOMEM;
	sp_model_commit(m, &chg);
	sp_change_fini(&chg);
	sp_hmap_free(dirty);
	return e;
}

static int cmp_port_ptr(const void *a, const void *b)
{
	const struct sp_svc_port *x = *(const struct sp_svc_port *const *)a;
	const struct sp_svc_port *y = *(const struct sp_svc_port *const *)b;

	return strcmp(x->key, y->key);
}

const struct sp_svc_port **sp_model_sorted_ports(const struct sp_model *m, size_t *n)
{
	const struct sp_svc_port **v = malloc((sp_hmap_len(m->ports) + 1) * sizeof(*v));
	struct sp_hmap_iter it = {0};
	size_t i = 0;

	if (!v)
		return NULL;
	while (sp_hmap_next(m->ports, &it))
		v[i++] = it.value;
	qsort(v, i, sizeof(*v), cmp_port_ptr);
	*n = i;
	return v;
}

static bool addrs_equal(const struct sp_addr_list *a, const struct sp_addr_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (sp_addr_cmp(&a->v[i], &b->v[i]))
			return false;
	return true;
}

static bool strs_equal(const struct sp_str_list *a, const struct sp_str_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

static bool str0_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool ep_equal(const struct sp_endpoint *a, const struct sp_endpoint *b)
{
	return !sp_addr_cmp(&a->addr, &b->addr) && a->port == b->port && a->ready == b->ready &&
	       a->serving == b->serving && a->terminating == b->terminating &&
	       a->local == b->local && str0_equal(a->node_name, b->node_name) &&
	       str0_equal(a->zone, b->zone) && strs_equal(&a->for_zones, &b->for_zones) &&
	       strs_equal(&a->for_nodes, &b->for_nodes);
}

const char *sp_svc_port_diff(const struct sp_svc_port *a, const struct sp_svc_port *b)
{
	if (a->port != b->port || a->node_port != b->node_port)
		return "port or nodePort";
	if (!addrs_equal(&a->cluster_ips, &b->cluster_ips))
		return "clusterIPs";
	if (!addrs_equal(&a->external_ips, &b->external_ips))
		return "externalIPs";
	if (!addrs_equal(&a->lb_ips, &b->lb_ips))
		return "loadBalancerIPs";
	if (!addrs_equal(&a->lb_source_ranges, &b->lb_source_ranges))
		return "loadBalancerSourceRanges";
	if (a->affinity_client_ip != b->affinity_client_ip ||
	    (a->affinity_client_ip && a->affinity_timeout != b->affinity_timeout))
		return "sessionAffinity";
	if (a->etp != b->etp || a->itp != b->itp)
		return "traffic policy";
	if (a->health_check_node_port != b->health_check_node_port)
		return "healthCheckNodePort";
	if (!str0_equal(a->traffic_distribution, b->traffic_distribution))
		return "trafficDistribution";
	if (a->n_eps != b->n_eps)
		return "endpoint count";
	for (size_t i = 0; i < a->n_eps; i++)
		if (!ep_equal(&a->eps[i], &b->eps[i]))
			return "endpoints";
	return NULL;
}

/* Equal as a backend sees it: fields, endpoints and the decision. */
static bool port_same(const struct sp_svc_port *a, const struct sp_svc_port *b)
{
	if (sp_svc_port_diff(a, b) || a->n_cluster != b->n_cluster || a->n_local != b->n_local ||
	    a->has_any != b->has_any || a->cluster_choice != b->cluster_choice ||
	    a->local_choice != b->local_choice)
		return false;
	for (size_t i = 0; i < a->n_eps; i++)
		if (a->eps[i].for_cluster != b->eps[i].for_cluster ||
		    a->eps[i].for_local != b->eps[i].for_local)
			return false;
	return true;
}

bool sp_model_equal(const struct sp_model *a, const struct sp_model *b, char *why, size_t why_sz)
{
	size_t na, nb;
	const struct sp_svc_port **pa = sp_model_sorted_ports(a, &na);
	const struct sp_svc_port **pb = sp_model_sorted_ports(b, &nb);
	bool eq = pa && pb;

	if (why && why_sz)
		why[0] = '\0';
	for (size_t i = 0, j = 0; eq && (i < na || j < nb);) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(pa[i]->key, pb[j]->key);
		const char *d;

		if (c) {
			if (why)
				snprintf(why, why_sz, "%s only in the %s model",
					 c < 0 ? pa[i]->key : pb[j]->key, c < 0 ? "first" : "second");
			eq = false;
		} else if ((d = sp_svc_port_diff(pa[i], pb[j]))) {
			if (why)
				snprintf(why, why_sz, "%s: %s differ", pa[i]->key, d);
			eq = false;
		}
		i++;
		j++;
	}
	free(pa);
	free(pb);
	return eq;
}
