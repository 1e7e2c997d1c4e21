/* nft_backend.c - the nftables backend's ops (backend.h): the lifecycle, the
 * sync as plan (nft_plan.c, against the mirror in nft_mirror.c) → messages
 * (nft_msgs.c) → one transaction for both families (nft_tx.c) → stale UDP
 * flows removed (nft_stale.c), and the reads svcplanectl makes through the
 * ops (nft_readback.c, nft_readtext.c). */
#include "nft_backend.h"
#include "nft_mirror.h"
#include "nft_msgs.h"
#include "nft_plan.h"
#include "nft_readback.h"
#include "nft_tx.h"
#include "../netlink/conntrack.h"
#include "../netlink/node_addrs.h"
#include "../../common/hmap.h"
#include "../../common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <libmnl/libmnl.h>

struct nft_be {
	struct mnl_socket *nl;
	const struct sp_backend_cfg *cfg;
	const struct sp_log *log;
	bool read_only;			/* opened by svcplanectl */
	struct sp_nft_text *dump;	/* load_dump: read from this instead of the kernel */
	struct nft_mirror mir[2];	/* [0] ip, [1] ip6 */
	bool have_state;		/* the last sync committed: mir[] matches the kernel */
	bool rebuild;			/* the last full sync failed: start from a new table */
	bool committed;			/* some sync has committed: rules are in force */
	struct sp_nft_stats stats;
};

/* --- sync ------------------------------------------------------------------------ */

/* What a full sync must know of the kernel: our chains and sets there now,
 * and this node's addresses for NodePorts. */
struct kernel_state {
	struct nft_plan_kernel k[2];
	struct sp_hmap *chains[2], *sets[2];
	struct sp_node_addrs na[2];
};

static void kernel_state_fini(struct kernel_state *ks)
{
	for (int f = 0; f < 2; f++) {
		sp_hmap_free(ks->chains[f]);
		sp_hmap_free(ks->sets[f]);
	}
}

static int kernel_state(struct nft_be *be, const struct sp_model *m, struct kernel_state *ks)
{
	memset(ks, 0, sizeof(*ks));
	for (int f = 0; f < 2; f++) {
		int nf = f ? NFPROTO_IPV6 : NFPROTO_IPV4, e;

		ks->chains[f] = nft_list_names(be->nl, nf, SP_NFT_TABLE, NFT_MSG_GETCHAIN);
		if (ks->chains[f])
			ks->sets[f] = nft_list_names(be->nl, nf, SP_NFT_TABLE, NFT_MSG_GETSET);
		if (!ks->sets[f]) {
			e = -errno;
			sp_log_err(be->log, "nftables: listing table %s %s: %s", f ? "ip6" : "ip",
				   SP_NFT_TABLE, strerror(-e));
			return e;
		}
		e = sp_node_addrs_get(be->cfg->nodeport_primary, &be->cfg->nodeport_cidrs,
				      &m->node.ips, f ? AF_INET6 : AF_INET, &ks->na[f]);
		if (e) {
			sp_log_warn(be->log, "nftables: node addresses for NodePorts: %s", strerror(-e));
			ks->na[f].n = 0;
		}
		ks->k[f] = (struct nft_plan_kernel){
			.chains = ks->chains[f], .sets = ks->sets[f], .node_ips = ks->na[f].v,
			.n_node_ips = ks->na[f].n, .rebuild = be->rebuild,
		};
	}
	return 0;
}

/* Send @pl as one transaction. Returns 0 or -errno (logged by nft_tx). */
static int commit(struct nft_be *be, const struct nft_plan *pl)
{
	struct nft_tx tx;
	int e;

	if (nft_plan_empty(pl))
		return 0;
	if ((e = nft_tx_begin(&tx, be->nl, be->log)))
		return e;
	if ((e = nft_msgs_plan(&tx, pl, be->cfg, &be->stats))) {
		nft_tx_abort(&tx);
		return e;
	}
	return nft_tx_commit(&tx);
}

