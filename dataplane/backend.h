/* backend.h - the one interface every dataplane implements (nftables, bpf,
 * userspace, dry-run), for the agent and for svcplanectl alike, and the table
 * that finds one by --mode name or by the state it left on this node.
 *
 * Life of a backend in the agent: open(SP_OPEN_AGENT) → sync (full first,
 * then partial) … → close. In svcplanectl: open(SP_OPEN_READ) → present →
 * read_back / read_masq / dispatch → close, or open(SP_OPEN_READ) →
 * load_dump → read_back … for a saved dump of the backend's own state. */
#ifndef SP_DATAPLANE_BACKEND_H
#define SP_DATAPLANE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/lb_algorithm.h"
#include "../common/lists.h"
#include "../common/log.h"
#include "../control/model.h"

struct sp_backend;

/* The agent's event loop as a backend sees it (listeners, connections, a
 * ring buffer, timers). Callbacks run on the agent's one thread. */
typedef void (*sp_loop_fd_fn)(void *ctx, int fd, uint32_t events);
typedef void (*sp_loop_timer_fn)(void *ctx);
struct sp_loop_hooks {
	void *loop;
	/* Watch @fd for @events (EPOLLIN, EPOLLOUT, …). Returns 0 or -errno. */
	int (*add_fd)(void *loop, int fd, uint32_t events, sp_loop_fd_fn fn, void *ctx);
	int (*mod_fd)(void *loop, int fd, uint32_t events);
	void (*del_fd)(void *loop, int fd);
	/* Call @fn once, @after seconds from now. Returns a timer id (> 0), or 0
	 * when out of memory. */
	uint64_t (*add_timer)(void *loop, double after, sp_loop_timer_fn fn, void *ctx);
	void (*cancel_timer)(void *loop, uint64_t id);
};

/* What a backend is told of the node and the operator's choices: nothing
 * else of the agent's settings reaches a dataplane. */
struct sp_backend_cfg {
	const char *node_name;
	bool nodeport_primary;		/* --nodeport-addresses primary */
	struct sp_cidrs nodeport_cidrs;	/* otherwise these */
	struct sp_cidrs cluster_cidrs;	/* --cluster-cidr */
	bool masquerade_all;
	const char *bpf_pin_path;	/* bpf mode */
	const char *cgroup_path;	/* bpf mode */
	uint32_t bpf_lb_map_max;	/* bpf mode: service and endpoint map entries */
	uint32_t bpf_ct_max;		/* bpf mode: connection-tracking entries (0: default) */
	enum sp_lb_algorithm bpf_lb_algorithm;	/* bpf mode: traffic from outside the node */
	uint32_t bpf_maglev_table_size;	/* bpf mode: slots of each Maglev table, a prime */
	bool us_least_conns;		/* userspace mode: least connections, not round robin */
	const struct sp_log *log;
	const struct sp_loop_hooks *loop;	/* NULL when opened read-only */
};

enum sp_open_mode {
	SP_OPEN_AGENT,	 /* the agent: loads, attaches, changes, registers with the loop;
			  * a backend that cannot work here fails its open */
	SP_OPEN_READ,	 /* svcplanectl: reads only, attaches and changes nothing */
	SP_OPEN_CLEANUP, /* --cleanup: removes state, loads and attaches nothing */
};

struct sp_health {
	bool ok;
	char detail[256];	/* why not, when !ok; when ok, what is not served (or "") */
};

/* With Local policy, a port's external traffic may have a list of its own
 * (its local endpoints): read_back hands it over per port; @eps is valid
 * during the call only. */
typedef void (*sp_external_list_fn)(void *ctx, const struct sp_svc_port *p,
				    const struct sp_endpoint *eps, size_t n);

/* One gauge a backend exports on /metrics, e.g. svcplane_bpf_map_entries
 * {map="sp_services"} 12. Strings are the backend's, valid until its next call. */
struct sp_gauge {
	const char *name;
	const char *help;
	const char *label;	/* NULL: no label */
	const char *label_value;
	double value;
};

/* One endpoint of a relaying backend's explain answer. */
struct sp_relay_ep {
	struct sp_addr addr;
	uint16_t port;
	uint32_t active;	/* TCP, SCTP: connections open to it through this list
				 * now; UDP: flows */
	bool next;		/* this client's next new connection goes here */
	struct sp_addr src;	/* the source it sees (the node's address toward it);
				 * family 0: not known */
};

