#!/usr/bin/env bash
# nftables mode on a two-node rig, an agent per node: every service type answers
# through its ClusterIP, NodePort (both nodes), external IP and load-balancer IP,
# over IPv4 and IPv6, for TCP (curl), UDP (nc) and DNS over UDP and TCP (dig to
# dnsmasq in pods); across 200 requests every ready endpoint answers and the
# terminating one never does while ready ones exist.
. "$(dirname "$0")/lib.sh"
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

what="ClusterIP v4, 200 requests from the client"
out=$(hits $R cl 200 'curl -s -m 2 http://198.19.128.20/')
expect_spread "$out" a1 a2 b1      # b2 is terminating: never while others are ready
what="ClusterIP v4 from pod b3 on node2 (node2's own rules)"
expect_spread "$(hits $R b3 60 'curl -s -m 2 http://198.19.128.20/')" a1 a2 b1
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

what="UDP ClusterIP"
expect_spread "$(udp_hits $R cl 40 198.19.128.21 7)" a1 b1
what="UDP ClusterIP with nc"
out=$(inns $R cl sh -c 'echo x | nc -u -w 1 198.19.128.21 7')
[[ "$out" == a1* || "$out" == b1* ]] || fail "$what: '$out'"
what="UDP NodePort on node2"
expect_spread "$(udp_hits $R cl 40 198.19.0.2 30021)" a1 b1

dns() { hits $R cl 30 "dig +short +time=2 +tries=1 $* TXT who.svc.test | tr -d '\"'"; }
# DNS over UDP and TCP through every kind of address, both families.
for target in "@198.19.128.53" "@fd00:96::53" "@198.19.200.53" "@fd00:200::53" \
	"@198.19.201.53" "@fd00:201::53" "-p 30053 @198.19.0.2" "-p 30053 @fd00:19::1"; do
	what="DNS over UDP to $target"
	expect_spread "$(dns $target)" a3 b3
	what="DNS over TCP to $target"
	expect_spread "$(dns +tcp $target)" a3 b3
done

# Hairpin: a pod reaching itself through its own service is masqueraded (to
# its node's bridge address), so the reply comes back through the node.
out=$(inns $R a1 curl -s -m 2 http://198.19.128.22/)
[[ "$out" == "a1 198.18.1.1:"* ]] || fail "hairpin: '$out' (want a1 seeing 198.18.1.1)"

# Source addresses: a pod's own address is kept; the client from outside the
# cluster CIDR is masqueraded to a node address.
out=$(inns $R b3 curl -s -m 2 http://198.19.128.20/)
[[ "$out" == *" 198.18.2.12:"* || "$out" == "b1 198.18.2.1:"* ]] || fail "pod source not kept: $out"
out=$(inns $R cl curl -s -m 2 http://198.19.128.20/)
[[ "$out" != *"198.19.0.100:"* ]] || fail "client from outside the cluster not masqueraded: $out"
exit 0
