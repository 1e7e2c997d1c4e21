# Shared by 0010_nft_service_types.sh and 0010_bpf_service_types.sh (MODE set
# by the wrapper). On a two-node rig, an agent per node: every service type
# answers through its ClusterIP, NodePort, external IP and load-balancer IP,
# over IPv4 and IPv6, for TCP (curl), UDP (nc, unconnected sockets) and DNS
# over UDP and TCP (dig to dnsmasq in pods); across 200 requests every ready
# endpoint answers and the terminating one never does while ready ones exist.
# From pods and nodes in both modes; from the client outside the nodes where
# the mode serves it (bpf: part 2). Source addresses: nftables masquerades
# hairpin and outside clients; bpf connects sockets straight to the endpoint,
# so the pod sees the client's own address, also its own in a hairpin.
. "$(dirname "$0")/lib.sh"
mode_test "${MODE:?set by the wrapper}"
rig2_test t10

cat >"$dir/web.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web, namespace: t}
spec:
  type: LoadBalancer
  clusterIP: 198.19.128.20
  clusterIPs: [198.19.128.20, "fd00:96::20"]
  ipFamilies: [IPv4, IPv6]
  externalIPs: [198.19.200.20, "fd00:200::20"]
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30020}]
status:
  loadBalancer: {ingress: [{ip: 198.19.201.20}, {ip: "fd00:201::20"}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-4, namespace: t, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
- {addresses: [198.18.1.11], nodeName: node1}
- {addresses: [198.18.2.10], nodeName: node2}
- {addresses: [198.18.2.11], nodeName: node2, conditions: {ready: false, serving: true, terminating: true}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-6, namespace: t, labels: {kubernetes.io/service-name: web}}
addressType: IPv6
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: ["fd00:10:0:1::10"], nodeName: node1}
- {addresses: ["fd00:10:0:2::10"], nodeName: node2}
---
apiVersion: v1
kind: Service
metadata: {name: udp, namespace: t}
spec:
  type: NodePort
  clusterIP: 198.19.128.21
  ports: [{name: u, port: 7, targetPort: 8080, protocol: UDP, nodePort: 30021}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: udp-1, namespace: t, labels: {kubernetes.io/service-name: udp}}
addressType: IPv4
ports: [{name: u, port: 8080, protocol: UDP}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
- {addresses: [198.18.2.10], nodeName: node2}
---
apiVersion: v1
kind: Service
metadata: {name: self, namespace: t}
spec:
  clusterIP: 198.19.128.22
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: self-1, namespace: t, labels: {kubernetes.io/service-name: self}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
---
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: t}
spec:
  type: LoadBalancer
  clusterIP: 198.19.128.53
  clusterIPs: [198.19.128.53, "fd00:96::53"]
  ipFamilies: [IPv4, IPv6]
  externalIPs: [198.19.200.53, "fd00:200::53"]
  ports:
  - {name: dns, port: 53, protocol: UDP, nodePort: 30053}
  - {name: dns-tcp, port: 53, protocol: TCP, nodePort: 30053}
status:
  loadBalancer: {ingress: [{ip: 198.19.201.53}, {ip: "fd00:201::53"}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dns-4, namespace: t, labels: {kubernetes.io/service-name: dns}}
addressType: IPv4
ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}]
endpoints:
- {addresses: [198.18.1.12], nodeName: node1}
- {addresses: [198.18.2.12], nodeName: node2}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dns-6, namespace: t, labels: {kubernetes.io/service-name: dns}}
addressType: IPv6
ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}]
endpoints:
- {addresses: ["fd00:10:0:1::12"], nodeName: node1}
- {addresses: ["fd00:10:0:2::12"], nodeName: node2}
Y
# DNS servers in pods a3 and b3 answer a TXT record with their own name.
for p in a3 b3; do
	inns $R $p dnsmasq -k --no-resolv --no-hosts --port=53 --user=root --pid-file= \
		--txt-record=who.svc.test,$p >/dev/null 2>&1 &
	T_PIDS+=($!)
done
agents_up $R "$dir"