/* What a relaying backend does with a new connection or flow. */
enum sp_relay_verdict {
	SP_RELAY_RELAYED,	  /* accepted, relayed to one of the list */
	SP_RELAY_NO_ENDPOINTS,	  /* the listener has no socket while its list is empty:
				   * the kernel refuses (TCP reset, ICMP port unreachable) */
	SP_RELAY_NONE_FOR_CLIENT, /* listening for the node's own clients, but this
				   * client's list is empty (Local policy, from outside):
				   * reset, a datagram dropped */
	SP_RELAY_SOURCE_RANGES,	  /* not in loadBalancerSourceRanges: reset, dropped */
	SP_RELAY_BIND_FAILED,	  /* endpoints, but the socket could not bind */
	SP_RELAY_NO_LISTENER,	  /* no listener of that address and port here */
};

/* Which of a service port's lists a client draws from. */
enum sp_relay_list {
	SP_RELAY_INTERNAL, /* ClusterIP traffic: internalTrafficPolicy's list */
	SP_RELAY_EXTERNAL, /* NodePort, external and LB IPs: externalTrafficPolicy's */
	SP_RELAY_SHORTCUT, /* the same with Local policy, from the node's own pods and
			    * processes: the cluster list (kube-proxy's short-circuit) */
};

#define SP_RELAY_MAX_NODE_ADDRS 8

/* How a relaying backend (the userspace forwarder) serves one new
 * connection, as the process serving it says now (explain_relay). */
struct sp_relay_answer {
	enum sp_relay_verdict verdict;
	int pid;			/* the agent that answered */
	char listener[80];		/* "198.19.128.90:80/TCP"; "" with SP_RELAY_NO_LISTENER */
	char service_port[256];		/* the model's port key */
	bool on_link;			/* its address is on the forwarder's link (else a
					 * node address: a NodePort) */
	char link[16];			/* that link's name */
	char bind_err[64];		/* SP_RELAY_BIND_FAILED: why */
	struct sp_addr node_addrs[SP_RELAY_MAX_NODE_ADDRS]; /* where NodePorts of the
							      * family listen */
	int n_node_addrs;
	enum sp_relay_list list;
	enum sp_ep_choice choice;	/* the model's rule behind that list */
	bool least_conns;		/* else round robin */
	uint32_t affinity_timeout;	/* seconds; 0: no ClientIP affinity */
	bool has_affinity;		/* this client has a live affinity entry: */
	struct sp_relay_ep affinity_ep;
	double affinity_left;		/* seconds it has left */
	struct sp_relay_ep *eps;	/* the list, in balancing order (owned) */
	size_t n_eps;
	size_t n_total;			/* endpoints in the list (> n_eps: cut short) */
};

/* Free what @a holds (its endpoint list). */
void sp_relay_answer_fini(struct sp_relay_answer *a);

/* read_masq, project, dispatch, explain_outside, explain_relay, load_dump and
 * gauges may be NULL: that backend has no such thing (the dry-run printer
 * has no tables to read). */
