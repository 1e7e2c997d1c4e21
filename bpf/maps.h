/* maps.h - the eBPF dataplane's maps: key and value layouts, shared by the
 * programs in bpf/ and the loader in dataplane/bpf/. Fixed-width types, byte
 * order in the field name (_be: network order), explicit padding: a struct
 * here is the same bytes on both sides. Bump SP_BPF_LAYOUT whenever a layout
 * or a map's meaning changes: a pinned map of another layout is replaced,
 * never misread. */
#ifndef SP_BPF_MAPS_H
#define SP_BPF_MAPS_H

#include <linux/types.h>

#define SP_BPF_LAYOUT 5

/* services: how a service address is looked up. */
enum sp_bpf_scope {
	SP_SCOPE_VIP = 0,	/* ClusterIP, external IP, load-balancer IP: exact address */
	SP_SCOPE_NODEPORT = 1,	/* any address of this node (address zero in the key) */
	SP_SCOPE_ANY_PORT = 2,	/* a ClusterIP whatever the port (port and proto zero):
				 * ports it does not serve are refused */
	/* externalTrafficPolicy Local, for traffic from outside the node (tc):
	 * the local endpoints only. Written beside the VIP / NODEPORT entry,
	 * which carries SP_SVC_ETP_LOCAL to send the tc programs here. */
	SP_SCOPE_VIP_LOCAL = 3,
	SP_SCOPE_NODEPORT_LOCAL = 4,
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
	SP_SVC_ETP_LOCAL = 1 << 5,	/* from outside: look up the _LOCAL scope entry */
	SP_SVC_DROP_EMPTY = 1 << 6,	/* no endpoint here but some elsewhere: drop
					 * (externalTrafficPolicy Local), not refuse */
	SP_SVC_SRC_RANGES = 1 << 7,	/* loadBalancerSourceRanges: sp_src_ranges decides */
	SP_SVC_MAGLEV = 1 << 8,		/* sp_maglev holds a table for this list */
	SP_SVC_UDP_MOVE = 1 << 9,	/* sp_aff_match lists the endpoints: a flow whose
					 * endpoint left moves (UDP) */
};

/* A service port has up to three endpoint lists, each a slot set of its own:
 * id = port id * SP_LIST_STRIDE + list. */
enum sp_svc_list {
	SP_LIST_INTERNAL = 0,	/* ClusterIP traffic: internalTrafficPolicy's list */
	SP_LIST_EXTERNAL = 1,	/* NodePort, external and LB IPs (from outside the
				 * node too, with externalTrafficPolicy Cluster) */
	SP_LIST_OUTSIDE_LOCAL = 2, /* the same from outside the node with
				    * externalTrafficPolicy Local: local endpoints */
	SP_LISTS = 3,
};
#define SP_LIST_STRIDE 4

