#!/usr/bin/env bash
# scenario: 11. should be updated after adding or deleting ports
# From outside (cl) and from a pod: port 81 is refused until it is added,
# answers while it exists, is refused again after its removal.
. "$(dirname "$0")/../lib.sh"
one='  ports: [{name: a, port: 80, targetPort: 8080}]'
two='  ports: [{name: a, port: 80, targetPort: 8080}, {name: b, port: 81, targetPort: 8081}]'
sl() { printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ports-1, namespace: cf, labels: {kubernetes.io/service-name: ports}}\naddressType: IPv4\nports: [{name: a, port: 8080}, {name: b, port: 8081}]\nendpoints:\n- {addresses: [198.18.1.10], nodeName: node1}\n'; }
# no81 MEMBER WHEN: port 81 gets no answer (from a pod: ECONNREFUSED at once,
# the ClusterIP's unserved port is rejected).
no81() {
	local out
	if [ $1 = cl ]; then
		no_answer cl http://198.19.128.111:81/ 2 || fail "port 81 answers $2"
	else
		out=$(refused $1 198.19.128.111 81) || fail "$1: port 81 $2: $out, want ECONNREFUSED"
	fi
}
{ svc ports 198.19.128.111 "$one"; sl; } | apply ports
programmed '"cf/ports","portName":"a"'
from_cl expect_pods cl 5 http://198.19.128.111:80/ "a1"
expect_pods b2 5 http://198.19.128.111:80/ "a1"
from_cl no81 cl "before it exists"
no81 b2 "before it exists"
{ svc ports 198.19.128.111 "$two"; sl; } | apply ports
programmed '"cf/ports","portName":"b"'
from_cl expect_pods cl 5 http://198.19.128.111:81/ "a1"
expect_pods b2 5 http://198.19.128.111:81/ "a1"
{ svc ports 198.19.128.111 "$one"; sl; } | apply ports
gone '"cf/ports","portName":"b"'
sleep 0.5
from_cl no81 cl "after its removal"
no81 b2 "after its removal"
from_cl expect_pods cl 5 http://198.19.128.111:80/ "a1"
expect_pods b2 5 http://198.19.128.111:80/ "a1"