static void flush_stale(struct nft_be *be, const struct nft_stale *st)
{
	int n;

	if (!st->n)
		return;
	n = sp_ct_flush(st->v, st->n, be->log);
	if (n < 0)
		sp_log_warn(be->log, "conntrack: removing stale UDP flows: %s", strerror(-n));
	else if (n)
		sp_log_info(be->log, "conntrack: removed %d stale flow(s)", n);
}

static int nft_sync(struct sp_backend *be_, const struct sp_model *m, const struct sp_change *chg,
		    bool full)
{
	struct nft_be *be = be_->priv;
	struct kernel_state ks = {0};
	struct nft_plan pl;
	int e;

	if (be->read_only)
		return -EROFS;
	memset(&be->stats, 0, sizeof(be->stats));
	nft_plan_init(&pl);
	/* The mirror is only as good as the last commit: after a failure (or
	 * before the first success) rebuild everything. A change of the node's
	 * facts (its addresses) is a full sync too. */
	if (!be->have_state || chg->node_changed)
		full = true;
	if (full)
		e = kernel_state(be, m, &ks) ?: nft_plan_full(&pl, be->mir, m, ks.k);
	else
		e = nft_plan_partial(&pl, be->mir, chg);
	if (e == -ENOMEM)
		sp_log_err(be->log, "nftables: planning the %s sync: %s", full ? "full" : "partial",
			   strerror(-e));
	if (!e)
		e = commit(be, &pl);
	be->have_state = e == 0;
	if (full)
		be->rebuild = e != 0;
	be->committed |= e == 0;
	if (!e)
		flush_stale(be, &pl.stale);
	sp_log_debug(be->log, "nftables: %s sync: %lu element message(s) (%lu elements), %lu chain, "
		     "%lu rule, %lu set, %lu table message(s); mirror %zu KiB",
		     full ? "full" : "partial", be->stats.elem_msgs, be->stats.elems,
		     be->stats.chain_msgs, be->stats.rule_msgs, be->stats.set_msgs,
		     be->stats.table_msgs,
		     (nft_mirror_bytes(&be->mir[0]) + nft_mirror_bytes(&be->mir[1])) / 1024);
	nft_plan_fini(&pl);
	kernel_state_fini(&ks);
	return e;
}

/* --- lifecycle ------------------------------------------------------------------- */

static int nft_open(struct sp_backend *be_, const struct sp_backend_cfg *cfg, enum sp_open_mode mode)
{
	struct nft_be *be = calloc(1, sizeof(*be));
	int e;

	if (!be)
		return -ENOMEM;
	be->cfg = cfg;
	be->log = cfg->log;
	be->read_only = mode == SP_OPEN_READ;
	if (be->read_only) {
		/* The socket is opened on first live read: a saved dump needs none. */
		be_->priv = be;
		return 0;
	}
	be->nl = nft_socket_open();
	if (!be->nl) {
		e = -errno;
		free(be);
		return e;
	}
	if ((e = nft_mirror_init(&be->mir[0], NFPROTO_IPV4, be->log)) ||
	    (e = nft_mirror_init(&be->mir[1], NFPROTO_IPV6, be->log))) {
		nft_mirror_fini(&be->mir[0]);
		nft_mirror_fini(&be->mir[1]);
		mnl_socket_close(be->nl);
		free(be);
		return e;
	}
	be_->priv = be;
	return 0;
}

static int nft_cleanup(struct sp_backend *be_)
{
	struct nft_be *be = be_->priv;
	struct nft_tx tx;
	size_t n = 0;
	int e;

	if (be->read_only)
		return -EROFS;
	if ((e = nft_tx_begin(&tx, be->nl, be->log)))
		return e;
	for (int f = 0; f < 2; f++) {
		int nf = f ? NFPROTO_IPV6 : NFPROTO_IPV4;

		if ((e = nft_table_exists(be->nl, nf, SP_NFT_TABLE)) < 0) {
			nft_tx_abort(&tx);
			return e;
		}
		if (e) {
			nft_msgs_drop_table(&tx, nf, &be->stats);
			n++;
		}
		nft_mirror_clear(&be->mir[f]);
	}
	be->have_state = false;
	if (!n) {
		nft_tx_abort(&tx);
		return 0;	/* nothing of ours here */
	}
	e = nft_tx_commit(&tx);
	return e == -ENOENT ? 0 : e;
}

