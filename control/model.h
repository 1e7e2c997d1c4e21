/* model.h - the desired (or read-back) state every backend consumes: one
 * struct sp_svc_port per (service, port, IP family), with its endpoints and
 * the decision which of them serve this node's traffic (made here, in control/,
 * once per update: no backend or tool re-derives it), the node's facts, and
 * the change list a sync hands a backend. */
#ifndef SP_CONTROL_MODEL_H
#define SP_CONTROL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/lists.h"

struct cJSON;
struct sp_hmap;
struct sp_store;

/* Where a parse failed: a field path such as "spec.ports[1].port" and why. */
struct sp_perr {
	char field[192];
	char msg[256];
};

enum sp_policy { SP_POLICY_CLUSTER, SP_POLICY_LOCAL };

/* Which rule of the decision chose a port's list (explain says it). */
enum sp_ep_choice {
	SP_CHOICE_READY,	/* the ready endpoints */
	SP_CHOICE_NODE_HINTS,	/* the ready ones hinted for this node (topology hints) */
	SP_CHOICE_ZONE_HINTS,	/* the ready ones hinted for this node's zone */
	SP_CHOICE_TERMINATING,	/* none ready: the serving-and-terminating ones (fallback) */
};

struct sp_endpoint {
	struct sp_addr addr;
	uint16_t port;
	bool ready, serving, terminating;
	bool local;			/* on this node (nodeName == hostname) */
	/* The decision (sp_svc_port_decide): this endpoint receives this node's
	 * Cluster-policy traffic / its Local-policy traffic. */
	bool for_cluster, for_local;
	double weight;			/* share of new connections when read from a rule
					 * dump (svcplanectl inspect); 0: even share */
	char *node_name;		/* NULL when unknown */
	char *zone;
	struct sp_str_list for_zones;	/* topology hints */
	struct sp_str_list for_nodes;
};

struct sp_svc_port {
	uint32_t id;		/* stable while the port exists, reused only after its
				 * removal was synced; 0 on ports not from sp_model_update */
	char *key;		/* "ns/name:portName/PROTO/IPvN": unique, stable, sorts by service */
	char *service;		/* "ns/name" */
	char *port_name;	/* "" for an unnamed port */
	uint8_t protocol;	/* IPPROTO_TCP, _UDP, _SCTP */
	int family;		/* AF_INET or AF_INET6 */
	uint16_t port;
	uint16_t node_port;	/* 0: none */
	struct sp_addr_list cluster_ips;	/* of this family only */
	struct sp_addr_list external_ips;
	struct sp_addr_list lb_ips;
	struct sp_addr_list lb_source_ranges;
	bool affinity_client_ip;
	uint32_t affinity_timeout;	/* seconds */
	enum sp_policy etp, itp;
	uint16_t health_check_node_port;
	char *traffic_distribution;	/* NULL or "PreferClose", ... */
	struct sp_endpoint *eps;
	size_t n_eps;
	/* The decision: how many endpoints are for_cluster / for_local, and
	 * whether any endpoint is usable anywhere in the cluster (else traffic is
	 * rejected rather than dropped). */
	uint32_t n_cluster, n_local;
	bool has_any;
	enum sp_ep_choice cluster_choice, local_choice;	/* the rule behind each list */
};

/* What a backend knows of the node it runs on. */
struct sp_node_facts {
	char *name;			/* NULL when not known */
	char *zone;			/* topology.kubernetes.io/zone, for hints */
	struct sp_addr_list ips;	/* the Node's InternalIPs when the source knows
					 * them; empty: use the default-route interface's */
};

struct sp_model {
	struct sp_hmap *ports;		/* key → struct sp_svc_port * */
	struct sp_hmap *by_service;	/* service → struct sp_hmap * set of port keys */
	struct sp_node_facts node;
	uint64_t generation;		/* store generation this model reflects */
	uint32_t next_id;		/* ids: never handed out yet from here */
	uint32_t *free_ids;		/* ids whose removal was synced, for reuse */
	size_t n_free_ids;
};

/* One port that changed: added (old NULL), removed (new NULL) or changed. */
struct sp_port_change {
	uint32_t id;
	const struct sp_svc_port *old;	/* as the backend last had it */
	const struct sp_svc_port *new;	/* in the model now */
};

/* What changed since the backend's last successful sync, by port. Updates
 * merge into it until sp_model_commit: a port changed twice is one entry from
 * its first old to its last new; removed and added again is one change under
 * its id; added then removed leaves an entry with both NULL (nothing to do). */
struct sp_change {
	struct sp_port_change *v;
	size_t n, cap;
	struct sp_hmap *index;		/* port key → entry index + 1 */
	struct sp_svc_port **owned;	/* old ports detached from the model */
	size_t n_owned, cap_owned;
	bool node_changed;		/* node facts differ from the last sync's */
};

