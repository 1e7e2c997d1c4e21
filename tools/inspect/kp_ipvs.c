/* kp_ipvs.c - kube-proxy's IPVS mode, from `ipvsadm -Ln` or `ipvsadm-save -n`
 * (alone, or after the iptables-save of the same node, which in IPVS mode
 * names no service): each virtual server with its scheduler, persistence and
 * real servers' weights. IPVS keeps no service names, so a virtual server is
 * listed as "ipvs/ADDRESS", port PORT. */
#include "inspect.h"
#include "../../common/hmap.h"
#include "../../control/k8s_field.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 16

/* "10.96.0.1:443" or "[fd00::1]:53" → address and port. */
static int addr_port(const char *s, struct sp_addr *a, uint16_t *port)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long p;

	if (!colon || colon - s >= (long)sizeof(host))
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	p = strtoul(colon + 1, &end, 10);
	if (*end || p < 1 || p > 65535 || sp_addr_parse(host, a))
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

static int split(char *s, char **w, int max)
{
	int n = 0;

	for (char *t = strtok(s, " \t\r"); t && n < max; t = strtok(NULL, " \t\r"))
		w[n++] = t;
	return n;
}

/* The port of virtual server @vip (made on first use). */
static struct sp_svc_port *virtual_server(struct sp_inspect *in, const char *vip, uint8_t proto)
{
	char svc[96], pname[8], key[160];
	struct sp_addr a;
	uint16_t port;
	struct sp_svc_port *p;

	if (addr_port(vip, &a, &port))
		return NULL;
	snprintf(svc, sizeof(svc), "ipvs/%s", vip);
	svc[strlen(svc) - strlen(strrchr(vip, ':'))] = '\0';
	snprintf(pname, sizeof(pname), "%u", port);
	snprintf(key, sizeof(key), "%s:%s/%s/%s", svc, pname, sp_proto_name(proto),
		 sp_family_name(a.family));
	if ((p = sp_hmap_get(in->m.ports, key)))
		return p;
	p = sp_svc_port_new(svc, pname, proto, a.family);
	if (!p || sp_model_add_port(&in->m, p))
		return NULL;
	p = sp_hmap_get(in->m.ports, key);
	if (p) {
		p->port = port;
		sp_inspect_add_addr(&p->cluster_ips, &a);
	}
	return p;
}

