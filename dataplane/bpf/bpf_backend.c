/* bpf_backend.c - the eBPF backend's ops: load and attach at open (agent),
 * pinned maps only (svcplanectl), a sync as map writes (one port at a time,
 * each port switched whole), read-back, cleanup and health. */
#include "bpf_backend.h"
#include "bpf_ct.h"
#include "bpf_loader.h"
#include "bpf_podifs.h"
#include "bpf_tc.h"
#include "bpf_maps.h"
#include "bpf_readback.h"
#include "bpf_udp.h"
#include "../netlink/node_addrs.h"
#include "../../control/maglev.h"
#include "../../common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <bpf/bpf.h>

#define DEFAULT_PIN_PATH "/sys/fs/bpf/svcplane"
/* SNAT ports: below Linux's default ephemeral range (32768-60999) and the
 * NodePort range (30000-32767), so that a translated flow never takes the
 * port of one of the node's own sockets; 28,976 of them per endpoint. */
#define SNAT_PORT_MIN 1024
#define SNAT_PORT_MAX 29999
#define CT_GC_INTERVAL 10.0  /* seconds */
#define POD_IFS_INTERVAL 2.0 /* seconds: a new pod is reached past the bridge this soon */
/* The epoch moves on again this long after a write: a program that read the
 * old service entry and the new epoch (loads a weakly-ordered CPU may serve
 * out of order) finished long before, and what it kept is checked again. */
#define EPOCH_SETTLE 0.005 /* seconds */

struct bpf_be {
	const struct sp_backend_cfg *cfg;
	struct sp_bpf_kernel k;
	struct sp_bpf_writer *w; /* agent only */
	struct sp_bpf_udp *udp;	 /* agent only; NULL when the kernel cannot */
	bool read_only, open;	 /* open: maps are there */
	bool synced;		 /* a full sync has completed */
	bool attached;		 /* hooks attached (after the first full sync) */
	uint64_t gc_timer, pod_timer, epoch_timer;
	struct sp_bpf_devs devs; /* where the tc programs are (once attached) */
	bool have_devs;
	struct sp_bpf_ct_gc ct; /* the last garbage collection's */
	char pin_dir[4096];
};

static const char *pin_dir_of(const struct sp_backend_cfg *cfg)
{
	return cfg->bpf_pin_path && *cfg->bpf_pin_path ? cfg->bpf_pin_path : DEFAULT_PIN_PATH;
}

static uint32_t maglev_size(const struct sp_backend_cfg *cfg)
{
	return cfg->bpf_maglev_table_size ? cfg->bpf_maglev_table_size : SP_MAGLEV_SIZE_DEFAULT;
}

/* Load and attach (the agent's open), once. On failure @err says what is
 * missing, for the caller to log (one line). */
