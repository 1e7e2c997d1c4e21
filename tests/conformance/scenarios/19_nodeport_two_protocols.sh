#!/usr/bin/env bash
# scenario: 19. should be able to update service type to NodePort listening on same port number but different protocols
. "$(dirname "$0")/../lib.sh"
sl() {
	printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: np2-1, namespace: cf, labels: {kubernetes.io/service-name: np2}}\naddressType: IPv4\nports: [{name: tcp, port: 8080, protocol: TCP}, {name: udp, port: 8080, protocol: UDP}]\nendpoints:\n- {addresses: [198.18.1.10], nodeName: node1}\n'
}
{ svc np2 198.19.128.119 '  ports: [{name: tcp, port: 80, protocol: TCP, targetPort: 8080}]'; sl; } | apply np2
programmed '"cf/np2"'
from_cl expect_pods cl 5 http://198.19.128.119/ "a1"
expect_pods b2 5 http://198.19.128.119/ "a1"
{ svc np2 198.19.128.119 '  type: NodePort' \
	'  ports: [{name: tcp, port: 80, protocol: TCP, targetPort: 8080, nodePort: 30119}, {name: udp, port: 80, protocol: UDP, targetPort: 8080, nodePort: 30119}]'; sl; } | apply np2
programmed '"protocol":"UDP","family":"IPv4","clusterIPs":["198.19.128.119"],"port":80,"nodePort":30119'
# udp_np MEMBER: five UDP requests to node2's NodePort reach a1.
udp_np() {
	local got
	got=$(udp_hits $R $1 5 198.19.0.2 30119 | awk '{print $1}' | tr '\n' ' ')
	[ "$got" = "a1 " ] || fail "$1: UDP NodePort 30119 reached [$got]"
}
from_cl expect_pods cl 5 http://198.19.0.2:30119/ "a1"
from_cl udp_np cl
for m in b2 node2; do	# node2's pod and node2 itself, to node2's NodePort
	expect_pods $m 5 http://198.19.0.2:30119/ "a1"
	udp_np $m
done
