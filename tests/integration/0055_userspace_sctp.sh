#!/usr/bin/env bash
# --mode userspace and SCTP. Everywhere: the agent finds out at start whether
# the kernel has SCTP sockets; without them it says so once in its log and in
# /healthz's detail, stays healthy and serves TCP and UDP (a service with an
# SCTP port beside a TCP one: the TCP one answers). Where
# socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) works: an SCTP service through a
# ClusterIP and a NodePort carries messages of 1 B to 200 KiB on streams
# 0..9, each back whole, byte for byte, on its stream with its payload
# protocol id (sctp_msgs.py); where it does not, that part is skipped with
# the reason printed.
. "$(dirname "$0")/lib.sh"
MODE=userspace
rig2_test t55
SCTP="python3 $TOP/tests/integration/sctp_msgs.py"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: mix, namespace: t}\nspec:\n  type: NodePort\n  clusterIP: 198.19.128.55\n  ports:\n  - {name: s, port: 9300, protocol: SCTP, nodePort: 30055}\n  - {name: h, port: 80, targetPort: 8080, protocol: TCP}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: mix-1, namespace: t, labels: {kubernetes.io/service-name: mix}}\naddressType: IPv4\nports: [{name: s, port: 9300, protocol: SCTP}, {name: h, port: 8080, protocol: TCP}]\nendpoints:\n- {addresses: [198.18.1.10]}\n- {addresses: [198.18.2.10]}\n' |
	put "$dir/mix.yaml"
have_sctp=1
why=$(inns $R node1 $SCTP probe) || have_sctp=0
agents_up $R "$dir"
got=$(hits $R cl 10 'curl -s -m 2 http://198.19.128.55/' | awk '{print $1}' | sort | tr '\n' ' ')
[ "$got" = "a1 b1 " ] || fail "the TCP port beside the SCTP one: answers from [$got], want a1 and b1"
n=$(grep -c 'SCTP' "$AGENT_LOG_DIR/agent1.log")
if [ $have_sctp = 0 ]; then
	[ "$n" = 1 ] || fail "want one log line about SCTP, got $n: $(grep SCTP "$AGENT_LOG_DIR/agent1.log")"
	grep -q 'no SCTP sockets' "$AGENT_LOG_DIR/agent1.log" || fail "the log does not say the kernel has no SCTP sockets"
	hz=$(inns $R node1 curl -s http://127.0.0.1:10256/healthz) || fail "/healthz"
	[[ "$hz" == *'"healthy":true'* ]] || fail "/healthz not healthy without SCTP: $hz"
	[[ "$hz" == *'"detail":"SCTP service ports not served'* ]] || fail "/healthz detail lacks SCTP: $hz"
	skip "SCTP relaying not run: $why (detection, log line, /healthz detail and TCP beside it: ok)"
fi
for p in a1 b1; do
	inns $R $p $SCTP serve 9300 >/dev/null 2>&1 &
	T_PIDS+=($!)
done
sleep 0.5
for target in "198.19.128.55 9300" "198.19.0.1 30055"; do
	out=$(inns $R cl $SCTP run $target) || fail "SCTP via $target: $out"
	note "SCTP via $target: $out"
done
exit 0
