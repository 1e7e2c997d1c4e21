#!/usr/bin/env bash
# Shared by 0011_nft_affinity_local.sh, 0011_bpf_affinity_local.sh and
# 0011_us_affinity_local.sh (MODE set by the wrapper): ClientIP affinity keeps a client on one endpoint until
# the timeout passes, then the client may move; externalTrafficPolicy=Local
# drops NodePort traffic from outside on a node without a local endpoint, and
# the pod sees the client's own address with Local, a node's address with
# Cluster, while the node's own pods use every endpoint; the health-check node
# port answers; loadBalancerSourceRanges admit listed sources only; topology
# hints keep a node's traffic in its zone. From pods in both modes, from the
# client outside the nodes where the mode serves it (bpf: part 2).
# userspace relays: the pod sees the relaying node's address, and what NAT
# modes drop (Local without endpoints, an unlisted source) is refused or
# reset at once, the client's connection being the agent's to end.
. "$(dirname "$0")/lib.sh"
mode_test "${MODE:?set by the wrapper}"
# dropped RC WHAT: curl's exit RC is what this mode does with traffic NAT
# modes drop: 28 (timed out), or in userspace 7 or 56 (refused or reset).
dropped() {
	if in_mode userspace; then
		[ "$1" = 7 ] || [ "$1" = 56 ] || fail "$2: curl exit $1, want 7 or 56 (refused or reset at once)"
	else
		[ "$1" = 28 ] || fail "$2: curl exit $1, want 28 (dropped, timed out)"
	fi
}
rig2_test t11
cat >"$dir/svc.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: sticky, namespace: t}
spec:
  type: NodePort
  clusterIP: 198.19.128.30
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 1}}
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30030}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: sticky-1, namespace: t, labels: {kubernetes.io/service-name: sticky}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
- {addresses: [198.18.1.11], nodeName: node1}
- {addresses: [198.18.2.10], nodeName: node2}
- {addresses: [198.18.2.11], nodeName: node2}
---
apiVersion: v1
kind: Service
metadata: {name: local, namespace: t}
spec:
  type: LoadBalancer
  clusterIP: 198.19.128.31
  externalTrafficPolicy: Local
  healthCheckNodePort: 32031
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30031}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: local-1, namespace: t, labels: {kubernetes.io/service-name: local}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
- {addresses: [198.18.1.11], nodeName: node1}
---
apiVersion: v1
kind: Service
metadata: {name: cluster, namespace: t}
spec:
  type: NodePort
  clusterIP: 198.19.128.32
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30032}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: cluster-1, namespace: t, labels: {kubernetes.io/service-name: cluster}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
---
apiVersion: v1
kind: Service
metadata: {name: fw, namespace: t}
spec:
  type: LoadBalancer
  clusterIP: 198.19.128.33
  loadBalancerSourceRanges: [198.19.0.100/32]
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30033}]
status:
  loadBalancer: {ingress: [{ip: 198.19.201.33}]}
---
apiVersion: v1
kind: Service
metadata: {name: closed, namespace: t}
spec:
  type: LoadBalancer
  clusterIP: 198.19.128.34
  loadBalancerSourceRanges: [203.0.113.0/24]
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30034}]
status:
  loadBalancer: {ingress: [{ip: 198.19.201.34}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: fw-1, namespace: t, labels: {kubernetes.io/service-name: fw}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [198.18.1.12], nodeName: node1}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: closed-1, namespace: t, labels: {kubernetes.io/service-name: closed}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [198.18.1.12], nodeName: node1}
---
apiVersion: v1
kind: Node
metadata: {name: node1, labels: {topology.kubernetes.io/zone: zone-a}}
---
apiVersion: v1
kind: Node
metadata: {name: node2, labels: {topology.kubernetes.io/zone: zone-b}}
---
apiVersion: v1
kind: Service
metadata: {name: zonal, namespace: t}
spec:
  clusterIP: 198.19.128.35
  trafficDistribution: PreferClose
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: zonal-1, namespace: t, labels: {kubernetes.io/service-name: zonal}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1, zone: zone-a, hints: {forZones: [{name: zone-a}]}}
- {addresses: [198.18.1.11], nodeName: node1, zone: zone-a, hints: {forZones: [{name: zone-a}]}}
- {addresses: [198.18.2.10], nodeName: node2, zone: zone-b, hints: {forZones: [{name: zone-b}]}}
Y
agents_up $R "$dir"

# Affinity: one endpoint for 30 requests in a row (ClusterIP and NodePort).
# bpf keys affinity on the client's network namespace: pod a3 is one client.
for url in http://198.19.128.30/ http://198.19.0.1:30030/; do
	out=$(hits $R a3 30 "curl -s -m 2 $url")
	[ "$(wc -l <<<"$out")" -eq 1 ] || fail "affinity to $url from pod a3 not kept: $out"
done
if from_cl "affinity of the client to the ClusterIP and node2's NodePort"; then
	for url in http://198.19.128.30/ http://198.19.0.2:30030/; do
		out=$(hits $R cl 30 "curl -s -m 2 $url")
		[ "$(wc -l <<<"$out")" -eq 1 ] || fail "affinity to $url not kept: $out"
	done
