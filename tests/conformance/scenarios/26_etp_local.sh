#!/usr/bin/env bash
# scenario: 26. externalTrafficPolicy=Local: NodePort on a node without local endpoints drops; client source IP seen by the pod
# From outside: node1 (local endpoint a1) answers and a1 sees the client's own
# address; node2 (none) drops. From inside a node (its pods and itself) the
# NodePort uses every endpoint, as kube-proxy short-circuits local traffic:
# node2's pod and node2 reach a1 through node2's NodePort.
. "$(dirname "$0")/../lib.sh"
{ svc etp 198.19.128.126 '  type: NodePort' '  externalTrafficPolicy: Local' \
	'  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30126}]'; slice etp a1; } | apply etp
programmed '"nodePort":30126'
from_outside() {
	[ $1 = cl ] || fail "from_outside $1: only cl is outside the nodes"
	local seen src rc
	seen=$(inns $R $1 curl -s -m 2 http://198.19.0.1:30126/)
	[ "$(awk '{print $1}' <<<"$seen")" = a1 ] || fail "node1's NodePort: $seen"
	src=$(awk '{print $2}' <<<"$seen")
	[ "${src%:*}" = 198.19.0.100 ] || fail "the pod saw $src, not the client 198.19.0.100"
	inns $R $1 curl -s -m 2 http://198.19.0.2:30126/ >/dev/null; rc=$?
	[ $rc = 28 ] || fail "node2 (no local endpoint): curl exit $rc, want 28 (dropped, timed out)"
}
# userspace: the pod sees node1's address (the agent's own connection), and
# node2 (no local endpoint) refuses at once: the agent listens there for its
# own pods and resets a connection from outside (a relay cannot drop a
# handshake the kernel completed).
from_outside_relayed() {
	local seen src rc
	nat_premise "client source IP kept: the pod sees node1's address; node2 resets instead of dropping"
	for _ in 1 2 3; do
		seen=$(inns $R $1 curl -s -m 2 http://198.19.0.1:30126/)
		[ "$(awk '{print $1}' <<<"$seen")" = a1 ] || fail "node1's NodePort: $seen"
		src=$(awk '{print $2}' <<<"$seen")
		[ "${src%:*}" = 198.18.1.1 ] || fail "the pod saw $src, not node1's address on its bridge 198.18.1.1"
	done
	inns $R $1 curl -s -m 2 http://198.19.0.2:30126/ >/dev/null; rc=$?
	[ $rc = 7 ] || [ $rc = 56 ] || fail "node2 (no local endpoint): curl exit $rc, want 7 or 56 (refused or reset at once)"
}
if relayed; then from_cl from_outside_relayed cl; else from_cl from_outside cl; fi
expect_pods a2 5 http://198.19.0.1:30126/ "a1"
expect_pods b2 5 http://198.19.0.2:30126/ "a1"
expect_pods node2 5 http://198.19.0.2:30126/ "a1"
