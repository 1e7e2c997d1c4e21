/* model.c - builds svc_ports from the store: one per (service, port, family),
 * endpoints merged across the service's slices. */
#include "model.h"
#include "store.h"
#include "k8s_field.h"
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
	free(m->node_name);
	free(m->node_zone);
	memset(m, 0, sizeof(*m));
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

static void remove_service(struct sp_model *m, const char *svc)
{
	struct sp_hmap *set = sp_hmap_del(m->by_service, svc);
	struct sp_hmap_iter it = {0};

	if (!set)
		return;
	while (sp_hmap_next(set, &it))
		sp_svc_port_free(sp_hmap_del(m->ports, it.key));
	sp_hmap_free(set);
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
	return p;

err_free:
	sp_svc_port_free(p);
	errno = ENOMEM;
	return NULL;
}

static int build_service(struct sp_model *m, const struct sp_store *st, const char *key)
{
	const struct sp_service *s = sp_store_service(st, key);
	const struct sp_slice **slices;
	size_t n_slices;
	int fams[2], nf, e = 0;

	if (!s || s->ignored || s->headless || s->type == SP_SVC_EXTERNAL_NAME)
		return 0;
	slices = sp_store_service_slices(st, key, &n_slices);
	if (!slices)
		return -ENOMEM;
	nf = service_families(s, fams);
	for (int f = 0; f < nf && !e; f++) {
		for (size_t i = 0; i < s->n_ports && !e; i++) {
			struct sp_svc_port *p = build_port(s, &s->ports[i], fams[f], slices,
							   n_slices, st->node_name);

			e = p ? sp_model_add_port(m, p) : -ENOMEM;
		}
	}
	free(slices);
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

int sp_model_update(struct sp_model *m, const struct sp_store *st, const struct sp_hmap *dirty)
{
	struct sp_hmap_iter it = {0};
	int e;

	if ((e = set_str(&m->node_name, st->node_name)) ||
	    (e = set_str(&m->node_zone, st->node ? st->node->zone : NULL)))
		return e;
	while (dirty && sp_hmap_next(dirty, &it)) {
		remove_service(m, it.key);
		if ((e = build_service(m, st, it.key)))
			return e;
	}
	m->generation = st->generation;
	return 0;
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

static const char *port_diff(const struct sp_svc_port *a, const struct sp_svc_port *b)
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
		} else if ((d = port_diff(pa[i], pb[j]))) {
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
