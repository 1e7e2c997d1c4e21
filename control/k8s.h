/* k8s.h - the Kubernetes objects the proxy reads (Service, EndpointSlice, Node),
 * validated and reduced to the fields the proxy uses. */
#ifndef SP_CONTROL_K8S_H
#define SP_CONTROL_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/lists.h"
#include "model.h"

struct cJSON;

enum sp_svc_type { SP_SVC_CLUSTER_IP, SP_SVC_NODE_PORT, SP_SVC_LOAD_BALANCER, SP_SVC_EXTERNAL_NAME };


struct sp_service_port {
	char *name;		/* "" when the service has one unnamed port */
	uint8_t protocol;	/* IPPROTO_TCP, _UDP or _SCTP */
	uint16_t port;
	uint16_t node_port;	/* 0: none */
	uint16_t target_port;	/* 0 when target_name is set */
	char *target_name;	/* named targetPort, or NULL */
};

struct sp_service {
	char *ns, *name;
	char *key;			/* "ns/name" */
	char *resource_version;		/* "" when absent */
	enum sp_svc_type type;
	bool headless;			/* clusterIP: None */
	bool ignored;			/* service-proxy-name or headless label */
	struct sp_addr_list cluster_ips;	/* primary first, as clusterIPs */
	struct sp_addr_list external_ips;
	struct sp_addr_list lb_ips;		/* status.loadBalancer.ingress[].ip */
	struct sp_addr_list lb_source_ranges;
	bool affinity_client_ip;
	uint32_t affinity_timeout;	/* seconds */
	enum sp_policy etp, itp;
	uint16_t health_check_node_port;
	char *traffic_distribution;	/* NULL or "PreferClose", ... */
	struct sp_service_port *ports;
	size_t n_ports;
};

struct sp_slice_port {
	char *name;		/* "" when unnamed */
	uint8_t protocol;
	uint16_t port;		/* 0: the slice gave no port (kube-proxy skips it) */
};

struct sp_slice_endpoint {
	struct sp_addr addr;	/* addresses[0], the one kube-proxy uses */
	bool ready, serving, terminating;
	char *node_name;	/* NULL when absent */
	char *zone;
	struct sp_str_list for_zones;	/* hints */
	struct sp_str_list for_nodes;
};

struct sp_slice {
	char *ns, *name;
	char *key;		/* "ns/name" of the slice */
	char *service_key;	/* "ns/<kubernetes.io/service-name>" */
	char *resource_version;
	int family;		/* AF_INET or AF_INET6; 0 for FQDN (ignored) */
	double trigger_time;	/* last-change-trigger-time, Unix seconds; 0 if absent */
	struct sp_slice_port *ports;
	size_t n_ports;
	struct sp_slice_endpoint *endpoints;
	size_t n_endpoints;
};

struct sp_node {
	char *name;
	char *resource_version;
	char *zone;		/* topology.kubernetes.io/zone, or NULL */
	struct sp_addr_list internal_ips;
	bool deleting;		/* deletionTimestamp set, or the autoscaler's
				 * ToBeDeletedByClusterAutoscaler taint: /healthz fails */
};

/* Parse and validate one object of that kind. Returns 0 and a new object in *@out,
 * or -EINVAL with @err naming the field, or -ENOMEM. */
int sp_service_parse(const struct cJSON *obj, struct sp_service **out, struct sp_perr *err);
int sp_slice_parse(const struct cJSON *obj, struct sp_slice **out, struct sp_perr *err);
int sp_node_parse(const struct cJSON *obj, struct sp_node **out, struct sp_perr *err);

void sp_service_free(struct sp_service *s);
void sp_slice_free(struct sp_slice *s);
void sp_node_free(struct sp_node *n);


#endif
