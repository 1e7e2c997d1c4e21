/* inspect_print.c - the inspection as operators read it: each port's block of
 * the model table plus what the dump says beyond the model (the Local list,
 * masquerade, the IPVS scheduler), then findings and notes. A port with no
 * endpoint line says what explain says for it: both come from explain.c. */
#include "explain.h"
#include "../model_print.h"
#include "../../common/hmap.h"

#include <stdlib.h>
#include <string.h>

/* What a port without endpoints does to new connections, as explain answers
 * for its first address (a ClusterIP, else an external one or the NodePort). */
static const char *no_endpoints(const struct sp_inspect *in, const struct sp_svc_port *p)
{
	enum sp_explain_via via = p->cluster_ips.n    ? SP_VIA_CLUSTER_IP
				  : p->external_ips.n ? SP_VIA_EXTERNAL_IP
				  : p->lb_ips.n	      ? SP_VIA_LB_IP
						      : SP_VIA_NODE_PORT;
	struct sp_addr outside = { .family = p->family };	/* no pod's address */
	struct sp_explain ex;

	if (sp_explain(in, p, via, &outside, &ex))
		return NULL;
	sp_explain_fini(&ex);
	if (ex.verdict == SP_VERDICT_UNKNOWN)
		return "none read: the endpoint chains it names are not in the dump (see findings)";
	if (ex.verdict == SP_VERDICT_DNAT && !p->cluster_ips.n)
		return "none for cluster traffic in the dump (external traffic: local eps below)";
	if (ex.verdict != SP_VERDICT_DROP)
		return NULL;
	return p->cluster_ips.n ? "none (connections are rejected)"
				: "none in the dump; external traffic to this node is dropped "
				  "(Local policy, no endpoint here)";
}

static void extras(FILE *f, const struct sp_svc_port *p, const struct sp_inspect_port *x)
{
	char a[SP_ADDRSTRLEN];

	if (!x)
		return;
	if (x->has_external) {
		fprintf(f, "    %-13s", "local eps");
		if (!x->n_external)
			fprintf(f, " none on this node: external traffic is dropped");
		for (size_t i = 0; i < x->n_external; i++)
			fprintf(f, " %s%s%s:%u", x->external[i].addr.family == AF_INET6 ? "[" : "",
				sp_addr_str(&x->external[i].addr, a),
				x->external[i].addr.family == AF_INET6 ? "]" : "", x->external[i].port);
		fputc('\n', f);
	}
	if (x->masq_internal || x->masq_external) {
		fprintf(f, "    %-13s internal=%s", "masquerade", x->masq_internal ? "yes" : "no");
		for (int i = 0; x->masq_internal && i < x->nkeep; i++)
			fprintf(f, "%s%s", i ? "," : " (not from ", sp_cidr_str(&x->keep_src[i], a));
		fprintf(f, "%s", x->nkeep && x->masq_internal ? ")" : "");
		if (p->node_port || p->external_ips.n || p->lb_ips.n)
			fprintf(f, " external=%s", x->masq_external ? "yes" : "no");
		fputc('\n', f);
	}
	if (x->scheduler[0])
		fprintf(f, "    %-13s %s\n", "scheduler", x->scheduler);
}

void sp_inspect_print(FILE *f, const struct sp_inspect *in)
{
	size_t n;
	const struct sp_svc_port **v = sp_model_sorted_ports(&in->m, &n);

	fprintf(f, "# %s%s\n", in->format ? in->format : "", in->partial ? " (partial dump)" : "");
	for (size_t i = 0; v && i < n; i++) {
		sp_model_print_port(f, v[i], no_endpoints(in, v[i]));
		extras(f, v[i], sp_hmap_get(in->extra, v[i]->key));
	}
	free(v);
	fprintf(f, "\nfindings (%zu):\n", in->nfindings);
	for (size_t i = 0; i < in->nfindings; i++)
		fprintf(f, "  - %s\n", in->findings[i]);
	if (in->nnotes)
		fprintf(f, "\nnotes (%zu):\n", in->nnotes);
	for (size_t i = 0; i < in->nnotes; i++)
		fprintf(f, "  - %s\n", in->notes[i]);
}
