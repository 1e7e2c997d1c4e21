/* model.h - the desired (or read-back) state every backend consumes: one
 * struct sp_svc_port per (service, port, IP family), with its endpoints. */
#ifndef SP_CONTROL_MODEL_H
#define SP_CONTROL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s.h"

struct sp_hmap;
struct sp_store;

struct sp_endpoint {
	struct sp_addr addr;
	uint16_t port;
	bool ready, serving, terminating;
	bool local;			/* on this node (nodeName == hostname) */
	double weight;			/* share of new connections when read from a rule
					 * dump (svcplanectl inspect); 0: even share */
	char *node_name;		/* NULL when unknown */
	char *zone;
	struct sp_str_list for_zones;	/* topology hints */
	struct sp_str_list for_nodes;
};

struct sp_svc_port {
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
};

struct sp_model {
	struct sp_hmap *ports;		/* key → struct sp_svc_port * */
	struct sp_hmap *by_service;	/* service → struct sp_hmap * set of port keys */
	char *node_name;		/* NULL when not known */
	char *node_zone;		/* this node's zone label, for topology hints */
	uint64_t generation;		/* store generation this model reflects */
};

/* What changed since the last sync: the services whose ports must be rewritten
 * (ports of a removed service are gone from the model), or everything. */
struct sp_dirty {
	struct sp_hmap *services;	/* "ns/name" → unused; NULL means none */
	bool full;
};

int sp_model_init(struct sp_model *m);
void sp_model_fini(struct sp_model *m);

/* Recompute the ports of every service named in @dirty from @st (removing
 * those of services that are gone, ignored, headless or ExternalName). Also
 * refreshes the node name and zone. Returns 0 or -ENOMEM (the model is then
 * partly updated; the caller schedules a full rebuild). */
int sp_model_update(struct sp_model *m, const struct sp_store *st, const struct sp_hmap *dirty);

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

/* True when both models hold the same ports with the same fields and endpoints
 * (endpoint order ignored). When they differ and @why is not NULL, a short text
 * naming the first difference is written there. */
bool sp_model_equal(const struct sp_model *a, const struct sp_model *b, char *why, size_t why_sz);

#endif
