#!/usr/bin/env bash
# bpf mode, UDP sockets of a pod across the removal of an endpoint: a
# connected UDP socket whose endpoint goes away is disconnected (its next send
# fails), and connected again it reaches a live endpoint; an unconnected
# socket of the same process keeps working, each reply from the Service
# address (recvmsg hook), never from the endpoint. Every socket sees the
# Service it dialled as its peer: an unconnected socket sending to two
# Services in turn, a UDP socket connected again elsewhere, a TCP connection.
# An unconnected socket's datagrams to a Service stay on one endpoint while
# its endpoints stay (as a conntrack entry keeps them in nftables mode).
# (nftables has no such
# socket semantics: conntrack moves a flow, 0012 tests it in both modes.)
. "$(dirname "$0")/lib.sh"
mode_test bpf
rig2_test t50
udp_svc() { # NAME CLUSTER-IP endpoints...
	local name=$1 vip=$2 ip; shift 2
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: $name, namespace: t}
spec:
  clusterIP: $vip
  ports: [{name: u, port: 7, targetPort: 8080, protocol: UDP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $name-1, namespace: t, labels: {kubernetes.io/service-name: $name}}
addressType: IPv4
ports: [{name: u, port: 8080, protocol: UDP}]
endpoints:
Y
	for ip in "$@"; do echo "- {addresses: [$ip], nodeName: node1}"; done
}
udp_yaml() { udp_svc udp 198.19.128.51 "$@"; }
udp_yaml 198.18.1.10 198.18.1.11 | put "$dir/udp.yaml"
udp_svc udp2 198.19.128.52 198.18.1.10 198.18.1.11 | put "$dir/udp2.yaml"
nodeport_svc web 198.19.128.53 80 8080 30053 198.18.1.10@node1 | put "$dir/web.yaml"
agents_up $R "$dir"

peers=$T_ROOT/peers.out
inns $R a3 python3 "$TOP/tests/integration/sockpeers.py" 198.19.128.51 198.19.128.52 7 198.19.128.53 80 \
	>"$peers" 2>&1 || fail "sockpeers.py failed: $(cat "$peers")"
[ "$(awk '$1 == "unconnected" {printf "%s ", $2}' "$peers")" = \
	"198.19.128.51:7 198.19.128.52:7 198.19.128.51:7 198.19.128.52:7 198.19.128.51:7 198.19.128.52:7 " ] ||
	fail "an unconnected socket sending to two Services in turn: replies seen from $(grep '^unconnected' "$peers" | tr '\n' ' ')"
grep -qx "udp-peer 198.19.128.52:7" "$peers" || fail "a UDP socket connected again: $(grep '^udp-peer' "$peers")"
grep -qx "udp-from 198.19.128.52:7" "$peers" || fail "its reply: $(grep '^udp-from' "$peers")"
grep -qx "tcp-peer 198.19.128.53:80" "$peers" || fail "a TCP connection's peer: $(grep '^tcp-peer' "$peers")"
grep -Eqx "same-socket a[12]" "$peers" ||
	fail "one unconnected socket's datagrams to one Service, while its endpoints stay: want one endpoint, have $(grep '^same-socket' "$peers")"

# sp_addrs, what the hooks look at twice: the service addresses (1) and
# node1's own (2), nothing else; a service's address leaves with it.
addrs() {
	bpftool -j map dump pinned "$("$SVCPLANECTL" rig path $R node1 bpf-pin)/sp_addrs" | python3 -c '
import ipaddress, json, sys
for e in json.load(sys.stdin):
    f = e["formatted"]
    b = bytes(f["key"]["addr"][:4 if f["key"]["family"] == 4 else 16])
    print(ipaddress.ip_address(b), f["value"])' | sort | tr '\n' ' '
}
want="198.19.0.1 2 198.19.128.51 1 198.19.128.52 1 198.19.128.53 1 fd00:19::1 2 "
[ "$(addrs)" = "$want" ] || fail "sp_addrs: want '$want', have '$(addrs)'"
rm "$dir/udp2.yaml"
want="198.19.0.1 2 198.19.128.51 1 198.19.128.53 1 fd00:19::1 2 "
wait_until 5 eval '[ "$(addrs)" = "$want" ]' || fail "sp_addrs after udp2 left: want '$want', have '$(addrs)'"
converged() { inns $R node1 "$SVCPLANECTL" diff --manifests "$dir" --hostname-override node1; }

go=$T_ROOT/go out=$T_ROOT/udpconn.out
inns $R a3 python3 "$TOP/tests/integration/udpconn.py" 198.19.128.51 7 "$go" >"$out" 2>&1 &
client=$!
T_PIDS+=($client)
wait_until 5 grep -q '^first ' "$out" || fail "the connected socket got no answer: $(cat "$out")"
first=$(awk '$1 == "first" {print $2}' "$out")
case $first in
a1) gone=198.18.1.10 live=a2; udp_yaml 198.18.1.11 | put "$dir/udp.yaml" ;;
a2) gone=198.18.1.11 live=a1; udp_yaml 198.18.1.10 | put "$dir/udp.yaml" ;;
*) fail "connected socket answered by '$first'" ;;
esac
wait_until 5 converged || fail "endpoint $gone not removed from the maps"
touch "$go"
wait "$client" || fail "udpconn.py failed: $(cat "$out")"
note "$(tr '\n' ';' <"$out")"
# The connected socket: its next send fails (the socket was destroyed: an
# error, not a datagram to the old endpoint), a reconnect reaches the live one.
grep -q '^old-send ok' "$out" && fail "the old connected socket's send to removed $first succeeded: $(cat "$out")"
grep -q "^old-recv $first" "$out" && fail "the old connected socket still hears removed $first"
grep -qx "reconnect $live" "$out" || fail "reconnect did not reach live $live: $(cat "$out")"
# The unconnected socket: before and after, answers from the Service address;
# after the removal, only the live endpoint.
[ "$(grep -c "^unconnected-before a[12] 198.19.128.51:7$" "$out")" = 1 ] ||
	fail "unconnected socket before the removal: $(grep '^unconnected-before' "$out")"
[ "$(grep -cx "unconnected $live 198.19.128.51:7" "$out")" = 5 ] ||
	fail "unconnected socket after the removal (want 5 replies from $live seen from 198.19.128.51:7): $(grep '^unconnected ' "$out")"
exit 0
