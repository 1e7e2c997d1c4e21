#!/usr/bin/env bash
# scenario: 23. Conntrack: should be able to preserve UDP traffic when initial unready endpoints get ready
# From outside (cl) and from a pod on the other node: a flow that starts while
# the only endpoint is unready reaches it once it is ready.
. "$(dirname "$0")/../lib.sh"
sl() { udp_slice ur 198.18.1.10 node1 "$1"; }
sv() { svc ur 198.19.128.123 '  ports: [{name: udp, port: 80, protocol: UDP, targetPort: 8080}]'; }
{ sv; sl false; } | apply ur
programmed '"cf/ur"'
# unready_to_ready MEMBER
unready_to_ready() {
	local out flow
	{ sv; sl false; } | apply ur
	wait_until 10 model_lacks $R 1 '"ready":true' || fail "$1: the endpoint still ready in node1's model"
	wait_until 10 model_lacks $R 2 '"ready":true' || fail "$1: the endpoint still ready in node2's model"
	sleep 0.5
	out=$(t_tmpdir)/flow
	udp_flow $1 198.19.128.123 80 6 >"$out" &
	flow=$!
	sleep 2
	# The flow ran (several unanswered sends) and nothing answered.
	[ "$(grep -c '^-$' "$out")" -ge 3 ] || fail "$1: the flow did not run: $(head -3 "$out")"
	grep -qv '^-$' "$out" && fail "$1: answers while the only endpoint was not ready: $(grep -v '^-$' "$out" | head -2)"
	{ sv; sl true; } | apply ur
	wait $flow
	grep -q '^a1' "$out" || fail "$1: the flow never reached a1 once it was ready"
}
from_cl unready_to_ready cl
unready_to_ready b3
