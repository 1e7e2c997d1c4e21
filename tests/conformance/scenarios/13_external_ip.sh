#!/usr/bin/env bash
# scenario: 13. should be possible to connect to a service via ExternalIP when the external IP is not assigned to a node
. "$(dirname "$0")/../lib.sh"
{ svc ext 198.19.128.113 '  externalIPs: [198.19.200.113]' '  ports: [{name: http, port: 80, targetPort: 8080}]'; slice ext a1 b1; } | apply ext
programmed '"externalIPs":["198.19.200.113"]'
if relayed; then
	# The agent accepts for it: the address is local, on its own link only.
	nat_premise "an external IP not assigned to the node: it is on svcplane0, the agent's link, and no other"
	wait_until 10 sh -c "$SVCPLANECTL rig exec $R node1 -- ip -o addr show dev svcplane0 | grep -qF 198.19.200.113" ||
		fail "the external IP is not on node1's svcplane0"
	out_lacks 198.19.200.113 inns $R node1 sh -c 'ip -o addr | grep -v " svcplane0 "' ||
		fail "the external IP is on one of node1's own interfaces, or ip addr failed"
else
	out_lacks 198.19.200.113 inns $R node1 ip -o addr || fail "the external IP is on node1 (it must not be), or ip addr failed"
fi
from_cl expect_pods cl 30 http://198.19.200.113/ "a1 b1"
expect_pods a2 30 http://198.19.200.113/ "a1 b1"
expect_pods node2 30 http://198.19.200.113/ "a1 b1"
