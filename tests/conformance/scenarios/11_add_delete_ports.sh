#!/usr/bin/env bash
# scenario: 11. should be updated after adding or deleting ports
. "$(dirname "$0")/../lib.sh"
one='  ports: [{name: a, port: 80, targetPort: 8080}]'
two='  ports: [{name: a, port: 80, targetPort: 8080}, {name: b, port: 81, targetPort: 8081}]'
sl() { printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ports-1, namespace: cf, labels: {kubernetes.io/service-name: ports}}\naddressType: IPv4\nports: [{name: a, port: 8080}, {name: b, port: 8081}]\nendpoints:\n- {addresses: [198.18.1.10], nodeName: node1}\n'; }
{ svc ports 198.19.128.111 "$one"; sl; } | apply ports
programmed '"cf/ports","portName":"a"'
expect_pods cl 5 http://198.19.128.111:80/ "a1"
no_answer cl http://198.19.128.111:81/ 2 || fail "port 81 answers before it exists"
{ svc ports 198.19.128.111 "$two"; sl; } | apply ports
programmed '"cf/ports","portName":"b"'
expect_pods cl 5 http://198.19.128.111:81/ "a1"
{ svc ports 198.19.128.111 "$one"; sl; } | apply ports
gone '"cf/ports","portName":"b"'
sleep 0.5
no_answer cl http://198.19.128.111:81/ 2 || fail "port 81 still answers after its removal"
expect_pods cl 5 http://198.19.128.111:80/ "a1"