# expect_spread NAME PODS... : "hits" output has exactly these pods, each > 0.
expect_spread() {
	local out=$1; shift
	local got want
	got=$(awk '{print $1}' <<<"$out" | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	[ "$got" = "$want" ] || fail "$what: answered by [$got], want [$want]"
}

what="ClusterIP v4, 200 requests from pod b3 on node2 (node2's own dataplane)"
expect_spread "$(hits $R b3 200 'curl -s -m 2 http://198.19.128.20/')" a1 a2 b1 # b2 is terminating: never while others are ready
what="ClusterIP v4 from node2 itself"
expect_spread "$(hits $R node2 60 'curl -s -m 2 http://198.19.128.20/')" a1 a2 b1
# A node's NodePort from its own pods (and the node itself).
what="NodePort on 198.19.0.1 from pod a3"
expect_spread "$(hits $R a3 60 'curl -s -m 2 http://198.19.0.1:30020/')" a1 a2 b1
what="NodePort on 198.19.0.2 from pod b3"
expect_spread "$(hits $R b3 60 'curl -s -m 2 http://198.19.0.2:30020/')" a1 a2 b1
what="NodePort on 198.19.0.2 from node2"
expect_spread "$(hits $R node2 60 'curl -s -m 2 http://198.19.0.2:30020/')" a1 a2 b1
what="externalIP v4 from pod b3"
expect_spread "$(hits $R b3 60 'curl -s -m 2 http://198.19.200.20/')" a1 a2 b1
what="load-balancer IP v4 from pod b3"
expect_spread "$(hits $R b3 60 'curl -s -m 2 http://198.19.201.20/')" a1 a2 b1
what="ClusterIP v6 from pod b3"
expect_spread "$(hits $R b3 40 'curl -s -m 2 http://[fd00:96::20]/')" a1 b1
what="externalIP v6 from pod b3"
expect_spread "$(hits $R b3 40 'curl -s -m 2 http://[fd00:200::20]/')" a1 b1
what="load-balancer IP v6 from pod b3"
expect_spread "$(hits $R b3 40 'curl -s -m 2 http://[fd00:201::20]/')" a1 b1
what="NodePort v6 on node2 from pod b3"
expect_spread "$(hits $R b3 40 'curl -s -m 2 http://[fd00:19::2]:30020/')" a1 b1
if from_cl "ClusterIP, NodePorts (both nodes), external and LB IPs, both families, from the client"; then
	what="ClusterIP v4, 200 requests from the client"
	expect_spread "$(hits $R cl 200 'curl -s -m 2 http://198.19.128.20/')" a1 a2 b1
	for node in 198.19.0.1 198.19.0.2; do
		what="NodePort on $node"
		expect_spread "$(hits $R cl 60 "curl -s -m 2 http://$node:30020/")" a1 a2 b1
	done
	what="externalIP v4"
	expect_spread "$(hits $R cl 60 'curl -s -m 2 http://198.19.200.20/')" a1 a2 b1
	what="load-balancer IP v4"
	expect_spread "$(hits $R cl 60 'curl -s -m 2 http://198.19.201.20/')" a1 a2 b1
	what="ClusterIP v6"
	expect_spread "$(hits $R cl 40 'curl -s -m 2 http://[fd00:96::20]/')" a1 b1
	what="externalIP v6"
	expect_spread "$(hits $R cl 40 'curl -s -m 2 http://[fd00:200::20]/')" a1 b1
	what="load-balancer IP v6"
	expect_spread "$(hits $R cl 40 'curl -s -m 2 http://[fd00:201::20]/')" a1 b1
	what="NodePort v6 on node2"
	expect_spread "$(hits $R cl 40 'curl -s -m 2 http://[fd00:19::2]:30020/')" a1 b1
fi

# UDP from a pod: unconnected sockets (a new one per request), a connected one (nc).
what="UDP ClusterIP from pod b3"
expect_spread "$(udp_hits $R b3 40 198.19.128.21 7)" a1 b1
what="UDP ClusterIP with nc from pod b3"
out=$(inns $R b3 sh -c 'echo x | nc -u -w 1 198.19.128.21 7')
[[ "$out" == a1* || "$out" == b1* ]] || fail "$what: '$out'"
what="UDP NodePort on node2 from pod b3"
expect_spread "$(udp_hits $R b3 40 198.19.0.2 30021)" a1 b1
if from_cl "UDP ClusterIP (unconnected and nc) and NodePort from the client"; then
	what="UDP ClusterIP"
	expect_spread "$(udp_hits $R cl 40 198.19.128.21 7)" a1 b1
	what="UDP ClusterIP with nc"
	out=$(inns $R cl sh -c 'echo x | nc -u -w 1 198.19.128.21 7')
	[[ "$out" == a1* || "$out" == b1* ]] || fail "$what: '$out'"
	what="UDP NodePort on node2"
	expect_spread "$(udp_hits $R cl 40 198.19.0.2 30021)" a1 b1
fi

dns() { local m=$1; shift; hits $R "$m" 30 "dig +short +time=2 +tries=1 $* TXT who.svc.test | tr -d '\"'"; }
# DNS over UDP and TCP through every kind of address, both families, from pod
# a2 (NodePorts: its own node's).
for target in "@198.19.128.53" "@fd00:96::53" "@198.19.200.53" "@fd00:200::53" \
	"@198.19.201.53" "@fd00:201::53" "-p 30053 @198.19.0.1" "-p 30053 @fd00:19::1"; do
	what="DNS over UDP to $target from pod a2"
	expect_spread "$(dns a2 $target)" a3 b3
	what="DNS over TCP to $target from pod a2"
	expect_spread "$(dns a2 +tcp $target)" a3 b3
done
if from_cl "DNS over UDP and TCP to every address from the client"; then
	for target in "@198.19.128.53" "@fd00:96::53" "@198.19.200.53" "@fd00:200::53" \
		"@198.19.201.53" "@fd00:201::53" "-p 30053 @198.19.0.2" "-p 30053 @fd00:19::1"; do
		what="DNS over UDP to $target"
		expect_spread "$(dns cl $target)" a3 b3
		what="DNS over TCP to $target"
		expect_spread "$(dns cl +tcp $target)" a3 b3
	done
fi

# Hairpin: a pod reaching itself through its own service. nftables
# masquerades it (to its node's bridge address), so the reply comes back
# through the node; bpf connects the socket to the pod itself.
out=$(inns $R a1 curl -s -m 2 http://198.19.128.22/)
if in_mode bpf; then
	[[ "$out" == "a1 198.18.1.10:"* ]] || fail "hairpin: '$out' (want a1 seeing itself, 198.18.1.10)"
else
	[[ "$out" == "a1 198.18.1.1:"* ]] || fail "hairpin: '$out' (want a1 seeing 198.18.1.1)"
fi

# Source addresses: a pod's own address is kept (both families); the client
# from outside the cluster CIDR is masqueraded to a node address.
out=$(inns $R b3 curl -s -m 2 http://198.19.128.20/)
if in_mode bpf; then
	[[ "$out" == *" 198.18.2.12:"* ]] || fail "pod source not kept: $out"
else
	[[ "$out" == *" 198.18.2.12:"* || "$out" == "b1 198.18.2.1:"* ]] || fail "pod source not kept: $out"
fi
out=$(inns $R b3 curl -s -m 2 'http://[fd00:96::20]/')
[[ "$out" == *" [fd00:10:0:2::12]:"* ]] || { in_mode nftables && [[ "$out" == b1* ]]; } ||
	fail "pod source (v6) not kept: $out"
# From outside the cluster CIDR: nftables masquerades (as kube-proxy); bpf
# keeps the client's address where the endpoint is on the node that took the
# packet (node1, where the fabric routes ClusterIPs) and SNATs to node1's
# address where it is on another node (as Cilium): look at both.
if from_cl "the client's source masqueraded (bpf: SNATed to another node only)"; then
	declare -A seen_from=()
	for _ in $(seq 30); do
		out=$(inns $R cl curl -s -m 2 http://198.19.128.20/)
		seen_from[${out%% *}]=${out#* }
	done
	[ ${#seen_from[@]} -gt 0 ] || fail "the client got no answer from 198.19.128.20"
	for who in "${!seen_from[@]}"; do
		src=${seen_from[$who]%:*}
		if in_mode bpf && [[ $who == a* ]]; then
			[ "$src" = 198.19.0.100 ] || fail "bpf: $who (on node1) saw $src, not the client"
		elif in_mode bpf; then
			[ "$src" = 198.19.0.1 ] || fail "bpf: $who (on node2) saw $src, not node1's address"
		else
			[ "$src" != 198.19.0.100 ] || fail "client from outside the cluster not masqueraded: $who $src"
		fi
	done
fi
mode_done
