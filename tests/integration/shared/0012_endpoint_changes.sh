#!/usr/bin/env bash
# nftables mode: a port with no endpoints refuses at once (TCP reset / ICMP
# port unreachable, not a timeout); removing one endpoint breaks no established
# TCP connection; a UDP flow stuck to a removed endpoint moves to a live one
# (its conntrack entry is deleted); the rules track the slice within the bound.
. "$(dirname "$0")/lib.sh"
rig2_test t12
FLOWS="python3 $TOP/tests/integration/flows.py"

hold_yaml() { # endpoints...
	cat <<'Y'
apiVersion: v1
kind: Service
metadata: {name: hold, namespace: t}
spec:
  clusterIP: 198.19.128.40
  ports: [{name: tcp, port: 9000}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: hold-1, namespace: t, labels: {kubernetes.io/service-name: hold}}
addressType: IPv4
ports: [{name: tcp, port: 9000}]
endpoints:
Y
	for ip in "$@"; do echo "- {addresses: [$ip], nodeName: node1}"; done
}
udp_yaml() { # endpoints...
	cat <<'Y'
apiVersion: v1
kind: Service
metadata: {name: udp, namespace: t}
spec:
  clusterIP: 198.19.128.41
  ports: [{name: u, port: 7, targetPort: 8080, protocol: UDP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: udp-1, namespace: t, labels: {kubernetes.io/service-name: udp}}
addressType: IPv4
ports: [{name: u, port: 8080, protocol: UDP}]
endpoints:
Y
	for ip in "$@"; do echo "- {addresses: [$ip], nodeName: node2}"; done
}
cat >"$dir/empty.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: t}
spec:
  clusterIP: 198.19.128.42
  ports: [{name: tcp, port: 80}, {name: udp, port: 53, protocol: UDP}]
Y
hold_yaml 198.18.1.10 198.18.1.11 198.18.2.10 | put "$dir/hold.yaml"
udp_yaml 198.18.1.10 198.18.2.10 | put "$dir/udp.yaml"
# TCP echo servers for long-lived connections.
for p in a1 a2 b1; do
	inns $R $p socat TCP-LISTEN:9000,fork,reuseaddr EXEC:cat >/dev/null 2>&1 &
	T_PIDS+=($!)
done
agents_up $R "$dir"

# No endpoints: refused at once.
start=$(date +%s%N)
inns $R cl curl -s -m 5 http://198.19.128.42/ && fail "service without endpoints answered"
rc=$(inns $R cl sh -c 'curl -s -m 5 -o /dev/null http://198.19.128.42/; echo $?')
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" = 7 ] || fail "TCP to a service without endpoints: curl exit $rc, want 7 (refused)"
[ "$ms" -lt 2000 ] || fail "refusal took ${ms} ms: not at once"
out=$(inns $R cl python3 -c 'import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(2); s.connect(("198.19.128.42",53)); s.send(b"x")
try: s.recv(10); print("answer")
except ConnectionRefusedError: print("refused")
except socket.timeout: print("timeout")')
[ "$out" = refused ] || fail "UDP to a service without endpoints: $out, want refused (ICMP port unreachable)"

# Established TCP connections survive the removal of an endpoint.
inns $R cl $FLOWS tcp 198.19.128.40 9000 6 3 >"$dir/tcp.out" &
flows=$!
sleep 0.7
hold_yaml 198.18.1.10 198.18.2.10 | put "$dir/hold.yaml"      # 198.18.1.11 goes
wait $flows
grep -q '^ok' "$dir/tcp.out" || fail "established connections broke: $(cat "$dir/tcp.out")"
wait_until 2 out_lacks 198.18.1.11 inns $R node1 nft list map ip svcplane backends ||
	fail "removed endpoint still programmed"

# A UDP flow moves off a removed endpoint.
inns $R cl $FLOWS udp 198.19.128.41 7 3 >"$dir/udp.out" &
flows=$!
sleep 0.6
first=$(head -1 "$dir/udp.out")
case $first in
a1) udp_yaml 198.18.2.10 | put "$dir/udp.yaml" ;;
b1) udp_yaml 198.18.1.10 | put "$dir/udp.yaml" ;;
*) fail "UDP flow got no answer: $first" ;;
esac
wait $flows
last=$(tail -5 "$dir/udp.out" | sort -u | tr '\n' ' ')
[[ "$last" != *"$first"* && "$last" != *"-"* ]] || fail "UDP flow stuck on removed endpoint $first: last replies [$last]"
grep -q 'conntrack: removed [1-9]' "$AGENT_LOG_DIR/agent1.log" || fail "no conntrack cleanup logged"
exit 0