fi
# After the timeout (1 s, refreshed by each new connection) the choice is made
# again: over 8 rounds, more than one endpoint must come up.
expires() { # member
	local seen="" round
	for round in $(seq 8); do
		sleep 1.3
		seen+=$(inns $R "$1" curl -s -m 2 http://198.19.128.30/ | awk '{print $1}')$'\n'
	done
	[ "$(sort -u <<<"$seen" | grep -c .)" -gt 1 ] || fail "affinity of $1 never expired: $seen"
}
expires a3
if from_cl "affinity expiry for the client"; then expires cl; fi

# externalTrafficPolicy=Local: node1 has endpoints, node2 has none. The
# node's own pods are short-circuited to every endpoint (as kube-proxy).
out=$(hits $R b3 20 'curl -s -m 2 http://198.19.0.2:30031/' | awk '{print $1}' | sort | tr '\n' ' ')
[ "$out" = "a1 a2 " ] || fail "Local NodePort on node2 from its pod b3: [$out], want a1 a2 (every endpoint)"
out=$(hits $R a3 20 'curl -s -m 2 http://198.19.0.1:30031/' | awk '{print $1}' | sort | tr '\n' ' ')
[ "$out" = "a1 a2 " ] || fail "Local NodePort on node1 from its pod a3: [$out]"
if from_cl "Local NodePort from the client: node1's endpoint sees the client, node2 drops"; then
	out=$(inns $R cl curl -s -m 2 http://198.19.0.1:30031/)
	if in_mode userspace; then
		[[ "$out" == a[12]" 198.18.1.1:"* ]] || fail "Local NodePort on node1: '$out' (want a pod on node1 seeing node1)"
	else
		[[ "$out" == a[12]" 198.19.0.100:"* ]] || fail "Local NodePort on node1: '$out' (want a pod on node1 seeing the client)"
	fi
	inns $R cl curl -s -m 2 http://198.19.0.2:30031/ && fail "Local NodePort on node2 (no local endpoint) answered"
	rc=$(inns $R cl sh -c 'curl -s -m 2 -o /dev/null http://198.19.0.2:30031/; echo $?')
	dropped "$rc" "Local NodePort on node2 (no local endpoint)"
fi
# The health-check node port tells load balancers which node has endpoints
# (asked from a pod of each node, and from the client where it is served).
hc_check() { # member
	local body code
	body=$(inns $R "$1" curl -s -D "$dir/../h1" http://198.19.0.1:32031/)
	python3 -c 'import json,sys; b=json.loads(sys.argv[1]); assert b=={"service":{"namespace":"t","name":"local"},"localEndpoints":2,"serviceProxyHealthy":True}, b' "$body" ||
		fail "health check on node1 from $1: $body"
	grep -qi '^X-Load-Balancing-Endpoint-Weight: 2' "$dir/../h1" || fail "health check header on node1 from $1"
	code=$(inns $R "$1" curl -s -o /dev/null -w '%{http_code}' http://198.19.0.2:32031/)
	[ "$code" = 503 ] || fail "health check on node2 (no local endpoint) from $1: $code, want 503"
}
hc_check a3
hc_check b3
if from_cl "health-check node ports from the client"; then hc_check cl; fi
# Cluster policy: every endpoint; bpf connects the pod's socket straight to
# it (the pod sees b3's own address).
out=$(inns $R b3 curl -s -m 2 http://198.19.0.2:30032/)
[[ "$out" == "a1 "* ]] || fail "Cluster NodePort on node2 from pod b3: '$out'"
if in_mode bpf; then [[ "$out" == "a1 198.18.2.12:"* ]] || fail "bpf: pod b3's source not kept: '$out'"; fi
if from_cl "Cluster NodePort via node2 from the client (masqueraded)"; then
	out=$(inns $R cl curl -s -m 2 http://198.19.0.2:30032/)
	[[ "$out" == "a1 198.19.0.2:"* ]] || fail "Cluster NodePort via node2: '$out' (want a1 seeing node2's address)"
fi
# Topology hints: pods on node2 (zone-b) reach zone-b's endpoint only, node1's
# pods only zone-a's.
out=$(hits $R b3 20 'curl -s -m 2 http://198.19.128.35/')
[ "$(awk '{print $1}' <<<"$out")" = b1 ] || fail "zone-b traffic left its zone: $out"
out=$(hits $R a3 20 'curl -s -m 2 http://198.19.128.35/' | awk '{print $1}' | sort | tr '\n' ' ')
[ "$out" = "a1 a2 " ] || fail "zone-a traffic: [$out]"
# loadBalancerSourceRanges: the listed client is let in, an unlisted one is not
# (dropped: a timeout), and NodePorts are not subject to them (as kube-proxy).
# Pod a3 (198.18.1.12) is in neither service's ranges. The bpf socket
# balancer does not enforce source ranges yet (README).
if bpf_lacks "loadBalancerSourceRanges for the node's own pods"; then
	rc=$(inns $R a3 sh -c 'curl -s -m 2 -o /dev/null http://198.19.201.33/; echo $?')
	dropped "$rc" "LB with source ranges without pod a3's address, from a3"
	rc=$(inns $R a3 sh -c 'curl -s -m 2 -o /dev/null http://198.19.201.34/; echo $?')
	dropped "$rc" "LB with other source ranges, from a3"
fi
out=$(inns $R a3 curl -s -m 2 http://198.19.0.1:30034/)
[[ "$out" == a3* ]] || fail "NodePort of a source-ranged LB from pod a3: '$out'"
if from_cl "loadBalancerSourceRanges for the client (listed, unlisted, NodePort)"; then
	out=$(inns $R cl curl -s -m 2 http://198.19.201.33/)
	[[ "$out" == a3* ]] || fail "LB with the client's address in its source ranges: '$out'"
	rc=$(inns $R cl sh -c 'curl -s -m 2 -o /dev/null http://198.19.201.34/; echo $?')
	dropped "$rc" "LB with other source ranges"
	out=$(inns $R cl curl -s -m 2 http://198.19.0.1:30034/)
	[[ "$out" == a3* ]] || fail "NodePort of a source-ranged LB: '$out'"
fi

mode_done
