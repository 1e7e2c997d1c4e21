#!/usr/bin/env bash
# bpf mode, UDP sockets of a pod across the removal of endpoints: a
# connected UDP socket whose endpoint goes away is disconnected (its next send
# fails), and connected again it reaches a live endpoint; an unconnected
# socket of the same process keeps working, each reply from the Service
# address (recvmsg hook), never from the endpoint. An unconnected socket's
# datagrams to a Service stay on one endpoint while the Service's endpoints
# stay (as a conntrack entry keeps them in nftables mode), and move to one
# live endpoint when its own goes. Every socket sees the Service it dialled as
# its peer: an unconnected socket sending to two Services in turn, a UDP
# socket connected again elsewhere, TCP connections (their peers kept in
# sp_conn_rev until their sockets are released, on the socket past its
# capacity). sp_addrs holds the service addresses and the node's. (nftables
# has no such socket semantics: conntrack moves a flow, 0012 tests it in both
# modes.)
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
	for ip in "$@"; do echo "- {addresses: [$ip], nodeName: node${ip:7:1}}"; done
}
udp_yaml_nodes() { udp_svc udp 198.19.128.51 "$@"; }
udp_yaml_nodes 198.18.1.10 198.18.1.11 198.18.2.10 | put "$dir/udp.yaml"
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
grep -Eqx "same-socket (a1|a2|b1)" "$peers" ||
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

# A pod's TCP connections to a Service: each one's peer (what getpeername
# shows: the Service) is kept under its socket's cookie in sp_conn_rev while
# it is open, and goes when the socket is released (the sock_release hook).
# N connections held: "N 198.19.128.53:80" (the entries' service addresses);
# past the map's capacity a connection's peer is kept on its socket instead.
# (A failed read prints "unreadable", never the empty map.)
conn_revs() {
	local dump
	dump=$(bpftool -j map dump pinned "$("$SVCPLANECTL" rig path $R node1 bpf-pin)/sp_conn_rev") ||
		{ echo unreadable; return; }
	python3 -c '
import collections, ipaddress, json, socket, sys
n = collections.Counter()
for e in json.load(sys.stdin):
    v = e["formatted"]["value"]
    n["%s:%d" % (ipaddress.ip_address(bytes(v["vip_addr"][:4])), socket.ntohs(v["vip_port_be"]))] += 1
print(" ".join("%d %s" % (c, k) for k, c in sorted(n.items())))' <<<"$dump" || echo unreadable
}
tcp_held() { # N WANT-ENTRIES: N connections held, their peers, the map meanwhile and after
	local n=$1 want=$2 go=$T_ROOT/tcpgo.$1 out=$T_ROOT/tcppeers.$1 client
	inns $R a3 python3 "$TOP/tests/integration/tcppeers.py" 198.19.128.53 80 "$n" "$go" >"$out" 2>&1 &
	client=$!
	T_PIDS+=($client)
	wait_until 10 grep -qx held "$out" || fail "$n TCP connections to web: $(cat "$out")"
	[ "$(grep -cx 'peer 198.19.128.53:80' "$out")" = "$n" ] ||
		fail "$n TCP connections to web: want each peer 198.19.128.53:80, have: $(grep '^peer' "$out" | sort | uniq -c | tr '\n' ' ')"
	[ "$(conn_revs)" = "$want" ] || fail "sp_conn_rev with $n connections held: want '$want', have '$(conn_revs)'"
	touch "$go"
	wait "$client" || fail "tcppeers.py: $(cat "$out")"
	wait_until 5 eval '[ -z "$(conn_revs)" ]' || fail "sp_conn_rev after the $n sockets closed: want empty, have '$(conn_revs)'"
}
tcp_held 5 "5 198.19.128.53:80"

go=$T_ROOT/go out=$T_ROOT/udpconn.out
inns $R a3 python3 "$TOP/tests/integration/udpconn.py" 198.19.128.51 7 "$go" >"$out" 2>&1 &
client=$!
T_PIDS+=($client)
wait_until 5 grep -q '^first ' "$out" || fail "the connected socket got no answer: $(cat "$out")"
first=$(awk '$1 == "first" {print $2}' "$out")
sticky=$(awk '$1 == "unconnected-before" {print $2}' "$out")
# Both the connected socket's endpoint and the one the unconnected socket
# keeps go (one or two of three): each socket must find a live one.
declare -A ip_of=([a1]=198.18.1.10 [a2]=198.18.1.11 [b1]=198.18.2.10)
[ -n "${ip_of[$first]:-}" ] || fail "connected socket answered by '$first'"
[ -n "${ip_of[$sticky]:-}" ] || fail "unconnected socket answered by '$sticky'"
live=() keep=()
for n in a1 a2 b1; do
	[ "$n" = "$first" ] || [ "$n" = "$sticky" ] || { live+=("$n"); keep+=("${ip_of[$n]}"); }
done
udp_yaml_nodes "${keep[@]}" | put "$dir/udp.yaml"
wait_until 5 converged || fail "endpoints $first and $sticky not removed from the maps"
touch "$go"
wait "$client" || fail "udpconn.py failed: $(cat "$out")"
note "$(tr '\n' ';' <"$out")"
is_live() { [[ " ${live[*]} " == *" $1 "* ]]; }
# The connected socket: its next send fails (the socket was destroyed: an
# error, not a datagram to the old endpoint), a reconnect reaches a live one.
grep -q '^old-send ok' "$out" && fail "the old connected socket's send to removed $first succeeded: $(cat "$out")"
grep -q "^old-recv $first" "$out" && fail "the old connected socket still hears removed $first"
is_live "$(awk '$1 == "reconnect" {print $2}' "$out")" || fail "reconnect did not reach a live one of ${live[*]}: $(cat "$out")"
# The unconnected socket: before and after, answers from the Service
# address; after the removal of its endpoint, one live endpoint throughout.
after=$(awk '$1 == "unconnected" && $3 == "198.19.128.51:7" {print $2}' "$out" | sort | uniq -c)
[ "$(wc -l <<<"$after")" = 1 ] && [ "$(awk '{print $1}' <<<"$after")" = 5 ] && is_live "$(awk '{print $2}' <<<"$after")" ||
	fail "unconnected socket after the removal of its $sticky (want 5 replies from one of ${live[*]}, seen from 198.19.128.51:7): $(grep '^unconnected ' "$out")"

# sp_conn_rev full (--bpf-lb-map-max 16 sizes it; the maps are replaced for
# the new sizes): of 20 connections, 16 are kept in it and 4 on their
# sockets, and all 20 see the Service as their peer.
kill -TERM "${AGENT_PID[1]}"
wait "${AGENT_PID[1]}"
agent_start $R 1 "$dir" --bpf-lb-map-max 16
wait_until 10 inns $R node1 curl -sf http://127.0.0.1:10256/healthz || fail "agent on node1 (--bpf-lb-map-max 16) never healthy"
wait_until 5 converged || fail "node1 with --bpf-lb-map-max 16 never converged"
tcp_held 20 "16 198.19.128.53:80"
exit 0