static int add_real(struct sp_svc_port *p, const char *rip, double weight)
{
	struct sp_endpoint ep = { .ready = true, .serving = true, .weight = weight }, *v;

	if (addr_port(rip, &ep.addr, &ep.port))
		return -EINVAL;
	v = realloc(p->eps, (p->n_eps + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->eps = v;
	p->eps[p->n_eps++] = ep;
	return 0;
}

static uint8_t proto_of(const char *w)
{
	return !strcmp(w, "TCP") || !strcmp(w, "-t") ? IPPROTO_TCP
	       : !strcmp(w, "UDP") || !strcmp(w, "-u") ? IPPROTO_UDP
	       : !strcmp(w, "SCTP") || !strcmp(w, "--sctp-service") ? IPPROTO_SCTP
							: 0;
}

/* One line: a virtual server ("TCP  VIP:PORT rr [persistent N]", "-A -t
 * VIP:PORT -s rr [-p N]") or a real server ("-> RIP:PORT Masq W ...", "-a -t
 * VIP:PORT -r RIP:PORT -m -w W"). Other lines are not IPVS state. */
static int ipvs_line(struct sp_inspect *in, char **w, int n, struct sp_svc_port **cur, unsigned no,
		     char *err, size_t errsz)
{
	struct sp_inspect_port *x;
	uint8_t proto;

	if (n >= 3 && (proto = proto_of(w[0])) && strchr(w[1], ':')) {
		if (!(*cur = virtual_server(in, w[1], proto)))
			goto bad;
		if ((x = sp_inspect_port_extra(in, (*cur)->key)))
			snprintf(x->scheduler, sizeof(x->scheduler), "%s", w[2]);
		for (int i = 3; i + 1 < n; i++)
			if (!strcmp(w[i], "persistent")) {
				(*cur)->affinity_client_ip = true;
				(*cur)->affinity_timeout = (uint32_t)strtoul(w[i + 1], NULL, 10);
			}
		return 1;
	}
	if (n >= 4 && !strcmp(w[0], "->") && strchr(w[1], ':') && *cur)
		return add_real(*cur, w[1], strtod(w[3], NULL)) ? -1 : 1;
	if (n >= 3 && (!strcmp(w[0], "-A") || !strcmp(w[0], "-a")) && (proto = proto_of(w[1]))) {
		struct sp_svc_port *p = virtual_server(in, w[2], proto);
		const char *rip = NULL, *weight = "1";

		if (!p)
			goto bad;
		x = sp_inspect_port_extra(in, p->key);
		for (int i = 3; i + 1 < n; i++) {
			if (!strcmp(w[i], "-s") && x)
				snprintf(x->scheduler, sizeof(x->scheduler), "%s", w[i + 1]);
			else if (!strcmp(w[i], "-p"))
				p->affinity_client_ip = true, p->affinity_timeout =
					(uint32_t)strtoul(w[i + 1], NULL, 10);
			else if (!strcmp(w[i], "-r"))
				rip = w[i + 1];
			else if (!strcmp(w[i], "-w"))
				weight = w[i + 1];
		}
		if (w[0][1] == 'a' && (!rip || add_real(p, rip, strtod(weight, NULL))))
			goto bad;
		return 1;
	}
	return 0;
bad:
	snprintf(err, errsz, "line %u: \"%.40s\": expected VIRTUAL-ADDRESS:PORT (and -r REAL:PORT)",
		 no, w[n > 2 ? 2 : 1]);
	return -1;
}

/* Weights → shares of new connections (what rr, wrr and the hashing
 * schedulers give over time). */
static void shares(struct sp_inspect *in)
{
	struct sp_hmap_iter it = {0};

	while (sp_hmap_next(in->m.ports, &it)) {
		struct sp_svc_port *p = it.value;
		double sum = 0;

		for (size_t i = 0; i < p->n_eps; i++)
			sum += p->eps[i].weight;
		for (size_t i = 0; i < p->n_eps; i++) {
			p->eps[i].ready = p->eps[i].weight > 0;
			p->eps[i].weight = sum > 0 ? p->eps[i].weight / sum : 0;
		}
		if (p->n_eps && sum <= 0)
			sp_inspect_port_finding(in, p, ": every real server has weight 0: new "
					       "connections are refused");
		sp_svc_port_sort_eps(p);
	}
}

int sp_inspect_ipvs(char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	struct sp_svc_port *cur = NULL;
	char *line = buf, *next, *w[MAX_WORDS];
	unsigned no = 0, read = 0, other = 0;

	in->format = "ipvsadm (kube-proxy IPVS mode)";
	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		snprintf(err, errsz, "binary data: not ipvsadm output");
		return -EINVAL;
	}
	for (; line && *line; line = next) {
		int n, r;

		no++;
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		n = split(line, w, MAX_WORDS);
		if (!n)
			continue;
		if ((r = ipvs_line(in, w, n, &cur, no, err, errsz)) < 0)
			return -EINVAL;
		read += (unsigned)r;
		other += !r && w[0][0] != '#';
	}
	if (!read) {
		snprintf(err, errsz, "line 1: expected `ipvsadm -Ln` or `ipvsadm-save -n` lines; found none");
		return -EINVAL;
	}
	if (other)
		sp_inspect_note(in, "%u line(s) that are not IPVS state skipped (headers, "
			       "the node's iptables-save: in IPVS mode it names no service)", other);
	sp_inspect_note(in, "IPVS keeps no service names: each virtual server is listed as "
		       "ipvs/ADDRESS, port PORT (NodePorts are the node addresses' virtual servers)");
	shares(in);
	return 0;
}
