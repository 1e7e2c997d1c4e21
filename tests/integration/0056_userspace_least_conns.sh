#!/usr/bin/env bash
# --mode userspace, balancing: node1's agent runs with
# --userspace-lb-algorithm least-connections, node2's with the default
# (round robin). Six idle connections are opened to the service while a1 is
# its only endpoint, then b1 joins: on node1, every new connection goes to b1
# (a1 still holds six, b1 none: the counts survive the sync), while on node2
# round robin shares them between a1 and b1. The same for UDP flows (six
# held on a1 through node1). The log says which algorithm.
. "$(dirname "$0")/lib.sh"
MODE=userspace
rig2_test t56
HOSTILE="python3 $TOP/tests/integration/hostile.py"
web() { # endpoints...
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: t}\nspec:\n  clusterIP: 198.19.128.56\n  ports: [{name: http, port: 80, targetPort: 8080}, {name: dns, port: 53, targetPort: 8080, protocol: UDP}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1, namespace: t, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\nports: [{name: http, port: 8080}, {name: dns, port: 8080, protocol: UDP}]\nendpoints:\n'
	local ip
	for ip in "$@"; do printf -- '- {addresses: [%s]}\n' "$ip"; done
}
web 198.18.1.10 | put "$dir/web.yaml"
agent_start $R 1 "$dir" --userspace-lb-algorithm least-connections
agent_start $R 2 "$dir"
for n in 1 2; do
	wait_until 10 inns $R node$n curl -sf http://127.0.0.1:10256/healthz ||
		fail "agent on node$n never healthy: $(tail -3 "$AGENT_LOG_DIR/agent$n.log")"
done
grep -q 'balancing by least connections' "$AGENT_LOG_DIR/agent1.log" || fail "node1's log does not say least connections"
grep -q 'balancing by round robin' "$AGENT_LOG_DIR/agent2.log" || fail "node2's log does not say round robin"
active() { # node: t/web's open connections there
	inns $R node$1 curl -sf http://127.0.0.1:10249/metrics |
		awk '$1 == "svcplane_userspace_connections_active{service_port=\"t/web:http/TCP/IPv4\"}" {print $2}'
}
# Six idle connections to a1 through each node: cl goes through node1 (the
# fabric routes ClusterIPs there), pod b3 through node2.
inns $R cl $HOSTILE hold 198.19.128.56 80 6 12 >/dev/null &
T_PIDS+=($!)
inns $R b3 $HOSTILE hold 198.19.128.56 80 6 12 >/dev/null &
T_PIDS+=($!)
active_is() { [ "$(active "$1")" = "$2" ]; }
for n in 1 2; do
	wait_until 5 active_is $n 6 || fail "node$n: $(active $n) connections active to t/web, want the 6 held"
done
# UDP: six flows from cl through node1 to a1, each from its own port, which
# the relay keeps for its idle timeout (30 s): they count as connections.
got=$(udp_hits $R cl 6 198.19.128.56 53 | tr '\n' ' ')
[ "$got" = "a1 6 " ] || fail "UDP flows before b1 joins went [$got], want 6 to a1"
web 198.18.1.10 198.18.2.10 | put "$dir/web.yaml"
for n in 1 2; do
	wait_until 10 model_has $R $n 198.18.2.10 || fail "node$n never got b1"
done
got=$(hits $R cl 10 'curl -s -m 2 http://198.19.128.56/' | tr '\n' ' ')
[ "$got" = "b1 10 " ] || fail "least connections (node1): new connections went [$got], want all 10 to b1 (a1 holds 6)"
got=$(hits $R b3 10 'curl -s -m 2 http://198.19.128.56/' | tr '\n' ' ')
[ "$got" = "a1 5 b1 5 " ] || fail "round robin (node2): new connections went [$got], want 5 and 5"
got=$(udp_hits $R cl 4 198.19.128.56 53 | tr '\n' ' ')
[ "$got" = "b1 4 " ] || fail "least connections (node1), UDP: new flows went [$got], want all 4 to b1 (a1 holds 6 flows)"
got=$(udp_hits $R b3 4 198.19.128.56 53 | tr '\n' ' ')
[ "$got" = "a1 2 b1 2 " ] || fail "round robin (node2), UDP: new flows went [$got], want 2 and 2"
note "least connections: 10 of 10 to the idle endpoint, UDP flows 4 of 4; round robin: 5 and 5, 2 and 2"
exit 0
