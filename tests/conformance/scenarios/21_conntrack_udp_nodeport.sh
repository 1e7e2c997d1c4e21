#!/usr/bin/env bash
# scenario: 21. Conntrack: should be able to preserve UDP traffic when server pod cycles for a NodePort service
# One UDP flow (one source port) to a NodePort keeps sending while its only
# endpoint is replaced: the flow reaches the new pod (stale conntrack
# entries are cleared). From outside (cl) and from a pod on node1 to node1's
# NodePort.
. "$(dirname "$0")/../lib.sh"
sl() { udp_slice cu "$@"; }
sv() { svc cu 198.19.128.121 '  type: NodePort' '  ports: [{name: udp, port: 80, protocol: UDP, targetPort: 8080, nodePort: 30121}]'; }
{ sv; sl 198.18.1.10 node1; } | apply cu
programmed '"nodePort":30121'
# cycle MEMBER: a flow from MEMBER to node1's NodePort reaches a1, then b2
# after the endpoint is replaced.
cycle() {
	local out flow
	{ sv; sl 198.18.1.10 node1; } | apply cu
	wait_until 10 model_lacks $R 1 '"ip":"198.18.2.11"' || fail "$1: b2 still in node1's model"
	sleep 0.5
	out=$(t_tmpdir)/flow
	udp_flow $1 198.19.0.1 30121 6 >"$out" &
	flow=$!
	sleep 2
	grep -q '^a1' "$out" || fail "$1: the flow never reached a1: $(head -3 "$out" | tr '\n' ' ')"
	{ sv; sl 198.18.2.11 node2; } | apply cu
	wait $flow
	tail -5 "$out" | grep -qv '^b2' && fail "$1: after the endpoint changed the flow still went to: $(tail -5 "$out" | tr '\n' ' ')"
	grep -q '^b2' "$out" || fail "$1: the flow never reached the new pod b2"
}
from_cl cycle cl
cycle a2