struct sp_backend_ops {
	const char *name;
	/* What its state on a node is, for operators ("tables ip/ip6 svcplane");
	 * NULL for a backend that leaves none (dry-run). */
	const char *state;
	/* Set up private state in be->priv. SP_OPEN_AGENT touches nothing in the
	 * kernel that a failed start would have to undo; SP_OPEN_READ never
	 * changes anything. Returns 0 or -errno (the caller logs it). */
	int (*open)(struct sp_backend *be, const struct sp_backend_cfg *cfg, enum sp_open_mode mode);
	/* Is state of this backend present here? 1 yes, 0 no, -errno when that
	 * cannot be told (EPERM without the privilege to look). */
	int (*present)(struct sp_backend *be);
	/* Make the dataplane match @m. @chg lists the ports added, changed (old
	 * and new) and removed since the last successful sync (an entry with
	 * both NULL is nothing to do); on a @full sync the backend makes its
	 * whole state match @m, whatever @chg says. Atomicity, per backend:
	 * nftables commits one transaction for both families per sync, so on
	 * error the previous state stays in force; a map- or socket-based
	 * backend applies a port at a time and never exposes a half-written
	 * port: on error some ports are new, the rest old, and the caller's
	 * next sync is full. */
	int (*sync)(struct sp_backend *be, const struct sp_model *m, const struct sp_change *chg,
		    bool full);
	/* What is programmed now, back into @out (initialised, empty): -errno on
	 * any failure, never an empty model in its place. @ext, when not NULL,
	 * gets each port's external list (above). */
	int (*read_back)(struct sp_backend *be, struct sp_model *out, sp_external_list_fn ext,
			 void *ctx);
	/* Masquerading of service traffic from inside in @family: whether any
	 * (*@masq) and the source prefixes exempt from it (up to @max into
	 * @keep). Returns the number of prefixes, or -errno. */
	int (*read_masq)(struct sp_backend *be, int family, struct sp_addr *keep, int max,
			 bool *masq);
	/* @in as this backend programs it for this node, into @out: what
	 * read_back gives once @in is synced (svcplanectl diff). */
	int (*project)(struct sp_backend *be, const struct sp_model *in, struct sp_model *out);
	/* The endpoints a new connection to @vip:@port/@proto (with @vip NULL:
	 * NodePort @port of @family) is sent to now, into @p (its endpoints
	 * replaced): explain's exact answer. Returns their number, or -errno. */
	int (*dispatch)(struct sp_backend *be, int family, const struct sp_addr *vip, uint8_t proto,
			uint16_t port, struct sp_svc_port *p);
	/* A new connection from @src (outside the node) to endpoint @ep:@ep_port
	 * of a service port: how this backend translates it, as one line each
	 * into @path (which program and lookups) and @nat (the source the
	 * endpoint sees), and *@snat. NULL: the generic masquerade answer
	 * holds. Returns 0 or -errno. */
	int (*explain_outside)(struct sp_backend *be, const struct sp_addr *src,
			       const struct sp_addr *ep, uint16_t ep_port, bool *snat, char *path,
			       size_t pathsz, char *nat, size_t natsz);
	/* A relaying backend (userspace): how a new connection or flow from
	 * @src to @dst:@port/@proto is served now, asked of the agent serving
	 * it, into @out (sp_relay_answer_fini frees it). NULL for backends that
	 * translate packets (dispatch, explain_outside). Returns 0, or -errno
	 * (-ESRCH: no agent serves here, -ETIMEDOUT: it did not answer). */
	int (*explain_relay)(struct sp_backend *be, const struct sp_addr *src,
			     const struct sp_addr *dst, uint8_t proto, uint16_t port,
			     struct sp_relay_answer *out);
	/* Read from a saved dump of this backend's state (for nftables: `nft
	 * list ruleset` text) instead of the live one; read_back and read_masq
	 * then answer from it. NULL when the backend has no dump form. Returns
	 * 0, or -EINVAL with a one-line reason in @err, or -ENOMEM. */
	int (*load_dump)(struct sp_backend *be, const char *buf, size_t len, char *err,
			 size_t errsz);
	/* Remove everything svcplane ever installed with this backend here. */
	int (*cleanup)(struct sp_backend *be);
	/* Its own gauges for /metrics (map fill levels …), up to @max into @out.
	 * Returns how many, or -errno. */
	int (*gauges)(struct sp_backend *be, struct sp_gauge *out, size_t max);
	/* Can this backend serve traffic now (/healthz, health-check node ports)? */
	int (*health)(struct sp_backend *be, struct sp_health *out);
	void (*close)(struct sp_backend *be);
};

struct sp_backend {
	const struct sp_backend_ops *ops;
	const struct sp_backend_cfg *cfg;	/* borrowed */
	void *priv;				/* the backend's own state */
	/* A failed open may say what is missing here (one line, without a
	 * newline); the caller logs it in place of the bare errno. */
	char open_err[512];
};

/* The backend for @mode, or NULL when no backend of that name is built into
 * this binary (the agent refuses to start then). */
const struct sp_backend_ops *sp_backend_find(const char *mode);

/* Every built backend, NULL-terminated, in the order tools look for state. */
const struct sp_backend_ops *const *sp_backend_all(void);

/* Names of the built backends, for error messages: "nftables, dry-run". */
const char *sp_backend_names(void);

/* kube-proxy's state in this network namespace (dataplane/kubeproxy/): its
 * nftables tables ip/ip6 kube-proxy, its KUBE-* chains through iptables-nft
 * and through iptables-legacy (kubelet's chains are not kube-proxy's).
 * sp_kube_proxy_find: what is here, as one phrase into @buf ("nftables table
 * ip kube-proxy; iptables-legacy: 9 KUBE-* chains (iptables)"); returns 1
 * when some was found, 0 when none, -errno when it could not be told (@buf
 * then says which part). */
int sp_kube_proxy_find(char *buf, size_t sz);
/* --take-over-kube-proxy: remove it all, the nf_tables part in one
 * transaction, the legacy part with iptables-legacy-restore; one log line
 * says what was removed. Returns 0 or -errno (each failure logged). */
int sp_kube_proxy_remove(const struct sp_log *lg);

/* Open, for reading, the first backend whose state is present here. Returns
 * 1 with @be open, 0 when no backend has state here (@be closed), or -errno
 * when a backend could not tell (@be closed; *@failed names it). */
int sp_backend_open_present(struct sp_backend *be, const struct sp_backend_cfg *cfg,
			    const char **failed);

#endif