static int ensure_loaded(struct bpf_be *be, char *err, size_t errsz)
{
	uint32_t max = be->cfg->bpf_lb_map_max ? be->cfg->bpf_lb_map_max : 65536;
	struct sp_bpf_sizes z = {.lb_max = max,
				 .slots_max = 4 * max,
				 /* overflow only: an unconnected socket's 2nd+ services */
				 .sock_max = max,
				 /* TCP sockets open to a service (storage past it) */
				 .conn_max = max,
				 .ct_max = be->cfg->bpf_ct_max ? be->cfg->bpf_ct_max : 524288,
				 .maglev_size = maglev_size(be->cfg)};
	int e;

	if (be->open)
		return 0;
	if ((e = sp_bpf_kernel_load(&be->k, be->pin_dir, be->cfg->cgroup_path, &z, be->cfg->log,
				    err, errsz)))
		return e;
	if (!(be->w = sp_bpf_writer_new(&be->k, be->cfg->log))) {
		e = -errno;
		snprintf(err, errsz, "bpf: map writer: %s", strerror(-e));
		sp_bpf_kernel_close(&be->k);
		return e;
	}
	be->open = true;
	if (be->cfg->bpf_lb_algorithm == SP_LB_MAGLEV)
		sp_bpf_writer_set_maglev(be->w, maglev_size(be->cfg));
	if (!(be->udp = sp_bpf_udp_new(be->k.cgroup_path, be->cfg->log)))
		sp_log_warn(be->cfg->log,
			    "bpf: no UDP socket iterator (%s): a connected UDP client keeps "
			    "an endpoint that went away until it reconnects",
			    strerror(errno));
	sp_log_info(be->cfg->log,
		    "bpf: socket hooks on %s, maps under %s (services %u, slots %u, "
		    "endpoints %u entries at most)",
		    be->cfg->cgroup_path && *be->cfg->cgroup_path ? be->cfg->cgroup_path
								  : "the cgroup v2 root",
		    be->pin_dir, be->k.map_max[SPM_SERVICES], be->k.map_max[SPM_SLOTS],
		    be->k.map_max[SPM_ENDPOINTS]);
	return 0;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Expired connection-tracking entries go, every CT_GC_INTERVAL. */
static void ct_gc(void *ctx)
{
	struct bpf_be *be = ctx;
	int e;

	be->gc_timer = 0;
	if (!be->open)
		return;
	if ((e = sp_bpf_ct_collect(&be->k, monotonic_ns(), &be->ct)))
		sp_log_warn(be->cfg->log, "bpf: connection tracking garbage collection: %s",
			    strerror(-e));
	else if (be->ct.removed)
		sp_log_debug(be->cfg->log, "bpf: %u expired flows removed, %u tracked",
			     be->ct.removed, be->ct.entries);
	be->gc_timer = be->cfg->loop->add_timer(be->cfg->loop->loop, CT_GC_INTERVAL, ct_gc, be);
}

/* Meta's epoch one further on (after a write of service entries, and
 * EPOCH_SETTLE later): 0, or -errno logged. */
static int bump_epoch(struct bpf_be *be)
{
	int e = sp_bpf_kernel_bump_epoch(&be->k);

	if (e)
		sp_log_warn(be->cfg->log, "bpf: writing %s's epoch: %s", sp_bpf_map_name(SPM_META),
			    strerror(-e));
	return e;
}

static void epoch_settle(void *ctx)
{
	struct bpf_be *be = ctx;

	be->epoch_timer = 0;
	if (be->open)
		bump_epoch(be);
}

/* sp_pod_ifs follows the pods behind the pod-facing bridges. */
static void pod_ifs_tick(void *ctx)
{
	struct bpf_be *be = ctx;

	be->pod_timer = 0;
	if (be->open && be->have_devs)
		sp_bpf_pod_ifs_write(&be->k, &be->devs);
	be->pod_timer =
	    be->cfg->loop->add_timer(be->cfg->loop->loop, POD_IFS_INTERVAL, pod_ifs_tick, be);
}

static int bpf_open(struct sp_backend *be_, const struct sp_backend_cfg *cfg,
		    enum sp_open_mode mode)
{
	struct bpf_be *be = calloc(1, sizeof(*be));

	if (!be)
		return -ENOMEM;
	be->cfg = cfg;
	be->read_only = mode == SP_OPEN_READ;
	be->k.cgroup_fd = -1;
	for (int m = 0; m < SPM_COUNT; m++)
		be->k.map_fd[m] = -1;
	snprintf(be->pin_dir, sizeof(be->pin_dir), "%s", pin_dir_of(cfg));
	be_->priv = be;
	if (mode == SP_OPEN_AGENT) {
		int e = ensure_loaded(be, be_->open_err, sizeof(be_->open_err));

		if (e) {
			free(be);
			be_->priv = NULL;
			return e;
		}
		if (cfg->loop) {
			be->gc_timer =
			    cfg->loop->add_timer(cfg->loop->loop, CT_GC_INTERVAL, ct_gc, be);
			be->pod_timer = cfg->loop->add_timer(cfg->loop->loop, POD_IFS_INTERVAL,
							     pod_ifs_tick, be);
		}
	}
	return 0;
}

static int pinned(struct bpf_be *be)
{
	int e;

	if (be->open)
		return 1;
	e = sp_bpf_kernel_open_pinned(&be->k, be->pin_dir);
	be->open = e == 1;
	return e;
}

static int bpf_present(struct sp_backend *be_)
{
	return pinned(be_->priv);
}

static int node_addrs(const struct bpf_be *be, const struct sp_model *m, struct sp_addr *out,
		      size_t max)
{
	size_t n = 0;

	for (int f = 0; f < 2; f++) {
		struct sp_node_addrs na;

		if (sp_node_addrs_get(be->cfg->nodeport_primary, &be->cfg->nodeport_cidrs,
				      &m->node.ips, f ? AF_INET6 : AF_INET, &na))
			continue;
		for (int i = 0; i < na.n && n < max; i++)
			out[n++] = na.v[i];
	}
	return (int)n;
}

/* net.netfilter.nf_conntrack_tcp_timeout_time_wait of this network
 * namespace (120 s, the kernel's default, when conntrack is not loaded). */
static uint32_t time_wait_timeout(void)
{
	FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_time_wait", "re");
	unsigned v = 120;

	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = 120;
		fclose(f);
	}
	return v;
}