struct sp_svc_val {
	__u32 id;		/* the model's service port id */
	__u32 rev;		/* the revision of its slots in use */
	__u16 count;		/* endpoints in slots 0..count-1; 0: refuse (ECONNREFUSED) */
	__u16 flags;		/* enum sp_svc_flags */
	__u32 affinity_timeout;	/* seconds */
	__u32 gen;		/* a hash of its endpoints (address, port), in order: the
				 * same list, the same gen, whatever the revision */
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
enum sp_ep_flags {
	SP_EP_LOCAL = 1 << 0,	/* on this node: reached from outside without SNAT */
};

struct sp_ep_val {
	__u8 addr[16];
	__u16 port_be;
	__u8 family;		/* 4 or 6 */
	__u8 flags;		/* enum sp_ep_flags */
};

/* affinity: the endpoint a client was sent to, per service. Inside the node
 * (socket hooks) the client is its network namespace (the netns cookie, addr
 * zero): at connect time a socket has often no source address yet, and every
 * pod is one namespace, as ClientIP means. From outside (tc) it is the
 * packet's source address (cookie zero). */
struct sp_aff_key {
	__u64 netns_cookie;
	__u8 addr[16];
	__u32 svc_id;
	__u8 family;
	__u8 pad[3];
};

struct sp_aff_val {
	__u32 ep_id;
	__u32 pad;
	__u64 last_ns;		/* of the last use: bpf_ktime_get_ns (socket hooks) or
				 * its coarse clock (tc programs), each key one kind */
};

/* aff_match: which endpoints belong to which service now (Cilium's
 * lb_affinity_match): an affinity entry for an endpoint that left is ignored. */
struct sp_aff_match_key {
	__u32 svc_id;
	__u32 ep_id;
};

/* sock_rev (socket-local storage, freed with its socket): the service
 * address a socket's rewritten peer stands for, so getpeername and recvmsg
 * show the address the application dialled. A socket that never dialled a
 * service has none, and its recvmsg costs one pointer test. A connected
 * socket has one peer; an unconnected UDP socket that sends to a second
 * service keeps the others in reverse (below) and says so in overflow.
 * Like a conntrack entry, it also keeps an unconnected socket's datagrams to
 * its first service on one endpoint until that service's endpoints change.
 * conn_rev holds the same value for a TCP socket that connected to a
 * service, keyed by its cookie (bpf_get_socket_cookie): a hash entry (one of
 * the map's preallocated elements, returned when the socket is released:
 * the sock_release hook) costs a connection less than socket storage,
 * which allocates and frees through RCU for every socket. Full: the socket
 * gets storage instead. */
struct sp_sock_rev_val {
	__u8 ep_addr[16];
	__u8 vip_addr[16];
	__u16 ep_port_be;
	__u16 vip_port_be;
	__u8 family;		/* 0: nothing remembered yet */
	__u8 overflow;		/* more peers in reverse */
	__u8 pad[2];
	__u32 svc_gen;		/* the service entry's gen when the endpoint was
				 * chosen: while it holds, the socket's next
				 * datagram goes to the same endpoint */
	__u32 epoch;		/* meta's epoch when svc_gen was last checked:
				 * while it holds, no service entry changed and
				 * the next datagram needs no service lookup */
};

/* reverse: per socket, the service address a rewritten peer stands for,
 * beyond the one sock_rev holds (an unconnected socket's other services). */
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

/* addrs: every address a service entry has (ClusterIPs, external IPs,
 * load-balancer IPs) and this node's (NodePorts), so that any other address
 * costs the programs one lookup. The value is enum sp_addr_flags. */
struct sp_addr_key {
	__u8 addr[16];
	__u8 family;
	__u8 pad[3];
};

enum sp_addr_flags {
	SP_ADDR_SERVICE = 1 << 0,	/* sp_services has entries for it */
	SP_ADDR_NODE = 1 << 1,		/* this node's: NodePorts */
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

/* --- tc (traffic from outside the node) ----------------------------------- */

/* ct: connection tracking of the flows the tc programs translate, one entry
 * per direction, keyed by the tuple as it is on the wire. The original
 * direction's entry rewrites client → service into (SNAT address or
 * client) → endpoint; the reply's rewrites endpoint → (SNAT address or
 * client) back into service → client. LRU: a full map evicts the oldest. */
struct sp_ct_key {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport_be;
	__u16 dport_be;
	__u8 proto;
	__u8 family;		/* 4 or 6 */
	__u8 pad[2];
};

enum sp_ct_flags {
	SP_CT_REPLY = 1 << 0,	/* the reply direction's entry */
	SP_CT_SNAT = 1 << 1,	/* the flow's source is translated too */
	SP_CT_FROM_POD = 1 << 2, /* opened by a local pod outside the socket hooks */
};

enum sp_ct_state {
	SP_CT_NEW = 0,		/* TCP: SYN seen, not yet answered */
	SP_CT_ESTABLISHED = 1,
	SP_CT_CLOSING = 2,	/* TCP: FIN or RST seen */
};

struct sp_ct_val {
	__u8 src[16];		/* the tuple the packet is rewritten to */
	__u8 dst[16];
	__u16 sport_be;
	__u16 dport_be;
	__u32 svc_id;		/* original direction: the slot set (re-checked for UDP) */
	__u32 ep_id;
	__u8 flags;		/* enum sp_ct_flags */
	__u8 state;		/* enum sp_ct_state */
	__u8 nh_kind;		/* enum sp_ct_nh: where the flow's packets go */
	__u8 pad;
	__u64 last_ns;		/* the coarse clock, refreshed at most once a second */
	/* The next hop the last route lookup gave (nh_kind set): the flow's
	 * packets go there with no lookup until last_ns is refreshed, when
	 * the route is looked up again. */
	__u32 nh_ifindex;
	__u8 nh_smac[6];
	__u8 nh_dmac[6];
};

enum sp_ct_nh {
	SP_CT_NH_NONE = 0,	/* not known yet: look the route up */
	SP_CT_NH_REDIRECT = 1,	/* out of device nh_ifindex */
	SP_CT_NH_PEER = 2,	/* into the namespace of veth nh_ifindex's peer */
};

/* Timeouts by protocol and state (seconds), as Cilium's defaults. */
#define SP_CT_TIMEOUT_TCP_NEW 60
#define SP_CT_TIMEOUT_TCP_ESTABLISHED 21600
#define SP_CT_TIMEOUT_TCP_CLOSING 10
#define SP_CT_TIMEOUT_OTHER 60

/* config: one entry, the node facts the tc programs need. */
enum sp_cfg_algorithm {		/* --bpf-lb-algorithm */
	SP_CFG_ALG_RANDOM = 0,
	SP_CFG_ALG_MAGLEV = 1,
};

struct sp_config_val {
	__u8 snat4[4];		/* this node's address for SNAT (the NodePort primary) */
	__u8 snat6[16];
	__u32 maglev_size;	/* entries of each Maglev table */
	__u8 algorithm;		/* enum sp_cfg_algorithm */
	__u8 pad[3];
	__u16 snat_port_min;	/* host order: the ports SNAT allocates */
	__u16 snat_port_max;
	__u32 snat_reuse_s;	/* a closed flow's SNAT port is taken after this
				 * (the node's conntrack TIME_WAIT timeout: an
				 * endpoint's TIME_WAIT socket must be gone) */
	/* --cluster-cidr, for svcplanectl (a pod's connection is balanced at
	 * its socket, never translated): the programs do not read it. */
	struct {
		__u8 addr[16];
		__u8 prefix_len;
		__u8 family;	/* 4 or 6; 0: unused */
		__u8 pad[2];
	} pod_cidrs[8];
};

/* pod_ifs: the local pods behind a bridge CNI's bridge (neighbour table and
 * forwarding database, refreshed by the agent every second or two): a packet
 * for one is handed to its veth's peer directly (bpf_redirect_peer), past the
 * bridge and the backlog queue, when its MAC is still the neighbour's. */
struct sp_pod_if_key {
	__u8 addr[16];
	__u8 family;		/* 4 or 6 */
	__u8 pad[3];
};

struct sp_pod_if_val {
	__u32 ifindex;		/* the host side of the pod's veth */
	__u8 mac[6];		/* the pod's */
	__u8 pad[2];
};

/* stats: per-CPU counters of what the tc programs did with a packet. */
enum sp_stat {
	SP_STAT_FLOWS,		/* new flows translated */
	SP_STAT_REJECT_NO_ENDPOINT,	/* answered with ICMP port unreachable */
	SP_STAT_DROP_NO_LOCAL_ENDPOINT,	/* externalTrafficPolicy Local */
	SP_STAT_DROP_SOURCE_RANGE,	/* loadBalancerSourceRanges */
	SP_STAT_DROP_SNAT_EXHAUSTED,	/* no free SNAT port */
	SP_STAT_DROP_CT_FULL,		/* a CT entry could not be written */
	SP_STAT_DROP_NO_ROUTE,		/* no route back after a rewrite */
	SP_STAT_DROP_UNSUPPORTED,	/* SCTP with a port translation */
	SP_STAT_DROP_INVALID,		/* TCP, no tracked flow, not a SYN */
	SP_STAT_COUNT
};

/* src_ranges: loadBalancerSourceRanges per service list (LPM: prefixlen
 * counts the 32 bits of svc_id plus the address bits). */
struct sp_src_range_key {
	__u32 prefixlen;
	__u32 svc_id;		/* big-endian in the trie: compared bit by bit */
	__u8 addr[16];
};

/* maglev: per slot set (external lists only), a Maglev table of endpoint
 * ids (control/maglev.c builds it; the slot is bpf/flow_hash.h's hash of the
 * client's address and port, so every node and every service address of the
 * port send a client's flow to one endpoint). An inner array per set,
 * replaced whole. */

/* meta: one entry, the layout of the maps pinned beside it, and an epoch
 * the agent bumps after every write of service entries (and at each load),
 * so a socket's remembered endpoint can be trusted without looking up its
 * service while the epoch is the same. */
struct sp_meta_val {
	__u32 layout;		/* SP_BPF_LAYOUT */
	__u32 maglev_size;	/* entries of sp_maglev's inner tables */
	__u32 epoch;		/* never 0 once loaded */
};

#endif
