/* nft_stale.h - the UDP (and SCTP) conntrack entries a sync makes stale, as a
 * list of matches for sp_ct_flush: NATed flows to endpoints a port no longer
 * has, and un-NATed flows sent to a port's addresses while it had no
 * endpoint. TCP needs none of this (a reset ends its flows). */
#ifndef SP_DATAPLANE_NFT_STALE_H
#define SP_DATAPLANE_NFT_STALE_H

#include <stddef.h>
#include <stdint.h>

#include "../netlink/conntrack.h"
#include "nft_render.h"

struct nft_stale {
	struct sp_ct_match *v;
	size_t n, cap;
};

/* Note the flows made stale by port going from render @old to render @new
 * (either NULL: added or removed); @p is the port now (NULL when removed).
 * Best effort: out of memory drops matches (such flows then age out). */
void nft_stale_port(struct nft_stale *l, uint8_t proto, const struct sp_svc_port *p,
		    const struct nft_render *old, const struct nft_render *new);

void nft_stale_fini(struct nft_stale *l);

#endif