/* What the tc programs need of the node: SNAT addresses (the first
 * NodePort address of each family) and ports; and, for svcplanectl, the
 * cluster CIDRs. */
static int write_config(const struct bpf_be *be, const struct sp_addr *a, size_t n)
{
	struct sp_config_val cfgv = {
	    .snat_port_min = SNAT_PORT_MIN,
	    .snat_port_max = SNAT_PORT_MAX,
	    .maglev_size = maglev_size(be->cfg),
	    .algorithm =
		be->cfg->bpf_lb_algorithm == SP_LB_MAGLEV ? SP_CFG_ALG_MAGLEV : SP_CFG_ALG_RANDOM,
	};
	bool have4 = false, have6 = false;
	uint32_t zero = 0;

	cfgv.snat_reuse_s = time_wait_timeout();
	for (int i = 0; i < be->cfg->cluster_cidrs.n && i < 8; i++) {
		const struct sp_addr *c = &be->cfg->cluster_cidrs.v[i];

		memcpy(cfgv.pod_cidrs[i].addr, c->bytes, 16);
		cfgv.pod_cidrs[i].prefix_len = c->prefix_len;
		cfgv.pod_cidrs[i].family = c->family == AF_INET6 ? 6 : 4;
	}
	for (size_t i = 0; i < n; i++) {
		if (a[i].family == AF_INET && !have4) {
			memcpy(cfgv.snat4, a[i].bytes, 4);
			have4 = true;
		} else if (a[i].family == AF_INET6 && !have6) {
			memcpy(cfgv.snat6, a[i].bytes, 16);
			have6 = true;
		}
	}
	return bpf_map_update_elem(be->k.map_fd[SPM_CONFIG], &zero, &cfgv, BPF_ANY) ? -errno : 0;
}

/* The tc programs on the devices that hold @a and the cluster's pods. */
static int attach_tc(struct bpf_be *be, const struct sp_addr *a, size_t n)
{
	struct sp_bpf_devs d;
	char err[512];
	int e;

	if ((e = sp_bpf_tc_devices(a, n, &be->cfg->cluster_cidrs, &d))) {
		sp_log_err(be->cfg->log, "bpf: listing this node's devices: %s", strerror(-e));
		return e;
	}
	if ((e = sp_bpf_tc_attach(&be->k, &d, be->cfg->log, err, sizeof(err)))) {
		sp_log_err(be->cfg->log, "%s", err);
		return e;
	}
	be->devs = d;
	be->have_devs = true;
	sp_bpf_pod_ifs_write(&be->k, &be->devs);
	return 0;
}

static int bpf_sync(struct sp_backend *be_, const struct sp_model *m, const struct sp_change *chg,
		    bool full)
{
	struct bpf_be *be = be_->priv;
	int e = 0;

	if (be->read_only)
		return -EROFS;
	{
		char err[512];

		if ((e = ensure_loaded(be, err, sizeof(err)))) {
			sp_log_err(be->cfg->log, "%s", err);
			return e;
		}
	}
	if (!be->synced || chg->node_changed)
		full = true;
	if (full) {
		struct sp_addr addrs[2 * SP_MAX_NODE_ADDRS];
		int n = node_addrs(be, m, addrs, 2 * SP_MAX_NODE_ADDRS);

		e = sp_bpf_write_full(be->w, m, addrs, (size_t)n);
		/* Ports left out (a map full) are logged; the rest is in force. */
		if (e == -E2BIG || e == -ENOSPC)
			e = 0;
		if (!e && (e = write_config(be, addrs, (size_t)n)))
			sp_log_err(be->cfg->log, "bpf: writing %s: %s", sp_bpf_map_name(SPM_CONFIG),
				   strerror(-e));
		/* Devices are looked at again on every full sync (an address
		 * moved, a bridge appeared). */
		if (!e && be->attached)
			e = attach_tc(be, addrs, (size_t)n);
		if (!e && !be->attached) {
			char err[512];

			if ((e = sp_bpf_kernel_attach(&be->k, be->cfg->log, err, sizeof(err))))
				sp_log_err(be->cfg->log, "%s", err);
			else
				e = attach_tc(be, addrs, (size_t)n);
			be->attached = !e;
		}
	} else {
		sp_bpf_write_begin(be->w);
		for (size_t i = 0; i < chg->n && !e; i++)
			e = sp_bpf_write_change(be->w, chg->v[i].old, chg->v[i].new);
	}
	/* After any write, also a failed one (some entries may be written): a
	 * socket's remembered endpoint is checked against the entries now. A
	 * bump that fails fails the sync (the next is a full one, and bumps
	 * again). A sync that wrote nothing leaves sockets their fast path. */
	if (full || chg->n) {
		int eb = bump_epoch(be);

		if (!e)
			e = eb;
		if (!be->epoch_timer && be->cfg->loop)
			be->epoch_timer = be->cfg->loop->add_timer(be->cfg->loop->loop,
								   EPOCH_SETTLE, epoch_settle, be);
	}
	/* After the maps no longer send anyone there: connected UDP sockets to
	 * endpoints that went away are disconnected. */
	for (size_t i = 0; !e && be->udp && i < chg->n; i++)
		if (sp_bpf_udp_note(be->udp, chg->v[i].old, chg->v[i].new))
			break;
	if (!e && be->udp) {
		int n = sp_bpf_udp_flush(be->udp);

		if (n < 0)
			sp_log_warn(be->cfg->log,
				    "bpf: disconnecting UDP sockets of removed endpoints: %s",
				    strerror(-n));
	}
	/* (The hooks see the maps only once they hold the model, above: a
	 * restarted agent's links and filters keep the old programs, on the
	 * same pinned maps, until then; replaced maps are never served empty.) */
	/* A port left out (a map full) or a failure: the writer's counts no
	 * longer match, so the next sync is a full one. */
	be->synced = !e && (be->synced || full) && !sp_bpf_writer_left_out(be->w);
	return e;
}

