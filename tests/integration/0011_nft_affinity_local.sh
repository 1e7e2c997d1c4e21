#!/usr/bin/env bash
# nftables mode: ClientIP affinity keeps a client on one endpoint until the
# timeout passes, then the client may move; externalTrafficPolicy=Local drops
# NodePort traffic on a node without a local endpoint, and the pod sees the
# client's own address with Local, a node's address with Cluster.
. "$(dirname "$0")/lib.sh"
need_netns
R=t11
rig2_up $R
dir=$(t_tmpdir)/m
mkdir "$dir"
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
  type: NodePort
  clusterIP: 198.19.128.31
  externalTrafficPolicy: Local
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
Y
agents_up $R "$dir"

# Affinity: one endpoint for 30 requests in a row (ClusterIP and NodePort).
for url in http://198.19.128.30/ http://198.19.0.2:30030/; do
	out=$(hits $R cl 30 "curl -s -m 2 $url")
	[ "$(wc -l <<<"$out")" -eq 1 ] || fail "affinity to $url not kept: $out"
done
# After the timeout (1 s, refreshed by each new connection) the choice is made
# again: over 8 rounds, more than one endpoint must come up.
seen=""
for round in $(seq 8); do
	sleep 1.3
	seen+=$(inns $R cl curl -s -m 2 http://198.19.128.30/ | awk '{print $1}')$'\n'
done
[ "$(sort -u <<<"$seen" | grep -c .)" -gt 1 ] || fail "affinity never expired: $seen"

# externalTrafficPolicy=Local: node1 has endpoints, node2 has none.
out=$(inns $R cl curl -s -m 2 http://198.19.0.1:30031/)
[[ "$out" == a[12]" 198.19.0.100:"* ]] || fail "Local NodePort on node1: '$out' (want a pod on node1 seeing the client)"
inns $R cl curl -s -m 2 http://198.19.0.2:30031/ && fail "Local NodePort on node2 (no local endpoint) answered"
rc=$(inns $R cl sh -c 'curl -s -m 2 -o /dev/null http://198.19.0.2:30031/; echo $?')
[ "$rc" = 28 ] || fail "Local NodePort on node2 should drop (timeout 28), got curl exit $rc"
# Cluster policy: the pod sees a node's address, not the client's.
out=$(inns $R cl curl -s -m 2 http://198.19.0.2:30032/)
[[ "$out" == "a1 198.19.0.2:"* ]] || fail "Cluster NodePort via node2: '$out' (want a1 seeing node2's address)"
exit 0
