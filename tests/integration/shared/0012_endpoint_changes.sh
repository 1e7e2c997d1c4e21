#!/usr/bin/env bash
# Shared by 0012_nft_endpoint_changes.sh and 0012_bpf_endpoint_changes.sh
# (MODE set by the wrapper): a port with no endpoints, and a port a ClusterIP
# does not serve, refuse at once (nftables: TCP reset / ICMP port unreachable;
# bpf: ECONNREFUSED at connect), not a timeout; removing one endpoint breaks
# no established TCP connection; a UDP flow on a removed endpoint moves to a
# live one (nftables: its conntrack entry is deleted; bpf: an unconnected
# socket's next send is balanced anew); the dataplane tracks the slice within
# the bound. From a pod in both modes, from the client outside the nodes where
# the mode serves it (bpf: part 2).
. "$(dirname "$0")/lib.sh"
mode_test "${MODE:?set by the wrapper}"
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

# converged: node1's dataplane is what the manifests say.
converged() { inns $R node1 "$SVCPLANECTL" diff --manifests "$dir" --hostname-override node1; }

# No endpoints, or a port the ClusterIP does not serve: refused at once.
refused() { # member url what
	local start rc ms
	start=$(date +%s%N)
	rc=$(inns $R "$1" sh -c "curl -s -m 5 -o /dev/null $2; echo \$?")
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$rc" = 7 ] || fail "TCP from $1 to $3: curl exit $rc, want 7 (refused)"
	[ "$ms" -lt 2000 ] || fail "refusal of $3 from $1 took ${ms} ms: not at once"
}
udp_refused() { # member
	local out
	out=$(inns $R "$1" python3 -c 'import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(2)
try:
    s.connect(("198.19.128.42",53)); s.send(b"x"); s.recv(10); print("answer")
except ConnectionRefusedError: print("refused")
except socket.timeout: print("timeout")')
	[ "$out" = refused ] || fail "UDP from $1 to a service without endpoints: $out, want refused"
}
refused a3 http://198.19.128.42/ "a service without endpoints"
udp_refused a3
refused a3 http://198.19.128.40:9999/ "a port the ClusterIP does not serve"
if from_cl "refusals (TCP, UDP) for the client"; then
	refused cl http://198.19.128.42/ "a service without endpoints"
	udp_refused cl
fi

# Established TCP connections survive the removal of an endpoint.
tcp_survives() { # member
	hold_yaml 198.18.1.10 198.18.1.11 198.18.2.10 | put "$dir/hold.yaml"
	wait_until 5 converged || fail "hold not back to three endpoints"
	inns $R "$1" $FLOWS tcp 198.19.128.40 9000 6 3 >"$dir/tcp.out" &
	flows=$!
	sleep 0.7
	hold_yaml 198.18.1.10 198.18.2.10 | put "$dir/hold.yaml"      # 198.18.1.11 goes
	wait $flows
	grep -q '^ok' "$dir/tcp.out" || fail "established connections from $1 broke: $(cat "$dir/tcp.out")"
	if in_mode nftables; then
		wait_until 2 out_lacks 198.18.1.11 inns $R node1 nft list map ip svcplane backends ||
			fail "removed endpoint still programmed"
	else
		wait_until 2 out_lacks 198.18.1.11 inns $R node1 "$SVCPLANECTL" dump ||
			fail "removed endpoint still in the maps"
	fi
}
tcp_survives a3
if from_cl "established TCP connections from the client"; then tcp_survives cl; fi

# A UDP flow (one socket, unconnected: sendto each time) moves off a removed endpoint.
udp_moves() { # member
	local first last
	udp_yaml 198.18.1.10 198.18.2.10 | put "$dir/udp.yaml"
	wait_until 5 converged || fail "udp not back to two endpoints"
	inns $R "$1" $FLOWS udp 198.19.128.41 7 3 >"$dir/udp.out" &
	flows=$!
	sleep 0.6
	first=$(head -1 "$dir/udp.out")
	case $first in
	a1) udp_yaml 198.18.2.10 | put "$dir/udp.yaml" ;;
	b1) udp_yaml 198.18.1.10 | put "$dir/udp.yaml" ;;
	*) fail "UDP flow from $1 got no answer: $first" ;;
	esac
	wait $flows
	last=$(tail -5 "$dir/udp.out" | sort -u | tr '\n' ' ')
	[[ "$last" != *"$first"* && "$last" != *"-"* ]] || fail "UDP flow from $1 stuck on removed endpoint $first: last replies [$last]"
}
udp_moves a3
in_mode nftables && { grep -q 'conntrack: removed [1-9]' "$AGENT_LOG_DIR/agent1.log" || fail "no conntrack cleanup logged"; }
if from_cl "a UDP flow from the client"; then udp_moves cl; fi
mode_done
