/* kp_legacy.h - kube-proxy's state in iptables-legacy (the x_tables of the
 * kernel, which only the iptables tools speak): read with
 * iptables-legacy-save, removed with iptables-legacy-restore --noflush, as
 * kube-proxy itself runs the iptables tools; both for IPv4 and IPv6. */
#ifndef SP_DATAPLANE_KP_LEGACY_H
#define SP_DATAPLANE_KP_LEGACY_H

#include <stddef.h>

#include "../../common/log.h"

struct kp_legacy_found {
	size_t chains[2];	/* kube-proxy's chains: [0] iptables, [1] ip6tables */
	size_t jumps[2];	/* rules elsewhere that jump to them */
};

/* What is here. A family whose legacy tables are not in use in this network
 * namespace (no /proc/net/ip*_tables_names entry) is not looked at, so no
 * tool runs. Returns 0, -ENOENT when tables are in use but
 * iptables-legacy-save is missing, or -errno. */
int kp_legacy_find(struct kp_legacy_found *out);

/* Remove kube-proxy's legacy chains (flush, unhook, delete; one restore per
 * family, each table all or nothing). @out says what was removed. Returns 0
 * or -errno, with the tool's own error text logged. */
int kp_legacy_remove(struct kp_legacy_found *out, const struct sp_log *lg);

#endif
