/* nft_backend.h - the nftables dataplane (default mode): renders the model into
 * tables "ip svcplane" and "ip6 svcplane", one nf_tables transaction per sync. */
#ifndef SP_DATAPLANE_NFT_BACKEND_H
#define SP_DATAPLANE_NFT_BACKEND_H

#include "../backend.h"

extern const struct sp_backend_ops sp_nft_ops;

/* Message counts of the last committed sync, for tests and logs. */
struct sp_nft_stats {
	unsigned long elem_msgs, elems;		/* element messages and elements */
	unsigned long chain_msgs, rule_msgs, set_msgs, table_msgs;
};

/* Counts of the last sync of @be (an nftables backend). */
const struct sp_nft_stats *sp_nft_last_stats(const struct sp_backend *be);

#endif
