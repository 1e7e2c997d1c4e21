/* kp_nft.h - kube-proxy's state held by nf_tables, over netlink: the tables
 * `ip kube-proxy` / `ip6 kube-proxy` (its nftables mode) and the KUBE-*
 * chains its iptables mode made through iptables-nft (in the ip/ip6 tables
 * nat, filter and mangle). */
#ifndef SP_DATAPLANE_KP_NFT_H
#define SP_DATAPLANE_KP_NFT_H

#include <stddef.h>

#include "../../common/log.h"

struct kp_nft_found {
	int tables[2];		/* [0] ip, [1] ip6: table kube-proxy present */
	size_t chains[2];	/* kube-proxy's iptables-nft chains, per family */
};

/* What is here now. Returns 0 or -errno (EPERM without CAP_NET_ADMIN). */
int kp_nft_find(struct kp_nft_found *out);

/* Remove all of it in one nf_tables transaction (both families: all or
 * nothing): delete the kube-proxy tables; delete every rule of another chain
 * that jumps to one of kube-proxy's iptables-nft chains, flush those chains
 * and delete them. Other chains and tables (kubelet's KUBE-FIREWALL …) stay.
 * @out says what was removed. Returns 0 or -errno (each kernel error logged
 * against its object). */
int kp_nft_remove(struct kp_nft_found *out, size_t *jumps, const struct sp_log *lg);

#endif