static int bpf_read_back(struct sp_backend *be_, struct sp_model *out, sp_external_list_fn ext,
			 void *ctx)
{
	struct bpf_be *be = be_->priv;
	int e = pinned(be);

	if (e <= 0)
		return e ? e : -ENOENT;
	return sp_bpf_read(&be->k, out, ext, ctx);
}

static int bpf_project(struct sp_backend *be_, const struct sp_model *in, struct sp_model *out)
{
	(void)be_;
	return sp_bpf_project(in, out);
}

static int bpf_dispatch(struct sp_backend *be_, int family, const struct sp_addr *vip,
			uint8_t proto, uint16_t port, struct sp_svc_port *p)
{
	struct bpf_be *be = be_->priv;
	int e = pinned(be);

	if (e <= 0)
		return e ? e : -ENOENT;
	return sp_bpf_dispatch(&be->k, family, vip, proto, port, p);
}

/* Pods (the cluster CIDR) are balanced at their sockets: nothing of theirs
 * is translated; a client outside it may be, per endpoint (explain_outside). */
static int bpf_read_masq(struct sp_backend *be_, int family, struct sp_addr *keep, int max,
			 bool *masq)
{
	struct bpf_be *be = be_->priv;
	struct sp_config_val c;
	uint32_t zero = 0;
	int e = pinned(be), n = 0;

	if (e <= 0)
		return e ? e : -ENOENT;
	if (bpf_map_lookup_elem(be->k.map_fd[SPM_CONFIG], &zero, &c))
		return -errno;
	*masq = false;
	for (int i = 0; i < 8 && n < max; i++) {
		if (c.pod_cidrs[i].family != (family == AF_INET6 ? 6 : 4))
			continue;
		memset(&keep[n], 0, sizeof(keep[n]));
		keep[n].family = (uint8_t)family;
		keep[n].prefix_len = c.pod_cidrs[i].prefix_len;
		memcpy(keep[n].bytes, c.pod_cidrs[i].addr, 16);
		n++;
	}
	return n;
}

static int bpf_explain_outside(struct sp_backend *be_, const struct sp_addr *src,
			       const struct sp_addr *ep, uint16_t ep_port, bool *snat, char *path,
			       size_t pathsz, char *nat, size_t natsz)
{
	struct bpf_be *be = be_->priv;
	int e = pinned(be);

	if (e <= 0)
		return e ? e : -ENOENT;
	return sp_bpf_explain_outside(&be->k, src, ep, ep_port, snat, path, pathsz, nat, natsz);
}

