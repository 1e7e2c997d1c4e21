/* nft_readback.h - what svcplane's tables hold now, read over netlink back into
 * a model (svcplanectl dump, diff, tests), and the projection of a desired model
 * onto what the tables can express, so the two compare. */
#ifndef SP_DATAPLANE_NFT_READBACK_H
#define SP_DATAPLANE_NFT_READBACK_H

#include "../../common/config.h"
#include "../../control/model.h"

struct mnl_socket;
struct sp_log;

/* Read tables ip/ip6 svcplane through @nl into @out (initialised, empty).
 * Returns 0 (also when there are no tables), or -errno. */
int sp_nft_read(struct mnl_socket *nl, struct sp_model *out, const struct sp_log *lg);

/* @in as the nftables backend programs it for this node, into @out: per port,
 * its addresses, ports, affinity, external policy and the endpoints its
 * ClusterIP traffic uses (else its external traffic), each ready; node names,
 * zones, hints and internal policy are not programmed and are left out. */
int sp_nft_project(const struct sp_model *in, struct sp_model *out);

#endif
