#!/usr/bin/env bash
# scenario: 22. Conntrack: should be able to preserve UDP traffic when server pod cycles for a ClusterIP service
. "$(dirname "$0")/../lib.sh"
sl() { udp_slice cc "$@"; }
sv() { svc cc 198.19.128.122 '  ports: [{name: udp, port: 80, protocol: UDP, targetPort: 8080}]'; }
{ sv; sl 198.18.1.10 node1; } | apply cc
programmed '"cf/cc"'
# cycle MEMBER: a flow from MEMBER reaches a1, then only b2 once a1 is replaced.
cycle() {
	local out flow
	{ sv; sl 198.18.1.10 node1; } | apply cc
	sleep 0.5
	out=$(t_tmpdir)/flow
	udp_flow $1 198.19.128.122 80 6 >"$out" &
	flow=$!
	sleep 2
	grep -q '^a1' "$out" || fail "$1: the flow never reached a1"
	{ sv; sl 198.18.2.11 node2; } | apply cc
	wait $flow
	tail -5 "$out" | grep -qv '^b2' && fail "$1: after the change the flow still went to: $(tail -5 "$out" | tr '\n' ' ')"
	return 0
}
from_cl cycle cl
cycle b3
