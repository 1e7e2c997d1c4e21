#!/usr/bin/env bash
# bpf mode, traffic from outside the nodes with --bpf-lb-algorithm maglev:
# the client's flow (its address and source port) reaches the same endpoint
# through node1's and through node2's NodePort; after one of four endpoints
# is removed, the flows it had move and the others stay (Maglev's promise),
# seen through the LB IP (the slot is the client's address and port, the
# same whatever address it dials); the tc counters in /metrics count the new
# flows. UDP, one datagram a flow: a source port is reused at once, with no
# TCP TIME_WAIT in the way.
. "$(dirname "$0")/lib.sh"
MODE=bpf
mode_test bpf
rig2_test t57
svc() { # endpoints (ADDRESS@NODE)...
	cat <<'Y'
apiVersion: v1
kind: Service
metadata: {name: mg, namespace: t}
spec:
  type: LoadBalancer
  clusterIP: 198.19.128.57
  ports: [{name: u, port: 80, targetPort: 8080, protocol: UDP, nodePort: 30057}]
status:
  loadBalancer: {ingress: [{ip: 198.19.201.57}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: mg-1, namespace: t, labels: {kubernetes.io/service-name: mg}}
addressType: IPv4
ports: [{name: u, port: 8080, protocol: UDP}]
endpoints:
Y
	local e
	for e in "$@"; do echo "- {addresses: [${e%@*}], nodeName: ${e#*@}}"; done
}
svc 198.18.1.10@node1 198.18.1.11@node1 198.18.2.10@node2 198.18.2.11@node2 | put "$dir/mg.yaml"
agents_up $R "$dir" --bpf-lb-algorithm maglev
# who ADDRESS SOURCE-PORT: the pod that answers one datagram from the client.
who() {
	inns $R cl python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", int(sys.argv[2])))
s.settimeout(2)
s.sendto(b"x", (sys.argv[1], int(sys.argv[3])))
try:
    print(s.recv(200).split()[0].decode())
except socket.timeout:
    print("")' "$1" "$2" "${3:-30057}"
}
ports=$(seq 41000 41023)
declare -A first=()
for p in $ports; do
	a=$(who 198.19.0.1 "$p")
	b=$(who 198.19.0.2 "$p")
	[ -n "$a" ] || fail "port $p: no answer through node1's NodePort"
	[ "$a" = "$b" ] || fail "port $p: node1's NodePort → $a, node2's → $b: not one endpoint"
	first[$p]=$a
done
spread=$(printf '%s\n' "${first[@]}" | sort -u | tr '\n' ' ')
[ "$(wc -w <<<"$spread")" -ge 3 ] || fail "24 flows reached only [$spread]: not balanced"
note "24 source ports, each one endpoint through both nodes: [$spread]"

# One endpoint leaves: its flows move, the others keep theirs.
svc 198.18.1.10@node1 198.18.1.11@node1 198.18.2.10@node2 | put "$dir/mg.yaml"
wait_until 10 model_lacks $R 1 '"ip":"198.18.2.11"' || fail "b2 still in node1's model"
wait_until 10 model_lacks $R 2 '"ip":"198.18.2.11"' || fail "b2 still in node2's model"
moved=0
for p in $ports; do
	a=$(who 198.19.0.2 $((p + 100)))	# (a new flow)
	[ -n "$a" ] && [ "$a" != b2 ] || fail "port $((p + 100)): answered by '${a}' after b2 left"
done
for p in $ports; do
	# the same client port as before, so the same Maglev slot
	a=$(who 198.19.201.57 "$p" 80)
	if [ "${first[$p]}" = b2 ]; then
		[ "$a" != b2 ] || fail "port $p: still b2 after it left"
	elif [ "$a" != "${first[$p]}" ]; then
		moved=$((moved + 1))
	fi
done
[ "$moved" -le 2 ] || fail "$moved flows of the endpoints that stayed moved (Maglev: few)"
note "after b2 left: its flows moved, $moved of the others moved"
flows=$(inns $R node1 curl -sf http://127.0.0.1:10249/metrics |
	awk '$1 == "svcplane_bpf_tc_packets{outcome=\"flows\"}" {print $2}')
[ "${flows:-0}" -ge 24 ] 2>/dev/null || fail "svcplane_bpf_tc_packets{outcome=\"flows\"} = '$flows' on node1, want ≥ 24"
note "node1's tc programs counted $flows new flows"
