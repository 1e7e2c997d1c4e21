/* explain.h - one packet's path through an inspection (a dump read, or
 * svcplane's live state): the port it matches, then verdict, candidates and
 * masquerade, from the facts inspect prints. */
#ifndef SP_TOOLS_INSPECT_EXPLAIN_H
#define SP_TOOLS_INSPECT_EXPLAIN_H

#include "inspect.h"

enum sp_explain_via {
	SP_VIA_NONE,		/* no service has the address and port */
	SP_VIA_CLUSTER_IP,
	SP_VIA_EXTERNAL_IP,
	SP_VIA_LB_IP,
	SP_VIA_NODE_PORT,
};

enum sp_verdict {
	SP_VERDICT_DNAT,	/* to one of eps */
	SP_VERDICT_REJECT,	/* no endpoints at all */
	SP_VERDICT_DROP,	/* Local policy, no endpoint on this node */
	SP_VERDICT_UNKNOWN,	/* its endpoint chains are not in the dump */
};

struct sp_explain {
	const struct sp_svc_port *port;
	enum sp_explain_via via;
	bool pod_src;			/* from the cluster CIDR: short-circuited */
	enum sp_verdict verdict;
	struct sp_inspect_ep *eps;	/* candidates (owned), with their shares */
	double *share;
	size_t n_eps;
	bool masq;
	const char *why;		/* the drop/reject reason, or the masquerade line */
};

/* The port @dst:@port/@proto reaches (service addresses before NodePorts),
 * and how in *@via; NULL (and SP_VIA_NONE) when none. */
const struct sp_svc_port *sp_explain_match(const struct sp_inspect *in, const struct sp_addr *dst,
					   uint8_t proto, uint16_t port, enum sp_explain_via *via);
/* What happens to a new connection from @src reaching @p via @via. Returns
 * 0 or -ENOMEM; sp_explain_fini() frees what @out holds. */
int sp_explain(const struct sp_inspect *in, const struct sp_svc_port *p, enum sp_explain_via via,
	       const struct sp_addr *src, struct sp_explain *out);
void sp_explain_fini(struct sp_explain *e);
const char *sp_explain_via_name(enum sp_explain_via via);

#endif