static int nft_health(struct sp_backend *be_, struct sp_health *out)
{
	struct nft_be *be = be_->priv;

	/* A failed sync leaves the previous rules serving: what makes this
	 * backend unable to serve is never having committed its tables. */
	out->ok = be->committed;
	snprintf(out->detail, sizeof(out->detail), "%s",
		 out->ok ? "" : "no nftables sync has committed yet");
	return 0;
}

static void nft_close(struct sp_backend *be_)
{
	struct nft_be *be = be_->priv;

	if (!be)
		return;
	sp_nft_text_free(be->dump);
	nft_mirror_fini(&be->mir[0]);
	nft_mirror_fini(&be->mir[1]);
	if (be->nl)
		mnl_socket_close(be->nl);
	free(be);
	be_->priv = NULL;
}

const struct sp_nft_stats *sp_nft_last_stats(const struct sp_backend *be)
{
	return &((const struct nft_be *)be->priv)->stats;
}

/* --- reading: svcplanectl, through the ops ---------------------------------------- */

/* The netlink socket of a read-only backend, opened on first use. */
static int live(struct nft_be *be)
{
	if (!be->nl && !(be->nl = nft_socket_open()))
		return -errno;
	return 0;
}

/* Do our tables exist? A table of either family is our state. */
static int nft_present(struct sp_backend *be_)
{
	struct nft_be *be = be_->priv;
	int e;

	if (be->dump)
		return 1;
	if ((e = live(be)))
		return e;
	for (int f = 0; f < 2; f++) {
		int e = nft_table_exists(be->nl, f ? NFPROTO_IPV6 : NFPROTO_IPV4, SP_NFT_TABLE);

		if (e != 0)
			return e;	/* 1, or -errno (EPERM: not allowed to look) */
	}
	return 0;
}

static int nft_read_back(struct sp_backend *be_, struct sp_model *out, sp_external_list_fn ext,
			 void *ctx)
{
	struct nft_be *be = be_->priv;

	int e;

	if (be->dump)
		return sp_nft_text_read(be->dump, out, be->log, ext, ctx);
	if ((e = live(be)))
		return e;
	return sp_nft_read_ext(be->nl, out, be->log, ext, ctx);
}

static int nft_read_masq(struct sp_backend *be_, int family, struct sp_addr *keep, int max, bool *masq)
{
	struct nft_be *be = be_->priv;
	int nf = family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4, n;

	if (be->dump)
		return sp_nft_text_masq(be->dump, nf, keep, max, masq);
	if ((n = live(be)))
		return n;
	n = sp_nft_read_masq(be->nl, nf, keep, max, masq);
	if (n == -ENOENT) {	/* no table of this family: nothing masquerades */
		*masq = false;
		return 0;
	}
	return n;
}

static int nft_project(struct sp_backend *be_, const struct sp_model *in, struct sp_model *out)
{
	(void)be_;
	return sp_nft_project(in, out);
}

static int nft_dispatch(struct sp_backend *be_, int family, const struct sp_addr *vip, uint8_t proto,
			uint16_t port, struct sp_svc_port *p)
{
	struct nft_be *be = be_->priv;

	int e;

	if (be->dump)
		return -EOPNOTSUPP;
	if ((e = live(be)))
		return e;
	return sp_nft_read_dispatch(be->nl, family, vip, proto, port, p);
}

static int nft_load_dump(struct sp_backend *be_, const char *buf, size_t len, char *err, size_t errsz)
{
	struct nft_be *be = be_->priv;

	sp_nft_text_free(be->dump);
	be->dump = sp_nft_text_parse(buf, len, err, errsz);
	if (!be->dump)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	return 0;
}

const struct sp_backend_ops sp_nft_ops = {
	.name = "nftables",
	.state = "nftables tables ip/ip6 " SP_NFT_TABLE,
	.open = nft_open,
	.present = nft_present,
	.sync = nft_sync,
	.read_back = nft_read_back,
	.read_masq = nft_read_masq,
	.project = nft_project,
	.dispatch = nft_dispatch,
	.load_dump = nft_load_dump,
	.cleanup = nft_cleanup,
	.health = nft_health,
	.close = nft_close,
};
