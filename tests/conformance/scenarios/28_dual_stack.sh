#!/usr/bin/env bash
# scenario: 28. dual-stack: a RequireDualStack service reached on its IPv4 and IPv6 ClusterIPs
. "$(dirname "$0")/../lib.sh"
apply ds <<'Y'
apiVersion: v1
kind: Service
metadata: {name: ds, namespace: cf}
spec:
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  clusterIP: 198.19.128.128
  clusterIPs: [198.19.128.128, "fd00:96::128"]
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ds-4, namespace: cf, labels: {kubernetes.io/service-name: ds}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
- {addresses: [198.18.2.10], nodeName: node2}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ds-6, namespace: cf, labels: {kubernetes.io/service-name: ds}}
addressType: IPv6
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: ["fd00:10:0:1::10"], nodeName: node1}
- {addresses: ["fd00:10:0:2::10"], nodeName: node2}
Y
programmed '"fd00:96::128"'
for m in a2 b2; do
	expect_pods $m 30 http://198.19.128.128/ "a1 b1"
	expect_pods $m 30 'http://[fd00:96::128]/' "a1 b1"
done
