#!/usr/bin/env bash
# scenario: 3. should serve endpoints on same port and different protocols
# One port number for TCP and UDP, each with its own endpoints.
. "$(dirname "$0")/../lib.sh"
apply proto <<'Y'
apiVersion: v1
kind: Service
metadata: {name: proto, namespace: cf}
spec:
  clusterIP: 198.19.128.103
  ports: [{name: tcp, port: 53, protocol: TCP, targetPort: 8080}, {name: udp, port: 53, protocol: UDP, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: proto-1, namespace: cf, labels: {kubernetes.io/service-name: proto}}
addressType: IPv4
ports: [{name: tcp, port: 8080, protocol: TCP}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: proto-2, namespace: cf, labels: {kubernetes.io/service-name: proto}}
addressType: IPv4
ports: [{name: udp, port: 8080, protocol: UDP}]
endpoints:
- {addresses: [198.18.2.10], nodeName: node2}
Y
programmed '"cf/proto","portName":"udp"'
# udp53 MEMBER: ten UDP requests (each its own flow) to port 53 reach b1 only.
udp53() {
	local got
	got=$(udp_hits $R $1 10 198.19.128.103 53 | awk '{print $1}' | tr '\n' ' ')
	[ "$got" = "b1 " ] || fail "$1: UDP 53 reached [$got], want [b1]"
}
from_cl expect_pods cl 10 http://198.19.128.103:53/ "a1"
from_cl udp53 cl
for m in a3 b3; do	# a pod on each node
	expect_pods $m 10 http://198.19.128.103:53/ "a1"
	udp53 $m
done