/* Entries of map @fd, counted key by key (a scrape's cost: ~0.5 µs a key). */
static uint32_t count_entries(int fd)
{
	uint8_t key[64], next[64];
	uint32_t n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

static int bpf_gauges(struct sp_backend *be_, struct sp_gauge *out, size_t max)
{
	struct bpf_be *be = be_->priv;
	size_t n = 0;

	if (!be->open)
		return 0;
	for (int m = 0; m < SPM_COUNT && n + 2 <= max; m++) {
		if (m == SPM_META || m == SPM_CONFIG || m == SPM_STATS || m == SPM_SOCK_REV)
			continue; /* (sock_rev lives on sockets: no size, no walk) */
		/* The LRU maps (affinity, per-socket) evict their oldest entries
		 * rather than fill: their count says nothing, and walking them
		 * while programs add and evict is neither cheap nor exact; nor
		 * is walking conn_rev, which every TCP connection to a service
		 * adds to and removes from (full, it only sends connections to
		 * their sockets' storage). */
		if (m != SPM_AFFINITY && m != SPM_REVERSE && m != SPM_CT && m != SPM_CONN_REV)
			out[n++] = (struct sp_gauge){
			    "svcplane_bpf_map_entries", "Entries in each eBPF map the agent writes",
			    "map", sp_bpf_map_name(m), count_entries(be->k.map_fd[m])};
		out[n++] =
		    (struct sp_gauge){"svcplane_bpf_map_capacity",
				      "Capacity (max_entries) of each eBPF map of the bpf backend",
				      "map", sp_bpf_map_name(m), be->k.map_max[m]};
	}
	if (n + 2 <= max) {
		out[n++] = (struct sp_gauge){"svcplane_bpf_ct_entries",
					     "Flows the tc programs track (at the last garbage "
					     "collection)",
					     NULL, NULL, be->ct.entries};
		out[n++] = (struct sp_gauge){"svcplane_bpf_ct_capacity",
					     "Capacity of the connection-tracking map (LRU: when "
					     "full, the oldest flows are evicted)",
					     NULL, NULL, be->k.map_max[SPM_CT]};
	}
	{
		uint64_t st[SP_STAT_COUNT];
		int ok = !sp_bpf_stats_read(&be->k, st); /* (once a scrape: every counter) */

		for (int i = 0; ok && i < SP_STAT_COUNT && n < max; i++)
			out[n++] = (struct sp_gauge){
			    "svcplane_bpf_tc_packets",
			    "Packets of traffic from outside the node by what the tc "
			    "programs did (flows: new flows translated; the rest dropped or "
			    "refused, by reason; a count since the maps were created)",
			    "outcome", sp_bpf_stat_name((enum sp_stat)i), (double)st[i]};
	}
	if (n < max && be->w)
		out[n++] =
		    (struct sp_gauge){"svcplane_bpf_service_ports_left_out",
				      "Service ports the last sync left out because a map was full",
				      NULL, NULL, (double)sp_bpf_writer_left_out(be->w)};
	return (int)n;
}

static int bpf_cleanup(struct sp_backend *be_)
{
	struct bpf_be *be = be_->priv;

	if (be->read_only)
		return -EROFS;
	sp_bpf_writer_free(be->w);
	be->w = NULL;
	if (be->open)
		sp_bpf_kernel_close(&be->k);
	be->open = false;
	return sp_bpf_kernel_remove(be->pin_dir, be->cfg->log);
}

static int bpf_health(struct sp_backend *be_, struct sp_health *out)
{
	struct bpf_be *be = be_->priv;

	out->ok = be->open && be->attached;
	snprintf(out->detail, sizeof(out->detail), "%s",
		 out->ok     ? ""
		 : !be->open ? "programs not loaded"
			     : "hooks not attached yet");
	return 0;
}

static void bpf_close(struct sp_backend *be_)
{
	struct bpf_be *be = be_->priv;

	if (!be)
		return;
	if (be->gc_timer)
		be->cfg->loop->cancel_timer(be->cfg->loop->loop, be->gc_timer);
	if (be->pod_timer)
		be->cfg->loop->cancel_timer(be->cfg->loop->loop, be->pod_timer);
	if (be->epoch_timer)
		be->cfg->loop->cancel_timer(be->cfg->loop->loop, be->epoch_timer);
	sp_bpf_writer_free(be->w);
	sp_bpf_udp_free(be->udp);
	if (be->open)
		sp_bpf_kernel_close(&be->k);
	free(be);
	be_->priv = NULL;
}

const struct sp_backend_ops sp_bpf_ops = {
    .name = "bpf",
    .state = "bpf maps pinned under the --bpf-pin-path (default " DEFAULT_PIN_PATH ")",
    .open = bpf_open,
    .present = bpf_present,
    .sync = bpf_sync,
    .read_back = bpf_read_back,
    .project = bpf_project,
    .read_masq = bpf_read_masq,
    .dispatch = bpf_dispatch,
    .explain_outside = bpf_explain_outside,
    .gauges = bpf_gauges,
    .cleanup = bpf_cleanup,
    .health = bpf_health,
    .close = bpf_close,
};
