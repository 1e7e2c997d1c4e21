/* nft_plan.h - a sync as operations, before any netlink: the element
 * additions and deletions, the chains to write or delete and the affinity
 * client sets to delete, per family, worked out from the model (full sync)
 * or the change list (partial sync) against the mirror's reference counts.
 * Pure: no kernel, so a test feeds models and changes in and reads the exact
 * operations out; nft_msgs.c turns a plan into one transaction.
 *
 * A partial sync renders each changed port as it was (chg->v[i].old) and as
 * it is (.new), and diffs the two: only what differs is released or claimed
 * in the mirror, and only what the mirror says nobody else holds (or held)
 * becomes an operation. Every release comes before every claim, so that an
 * element passing from one port to another in one sync is a pair the plan
 * cancels. */
#ifndef SP_DATAPLANE_NFT_PLAN_H
#define SP_DATAPLANE_NFT_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "nft_mirror.h"
#include "nft_render.h"
#include "nft_stale.h"

struct sp_hmap;
struct sp_model;
struct sp_change;

enum nft_chain_op_kind {
	NFT_CHAIN_WRITE,	/* create if missing, flush, write its rules (and, for
				 * an affinity chain, create its client sets first) */
	NFT_CHAIN_DELETE,	/* flush and delete, once no element jumps to it */
};

struct nft_chain_op {
	enum nft_chain_op_kind kind;
	const char *name;		/* in the plan's pool */
	bool affinity;			/* an affinity chain: @aff says its endpoints */
	struct nft_affinity aff;	/* owned (WRITE of an affinity chain) */
};

struct nft_fam_plan {
	int family;			/* NFPROTO_IPV4 / _IPV6 */
	bool drop_table;		/* full sync after a failed one: replace the table */
	bool skeleton;			/* full sync: table, sets, fixed chains and rules */
	struct nft_elems add, del;	/* strings in the plan's pool */
	struct nft_chain_op *chains;
	size_t nchains, capchains;
	const char **del_sets;		/* affinity client sets, deleted last */
	size_t ndel_sets, capdel_sets;
};

struct nft_pool_chunk;

struct nft_plan {
	bool full;
	struct nft_fam_plan fam[2];	/* [0] ip, [1] ip6 */
	struct nft_pool_chunk *pool;	/* strings the operations point to */
	struct nft_stale stale;		/* UDP flows to remove once committed */
};

/* What a full sync must know of the kernel, per family. */
struct nft_plan_kernel {
	const struct sp_hmap *chains;	/* chain names in our table now (NULL: none) */
	const struct sp_hmap *sets;	/* set names in our table now (NULL: none) */
	const struct sp_addr *node_ips;	/* this node's addresses for NodePorts */
	int n_node_ips;
	bool rebuild;			/* the last full sync failed: replace the table */
};

void nft_plan_init(struct nft_plan *pl);
void nft_plan_fini(struct nft_plan *pl);

/* Everything in @m, from empty mirrors @mir ([0] ip, [1] ip6; cleared here),
 * over the kernel state @k. Returns 0 or -ENOMEM (the mirrors are then
 * partly filled: the caller's next sync is a full one). */
int nft_plan_full(struct nft_plan *pl, struct nft_mirror mir[2], const struct sp_model *m,
		  const struct nft_plan_kernel k[2]);

/* The ports @chg lists, against mirrors @mir that match the kernel. Returns 0
 * or -ENOMEM (mirrors partly changed: the caller's next sync is full). */
int nft_plan_partial(struct nft_plan *pl, struct nft_mirror mir[2], const struct sp_change *chg);

/* Nothing to send? */
bool nft_plan_empty(const struct nft_plan *pl);

#endif
