/* kp_chains.h - which iptables chains are kube-proxy's (and not kubelet's or
 * anyone else's), and the iptables-restore script that removes them from an
 * iptables-save dump. Pure: no kernel, no tools. */
#ifndef SP_DATAPLANE_KP_CHAINS_H
#define SP_DATAPLANE_KP_CHAINS_H

#include <stdbool.h>
#include <stddef.h>

/* Is @chain of iptables table @table ("nat", "filter", "mangle") one kube-proxy
 * creates (KUBE-SERVICES, KUBE-SVC-…, KUBE-PROXY-CANARY …)? kubelet's
 * KUBE-FIREWALL, KUBE-KUBELET-CANARY and KUBE-MARK-DROP are not. */
bool kp_chain_is_kube_proxy(const char *table, const char *chain);

/* From @save (iptables-save text), the input for `iptables-restore --noflush`
 * that removes kube-proxy's chains: per table, flush them, delete every rule
 * elsewhere that jumps to one, delete them. *@script is malloc'd (NULL when
 * there is nothing to remove); *@chains counts the chains, *@jumps the rules
 * deleted outside them. Returns 0, -EINVAL for text that is not a dump (no
 * "*table" before a rule), or -ENOMEM. */
int kp_legacy_script(const char *save, size_t len, char **script, size_t *chains, size_t *jumps);

#endif
