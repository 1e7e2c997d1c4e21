/* nft_msgs.h - the wire side of a sync: a plan (nft_plan.h) as nf_tables
 * messages appended to one transaction, both families in it, in the order
 * the kernel needs them (chains before the elements that jump to them,
 * elements gone before the chains they jumped to). Builds messages only:
 * nft_tx.c sends them. */
#ifndef SP_DATAPLANE_NFT_MSGS_H
#define SP_DATAPLANE_NFT_MSGS_H

#include <stdint.h>

#include "nft_backend.h"
#include "nft_plan.h"
#include "nft_tx.h"

/* Append every message of @pl to @tx, counting them in @st; the fixed rules
 * follow @cfg (cluster CIDRs, masquerade-all). Returns 0 or -ENOMEM (then
 * abort @tx). */
int nft_msgs_plan(struct nft_tx *tx, const struct nft_plan *pl, const struct sp_backend_cfg *cfg,
		  struct sp_nft_stats *st);

/* Append the deletion of our table of @family (--cleanup). */
void nft_msgs_drop_table(struct nft_tx *tx, int family, struct sp_nft_stats *st);

#endif