int sp_model_init(struct sp_model *m);
void sp_model_fini(struct sp_model *m);

int sp_change_init(struct sp_change *c);
void sp_change_fini(struct sp_change *c);

/* Recompute the ports of every service named in @dirty from @st (removing
 * those of services that are gone, ignored, headless or ExternalName), decide
 * their endpoints for this node, refresh the node facts, and record every
 * port that differs in @chg. A port equal to its old self is kept as it is.
 * Returns 0 or -ENOMEM (the model is then partly updated; the caller
 * schedules a full rebuild). */
int sp_model_update(struct sp_model *m, const struct sp_store *st, const struct sp_hmap *dirty,
		    struct sp_change *chg);

/* Every service of @st into @m (empty), keeping no change list: for tools
 * and tests (takes @st's dirty set). Returns 0 or -ENOMEM. */
int sp_model_build(struct sp_model *m, struct sp_store *st);

/* The backend applied @chg: free the old ports, make removed ids reusable,
 * and empty @chg for the next changes. */
void sp_model_commit(struct sp_model *m, struct sp_change *chg);

/* Make the decision for @p on node @node (zone @zone; either may be NULL):
 * readiness, the serving-and-terminating fallback, topology hints, traffic
 * policies. sp_model_update does it for its ports; readers of dumps call it
 * for theirs. Returns 0 or -ENOMEM. */
int sp_svc_port_decide(struct sp_svc_port *p, const char *node, const char *zone);

/* True when the port is reachable from outside the cluster (a NodePort,
 * external IP or load-balancer IP), so that externalTrafficPolicy applies. */
bool sp_svc_port_external(const struct sp_svc_port *p);
/* Whether Cluster / Local endpoint lists are used at all by this port. */
bool sp_svc_port_uses_cluster(const struct sp_svc_port *p);
bool sp_svc_port_uses_local(const struct sp_svc_port *p);

/* The decided endpoints of @p as arrays of borrowed pointers into @p->eps. */
struct sp_ep_sets {
	const struct sp_endpoint **cluster;	/* for Cluster policy traffic */
	size_t n_cluster;
	const struct sp_endpoint **local;	/* for Local policy traffic */
	size_t n_local;
	bool has_any;
};
/* Fill @out from @p's decision. Returns 0 or -ENOMEM; free with sp_ep_sets_fini. */
int sp_svc_port_ep_sets(const struct sp_svc_port *p, struct sp_ep_sets *out);
void sp_ep_sets_fini(struct sp_ep_sets *s);

/* Insert a port built elsewhere (read-back, foreign dumps); the model takes
 * ownership, replacing any port with the same key. Returns 0 or -ENOMEM. */
int sp_model_add_port(struct sp_model *m, struct sp_svc_port *p);

/* Ports in key order, in a new array of borrowed pointers (free the array only).
 * NULL + errno on failure. */
const struct sp_svc_port **sp_model_sorted_ports(const struct sp_model *m, size_t *n);

/* Allocate an empty port with its key built from the other fields. */
struct sp_svc_port *sp_svc_port_new(const char *service, const char *port_name,
				    uint8_t protocol, int family);
void sp_svc_port_free(struct sp_svc_port *p);
/* Put @p's endpoints in model order (address, then port). */
void sp_svc_port_sort_eps(struct sp_svc_port *p);
void sp_endpoint_fini(struct sp_endpoint *ep);

/* What first differs between @a and @b ("endpoints", "clusterIPs", …), or
 * NULL when they are equal (endpoint order and the decision ignored). */
const char *sp_svc_port_diff(const struct sp_svc_port *a, const struct sp_svc_port *b);

/* True when both models hold the same ports with the same fields and endpoints
 * (endpoint order ignored). When they differ and @why is not NULL, a short text
 * naming the first difference is written there. */
bool sp_model_equal(const struct sp_model *a, const struct sp_model *b, char *why, size_t why_sz);

/* The model's one JSON form (docs/architecture.md), both ways (model_json.c). */
/* {"servicePorts": [...]} in key order. NULL + errno on failure. */
struct cJSON *sp_model_to_json(const struct sp_model *m);
/* Same, printed (pretty when @pretty). Caller frees. NULL + errno on failure. */
char *sp_model_to_text(const struct sp_model *m, bool pretty);
/* Fill @m (initialised, normally empty) from that JSON form. Returns 0, -ENOMEM,
 * or -EINVAL with @err naming the field ("servicePorts[3].endpoints[0].ip"). */
int sp_model_from_json(struct sp_model *m, const struct cJSON *root, struct sp_perr *err);

#endif
