/* maps.h - the eBPF dataplane's maps: key and value layouts, shared by the
 * programs in bpf/ and the loader in dataplane/bpf/. Fixed-width types, byte
 * order in the field name (_be: network order), explicit padding: a struct
 * here is the same bytes on both sides. Bump SP_BPF_LAYOUT whenever a layout
 * or a map's meaning changes: a pinned map of another layout is replaced,
 * never misread. */
#ifndef SP_BPF_MAPS_H
#define SP_BPF_MAPS_H

#include <linux/types.h>

#define SP_BPF_LAYOUT 1

/* services: how a service address is looked up. */
enum sp_bpf_scope {
	SP_SCOPE_VIP = 0,	/* ClusterIP, external IP, load-balancer IP: exact address */
	SP_SCOPE_NODEPORT = 1,	/* any address of this node (address zero in the key) */
	SP_SCOPE_ANY_PORT = 2,	/* a ClusterIP whatever the port (port and proto zero):
				 * ports it does not serve are refused */
};

struct sp_svc_key {
	__u8 addr[16];		/* IPv4 in the first 4 bytes, the rest zero */
	__u16 port_be;
	__u8 proto;		/* IPPROTO_TCP, _UDP, _SCTP; 0 with SP_SCOPE_ANY_PORT */
	__u8 scope;		/* enum sp_bpf_scope */
	__u8 family;		/* 4 or 6 */
	__u8 pad[3];
};

enum sp_svc_flags {
	SP_SVC_AFFINITY = 1 << 0,	/* ClientIP affinity */
	/* What the address is, for read-back (the programs do not care). */
	SP_SVC_CLUSTER_IP = 1 << 1,
	SP_SVC_EXTERNAL_IP = 1 << 2,
	SP_SVC_LB_IP = 1 << 3,
	SP_SVC_NODEPORT = 1 << 4,
};

/* A service port has up to two endpoint lists, each a slot set of its own:
 * id = port id * 2 + list. */
enum sp_svc_list {
	SP_LIST_INTERNAL = 0,	/* ClusterIP traffic: internalTrafficPolicy's list */
	SP_LIST_EXTERNAL = 1,	/* NodePort, external and LB IPs dialled from this node */
};

struct sp_svc_val {
	__u32 id;		/* the model's service port id */
	__u32 rev;		/* the revision of its slots in use */
	__u16 count;		/* endpoints in slots 0..count-1; 0: refuse (ECONNREFUSED) */
	__u16 flags;		/* enum sp_svc_flags */
	__u32 affinity_timeout;	/* seconds */
};

/* slots: a service's endpoints, written under a new revision before the
 * service entry switches to it, so a reader never sees a half-written list. */
struct sp_slot_key {
	__u32 svc_id;
	__u16 rev;
	__u16 slot;
};

struct sp_slot_val {
	__u32 ep_id;		/* key of endpoints */
};

/* endpoints: shared by every service that lists the same address and port. */
struct sp_ep_val {
	__u8 addr[16];
	__u16 port_be;
	__u8 family;		/* 4 or 6 */
	__u8 pad;
};

/* affinity: the endpoint a client was sent to, per service. The client is its
 * network namespace (the netns cookie): at connect time a socket has often no
 * source address yet, and every pod is one namespace, as ClientIP means. */
struct sp_aff_key {
	__u64 netns_cookie;
	__u32 svc_id;
	__u32 pad;
};

struct sp_aff_val {
	__u32 ep_id;
	__u32 pad;
	__u64 last_ns;		/* bpf_ktime_get_ns of the last use */
};

/* aff_match: which endpoints belong to which service now (Cilium's
 * lb_affinity_match): an affinity entry for an endpoint that left is ignored. */
struct sp_aff_match_key {
	__u32 svc_id;
	__u32 ep_id;
};

/* reverse: per socket, the service address a rewritten peer stands for, so
 * getpeername and recvmsg show the address the application dialled. */
struct sp_rev_key {
	__u64 cookie;		/* bpf_get_socket_cookie */
	__u8 addr[16];		/* the endpoint's */
	__u16 port_be;
	__u8 family;
	__u8 pad[5];
};

struct sp_rev_val {
	__u8 addr[16];		/* the service's */
	__u16 port_be;
	__u8 pad[6];
};

/* node_addrs: this node's addresses, for NodePorts dialled from the node or a pod. */
struct sp_node_addr_key {
	__u8 addr[16];
	__u8 family;
	__u8 pad[3];
};

/* port_info: what each service port is, for svcplanectl and bpftool (the
 * programs never read it). */
enum sp_port_flags {
	SP_PORT_ETP_LOCAL = 1 << 0,
	SP_PORT_ITP_LOCAL = 1 << 1,
	SP_PORT_AFFINITY = 1 << 2,
};

struct sp_port_info {
	char service[128];	/* "ns/name" */
	char port_name[64];	/* "" for an unnamed port */
	__u16 port;		/* host order */
	__u16 node_port;	/* host order; 0: none */
	__u8 proto;
	__u8 family;		/* 4 or 6 */
	__u16 flags;		/* enum sp_port_flags */
	__u32 affinity_timeout;
};

/* gone (the UDP socket iterator's input): endpoints just removed. */
struct sp_gone_key {
	__u8 addr[16];
	__u16 port_be;
	__u8 family;
	__u8 pad;
};

/* meta: one entry, the layout of the maps pinned beside it. */
struct sp_meta_val {
	__u32 layout;		/* SP_BPF_LAYOUT */
	__u32 pad;
};

#endif
